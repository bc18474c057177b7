//! Data: batches of Caffe `Datum` records read from an LMDB or a LevelDB,
//! transformed by the DataTransformer on a prefetch thread.
//!
//! As Caffe's DataLayer: the first record fixes the top shapes (N×C×H×W, labels
//! N); records are read in key order from a random start within `rand_skip`,
//! and reading wraps to the first record at the end ("Restarting data
//! prefetching from start."). Each layer (so each of the TRAIN and TEST nets) has
//! its own cursor. When the source does not exist, the shapes come from
//! `--input-shape` and the layer can only be filled from outside.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use super::{data_shapes, BlobCounts, BuildContext, Layer, RunContext};
use crate::blob::Blob;
use crate::data::feed::datum::Datum;
use crate::data::feed::image::ColorMode;
use crate::data::feed::{leveldb, lmdb};
use crate::data::feed::prefetch::{next_batch_of, Batch, Prefetcher, Sender};
use crate::data::feed::transform::Transformer;
use crate::log::info;
use crate::proto::{DataBackend, LayerParameter, Phase, TransformationParameter};
use crate::shape::Shape;

struct Reader {
    name: String,
    source: PathBuf,
    backend: DataBackend,
    batch_size: usize,
    rand_skip: u64,
    /// Records to pass over first when resuming (see `Layer::skip_batches`).
    resume_records: u64,
    transform: TransformationParameter,
    mode: ColorMode,
    phase: Phase,
    seed: u64,
    depth: usize,
}

pub struct Data {
    shapes: Vec<Shape>,
    reader: Option<Reader>,
    prefetch: Option<Prefetcher>,
    /// Why forward cannot run when there is no reader.
    no_reader: String,
}

/// A seed for a layer's random draws that depends only on its name and phase.
pub(crate) fn layer_seed(name: &str, phase: Phase) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes().chain([phase as u8]) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Decoding mode for encoded records: transform_param's force_color/force_gray
/// or data_param's force_encoded_color.
pub(crate) fn color_mode(
    t: &TransformationParameter,
    force_color: bool,
) -> Result<ColorMode, String> {
    match (t.force_color() || force_color, t.force_gray()) {
        (true, true) => Err("force_color and force_gray cannot both be set".into()),
        (true, false) => Ok(ColorMode::Color),
        (false, true) => Ok(ColorMode::Gray),
        _ => Ok(ColorMode::Native),
    }
}

impl Data {
    pub fn new(param: &LayerParameter, ctx: &BuildContext) -> Result<Self, String> {
        let dp = param.data_param();
        let source = dp.source().to_string();
        let given = data_shapes::from_context(param, ctx);
        let no_reader =
            "this Data layer has no readable source; its tops must be filled from outside"
                .to_string();
        if ctx.external_data {
            if let Some(shapes) = given {
                return Ok(Data {
                    shapes,
                    reader: None,
                    prefetch: None,
                    no_reader,
                });
            }
        }
        let path = Path::new(&source);
        if source.is_empty() || !path.exists() {
            let shapes = given.ok_or_else(|| data_shapes::missing_source(param, &source))?;
            let no_reader = data_shapes::missing_source(param, &source);
            return Ok(Data {
                shapes,
                reader: None,
                prefetch: None,
                no_reader,
            });
        }
        let batch_size = dp.batch_size() as usize;
        if batch_size == 0 {
            return Err("data_param.batch_size must be positive".into());
        }
        let phase = ctx.phase();
        let transform = param.transform_param().clone();
        let mode = color_mode(&transform, dp.force_encoded_color())?;
        let backend = dp.backend();
        let (key, value) = match backend {
            DataBackend::Lmdb => lmdb::first(path)?,
            DataBackend::Leveldb => leveldb::first(path)?,
        };
        match backend {
            DataBackend::Lmdb => info("db_lmdb.cpp:35", &format!("Opened lmdb {source}")),
            DataBackend::Leveldb => {
                info("db_leveldb.cpp:18", &format!("Opened leveldb {source}"))
            }
        }
        let img = Datum::parse(&value, &key)
            .and_then(|d| d.to_image(mode))
            .map_err(|e| format!("`{source}`: {e}"))?;
        let seed = layer_seed(param.name(), phase);
        let t = Transformer::new(&transform, phase, seed)?;
        let [c, h, w] = t.output_shape(img.channels, img.height, img.width)?;
        info(
            "data_layer.cpp:78",
            &format!("output data size: {batch_size},{c},{h},{w}"),
        );
        let mut shapes = vec![vec![batch_size, c, h, w]];
        if param.top.len() > 1 {
            shapes.push(vec![batch_size]);
        }
        Ok(Data {
            shapes,
            reader: Some(Reader {
                name: param.name().to_string(),
                source: path.to_path_buf(),
                backend,
                batch_size,
                rand_skip: dp.rand_skip() as u64,
                resume_records: 0,
                transform,
                mode,
                phase,
                seed,
                depth: dp.prefetch().max(1) as usize,
            }),
            prefetch: None,
            no_reader,
        })
    }
}

/// The prefetch thread's work: batches from the database, forever, in key order.
fn read_batches(r: &Reader, tx: &Sender) -> Result<(), String> {
    match r.backend {
        DataBackend::Lmdb => read_lmdb(r, tx),
        DataBackend::Leveldb => read_leveldb(r, tx),
    }
}

fn read_lmdb(r: &Reader, tx: &Sender) -> Result<(), String> {
    let shown = r.source.display().to_string();
    let err = |e: heed::Error| format!("cannot read LMDB `{shown}`: {e}");
    let (env, db) = lmdb::open(&r.source)?;
    let rtxn = env.read_txn().map_err(err)?;
    let mut iter = db.iter(&rtxn).map_err(err)?;
    let records = db.len(&rtxn).map_err(err)?;
    // Values are borrowed from the read transaction: no copy per record.
    let next = || -> Result<(String, Cow<'_, [u8]>), String> {
        let (k, v) = match iter.next() {
            Some(rec) => rec.map_err(err)?,
            None => {
                restarting();
                iter = db.iter(&rtxn).map_err(err)?;
                match iter.next() {
                    Some(rec) => rec.map_err(err)?,
                    None => return Err(format!("LMDB `{shown}` holds no records")),
                }
            }
        };
        Ok((lmdb::shown_key(k), Cow::Borrowed(v)))
    };
    batches_from(r, tx, || Ok(records), next)
}

fn read_leveldb(r: &Reader, tx: &Sender) -> Result<(), String> {
    let cursor = std::cell::RefCell::new(leveldb::Cursor::open(&r.source)?);
    let next = || -> Result<(String, Cow<'static, [u8]>), String> {
        let mut wrapped = false;
        let (key, value) = cursor.borrow_mut().next_record(&mut wrapped)?;
        if wrapped {
            restarting();
        }
        Ok((key, Cow::Owned(value)))
    };
    batches_from(r, tx, || cursor.borrow_mut().count(), next)
}

fn restarting() {
    info(
        "data_layer.cpp:106",
        "Restarting data prefetching from start.",
    );
}

/// Batches of transformed records from `next` (key, Datum bytes; wrapping at the
/// end) sent to `tx` until the receiver hangs up. `records` counts the database,
/// asked only when there are records to skip.
fn batches_from<'v>(
    r: &Reader,
    tx: &Sender,
    records: impl FnOnce() -> Result<u64, String>,
    mut next: impl FnMut() -> Result<(String, Cow<'v, [u8]>), String>,
) -> Result<(), String> {
    let shown = r.source.display().to_string();
    let mut transformer = Transformer::new(&r.transform, r.phase, r.seed)?;
    let mut rng = crate::rng::Rng::new(r.seed ^ 0x5eed);
    let skip = r.resume_records
        + if r.rand_skip > 0 {
            rng.below(r.rand_skip)
        } else {
            0
        };
    // Whole passes over the database change nothing: skip only the remainder, so a
    // resume at a huge iteration does not read billions of records.
    let mut skip = if skip > 0 {
        match records()? {
            0 => skip,
            n => skip % n,
        }
    } else {
        0
    };
    loop {
        let mut data: Vec<f32> = Vec::new();
        let mut labels = Vec::with_capacity(r.batch_size);
        let mut data_shape = Vec::new();
        let mut per_item = 0;
        let mut item = 0;
        while item < r.batch_size {
            let (key, v) = next()?;
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let datum = Datum::parse(&v, &key).map_err(|e| format!("`{shown}`: {e}"))?;
            let img = datum
                .to_image(r.mode)
                .map_err(|e| format!("`{shown}`, record `{key}`: {e}"))?;
            if item == 0 {
                let [c, h, w] = transformer.output_shape(img.channels, img.height, img.width)?;
                per_item = c * h * w;
                data = vec![0.0; r.batch_size * per_item];
                data_shape = vec![r.batch_size, c, h, w];
            }
            transformer
                .transform(&img, &mut data[item * per_item..(item + 1) * per_item])
                .map_err(|e| format!("`{shown}`, record `{key}`: {e}"))?;
            labels.push(datum.label() as f32);
            item += 1;
        }
        if !tx.send(Ok(Batch {
            data_shape,
            data,
            labels,
        })) {
            return Ok(());
        }
    }
}

/// Copies a batch into the tops, reshaping them when the batch's shape changed.
pub(crate) fn fill_tops(batch: Batch, tops: &mut [Blob]) {
    if let Some(top) = tops.first_mut() {
        if top.shape != batch.data_shape {
            top.reshape(&batch.data_shape);
        }
        top.data = batch.data;
    }
    if let Some(top) = tops.get_mut(1) {
        if top.count() != batch.labels.len() {
            top.reshape(&[batch.labels.len()]);
        }
        top.data.copy_from_slice(&batch.labels);
    }
}

impl Layer for Data {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::range((0, 0), (1, 2))
    }

    fn reshape(&mut self, _bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        Ok(self.shapes.clone())
    }

    fn forward(
        &mut self,
        _: &[&Blob],
        tops: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        let batch = next_batch_of(
            &mut self.prefetch,
            &mut self.reader,
            &self.no_reader,
            |r| (r.name.clone(), r.depth),
            |r, tx| read_batches(&r, tx),
        )?;
        fill_tops(batch, tops);
        Ok(())
    }

    fn allow_force_backward(&self, _bottom: usize) -> bool {
        false
    }

    fn skip_batches(&mut self, batches: u64) {
        if let Some(r) = self.reader.as_mut() {
            r.resume_records = batches * r.batch_size as u64;
        }
    }

    fn is_source(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::blob::Blob;
    use crate::data::feed::datum::Datum;
    use crate::layers::testing::layer_param;
    use crate::layers::{create, BuildContext, RunContext};
    use crate::proto::Phase;

    /// A LevelDB made as Caffe's convert tools made them (`--backend leveldb`) feeds
    /// the Data layer like an LMDB: records in key order, then from the start again.
    #[test]
    fn a_leveldb_source_is_read_in_key_order() {
        let dir = std::env::temp_dir().join(format!("caffers-data-ldb-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let records: Vec<(String, Vec<u8>)> = (0..3u8)
            .map(|i| {
                let datum = Datum::raw(1, 2, 2, vec![i * 10; 4], i as i32);
                (format!("{i:08}"), datum.to_bytes())
            })
            .collect();
        crate::data::feed::leveldb::tests::write(&dir, &records);
        let param = layer_param(&format!(
            r#"name: "d" type: "Data" top: "data" top: "label"
               data_param {{ source: "{}" batch_size: 2 backend: LEVELDB }}"#,
            dir.display()
        ));
        let ctx = BuildContext {
            phase: Some(Phase::Test),
            ..Default::default()
        };
        let mut layer = create(&param, &ctx).unwrap();
        let shapes = layer.reshape(&[]).unwrap();
        assert_eq!(shapes, vec![vec![2, 1, 2, 2], vec![2]]);
        let mut tops: Vec<Blob> = shapes.iter().map(|s| Blob::new(s)).collect();
        let mut rng = crate::rng::Rng::new(1);
        let mut labels = Vec::new();
        for _ in 0..2 {
            let mut ctx = RunContext {
                phase: Phase::Test,
                rng: &mut rng,
                param_propagate: &[],
            };
            layer.forward(&[], &mut tops, &mut [], &mut ctx).unwrap();
            labels.extend_from_slice(&tops[1].data);
        }
        assert_eq!(labels, vec![0.0, 1.0, 2.0, 0.0]);
        assert_eq!(tops[0].data[4..], [0.0; 4], "the wrapped record is record 0");
        drop(layer);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
