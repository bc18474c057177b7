//! The training feed: the formats a run reads its data from and the steps that
//! turn records into batches. Nothing here uses [`crate::data::tools`].

pub mod datum;
pub mod image;
pub mod image_list;
pub mod leveldb;
pub mod lmdb;
pub mod lmdb_check;
pub mod mean_file;
pub mod prefetch;
pub mod preprocess;
pub mod transform;
