//! The distributed scheduler's state machine, free of IO.
//!
//! Events go in (a graph submitted, a task done on a worker, a worker gone); messages come out,
//! queued in [`ClusterState::outbox`] for the IO layer to send. Every task moves through
//!
//! ```text
//! Released ─► Waiting ─► (Queued) ─► Processing(w) ─► Memory ─► Released ─► forgotten
//!                 ▲                        │              │
//!                 └──── worker lost ───────┴──────────────┘         (and Erred)
//! ```
//!
//! The rules, as in Dask's scheduler:
//! - a task is *needed* while a client wants it or a needed dependent waits for it; needed tasks
//!   whose inputs are all in memory are sent to a worker;
//! - a result is dropped from the workers as soon as nothing needs it, but the task's spec is
//!   kept while any dependent exists, so a result lost with a worker is recomputed;
//! - tasks with inputs go where most of their input bytes already are (data locality, with the
//!   worker's queue length as a tie-breaker); tasks without inputs wait in a priority queue at
//!   the scheduler and are handed out as workers have room, so a huge graph does not flood the
//!   workers (root-task queuing);
//! - an idle worker steals queued, not yet started tasks from the busiest one;
//! - a task that was running on workers that died `poison_limit` times fails instead of being
//!   retried forever.
//!
//! In three parts: this module holds [`ClusterState`] and its event handlers (workers and
//! clients coming and going, submissions, task reports); `transitions` moves tasks between
//! states (and recomputes lost results, and fails poison tasks); `placement` chooses workers
//! (locality, queuing, stealing) with rules that are pure functions of worker loads.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

use super::protocol::{TaskError, TaskEvent, ToClient, ToWorker, WireNode, WireSpec, WorkerMetrics};
use super::status::{Progress, StatusSnapshot, TaskCounts, WorkerStatus};
use rask_core::Key;

mod placement;
mod table;
mod transitions;

/// A task's id in the state: never reused.
type Tid = u64;
/// A worker's id (the connection id the scheduler assigned).
pub type WorkerId = u64;
/// A client's id.
pub type ClientId = u64;

/// The distinct ids of a dependency list (a task may read one input twice; it depends on it once).
fn unique(ids: &[Tid]) -> Vec<Tid> {
    let mut v = ids.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// Where a task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Released,
    Waiting,
    Queued,
    Processing(WorkerId),
    Memory,
    Erred,
}

/// Root tasks ready to run, waiting at the scheduler for a worker with room, lowest priority
/// first: a binary heap, 24 bytes a task (a B-tree set took about twice that, 40 MB for a
/// million root tasks). A task leaving the queue otherwise than by [`pop`](Self::pop) (it
/// failed, was cancelled, or finished elsewhere) leaves its entry behind: entries whose task is
/// no longer `Queued` are skipped when they come to the top, and all are dropped when no task
/// is queued ([`tidy`](Self::tidy)). Task ids are never reused and a task's priority never
/// changes, so an entry whose task is `Queued` is that task's current entry.
#[derive(Debug, Default)]
struct RootQueue {
    heap: BinaryHeap<Reverse<((u64, u32), Tid)>>,
}

impl RootQueue {
    fn push(&mut self, priority: (u64, u32), t: Tid) {
        self.heap.push(Reverse((priority, t)));
    }

    /// The queued task to run first, dropping the stale entries above it.
    fn peek(&mut self, tasks: &table::TaskTable) -> Option<Tid> {
        while let Some(&Reverse((_, t))) = self.heap.peek() {
            if tasks.get(&t).is_some_and(|task| task.state == St::Queued) {
                return Some(t);
            }
            self.heap.pop();
        }
        None
    }

    /// Removes the entry [`peek`](Self::peek) returned.
    fn pop(&mut self) {
        self.heap.pop();
    }

    /// The queued tasks, in priority order.
    fn queued(&self, tasks: &table::TaskTable) -> Vec<Tid> {
        let mut live: Vec<((u64, u32), Tid)> = self
            .heap
            .iter()
            .map(|&Reverse(e)| e)
            .filter(|(_, t)| tasks.get(t).is_some_and(|task| task.state == St::Queued))
            .collect();
        live.sort_unstable();
        live.dedup();
        live.into_iter().map(|(_, t)| t).collect()
    }

    /// Frees every entry once `n_queued` (the count of `Queued` tasks) is 0.
    fn tidy(&mut self, n_queued: usize) {
        if n_queued == 0 && !self.heap.is_empty() {
            self.heap = BinaryHeap::new();
        }
    }
}

/// How many tasks are in each state, kept as tasks move (so the status page's counts cost
/// nothing however many tasks there are); `check_invariants` recounts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct StateCounts([usize; 6]);

impl StateCounts {
    fn slot(st: St) -> usize {
        match st {
            St::Released => 0,
            St::Waiting => 1,
            St::Queued => 2,
            St::Processing(_) => 3,
            St::Memory => 4,
            St::Erred => 5,
        }
    }

    fn add(&mut self, st: St) {
        self.0[Self::slot(st)] += 1;
    }

    fn remove(&mut self, st: St) {
        let c = &mut self.0[Self::slot(st)];
        *c = c.saturating_sub(1);
    }

    fn queued(&self) -> usize {
        self.0[Self::slot(St::Queued)]
    }

    fn moved(&mut self, from: St, to: St) {
        self.remove(from);
        self.add(to);
    }

    #[cfg(test)]
    fn of<'a>(tasks: impl Iterator<Item = &'a Task>) -> Self {
        let mut c = StateCounts::default();
        for t in tasks {
            c.add(t.state);
        }
        c
    }
}

#[derive(Debug)]
struct Task {
    key: Key,
    spec: WireSpec,
    // Most tasks have one or two inputs, one or two dependents and one holder: inline lists
    // spare a small heap block (and its allocator overhead) per list per task.
    deps: SmallVec<[Tid; 2]>,
    dependents: SmallVec<[Tid; 2]>,
    /// Dependents not yet forgotten (entries of `dependents` may be stale ids).
    live_dependents: u32,
    state: St,
    who_has: Holders,
    nbytes: u64,
    /// While waiting: inputs not in memory.
    n_missing: u32,
    /// Dependents waiting, queued or processing, that need this result.
    waiters: u32,
    /// Client references.
    wanted: u32,
    /// The priority is `(generation, rank)`, kept as two fields so that the rank packs with
    /// the counters above (a tuple keeps its own padding).
    generation: u64,
    rank: u32,
    /// Workers that died while running it.
    suspicious: u32,
    /// What few tasks ever have (an error, a steal in flight): one pointer, not 24 bytes, in
    /// every task of a million-task graph.
    rare: Option<Box<Rare>>,
}

/// The workers holding a task's result: almost always none or one, so 16 bytes inline (a
/// `SmallVec` took 24, in every task of a million-task graph), and a list only for a result
/// copied to several workers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum Holders {
    #[default]
    None,
    One(WorkerId),
    // Boxed: a bare `Vec` would make every task's holders 32 bytes to spare the rare list
    // one allocation.
    #[allow(clippy::box_collection)]
    Many(Box<Vec<WorkerId>>),
}

impl Holders {
    fn as_slice(&self) -> &[WorkerId] {
        match self {
            Holders::None => &[],
            Holders::One(w) => std::slice::from_ref(w),
            Holders::Many(v) => v,
        }
    }

    fn iter(&self) -> std::slice::Iter<'_, WorkerId> {
        self.as_slice().iter()
    }

    fn contains(&self, w: &WorkerId) -> bool {
        self.as_slice().contains(w)
    }

    fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    fn clear(&mut self) {
        *self = Holders::None;
    }

    fn push(&mut self, w: WorkerId) {
        *self = match std::mem::take(self) {
            Holders::None => Holders::One(w),
            Holders::One(a) => Holders::Many(Box::new(vec![a, w])),
            Holders::Many(mut v) => {
                v.push(w);
                Holders::Many(v)
            }
        };
    }

    fn retain(&mut self, mut keep: impl FnMut(&WorkerId) -> bool) {
        match self {
            Holders::None => {}
            Holders::One(w) => {
                if !keep(w) {
                    *self = Holders::None;
                }
            }
            Holders::Many(v) => {
                v.retain(|w| keep(w));
                *self = match v.as_slice() {
                    [] => Holders::None,
                    [one] => Holders::One(*one),
                    _ => return,
                };
            }
        }
    }
}

/// The holders of a result, by value (the task gave them up).
enum HoldersIntoIter {
    One(Option<WorkerId>),
    Many(std::vec::IntoIter<WorkerId>),
}

impl Iterator for HoldersIntoIter {
    type Item = WorkerId;

    fn next(&mut self) -> Option<WorkerId> {
        match self {
            HoldersIntoIter::One(w) => w.take(),
            HoldersIntoIter::Many(it) => it.next(),
        }
    }
}

impl IntoIterator for Holders {
    type Item = WorkerId;
    type IntoIter = HoldersIntoIter;

    fn into_iter(self) -> HoldersIntoIter {
        match self {
            Holders::None => HoldersIntoIter::One(None),
            Holders::One(w) => HoldersIntoIter::One(Some(w)),
            Holders::Many(v) => HoldersIntoIter::Many(v.into_iter()),
        }
    }
}

/// The fields of a [`Task`] that are rarely set.
#[derive(Debug, Default)]
struct Rare {
    error: Option<Arc<TaskError>>,
    /// A steal in flight: the thief.
    steal_to: Option<WorkerId>,
}

impl Task {
    /// A released task with no links yet.
    fn new(key: Key, spec: WireSpec, priority: (u64, u32)) -> Self {
        Task {
            key,
            spec,
            deps: SmallVec::new(),
            dependents: SmallVec::new(),
            live_dependents: 0,
            state: St::Released,
            who_has: Holders::None,
            nbytes: 0,
            n_missing: 0,
            waiters: 0,
            wanted: 0,
            generation: priority.0,
            rank: priority.1,
            suspicious: 0,
            rare: None,
        }
    }

    /// Lower runs first: the submission's generation, then the node's rank in its plan.
    fn priority(&self) -> (u64, u32) {
        (self.generation, self.rank)
    }

    /// Why it failed, once erred.
    fn error(&self) -> Option<&Arc<TaskError>> {
        self.rare.as_ref().and_then(|r| r.error.as_ref())
    }

    fn set_error(&mut self, error: Arc<TaskError>) {
        self.rare.get_or_insert_with(Box::default).error = Some(error);
    }

    /// The thief of a steal in flight.
    fn steal_to(&self) -> Option<WorkerId> {
        self.rare.as_ref().and_then(|r| r.steal_to)
    }

    /// Records (or, with `None`, ends) a steal in flight; returns the previous thief.
    fn set_steal_to(&mut self, thief: Option<WorkerId>) -> Option<WorkerId> {
        if thief.is_none() && self.rare.is_none() {
            return None;
        }
        let rare = self.rare.get_or_insert_with(Box::default);
        let previous = std::mem::replace(&mut rare.steal_to, thief);
        if rare.error.is_none() && rare.steal_to.is_none() {
            self.rare = None;
        }
        previous
    }
}

#[derive(Debug)]
struct Worker {
    address: String,
    nthreads: usize,
    pid: u32,
    memory_limit: Option<u64>,
    processing: Processing,
    has: FxHashSet<Tid>,
    metrics: WorkerMetrics,
    last_seen: Instant,
}

/// The tasks assigned to a worker and not finished, each with the run time its op was expected
/// to take when it was assigned, and their sum: the worker's *occupancy*, as Dask calls it,
/// which placement reads as the worker's backlog.
#[derive(Debug, Default)]
struct Processing {
    /// Each task's expected seconds and the id of its assignment ([`ToWorker::Compute`]`::run`).
    tasks: FxHashMap<Tid, (f64, u64)>,
    occupancy: f64,
}

impl Processing {
    fn insert(&mut self, t: Tid, expected_seconds: f64, run: u64) {
        if let Some((old, _)) = self.tasks.insert(t, (expected_seconds, run)) {
            self.occupancy -= old;
        }
        self.occupancy += expected_seconds;
    }

    /// The id of `t`'s assignment here, if it is processing here.
    fn run(&self, t: &Tid) -> Option<u64> {
        self.tasks.get(t).map(|&(_, run)| run)
    }

    /// Removes `t`; whether it was there.
    fn remove(&mut self, t: &Tid) -> bool {
        let Some((d, _)) = self.tasks.remove(t) else { return false };
        // Reset when empty, so rounding cannot accumulate over a long run.
        self.occupancy = if self.tasks.is_empty() { 0.0 } else { self.occupancy - d };
        true
    }

    fn len(&self) -> usize {
        self.tasks.len()
    }

    #[cfg(test)]
    fn contains(&self, t: &Tid) -> bool {
        self.tasks.contains_key(t)
    }

    fn iter(&self) -> impl Iterator<Item = &Tid> {
        self.tasks.keys()
    }

    /// Seconds of work assigned and not finished (never negative).
    fn occupancy(&self) -> f64 {
        self.occupancy.max(0.0)
    }
}

#[derive(Debug, Default)]
struct Client {
    wants: FxHashMap<Tid, usize>,
}

/// Where an outgoing message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// To a worker.
    Worker(WorkerId, ToWorker),
    /// To a client.
    Client(ClientId, ToClient),
}

/// Tunables of the state machine.
#[derive(Clone, Copy, Debug)]
pub struct StateConfig {
    /// How many times workers may die running one task before it fails.
    pub poison_limit: u32,
    /// Assumed transfer bandwidth between workers, bytes per second (locality cost model).
    pub bandwidth: f64,
    /// Assumed cost of one fetch from a peer beyond its bytes (a request and its reply),
    /// seconds (locality cost model): what keeps tiny tasks next to their tiny inputs.
    pub transfer_latency: f64,
    /// Time a worker's queue should cover, seconds: a worker is given queued root tasks until
    /// its backlog is this long or twice its threads, whichever holds more tasks.
    pub backlog_seconds: f64,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig { poison_limit: 3, bandwidth: 200e6, transfer_latency: 100e-6, backlog_seconds: 0.005 }
    }
}

/// The scheduler's state.
#[derive(Debug)]
pub struct ClusterState {
    config: StateConfig,
    tasks: table::TaskTable,
    /// Tasks per state.
    counts: StateCounts,
    workers: std::collections::BTreeMap<WorkerId, Worker>,
    clients: FxHashMap<ClientId, Client>,
    queue: RootQueue,
    generation: u64,
    /// Mean task duration, seconds (exponentially weighted).
    avg_duration: f64,
    /// Messages to send.
    pub outbox: Vec<Out>,
    started: Instant,
    finished: u64,
    erred: u64,
    submitted: u64,
    scratch: Vec<Tid>,
    /// Clients (with their submission ids) that asked for the end of each task ([`watch`](Self::watch)).
    watchers: FxHashMap<Tid, Vec<(ClientId, u64)>>,
    /// Task ends not yet sent, per client and submission ([`flush_events`](Self::flush_events)).
    events: FxHashMap<(ClientId, u64), Vec<TaskEvent>>,
    /// The submissions clients are sending in parts ([`stage`](Self::stage)).
    staging: FxHashMap<(ClientId, u64), Staged>,
    /// Interned op names ([`intern`](Self::intern)).
    op_names: FxHashSet<Arc<str>>,
    /// Estimated run time per op, seconds ([`expected_duration`](Self::expected_duration)).
    durations: FxHashMap<Arc<str>, f64>,
    /// The last assignment id handed out ([`ToWorker::Compute`]`::run`).
    last_run: u64,
}

/// The most op names [`ClusterState`] interns.
const MAX_INTERNED: usize = 4096;

/// A submission arriving in parts.
#[derive(Debug, Default)]
struct Staged {
    /// Priority generation of all its parts.
    generation: u64,
    /// Every node's task, for events; the first `pinned` are pinned (one `wanted` each).
    all: Vec<Tid>,
    pinned: usize,
    /// Which entries of `all` it added (taken back if it is rejected or abandoned), one bit
    /// each: a second list of ids cost 16 MB for a million-node submission.
    added: Vec<u64>,
    /// A part was rejected: the rest is ignored.
    rejected: bool,
}

impl Staged {
    /// Records a node's task, and whether this submission added it.
    fn push(&mut self, t: Tid, added: bool) {
        let i = self.all.len();
        if i.is_multiple_of(64) {
            self.added.push(0);
        }
        if added {
            self.added[i / 64] |= 1 << (i % 64);
        }
        self.all.push(t);
    }

    /// The tasks this submission added, in the order it added them.
    fn added(&self) -> impl DoubleEndedIterator<Item = Tid> + '_ {
        self.all.iter().enumerate().filter(|&(i, _)| self.added[i / 64] >> (i % 64) & 1 == 1).map(|(_, &t)| t)
    }
}

impl ClusterState {
    /// An empty state.
    pub fn new(config: StateConfig) -> Self {
        ClusterState {
            config,
            tasks: table::TaskTable::default(),
            counts: StateCounts::default(),
            workers: Default::default(),
            clients: FxHashMap::default(),
            queue: RootQueue::default(),
            generation: 0,
            avg_duration: 0.001,
            outbox: Vec::new(),
            started: Instant::now(),
            finished: 0,
            erred: 0,
            submitted: 0,
            scratch: Vec::new(),
            watchers: FxHashMap::default(),
            events: FxHashMap::default(),
            staging: FxHashMap::default(),
            op_names: FxHashSet::default(),
            durations: FxHashMap::default(),
            last_run: 0,
        }
    }

    // ---------------------------------------------------------------- workers

    /// A worker registered.
    pub fn add_worker(
        &mut self,
        id: WorkerId,
        address: String,
        nthreads: usize,
        memory_limit: Option<u64>,
        pid: u32,
        now: Instant,
    ) {
        tracing::info!(worker = id, %address, nthreads, pid, "worker joined");
        self.workers.insert(
            id,
            Worker {
                address,
                nthreads: nthreads.max(1),
                pid,
                memory_limit,
                processing: Processing::default(),
                has: FxHashSet::default(),
                metrics: WorkerMetrics::default(),
                last_seen: now,
            },
        );
        // Work waiting for a worker (or queued root tasks) can go now; then let it steal.
        self.dispatch_queue();
        self.balance();
    }

    /// A worker is gone (connection closed or heartbeats stopped): its running tasks are
    /// rescheduled (or fail, past the poison limit), its results are recomputed where needed.
    pub fn remove_worker(&mut self, id: WorkerId, reason: &str) {
        let Some(w) = self.workers.remove(&id) else { return };
        tracing::warn!(worker = id, address = %w.address, reason, "worker removed");
        let mut processing: Vec<Tid> = w.processing.tasks.into_keys().collect();
        processing.sort_unstable();
        let mut held: Vec<Tid> = w.has.into_iter().collect();
        held.sort_unstable();
        // Tasks on other workers that lack a result the removed worker held: they may be
        // fetching it from there, and a host cut off by a partition (not a crash) leaves the
        // connection open and silent until TCP gives up. They are taken back and sent again
        // with the remaining holders, or wait for the input to be recomputed if it had no
        // other, as Dask moves them to `waiting`.
        let mut stranded: Vec<(Tid, WorkerId)> = Vec::new();
        for &t in &held {
            // `has` may name a task already forgotten (lose_replica skips those too).
            let Some(task) = self.tasks.get(&t) else { continue };
            if task.state != St::Memory {
                continue;
            }
            for x in &task.dependents {
                if let Some(St::Processing(other)) = self.tasks.get(x).map(|d| d.state) {
                    if other != id && !task.who_has.contains(&other) {
                        stranded.push((*x, other));
                    }
                }
            }
        }
        for t in held {
            self.lose_replica(t, id);
        }
        stranded.sort_unstable();
        stranded.dedup();
        for (x, other) in stranded {
            if self.tasks.get(&x).is_some_and(|task| task.state == St::Processing(other)) {
                if let Some(wk) = self.workers.get_mut(&other) {
                    wk.processing.remove(&x);
                }
                let key = self.tasks[&x].key.clone();
                self.outbox.push(Out::Worker(other, ToWorker::Release { keys: vec![key] }));
                self.back_to_waiting(x);
            }
        }
        for t in processing {
            self.died_running(t, id, &w.address);
        }
        // Tasks assigned to no one any more go to the queue; stealing may rebalance them.
        self.dispatch_queue();
        self.balance();
    }

    /// Workers whose last message is older than `timeout`, with how long each has been silent.
    pub fn silent_workers(&self, now: Instant, timeout: Duration) -> Vec<(WorkerId, Duration)> {
        self.workers
            .iter()
            .map(|(&id, w)| (id, now.duration_since(w.last_seen)))
            .filter(|&(_, silent)| silent > timeout)
            .collect()
    }

    /// The scheduler itself did not run for a while: every worker counts as heard from `now`,
    /// so that silence is not held against them.
    pub fn excuse_silence(&mut self, now: Instant) {
        for w in self.workers.values_mut() {
            w.last_seen = w.last_seen.max(now);
        }
    }

    /// Tasks ready to run that wait because no worker is connected (0 while any is).
    pub fn waiting_without_workers(&self) -> usize {
        if self.workers.is_empty() {
            self.counts.queued()
        } else {
            0
        }
    }

    /// Sends `message` as a warning to every client that waits for a result not yet computed.
    pub fn warn_waiting_clients(&mut self, message: &str) {
        let mut waiting: Vec<ClientId> = self
            .clients
            .iter()
            .filter(|(_, c)| {
                c.wants.keys().any(|t| self.tasks.get(t).is_some_and(|t| !matches!(t.state, St::Memory | St::Erred)))
            })
            .map(|(&id, _)| id)
            .collect();
        waiting.sort_unstable();
        for c in waiting {
            self.outbox.push(Out::Client(c, ToClient::Warning { message: message.to_string() }));
        }
    }

    /// Fails every task ready to run but waiting for a worker (and, with them, what depends on
    /// them) with `message`: for a scheduler that has had no worker for too long.
    pub fn fail_waiting(&mut self, message: &str) {
        let queued = self.queue.queued(&self.tasks);
        for t in queued {
            let Some(task) = self.tasks.get(&t) else { continue };
            if task.state != St::Queued {
                continue;
            }
            let err = TaskError { key: task.key.clone(), op: "scheduler".into(), message: message.to_string() };
            self.set_erred(t, Arc::new(err));
        }
    }

    /// A worker's heartbeat.
    pub fn heartbeat(&mut self, id: WorkerId, metrics: WorkerMetrics, now: Instant) {
        if let Some(w) = self.workers.get_mut(&id) {
            let was_paused = w.metrics.paused;
            w.metrics = metrics;
            w.last_seen = now;
            if was_paused && !w.metrics.paused {
                self.dispatch_queue();
            }
        }
    }

    /// Any message from a worker proves it alive.
    pub fn touch(&mut self, id: WorkerId, now: Instant) {
        if let Some(w) = self.workers.get_mut(&id) {
            w.last_seen = now;
        }
    }

    // ---------------------------------------------------------------- clients

    /// A client connected.
    pub fn add_client(&mut self, id: ClientId) {
        self.clients.entry(id).or_default();
    }

    /// `client` wants a [`TaskEvent`] for each of `keys` (the nodes of its submission `id`) as
    /// it finishes or fails. Tasks that have already finished or failed are reported at once;
    /// keys the scheduler does not know are ignored.
    #[cfg(test)]
    pub fn watch(&mut self, client: ClientId, id: u64, keys: &[Key]) {
        let ids: Vec<Tid> = keys.iter().filter_map(|k| self.tasks.tid_of(k)).collect();
        self.watch_ids(client, id, &ids);
    }

    fn watch_ids(&mut self, client: ClientId, id: u64, ids: &[Tid]) {
        for t in ids {
            let Some(task) = self.tasks.get(t) else { continue };
            match task.state {
                St::Memory | St::Erred => {
                    let ok = task.state == St::Memory;
                    let key = task.key.clone();
                    self.events.entry((client, id)).or_default().push(TaskEvent { key, ok, micros: 0 })
                }
                _ => self.watchers.entry(*t).or_default().push((client, id)),
            }
        }
    }

    /// Queues the end of `t` for the clients watching it.
    pub(super) fn notify_watchers(&mut self, t: Tid, ok: bool, seconds: f64) {
        let Some(watchers) = self.watchers.remove(&t) else { return };
        let key = &self.tasks[&t].key;
        let micros = (seconds.max(0.0) * 1e6) as u64;
        for w in watchers {
            self.events.entry(w).or_default().push(TaskEvent { key: key.clone(), ok, micros });
        }
    }

    /// Moves the queued task ends into the outbox, one [`ToClient::TaskEvents`] per client and
    /// submission, *before* the other messages queued (so a client sees the events of a
    /// computation before its outputs' `Done`).
    pub fn flush_events(&mut self) {
        if self.events.is_empty() {
            return;
        }
        let mut batches: Vec<((ClientId, u64), Vec<TaskEvent>)> = self.events.drain().collect();
        batches.sort_unstable_by_key(|(w, _)| *w);
        let rest = std::mem::take(&mut self.outbox);
        self.outbox = batches
            .into_iter()
            .map(|((c, id), events)| Out::Client(c, ToClient::TaskEvents { id, events }))
            .chain(rest)
            .collect();
    }

    /// A client disconnected: all its references go.
    pub fn remove_client(&mut self, id: ClientId) {
        let mut abandoned: Vec<u64> = self.staging.keys().filter(|(c, _)| *c == id).map(|&(_, s)| s).collect();
        abandoned.sort_unstable();
        for s in abandoned {
            if let Some(staged) = self.staging.remove(&(id, s)) {
                self.unstage(staged);
            }
        }
        self.watchers.retain(|_, w| {
            w.retain(|(c, _)| *c != id);
            !w.is_empty()
        });
        self.events.retain(|(c, _), _| *c != id);
        if let Some(c) = self.clients.remove(&id) {
            let mut wants: Vec<(Tid, usize)> = c.wants.into_iter().collect();
            wants.sort_unstable();
            for (t, n) in wants {
                self.drop_wants(t, n);
            }
        }
    }

    /// A client submits a graph and the keys it wants. A node whose dependency is neither in
    /// the submission nor known to the scheduler, or a remote node for a key the scheduler does
    /// not hold, rejects the whole submission.
    #[cfg(test)]
    pub fn submit(&mut self, client: ClientId, nodes: Vec<WireNode>, wants: Vec<Key>) -> Result<(), String> {
        self.submit_part(client, 0, nodes, wants, false).map(|_| ())
    }

    /// Part of submission `id` of `client`, sent ahead of its [`submit_part`](Self::submit_part)
    /// so that no message (and no buffer on either side) holds a whole large graph. Parts come
    /// in plan order, so a node's inputs are in its part or an earlier one. The nodes are
    /// added at once but run only once the submission completes; a part that is rejected
    /// takes the parts before it back, and the rest of that submission is ignored (the client
    /// has its `Rejected`).
    pub fn stage(&mut self, client: ClientId, id: u64, nodes: Vec<WireNode>) -> Result<(), String> {
        let mut staged = self.staging.remove(&(client, id)).unwrap_or_else(|| self.new_staged());
        if staged.rejected {
            self.staging.insert((client, id), staged);
            return Ok(());
        }
        let result = self.add_nodes(nodes, &[], staged.generation, &mut staged);
        if result.is_err() {
            self.unstage(staged);
            self.staging.insert((client, id), Staged { rejected: true, ..Staged::default() });
        } else {
            // Pinned until the submission completes, so that no other client's release can
            // forget a node that a later part depends on.
            for &t in &staged.all[staged.pinned..] {
                self.tasks.get_mut(&t).expect("just added or found").wanted += 1;
            }
            staged.pinned = staged.all.len();
            self.staging.insert((client, id), staged);
        }
        result
    }

    fn new_staged(&mut self) -> Staged {
        self.generation += 1;
        Staged { generation: self.generation, ..Staged::default() }
    }

    /// One shared copy of each op name (a million tasks of one op keep one string). The set
    /// holds at most [`MAX_INTERNED`] names; past that, names are kept as they came.
    fn intern(&mut self, name: &Arc<str>) -> Arc<str> {
        if let Some(n) = self.op_names.get(name) {
            return n.clone();
        }
        if self.op_names.len() < MAX_INTERNED {
            self.op_names.insert(name.clone());
        }
        name.clone()
    }

    /// The op a task's duration is filed under: the last (outermost) op of its chain, as an
    /// interned name; `None` for data, aliases and remote results.
    fn op_name(&self, t: Tid) -> Option<&Arc<str>> {
        match &self.tasks.get(&t)?.spec {
            WireSpec::Task(ops) => ops.last().map(|o| &o.name),
            _ => None,
        }
    }

    /// Keeps a running estimate of each op's duration (as Dask does per key prefix): the
    /// first run's time, then half the old estimate plus half the new time.
    fn record_duration(&mut self, t: Tid, seconds: f64) {
        let Some(op) = self.op_name(t).cloned() else { return };
        if let Some(d) = self.durations.get_mut(&op) {
            *d = 0.5 * *d + 0.5 * seconds;
        } else if self.durations.len() < MAX_INTERNED {
            self.durations.insert(op, seconds);
        }
    }

    /// The expected run time of a task: its op's estimate, or the mean of all tasks for an
    /// op not yet seen.
    pub(super) fn expected_duration(&self, t: Tid) -> f64 {
        self.op_name(t).and_then(|op| self.durations.get(op)).copied().unwrap_or(self.avg_duration)
    }

    /// Unpins what a submission's parts pinned.
    fn unpin(&mut self, staged: &Staged) {
        for &t in &staged.all[..staged.pinned] {
            self.drop_wants(t, 1);
        }
    }

    /// Takes back the tasks a submission's parts added that nothing else came to need.
    fn unstage(&mut self, staged: Staged) {
        self.unpin(&staged);
        for t in staged.added().rev() {
            self.maybe_forget(t);
        }
    }

    /// The last part of submission `id` (or all of it): its remaining nodes and the keys the
    /// client wants; with `events`, the client is told the end of every node of the
    /// submission ([`watch`](Self::watch)). Returns whether the submission was taken; `Ok(false)`
    /// when an earlier part was already rejected (and answered).
    pub fn submit_part(
        &mut self,
        client: ClientId,
        id: u64,
        nodes: Vec<WireNode>,
        wants: Vec<Key>,
        events: bool,
    ) -> Result<bool, String> {
        let mut staged = self.staging.remove(&(client, id)).unwrap_or_else(|| self.new_staged());
        if staged.rejected {
            return Ok(false);
        }
        let generation = staged.generation;
        if let Err(e) = self.add_nodes(nodes, &wants, generation, &mut staged) {
            self.unstage(staged);
            return Err(e);
        }
        self.clients.entry(client).or_default();
        for k in wants {
            // Validated: every wanted key is indexed.
            let t = self.tasks.tid_of(&k).expect("indexed");
            *self.clients.get_mut(&client).expect("inserted above").wants.entry(t).or_default() += 1;
            let task = self.tasks.get_mut(&t).expect("indexed tasks exist");
            task.wanted += 1;
            match task.state {
                St::Memory => self.outbox.push(Out::Client(client, ToClient::Done { key: k })),
                St::Erred => {
                    let error = task.error().map(|e| TaskError::clone(e)).unwrap_or_else(|| TaskError {
                        key: k.clone(),
                        op: "?".into(),
                        message: "failed".into(),
                    });
                    self.outbox.push(Out::Client(client, ToClient::Erred { key: k, error }));
                }
                _ => self.ensure(t),
            }
        }
        self.unpin(&staged);
        self.dispatch_queue();
        if events {
            self.watch_ids(client, id, &staged.all);
        }
        Ok(true)
    }

    /// Validates `nodes` (with `wants`, the keys that must exist once they are in) and adds
    /// them: tasks new to the scheduler are added released, and linked to their inputs.
    /// Nothing changes when they are invalid.
    fn add_nodes(
        &mut self,
        nodes: Vec<WireNode>,
        wants: &[Key],
        generation: u64,
        staged: &mut Staged,
    ) -> Result<(), String> {
        {
            let new: FxHashSet<&Key> = nodes.iter().map(|n| &n.key).collect();
            for n in &nodes {
                if matches!(n.spec, WireSpec::Remote) && !self.tasks.contains_key_of(&n.key) {
                    return Err(format!(
                        "key {} refers to a result on the cluster, but the scheduler does not hold it (released, \
                         or held by another scheduler)",
                        n.key
                    ));
                }
                if let WireSpec::Alias = n.spec {
                    if n.deps.len() != 1 {
                        return Err(format!("alias {} has {} inputs, not 1", n.key, n.deps.len()));
                    }
                }
                if matches!(n.spec, WireSpec::Data(_) | WireSpec::Remote) && !n.deps.is_empty() {
                    return Err(format!("data node {} lists inputs", n.key));
                }
                for d in &n.deps {
                    if !new.contains(d) && !self.tasks.contains_key_of(d) {
                        return Err(format!("task {} depends on {d}, which is neither in the graph nor held", n.key));
                    }
                }
            }
            for k in wants {
                if !new.contains(k) && !self.tasks.contains_key_of(k) {
                    return Err(format!("wanted key {k} is not in the graph"));
                }
            }
        }
        self.tasks.reserve(nodes.len());
        let mut fresh: Vec<(Tid, Vec<Key>)> = Vec::new();
        for n in nodes {
            if let Some(t) = self.tasks.tid_of(&n.key) {
                // Same key, same work: keep what is there (remote nodes were validated as known).
                staged.push(t, false);
                continue;
            }
            let mut spec = n.spec;
            if let WireSpec::Task(ops) = &mut spec {
                for op in ops {
                    op.name = self.intern(&op.name);
                }
            }
            let t = self.tasks.insert(Task::new(n.key, spec, (generation, n.priority)));
            self.counts.add(St::Released);
            fresh.push((t, n.deps));
            staged.push(t, true);
            self.submitted += 1;
        }
        for (t, deps) in fresh {
            // Validated: every dependency is indexed.
            let ids: Vec<Tid> = deps.iter().map(|d| self.tasks.tid_of(d).expect("indexed")).collect();
            for d in unique(&ids) {
                let dep = self.tasks.get_mut(&d).expect("indexed tasks exist");
                dep.dependents.push(t);
                dep.live_dependents += 1;
            }
            self.tasks.get_mut(&t).expect("just inserted").deps = SmallVec::from_vec(ids);
        }
        Ok(())
    }

    /// A client drops references.
    pub fn release(&mut self, client: ClientId, keys: &[Key]) {
        for k in keys {
            let Some(t) = self.tasks.tid_of(k) else { continue };
            let Some(c) = self.clients.get_mut(&client) else { return };
            let Some(n) = c.wants.get_mut(&t) else { continue };
            *n -= 1;
            if *n == 0 {
                c.wants.remove(&t);
            }
            self.drop_wants(t, 1);
        }
    }

    /// A client cancels keys: its references go, and so does work nobody else needs.
    pub fn cancel(&mut self, client: ClientId, keys: &[Key]) {
        for k in keys {
            let Some(t) = self.tasks.tid_of(k) else { continue };
            let n = self.clients.get_mut(&client).and_then(|c| c.wants.remove(&t)).unwrap_or(0);
            if n > 0 {
                self.outbox.push(Out::Client(client, ToClient::Cancelled { key: k.clone() }));
                self.drop_wants(t, n);
            }
        }
    }

    /// Where keys are held: data addresses per key.
    pub fn who_has(&self, keys: &[Key]) -> Vec<(Key, Vec<String>)> {
        keys.iter()
            .map(|k| {
                let holders = self
                    .tasks
                    .tid_of(k)
                    .and_then(|t| self.tasks.get(&t))
                    .filter(|t| t.state == St::Memory)
                    .map(|t| self.addresses(t.who_has.as_slice()))
                    .unwrap_or_default();
                (k.clone(), holders)
            })
            .collect()
    }

    /// The data addresses of all workers.
    pub fn worker_addresses(&self) -> Vec<String> {
        self.workers.values().map(|w| w.address.clone()).collect()
    }

    /// A client stored values on workers itself; it holds one reference to each.
    pub fn scattered(&mut self, client: ClientId, keys: Vec<(Key, Vec<String>, u64)>) {
        for (key, addresses, nbytes) in keys {
            let holders: Vec<WorkerId> =
                self.workers.iter().filter(|(_, w)| addresses.contains(&w.address)).map(|(&id, _)| id).collect();
            if holders.is_empty() {
                let error = TaskError {
                    key: key.clone(),
                    op: "scatter".into(),
                    message: format!("no worker at {} holds it", addresses.join(", ")),
                };
                self.outbox.push(Out::Client(client, ToClient::Erred { key, error }));
                continue;
            }
            let t = match self.tasks.tid_of(&key) {
                Some(t) => t,
                None => {
                    let mut task = Task::new(key.clone(), WireSpec::Remote, (self.generation, 0));
                    task.nbytes = nbytes;
                    let t = self.tasks.insert(task);
                    self.counts.add(St::Released);
                    t
                }
            };
            if matches!(self.tasks[&t].state, St::Released | St::Memory) {
                self.counts.moved(
                    std::mem::replace(&mut self.tasks.get_mut(&t).expect("indexed tasks exist").state, St::Memory),
                    St::Memory,
                );
                for w in holders {
                    self.add_replica(t, w, nbytes);
                }
                self.notify_watchers(t, true, 0.0);
            }
            self.tasks.get_mut(&t).expect("indexed tasks exist").wanted += 1;
            *self.clients.entry(client).or_default().wants.entry(t).or_default() += 1;
            self.outbox.push(Out::Client(client, ToClient::Done { key }));
        }
    }

    // ---------------------------------------------------------------- task events

    /// A worker finished a task.
    ///
    /// Only a report of the task's current assignment counts: `run` must be the id of the
    /// `Compute` that made it processing on `wid`. Any other report comes from an assignment
    /// the scheduler withdrew (taken back with a `Release` when a worker holding an input died,
    /// stolen, or moved on), and the worker drops that result when the `Release` reaches it.
    /// Taking it as held made the scheduler list a worker for a result it no longer had.
    pub fn task_done(&mut self, wid: WorkerId, key: &Key, run: u64, nbytes: u64, seconds: f64) {
        let Some(t) = self.tasks.tid_of(key) else {
            self.outbox.push(Out::Worker(wid, ToWorker::Release { keys: vec![key.clone()] }));
            return;
        };
        let Some(worker) = self.workers.get_mut(&wid) else { return };
        let state = self.tasks[&t].state;
        if state != St::Processing(wid) || worker.processing.run(&t) != Some(run) {
            self.stale_report(t, wid);
            return;
        }
        worker.processing.remove(&t);
        self.avg_duration = 0.9 * self.avg_duration + 0.1 * seconds.max(0.0);
        self.record_duration(t, seconds.max(0.0));
        self.finished += 1;
        {
            let task = self.tasks.get_mut(&t).expect("indexed tasks exist");
            self.counts.moved(std::mem::replace(&mut task.state, St::Memory), St::Memory);
            task.set_steal_to(None);
            task.nbytes = nbytes;
            task.who_has.clear();
            task.who_has.push(wid);
        }
        self.workers.get_mut(&wid).expect("checked above").has.insert(t);
        self.notify_watchers(t, true, seconds);
        let deps = self.tasks[&t].deps.clone();
        for d in deps {
            if let Some(dep) = self.tasks.get_mut(&d) {
                dep.waiters = dep.waiters.saturating_sub(1);
            }
            self.maybe_release(d);
        }
        let mut ready = std::mem::take(&mut self.scratch);
        ready.clear();
        for &x in &self.tasks[&t].dependents {
            if let Some(dep) = self.tasks.get(&x) {
                if dep.state == St::Waiting && dep.deps.contains(&t) {
                    ready.push(x);
                }
            }
        }
        for &x in &ready {
            let task = self.tasks.get_mut(&x).expect("listed above");
            if task.state != St::Waiting {
                continue;
            }
            // A task listing this input twice counted it missing twice.
            let times = task.deps.iter().filter(|&&d| d == t).count();
            task.n_missing = task.n_missing.saturating_sub(u32::try_from(times).unwrap_or(u32::MAX));
            if task.n_missing == 0 {
                self.make_ready(x);
            }
        }
        self.scratch = ready;
        self.notify_done(t);
        self.maybe_release(t);
        self.dispatch_queue();
        if self.workers.get(&wid).is_some_and(|w| w.processing.len() < w.nthreads) {
            self.balance();
        }
    }

    /// A worker reports that a task failed.
    pub fn task_erred(&mut self, wid: WorkerId, key: &Key, run: u64, op: String, message: String) {
        let Some(t) = self.tasks.tid_of(key) else { return };
        if !self.is_current(t, wid, run) {
            return; // stale: the task moved on
        }
        let err = TaskError { key: key.clone(), op, message };
        self.set_erred(t, Arc::new(err));
        self.dispatch_queue();
        self.balance();
    }

    /// A worker could not fetch `dependency` for `key` from any holder.
    ///
    /// The reporting worker is dropped from the holders too when it is listed: it looked for the
    /// value because it does not have it. (Kept listed, it was sent the task again with itself
    /// as the only holder, fetched from itself, reported the input missing, and so on without
    /// end: a fit hung that way after a worker was killed.)
    pub fn missing(&mut self, wid: WorkerId, key: &Key, run: u64, dependency: &Key) {
        if let Some(d) = self.tasks.tid_of(dependency) {
            if self.tasks[&d].state == St::Memory {
                let holders = self.tasks[&d].who_has.clone();
                for h in holders {
                    self.lose_replica(d, h);
                    if let Some(w) = self.workers.get_mut(&h) {
                        w.has.remove(&d);
                        if h != wid {
                            self.outbox.push(Out::Worker(h, ToWorker::Release { keys: vec![dependency.clone()] }));
                        }
                    }
                }
            }
        }
        if let Some(t) = self.tasks.tid_of(key) {
            // Only for the current assignment: after a stale report the worker was sent the
            // task again and runs it.
            if self.is_current(t, wid, run) {
                if let Some(w) = self.workers.get_mut(&wid) {
                    w.processing.remove(&t);
                }
                self.back_to_waiting(t);
            }
        }
        self.dispatch_queue();
    }

    /// The id of `key`'s assignment on `wid`, or 0 (never handed out) if it is not processing
    /// there: what that worker's report would carry.
    #[cfg(test)]
    fn run_of(&self, wid: WorkerId, key: &Key) -> u64 {
        self.tasks.tid_of(key).and_then(|t| self.workers.get(&wid).and_then(|w| w.processing.run(&t))).unwrap_or(0)
    }

    /// Whether `t` is processing on `wid` under assignment `run`.
    fn is_current(&self, t: Tid, wid: WorkerId, run: u64) -> bool {
        self.tasks.get(&t).is_some_and(|task| task.state == St::Processing(wid))
            && self.workers.get(&wid).and_then(|w| w.processing.run(&t)) == Some(run)
    }

    /// A finished report of an assignment that is no longer current. The worker keeps no
    /// result the scheduler does not know of: unless it runs the task again (a newer
    /// assignment, which will report) or is listed as holding it, it is told to drop it, which
    /// it does already if the assignment was withdrawn with a `Release`.
    fn stale_report(&mut self, t: Tid, wid: WorkerId) {
        let task = &self.tasks[&t];
        tracing::debug!(key = %task.key, worker = wid, "a report of a withdrawn assignment is ignored");
        if task.state != St::Processing(wid) && !task.who_has.contains(&wid) {
            self.outbox.push(Out::Worker(wid, ToWorker::Release { keys: vec![task.key.clone()] }));
        }
    }

    /// A worker now also holds these keys.
    pub fn added(&mut self, wid: WorkerId, keys: &[(Key, u64)]) {
        for (k, nbytes) in keys {
            match self.tasks.tid_of(k) {
                Some(t) if self.tasks[&t].state == St::Memory => self.add_replica(t, wid, *nbytes),
                _ => self.outbox.push(Out::Worker(wid, ToWorker::Release { keys: vec![k.clone()] })),
            }
        }
    }

    /// A worker answered a steal request.
    pub fn steal_reply(&mut self, victim: WorkerId, key: &Key, stolen: bool) {
        let Some(t) = self.tasks.tid_of(key) else { return };
        let task = self.tasks.get_mut(&t).expect("indexed tasks exist");
        let thief = task.set_steal_to(None);
        if !stolen || task.state != St::Processing(victim) {
            return;
        }
        if let Some(w) = self.workers.get_mut(&victim) {
            w.processing.remove(&t);
        }
        match thief.filter(|th| self.workers.contains_key(th)) {
            Some(th) => self.send_compute(t, th),
            None => {
                self.counts.moved(
                    std::mem::replace(&mut self.tasks.get_mut(&t).expect("indexed tasks exist").state, St::Waiting),
                    St::Waiting,
                );
                self.make_ready(t);
            }
        }
        self.dispatch_queue();
    }

    // ---------------------------------------------------------------- notifications

    /// Tells the clients that want `t` that it is in memory.
    fn notify_done(&mut self, t: Tid) {
        if self.tasks[&t].wanted == 0 {
            return;
        }
        let key = self.tasks[&t].key.clone();
        for (&c, client) in &self.clients {
            if client.wants.contains_key(&t) {
                self.outbox.push(Out::Client(c, ToClient::Done { key: key.clone() }));
            }
        }
    }

    /// Tells the clients that want `t` that it failed, and why.
    fn notify_erred(&mut self, t: Tid) {
        let task = &self.tasks[&t];
        if task.wanted == 0 {
            return;
        }
        let error = task.error().map(|e| TaskError::clone(e)).expect("erred tasks carry their error");
        for (&c, client) in &self.clients {
            if client.wants.contains_key(&t) {
                self.outbox.push(Out::Client(c, ToClient::Erred { key: task.key.clone(), error: error.clone() }));
            }
        }
    }

    /// The data addresses of these workers (those still connected).
    fn addresses(&self, ids: &[WorkerId]) -> Vec<String> {
        ids.iter().filter_map(|w| self.workers.get(w)).map(|w| w.address.clone()).collect()
    }

    // ---------------------------------------------------------------- observation

    /// Counts of tasks by state.
    pub fn counts(&self) -> TaskCounts {
        let [released, waiting, queued, processing, memory, erred] = self.counts.0;
        TaskCounts { waiting, queued, processing, memory, erred, released, total: self.tasks.len() }
    }

    /// A snapshot for the status endpoint.
    pub fn snapshot(&self, address: &str, now: Instant) -> StatusSnapshot {
        StatusSnapshot {
            protocol: super::protocol::PROTOCOL_VERSION,
            address: address.to_string(),
            uptime_s: now.duration_since(self.started).as_secs_f64(),
            workers: self
                .workers
                .iter()
                .map(|(&id, w)| WorkerStatus {
                    id,
                    address: w.address.clone(),
                    nthreads: w.nthreads,
                    processing: w.processing.len(),
                    n_keys: w.has.len(),
                    memory_bytes: w.metrics.memory_bytes,
                    memory_limit: w.memory_limit,
                    spilled_bytes: w.metrics.spilled_bytes,
                    paused: w.metrics.paused,
                    last_seen_ms: now.duration_since(w.last_seen).as_millis() as u64,
                    tasks_done: w.metrics.tasks_done,
                    fetched_bytes: w.metrics.fetched_bytes,
                })
                .collect(),
            clients: self.clients.len(),
            tasks: self.counts(),
            progress: Progress { finished: self.finished, erred: self.erred, submitted: self.submitted },
        }
    }

    /// Process ids of the workers.
    pub fn worker_pids(&self) -> Vec<(WorkerId, u32)> {
        self.workers.iter().map(|(&id, w)| (id, w.pid)).collect()
    }

    /// Checks internal invariants (tests): every processing task is listed by its worker and
    /// vice versa, every held result by its holders, every waiting count is right.
    #[cfg(test)]
    pub fn check_invariants(&self) -> Result<(), String> {
        let recounted = StateCounts::of(self.tasks.values());
        if recounted != self.counts {
            return Err(format!("tasks per state are {:?}, but the kept counts say {:?}", recounted.0, self.counts.0));
        }
        for (&t, w) in &self.watchers {
            match self.tasks.get(&t) {
                None => return Err(format!("task {t} is watched but forgotten")),
                Some(task) if matches!(task.state, St::Memory | St::Erred) => {
                    return Err(format!("{} ended ({:?}) but its watchers {w:?} were not told", task.key, task.state));
                }
                Some(_) => {}
            }
        }
        let in_queue: FxHashSet<Tid> = self.queue.heap.iter().map(|&Reverse((_, t))| t).collect();
        if self.counts.queued() == 0 && !self.queue.heap.is_empty() {
            return Err(format!("no task is queued, but the root queue keeps {} entries", self.queue.heap.len()));
        }
        for (t, task) in self.tasks.iter() {
            match task.state {
                St::Queued if !in_queue.contains(&t) => {
                    return Err(format!("{} queued, but not in the root queue", task.key));
                }
                St::Processing(w) if !self.workers.get(&w).is_some_and(|wk| wk.processing.contains(&t)) => {
                    return Err(format!("{} processing on {w}, which does not list it", task.key));
                }
                St::Memory if task.who_has.is_empty() => {
                    return Err(format!("{} in memory nowhere", task.key));
                }
                St::Waiting => {
                    let missing = task.deps.iter().filter(|d| self.tasks[d].state != St::Memory).count();
                    if missing != task.n_missing as usize {
                        return Err(format!(
                            "{} waits for {} inputs, {} are missing",
                            task.key, task.n_missing, missing
                        ));
                    }
                }
                _ => {}
            }
            let waiters = task
                .dependents
                .iter()
                .filter_map(|x| self.tasks.get(x))
                .filter(|x| matches!(x.state, St::Waiting | St::Queued | St::Processing(_)))
                .map(|x| x.deps.iter().filter(|&&d| d == t).count())
                .sum::<usize>();
            if waiters != task.waiters as usize {
                return Err(format!("{} has {waiters} waiting dependents but counts {}", task.key, task.waiters));
            }
        }
        for (&w, wk) in &self.workers {
            for t in wk.processing.iter() {
                if self.tasks.get(t).map(|x| x.state) != Some(St::Processing(w)) {
                    return Err(format!("worker {w} lists a task that is not processing there"));
                }
            }
            let sum: f64 = wk.processing.tasks.values().map(|&(d, _)| d).sum();
            if (sum - wk.processing.occupancy).abs() > 1e-9 * (1.0 + sum) {
                return Err(format!("worker {w} has occupancy {} but its tasks sum to {sum}", wk.processing.occupancy));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(key: &str, deps: &[&str], priority: u32) -> WireNode {
        WireNode {
            key: Key::new(key),
            spec: WireSpec::Task(smallvec::smallvec![crate::protocol::WireOp {
                name: "test.op".into(),
                version: 1,
                args: rask_core::wire::WireArgs::new(),
            }]),
            deps: deps.iter().map(|d| Key::new(*d)).collect(),
            priority,
        }
    }

    /// A task running op `name`.
    fn op(key: &str, deps: &[&str], priority: u32, name: &str) -> WireNode {
        let mut n = task(key, deps, priority);
        if let WireSpec::Task(ops) = &mut n.spec {
            ops[0].name = name.into();
        }
        n
    }

    #[test]
    fn holders_keep_none_one_or_a_list_and_give_them_back_in_order() {
        assert_eq!(std::mem::size_of::<Holders>(), 16);
        let mut h = Holders::default();
        assert!(h.is_empty());
        h.push(3);
        assert_eq!(h, Holders::One(3));
        h.push(5);
        h.push(7);
        assert_eq!(h.as_slice(), &[3, 5, 7]);
        assert!(h.contains(&5) && !h.contains(&4));
        h.retain(|w| *w != 5);
        assert_eq!(h.iter().copied().collect::<Vec<_>>(), vec![3, 7]);
        h.retain(|w| *w != 3);
        assert_eq!(h, Holders::One(7), "a list down to one holder goes back inline");
        assert_eq!(h.clone().into_iter().collect::<Vec<_>>(), vec![7]);
        h.retain(|_| false);
        assert_eq!(h, Holders::None);
        h.push(1);
        h.push(2);
        assert_eq!(std::mem::take(&mut h).into_iter().collect::<Vec<_>>(), vec![1, 2]);
        assert!(h.is_empty());
        h.push(9);
        h.clear();
        assert_eq!(h.into_iter().next(), None);
    }

    fn computes(s: &mut ClusterState) -> Vec<(WorkerId, Key)> {
        let mut out = Vec::new();
        s.outbox.retain(|o| match o {
            Out::Worker(w, ToWorker::Compute { key, .. }) => {
                out.push((*w, key.clone()));
                false
            }
            _ => true,
        });
        out
    }

    fn state_with_workers(n: u64) -> ClusterState {
        let mut s = ClusterState::new(StateConfig::default());
        let now = Instant::now();
        for w in 1..=n {
            s.add_worker(w, format!("127.0.0.1:{w}"), 1, None, w as u32, now);
        }
        s.add_client(100);
        s
    }

    /// The client messages in the outbox, in order (taken out).
    fn to_client(s: &mut ClusterState, client: ClientId) -> Vec<ToClient> {
        let mut out = Vec::new();
        s.outbox.retain(|o| match o {
            Out::Client(c, m) if *c == client => {
                out.push(m.clone());
                false
            }
            _ => true,
        });
        out
    }

    /// Root tasks wait in the queue in priority order while no worker has room; those cancelled,
    /// failed or finished meanwhile leave entries that are skipped, and nothing is kept once no
    /// task is queued.
    #[test]
    fn the_root_queue_hands_out_by_priority_and_skips_tasks_that_left_it() {
        let mut s = ClusterState::new(StateConfig::default());
        s.add_client(100);
        let roots: Vec<WireNode> = (0..6).map(|i| task(&format!("r{i}"), &[], 10 - i)).collect();
        let wants: Vec<Key> = roots.iter().map(|n| n.key.clone()).collect();
        s.submit_part(100, 1, roots, wants, false).unwrap();
        assert_eq!((s.counts().queued, s.queue.heap.len()), (6, 6));
        // r4 is cancelled; r2 is cancelled (forgotten) and submitted again: a new task of the
        // later submission, which runs after the first one's.
        s.cancel(100, &[Key::new("r4"), Key::new("r2")]);
        s.submit_part(100, 2, vec![task("r2", &[], 8)], vec![Key::new("r2")], false).unwrap();
        s.check_invariants().unwrap();
        assert_eq!((s.counts().queued, s.queue.heap.len()), (5, 7));
        assert_eq!(
            s.queue.queued(&s.tasks).iter().map(|t| s.tasks[t].key.to_string()).collect::<Vec<_>>(),
            ["'r5'", "'r3'", "'r1'", "'r0'", "'r2'"]
        );
        let now = Instant::now();
        s.add_worker(1, "127.0.0.1:1".into(), 1, None, 1, now);
        let first: Vec<Key> = computes(&mut s).into_iter().map(|(_, k)| k).collect();
        s.check_invariants().unwrap();
        let mut order = first.clone();
        while s.counts().queued + s.counts().processing > 0 {
            for k in std::mem::take(&mut order) {
                s.task_done(1, &k, s.run_of(1, &k), 8, 0.001);
            }
            s.check_invariants().unwrap();
            order = computes(&mut s).into_iter().map(|(_, k)| k).collect();
            assert!(!order.is_empty() || s.counts().queued + s.counts().processing == 0);
            order.iter().for_each(|k| assert!(!first.contains(k), "{k} sent twice"));
        }
        assert_eq!(s.counts().memory, 5);
        assert!(s.queue.heap.is_empty(), "nothing kept once nothing is queued");
        // Failing every queued task (no worker for too long) empties the queue too.
        s.remove_worker(1, "gone");
        s.submit_part(100, 3, vec![task("z", &[], 0)], vec![Key::new("z")], false).unwrap();
        // The five results went with the worker: they wait to be computed again, with z.
        assert_eq!(s.waiting_without_workers(), 6);
        s.fail_waiting("no workers");
        s.check_invariants().unwrap();
        assert!(s.queue.heap.is_empty());
    }

    /// A submission in parts runs as one once its last part arrives (nothing runs before);
    /// a rejected part takes the earlier parts back and the rest of that submission is
    /// ignored; a client that leaves mid-way leaves nothing behind; and another client's
    /// release cannot forget a node a later part depends on.
    #[test]
    fn submissions_in_parts_run_whole_and_are_taken_back_when_rejected_or_abandoned() {
        let mut s = state_with_workers(1);
        s.stage(100, 1, vec![task("a", &[], 0), task("b", &["a"], 1)]).unwrap();
        s.stage(100, 1, vec![task("c", &["b"], 2)]).unwrap();
        s.check_invariants().unwrap();
        assert!(computes(&mut s).is_empty(), "nothing runs before the submission completes");
        assert_eq!(s.counts().total, 3);
        assert!(s.submit_part(100, 1, vec![task("d", &["c", "a"], 3)], vec![Key::new("d")], true).unwrap());
        for k in ["a", "b", "c", "d"] {
            assert_eq!(computes(&mut s), vec![(1, Key::new(k))]);
            s.task_done(1, &Key::new(k), s.run_of(1, &Key::new(k)), 8, 0.001);
            s.check_invariants().unwrap();
        }
        s.flush_events();
        let msgs = to_client(&mut s, 100);
        let ToClient::TaskEvents { id: 1, events } = &msgs[0] else { panic!("events first: {msgs:?}") };
        assert_eq!(events.len(), 4, "every part's nodes are reported");
        assert_eq!(msgs[1], ToClient::Done { key: Key::new("d") });
        // Only the wanted output is held; its inputs stay known (released) while it lives.
        assert_eq!((s.counts().memory, s.counts().total), (1, 4));

        // A part that names an unknown input is rejected; the earlier part goes with it.
        s.stage(100, 2, vec![task("p", &[], 0)]).unwrap();
        let err = s.stage(100, 2, vec![task("q", &["nowhere"], 1)]).unwrap_err();
        assert!(err.contains("nowhere"), "{err}");
        assert_eq!(s.counts().total, 4, "the first part was taken back");
        s.stage(100, 2, vec![task("r", &["p"], 2)]).unwrap();
        assert!(!s.submit_part(100, 2, vec![], vec![Key::new("r")], false).unwrap(), "already rejected");
        assert_eq!(s.counts().total, 4);
        assert!(computes(&mut s).is_empty());
        s.check_invariants().unwrap();

        // A client that leaves with a submission half sent leaves nothing.
        s.add_client(300);
        s.stage(300, 1, vec![task("x", &[], 0), task("y", &["x", "d"], 1)]).unwrap();
        assert_eq!(s.counts().total, 6);
        s.remove_client(300);
        assert_eq!(s.counts().total, 4);
        s.check_invariants().unwrap();

        // Client 200 wants "m"; client 100 sends "m" in a part; 200 releases it before 100's
        // last part, which depends on it: it is still there, and runs.
        s.add_client(200);
        s.submit_part(200, 1, vec![task("m", &[], 0)], vec![Key::new("m")], false).unwrap();
        s.stage(100, 3, vec![task("m", &[], 0)]).unwrap();
        s.release(200, &[Key::new("m")]);
        assert!(s.submit_part(100, 3, vec![task("n", &["m"], 1)], vec![Key::new("n")], false).unwrap());
        s.check_invariants().unwrap();
        for (_, k) in computes(&mut s) {
            s.task_done(1, &k, s.run_of(1, &k), 8, 0.001);
        }
        for (_, k) in computes(&mut s) {
            s.task_done(1, &k, s.run_of(1, &k), 8, 0.001);
        }
        let done: Vec<ToClient> = to_client(&mut s, 100);
        assert!(done.contains(&ToClient::Done { key: Key::new("n") }), "{done:?}");
        s.check_invariants().unwrap();
    }

    /// A watching client gets every task's end (time, failure), in a batch before the outputs'
    /// `Done`; results already held are reported at once; a failure reaches the dependents;
    /// another client's submission is not reported to it; a client that leaves is forgotten.
    #[test]
    fn watching_clients_get_every_task_end_before_the_outputs_done() {
        let mut s = state_with_workers(1);
        s.add_client(200);
        let nodes = vec![task("a", &[], 0), task("b", &["a"], 1), task("c", &["b"], 2)];
        let keys: Vec<Key> = nodes.iter().map(|n| n.key.clone()).collect();
        s.submit(100, nodes, vec![Key::new("c")]).unwrap();
        s.watch(100, 7, &keys);
        s.check_invariants().unwrap();
        for (k, secs) in [("a", 0.5), ("b", 0.25), ("c", 0.125)] {
            computes(&mut s);
            s.task_done(1, &Key::new(k), s.run_of(1, &Key::new(k)), 8, secs);
            s.check_invariants().unwrap();
        }
        s.flush_events();
        let msgs = to_client(&mut s, 100);
        let ev = |k: &str, ok: bool, micros: u64| TaskEvent { key: Key::new(k), ok, micros };
        assert_eq!(
            msgs,
            vec![
                ToClient::TaskEvents {
                    id: 7,
                    events: vec![ev("a", true, 500_000), ev("b", true, 250_000), ev("c", true, 125_000)]
                },
                ToClient::Done { key: Key::new("c") },
            ],
            "events first, then the output"
        );
        // A second submission sharing `c`: held results are reported at once, with no time.
        let nodes = vec![task("c", &["b"], 2), task("d", &["c"], 3), task("e", &["d"], 4)];
        let keys: Vec<Key> = nodes.iter().map(|n| n.key.clone()).collect();
        s.submit(100, nodes, vec![Key::new("e")]).unwrap();
        s.watch(100, 8, &keys);
        s.flush_events();
        assert_eq!(to_client(&mut s, 100), vec![ToClient::TaskEvents { id: 8, events: vec![ev("c", true, 0)] }]);
        // `d` fails: `d` and its dependent `e` are reported failed.
        computes(&mut s);
        s.task_erred(1, &Key::new("d"), s.run_of(1, &Key::new("d")), "test.op".into(), "no".into());
        s.check_invariants().unwrap();
        s.flush_events();
        let msgs = to_client(&mut s, 100);
        assert_eq!(msgs[0], ToClient::TaskEvents { id: 8, events: vec![ev("d", false, 0), ev("e", false, 0)] });
        assert!(matches!(msgs[1], ToClient::Erred { .. }), "{msgs:?}");
        // Another client's work is not reported to a client that did not ask; a watcher that
        // leaves is dropped.
        s.submit(200, vec![task("f", &[], 5)], vec![Key::new("f")]).unwrap();
        s.watch(100, 9, &[Key::new("f")]);
        s.remove_client(100);
        s.check_invariants().unwrap();
        computes(&mut s);
        s.task_done(1, &Key::new("f"), s.run_of(1, &Key::new("f")), 8, 0.1);
        s.flush_events();
        assert!(to_client(&mut s, 100).is_empty());
        assert_eq!(to_client(&mut s, 200), vec![ToClient::Done { key: Key::new("f") }]);
        s.check_invariants().unwrap();
    }

    /// A worker listed as the only holder of an input, that reports the input missing, is no
    /// longer listed: the input is recomputed, not fetched from that worker again and again.
    #[test]
    fn a_worker_that_reports_its_own_listed_input_missing_stops_holding_it() {
        let mut s = state_with_workers(2);
        s.submit(100, vec![task("a", &[], 0), task("c", &["a"], 1)], vec![Key::new("c")]).unwrap();
        let sent = computes(&mut s);
        assert_eq!(sent.len(), 1);
        let wa = sent[0].0;
        s.task_done(wa, &Key::new("a"), s.run_of(wa, &Key::new("a")), 10, 0.001);
        let sent = computes(&mut s);
        assert_eq!(sent, vec![(wa, Key::new("c"))], "c goes to the holder of a");
        // The holder itself cannot find `a` (its copy is gone).
        s.missing(wa, &Key::new("c"), s.run_of(wa, &Key::new("c")), &Key::new("a"));
        s.check_invariants().unwrap();
        let sent = computes(&mut s);
        assert_eq!(sent.iter().map(|(_, k)| k.clone()).collect::<Vec<_>>(), vec![Key::new("a")], "a is recomputed");
        assert!(s.who_has(&[Key::new("a")])[0].1.is_empty(), "no worker is listed for a until it is done again");
        let w = sent[0].0;
        s.task_done(w, &Key::new("a"), s.run_of(w, &Key::new("a")), 10, 0.001);
        assert_eq!(computes(&mut s), vec![(w, Key::new("c"))]);
        s.check_invariants().unwrap();
    }

    #[test]
    fn tasks_go_where_their_input_bytes_are() {
        let mut s = state_with_workers(2);
        s.submit(100, vec![task("a", &[], 0), task("b", &[], 1), task("c", &["a", "b"], 2)], vec![Key::new("c")])
            .unwrap();
        let sent = computes(&mut s);
        assert_eq!(sent.len(), 2, "both roots start: {sent:?}");
        let on = |k: &str| sent.iter().find(|(_, x)| x.name() == k).unwrap().0;
        let (wa, wb) = (on("a"), on("b"));
        s.task_done(wa, &Key::new("a"), s.run_of(wa, &Key::new("a")), 10, 0.001);
        s.task_done(wb, &Key::new("b"), s.run_of(wb, &Key::new("b")), 50_000_000, 0.001);
        let sent = computes(&mut s);
        assert_eq!(sent, vec![(wb, Key::new("c"))], "c goes to the holder of its 50 MB input");
        s.check_invariants().unwrap();
    }

    #[test]
    fn root_tasks_wait_at_the_scheduler_until_workers_have_room() {
        let mut s = state_with_workers(1);
        // Long tasks: the backlog a worker is given is twice its threads.
        s.avg_duration = 1.0;
        let nodes: Vec<WireNode> = (0..100).map(|i| task(&format!("t{i}"), &[], i)).collect();
        let wants = nodes.iter().map(|n| n.key.clone()).collect();
        s.submit(100, nodes, wants).unwrap();
        let sent = computes(&mut s);
        assert_eq!(sent.len(), 2, "one thread: two tasks in flight");
        assert_eq!(sent[0].1, Key::new("t0"), "in priority order");
        assert_eq!(s.counts().queued, 98);
        s.task_done(1, &Key::new("t0"), s.run_of(1, &Key::new("t0")), 8, 1.0);
        assert_eq!(computes(&mut s), vec![(1, Key::new("t2"))]);
        s.check_invariants().unwrap();
    }

    #[test]
    fn an_idle_worker_steals_queued_work() {
        let mut s = state_with_workers(1);
        s.avg_duration = 1.0;
        s.submit(100, vec![task("root", &[], 0)], vec![]).unwrap();
        let nodes: Vec<WireNode> = (0..10).map(|i| task(&format!("d{i}"), &["root"], i + 1)).collect();
        let wants: Vec<Key> = nodes.iter().map(|n| n.key.clone()).collect();
        s.submit(100, nodes, wants).unwrap();
        computes(&mut s);
        s.task_done(1, &Key::new("root"), s.run_of(1, &Key::new("root")), 8, 1.0);
        assert_eq!(computes(&mut s).len(), 10, "the dependents go to the holder of their input");
        s.add_worker(2, "127.0.0.1:2".into(), 1, None, 2, Instant::now());
        let steals: Vec<Key> = s
            .outbox
            .iter()
            .filter_map(|o| match o {
                Out::Worker(1, ToWorker::Steal { key }) => Some(key.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(steals.len(), 1, "the new worker has one thread free: {:?}", s.outbox);
        s.outbox.clear();
        s.steal_reply(1, &steals[0], true);
        assert_eq!(computes(&mut s), vec![(2, steals[0].clone())]);
        s.check_invariants().unwrap();
    }

    /// Stealing weighs moving a task's inputs against its own op's run time: with a 20 MB
    /// input (0.1 s to move), tasks of an op that takes 1 s are stolen and tasks of an op that
    /// takes 1 ms stay where their input is, though the fast ones are those the victim would
    /// run last (a single mean duration treated both alike).
    #[test]
    fn stealing_uses_each_ops_expected_duration() {
        let mut s = state_with_workers(1);
        let warm = vec![Key::new("slow-warm"), Key::new("fast-warm")];
        s.submit(100, vec![op("slow-warm", &[], 0, "test.slow"), op("fast-warm", &[], 1, "test.fast")], warm).unwrap();
        computes(&mut s);
        s.task_done(1, &Key::new("slow-warm"), s.run_of(1, &Key::new("slow-warm")), 8, 1.0);
        s.task_done(1, &Key::new("fast-warm"), s.run_of(1, &Key::new("fast-warm")), 8, 0.001);
        let mut nodes: Vec<WireNode> = (0..5).map(|i| op(&format!("s{i}"), &["root"], 10 + i, "test.slow")).collect();
        nodes.extend((0..5).map(|i| op(&format!("f{i}"), &["root"], 20 + i, "test.fast")));
        let wants: Vec<Key> = nodes.iter().map(|n| n.key.clone()).collect();
        nodes.push(op("root", &[], 2, "test.root"));
        s.submit(100, nodes, wants).unwrap();
        assert_eq!(computes(&mut s), vec![(1, Key::new("root"))]);
        s.task_done(1, &Key::new("root"), s.run_of(1, &Key::new("root")), 20_000_000, 0.01);
        assert_eq!(computes(&mut s).len(), 10, "all go to the holder of their input");
        s.add_worker(2, "127.0.0.1:2".into(), 8, None, 2, Instant::now());
        let mut steals: Vec<Key> = s
            .outbox
            .iter()
            .filter_map(|o| match o {
                Out::Worker(1, ToWorker::Steal { key }) => Some(key.clone()),
                _ => None,
            })
            .collect();
        steals.sort();
        let slow: Vec<Key> = (0..5).map(|i| Key::new(format!("s{i}"))).collect();
        assert_eq!(steals, slow, "{:?}", s.outbox);
        assert!((s.expected_duration(s.tasks.tid_of(&Key::new("f0")).unwrap()) - 0.001).abs() < 1e-12);
        s.check_invariants().unwrap();
    }

    /// The backlog placement weighs is each worker's expected run time of what it has, by each
    /// op's own estimate (Dask's occupancy), not its task count times the mean: three 1 ms
    /// tasks are a shorter queue than one 1 s task, so a task whose input both hold goes to
    /// the worker with the three.
    #[test]
    fn placement_weighs_each_workers_backlog_by_its_ops_expected_durations() {
        let mut s = state_with_workers(2);
        // Teach the estimates: `test.slow` takes 1 s, `test.fast` 1 ms.
        let warm = vec![Key::new("slow-warm"), Key::new("fast-warm")];
        s.submit(100, vec![op("slow-warm", &[], 0, "test.slow"), op("fast-warm", &[], 1, "test.fast")], warm).unwrap();
        for (w, k) in computes(&mut s) {
            let secs = if k.name() == "slow-warm" { 1.0 } else { 0.001 };
            s.task_done(w, &k, s.run_of(w, &k), 8, secs);
        }
        // One input, copied to both workers.
        s.submit(100, vec![op("in", &[], 2, "test.fast")], vec![Key::new("in")]).unwrap();
        let [(holder, _)] = computes(&mut s)[..] else { panic!("one task") };
        s.task_done(holder, &Key::new("in"), s.run_of(holder, &Key::new("in")), 8, 0.001);
        s.added(3 - holder, &[(Key::new("in"), 8)]);
        // Worker 1 gets one slow task, worker 2 three fast ones (each needing `in`, held by both).
        let mut nodes = vec![op("s0", &["in"], 10, "test.slow")];
        nodes.extend((0..3).map(|i| op(&format!("f{i}"), &["in"], 20 + i, "test.fast")));
        let wants: Vec<Key> = nodes.iter().map(|n| n.key.clone()).collect();
        s.submit(100, nodes, wants).unwrap();
        s.outbox.clear();
        let busy: Vec<(u64, usize)> = (1..=2).map(|w| (w, s.workers[&w].processing.len())).collect();
        let one = busy.iter().find(|(_, n)| *n == 1).map(|(w, _)| *w);
        let three = busy.iter().find(|(_, n)| *n == 3).map(|(w, _)| *w);
        let (Some(slow_worker), Some(fast_worker)) = (one, three) else {
            panic!("the slow task alone on one worker, the fast ones on the other: {busy:?}")
        };
        assert!((s.workers[&slow_worker].processing.occupancy() - 1.0).abs() < 1e-9);
        assert!((s.workers[&fast_worker].processing.occupancy() - 0.003).abs() < 1e-9);
        s.submit(100, vec![op("next", &["in"], 30, "test.fast")], vec![Key::new("next")]).unwrap();
        assert_eq!(computes(&mut s), vec![(fast_worker, Key::new("next"))], "3 ms of backlog, not 1 s");
        s.check_invariants().unwrap();
    }

    /// A worker cut off by a partition is removed while another worker runs a task that needs a
    /// result only it held: that task cannot get its input (the fetch would wait on a silent
    /// connection for as long as TCP does), so it is released there and waits for the input to
    /// be recomputed, then runs again.
    #[test]
    fn a_task_needing_a_result_only_a_removed_worker_held_is_taken_back_and_runs_again() {
        let mut s = state_with_workers(2);
        let nodes = vec![task("a", &[], 0), task("b", &[], 1), task("c", &["a", "b"], 2)];
        s.submit(100, nodes, vec![Key::new("c")]).unwrap();
        let roots = computes(&mut s);
        assert_eq!(roots.len(), 2, "{roots:?}");
        for (w, k) in &roots {
            s.task_done(*w, k, s.run_of(*w, k), 8, 0.001);
        }
        let sent = computes(&mut s);
        let [(runner, c)] = &sent[..] else { panic!("c is sent to one worker: {sent:?}") };
        let runner = *runner;
        assert_eq!(c, &Key::new("c"));
        let gone = 3 - runner;
        let (_, lost) = roots.iter().find(|(w, _)| *w == gone).unwrap().clone();
        s.outbox.clear();
        s.remove_worker(gone, "partitioned");
        s.check_invariants().unwrap();
        let released: Vec<&Out> =
            s.outbox.iter().filter(|o| matches!(o, Out::Worker(w, ToWorker::Release { .. }) if *w == runner)).collect();
        assert_eq!(released.len(), 1, "{:?}", s.outbox);
        assert!(matches!(released[0], Out::Worker(_, ToWorker::Release { keys }) if keys == &[Key::new("c")]));
        assert_eq!(computes(&mut s), vec![(runner, lost.clone())], "the lost input is recomputed");
        s.task_done(runner, &lost, s.run_of(runner, &lost), 8, 0.001);
        assert_eq!(computes(&mut s), vec![(runner, Key::new("c"))], "then c runs again");
        s.task_done(runner, &Key::new("c"), s.run_of(runner, &Key::new("c")), 8, 0.001);
        assert!(to_client(&mut s, 100).contains(&ToClient::Done { key: Key::new("c") }));
        s.check_invariants().unwrap();
    }

    /// A task whose input had two holders, fetching it on a third worker, when one holder is
    /// removed: it may be fetching from that one (a partitioned host never answers), so it is
    /// released and sent again at once, naming only the holder left.
    /// Three workers: `a` held by `h1` and `h2`, and `c` (reading `a`) processing on `runner`,
    /// the third, which has to fetch `a`. Returns the state and `(h1, h2, runner)`.
    fn c_fetching_a_on_a_third_worker() -> (ClusterState, WorkerId, WorkerId, WorkerId) {
        let mut s = state_with_workers(3);
        s.submit(100, vec![task("a", &[], 0)], vec![Key::new("a")]).unwrap();
        let sent = computes(&mut s);
        let [(h1, _)] = sent[..] else { panic!("{sent:?}") };
        s.task_done(h1, &Key::new("a"), s.run_of(h1, &Key::new("a")), 8, 0.001);
        let h2 = (1..=3).find(|&w| w != h1).unwrap();
        s.added(h2, &[(Key::new("a"), 8)]);
        let runner = 6 - h1 - h2;
        // Both holders paused, so `c` goes to the third worker.
        let paused = WorkerMetrics { paused: true, ..WorkerMetrics::default() };
        for h in [h1, h2] {
            s.heartbeat(h, paused.clone(), Instant::now());
        }
        s.submit(100, vec![task("c", &["a"], 1)], vec![Key::new("c")]).unwrap();
        assert_eq!(computes(&mut s), vec![(runner, Key::new("c"))]);
        for h in [h1, h2] {
            s.heartbeat(h, WorkerMetrics::default(), Instant::now());
        }
        s.outbox.clear();
        (s, h1, h2, runner)
    }

    #[test]
    fn a_task_that_may_be_fetching_from_a_removed_worker_is_sent_again_with_the_holders_left() {
        let (mut s, h1, h2, runner) = c_fetching_a_on_a_third_worker();
        s.remove_worker(h1, "partitioned");
        s.check_invariants().unwrap();
        assert!(
            s.outbox.contains(&Out::Worker(runner, ToWorker::Release { keys: vec![Key::new("c")] })),
            "{:?}",
            s.outbox
        );
        let again: Vec<&Vec<(Key, Vec<String>)>> = s
            .outbox
            .iter()
            .filter_map(|o| match o {
                Out::Worker(_, ToWorker::Compute { key, deps, .. }) if key == &Key::new("c") => Some(deps),
                _ => None,
            })
            .collect();
        assert_eq!(again, vec![&vec![(Key::new("a"), vec![format!("127.0.0.1:{h2}")])]], "{:?}", s.outbox);
    }

    #[test]
    fn a_report_of_a_withdrawn_assignment_is_not_taken_as_held() {
        // As above: `c` runs on `runner`, which may fetch `a` from `h1`; `h1` is removed, so
        // `c` is taken back from `runner` (a `Release`) and sent again.
        let (mut s, h1, _, runner) = c_fetching_a_on_a_third_worker();
        let c = Key::new("c");
        let first = s.run_of(runner, &c);
        s.remove_worker(h1, "partitioned");
        let again = computes(&mut s);
        let [(second_worker, _)] = again[..] else { panic!("{again:?}") };
        let second = s.run_of(second_worker, &c);
        assert!(second > first, "each assignment has a new id");
        s.outbox.clear();
        // `runner` had fetched `a` and finished `c` before the `Release` reached it: its report
        // names the withdrawn assignment, and it drops the result when the `Release` arrives.
        s.task_done(runner, &c, first, 8, 0.001);
        s.check_invariants().unwrap();
        let t = s.tasks.tid_of(&c).unwrap();
        assert_eq!(s.tasks[&t].state, St::Processing(second_worker), "the stale report is not a result");
        assert!(!s.tasks[&t].who_has.contains(&runner));
        if second_worker != runner {
            assert_eq!(s.outbox, vec![Out::Worker(runner, ToWorker::Release { keys: vec![c.clone()] })]);
        } else {
            assert_eq!(s.outbox, vec![], "the worker runs the new assignment, which will report");
        }
        // The same for a failure, and for a missing input, of the withdrawn assignment.
        s.task_erred(runner, &c, first, "test.op".into(), "late".into());
        s.missing(runner, &c, first, &Key::new("zzz"));
        assert_eq!(s.tasks[&t].state, St::Processing(second_worker));
        // The current assignment's report counts.
        s.outbox.clear();
        s.task_done(second_worker, &c, second, 8, 0.001);
        assert_eq!(s.tasks[&t].state, St::Memory);
        assert!(s.tasks[&t].who_has.contains(&second_worker));
        assert!(to_client(&mut s, 100).contains(&ToClient::Done { key: c.clone() }));
        s.check_invariants().unwrap();
    }

    #[test]
    fn results_lost_with_a_worker_are_recomputed_and_poison_tasks_fail() {
        let mut s = state_with_workers(2);
        s.submit(100, vec![task("a", &[], 0), task("b", &["a"], 1)], vec![Key::new("b")]).unwrap();
        let (w, _) = computes(&mut s)[0].clone();
        s.task_done(w, &Key::new("a"), s.run_of(w, &Key::new("a")), 8, 0.001);
        let (w2, _) = computes(&mut s)[0].clone();
        assert_eq!(w2, w);
        // The worker holding `a` and running `b` dies: `a` is recomputed, then `b`.
        s.remove_worker(w, "test");
        let other = 3 - w;
        assert_eq!(computes(&mut s), vec![(other, Key::new("a"))]);
        s.check_invariants().unwrap();
        s.task_done(other, &Key::new("a"), s.run_of(other, &Key::new("a")), 8, 0.001);
        assert_eq!(computes(&mut s), vec![(other, Key::new("b"))]);
        // `b` kills this worker and one more: the third death reaches the limit of 3 and it fails.
        s.remove_worker(other, "test");
        let now = Instant::now();
        for round in 0..1 {
            let id = 10 + round;
            s.add_worker(id, format!("127.0.0.1:{id}"), 1, None, 0, now);
            let mut sent = computes(&mut s);
            if sent.iter().any(|(_, k)| k.name() == "a") {
                s.task_done(id, &Key::new("a"), s.run_of(id, &Key::new("a")), 8, 0.001);
                sent = computes(&mut s);
            }
            assert_eq!(sent, vec![(id, Key::new("b"))], "round {round}");
            s.remove_worker(id, "test");
        }
        let errors: Vec<&TaskError> = s
            .outbox
            .iter()
            .filter_map(|o| match o {
                Out::Client(100, ToClient::Erred { error, .. }) => Some(error),
                _ => None,
            })
            .collect();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("3 workers died while running this task"), "{}", errors[0].message);
        s.check_invariants().unwrap();
    }

    #[test]
    fn released_work_is_forgotten_and_unneeded_work_is_withdrawn() {
        let mut s = state_with_workers(1);
        s.submit(100, vec![task("a", &[], 0), task("b", &["a"], 1)], vec![Key::new("b")]).unwrap();
        computes(&mut s);
        s.task_done(1, &Key::new("a"), s.run_of(1, &Key::new("a")), 8, 0.001);
        computes(&mut s);
        s.task_done(1, &Key::new("b"), s.run_of(1, &Key::new("b")), 8, 0.001);
        assert_eq!(s.counts().memory, 1, "a is released once b holds its result");
        s.release(100, &[Key::new("b")]);
        assert_eq!(s.counts().total, 0, "nothing is kept once nothing is wanted");
        // Cancelling withdraws queued and running work.
        s.submit(100, vec![task("x", &[], 0), task("y", &["x"], 1)], vec![Key::new("y")]).unwrap();
        computes(&mut s);
        s.cancel(100, &[Key::new("y")]);
        assert_eq!(s.counts().total, 0);
        assert!(s.outbox.iter().any(|o| matches!(o, Out::Client(100, ToClient::Cancelled { .. }))));
        assert!(s.outbox.iter().any(|o| matches!(o, Out::Worker(1, ToWorker::Release { .. }))));
        s.check_invariants().unwrap();
    }

    #[test]
    fn submissions_with_unknown_inputs_are_rejected_whole() {
        let mut s = state_with_workers(1);
        let err = s.submit(100, vec![task("a", &["nowhere"], 0)], vec![Key::new("a")]).unwrap_err();
        assert!(err.contains("depends on 'nowhere'"), "{err}");
        assert_eq!(s.counts().total, 0);
        let remote = WireNode { key: Key::new("r"), spec: WireSpec::Remote, deps: vec![], priority: 0 };
        let err = s.submit(100, vec![remote], vec![]).unwrap_err();
        assert!(err.contains("does not hold it"), "{err}");
    }

    #[test]
    fn silence_while_the_scheduler_stalled_is_excused_and_waiting_work_can_fail_for_want_of_workers() {
        let mut s = state_with_workers(2);
        let later = Instant::now() + Duration::from_secs(30);
        assert_eq!(s.silent_workers(later, Duration::from_secs(10)).len(), 2);
        s.excuse_silence(later);
        assert!(s.silent_workers(later, Duration::from_secs(10)).is_empty());

        // No worker: ready work waits; failing it reaches the client and the dependents.
        let mut s = ClusterState::new(StateConfig::default());
        s.add_client(100);
        s.submit(100, vec![task("a", &[], 0), task("b", &["a"], 1)], vec![Key::new("b")]).unwrap();
        assert_eq!(s.waiting_without_workers(), 1, "a is ready, b waits for it");
        s.warn_waiting_clients("no workers yet");
        assert!(s.outbox.contains(&Out::Client(100, ToClient::Warning { message: "no workers yet".into() })));
        s.fail_waiting("no workers: test");
        assert_eq!(s.waiting_without_workers(), 0);
        let erred: Vec<&Key> = s
            .outbox
            .iter()
            .filter_map(|o| match o {
                Out::Client(100, ToClient::Erred { key, error }) if error.message == "no workers: test" => Some(key),
                _ => None,
            })
            .collect();
        assert_eq!(erred, vec![&Key::new("b")], "the wanted key fails with the reason");
        s.check_invariants().unwrap();
    }

    /// Random sequences of submissions, completions, failures, workers leaving and joining,
    /// and releases: the invariants hold after every step, including the per-state counts the
    /// status page reads (kept as tasks move, checked against a recount).
    #[test]
    fn random_event_sequences_keep_the_invariants_and_the_kept_counts() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let (mut finished, mut erred, mut removed) = (0, 0, 0);
        for round in 0..20 {
            let mut s = state_with_workers(3);
            let mut workers: Vec<WorkerId> = vec![1, 2, 3];
            let mut next_worker = 4;
            let mut in_flight: Vec<(WorkerId, Key)> = Vec::new();
            let mut wanted: Vec<Key> = Vec::new();
            for step in 0..300 {
                match next(9) {
                    0 | 1 => {
                        let n = 1 + next(6) as usize;
                        let names: Vec<String> = (0..n).map(|i| format!("r{round}s{step}t{i}")).collect();
                        let nodes: Vec<WireNode> = (0..n)
                            .map(|i| {
                                let deps: Vec<&str> =
                                    (0..i).filter(|_| next(3) == 0).map(|j| names[j].as_str()).collect();
                                task(&names[i], &deps, i as u32)
                            })
                            .collect();
                        let want = Key::new(names[n - 1].as_str());
                        let keys: Vec<Key> = nodes.iter().map(|n| n.key.clone()).collect();
                        s.submit(100, nodes, vec![want.clone()]).unwrap();
                        // Half the submissions are watched: watchers must follow every move.
                        if next(2) == 0 {
                            s.watch(100, step as u64, &keys);
                        }
                        wanted.push(want);
                    }
                    2..=4 if !in_flight.is_empty() => {
                        let (w, k) = in_flight.swap_remove(next(in_flight.len() as u64) as usize);
                        s.task_done(w, &k, s.run_of(w, &k), 1 + next(1000), 0.001);
                    }
                    5 if !in_flight.is_empty() => {
                        let (w, k) = in_flight.swap_remove(next(in_flight.len() as u64) as usize);
                        s.task_erred(w, &k, s.run_of(w, &k), "test.op".into(), "failed".into());
                    }
                    6 if !workers.is_empty() => {
                        let w = workers.swap_remove(next(workers.len() as u64) as usize);
                        s.remove_worker(w, "test");
                    }
                    7 => {
                        s.add_worker(next_worker, format!("127.0.0.1:{next_worker}"), 1, None, 1, Instant::now());
                        workers.push(next_worker);
                        next_worker += 1;
                    }
                    8 if !wanted.is_empty() => {
                        let k = wanted.swap_remove(next(wanted.len() as u64) as usize);
                        s.release(100, &[k]);
                    }
                    _ => {}
                }
                in_flight.extend(computes(&mut s));
                s.outbox.clear();
                s.check_invariants().unwrap_or_else(|e| panic!("round {round}, step {step}: {e}"));
            }
            finished += s.finished;
            erred += s.erred;
            removed += next_worker - 4 + 3 - workers.len() as u64;
        }
        assert!(finished > 500 && erred > 100 && removed > 100, "{finished} done, {erred} erred, {removed} workers");
    }
}
