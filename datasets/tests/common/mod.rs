//! Helpers shared by the rask-datasets integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use ndarray::Array2;
use rask_core::{Registry, Scheduler};

/// Every op and codec the datasets depend on.
pub fn registry() -> Arc<Registry> {
    Arc::new(rask_datasets::registry_builder().build().unwrap())
}

/// The local schedulers every dataset must agree on, the serialisation-checked one included.
pub fn schedulers() -> Vec<Scheduler> {
    vec![Scheduler::sync(), Scheduler::threaded(), Scheduler::checked(registry())]
}

/// Exact equality, NaN and negative zero included.
pub fn same_bits(a: &Array2<f64>, b: &Array2<f64>) -> bool {
    a.shape() == b.shape() && a.iter().zip(b.iter()).all(|(x, y)| x.to_bits() == y.to_bits())
}
