//! A cluster on this machine: a scheduler in this process and worker *processes*.
//!
//! Workers are real processes of a program that calls [`maybe_run_worker`] at the top of its
//! `main` (the `rask` binary does; so can any user binary with its own ops). By default the
//! program is the current executable, so a user's binary becomes its own cluster.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::client::{Client, ClientOptions};
use super::conn::{generate_token, Security, TOKEN_ENV};
use super::server::{SchedulerHandle, SchedulerOptions};
use super::spill::MemoryLimits;
use super::state::StateConfig;
use super::status::StatusSnapshot;
use super::worker::{run_worker, WorkerOptions};
use rask_core::Registry;
use rask_core::{Error, Result};

/// Set in a worker process's environment: the scheduler to join.
pub const WORKER_ENV: &str = "RASK_WORKER_SCHEDULER";
const THREADS_ENV: &str = "RASK_WORKER_THREADS";
const MEMORY_ENV: &str = "RASK_WORKER_MEMORY_LIMIT";
const SPILL_ENV: &str = "RASK_WORKER_SPILL_DIR";
const HEARTBEAT_ENV: &str = "RASK_WORKER_HEARTBEAT_MS";

/// If this process was started as a worker (by a [`LocalCluster`], [`WORKER_ENV`] set), runs
/// the worker with `registry` and exits; otherwise returns at once. Call it first in `main`.
pub fn maybe_run_worker(registry: impl FnOnce() -> Arc<Registry>) {
    let Some(scheduler) = std::env::var_os(WORKER_ENV) else { return };
    init_logging();
    let code = match worker_options_from_env(scheduler.to_string_lossy().into_owned(), registry()) {
        Ok(opts) => match run_worker(opts) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("rask worker: {e}");
                1
            }
        },
        Err(e) => {
            eprintln!("rask worker: {e}");
            2
        }
    };
    std::process::exit(code);
}

fn worker_options_from_env(scheduler: String, registry: Arc<Registry>) -> std::result::Result<WorkerOptions, String> {
    let token = std::env::var(TOKEN_ENV).unwrap_or_default();
    let mut opts = WorkerOptions::new(scheduler, Security::new(registry, token));
    if let Ok(t) = std::env::var(THREADS_ENV) {
        opts.nthreads = t.parse().map_err(|_| format!("{THREADS_ENV}={t} is not a thread count"))?;
    }
    if let Ok(m) = std::env::var(MEMORY_ENV) {
        let limit: u64 = m.parse().map_err(|_| format!("{MEMORY_ENV}={m} is not a byte count"))?;
        opts.memory = MemoryLimits::new(limit);
    }
    if let Some(d) = std::env::var_os(SPILL_ENV) {
        opts.spill_dir = PathBuf::from(d);
    }
    if let Ok(h) = std::env::var(HEARTBEAT_ENV) {
        let ms: u64 = h.parse().map_err(|_| format!("{HEARTBEAT_ENV}={h} is not milliseconds"))?;
        opts.heartbeat = Duration::from_millis(ms);
    }
    Ok(opts)
}

/// Sets up `tracing` output on stderr, filtered by `RASK_LOG` (default `warn`). Idempotent.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RASK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colour).try_init();
}

/// Builds a [`LocalCluster`].
#[derive(Debug, Clone)]
pub struct LocalClusterBuilder {
    registry: Arc<Registry>,
    n_workers: usize,
    threads_per_worker: usize,
    memory_limit: Option<u64>,
    program: Option<PathBuf>,
    args: Vec<String>,
    status: bool,
    heartbeat: Duration,
    heartbeat_timeout: Duration,
    no_workers_timeout: Option<Duration>,
    state: StateConfig,
    quiet: bool,
}

impl LocalClusterBuilder {
    /// Worker processes to start.
    pub fn workers(mut self, n: usize) -> Self {
        self.n_workers = n;
        self
    }

    /// Compute threads per worker (default 1).
    pub fn threads_per_worker(mut self, n: usize) -> Self {
        self.threads_per_worker = n;
        self
    }

    /// A memory limit per worker, in bytes (spill above 60 %, pause above 80 %).
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// The worker program (default: the current executable) and its arguments. It must call
    /// [`maybe_run_worker`] with the same registry.
    pub fn program(mut self, program: impl Into<PathBuf>, args: Vec<String>) -> Self {
        self.program = Some(program.into());
        self.args = args;
        self
    }

    /// Serve the status page on a free port of 127.0.0.1 (default on).
    pub fn status_page(mut self, on: bool) -> Self {
        self.status = on;
        self
    }

    /// Worker heartbeat interval and the silence after which the scheduler drops a worker.
    pub fn heartbeats(mut self, interval: Duration, timeout: Duration) -> Self {
        self.heartbeat = interval;
        self.heartbeat_timeout = timeout;
        self
    }

    /// Ready tasks fail with a "no workers" error after waiting this long with no worker
    /// connected (default: they wait; see [`SchedulerOptions::no_workers_timeout`]).
    pub fn no_workers_timeout(mut self, timeout: Duration) -> Self {
        self.no_workers_timeout = Some(timeout);
        self
    }

    /// Scheduler tunables (poison limit, queuing).
    pub fn state_config(mut self, config: StateConfig) -> Self {
        self.state = config;
        self
    }

    /// Hide the workers' stderr (default: shown).
    pub fn quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }

    /// Starts the scheduler and the workers, and waits until every worker has joined.
    pub fn start(self) -> Result<LocalCluster> {
        let token = generate_token().map_err(|e| Error::Distributed(e.to_string()))?;
        let security = Security::new(self.registry.clone(), token.clone());
        let mut opts = SchedulerOptions::new(security.clone());
        opts.listen = "127.0.0.1:0".into();
        opts.status = self.status.then(|| "127.0.0.1:0".to_string());
        opts.heartbeat_timeout = self.heartbeat_timeout;
        opts.no_workers_timeout = self.no_workers_timeout;
        opts.state = self.state;
        let scheduler = SchedulerHandle::start(opts).map_err(|e| Error::Distributed(e.to_string()))?;
        let spill = cluster_spill_dir(&crate::spill::default_spill_root())?;
        let program = match &self.program {
            Some(p) => p.clone(),
            None => std::env::current_exe().map_err(|e| Error::Distributed(e.to_string()))?,
        };
        let mut cluster = LocalCluster {
            scheduler: Some(scheduler),
            workers: Vec::new(),
            security,
            token,
            spill,
            program,
            args: self.args.clone(),
            threads_per_worker: self.threads_per_worker,
            memory_limit: self.memory_limit,
            heartbeat: self.heartbeat,
            quiet: self.quiet,
            client: None,
        };
        for _ in 0..self.n_workers {
            cluster.spawn_worker()?;
        }
        // The scheduler runs in this process: its client needs no socket (see `Client::in_process`).
        let scheduler = cluster.scheduler.as_ref().ok_or_else(|| Error::Distributed("no scheduler".into()))?;
        let client = Client::in_process(scheduler, ClientOptions::new(cluster.security.clone()))?;
        client.wait_for_workers(self.n_workers, Duration::from_secs(60))?;
        cluster.client = Some(client);
        Ok(cluster)
    }
}

/// The prefix of a [`LocalCluster`]'s spill directory inside the spill root.
const CLUSTER_DIR_PREFIX: &str = "rask-cluster-";

/// Makes a cluster's spill directory in `root` (created 0700 if missing): `rask-cluster-*`,
/// mode 0700, with an owner file naming this process. First removes the cluster and spill
/// directories in `root` whose owning processes are gone (clusters and workers killed with
/// SIGKILL), never one that a live process owns or that holds a live worker's directory.
fn cluster_spill_dir(root: &std::path::Path) -> Result<tempfile::TempDir> {
    let fail =
        |e: std::io::Error| Error::Distributed(format!("cannot make a spill directory in {}: {e}", root.display()));
    crate::spill::prepare_spill_root(root).map_err(fail)?;
    if let Err(e) = crate::spill::remove_stale_dirs(root, &[CLUSTER_DIR_PREFIX, crate::spill::SPILL_DIR_PREFIX]) {
        tracing::warn!(root = %root.display(), error = %e, "cannot look for stale spill directories");
    }
    crate::spill::create_owned_dir(root, CLUSTER_DIR_PREFIX).map_err(fail)
}

/// A scheduler in this process and worker processes on this machine, all on 127.0.0.1.
/// Dropping it closes the workers (killing those that do not exit) and removes spill files.
#[derive(Debug)]
pub struct LocalCluster {
    scheduler: Option<SchedulerHandle>,
    workers: Vec<Child>,
    security: Security,
    token: String,
    spill: tempfile::TempDir,
    program: PathBuf,
    args: Vec<String>,
    threads_per_worker: usize,
    memory_limit: Option<u64>,
    heartbeat: Duration,
    quiet: bool,
    client: Option<Client>,
}

impl LocalCluster {
    /// A builder for a cluster whose processes share `registry`.
    pub fn builder(registry: Arc<Registry>) -> LocalClusterBuilder {
        LocalClusterBuilder {
            registry,
            n_workers: 2,
            threads_per_worker: 1,
            memory_limit: None,
            program: None,
            args: Vec::new(),
            status: true,
            heartbeat: Duration::from_millis(500),
            heartbeat_timeout: Duration::from_secs(10),
            no_workers_timeout: None,
            state: StateConfig::default(),
            quiet: false,
        }
    }

    /// `n_workers` single-threaded worker processes of the current executable.
    pub fn new(n_workers: usize, registry: Arc<Registry>) -> Result<LocalCluster> {
        Self::builder(registry).workers(n_workers).start()
    }

    fn spawn_worker(&mut self) -> Result<()> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .env(WORKER_ENV, self.address())
            .env(TOKEN_ENV, &self.token)
            .env(THREADS_ENV, self.threads_per_worker.to_string())
            .env(SPILL_ENV, self.spill.path())
            .env(HEARTBEAT_ENV, self.heartbeat.as_millis().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if self.quiet {
            cmd.stderr(Stdio::null());
        }
        if let Some(m) = self.memory_limit {
            cmd.env(MEMORY_ENV, m.to_string());
        }
        let child = cmd
            .spawn()
            .map_err(|e| Error::Distributed(format!("cannot start worker {}: {e}", self.program.display())))?;
        self.workers.push(child);
        Ok(())
    }

    /// The scheduler's address.
    pub fn address(&self) -> &str {
        self.scheduler.as_ref().expect("running until dropped").address()
    }

    /// The status page's address.
    pub fn status_address(&self) -> Option<&str> {
        self.scheduler.as_ref().and_then(|s| s.status_address())
    }

    /// The scheduler's current status.
    pub fn status(&self) -> StatusSnapshot {
        self.scheduler.as_ref().map(|s| s.status()).unwrap_or_default()
    }

    /// The shared token (for connecting more clients or workers).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The security settings of this cluster (registry and token).
    pub fn security(&self) -> &Security {
        &self.security
    }

    /// A client connected to this cluster.
    pub fn client(&self) -> Client {
        self.client.clone().expect("set by start")
    }

    /// Process ids of the worker processes started so far (alive or not).
    pub fn worker_pids(&self) -> Vec<u32> {
        self.workers.iter().map(Child::id).collect()
    }

    /// Starts one more worker and waits until it joins.
    pub fn add_worker(&mut self) -> Result<()> {
        let before = self.client().workers()?.len();
        self.spawn_worker()?;
        self.client().wait_for_workers(before + 1, Duration::from_secs(60))
    }

    /// Kills worker `i` with SIGKILL (no clean-up: as a crash would).
    pub fn kill_worker(&mut self, i: usize) -> Result<()> {
        let child = self.workers.get_mut(i).ok_or_else(|| Error::Distributed(format!("there is no worker {i}")))?;
        child.kill().map_err(|e| Error::Distributed(format!("cannot kill worker {i}: {e}")))?;
        let _ = child.wait();
        Ok(())
    }

    /// The directory under which workers spill.
    pub fn spill_root(&self) -> &std::path::Path {
        self.spill.path()
    }

    /// Waits until the scheduler reports `n` workers (after kills, joins).
    pub fn wait_for_status(&self, pred: impl Fn(&StatusSnapshot) -> bool, timeout: Duration) -> Result<StatusSnapshot> {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.status();
            if pred(&s) {
                return Ok(s);
            }
            if Instant::now() > deadline {
                return Err(Error::Distributed(format!("status condition not reached in {timeout:?}: {s:?}")));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.client = None;
        if let Some(s) = self.scheduler.take() {
            s.stop(); // tells every worker to close
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for child in &mut self.workers {
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
        }
    }
}
