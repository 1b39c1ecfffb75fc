//! The worker process: runs tasks the scheduler assigns, holds their results, serves them to
//! peers.
//!
//! The decisions (which task runs next, what to fetch, what to tell the scheduler) are made by
//! [`WorkerState`], a state machine free of IO in `worker/state.rs`; this module is its thin IO
//! shell. IO runs on a small tokio runtime; numeric work runs on a rayon pool of `nthreads`
//! threads, so the network loop never runs a kernel and a kernel never blocks on a socket. The
//! main loop feeds the state four event sources (the scheduler's messages, finished tasks,
//! finished fetches, and the heartbeat timer) and carries out the commands it returns. Results
//! live in a [`DataStore`] that spills least-recently-used values to disk above the memory
//! target; the state sees it through [`Holdings`].

mod state;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::conn::{accept, connect, Conn, Security};
use super::protocol::{
    PeerReply, PeerRequest, ProtocolError, Role, ToScheduler, ToWorker, WireSpec, WireValue, WorkerMetrics,
};
use super::spill::{DataStore, Lookup, MemoryLimits, SpillRead, StoreError};
use rask_core::value::Value;
use rask_core::wire;
use rask_core::Key;
use rask_core::Registry;
use state::{Command, Event, Holdings, Job, WorkerState};

/// How to run a worker.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// The scheduler's address (`host:port`).
    pub scheduler: String,
    /// Where to listen for peers (`host:port`; port 0 picks a free one).
    pub listen: String,
    /// The address peers should use, if not the bound one (behind NAT, or a wildcard bind);
    /// a port of 0 is replaced by the bound port.
    pub advertise: Option<String>,
    /// Compute threads.
    pub nthreads: usize,
    /// Memory limit and thresholds.
    pub memory: MemoryLimits,
    /// The spill root: where a worker over its memory target writes results to disk
    /// (`rask worker --spill-dir DIR`; default [`default_spill_root`](crate::default_spill_root),
    /// `rask-<uid>` in the system temporary directory, created mode 0700 and refused if another
    /// user owns it). The root is created (mode 0700) if missing. On the first spill the worker
    /// makes a private subdirectory `rask-spill-*` in it (mode 0700, files 0600, with an owner
    /// file naming the worker's PID), removed when the worker exits. On start the worker
    /// removes the `rask-spill-*` directories in the root whose owning process is gone (left by
    /// workers killed with SIGKILL); a live worker's are never touched.
    pub spill_dir: PathBuf,
    /// Registry, token, TLS.
    pub security: Security,
    /// Heartbeat interval.
    pub heartbeat: Duration,
    /// How long to keep trying to reach the scheduler, at start and when joining again.
    pub connect_timeout: Duration,
    /// Silence after which the worker gives up its connection to the scheduler and joins
    /// again as a fresh worker (default 60 s). The scheduler sends a keepalive every second,
    /// so only a stopped, hung or unreachable scheduler is silent this long.
    pub scheduler_timeout: Duration,
}

impl WorkerOptions {
    /// Defaults: listen on 127.0.0.1, one thread per core, no memory limit, spill to the
    /// per-user [`default_spill_root`](crate::default_spill_root), heartbeats every 500 ms.
    pub fn new(scheduler: impl Into<String>, security: Security) -> Self {
        WorkerOptions {
            scheduler: scheduler.into(),
            listen: "127.0.0.1:0".into(),
            advertise: None,
            nthreads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            memory: MemoryLimits::default(),
            spill_dir: crate::spill::default_spill_root(),
            security,
            heartbeat: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(20),
            scheduler_timeout: Duration::from_secs(60),
        }
    }
}

impl WorkerOptions {
    /// Refuses options a worker cannot run with (zero threads, a zero heartbeat or connect
    /// timeout, inconsistent memory limits), naming the field.
    pub fn check(&self) -> Result<(), WorkerError> {
        let bad = |m: String| Err(WorkerError::Setup(m));
        if self.nthreads == 0 {
            return bad("nthreads must be at least 1".into());
        }
        if self.heartbeat.is_zero() {
            return bad("heartbeat must be a positive interval".into());
        }
        if self.connect_timeout.is_zero() {
            return bad("connect_timeout must be a positive duration".into());
        }
        if self.scheduler_timeout.is_zero() {
            return bad("scheduler_timeout must be a positive duration".into());
        }
        self.memory.check().map_err(|e| WorkerError::Setup(format!("memory: {e}")))
    }
}

/// Why a worker stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// Setting up failed (runtime, thread pool, listener, store).
    #[error("worker set-up failed: {0}")]
    Setup(String),
    /// The scheduler could not be reached or refused the worker.
    #[error("cannot join the scheduler: {0}")]
    Connect(#[from] ProtocolError),
}

/// Keys to fetch with their holders.
type Wanted = Vec<(Key, Vec<String>)>;
/// A task's outcome on this worker.
type Outcome = state::Outcome<Value>;

/// What the main loop waits for.
enum Input {
    FromScheduler(Vec<ToWorker>),
    SchedulerGone(String),
    /// Nothing from the scheduler for this long.
    SchedulerSilent(Duration),
    /// A batch of tasks run back to back on one compute thread.
    Finished(Vec<(Key, Outcome, f64)>),
    Fetched {
        key: Key,
        id: u64,
        added: Vec<(Key, u64)>,
        missing: Option<Key>,
    },
}

/// The results, shared by the main loop, fetches and the data port.
type Store = Arc<Mutex<DataStore>>;

fn lock(store: &Store) -> MutexGuard<'_, DataStore> {
    // No user code runs under this lock (ops run on rayon with their inputs already taken
    // out), so poisoning can only come from a bug here; the store stays usable.
    store.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs a worker until the scheduler tells it to stop (or closes the cluster), it gets
/// SIGTERM, or the scheduler stays unreachable for `connect_timeout` after the connection was
/// lost (an error then).
pub fn run_worker(opts: WorkerOptions) -> Result<(), WorkerError> {
    opts.check()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("rask-worker-io")
        .build()
        .map_err(|e| WorkerError::Setup(e.to_string()))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.nthreads)
        .thread_name(|i| format!("rask-compute-{i}"))
        .build()
        .map_err(|e| WorkerError::Setup(e.to_string()))?;
    let result = rt.block_on(worker_main(opts, Arc::new(pool)));
    rt.shutdown_timeout(Duration::from_millis(200));
    result
}

/// The worker's life on the IO runtime: join the scheduler, then run the main loop until told
/// to stop. A worker the scheduler removes (it was silent too long, e.g. stopped with SIGSTOP)
/// or whose scheduler falls silent for `scheduler_timeout` or whose connection breaks (the
/// scheduler restarted, a network path reset it) drops its results and joins again as a fresh
/// worker, trying for `connect_timeout`, as Dask workers reconnect.
async fn worker_main(opts: WorkerOptions, pool: Arc<rayon::ThreadPool>) -> Result<(), WorkerError> {
    let registry = opts.security.registry.clone();
    // Spill directories of workers killed before they could clean up; failing to list the
    // root is not fatal here (the first spill reports a root it cannot use).
    if let Err(e) = crate::spill::remove_stale_dirs(&opts.spill_dir, &[crate::spill::SPILL_DIR_PREFIX]) {
        tracing::warn!(root = %opts.spill_dir.display(), error = %e, "cannot look for stale spill directories");
    }
    let store = DataStore::new(registry.clone(), opts.memory, opts.spill_dir.clone())
        .map_err(|e| WorkerError::Setup(e.to_string()))?;
    let store: Store = Arc::new(Mutex::new(store));
    let listener = TcpListener::bind(&opts.listen)
        .await
        .map_err(|e| WorkerError::Setup(format!("cannot listen on {}: {e}", opts.listen)))?;
    let bound = listener.local_addr().map_err(|e| WorkerError::Setup(e.to_string()))?;
    // An advertised port of 0 means "the port bound" (useful with `--listen HOST:0`).
    let address = match &opts.advertise {
        Some(a) => match a.strip_suffix(":0") {
            Some(host) => format!("{host}:{}", bound.port()),
            None => a.clone(),
        },
        None => bound.to_string(),
    };
    let server = tokio::spawn(serve_data(listener, opts.security.clone(), store.clone()));

    let peers = Arc::new(PeerPool::new(opts.security.clone()));
    #[cfg(unix)]
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| WorkerError::Setup(e.to_string()))?;
    let mut joined_before = false;
    let result = loop {
        // SIGTERM also ends a worker that is still trying to reach its scheduler.
        #[cfg(unix)]
        let joined = tokio::select! {
            c = join(&opts, joined_before) => Some(c),
            _ = sigterm.recv() => None,
        };
        #[cfg(not(unix))]
        let joined = Some(join(&opts, joined_before).await);
        let conn = match joined {
            Some(Ok(c)) => c,
            Some(Err(e)) => break Err(e),
            None => {
                tracing::info!(reason = "SIGTERM while joining", "worker stopping");
                break Ok(());
            }
        };
        joined_before = true;
        tracing::info!(scheduler = %opts.scheduler, data = %address, nthreads = opts.nthreads, "worker joined");
        let session = Session { opts: &opts, address: &address, registry: &registry, store: &store, pool: &pool };
        #[cfg(unix)]
        let ended = session.run(conn, &peers, &mut sigterm).await;
        #[cfg(not(unix))]
        let ended = session.run(conn, &peers).await;
        match ended {
            Ended::Stop(reason) => {
                tracing::info!(reason = %reason, "worker stopping");
                break Ok(());
            }
            Ended::Rejoin(reason) => {
                // The scheduler forgot this worker's results (or will, when it notices the
                // connection is gone) and recomputes what it needs; holding them on would only
                // use memory nobody can ask for.
                tracing::warn!(reason = %reason, "joining the scheduler again as a fresh worker; held results dropped");
                lock(&store).clear();
            }
        }
    };
    server.abort();
    // Spill files go with the store.
    lock(&store).clear();
    result
}

/// Connects to the scheduler, retrying for `connect_timeout` while it is not reachable (it
/// may still be starting, or, when joining again, be overloaded or stopped).
async fn join(opts: &WorkerOptions, again: bool) -> Result<Conn, WorkerError> {
    let deadline = Instant::now() + opts.connect_timeout;
    loop {
        match connect(&opts.scheduler, Role::Worker, &opts.security).await {
            Ok(c) => return Ok(c),
            Err(ProtocolError::Io(e)) if Instant::now() < deadline => {
                tracing::debug!(error = %e, "scheduler not reachable yet");
            }
            Err(e @ (ProtocolError::Timeout(_) | ProtocolError::Closed)) if again && Instant::now() < deadline => {
                tracing::debug!(error = %e, "scheduler not answering yet");
            }
            Err(e) => return Err(WorkerError::Connect(e)),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How a session with the scheduler ended.
enum Ended {
    /// Told to stop (or SIGTERM): the worker exits.
    Stop(String),
    /// Removed by the scheduler, the scheduler fell silent, or the connection broke: join
    /// again as a fresh worker.
    Rejoin(String),
}

/// One registration with the scheduler: from joining to being told to stop, losing the
/// scheduler, or being removed.
struct Session<'a> {
    opts: &'a WorkerOptions,
    address: &'a str,
    registry: &'a Arc<Registry>,
    store: &'a Store,
    pool: &'a Arc<rayon::ThreadPool>,
}

impl Session<'_> {
    async fn run(
        self,
        conn: Conn,
        peers: &Arc<PeerPool>,
        #[cfg(unix)] sigterm: &mut tokio::signal::unix::Signal,
    ) -> Ended {
        let opts = self.opts;
        let (mut writer, mut reader) = conn.split();
        let register = ToScheduler::Register {
            nthreads: opts.nthreads.max(1),
            data_address: self.address.to_string(),
            memory_limit: opts.memory.limit,
            pid: std::process::id(),
        };
        if let Err(e) = writer.send(&[register]).await {
            return Ended::Rejoin(format!("registering failed: {e}"));
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<Input>();
        let reader_tx = tx.clone();
        let silence = opts.scheduler_timeout;
        let reader_task = tokio::spawn(async move {
            loop {
                // The scheduler sends at least a keepalive every second: silence this long
                // means it is stopped, hung or unreachable.
                match tokio::time::timeout(silence, reader.recv::<ToWorker>()).await {
                    Ok(Ok(batch)) => {
                        if reader_tx.send(Input::FromScheduler(batch)).is_err() {
                            return;
                        }
                    }
                    Ok(Err(e)) => {
                        let _ = reader_tx.send(Input::SchedulerGone(e.to_string()));
                        return;
                    }
                    Err(_) => {
                        let _ = reader_tx.send(Input::SchedulerSilent(silence));
                        return;
                    }
                }
            }
        });
        let mut w = WorkerLoop {
            registry: self.registry.clone(),
            store: self.store.clone(),
            pool: self.pool.clone(),
            state: WorkerState::new(opts.nthreads.max(1), self.address),
            out: Vec::new(),
            tx: tx.clone(),
            peers: peers.clone(),
            fetches: Vec::new(),
            fetched_bytes: 0,
        };
        let mut heartbeat = tokio::time::interval(opts.heartbeat);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ended = loop {
            #[cfg(unix)]
            let term = sigterm.recv();
            #[cfg(not(unix))]
            let term = std::future::pending::<Option<()>>();
            let ended = tokio::select! {
                ev = rx.recv() => {
                    let mut ended = match ev {
                        Some(ev) => w.handle(ev),
                        None => Some(Ended::Stop("channel closed".to_string())),
                    };
                    // Drain what else is ready, so replies go out in one batch.
                    while ended.is_none() {
                        match rx.try_recv() {
                            Ok(ev) => ended = w.handle(ev),
                            Err(_) => break,
                        }
                    }
                    ended
                }
                _ = heartbeat.tick() => {
                    let metrics = w.metrics();
                    w.out.push(ToScheduler::Heartbeat(metrics));
                    None
                }
                _ = term => Some(Ended::Stop("SIGTERM".to_string())),
            };
            if ended.is_none() {
                w.start_ready();
            }
            if !w.out.is_empty() {
                let batch = std::mem::take(&mut w.out);
                if let Err(e) = writer.send(&batch).await {
                    break ended.unwrap_or_else(|| Ended::Rejoin(format!("scheduler connection failed: {e}")));
                }
            }
            if let Some(ended) = ended {
                break ended;
            }
        };
        reader_task.abort();
        // Fetches of this session must not add to the store after it is cleared: wait until
        // each has really stopped. Running tasks only report to this session's channel, which
        // goes with it.
        for f in w.fetches.drain(..) {
            f.handle.abort();
            let _ = f.handle.await;
        }
        ended
    }
}

/// The IO shell around a [`WorkerState`]: carries out its commands on the rayon pool, the
/// tokio runtime and the store, and collects the messages for the scheduler.
struct WorkerLoop {
    registry: Arc<Registry>,
    store: Store,
    pool: Arc<rayon::ThreadPool>,
    state: WorkerState,
    out: Vec<ToScheduler>,
    tx: mpsc::UnboundedSender<Input>,
    peers: Arc<PeerPool>,
    /// This session's fetches in flight, by the task they fetch for (finished ones are pruned
    /// as new ones start).
    fetches: Vec<Fetch>,
    /// Bytes of task inputs fetched from peers this session (what locality saves).
    fetched_bytes: u64,
}

impl WorkerLoop {
    /// The load reported with each heartbeat.
    fn metrics(&self) -> WorkerMetrics {
        let s = lock(&self.store);
        WorkerMetrics {
            memory_bytes: s.memory_bytes(),
            spilled_bytes: s.spilled_bytes(),
            n_keys: s.len(),
            paused: s.is_paused(),
            tasks_done: self.state.tasks_done(),
            fetched_bytes: self.fetched_bytes,
        }
    }

    /// Handles one input; returns how the session ends, if it does.
    fn handle(&mut self, input: Input) -> Option<Ended> {
        let ev = match input {
            Input::FromScheduler(batch) => {
                for msg in batch {
                    let ev = match msg {
                        ToWorker::Compute { key, spec, deps, priority, run } => {
                            Event::Compute { key, spec, deps, priority, run }
                        }
                        ToWorker::Steal { key } => Event::Steal { key },
                        ToWorker::Release { keys } => Event::Release { keys },
                        ToWorker::Close => return Some(Ended::Stop("the scheduler closed the cluster".into())),
                        ToWorker::Closing { reason } => {
                            return Some(Ended::Stop(format!("the scheduler closed the connection: {reason}")))
                        }
                        ToWorker::Removed { reason } => {
                            return Some(Ended::Rejoin(format!("the scheduler removed this worker: {reason}")))
                        }
                        ToWorker::Keepalive => continue,
                    };
                    self.step(ev);
                }
                return None;
            }
            Input::SchedulerGone(reason) => {
                return Some(Ended::Rejoin(format!("lost the connection to the scheduler: {reason}")))
            }
            Input::SchedulerSilent(t) => {
                return Some(Ended::Rejoin(format!(
                    "nothing from the scheduler for {:.0} s (the scheduler timeout)",
                    t.as_secs_f64()
                )))
            }
            Input::Finished(batch) => Event::Finished(batch),
            Input::Fetched { key, id, added, missing } => {
                self.fetched_bytes += added.iter().map(|(_, n)| n).sum::<u64>();
                Event::Fetched { key, id, added, missing }
            }
        };
        self.step(ev);
        None
    }

    /// Feeds one event to the state and carries out its commands.
    fn step(&mut self, ev: Event<Value>) {
        let commands = self.state.handle(ev, &mut Held(&self.store));
        self.execute(commands);
    }

    /// Starts ready tasks while threads are free and memory is below the pause threshold.
    fn start_ready(&mut self) {
        let commands = self.state.start_ready(&mut Held(&self.store));
        self.execute(commands);
    }

    /// Carries out the state's commands, in order.
    fn execute(&mut self, commands: Vec<Command<Inputs>>) {
        for c in commands {
            match c {
                Command::Send(msg) => self.out.push(msg),
                Command::Fetch { key, id, missing } => {
                    let peers = self.peers.clone();
                    let store = self.store.clone();
                    let tx = self.tx.clone();
                    self.fetches.retain(|f| !f.handle.is_finished());
                    let cancel = CancellationToken::new();
                    let (task, token) = (key.clone(), cancel.clone());
                    let handle = tokio::spawn(async move {
                        let (added, missing) = fetch_all(&peers, &store, missing, &token).await;
                        let _ = tx.send(Input::Fetched { key, id, added, missing });
                    });
                    self.fetches.push(Fetch { task, cancel, handle });
                }
                Command::Prefetch { key, spec } => {
                    // Decoding the op is cheap; the hint itself returns at once (it may ask the
                    // kernel to read ahead). A spec that does not decode is left for the run to
                    // report.
                    if let WireSpec::Task(ops) = &spec {
                        if let Ok(op) = wire::decode_task(&self.registry, &key, &ops[..1.min(ops.len())]) {
                            op.prefetch();
                        }
                    }
                }
                Command::CancelFetch { key } => {
                    // The fetch stops waiting and reports what it stored so far (the scheduler
                    // keeps or releases those replicas), so nothing is held that it does not know.
                    for f in self.fetches.iter().filter(|f| f.task == key) {
                        f.cancel.cancel();
                    }
                }
                Command::Run(batch) => {
                    let registry = self.registry.clone();
                    let tx = self.tx.clone();
                    let store = self.store.clone();
                    self.pool.spawn(move || {
                        let results = batch
                            .into_iter()
                            .map(|Job { key, spec, inputs }| {
                                let t0 = Instant::now();
                                // Spilled inputs are read here, on the compute thread, not on
                                // the IO thread that took them out of the store.
                                let result = read_inputs(&store, inputs)
                                    .and_then(|inputs| run_spec(&registry, &key, &spec, &inputs));
                                (key, result, t0.elapsed().as_secs_f64())
                            })
                            .collect();
                        let _ = tx.send(Input::Finished(results));
                    });
                }
            }
        }
    }
}

/// A fetch in flight: the task it fetches for, how to stop it, and its tokio task.
struct Fetch {
    task: Key,
    cancel: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

/// The shared [`DataStore`] as the state machine's [`Holdings`]: each call takes the lock
/// for just that call, so peers served from the store wait no longer than before.
struct Held<'a>(&'a Store);

/// A task's inputs as the store had them: values in memory, and spilled ones to read back
/// (with [`read_inputs`], on the compute thread).
type Inputs = Vec<Lookup>;

/// Reads a task's spilled inputs back (without the store's lock while reading) and puts them
/// back in memory when they fit. A spill file that cannot be read fails the task, naming the
/// key and the file.
fn read_inputs(store: &Store, inputs: Inputs) -> Result<Vec<Value>, (String, String)> {
    inputs
        .into_iter()
        .map(|input| match input {
            Lookup::Memory(v) => Ok(v),
            Lookup::Disk(read) => read_spilled(store, read).map_err(|e| ("spill".to_string(), e.to_string())),
        })
        .collect()
}

/// How many times a spilled value is looked up again after its file vanished under a read.
const SPILL_READ_ATTEMPTS: usize = 8;

/// Reads one spilled value and brings it back into memory. Two tasks (or a task and a peer)
/// may read the same file at once: the first to finish restores the value and removes the
/// file, so a read that fails looks the value up again ([`DataStore::moved`]) before failing.
fn read_spilled(store: &Store, mut read: SpillRead) -> Result<Value, StoreError> {
    let mut attempt = 1;
    loop {
        let error = match read.read() {
            Ok(value) => {
                lock(store).restore(&read, value.clone());
                return Ok(value);
            }
            Err(e) => e,
        };
        match lock(store).moved(&read) {
            Some(Lookup::Memory(value)) => return Ok(value),
            Some(Lookup::Disk(next)) if attempt < SPILL_READ_ATTEMPTS => read = next,
            _ => return Err(error),
        }
        attempt += 1;
    }
}

impl Holdings for Held<'_> {
    type Value = Value;
    type Inputs = Inputs;

    fn has(&self, key: &Key) -> bool {
        lock(self.0).contains(key)
    }

    fn is_paused(&self) -> bool {
        lock(self.0).is_paused()
    }

    fn take_inputs(&mut self, deps: &[Key]) -> Result<Inputs, Key> {
        let mut s = lock(self.0);
        let mut inputs = Vec::with_capacity(deps.len());
        for d in deps {
            // No disk access here (this is the IO thread): spilled inputs are read by the task.
            match s.lookup(d) {
                Some(input) => inputs.push(input),
                None => return Err(d.clone()),
            }
        }
        for d in deps {
            s.pin(d);
        }
        Ok(inputs)
    }

    fn unpin(&mut self, deps: &[Key]) {
        let mut s = lock(self.0);
        for d in deps {
            s.unpin(d);
        }
    }

    fn insert(&mut self, key: Key, value: Value) -> Result<u64, String> {
        let mut s = lock(self.0);
        s.insert(key.clone(), value).map(|()| s.nbytes(&key).unwrap_or(0)).map_err(|e| e.to_string())
    }

    fn remove(&mut self, key: &Key) {
        lock(self.0).remove(key);
    }
}

/// Runs one spec on its inputs through the core's wire path (the op rebuilt from the registry,
/// panics caught). Errors are (op, message).
fn run_spec(registry: &Registry, key: &Key, spec: &WireSpec, inputs: &[Value]) -> Outcome {
    match spec {
        WireSpec::Task(ops) => {
            let op = wire::decode_task(registry, key, ops).map_err(|e| match e {
                rask_core::Error::OpArgs { op, message, .. } => (op, message),
                other => (ops.first().map_or_else(|| "task".to_string(), |o| o.name.to_string()), other.to_string()),
            })?;
            wire::run_task(&op, inputs).map_err(|f| (f.op, f.message))
        }
        WireSpec::Alias => inputs.first().cloned().ok_or_else(|| ("alias".into(), "an alias with no input".into())),
        WireSpec::Data(v) => wire::decode_value(registry, key, v).map_err(|e| ("data".into(), e.to_string())),
        WireSpec::Remote => Err(("remote".into(), "a remote key cannot be computed".into())),
    }
}

/// Fetches missing inputs from their holders into the store: the inputs stored, with their
/// sizes, and an input no holder had, if any (the fetch stops there, and what it stored is
/// still reported, so the scheduler knows every result the worker holds).
async fn fetch_all(
    peers: &PeerPool,
    store: &Store,
    missing: Vec<(Key, Vec<String>)>,
    cancel: &CancellationToken,
) -> (Vec<(Key, u64)>, Option<Key>) {
    // Group by first holder: one request per peer in the common case.
    let mut by_peer: Vec<(String, Wanted)> = Vec::new();
    for (k, holders) in missing {
        let Some(first) = holders.first().cloned() else { return (Vec::new(), Some(k)) };
        match by_peer.iter_mut().find(|(a, _)| *a == first) {
            Some((_, v)) => v.push((k, holders)),
            None => by_peer.push((first, vec![(k, holders)])),
        }
    }
    let mut added = Vec::new();
    for (_, group) in by_peer {
        let mut todo: Vec<(Key, Vec<String>)> = group;
        let mut attempt = 0;
        while !todo.is_empty() {
            // Ask the attempt-th holder of each remaining key.
            let mut next = Vec::new();
            let mut asks: Vec<(String, Vec<Key>)> = Vec::new();
            for (k, holders) in todo {
                match holders.get(attempt) {
                    Some(a) => {
                        match asks.iter_mut().find(|(x, _)| x == a) {
                            Some((_, ks)) => ks.push(k.clone()),
                            None => asks.push((a.clone(), vec![k.clone()])),
                        }
                        next.push((k, holders));
                    }
                    None => return (added, Some(k)),
                }
            }
            for (addr, keys) in asks {
                let reply = tokio::select! {
                    r = peers.get(&addr, &keys) => r,
                    // No longer needed: what was stored so far is reported as added.
                    _ = cancel.cancelled() => return (added, None),
                };
                match reply {
                    Ok(replies) => {
                        for r in replies {
                            if let PeerReply::Data { key, value } = r {
                                let nbytes = value.bytes.len() as u64;
                                let ok = lock(store).insert_encoded(key.clone(), &value.tag, value.bytes.into_vec());
                                match ok {
                                    Ok(()) => {
                                        next.retain(|(k, _)| *k != key);
                                        added.push((key, nbytes));
                                    }
                                    Err(e) => tracing::warn!(%key, error = %e, "cannot store fetched data"),
                                }
                            }
                        }
                    }
                    Err(e) => tracing::warn!(peer = %addr, error = %e, "fetch failed"),
                }
            }
            todo = next;
            attempt += 1;
        }
    }
    (added, None)
}

/// Pooled connections to other workers' data ports.
#[derive(Debug)]
pub(crate) struct PeerPool {
    security: Security,
    idle: Mutex<FxHashMap<String, Vec<Conn>>>,
}

impl PeerPool {
    pub(crate) fn new(security: Security) -> Self {
        PeerPool { security, idle: Mutex::new(FxHashMap::default()) }
    }

    async fn take(&self, addr: &str) -> Result<Conn, ProtocolError> {
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).get_mut(addr).and_then(Vec::pop);
        match pooled {
            Some(c) => Ok(c),
            None => connect(addr, Role::Peer, &self.security).await,
        }
    }

    fn give_back(&self, addr: &str, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let v = idle.entry(addr.to_string()).or_default();
        if v.len() < 4 {
            v.push(conn);
        }
    }

    /// Asks `addr` for `keys`: one reply per key (data or missing).
    pub(crate) async fn get(&self, addr: &str, keys: &[Key]) -> Result<Vec<PeerReply>, ProtocolError> {
        let mut conn = self.take(addr).await?;
        conn.send(&[PeerRequest::Get { keys: keys.to_vec() }]).await?;
        let mut replies = Vec::with_capacity(keys.len());
        while replies.len() < keys.len() {
            replies.extend(conn.recv::<PeerReply>().await?);
        }
        self.give_back(addr, conn);
        Ok(replies)
    }

    /// Stores a value on `addr`; returns its size there.
    pub(crate) async fn put(&self, addr: &str, key: Key, value: WireValue) -> Result<u64, ProtocolError> {
        let mut conn = self.take(addr).await?;
        conn.send(&[PeerRequest::Put { key, value }]).await?;
        let reply = conn.recv::<PeerReply>().await?;
        self.give_back(addr, conn);
        match reply.into_iter().next() {
            Some(PeerReply::Stored { nbytes, .. }) => Ok(nbytes),
            Some(PeerReply::Failed { message, .. }) => Err(ProtocolError::Malformed(message)),
            other => Err(ProtocolError::Malformed(format!("unexpected reply to a put: {other:?}"))),
        }
    }
}

/// Serves this worker's data to peers until aborted.
async fn serve_data(listener: TcpListener, security: Security, store: Store) {
    loop {
        let Ok((tcp, addr)) = listener.accept().await else { continue };
        let security = security.clone();
        let store = store.clone();
        tokio::spawn(async move {
            let mut conn = match accept(tcp, &[Role::Peer], &security, |_| 0).await {
                Ok((c, _)) => c,
                Err(e) => {
                    tracing::debug!(peer = %addr, error = %e, "data connection refused");
                    return;
                }
            };
            loop {
                let batch = match conn.recv::<PeerRequest>().await {
                    Ok(b) => b,
                    Err(ProtocolError::Closed) => return,
                    Err(e) => {
                        tracing::warn!(peer = %addr, error = %e, "dropping a data connection");
                        return;
                    }
                };
                for req in batch {
                    let result = match req {
                        PeerRequest::Get { keys } => send_values(&mut conn, &store, keys).await,
                        PeerRequest::Put { key, value } => {
                            let stored = {
                                let mut s = lock(&store);
                                s.insert_encoded(key.clone(), &value.tag, value.bytes.into_vec())
                                    .map(|()| s.nbytes(&key).unwrap_or(0))
                            };
                            let reply = match stored {
                                Ok(nbytes) => PeerReply::Stored { key, nbytes },
                                Err(e) => PeerReply::Failed { key, message: e.to_string() },
                            };
                            conn.send(&[reply]).await
                        }
                    };
                    if let Err(e) = result {
                        tracing::debug!(peer = %addr, error = %e, "data connection ended");
                        return;
                    }
                }
            }
        });
    }
}

/// Sends each value in its own frame, so no frame holds more than one chunk. Encoding a value
/// and reading a spilled one run on tokio's blocking pool, without the store's lock, so a slow
/// disk or a large value delays neither the IO threads nor the tasks that need the store.
async fn send_values(conn: &mut Conn, store: &Store, keys: Vec<Key>) -> Result<(), ProtocolError> {
    for key in keys {
        let mut attempt = 1;
        let encoded = loop {
            let Some(e) = lock(store).lookup_encoded(&key) else {
                break Ok(None);
            };
            let path = e.spill_path().map(Path::to_path_buf);
            match tokio::task::spawn_blocking(move || e.encode()).await {
                Ok(Ok(found)) => break Ok(Some(found)),
                // A local task brought the value back into memory (removing the file) or it
                // was spilled again while the file was read: look it up afresh.
                Ok(Err(error)) => {
                    let moved = path.is_some_and(|p| lock(store).spill_path(&key) != Some(p.as_path()));
                    if !moved || attempt >= SPILL_READ_ATTEMPTS {
                        break Err(error.to_string());
                    }
                    attempt += 1;
                }
                Err(join) => break Err(format!("reading the value failed: {join}")),
            }
        };
        let reply = match encoded {
            Ok(Some((tag, bytes))) => {
                PeerReply::Data { key, value: WireValue { tag: tag.into(), bytes: bytes.into() } }
            }
            Ok(None) => PeerReply::Missing { key },
            Err(message) => PeerReply::Failed { key, message },
        };
        conn.send(&[reply]).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_tasks_reading_the_same_spilled_input_both_get_it() {
        // What a multi-host run once hit: the first task to read a shared spilled input
        // restores it (removing the file) while the second still holds the file's path.
        let root = tempfile::tempdir().unwrap();
        let registry = Arc::new(Registry::core());
        let store: Store =
            Arc::new(Mutex::new(DataStore::new(registry, MemoryLimits::new(50_000), root.path().into()).unwrap()));
        let key = |i: u64| Key::block("x", i);
        let block = |i: u64| (0..1024).map(|j| (i * 1024 + j) as f64).collect::<Vec<f64>>();
        for i in 0..10 {
            lock(&store).insert(key(i), Value::new(block(i))).unwrap();
        }
        let mut held = Held(&store);
        let a = held.take_inputs(&[key(0)]).unwrap();
        let b = held.take_inputs(&[key(0), key(9)]).unwrap();
        assert!(matches!(a[0], Lookup::Disk(_)) && matches!(b[0], Lookup::Disk(_)));
        let a = read_inputs(&store, a).unwrap();
        assert!(!lock(&store).is_spilled(&key(0)), "the first read brought it back");
        let b = read_inputs(&store, b).expect("the second read finds the value in memory");
        for v in [&a[0], &b[0]] {
            assert_eq!(v.get::<Vec<f64>>().unwrap(), &block(0));
        }
        assert_eq!(b[1].get::<Vec<f64>>().unwrap(), &block(9));
    }
}
