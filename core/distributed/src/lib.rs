//! # rask-distributed: Rask's distributed runtime
//!
//! A scheduler, worker processes and clients over TCP (optionally TLS), running the graphs of
//! [`rask_core`]: a [`Client`] is an [`Executor`](rask_core::Executor), so everything that
//! computes on a [`Scheduler`](rask_core::Scheduler) runs unchanged on a cluster.
//!
//! ```text
//!  Client ──graph──► Scheduler ──Compute──► Worker ◄──data──► Worker
//!    ▲                  ▲   (state machine)    │ rayon pool       │
//!    └──── results, fetched directly from the workers' data ports ┘
//! ```
//!
//! The public surface is small: [`Client`] and its [`Future`]s, [`LocalCluster`],
//! [`run_worker`], [`run_scheduler`] and [`SchedulerHandle`] (a scheduler in this process), the security options
//! ([`Security`], [`TlsConfig`], tokens) and the [`status`] document. Everything else is
//! private, in these modules:
//!
//! - `protocol`: typed, versioned messages in length-delimited frames with a size cap, and
//!   the handshake (protocol version, role, registry fingerprint, token).
//! - `conn`: TCP and TLS connections, tokens and their files.
//! - `state`: the scheduler's sans-IO state machine (locality, queuing, stealing, recompute
//!   of lost results, poison tasks), in event handling, `state::transitions` and
//!   `state::placement`; `server` runs it behind sockets and the status page.
//! - `worker`: runs tasks on rayon, holds results in a `spill::DataStore` that spills to
//!   disk above a memory target, serves them to peers; its decisions (ready queue, fetches,
//!   batching, steals, pause) are a sans-IO state machine, `worker::state`.
//! - `client`: submits graphs, holds futures, gathers results.
//! - `cluster`: [`LocalCluster`], a scheduler plus worker processes on this machine.
//!
//! Code never travels: workers rebuild ops from their own registry by name and version, and
//! the handshake refuses a peer whose registry differs.

#![deny(missing_docs)]

mod client;
mod cluster;
mod conn;
mod protocol;
mod server;
mod spill;
mod state;
pub mod status;
mod worker;

pub use client::{AsCompleted, Client, ClientOptions, Future, FutureStatus, SCHEDULER_ENV};
pub use cluster::{init_logging, maybe_run_worker, LocalCluster, LocalClusterBuilder, WORKER_ENV};
pub use conn::{
    default_token_file, generate_token, load_or_create_token, read_token, token_file_permission_warning, Security,
    TlsConfig, DEFAULT_TCP_TIMEOUT, TOKEN_ENV,
};
pub use protocol::{ProtocolError, TaskError, NODES_PER_FRAME, PROTOCOL_VERSION};
pub use server::{run_scheduler, SchedulerHandle, SchedulerOptions, NO_WORKERS_WARNING};
pub use spill::{default_spill_root, MemoryLimits, StoreError};
pub use state::StateConfig;
pub use worker::{run_worker, WorkerError, WorkerOptions};
