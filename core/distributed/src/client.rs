//! The client: submits graphs to a scheduler, holds futures on results, gathers them from the
//! workers directly.
//!
//! A [`Client`] is also an [`Executor`]: `Scheduler::custom(Arc::new(client))` (or
//! [`Client::scheduler`]) runs any graph, estimator or search on the cluster unchanged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustc_hash::{FxHashMap, FxHashSet};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use super::conn::{connect, Security};
use super::protocol::PeerReply;
use super::protocol::{
    FromClient, ProtocolError, Role, TaskError, TaskEvent, ToClient, WireNode, WireSpec, NODES_PER_FRAME,
    PARTS_IN_FLIGHT,
};
use super::worker::PeerPool;
use rask_core::graph::{Graph, Node};
use rask_core::ops::Op;
use rask_core::scheduler::{register_remote, Callback, Executed, Executor, Plan, PlanNode, Remote, Scheduler};
use rask_core::value::Value;
use rask_core::wire::{decode_value, encode_task, encode_value};
use rask_core::Key;
use rask_core::{Error, Result};

/// Where a future's key stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FutureStatus {
    /// Not finished.
    Pending,
    /// In memory on the cluster.
    Finished,
    /// Failed.
    Error(TaskError),
    /// Cancelled.
    Cancelled,
}

#[derive(Debug)]
struct KeyState {
    status: FutureStatus,
    /// Order of completion, for `as_completed`.
    seq: u64,
    /// Local references (futures) to this key.
    refs: usize,
}

#[derive(Debug, Default)]
struct ClientState {
    keys: FxHashMap<Key, KeyState>,
    submissions: FxHashMap<u64, Vec<Key>>,
    requests: FxHashMap<u64, oneshot::Sender<ToClient>>,
    closed: Option<String>,
    seq: u64,
    /// What the scheduler warned about, oldest first (the last [`MAX_WARNINGS`]).
    warnings: std::collections::VecDeque<String>,
    /// Task ends received for submissions made with events, not yet reported to callbacks
    /// (an entry exists while its submission is being reported).
    task_events: FxHashMap<u64, Vec<TaskEvent>>,
}

/// How many of the scheduler's warnings a client keeps.
const MAX_WARNINGS: usize = 64;

#[derive(Debug)]
struct Shared {
    state: Mutex<ClientState>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ClientState> {
        // Only this module's short critical sections run under the lock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The client's runtime: one thread for the connection's reader and writer tasks.
fn client_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("rask-client")
        .build()
        .map_err(|e| Error::Distributed(format!("cannot start the client runtime: {e}")))
}

/// How a client reaches its scheduler.
enum Transport {
    /// A socket (TCP, or TLS over TCP).
    Socket(crate::conn::Conn),
    /// A scheduler in this process ([`Client::in_process`]).
    InProcess(crate::server::ClientLink, mpsc::UnboundedReceiver<Vec<ToClient>>),
}

/// The sending side of a [`Transport`].
enum Writer {
    Socket(crate::conn::ConnWriter),
    InProcess(crate::server::ClientLink),
}

impl Writer {
    /// Sends a batch; `false` once the scheduler is gone.
    async fn send(&mut self, batch: Vec<FromClient>) -> bool {
        match self {
            Writer::Socket(w) => w.send(&batch).await.is_ok(),
            Writer::InProcess(link) => link.send(batch).await,
        }
    }
}

/// The receiving side of a [`Transport`].
enum Reader {
    Socket(crate::conn::ConnReader),
    InProcess(mpsc::UnboundedReceiver<Vec<ToClient>>),
}

impl Reader {
    async fn recv(&mut self) -> std::result::Result<Vec<ToClient>, ProtocolError> {
        match self {
            Reader::Socket(r) => r.recv::<ToClient>().await,
            Reader::InProcess(rx) => rx.recv().await.ok_or(ProtocolError::Closed),
        }
    }
}

/// Messages for the connection's writer task; a part of a large submission carries a permit
/// that the writer gives back once the part is written ([`PARTS_IN_FLIGHT`]).
type Outgoing = (Vec<FromClient>, Option<OwnedSemaphorePermit>);

struct Inner {
    address: String,
    rt: tokio::runtime::Runtime,
    tx: mpsc::UnboundedSender<Outgoing>,
    /// Permits for submission parts on their way to the socket.
    parts: Arc<Semaphore>,
    shared: Arc<Shared>,
    peers: PeerPool,
    security: Security,
    next_id: AtomicU64,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.lock().closed.get_or_insert_with(|| "the client was dropped".into());
    }
}

/// A connection to a scheduler. Cheap to clone; the connection closes when the last clone
/// and the last [`Future`] are dropped.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Client({})", self.inner.address)
    }
}

/// A result on the cluster, by key: it stays on the workers while a future refers to it.
/// Cloning shares the reference; the last clone dropped releases it.
#[derive(Clone)]
pub struct Future {
    inner: Arc<FutureInner>,
}

struct FutureInner {
    key: Key,
    client: Arc<Inner>,
}

impl Drop for FutureInner {
    fn drop(&mut self) {
        let release = {
            let mut st = self.client.shared.lock();
            match st.keys.get_mut(&self.key) {
                Some(k) => {
                    k.refs -= 1;
                    if k.refs == 0 {
                        st.keys.remove(&self.key);
                    }
                    true
                }
                None => false,
            }
        };
        if release {
            let _ = self.client.tx.send((vec![FromClient::Release { keys: vec![self.key.clone()] }], None));
        }
    }
}

impl std::fmt::Debug for Future {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Future({})", self.inner.key)
    }
}

/// A future is the cluster's result by key: a graph holding one (data persisted on the
/// cluster) runs on its client when no scheduler was chosen, even on a thread the user spawned.
impl Remote for Future {
    fn home(&self) -> Scheduler {
        Client { inner: self.inner.client.clone() }.scheduler()
    }

    fn describe(&self) -> String {
        format!("a future on the cluster at {} (a result held on its workers)", self.inner.client.address)
    }
}

impl Future {
    /// The key.
    pub fn key(&self) -> &Key {
        &self.inner.key
    }

    /// Where it stands now.
    pub fn status(&self) -> FutureStatus {
        let st = self.inner.client.shared.lock();
        st.keys.get(&self.inner.key).map(|k| k.status.clone()).unwrap_or(FutureStatus::Pending)
    }

    /// Waits until it is finished (or failed).
    pub fn wait(&self) -> Result<()> {
        wait_keys(&self.inner.client, std::slice::from_ref(&self.inner.key), None)
    }

    /// Waits and fetches the value.
    pub fn result(&self) -> Result<Value> {
        let client = Client { inner: self.inner.client.clone() };
        Ok(client.gather(std::slice::from_ref(self))?.pop().expect("one future, one value"))
    }

    /// Waits, fetches and takes the value as a `T`.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Result<T> {
        self.result()?.take::<T>().map_err(|source| Error::ValueType { key: self.inner.key.clone(), source })
    }
}

/// Options for connecting.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Registry, token, TLS.
    pub security: Security,
    /// How long to keep trying to connect (default 10 s).
    pub connect_timeout: Duration,
    /// Silence after which the client gives the scheduler up (default 60 s): every future not
    /// yet finished, and every later call, fails with an error saying the scheduler fell
    /// silent. The scheduler sends a keepalive every second, so only a stopped, hung or
    /// unreachable scheduler is silent this long.
    pub scheduler_timeout: Duration,
}

impl ClientOptions {
    /// The defaults: 10 s to connect, 60 s of scheduler silence.
    pub fn new(security: Security) -> Self {
        ClientOptions { security, connect_timeout: Duration::from_secs(10), scheduler_timeout: Duration::from_secs(60) }
    }
}

/// The variable [`Client::connect_from_env`] reads the scheduler's address from.
pub const SCHEDULER_ENV: &str = "RASK_SCHEDULER";

impl Client {
    /// Connects as the `rask` command line does, from the environment:
    ///
    /// - the address: `$RASK_SCHEDULER` (e.g. `10.0.0.5:8786`);
    /// - the token: `$RASK_TOKEN`, else the token file (`$RASK_TOKEN_FILE`, else
    ///   `~/.config/rask/token`, which `rask scheduler` writes); `RASK_NO_AUTH=1` turns
    ///   authentication off explicitly;
    /// - mutual TLS when `$RASK_TLS_CERT`, `$RASK_TLS_KEY` and `$RASK_TLS_CA` name PEM files
    ///   (`$RASK_TLS_NAME`, default `rask`, is the name the certificates are issued for).
    ///
    /// `registry` must be the workers' (the same binary's ops and codecs).
    pub fn connect_from_env(registry: Arc<rask_core::Registry>) -> Result<Client> {
        let address = std::env::var(SCHEDULER_ENV).map_err(|_| {
            Error::Distributed(format!("{SCHEDULER_ENV} is not set: give the scheduler's address, e.g. 127.0.0.1:8786"))
        })?;
        Self::connect(&address, Security::from_env(registry)?)
    }

    /// Connects to the scheduler at `address`.
    pub fn connect(address: &str, security: Security) -> Result<Client> {
        Self::connect_with(address, ClientOptions::new(security))
    }

    /// Connects with options.
    pub fn connect_with(address: &str, opts: ClientOptions) -> Result<Client> {
        register_remote::<Future>();
        if opts.scheduler_timeout.is_zero() {
            return Err(Error::Distributed("ClientOptions::scheduler_timeout must be a positive duration".into()));
        }
        let rt = client_runtime()?;
        let security = opts.security.clone();
        let deadline = Instant::now() + opts.connect_timeout;
        let conn = rt.block_on(async {
            loop {
                match connect(address, Role::Client, &security).await {
                    Ok(c) => return Ok(c),
                    Err(ProtocolError::Io(e)) if Instant::now() < deadline => {
                        tracing::debug!(error = %e, "scheduler not reachable yet");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => return Err(Error::Distributed(e.to_string())),
                }
            }
        })?;
        Ok(Self::start(address, rt, Transport::Socket(conn), opts))
    }

    /// A client of a scheduler running in this process, without a socket: messages reach the
    /// scheduler as they are, never encoded, so the scheduler keeps the graph's own keys
    /// (their names are shared, not copied) and a submission costs no encoding or decoding.
    /// Data still moves between this process and the workers over their sockets. A
    /// [`LocalCluster`](crate::LocalCluster)'s client is one: on the million-task graph this
    /// saves the scheduler's 60 MB copy of the key names.
    ///
    /// `opts.security` must hold the workers' registry (it encodes ops and values); its token
    /// and TLS settings are not used, since nothing crosses a process boundary here.
    pub fn in_process(scheduler: &crate::SchedulerHandle, opts: ClientOptions) -> Result<Client> {
        register_remote::<Future>();
        if opts.scheduler_timeout.is_zero() {
            return Err(Error::Distributed("ClientOptions::scheduler_timeout must be a positive duration".into()));
        }
        let rt = client_runtime()?;
        let (link, from_scheduler) =
            scheduler.link_client().ok_or_else(|| Error::Distributed("the scheduler has stopped".into()))?;
        Ok(Self::start(scheduler.address(), rt, Transport::InProcess(link, from_scheduler), opts))
    }

    /// Starts the connection's reader and writer tasks.
    fn start(address: &str, rt: tokio::runtime::Runtime, transport: Transport, opts: ClientOptions) -> Client {
        let security = opts.security.clone();
        let shared = Arc::new(Shared { state: Mutex::new(ClientState::default()), changed: Condvar::new() });
        let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
        let (mut writer, mut reader) = match transport {
            Transport::Socket(conn) => {
                let (w, r) = conn.split();
                (Writer::Socket(w), Reader::Socket(r))
            }
            Transport::InProcess(link, from_scheduler) => (Writer::InProcess(link), Reader::InProcess(from_scheduler)),
        };
        let sh = shared.clone();
        let silence = opts.scheduler_timeout;
        let at = address.to_string();
        rt.spawn(async move {
            loop {
                let reason = match tokio::time::timeout(silence, reader.recv()).await {
                    Ok(Ok(batch)) => {
                        on_messages(&sh, batch);
                        continue;
                    }
                    Ok(Err(ProtocolError::Closed)) => "the scheduler closed the connection".to_string(),
                    Ok(Err(e)) => format!("lost the connection to the scheduler: {e}"),
                    Err(_) => format!(
                        "the scheduler at {at} sent nothing for {:.1} s (it sends a keepalive every second): it \
                         is stopped, hung or unreachable; the client gave it up (ClientOptions::scheduler_timeout)",
                        silence.as_secs_f64()
                    ),
                };
                tracing::warn!(%reason, "client disconnected");
                let mut st = sh.lock();
                st.closed.get_or_insert(reason);
                st.requests.clear();
                drop(st);
                sh.changed.notify_all();
                return;
            }
        });
        rt.spawn(async move {
            while let Some((mut batch, permit)) = rx.recv().await {
                let mut permits: Vec<OwnedSemaphorePermit> = permit.into_iter().collect();
                // Messages queued meanwhile share the frame, up to about a part's worth of nodes.
                let mut weight: usize = batch.iter().map(FromClient::weight).sum();
                while weight < NODES_PER_FRAME {
                    let Ok((more, permit)) = rx.try_recv() else { break };
                    weight += more.iter().map(FromClient::weight).sum::<usize>();
                    batch.extend(more);
                    permits.extend(permit);
                }
                if !writer.send(batch).await {
                    return;
                }
                // Written: the submitting thread may build the next parts.
                drop(permits);
            }
        });
        let peers = PeerPool::new(security.clone());
        Client {
            inner: Arc::new(Inner {
                address: address.to_string(),
                rt,
                tx,
                parts: Arc::new(Semaphore::new(PARTS_IN_FLIGHT)),
                shared,
                peers,
                security,
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// The scheduler's address.
    pub fn address(&self) -> &str {
        &self.inner.address
    }

    /// A [`Scheduler`] that runs graphs on this cluster: use it with
    /// [`with_scheduler`](rask_core::with_scheduler) to run estimators unchanged.
    pub fn scheduler(&self) -> Scheduler {
        Scheduler::custom(Arc::new(self.clone()))
    }

    fn send(&self, msgs: Vec<FromClient>) -> Result<()> {
        self.send_with(msgs, None)
    }

    fn send_with(&self, msgs: Vec<FromClient>, permit: Option<OwnedSemaphorePermit>) -> Result<()> {
        if let Some(reason) = &self.inner.shared.lock().closed {
            return Err(Error::Distributed(reason.clone()));
        }
        self.inner
            .tx
            .send((msgs, permit))
            .map_err(|_| Error::Distributed("the client's connection task stopped".into()))
    }

    /// Sends one part of a large submission once fewer than [`PARTS_IN_FLIGHT`] parts wait
    /// to be written, so that building parts never runs ahead of the socket. Waiting ends with
    /// an error if the connection closes meanwhile.
    fn send_part(&self, msgs: Vec<FromClient>) -> Result<()> {
        let permit = self.inner.rt.block_on(async {
            loop {
                let acquire = self.inner.parts.clone().acquire_owned();
                match tokio::time::timeout(Duration::from_millis(200), acquire).await {
                    Ok(Ok(permit)) => return Ok(permit),
                    // The semaphore is never closed; treat it as a stopped connection anyway.
                    Ok(Err(_)) => return Err(Error::Distributed("the client's connection task stopped".into())),
                    Err(_) => {
                        if let Some(reason) = &self.inner.shared.lock().closed {
                            return Err(Error::Distributed(reason.clone()));
                        }
                    }
                }
            }
        })?;
        self.send_with(msgs, Some(permit))
    }

    fn request(&self, make: impl FnOnce(u64) -> FromClient) -> Result<ToClient> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.inner.shared.lock().requests.insert(id, tx);
        self.send(vec![make(id)])?;
        self.inner.rt.block_on(async {
            match tokio::time::timeout(Duration::from_secs(60), rx).await {
                Ok(Ok(reply)) => Ok(reply),
                Ok(Err(_)) => Err(Error::Distributed("lost the connection to the scheduler".into())),
                Err(_) => Err(Error::Distributed("the scheduler did not answer within 60 s".into())),
            }
        })
    }

    /// The warnings the scheduler sent this client (e.g. that its tasks wait and no worker is
    /// connected), oldest first; the last 64 are kept. Each is also logged (`RASK_LOG=warn`).
    pub fn warnings(&self) -> Vec<String> {
        self.inner.shared.lock().warnings.iter().cloned().collect()
    }

    /// The data addresses of the workers.
    pub fn workers(&self) -> Result<Vec<String>> {
        match self.request(|id| FromClient::Workers { id })? {
            ToClient::Workers { addresses, .. } => Ok(addresses),
            other => Err(Error::Distributed(format!("unexpected reply {other:?}"))),
        }
    }

    /// Waits until at least `n` workers are connected.
    pub fn wait_for_workers(&self, n: usize, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let have = self.workers()?.len();
            if have >= n {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::Distributed(format!("{have} of {n} workers connected after {timeout:?}")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Submits `keys` of `graph` and returns a future for each (in order; repeats allowed).
    /// The graph is culled and fused first, as on every scheduler.
    pub fn compute(&self, graph: &Graph, keys: &[Key]) -> Result<Vec<Future>> {
        let plan = Plan::build(graph, keys, true)?;
        self.submit_plan(&plan, keys)
    }

    fn submit_plan(&self, plan: &Plan<'_>, keys: &[Key]) -> Result<Vec<Future>> {
        self.submit_plan_with(plan, keys, None)
    }

    /// Submits a plan, in parts of [`NODES_PER_FRAME`] nodes when it is larger ([`FromClient::Stage`]
    /// then `Submit`), each encoded as it is sent: neither this process nor the scheduler ever
    /// holds a whole large graph's wire form or frame. With `events`, as [`submit_nodes_with`](Self::submit_nodes_with).
    fn submit_plan_with(&self, plan: &Plan<'_>, keys: &[Key], events: Option<u64>) -> Result<Vec<Future>> {
        let security = &self.inner.security;
        let mut seen_remote = FxHashSet::default();
        let n = plan.len();
        if n <= NODES_PER_FRAME {
            let all = plan_nodes(plan, security, 0..n as u32, &mut seen_remote)?;
            return self.submit_nodes_with(all, keys, events);
        }
        // Parts in dependency order, so that each part's inputs arrived before it.
        let order = plan.topo_order();
        let mut end = NODES_PER_FRAME;
        let first = plan_nodes(plan, security, order[..end].iter().copied(), &mut seen_remote)?;
        let id = events.unwrap_or_else(|| self.inner.next_id.fetch_add(1, Ordering::Relaxed));
        let futures = self.register(keys);
        self.inner.shared.lock().submissions.insert(id, keys.to_vec());
        let mut part = first;
        loop {
            self.send_part(vec![FromClient::Stage { id, nodes: part }])?;
            let start = end;
            end = n.min(start + NODES_PER_FRAME);
            part = match plan_nodes(plan, security, order[start..end].iter().copied(), &mut seen_remote) {
                Ok(p) => p,
                Err(e) => {
                    // Close the submission with nothing wanted: the scheduler takes back the parts.
                    self.inner.shared.lock().submissions.remove(&id);
                    let close = FromClient::Submit { id, nodes: Vec::new(), wants: Vec::new(), events: false };
                    let _ = self.send(vec![close]);
                    return Err(e);
                }
            };
            if end == n {
                break;
            }
        }
        self.send(vec![FromClient::Submit { id, nodes: part, wants: keys.to_vec(), events: events.is_some() }])?;
        Ok(futures)
    }

    /// Submits, with task events for submission `events` when given (its entry in
    /// `task_events` must exist before the scheduler can answer).
    fn submit_nodes_with(&self, nodes: Vec<WireNode>, keys: &[Key], events: Option<u64>) -> Result<Vec<Future>> {
        let id = events.unwrap_or_else(|| self.inner.next_id.fetch_add(1, Ordering::Relaxed));
        let futures = self.register(keys);
        self.inner.shared.lock().submissions.insert(id, keys.to_vec());
        self.send(vec![FromClient::Submit { id, nodes, wants: keys.to_vec(), events: events.is_some() }])?;
        Ok(futures)
    }

    /// One future per key, each counting as one reference.
    fn register(&self, keys: &[Key]) -> Vec<Future> {
        let mut st = self.inner.shared.lock();
        keys.iter()
            .map(|k| {
                let e = st.keys.entry(k.clone()).or_insert(KeyState { status: FutureStatus::Pending, seq: 0, refs: 0 });
                e.refs += 1;
                // A re-submitted key that failed or was cancelled before is pending again.
                if !matches!(e.status, FutureStatus::Finished) {
                    e.status = FutureStatus::Pending;
                }
                Future { inner: Arc::new(FutureInner { key: k.clone(), client: self.inner.clone() }) }
            })
            .collect()
    }

    /// Runs `op` on the cluster with the results of `inputs` as its inputs.
    pub fn submit<O: Op>(&self, op: O, inputs: &[&Future]) -> Result<Future> {
        let mut g = Graph::new();
        let keys: Vec<Key> = inputs.iter().map(|f| f.key().clone()).collect();
        for f in inputs {
            g.insert(f.key().clone(), Node::Data(Value::new((*f).clone())));
        }
        let k = g.task(op, &keys)?;
        Ok(self.compute(&g, &[k])?.pop().expect("one key"))
    }

    /// Submits many ops at once (one message): each runs on the results of its inputs.
    pub fn map<O: Op>(&self, items: impl IntoIterator<Item = (O, Vec<Future>)>) -> Result<Vec<Future>> {
        let mut g = Graph::new();
        let mut out = Vec::new();
        for (op, inputs) in items {
            let keys: Vec<Key> = inputs.iter().map(|f| f.key().clone()).collect();
            for f in inputs {
                g.insert(f.key().clone(), Node::Data(Value::new(f)));
            }
            out.push(g.task(op, &keys)?);
        }
        self.compute(&g, &out)
    }

    /// Waits for all futures (the first error is returned).
    pub fn wait(&self, futures: &[Future]) -> Result<()> {
        let keys: Vec<Key> = futures.iter().map(|f| f.key().clone()).collect();
        wait_keys(&self.inner, &keys, None)
    }

    /// The data addresses of the workers holding each future's result (empty while it is
    /// not in memory), as Dask's `Client.who_has`.
    pub fn who_has(&self, futures: &[Future]) -> Result<Vec<Vec<String>>> {
        let keys: Vec<Key> = futures.iter().map(|f| f.key().clone()).collect();
        match self.request(|id| FromClient::WhoHas { id, keys: keys.clone() })? {
            ToClient::WhoHas { holders, .. } => {
                let mut by_key: FxHashMap<Key, Vec<String>> = holders.into_iter().collect();
                Ok(keys.iter().map(|k| by_key.remove(k).unwrap_or_default()).collect())
            }
            other => Err(Error::Distributed(format!("unexpected reply to who_has: {other:?}"))),
        }
    }

    /// Waits for the futures and fetches their values from the workers holding them.
    pub fn gather(&self, futures: &[Future]) -> Result<Vec<Value>> {
        let keys: Vec<Key> = futures.iter().map(|f| f.key().clone()).collect();
        self.gather_keys(&keys)
    }

    fn gather_keys(&self, keys: &[Key]) -> Result<Vec<Value>> {
        wait_keys(&self.inner, keys, None)?;
        let mut unique: Vec<Key> = keys.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut values: FxHashMap<Key, Value> = FxHashMap::default();
        let mut attempts = 0;
        while values.len() < unique.len() {
            let todo: Vec<Key> = unique.iter().filter(|k| !values.contains_key(*k)).cloned().collect();
            let holders = match self.request(|id| FromClient::WhoHas { id, keys: todo.clone() })? {
                ToClient::WhoHas { holders, .. } => holders,
                other => return Err(Error::Distributed(format!("unexpected reply {other:?}"))),
            };
            let mut by_addr: Vec<(String, Vec<Key>)> = Vec::new();
            for (k, addrs) in holders {
                if let Some(a) = addrs.first() {
                    match by_addr.iter_mut().find(|(x, _)| x == a) {
                        Some((_, v)) => v.push(k),
                        None => by_addr.push((a.clone(), vec![k])),
                    }
                }
            }
            for (addr, ks) in by_addr {
                let replies = self.inner.rt.block_on(self.inner.peers.get(&addr, &ks));
                match replies {
                    Ok(replies) => {
                        for r in replies {
                            match r {
                                PeerReply::Data { key, value } => {
                                    if !ks.contains(&key) {
                                        return Err(Error::Distributed(format!(
                                            "{addr} sent {key}, which was not asked for: a peer of another \
                                             version or a corrupt reply"
                                        )));
                                    }
                                    let v = decode_value(&self.inner.security.registry, &key, &value).map_err(|m| {
                                        Error::Distributed(format!("cannot decode {key} from {addr}: {m}"))
                                    })?;
                                    values.insert(key, v);
                                }
                                PeerReply::Failed { key, message } => {
                                    return Err(Error::Distributed(format!("{addr} could not send {key}: {message}")))
                                }
                                _ => {}
                            }
                        }
                    }
                    Err(e) => tracing::info!(peer = %addr, error = %e, "gather failed; retrying"),
                }
            }
            if values.len() < unique.len() {
                // A holder died or released the key: the scheduler recomputes wanted keys.
                attempts += 1;
                if attempts > 600 {
                    return Err(Error::Distributed("results could not be gathered after 60 s of retries".into()));
                }
                std::thread::sleep(Duration::from_millis(100));
                wait_keys(&self.inner, &todo, None)?;
            }
        }
        // Every asked key has a value: the loop runs until `values` holds one per unique key,
        // and only asked keys are inserted.
        keys.iter()
            .map(|k| values.get(k).cloned().ok_or_else(|| Error::Distributed(format!("no value was gathered for {k}"))))
            .collect()
    }

    /// Submits `plan` and, when there are callbacks, asks the scheduler for the end of every
    /// task of it and reports each to them as it happens, with the time it ran on its worker
    /// (returning once every output has finished or failed). Tasks whose results the cluster
    /// already held are reported at once, with no time.
    fn submit_reporting(&self, plan: &Plan<'_>, keys: &[Key], callbacks: &[Arc<dyn Callback>]) -> Result<Vec<Future>> {
        if callbacks.is_empty() {
            return self.submit_plan(plan, keys);
        }
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        self.inner.shared.lock().task_events.insert(id, Vec::new());
        let futures = match self.submit_plan_with(plan, keys, Some(id)) {
            Ok(f) => f,
            Err(e) => {
                self.inner.shared.lock().task_events.remove(&id);
                return Err(e);
            }
        };
        let report = |events: Vec<TaskEvent>| {
            for ev in events {
                for cb in callbacks {
                    cb.on_task_finish(&ev.key, ev.ok, Duration::from_micros(ev.micros));
                }
            }
        };
        let shared = &self.inner.shared;
        loop {
            let mut st = shared.lock();
            let events = st.task_events.get_mut(&id).map(std::mem::take).unwrap_or_default();
            if !events.is_empty() {
                drop(st);
                report(events);
                continue;
            }
            // The scheduler sends a batch's events before its `Done`s, so once every output
            // has settled, every event of the computation has arrived.
            let settled = st.closed.is_some()
                || futures.iter().all(|f| st.keys.get(f.key()).is_none_or(|k| k.status != FutureStatus::Pending));
            if settled {
                let rest = st.task_events.remove(&id).unwrap_or_default();
                drop(st);
                report(rest);
                break;
            }
            drop(shared.changed.wait(st).unwrap_or_else(|e| e.into_inner()));
        }
        Ok(futures)
    }

    /// Futures in the order they finish (or fail).
    pub fn as_completed(&self, futures: Vec<Future>) -> AsCompleted {
        AsCompleted { client: self.inner.clone(), pending: futures }
    }

    /// Cancels futures: the client's references go, and the scheduler stops work that nobody
    /// else needs. Waiting on a cancelled future is an error.
    pub fn cancel(&self, futures: &[Future]) -> Result<()> {
        let keys: Vec<Key> = futures.iter().map(|f| f.key().clone()).collect();
        {
            let mut st = self.inner.shared.lock();
            for k in &keys {
                if let Some(e) = st.keys.get_mut(k) {
                    if e.status == FutureStatus::Pending {
                        e.status = FutureStatus::Cancelled;
                    }
                }
            }
        }
        self.inner.shared.changed.notify_all();
        // The futures' own releases arrive later and find nothing to release.
        self.send(vec![FromClient::Cancel { keys }])
    }

    /// Stores values on the workers (round robin) without going through the scheduler, and
    /// returns futures on them. Use it for large inputs and for models every task reads.
    pub fn scatter(&self, values: Vec<Value>) -> Result<Vec<Future>> {
        let workers = self.workers()?;
        if workers.is_empty() {
            return Err(Error::Distributed("no worker to scatter to".into()));
        }
        let mut placed = Vec::with_capacity(values.len());
        for (i, v) in values.into_iter().enumerate() {
            let addr = workers[i % workers.len()].clone();
            placed.push(self.put(v, vec![addr])?);
        }
        self.finish_scatter(placed)
    }

    /// Stores one value on every worker (for example a fitted model that every task reads).
    pub fn broadcast(&self, value: Value) -> Result<Future> {
        let workers = self.workers()?;
        if workers.is_empty() {
            return Err(Error::Distributed("no worker to broadcast to".into()));
        }
        let placed = self.put(value, workers)?;
        Ok(self.finish_scatter(vec![placed])?.pop().expect("one value"))
    }

    fn put(&self, value: Value, addresses: Vec<String>) -> Result<(Key, Vec<String>, u64)> {
        let probe = Key::new("scatter");
        let wire = encode_value(&self.inner.security.registry, &probe, &value)?;
        let token = xxhash_rust::xxh3::xxh3_128_with_seed(&wire.bytes, 0x5ca7);
        let key = Key::new(format!("scatter-{}-{token:032x}", wire.tag.replace(['-', ' '], "_")));
        let mut nbytes = 0;
        for a in &addresses {
            nbytes = self
                .inner
                .rt
                .block_on(self.inner.peers.put(a, key.clone(), wire.clone()))
                .map_err(|e| Error::Distributed(format!("cannot store {key} on {a}: {e}")))?;
        }
        Ok((key, addresses, nbytes))
    }

    fn finish_scatter(&self, placed: Vec<(Key, Vec<String>, u64)>) -> Result<Vec<Future>> {
        let keys: Vec<Key> = placed.iter().map(|p| p.0.clone()).collect();
        let futures = self.register(&keys);
        self.send(vec![FromClient::Scattered { keys: placed }])?;
        wait_keys(&self.inner, &keys, None)?;
        Ok(futures)
    }
}

/// Iterator over futures as they complete.
#[derive(Debug)]
pub struct AsCompleted {
    client: Arc<Inner>,
    pending: Vec<Future>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientInner({})", self.address)
    }
}

impl Iterator for AsCompleted {
    type Item = (Future, Result<()>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pending.is_empty() {
            return None;
        }
        let shared = &self.client.shared;
        let mut st = shared.lock();
        loop {
            let mut best: Option<(u64, usize)> = None;
            for (i, f) in self.pending.iter().enumerate() {
                if let Some(k) = st.keys.get(f.key()) {
                    if k.status != FutureStatus::Pending && best.is_none_or(|(s, _)| k.seq < s) {
                        best = Some((k.seq, i));
                    }
                }
            }
            if let Some((_, i)) = best {
                let f = self.pending.swap_remove(i);
                let result = status_result(f.key(), &st.keys[f.key()].status);
                return Some((f, result));
            }
            if let Some(reason) = &st.closed {
                let f = self.pending.pop().expect("not empty");
                return Some((f, Err(Error::Distributed(reason.clone()))));
            }
            st = shared.changed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }
}

fn status_result(key: &Key, s: &FutureStatus) -> Result<()> {
    match s {
        FutureStatus::Finished => Ok(()),
        FutureStatus::Error(e) => {
            Err(Error::TaskFailed { key: e.key.clone(), op: e.op.clone(), cause: e.message.clone() })
        }
        FutureStatus::Cancelled => Err(Error::Cancelled(key.clone())),
        FutureStatus::Pending => Err(Error::Distributed(format!("{key} is still pending"))),
    }
}

fn wait_keys(inner: &Inner, keys: &[Key], timeout: Option<Duration>) -> Result<()> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let shared = &inner.shared;
    let mut st = shared.lock();
    loop {
        let mut pending = false;
        for k in keys {
            match st.keys.get(k).map(|s| &s.status) {
                Some(FutureStatus::Pending) => pending = true,
                Some(s) => {
                    if !matches!(s, FutureStatus::Finished) {
                        return status_result(k, s);
                    }
                }
                None => return Err(Error::Distributed(format!("{k} is not held by this client"))),
            }
        }
        if !pending {
            return Ok(());
        }
        if let Some(reason) = &st.closed {
            return Err(Error::Distributed(reason.clone()));
        }
        st = match deadline {
            None => shared.changed.wait(st).unwrap_or_else(|e| e.into_inner()),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return Err(Error::Distributed("timed out waiting for results".into()));
                }
                shared.changed.wait_timeout(st, d - now).unwrap_or_else(|e| e.into_inner()).0
            }
        };
    }
}

fn on_messages(shared: &Shared, batch: Vec<ToClient>) {
    let mut st = shared.lock();
    for msg in batch {
        match msg {
            ToClient::Done { key } => set_status(&mut st, &key, FutureStatus::Finished),
            ToClient::Erred { key, error } => set_status(&mut st, &key, FutureStatus::Error(error)),
            ToClient::Cancelled { key } => set_status(&mut st, &key, FutureStatus::Cancelled),
            ToClient::Rejected { id, reason } => {
                tracing::warn!(%reason, "submission rejected");
                if let Some(keys) = st.submissions.remove(&id) {
                    for k in keys {
                        let error = TaskError { key: k.clone(), op: "submit".into(), message: reason.clone() };
                        set_status(&mut st, &k, FutureStatus::Error(error));
                    }
                }
            }
            ToClient::Closing { reason } => {
                tracing::warn!(%reason, "the scheduler is closing the connection");
                st.closed.get_or_insert(format!("the scheduler closed the connection: {reason}"));
                st.requests.clear();
            }
            ToClient::Warning { message } => {
                tracing::warn!(scheduler_says = %message, "warning from the scheduler");
                if st.warnings.len() == MAX_WARNINGS {
                    st.warnings.pop_front();
                }
                st.warnings.push_back(message);
            }
            ToClient::Keepalive => {}
            ToClient::TaskEvents { id, events } => {
                if let Some(pending) = st.task_events.get_mut(&id) {
                    pending.extend(events);
                }
            }
            reply @ (ToClient::WhoHas { .. } | ToClient::Workers { .. }) => {
                let id = match &reply {
                    ToClient::WhoHas { id, .. } | ToClient::Workers { id, .. } => *id,
                    _ => unreachable!("matched above"),
                };
                if let Some(tx) = st.requests.remove(&id) {
                    let _ = tx.send(reply);
                }
            }
        }
    }
    // Submissions are only needed until their first answer; keep the table small.
    if st.submissions.len() > 1024 {
        let done: Vec<u64> = st
            .submissions
            .iter()
            .filter(|(_, ks)| ks.iter().all(|k| st.keys.get(k).is_none_or(|s| s.status != FutureStatus::Pending)))
            .map(|(&id, _)| id)
            .collect();
        for id in done {
            st.submissions.remove(&id);
        }
    }
    drop(st);
    shared.changed.notify_all();
}

fn set_status(st: &mut ClientState, key: &Key, status: FutureStatus) {
    st.seq += 1;
    let seq = st.seq;
    if let Some(k) = st.keys.get_mut(key) {
        if k.status == FutureStatus::Pending || status != FutureStatus::Cancelled {
            k.status = status;
            k.seq = seq;
        }
    }
}

/// The wire form of the plan's nodes at `indices`. `seen_remote` carries the cluster results already named across calls.
fn plan_nodes(
    plan: &Plan<'_>,
    security: &Security,
    indices: impl ExactSizeIterator<Item = u32>,
    seen_remote: &mut FxHashSet<Key>,
) -> Result<Vec<WireNode>> {
    let mut nodes = Vec::with_capacity(indices.len());
    for i in indices {
        let i = i as usize;
        let key = plan.key(i).clone();
        let deps: Vec<Key> = plan.inputs(i).iter().map(|&d| plan.key(d as usize).clone()).collect();
        let priority = plan.priority(i);
        let (spec, deps) = match plan.node(i) {
            PlanNode::Data(v) => match v.downcast_ref::<Future>() {
                Some(f) if *f.key() == key => (WireSpec::Remote, Vec::new()),
                Some(f) => {
                    // Another name for a result on the cluster.
                    if seen_remote.insert(f.key().clone()) {
                        nodes.push(WireNode { key: f.key().clone(), spec: WireSpec::Remote, deps: vec![], priority });
                    }
                    (WireSpec::Alias, vec![f.key().clone()])
                }
                None => (WireSpec::Data(Box::new(encode_value(&security.registry, &key, v)?)), Vec::new()),
            },
            PlanNode::Task(op) => (WireSpec::Task(encode_task(&key, op, "distributed")?.into()), deps),
            PlanNode::Alias => (WireSpec::Alias, deps),
        };
        nodes.push(WireNode { key, spec, deps, priority });
    }
    Ok(nodes)
}

impl rask_core::Broadcast for Client {
    /// [`Client::broadcast`]: the key is the future's, the node's value the future.
    fn broadcast_value(&self, value: Value) -> Result<(Key, Value)> {
        let future = self.broadcast(value)?;
        Ok((future.key().clone(), Value::new(future)))
    }
}

impl Executor for Client {
    fn name(&self) -> String {
        format!("distributed({})", self.inner.address)
    }

    /// Futures in data nodes are sent as references to results the cluster holds.
    fn reads_remote(&self) -> bool {
        true
    }

    /// Callbacks see every task of the plan finish or fail as it does, with the time it ran on
    /// its worker (the scheduler sends the client these events only when there are callbacks);
    /// the scheduler reports the start and the end.
    /// `tasks_run` counts the nodes submitted (the cluster skips those whose results it already
    /// holds); `peak_held` is 0, as this process holds no intermediate results. This is what the
    /// [`Executor`] contract allows a remote executor.
    fn execute(&self, plan: &Plan<'_>, callbacks: &[Arc<dyn Callback>]) -> Result<Executed> {
        let keys = plan.output_keys();
        let futures = self.submit_reporting(plan, &keys, callbacks)?;
        let outputs = self.gather(&futures)?;
        drop(futures);
        Ok(Executed { outputs, tasks_run: plan.len(), peak_held: 0 })
    }

    /// Callbacks as for [`execute`](Executor::execute).
    fn persist(&self, plan: &Plan<'_>, callbacks: &[Arc<dyn Callback>]) -> Result<Executed> {
        let keys = plan.output_keys();
        let futures = self.submit_reporting(plan, &keys, callbacks)?;
        self.wait(&futures)?;
        Ok(Executed { outputs: futures.into_iter().map(Value::new).collect(), tasks_run: plan.len(), peak_held: 0 })
    }
}
