//! The scheduler process: accepts workers and clients, drives the [`ClusterState`] machine,
//! and serves the status page.
//!
//! One task owns the state; connection tasks only decode frames into events and encode the
//! state's outgoing messages, so the state needs no lock. Outgoing messages are grouped per
//! destination and sent as one batch per wake-up.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

use super::conn::{accept, Security};
use super::protocol::{FromClient, ProtocolError, Role, ToClient, ToScheduler, ToWorker, PARTS_IN_FLIGHT};
use super::state::{ClusterState, Out, StateConfig};
use super::status::{self, StatusLimits, StatusSnapshot};

/// How to run a scheduler.
#[derive(Clone, Debug)]
pub struct SchedulerOptions {
    /// Where to listen for workers and clients (default `127.0.0.1:8786`; port 0 picks one).
    pub listen: String,
    /// Where to serve the status page and JSON (`None`: not served). Bound to anything but a
    /// loopback address, the page and `/status.json` require the security token, given as
    /// `?token=TOKEN` or an `Authorization: Bearer TOKEN` header (see [`crate::status`]).
    pub status: Option<String>,
    /// The status server's own connection cap and timeouts, apart from the cluster port's.
    pub status_limits: StatusLimits,
    /// Registry, token, TLS.
    pub security: Security,
    /// A worker silent for this long is removed (and told so: it joins again as a fresh
    /// worker). Silence while the scheduler itself did not run (stopped with SIGSTOP, starved
    /// of CPU) is not held against the workers.
    pub heartbeat_timeout: Duration,
    /// With tasks waiting and no worker connected for this long, the waiting tasks fail with a
    /// "no workers" error (`None`, the default: they wait for a worker to join). Either way the
    /// scheduler warns its log and the clients concerned after
    /// [`NO_WORKERS_WARNING`](crate::NO_WORKERS_WARNING).
    pub no_workers_timeout: Option<Duration>,
    /// State-machine tunables (poison limit, locality and queuing).
    pub state: StateConfig,
}

/// How long tasks wait with no worker connected before the scheduler warns (once per such
/// episode) in its log and to the clients whose work waits.
pub const NO_WORKERS_WARNING: Duration = Duration::from_secs(5);

/// The status snapshot is refreshed after a wake-up when this long has passed since the last
/// (the 100 ms tick makes sure there is a wake-up).
const SNAPSHOT_EVERY: Duration = Duration::from_millis(100);

/// How often the scheduler sends [`ToWorker::Keepalive`] / [`ToClient::Keepalive`].
pub(crate) const KEEPALIVE: Duration = Duration::from_secs(1);

impl SchedulerOptions {
    /// Defaults: 127.0.0.1:8786, status on 127.0.0.1:8787, 10 s heartbeat timeout.
    pub fn new(security: Security) -> Self {
        SchedulerOptions {
            listen: "127.0.0.1:8786".into(),
            status: Some("127.0.0.1:8787".into()),
            status_limits: StatusLimits::default(),
            security,
            heartbeat_timeout: Duration::from_secs(10),
            no_workers_timeout: None,
            state: StateConfig::default(),
        }
    }
}

/// Runs a scheduler in this process until it stops: [`SchedulerHandle::start`], then
/// [`SchedulerHandle::wait`]. Use the handle instead to learn the bound address (port 0) or to
/// stop it from code.
pub fn run_scheduler(opts: SchedulerOptions) -> std::io::Result<()> {
    SchedulerHandle::start(opts)?.wait();
    Ok(())
}

impl SchedulerOptions {
    /// Refuses options the scheduler cannot run with, naming the field: a zero heartbeat
    /// timeout, a poison limit of 0, a bandwidth or backlog that is not a positive number.
    pub fn check(&self) -> Result<(), String> {
        if self.heartbeat_timeout.is_zero() {
            return Err("heartbeat_timeout must be a positive duration".into());
        }
        if self.no_workers_timeout.is_some_and(|t| t.is_zero()) {
            return Err("no_workers_timeout must be a positive duration (or None to wait for workers)".into());
        }
        let l = &self.status_limits;
        if l.max_connections == 0 || l.idle_timeout.is_zero() || l.header_read_timeout.is_zero() {
            return Err(format!("status_limits need at least one connection and positive timeouts, not {l:?}"));
        }
        let s = &self.state;
        if s.poison_limit == 0 {
            return Err("state.poison_limit must be at least 1 (the times workers may die running one task)".into());
        }
        if !(s.bandwidth.is_finite() && s.bandwidth > 0.0) {
            return Err(format!("state.bandwidth must be a positive number of bytes per second, not {}", s.bandwidth));
        }
        if !(s.backlog_seconds.is_finite() && s.backlog_seconds >= 0.0) {
            return Err(format!("state.backlog_seconds must be a non-negative number, not {}", s.backlog_seconds));
        }
        Ok(())
    }
}

enum Event {
    WorkerUp(u64, mpsc::UnboundedSender<Vec<ToWorker>>),
    Worker(u64, Vec<ToScheduler>),
    WorkerDown(u64, String),
    ClientUp(u64, mpsc::UnboundedSender<Vec<ToClient>>),
    /// A client's batch, with the permit its connection gives back once the batch is applied.
    Client(u64, Vec<FromClient>, OwnedSemaphorePermit),
    ClientDown(u64),
    Stop,
}

/// A running scheduler (in this process, on its own thread). Dropping it stops it.
#[derive(Debug)]
pub struct SchedulerHandle {
    address: String,
    status_address: Option<String>,
    events: mpsc::UnboundedSender<Event>,
    thread: Option<std::thread::JoinHandle<()>>,
    snapshot: watch::Receiver<StatusSnapshot>,
    pids: Arc<Mutex<Vec<(u64, u32)>>>,
    /// Connection ids, shared by the listener and in-process clients.
    next_id: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Event")
    }
}

impl SchedulerHandle {
    /// Binds the listeners and starts the scheduler on a new thread. Options it cannot run
    /// with are refused first (see [`SchedulerOptions::check`]).
    pub fn start(opts: SchedulerOptions) -> std::io::Result<SchedulerHandle> {
        opts.check().map_err(|m| std::io::Error::new(std::io::ErrorKind::InvalidInput, m))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("rask-scheduler")
            .build()?;
        let (listener, status_listener) = rt.block_on(async {
            let l = TcpListener::bind(&opts.listen)
                .await
                .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {}: {e}", opts.listen)))?;
            let s =
                match &opts.status {
                    Some(a) => Some(TcpListener::bind(a).await.map_err(|e| {
                        std::io::Error::new(e.kind(), format!("cannot serve the status page on {a}: {e}"))
                    })?),
                    None => None,
                };
            Ok::<_, std::io::Error>((l, s))
        })?;
        let address = listener.local_addr()?.to_string();
        let status_address = match &status_listener {
            Some(s) => Some(s.local_addr()?.to_string()),
            None => None,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let (snap_tx, snap_rx) = watch::channel(StatusSnapshot::default());
        let pids = Arc::new(Mutex::new(Vec::new()));
        let pids2 = pids.clone();
        let tx2 = tx.clone();
        let addr2 = address.clone();
        let next_id = Arc::new(std::sync::atomic::AtomicU64::new(1));
        let next_id2 = next_id.clone();
        let thread = std::thread::Builder::new().name("rask-scheduler".into()).spawn(move || {
            rt.block_on(async move {
                if let Some(sl) = status_listener {
                    let snap = snap_tx.subscribe();
                    let f: Arc<dyn Fn() -> StatusSnapshot + Send + Sync> = Arc::new(move || snap.borrow().clone());
                    // Runs until the runtime shuts down with the scheduler.
                    let token = Some(opts.security.token.clone());
                    tokio::spawn(status::serve(sl, f, token, opts.status_limits, std::future::pending::<()>()));
                }
                tokio::spawn(accept_loop(listener, opts.security.clone(), tx2, next_id2));
                run_state(rx, opts, addr2, snap_tx, pids2).await;
            });
            rt.shutdown_timeout(Duration::from_millis(200));
        })?;
        tracing::info!(%address, status = ?status_address, "scheduler listening");
        Ok(SchedulerHandle {
            address,
            status_address,
            events: tx,
            thread: Some(thread),
            snapshot: snap_rx,
            pids,
            next_id,
        })
    }

    /// The address workers and clients connect to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The status page's address, if served.
    pub fn status_address(&self) -> Option<&str> {
        self.status_address.as_deref()
    }

    /// The latest status (refreshed ten times a second).
    pub fn status(&self) -> StatusSnapshot {
        self.snapshot.borrow().clone()
    }

    /// Connected workers' ids and process ids.
    pub fn worker_pids(&self) -> Vec<(u64, u32)> {
        self.pids.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A client connection inside this process ([`Client::in_process`](crate::Client::in_process)).
    pub(crate) fn link_client(&self) -> Option<(ClientLink, mpsc::UnboundedReceiver<Vec<ToClient>>)> {
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel::<Vec<ToClient>>();
        self.events.send(Event::ClientUp(id, tx)).ok()?;
        let link = ClientLink { id, events: self.events.clone(), applied: Arc::new(Semaphore::new(PARTS_IN_FLIGHT)) };
        Some((link, rx))
    }

    /// Tells every worker to close and stops the scheduler; returns when it has stopped.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    /// Blocks until the scheduler stops (for the `rask scheduler` command).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn stop_inner(&mut self) {
        let _ = self.events.send(Event::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SchedulerHandle {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// A client connection inside the scheduler's process: its batches reach the state as they
/// are, never encoded, and the scheduler's replies come back on a channel. The client's keys
/// (their names) are then shared between the client's graph and the scheduler's task table
/// instead of decoded into copies, as Dask's in-process transport shares objects. The same
/// [`PARTS_IN_FLIGHT`] bound applies as on a socket; dropping the link is the client leaving.
#[derive(Debug)]
pub(crate) struct ClientLink {
    id: u64,
    events: mpsc::UnboundedSender<Event>,
    applied: Arc<Semaphore>,
}

impl ClientLink {
    /// Hands a batch to the scheduler once fewer than [`PARTS_IN_FLIGHT`] wait there;
    /// `false` when the scheduler has stopped.
    pub(crate) async fn send(&self, batch: Vec<FromClient>) -> bool {
        // The semaphore is never closed.
        let Ok(permit) = self.applied.clone().acquire_owned().await else { return false };
        self.events.send(Event::Client(self.id, batch, permit)).is_ok()
    }
}

impl Drop for ClientLink {
    fn drop(&mut self) {
        let _ = self.events.send(Event::ClientDown(self.id));
    }
}

async fn accept_loop(
    listener: TcpListener,
    security: Security,
    events: mpsc::UnboundedSender<Event>,
    next_id: Arc<std::sync::atomic::AtomicU64>,
) {
    loop {
        let (tcp, addr) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let security = security.clone();
        let events = events.clone();
        let next_id = next_id.clone();
        tokio::spawn(async move {
            let assign = |_| next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (conn, role) = match accept(tcp, &[Role::Worker, Role::Client], &security, assign).await {
                Ok(x) => x,
                Err(e) => {
                    tracing::info!(peer = %addr, error = %e, "connection refused");
                    return;
                }
            };
            let id = conn.id;
            let (mut writer, mut reader) = conn.split();
            match role {
                Role::Worker => {
                    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<ToWorker>>();
                    // Registration must come first.
                    let first = match reader.recv::<ToScheduler>().await {
                        Ok(b) => b,
                        Err(e) => {
                            tracing::info!(peer = %addr, error = %e, "worker left before registering");
                            return;
                        }
                    };
                    if !matches!(first.first(), Some(ToScheduler::Register { .. })) {
                        tracing::warn!(peer = %addr, "worker did not register first; dropping it");
                        return;
                    }
                    let closing = tx.clone();
                    if events.send(Event::WorkerUp(id, tx)).is_err() {
                        return;
                    }
                    let _ = events.send(Event::Worker(id, first));
                    tokio::spawn(async move {
                        while let Some(mut batch) = rx.recv().await {
                            while let Ok(more) = rx.try_recv() {
                                batch.extend(more);
                            }
                            // After a close or a removal the scheduler has nothing more to say:
                            // ending the writer closes the connection's sending half.
                            let close = batch.iter().any(|m| matches!(m, ToWorker::Close | ToWorker::Removed { .. }));
                            if writer.send(&batch).await.is_err() || close {
                                return;
                            }
                        }
                    });
                    let reason = loop {
                        match reader.recv::<ToScheduler>().await {
                            Ok(batch) => {
                                if events.send(Event::Worker(id, batch)).is_err() {
                                    return;
                                }
                            }
                            Err(ProtocolError::Closed) => break "connection closed".to_string(),
                            Err(e) => {
                                tell_before_closing(&e, |reason| closing.send(vec![ToWorker::Closing { reason }]))
                                    .await;
                                break e.to_string();
                            }
                        }
                    };
                    drop(closing);
                    let _ = events.send(Event::WorkerDown(id, reason));
                }
                Role::Client => {
                    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<ToClient>>();
                    let closing = tx.clone();
                    if events.send(Event::ClientUp(id, tx)).is_err() {
                        return;
                    }
                    tokio::spawn(async move {
                        while let Some(mut batch) = rx.recv().await {
                            while let Ok(more) = rx.try_recv() {
                                batch.extend(more);
                            }
                            if writer.send(&batch).await.is_err() {
                                return;
                            }
                        }
                    });
                    // Batches decoded but not yet applied, at most (PARTS_IN_FLIGHT): a large
                    // submission is read no faster than the state takes it in.
                    let applied = Arc::new(Semaphore::new(PARTS_IN_FLIGHT));
                    loop {
                        match reader.recv::<FromClient>().await {
                            Ok(batch) => {
                                // The semaphore is never closed.
                                let Ok(permit) = applied.clone().acquire_owned().await else { return };
                                if events.send(Event::Client(id, batch, permit)).is_err() {
                                    return;
                                }
                            }
                            Err(e) => {
                                if !matches!(e, ProtocolError::Closed) {
                                    tracing::warn!(client = id, error = %e, "dropping a client connection");
                                    tell_before_closing(&e, |reason| closing.send(vec![ToClient::Closing { reason }]))
                                        .await;
                                }
                                break;
                            }
                        }
                    }
                    drop(closing);
                    let _ = events.send(Event::ClientDown(id));
                }
                Role::Peer => {}
            }
        });
    }
}

/// How long a connection the scheduler drops for what the peer sent stays open after the
/// reason is sent, so that the peer reads it before the close (closing with the peer's
/// unread bytes pending resets the connection, which can discard the reason in flight).
const CLOSING_GRACE: Duration = Duration::from_millis(500);

/// Before dropping a connection for a frame over the cap or a malformed frame, sends the
/// peer the reason through `send` (its writer task) and waits [`CLOSING_GRACE`]. Other
/// errors (the socket failed) are not the peer's to hear about.
async fn tell_before_closing<E>(error: &ProtocolError, send: impl FnOnce(String) -> Result<(), E>) {
    let reason = match error {
        ProtocolError::Io(e) => match super::protocol::FrameTooBig::find(e) {
            Some(too_big) => too_big.to_string(),
            None => return,
        },
        ProtocolError::Malformed(m) => format!("malformed frame: {m}"),
        _ => return,
    };
    if send(reason).is_ok() {
        tokio::time::sleep(CLOSING_GRACE).await;
    }
}

async fn run_state(
    mut rx: mpsc::UnboundedReceiver<Event>,
    opts: SchedulerOptions,
    address: String,
    snapshot: watch::Sender<StatusSnapshot>,
    pids: Arc<Mutex<Vec<(u64, u32)>>>,
) {
    let mut state = ClusterState::new(opts.state);
    let mut workers: FxHashMap<u64, mpsc::UnboundedSender<Vec<ToWorker>>> = FxHashMap::default();
    let mut clients: FxHashMap<u64, mpsc::UnboundedSender<Vec<ToClient>>> = FxHashMap::default();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_snapshot = Instant::now();
    let mut watch = Watchdog::new(Instant::now());
    loop {
        let mut stop = false;
        tokio::select! {
            ev = rx.recv() => {
                let mut next = ev;
                loop {
                    match next {
                        None | Some(Event::Stop) => { stop = true; break; }
                        Some(ev) => handle(&mut state, &mut workers, &mut clients, ev),
                    }
                    match rx.try_recv() {
                        Ok(ev) => next = Some(ev),
                        Err(_) => break,
                    }
                }
            }
            _ = tick.tick() => {
                let now = Instant::now();
                watch.tick(&mut state, &mut workers, &clients, &opts, now);
                state.balance();
            }
        }
        flush(&mut state, &workers, &clients);
        if stop {
            for tx in workers.values() {
                let _ = tx.send(vec![ToWorker::Close]);
            }
            // Give the writers a moment to deliver the close.
            tokio::time::sleep(Duration::from_millis(50)).await;
            return;
        }
        let now = Instant::now();
        // A snapshot costs O(workers) (the task counts are kept as tasks move): ten a second.
        if now.duration_since(last_snapshot) >= SNAPSHOT_EVERY {
            last_snapshot = now;
            snapshot.send_replace(state.snapshot(&address, now));
            *pids.lock().unwrap_or_else(|e| e.into_inner()) = state.worker_pids();
        }
    }
}

/// The scheduler's periodic duties beyond the state machine's: removing silent workers (but not
/// for its own stalls), keepalives, and the no-workers warning and timeout.
struct Watchdog {
    last_tick: Instant,
    last_keepalive: Instant,
    /// Since when tasks have been waiting with no worker connected.
    no_workers_since: Option<Instant>,
    warned: bool,
}

impl Watchdog {
    fn new(now: Instant) -> Self {
        Watchdog { last_tick: now, last_keepalive: now, no_workers_since: None, warned: false }
    }

    fn tick(
        &mut self,
        state: &mut ClusterState,
        workers: &mut FxHashMap<u64, mpsc::UnboundedSender<Vec<ToWorker>>>,
        clients: &FxHashMap<u64, mpsc::UnboundedSender<Vec<ToClient>>>,
        opts: &SchedulerOptions,
        now: Instant,
    ) {
        // The tick is due every 100 ms. A much longer gap means this loop did not run (the
        // process was stopped, or starved): heartbeats that arrived meanwhile sit unread in the
        // sockets, so the workers' silence is the scheduler's own and is forgiven.
        let gap = now.duration_since(self.last_tick);
        self.last_tick = now;
        if gap > opts.heartbeat_timeout / 2 {
            tracing::warn!(
                seconds = gap.as_secs_f64(),
                "the scheduler did not run for {:.1} s (stopped or starved of CPU); worker silence in that time is not \
                 held against them",
                gap.as_secs_f64()
            );
            state.excuse_silence(now);
        }
        for (w, silent) in state.silent_workers(now, opts.heartbeat_timeout) {
            let reason = format!(
                "no heartbeat for {:.1} s (the heartbeat timeout is {:.1} s)",
                silent.as_secs_f64(),
                opts.heartbeat_timeout.as_secs_f64()
            );
            // Told so, the worker drops what it holds and joins again as a fresh worker; the
            // writer closes the connection after this message.
            if let Some(tx) = workers.remove(&w) {
                let _ = tx.send(vec![ToWorker::Removed { reason: reason.clone() }]);
            }
            state.remove_worker(w, &reason);
        }
        if now.duration_since(self.last_keepalive) >= KEEPALIVE {
            self.last_keepalive = now;
            for tx in workers.values() {
                let _ = tx.send(vec![ToWorker::Keepalive]);
            }
            for tx in clients.values() {
                let _ = tx.send(vec![ToClient::Keepalive]);
            }
        }
        self.no_workers(state, opts, now);
    }

    /// Tasks waiting with no worker: a warning after [`NO_WORKERS_WARNING`], and with a
    /// `no_workers_timeout`, failure.
    fn no_workers(&mut self, state: &mut ClusterState, opts: &SchedulerOptions, now: Instant) {
        let waiting = state.waiting_without_workers();
        if waiting == 0 {
            self.no_workers_since = None;
            self.warned = false;
            return;
        }
        let since = *self.no_workers_since.get_or_insert(now);
        let waited = now.duration_since(since);
        if waited >= NO_WORKERS_WARNING && !self.warned {
            self.warned = true;
            let timeout = match opts.no_workers_timeout {
                Some(t) => format!("they fail after {:.0} s without workers", t.as_secs_f64()),
                None => "they wait until a worker joins (no no-workers timeout is set)".into(),
            };
            let message = format!(
                "{waiting} tasks are ready to run and have waited {:.0} s with no worker connected to the scheduler; \
                 start workers (`rask worker --scheduler ADDRESS`); {timeout}",
                waited.as_secs_f64()
            );
            tracing::warn!("{message}");
            state.warn_waiting_clients(&message);
        }
        if let Some(timeout) = opts.no_workers_timeout {
            if waited >= timeout {
                let message = format!(
                    "no workers: the task waited {:.1} s and no worker connected to the scheduler (the no-workers \
                     timeout is {:.1} s)",
                    waited.as_secs_f64(),
                    timeout.as_secs_f64()
                );
                tracing::warn!(tasks = waiting, "{message}");
                state.fail_waiting(&message);
                self.no_workers_since = None;
                self.warned = false;
            }
        }
    }
}

fn handle(
    state: &mut ClusterState,
    workers: &mut FxHashMap<u64, mpsc::UnboundedSender<Vec<ToWorker>>>,
    clients: &mut FxHashMap<u64, mpsc::UnboundedSender<Vec<ToClient>>>,
    ev: Event,
) {
    let now = Instant::now();
    match ev {
        Event::WorkerUp(id, tx) => {
            workers.insert(id, tx);
        }
        Event::Worker(id, batch) => {
            state.touch(id, now);
            for msg in batch {
                match msg {
                    ToScheduler::Register { nthreads, data_address, memory_limit, pid } => {
                        state.add_worker(id, data_address, nthreads, memory_limit, pid, now)
                    }
                    ToScheduler::Done { key, run, nbytes, seconds } => state.task_done(id, &key, run, nbytes, seconds),
                    ToScheduler::Erred { key, run, op, message } => state.task_erred(id, &key, run, op, message),
                    ToScheduler::Missing { key, run, dependency } => state.missing(id, &key, run, &dependency),
                    ToScheduler::Added { keys } => state.added(id, &keys),
                    ToScheduler::StealReply { key, stolen } => state.steal_reply(id, &key, stolen),
                    ToScheduler::Heartbeat(m) => state.heartbeat(id, m, now),
                }
            }
        }
        Event::WorkerDown(id, reason) => {
            workers.remove(&id);
            state.remove_worker(id, &reason);
        }
        Event::ClientUp(id, tx) => {
            clients.insert(id, tx);
            state.add_client(id);
        }
        // The permit goes back when this arm ends, with the batch applied.
        Event::Client(id, batch, _applied) => {
            for msg in batch {
                match msg {
                    FromClient::Stage { id: req, nodes } => {
                        if let Err(reason) = state.stage(id, req, nodes) {
                            state.outbox.push(Out::Client(id, ToClient::Rejected { id: req, reason }));
                        }
                    }
                    FromClient::Submit { id: req, nodes, wants, events } => {
                        if let Err(reason) = state.submit_part(id, req, nodes, wants, events) {
                            state.outbox.push(Out::Client(id, ToClient::Rejected { id: req, reason }));
                        }
                    }
                    FromClient::Release { keys } => state.release(id, &keys),
                    FromClient::Cancel { keys } => state.cancel(id, &keys),
                    FromClient::WhoHas { id: req, keys } => {
                        let holders = state.who_has(&keys);
                        state.outbox.push(Out::Client(id, ToClient::WhoHas { id: req, holders }));
                    }
                    FromClient::Scattered { keys } => state.scattered(id, keys),
                    FromClient::Workers { id: req } => {
                        let addresses = state.worker_addresses();
                        state.outbox.push(Out::Client(id, ToClient::Workers { id: req, addresses }));
                    }
                }
            }
        }
        Event::ClientDown(id) => {
            clients.remove(&id);
            state.remove_client(id);
        }
        Event::Stop => {}
    }
}

fn flush(
    state: &mut ClusterState,
    workers: &FxHashMap<u64, mpsc::UnboundedSender<Vec<ToWorker>>>,
    clients: &FxHashMap<u64, mpsc::UnboundedSender<Vec<ToClient>>>,
) {
    state.flush_events();
    if state.outbox.is_empty() {
        return;
    }
    let mut to_workers: FxHashMap<u64, Vec<ToWorker>> = FxHashMap::default();
    let mut to_clients: FxHashMap<u64, Vec<ToClient>> = FxHashMap::default();
    for out in state.outbox.drain(..) {
        match out {
            Out::Worker(w, m) => to_workers.entry(w).or_default().push(m),
            Out::Client(c, m) => to_clients.entry(c).or_default().push(m),
        }
    }
    for (w, batch) in to_workers {
        if let Some(tx) = workers.get(&w) {
            let _ = tx.send(batch);
        }
    }
    for (c, batch) in to_clients {
        if let Some(tx) = clients.get(&c) {
            let _ = tx.send(batch);
        }
    }
}
