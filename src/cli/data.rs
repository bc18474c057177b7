//! `caffers data`, `caffers convert-imageset` and `caffers compute-mean`: Caffe's
//! dataset scripts and tools (create_mnist.sh, create_cifar10.sh,
//! convert_imageset, compute_image_mean).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::data::tools::imageset::ImagesetOptions;
use crate::error::{Error, Result};
use crate::settings::RunSettings;

#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    #[command(subcommand)]
    pub dataset: Dataset,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Dataset {
    /// MNIST → mnist_train_lmdb, mnist_test_lmdb.
    Mnist(DatasetArgs),
    /// CIFAR-10 → cifar10_train_lmdb, cifar10_test_lmdb, mean.binaryproto.
    Cifar10(DatasetArgs),
}

#[derive(Args, Debug, Clone)]
pub struct DatasetArgs {
    /// The official archive (MNIST: the folder with its four IDX .gz files;
    /// CIFAR-10: cifar-10-binary.tar.gz). Default: caffers.toml's archive,
    /// ../shared/data, or a download.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// Output folder (default: caffers.toml's data_dir, `data`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Never download a missing archive (as `offline = true` in caffers.toml).
    #[arg(long)]
    pub offline: bool,
}

pub fn run(args: &DataArgs) -> Result<()> {
    let mut settings = RunSettings::load_from(std::path::Path::new("."))?;
    let (Dataset::Mnist(a) | Dataset::Cifar10(a)) = &args.dataset;
    settings.offline |= a.offline;
    let usage = Error::Usage;
    let made = match &args.dataset {
        Dataset::Mnist(a) => {
            let from = match &a.from {
                Some(f) => f.clone(),
                None => crate::data::tools::prepare::mnist_source(&settings).map_err(usage)?,
            };
            let out = a.out.clone().unwrap_or_else(|| settings.data_dir().into());
            crate::data::tools::mnist::convert(&from, &out, None).map_err(usage)?
        }
        Dataset::Cifar10(a) => {
            let from = match &a.from {
                Some(f) => f.clone(),
                None => crate::data::tools::prepare::cifar10_source(&settings).map_err(usage)?,
            };
            let out = a.out.clone().unwrap_or_else(|| settings.data_dir().into());
            crate::data::tools::cifar10::convert(&from, &out, None).map_err(usage)?
        }
    };
    for p in made {
        println!("{}", p.display());
    }
    Ok(())
}

#[derive(Args, Debug, Clone)]
pub struct ConvertImagesetArgs {
    /// Prefix of every listed path (Caffe's ROOTFOLDER/).
    pub root_folder: String,
    /// The list file: `path label` per line.
    pub list_file: PathBuf,
    /// The LMDB to create.
    pub db_name: PathBuf,
    /// Read images as grey.
    #[arg(long)]
    pub gray: bool,
    /// Shuffle the list before writing (seeded by --seed).
    #[arg(long)]
    pub shuffle: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only lmdb is supported.
    #[arg(long, default_value = "lmdb")]
    pub backend: String,
    #[arg(long = "resize_width", alias = "resize-width", default_value_t = 0)]
    pub resize_width: usize,
    #[arg(long = "resize_height", alias = "resize-height", default_value_t = 0)]
    pub resize_height: usize,
    /// Check that all images have the same size.
    #[arg(long = "check_size", alias = "check-size")]
    pub check_size: bool,
    /// Store encoded images (the files themselves, or re-encoded when resized).
    #[arg(long)]
    pub encoded: bool,
    /// png or jpg, for encoded images.
    #[arg(long = "encode_type", alias = "encode-type", default_value = "")]
    pub encode_type: String,
}

pub fn convert_imageset(args: &ConvertImagesetArgs) -> Result<()> {
    if args.backend.to_lowercase() != "lmdb" {
        return Err(Error::Usage(format!(
            "backend `{}` is not supported; caffers writes lmdb only",
            args.backend
        )));
    }
    let opts = ImagesetOptions {
        gray: args.gray,
        shuffle: args.shuffle,
        resize_height: args.resize_height,
        resize_width: args.resize_width,
        check_size: args.check_size,
        encoded: args.encoded,
        encode_type: args.encode_type.clone(),
        seed: args.seed,
    };
    let n = crate::data::tools::imageset::convert_imageset(
        &args.root_folder,
        &args.list_file,
        &args.db_name,
        &opts,
    )
    .map_err(Error::Usage)?;
    crate::log::info("convert_imageset.cpp:150", &format!("Processed {n} files."));
    Ok(())
}

#[derive(Args, Debug, Clone)]
pub struct ComputeMeanArgs {
    /// The LMDB or LevelDB of Datums.
    pub db: PathBuf,
    /// The .binaryproto to write.
    pub output: PathBuf,
    /// lmdb or leveldb (Caffe's flag; the database's own files decide which is read).
    #[arg(long, default_value = "lmdb")]
    pub backend: String,
}

pub fn compute_mean(args: &ComputeMeanArgs) -> Result<()> {
    if !matches!(args.backend.to_lowercase().as_str(), "lmdb" | "leveldb") {
        return Err(Error::Usage(format!(
            "backend `{}` is not supported; use lmdb or leveldb",
            args.backend
        )));
    }
    crate::data::tools::mean::compute_mean_file(&args.db, &args.output).map_err(Error::Usage)
}
