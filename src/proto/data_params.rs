//! Parameters of the data layers: Data, ImageData, HDF5Data, HDF5Output,
//! WindowData, MemoryData, DummyData and Input.

use super::{BlobShape, FillerParameter};

caffe_message! {
    /// Data: reads [`Datum`](super::Datum) records from a LevelDB or LMDB.
    pub struct DataParameter {
        /// The database path.
        string source = "";
        opt batch_size: u32 = 0;
        /// Deprecated: skip up to this many records at the start.
        opt rand_skip: u32 = 0;
        opt backend: DataBackend = DataBackend::Leveldb;
        /// Deprecated: use transform_param.
        opt scale: f32 = 1.0;
        /// Deprecated: use transform_param.
        string mean_file = "";
        /// Deprecated: use transform_param.
        opt crop_size: u32 = 0;
        /// Deprecated: use transform_param.
        opt mirror: bool = false;
        /// Decode encoded images as colour.
        opt force_encoded_color: bool = false;
        /// Batches to prefetch.
        opt prefetch: u32 = 4;
    }
}

caffe_enum! {
    /// The database format of a Data layer.
    pub enum DataBackend { Leveldb = 0 => "LEVELDB", Lmdb = 1 => "LMDB" }
}

caffe_message! {
    /// ImageData: reads images listed in a text file (`path label` per line).
    pub struct ImageDataParameter {
        /// The list file.
        string source = "";
        opt batch_size: u32 = 1;
        opt rand_skip: u32 = 0;
        /// Shuffle the list at every epoch.
        opt shuffle: bool = false;
        /// Resize images when non-zero.
        opt new_height: u32 = 0;
        opt new_width: u32 = 0;
        opt is_color: bool = true;
        /// Deprecated: use transform_param.
        opt scale: f32 = 1.0;
        /// Deprecated: use transform_param.
        string mean_file = "";
        /// Deprecated: use transform_param.
        opt crop_size: u32 = 0;
        /// Deprecated: use transform_param.
        opt mirror: bool = false;
        /// Prefix of the listed paths.
        string root_folder = "";
    }
}

caffe_message! {
    /// HDF5Data: reads the datasets named after its tops from the listed .h5 files.
    pub struct HDF5DataParameter {
        /// A text file listing .h5 files.
        string source = "";
        opt batch_size: u32 = 0;
        /// Shuffle file order and rows within each file.
        opt shuffle: bool = false;
    }
}

caffe_message! {
    /// HDF5Output: writes its bottoms to an .h5 file.
    pub struct HDF5OutputParameter {
        string file_name = "";
    }
}

caffe_message! {
    /// WindowData: R-CNN style windows cut from listed images.
    pub struct WindowDataParameter {
        /// The window file.
        string source = "";
        opt scale: f32 = 1.0;
        string mean_file = "";
        opt batch_size: u32 = 0;
        opt crop_size: u32 = 0;
        opt mirror: bool = false;
        /// Foreground (object) overlap threshold.
        opt fg_threshold: f32 = 0.5;
        /// Background (non-object) overlap threshold.
        opt bg_threshold: f32 = 0.5;
        /// Fraction of each batch that is foreground.
        opt fg_fraction: f32 = 0.25;
        /// Context padding around each window, in pixels.
        opt context_pad: u32 = 0;
        /// "warp" or "square".
        string crop_mode = "warp";
        /// Keep every image in memory.
        opt cache_images: bool = false;
        string root_folder = "";
    }
}

caffe_message! {
    /// MemoryData: batches handed in through the API.
    pub struct MemoryDataParameter {
        opt batch_size: u32 = 0;
        opt channels: u32 = 0;
        opt height: u32 = 0;
        opt width: u32 = 0;
    }
}

caffe_message! {
    /// DummyData: tops of given shapes filled by fillers. 1 or N shapes, 0, 1 or N fillers.
    pub struct DummyDataParameter {
        /// None: constant 0; one: used for every top; N: one per top.
        rep data_filler: FillerParameter;
        rep shape: BlobShape;
        /// Deprecated 4-D form of `shape`.
        rep num: u32;
        rep channels: u32;
        rep height: u32;
        rep width: u32;
    }
}

caffe_message! {
    /// Input: tops whose data is set from outside; 0, 1 or N shapes.
    pub struct InputParameter {
        rep shape: BlobShape;
    }
}
