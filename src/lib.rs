//! # Rask: scalable machine learning on task graphs
//!
//! Rask is Dask and dask-ml rebuilt in Rust: lazy graphs of keyed tasks, optimised and run by
//! interchangeable schedulers (synchronous, threaded, distributed), with chunked datasets,
//! estimators, model selection and meta-estimators that fit and predict through those graphs.
//!
//! This crate is the facade: it re-exports the workspace crates and hosts the `rask` CLI.
//!
//! | crate or module | what it holds |
//! |---|---|
//! | [`rask_core`] (re-exported at the root) | graphs, tokens, ops, values, schedulers; the distributed runtime ([`distributed`]) |
//! | [`ml`] | chunked arrays and datasets, estimator traits, metrics, pipelines, parameters by name, grid / randomized / adaptive searches ([`ml::model_selection`]), `ParallelPostFit` and `Incremental` ([`ml::wrappers`]), blockwise voting ([`ml::ensemble`]), linfa and smartcore adapters |
//! | [`estimators`] | clustering, decomposition, linear models, SGD, naive Bayes, preprocessing |
//! | [`datasets`] | generators, loaders (`.npy`, CSV, Parquet, `read_xy`), the embedded real datasets (iris, wine, breast cancer, diabetes) and the streaming prediction writer |
//! | [`catalog`] | estimators by name, for configuration files and the command line |
//! | [`jobs`] | `rask fit`, `rask predict` and `rask sweep` as library functions |
//! | [`jobqueue`] | workers as SLURM jobs |
//! | [`memory`] | `retain_freed_memory`: glibc's malloc keeps freed memory for the next block (the `rask` command sets it) |
//! | [`pipeline`] | the end-to-end demo behind `cargo run --release` and `rask demo`, as a library function |
//! | [`demo`] | the ops of the task-graph demo, `rask graph-demo` |
//!
//! ```
//! use rask::{delayed, Delayed, Scheduler};
//!
//! let a = Delayed::value(6.0_f64);
//! let b = Delayed::value(7.0_f64);
//! let product = delayed(|a: &f64, b: &f64| a * b).named("mul").call((&a, &b));
//! assert_eq!(product.compute_on(&Scheduler::threaded()).unwrap(), 42.0);
//! ```
#![deny(missing_docs)]

use std::sync::{Arc, OnceLock};

pub use rask_core::delayed::{delayed, Delayed};
pub use rask_core::{
    compute, default_scheduler, delayed as lazy, graph, ops, scheduler, set_default_scheduler, tokenize, value,
    with_scheduler, Callback, Codec, CodecError, ComputeOptions, ComputeStats, Computed, DynOp, Error, Executor, Graph,
    Key, KeyName, LocalFn, Node, Op, OpEntry, OpError, Registry, RegistryBuilder, Result, Scheduler, Task, TaskOp,
    Token, Tokenizer, Value, ValueCodec, ValueTypeError,
};
pub use rask_datasets as datasets;
pub use rask_estimators as estimators;
pub use rask_ml as ml;

pub mod catalog;
pub mod demo;
pub mod jobqueue;
pub mod jobs;
pub mod memory;
pub mod pipeline;
pub mod plots;

/// The distributed runtime ([`rask_distributed`]) with Rask's full registry.
///
/// ```no_run
/// // A user binary with Rask's ops becomes its own cluster: the same executable runs the
/// // workers, so the first line of `main` lets it act as one when a LocalCluster starts it.
/// fn main() -> rask::Result<()> {
///     rask::distributed::run_worker_if_requested();
///     let cluster = rask::distributed::local_cluster(2).start()?;
///     let scheduler = cluster.client().scheduler();
///     // ... rask::with_scheduler(&scheduler, || fit estimators as usual) ...
///     Ok(())
/// }
/// ```
pub mod distributed {
    pub use rask_distributed::*;

    /// If this process was started as a worker (by a [`LocalCluster`]), runs it with Rask's
    /// registry and exits; otherwise returns at once. Call it first in `main`.
    pub fn run_worker_if_requested() {
        maybe_run_worker(crate::registry)
    }

    /// Connects to the scheduler named by `$RASK_SCHEDULER` with Rask's registry, the token from
    /// `$RASK_TOKEN` or the token file, and TLS from `$RASK_TLS_*`: see
    /// [`Client::connect_from_env`].
    pub fn connect_from_env() -> crate::Result<Client> {
        Client::connect_from_env(crate::registry())
    }

    /// A builder for a cluster of `n_workers` processes of the current executable with Rask's
    /// registry (the executable must call [`run_worker_if_requested`] first in `main`).
    pub fn local_cluster(n_workers: usize) -> LocalClusterBuilder {
        LocalCluster::builder(crate::registry()).workers(n_workers)
    }
}

/// Every op and codec of every Rask crate, in one registry.
///
/// A distributed worker must be built with the same lists (the same binary, or a user binary
/// that lists the same crates) for its registry fingerprint to match the client's.
pub fn registry() -> Arc<Registry> {
    static REGISTRY: OnceLock<Arc<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| {
            let reg = registry_builder()
                .build()
                // The lists are static; the `registry_lists_are_unique` test proves this holds.
                .expect("Rask's op and codec lists are unique");
            Arc::new(reg)
        })
        .clone()
}

/// A builder holding every op and codec of every Rask crate (the linfa and smartcore adapters
/// included when their features are on), for an application that adds its own models:
///
/// ```
/// # use serde::{Deserialize, Serialize};
/// # use rask::ml::model::Model;
/// # #[derive(Clone, Debug, Serialize, Deserialize)]
/// # struct Mine;
/// # impl Model for Mine {
/// #     type Label = f64;
/// #     fn n_features_in(&self) -> usize { 1 }
/// #     fn predict_rows(&self, x: rask::ml::ndarray::ArrayView2<'_, f64>) -> rask::ml::Result<rask::ml::ndarray::Array1<f64>> {
/// #         Ok(x.column(0).to_owned())
/// #     }
/// # }
/// rask::ml::model!(Mine, name = "my_app.mine", kind = Regressor);
/// let registry = rask::registry_builder()
///     .ops(rask::ml::model_ops!(Mine))
///     .codecs(rask::ml::model_codecs!(Mine))
///     .build()
///     .unwrap();
/// assert!(registry.n_ops() > rask::registry().n_ops());
/// ```
pub fn registry_builder() -> RegistryBuilder {
    rask_estimators::register(rask_datasets::registry_builder())
        .ops(demo::OPS)
        .codecs(demo::CODECS)
        .ops(catalog::OPS)
        .codecs(catalog::CODECS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn registry_lists_are_unique() {
        let reg = super::registry();
        assert!(reg.n_ops() >= super::demo::OPS.len());
        assert_eq!(reg.fingerprint_hex().len(), 32);
    }

    #[test]
    fn public_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::Graph>();
        check::<super::Scheduler>();
        check::<super::Value>();
        check::<super::Registry>();
        check::<super::Error>();
        check::<super::Delayed<f64>>();
    }
}
