//! # rask-core: the task-graph core of Rask
//!
//! Lazy graphs of keyed tasks, optimised (cull, fuse, de-duplicate by deterministic token) and
//! run by interchangeable schedulers. This crate knows nothing of arrays or machine learning:
//! those live in `rask-ml` and `rask-estimators`, which build graphs out of the ops they register.
//!
//! ```
//! use rask_core::{Graph, Key, Scheduler, Value};
//!
//! let mut g = Graph::new();
//! g.add_data("x", Value::new(20.0_f64));
//! g.add_local("y", vec![Key::new("x")], |v| Ok(Value::new(v[0].get::<f64>()? + 1.0)));
//! let y: f64 = Scheduler::threaded().get(&g, &Key::new("y")).unwrap();
//! assert_eq!(y, 21.0);
//! ```
//!
//! The pieces, in the order data flows through them:
//! - [`Key`], [`Node`], [`Graph`]: the graph as data; [`graph::cull`], [`graph::fuse_linear`] and
//!   [`graph::order`] are pure passes over it; [`tokenize`] names work deterministically.
//! - [`Op`], [`Registry`]: named, versioned, serialisable operations from per-crate `OPS` lists.
//! - [`Value`], [`Codec`]: type-erased results and the codec table that moves them between processes.
//! - [`Scheduler`]: compiles a graph into a [`Plan`](scheduler::Plan) and runs it on an executor
//!   driven by the shared sans-IO [`SchedulerState`](scheduler::SchedulerState).
//! - [`delayed`]: Dask-style lazy values from closures and ops.
#![deny(missing_docs)]

pub mod delayed;
mod error;
pub mod graph;
mod key;
pub mod ops;
mod registry;
pub mod scheduler;
mod token;
pub mod value;
pub mod wire;

pub use error::{Error, Result};
pub use graph::{Graph, Node, Task};
pub use key::{Key, KeyName};
pub use ops::{DynOp, LocalFn, Op, OpEntry, OpError, TaskOp};
pub use registry::{Registry, RegistryBuilder};
pub use scheduler::{
    compute, default_scheduler, register_remote, set_default_scheduler, with_scheduler, Broadcast, Callback,
    ComputeOptions, ComputeStats, Computed, Executor, Remote, Scheduler,
};
pub use token::{tokenize, Token, Tokenizer};
pub use value::{Codec, CodecError, Value, ValueCodec, ValueTypeError};

/// The ops `rask-core` registers (none: core is generic; ops live with the crates that own them).
pub const OPS: &[OpEntry] = &[];

/// The value codecs `rask-core` registers: plain Rust scalars, strings and numeric vectors.
pub const CODECS: &[Codec] = value::CODECS;
