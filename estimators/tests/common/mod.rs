//! Helpers shared by the rask-estimators integration tests: the registry, the schedulers every
//! estimator must agree on, golden-file loading and tolerant comparisons.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use ndarray::{Array1, Array2};
use rask_core::{Registry, Scheduler};
use serde_json::Value as Json;

/// Every op and codec an estimator test can need.
pub fn registry() -> Arc<Registry> {
    Arc::new(rask_estimators::register(rask_datasets::registry_builder()).build().unwrap())
}

/// The local schedulers every estimator must agree on; the serialisation-checked one proves
/// the graphs would run on a cluster (every op registered, every value encodable).
pub fn schedulers() -> Vec<(&'static str, Scheduler)> {
    vec![("sync", Scheduler::sync()), ("threaded", Scheduler::threaded()), ("checked", Scheduler::checked(registry()))]
}

/// Runs `f` once per scheduler, with that scheduler as the default, and returns the results.
pub fn on_every_scheduler<T>(mut f: impl FnMut(&str) -> T) -> Vec<T> {
    schedulers().into_iter().map(|(name, s)| rask_core::with_scheduler(&s, || f(name))).collect()
}

/// Path of a golden file written by one of the `tests/golden/make_*.py` scripts.
pub fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("golden").join(name)
}

/// Reads a golden JSON file.
pub fn golden(name: &str) -> Json {
    let path = golden_path(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A JSON number array as `Array1<f64>`.
pub fn arr1(v: &Json) -> Array1<f64> {
    Array1::from(v.as_array().expect("a JSON array").iter().map(|x| x.as_f64().expect("a number")).collect::<Vec<_>>())
}

/// A JSON integer array as `Array1<i64>`.
pub fn arr1_i64(v: &Json) -> Array1<i64> {
    Array1::from(
        v.as_array().expect("a JSON array").iter().map(|x| x.as_i64().expect("an integer")).collect::<Vec<_>>(),
    )
}

/// A JSON array of rows as `Array2<f64>`.
pub fn arr2(v: &Json) -> Array2<f64> {
    let rows = v.as_array().expect("a JSON array of rows");
    let n_cols = rows.first().map_or(0, |r| r.as_array().expect("a row").len());
    let flat: Vec<f64> = rows.iter().flat_map(|r| arr1(r).to_vec()).collect();
    Array2::from_shape_vec((rows.len(), n_cols), flat).expect("rectangular rows")
}

/// Asserts `|a - b| <= atol + rtol·|b|` elementwise, naming the first offender.
pub fn assert_close_slice(what: &str, a: &[f64], b: &[f64], rtol: f64, atol: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= atol + rtol * y.abs(), "{what}[{i}]: {x} vs reference {y} (rtol {rtol}, atol {atol})");
    }
}

/// [`assert_close_slice`] on arrays of the same shape.
pub fn assert_close<D: ndarray::Dimension>(
    what: &str,
    a: &ndarray::Array<f64, D>,
    b: &ndarray::Array<f64, D>,
    rtol: f64,
    atol: f64,
) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes differ");
    let (a, b): (Vec<f64>, Vec<f64>) = (a.iter().copied().collect(), b.iter().copied().collect());
    assert_close_slice(what, &a, &b, rtol, atol);
}

/// Exact equality, NaN and negative zero included.
pub fn same_bits<D: ndarray::Dimension>(a: &ndarray::Array<f64, D>, b: &ndarray::Array<f64, D>) -> bool {
    a.shape() == b.shape() && a.iter().zip(b.iter()).all(|(x, y)| x.to_bits() == y.to_bits())
}
