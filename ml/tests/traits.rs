//! The estimator traits with a toy model: block methods in memory and through the graph on
//! every scheduler, declared output widths, feature checks, and the model-file envelope.

use std::sync::Arc;

use ndarray::{array, Array1, Array2, ArrayView2};
use rask_core::{OpEntry, Scheduler};
use rask_ml::{
    ApplyModel, BlockModel, ChunkedArray, ChunkedDataset, Dataset, Fit, Float, InverseTransform, Method, MlError,
    ModelKind, Predict, PredictProba, Transform,
};
use serde::{Deserialize, Serialize};

/// Doubles features; predicts whether the first feature is positive.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Doubler {
    d: usize,
}

impl BlockModel for Doubler {
    const APPLY_OP: &'static str = "rask.test.doubler.apply";
    const KIND: ModelKind = ModelKind::Classifier;
    type Label = i64;

    fn n_features_in(&self) -> usize {
        self.d
    }
    fn n_features_out(&self) -> usize {
        2 * self.d
    }
    fn n_classes(&self) -> Option<usize> {
        Some(2)
    }
    fn supports(&self, method: Method) -> bool {
        method != Method::InverseTransform
    }
    fn predict_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array1<i64>> {
        Ok(x.column(0).mapv(|v| i64::from(v > F::zero())))
    }
    fn predict_proba_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<f64>> {
        let p = self.predict_block(x)?.mapv(|v| v as f64);
        let mut out = Array2::zeros((p.len(), 2));
        out.column_mut(0).assign(&p.mapv(|v| 1.0 - v));
        out.column_mut(1).assign(&p);
        Ok(out)
    }
    fn transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        Ok(ndarray::concatenate![ndarray::Axis(1), x, x])
    }
}

/// Fits a Doubler by looking at the width only.
#[derive(Clone, Debug)]
struct DoublerParams;

impl<F: Float> Fit<ChunkedDataset<F, i64>> for DoublerParams {
    type Model = Doubler;
    type Error = MlError;
    fn fit(&self, data: &ChunkedDataset<F, i64>) -> Result<Doubler, MlError> {
        Ok(Doubler { d: data.x().n_cols() })
    }
}

fn schedulers() -> Vec<Scheduler> {
    let reg = rask_ml::registry_builder().ops(&[OpEntry::of::<ApplyModel<Doubler>>()]).build().unwrap();
    vec![Scheduler::sync(), Scheduler::threaded(), Scheduler::checked(Arc::new(reg))]
}

#[test]
fn block_methods_run_in_memory_and_through_the_graph() {
    let x = array![[1.0, 2.0], [-1.0, 0.5], [3.0, -2.0], [-4.0, 1.0], [0.5, 0.5]];
    let m = DoublerParams.fit(&Dataset::new(x.clone(), array![1i64, 0, 1, 0, 1])).unwrap();
    let cx = ChunkedArray::from_array(x.view(), 2).unwrap();
    let pred = m.predict(&x).unwrap();
    assert_eq!(pred.to_vec(), vec![1, 0, 1, 0, 1]);
    for s in schedulers() {
        assert_eq!(m.predict(&cx).unwrap().compute_on(&s).unwrap(), pred);
        let proba = m.predict_proba(&cx).unwrap();
        assert_eq!(proba.n_cols(), 2, "the width is declared, not found by running the model");
        assert_eq!(proba.compute_on(&s).unwrap(), m.predict_proba(&x).unwrap());
        let t = m.transform(&cx).unwrap();
        assert_eq!(t.n_cols(), 4);
        assert_eq!(t.compute_on(&s).unwrap(), m.transform(&x).unwrap());
    }
}

#[test]
fn feature_counts_and_unsupported_methods_fail_early_and_clearly() {
    let m = Doubler { d: 2 };
    let wide = Array2::<f64>::zeros((3, 5));
    assert_eq!(m.predict(&wide).unwrap_err().to_string(), "number of features: expected 2, found 5");
    let cwide = ChunkedArray::from_array(wide.view(), 2).unwrap();
    assert!(matches!(m.transform(&cwide), Err(MlError::ShapeMismatch { expected: 2, found: 5, .. })));
    let cx = ChunkedArray::from_array(Array2::<f64>::zeros((3, 4)).view(), 2).unwrap();
    let err = m.inverse_transform(&cx).unwrap_err();
    assert_eq!(err.to_string(), "unsupported: Doubler has no inverse_transform");
    assert!(m.inverse_transform(&Array2::<f64>::zeros((1, 4))).is_err());
}

#[test]
fn in_memory_datasets_check_lengths() {
    let err = DoublerParams.fit(&Dataset::new(Array2::<f64>::zeros((3, 2)), array![1i64, 0])).unwrap_err();
    assert_eq!(err.to_string(), "length of y (rows of x): expected 3, found 2");
    let err = Dataset::new(Array2::<f64>::zeros((3, 2)), array![1i64, 0, 1])
        .with_weights(array![1.0])
        .to_chunked()
        .unwrap_err();
    assert!(err.to_string().contains("length of weights"), "{err}");
}

/// A saved type that is not a model.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Other(Vec<u8>);

rask_ml::persist!(Other => "rask.test.other/1");

#[test]
fn model_files_round_trip_and_reject_other_types_and_garbage() {
    let m = Doubler { d: 7 };
    let bytes = rask_ml::traits::to_bytes(&m).unwrap();
    assert_eq!(rask_ml::traits::from_bytes::<Doubler>(&bytes).unwrap(), m);
    let err = rask_ml::traits::from_bytes::<Other>(&bytes).unwrap_err().to_string();
    assert!(err.contains("holds a `rask.test.doubler/1`, not a `rask.test.other/1`"), "{err}");
    let err = rask_ml::traits::from_bytes::<Doubler>(b"not a model").unwrap_err().to_string();
    assert!(err.contains("not a Rask model file"), "{err}");
    let err = rask_ml::load::<Doubler>("/nonexistent/model.rask").unwrap_err().to_string();
    assert!(err.starts_with("model file /nonexistent/model.rask:"), "{err}");
}

/// Format-1 files (a Rust type name, no checksum) still load, through the compatibility path;
/// their type name is still checked.
#[test]
fn format1_model_files_still_load() {
    let m = Doubler { d: 7 };
    let old = rask_ml::persist::to_bytes_format1(&m).unwrap();
    assert_eq!(rask_ml::from_bytes::<Doubler>(&old).unwrap(), m);
    assert!(rask_ml::from_bytes::<Other>(&old).unwrap_err().to_string().contains("holds a"));
    let new = rask_ml::to_bytes(&m).unwrap();
    assert_ne!(old, new);
    // An unknown format is named.
    let mut future = new.clone();
    let at = future.windows(7).position(|w| w == b"format\x02").unwrap() + 6;
    future[at] = 3;
    let e = rask_ml::from_bytes::<Doubler>(&future).unwrap_err().to_string();
    assert!(e.contains("format version 3 is not supported"), "{e}");
}
