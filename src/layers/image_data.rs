//! ImageData: images listed in a text file (`path label` per line, the label after
//! the last space), read, optionally resized and transformed on a prefetch thread.
//!
//! As Caffe's ImageDataLayer: the list is shuffled at set-up when `shuffle` is set
//! (and again at each pass), `rand_skip` skips a random number of lines, the first
//! image fixes the top shapes, `root_folder` prefixes every path, `is_color: false`
//! reads grey, and `new_height`/`new_width` (both or neither) resize.

use std::path::{Path, PathBuf};

use super::data::{fill_tops, layer_seed};
use super::{data_shapes, BlobCounts, BuildContext, Layer, RunContext};
use crate::blob::Blob;
use crate::data::feed::image::{hwc_to_image, read_file_hwc};
use crate::data::feed::image_list::{read_list, shuffle};
use crate::data::feed::prefetch::{next_batch_of, Batch, Prefetcher, Sender};
use crate::data::feed::transform::Transformer;
use crate::log::info;
use crate::proto::{LayerParameter, Phase, TransformationParameter};
use crate::rng::Rng;
use crate::shape::Shape;

struct Reader {
    name: String,
    lines: Vec<(String, i32)>,
    next: usize,
    root: String,
    new_h: usize,
    new_w: usize,
    is_color: bool,
    shuffle: bool,
    batch_size: usize,
    transform: TransformationParameter,
    phase: Phase,
    seed: u64,
    rng: Rng,
}

pub struct ImageData {
    shapes: Vec<Shape>,
    reader: Option<Reader>,
    prefetch: Option<Prefetcher>,
    no_reader: String,
}

impl ImageData {
    pub fn new(param: &LayerParameter, ctx: &BuildContext) -> Result<Self, String> {
        let p = param.image_data_param();
        let source = p.source().to_string();
        let given = data_shapes::from_context(param, ctx);
        let no_reader =
            "this ImageData layer has no readable source; its tops must be filled from outside"
                .to_string();
        if ctx.external_data {
            if let Some(shapes) = given {
                return Ok(ImageData {
                    shapes,
                    reader: None,
                    prefetch: None,
                    no_reader,
                });
            }
        }
        if source.is_empty() || !Path::new(&source).exists() {
            let shapes = given.ok_or_else(|| data_shapes::missing_source(param, &source))?;
            let no_reader = data_shapes::missing_source(param, &source);
            return Ok(ImageData {
                shapes,
                reader: None,
                prefetch: None,
                no_reader,
            });
        }
        let (new_h, new_w) = (p.new_height() as usize, p.new_width() as usize);
        if (new_h == 0) != (new_w == 0) {
            return Err("new_height and new_width must be set together".into());
        }
        let batch_size = p.batch_size() as usize;
        if batch_size == 0 {
            return Err("image_data_param.batch_size must be positive".into());
        }
        let mut lines = read_list(Path::new(&source))?;
        if lines.is_empty() {
            return Err(format!("the image list `{source}` is empty"));
        }
        let phase = ctx.phase();
        let seed = layer_seed(param.name(), phase);
        let mut rng = Rng::new(seed ^ 0x5eed);
        if p.shuffle() {
            info("image_data_layer.cpp:56", "Shuffling data");
            shuffle(&mut lines, &mut rng);
        }
        info(
            "image_data_layer.cpp:59",
            &format!("A total of {} images.", lines.len()),
        );
        let mut next = 0;
        if p.rand_skip() > 0 {
            next = rng.below(p.rand_skip() as u64) as usize % lines.len();
            info(
                "image_data_layer.cpp:64",
                &format!("Skipping first {next} data points."),
            );
        }
        let root = p.root_folder().to_string();
        let first = PathBuf::from(format!("{root}{}", lines[next].0));
        let (c, h, w, _) = read_file_hwc(&first, new_h, new_w, p.is_color())?;
        let transform = param.transform_param().clone();
        let t = Transformer::new(&transform, phase, seed)?;
        let [c, h, w] = t.output_shape(c, h, w)?;
        info(
            "image_data_layer.cpp:85",
            &format!("output data size: {batch_size},{c},{h},{w}"),
        );
        let mut shapes = vec![vec![batch_size, c, h, w]];
        if param.top.len() > 1 {
            shapes.push(vec![batch_size]);
        }
        Ok(ImageData {
            shapes,
            reader: Some(Reader {
                name: param.name().to_string(),
                lines,
                next,
                root,
                new_h,
                new_w,
                is_color: p.is_color(),
                shuffle: p.shuffle(),
                batch_size,
                transform,
                phase,
                seed,
                rng,
            }),
            prefetch: None,
            no_reader,
        })
    }
}

fn read_batches(mut r: Reader, tx: &Sender) -> Result<(), String> {
    let mut transformer = Transformer::new(&r.transform, r.phase, r.seed)?;
    loop {
        let mut data: Vec<f32> = Vec::new();
        let mut labels = Vec::with_capacity(r.batch_size);
        let mut data_shape = Vec::new();
        let mut per_item = 0;
        for item in 0..r.batch_size {
            let (file, label) = &r.lines[r.next];
            let path = PathBuf::from(format!("{}{file}", r.root));
            let (c, h, w, hwc) = read_file_hwc(&path, r.new_h, r.new_w, r.is_color)?;
            let img = hwc_to_image(c, h, w, &hwc);
            if item == 0 {
                let [c, h, w] = transformer.output_shape(c, h, w)?;
                per_item = c * h * w;
                data = vec![0.0; r.batch_size * per_item];
                data_shape = vec![r.batch_size, c, h, w];
            }
            transformer
                .transform(&img, &mut data[item * per_item..(item + 1) * per_item])
                .map_err(|e| format!("{}: {e}", path.display()))?;
            labels.push(*label as f32);
            r.next += 1;
            if r.next >= r.lines.len() {
                info(
                    "image_data_layer.cpp:170",
                    "Restarting data prefetching from start.",
                );
                r.next = 0;
                if r.shuffle {
                    shuffle(&mut r.lines, &mut r.rng);
                }
            }
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

impl Layer for ImageData {
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
            |r| (r.name.clone(), 4),
            read_batches,
        )?;
        fill_tops(batch, tops);
        Ok(())
    }

    fn allow_force_backward(&self, _bottom: usize) -> bool {
        false
    }

    fn is_source(&self) -> bool {
        true
    }
}
