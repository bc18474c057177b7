//! Top shapes for data layers whose source is not read: from `--input-shape`
//! (BuildContext::data_shapes), shared by every data layer type.

use super::BuildContext;
use crate::proto::LayerParameter;
use crate::shape::Shape;

/// The shapes of `param`'s tops from `ctx.data_shapes`: the first top (the data)
/// must be given; the others (labels) default to `[N]`, N the data's first axis.
/// None when the first top has no given shape.
pub fn from_context(param: &LayerParameter, ctx: &BuildContext) -> Option<Vec<Shape>> {
    let first = param.top.first()?;
    let data = ctx.data_shapes.get(first)?.clone();
    let n = data.first().copied().unwrap_or(1);
    let mut shapes = vec![data];
    for top in &param.top[1..] {
        shapes.push(ctx.data_shapes.get(top).cloned().unwrap_or_else(|| vec![n]));
    }
    Some(shapes)
}

/// The hint for a layer whose source is missing and whose shapes were not given.
pub fn missing_source(param: &LayerParameter, source: &str) -> String {
    let top = param.top.first().map(String::as_str).unwrap_or("data");
    format!(
        "data source `{source}` is missing (layer {}); prepare it with `caffers data …` or give --input-shape {top}=N,C,H,W",
        param.name()
    )
}

/// Shapes from the context, or the missing-source error.
pub fn require(
    param: &LayerParameter,
    ctx: &BuildContext,
    source: &str,
) -> Result<Vec<Shape>, String> {
    from_context(param, ctx).ok_or_else(|| missing_source(param, source))
}

#[cfg(test)]
mod tests {
    use super::super::{create, BuildContext};
    use crate::layers::testing::layer_param;

    fn ctx(shapes: &[(&str, Vec<usize>)]) -> BuildContext {
        BuildContext {
            data_shapes: shapes
                .iter()
                .map(|(n, s)| (n.to_string(), s.clone()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn missing_sources_take_given_shapes() {
        let p = layer_param(
            r#"name: "mnist" type: "Data" top: "data" top: "label"
               data_param { source: "/nonexistent/mnist_train_lmdb" batch_size: 64 backend: LMDB }"#,
        );
        let e = create(&p, &ctx(&[])).err().unwrap();
        assert!(
            e.contains("data source `/nonexistent/mnist_train_lmdb` is missing (layer mnist)")
                && e.contains("--input-shape data=N,C,H,W"),
            "{e}"
        );
        let mut l = create(&p, &ctx(&[("data", vec![64, 1, 28, 28])])).unwrap();
        assert_eq!(l.reshape(&[]).unwrap(), vec![vec![64, 1, 28, 28], vec![64]]);
        let p = layer_param(
            r#"name: "img" type: "ImageData" top: "data" top: "label"
               image_data_param { source: "/nonexistent/list.txt" batch_size: 2 }"#,
        );
        let c = ctx(&[("data", vec![2, 3, 8, 8]), ("label", vec![2, 1])]);
        let mut l = create(&p, &c).unwrap();
        assert_eq!(l.reshape(&[]).unwrap(), vec![vec![2, 3, 8, 8], vec![2, 1]]);
    }

    #[test]
    fn memory_and_unsupported_data_layers() {
        let p = layer_param(
            r#"name: "m" type: "MemoryData" top: "data" top: "label"
               memory_data_param { batch_size: 4 channels: 3 height: 5 width: 6 }"#,
        );
        let mut l = create(&p, &ctx(&[])).unwrap();
        assert_eq!(l.reshape(&[]).unwrap(), vec![vec![4, 3, 5, 6], vec![4]]);
        let p = layer_param(r#"name: "h" type: "WindowData" top: "data" top: "label""#);
        let e = create(&p, &ctx(&[])).err().unwrap();
        assert!(e.contains("WindowData is not supported yet"), "{e}");
        let mut l = create(&p, &ctx(&[("data", vec![2, 7])])).unwrap();
        assert_eq!(l.reshape(&[]).unwrap(), vec![vec![2, 7], vec![2]]);
        let mut rng = crate::rng::Rng::new(1);
        let mut rc = crate::layers::RunContext {
            phase: crate::proto::Phase::Train,
            rng: &mut rng,
            param_propagate: &[],
        };
        let e = l.forward(&[], &mut [], &mut [], &mut rc).unwrap_err();
        assert!(e.contains("WindowData is not supported yet"), "{e}");
        let ext = BuildContext {
            external_data: true,
            ..ctx(&[("data", vec![2, 7])])
        };
        let p = layer_param(r#"name: "py" type: "Python" top: "data""#);
        let mut l = create(&p, &ext).unwrap();
        assert!(l.is_source());
        assert_eq!(l.reshape(&[]).unwrap(), vec![vec![2, 7]]);
        assert!(l.forward(&[], &mut [], &mut [], &mut rc).is_ok());
    }
}
