//! The distributed runtime: a scheduler, worker processes and clients over TCP (optionally TLS).
//!
//! ```text
//!  Client ──graph──► Scheduler ──Compute──► Worker ◄──data──► Worker
//!    ▲                  ▲   (state machine)    │ rayon pool       │
//!    └──── results, fetched directly from the workers' data ports ┘
//! ```
//!
//! - [`protocol`]: typed, versioned messages in length-delimited frames with a size cap, and
//!   the handshake (protocol version, role, registry fingerprint, token).
//! - [`conn`]: TCP and TLS connections, tokens and their files.
//! - [`state`]: the scheduler's sans-IO state machine (locality, queuing, stealing, recompute
//!   of lost results, poison tasks); [`server`] runs it behind sockets and the status page.
//! - [`worker`]: runs tasks on rayon, holds results in a [`spill::DataStore`] that spills to
//!   disk above a memory target, serves them to peers.
//! - [`client`]: submits graphs, holds [`Future`]s, gathers results; an
//!   [`Executor`](crate::Executor), so everything that computes runs unchanged on a cluster.
//! - [`cluster`]: [`LocalCluster`], a scheduler plus worker processes on this machine.
//!
//! Code never travels: workers rebuild ops from their own registry by name and version, and
//! the handshake refuses a peer whose registry differs.

pub mod client;
pub mod cluster;
pub mod conn;
pub mod protocol;
mod server;
pub mod spill;
pub mod state;
pub mod status;
pub mod worker;

pub use client::{AsCompleted, Client, ClientOptions, Future, FutureStatus, SCHEDULER_ENV};
pub use cluster::{init_logging, maybe_run_worker, LocalCluster, LocalClusterBuilder, WORKER_ENV};
pub use conn::{generate_token, load_or_create_token, read_token, Security, TlsConfig, TOKEN_ENV};
pub use server::{SchedulerHandle, SchedulerOptions};
pub use spill::{DataStore, MemoryLimits};
pub use state::StateConfig;
pub use worker::{run_worker, WorkerOptions};
