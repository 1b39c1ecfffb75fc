//! The worker's state machine, free of IO.
//!
//! Events go in (a task to compute from the scheduler, a steal or release request, a finished
//! batch of tasks, a finished fetch); [`Command`]s come out as data for the IO shell in
//! `worker/mod.rs` to carry out: start a batch of tasks on a compute thread, fetch inputs from
//! peers, send a message to the scheduler. Every task moves through
//!
//! ```text
//! (Compute) ─► Fetching ─► Ready ─► Running ─► done, erred or dropped (released while running)
//!                 │          │
//!                 └──────────┴──► Missing (an input no holder had, or one lost before start)
//! ```
//!
//! The rules:
//! - a task whose inputs are all held is ready at once; otherwise the missing inputs are
//!   fetched (one [`Command::Fetch`] per task) and it is ready when they land;
//! - ready tasks start lowest scheduler priority first (ties in arrival order), while fewer
//!   than `nthreads` batches are running and the store is not paused;
//! - tiny tasks (under 200 µs on average) go to a compute thread in batches of at most their
//!   fair share of the ready queue (and at most 256), so a thread wake-up is paid per batch;
//! - a task whose input vanished before it started is reported [`ToScheduler::Missing`];
//! - a steal takes back a task that has not started; a running task is refused;
//! - a release forgets a queued task and drops a running task's result when it finishes.
//!
//! What the state needs to know about, or do to, the store of results (whether it holds a key,
//! whether it is paused, taking a task's inputs out, holding a result) goes through the
//! [`Holdings`] trait: the shell implements it over the locked `DataStore`, the tests over a map.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;

use crate::protocol::{ToScheduler, WireSpec};
use rask_core::Key;

/// A task's outcome: its value, or the failing op and message.
pub(crate) type Outcome<V> = Result<V, (String, String)>;

/// Ready tasks, lowest (priority, arrival) first.
type ReadyQueue = BinaryHeap<Reverse<((u64, u32), u64, Key)>>;

/// Mean task time below which tasks are batched, seconds.
const TINY_TASK_SECONDS: f64 = 200e-6;
/// The most tasks in one batch.
const MAX_BATCH: usize = 256;

/// The store of results, as the state machine sees it.
pub(crate) trait Holdings {
    /// A result.
    type Value;
    /// A task's inputs, taken out of the store for running.
    type Inputs;
    /// Whether the store holds `key` (in memory or spilled).
    fn has(&self, key: &Key) -> bool;
    /// Whether memory is above the pause threshold: no task may start.
    fn is_paused(&self) -> bool;
    /// Takes out the values of `deps`, in order, and pins them; if one cannot be read, pins
    /// nothing and names it.
    fn take_inputs(&mut self, deps: &[Key]) -> Result<Self::Inputs, Key>;
    /// Unpins the inputs of a finished task.
    fn unpin(&mut self, deps: &[Key]);
    /// Holds a result; returns its size, or why it cannot be held.
    fn insert(&mut self, key: Key, value: Self::Value) -> Result<u64, String>;
    /// Drops a result if held.
    fn remove(&mut self, key: &Key);
}

/// An event the state machine reacts to.
#[derive(Debug)]
pub(crate) enum Event<V> {
    /// The scheduler asks for a task ([`ToWorker::Compute`](crate::protocol::ToWorker::Compute)).
    Compute {
        /// The task.
        key: Key,
        /// What to run.
        spec: WireSpec,
        /// Its inputs with the data addresses of their holders.
        deps: Vec<(Key, Vec<String>)>,
        /// Lower runs first.
        priority: (u64, u32),
        /// The assignment's id, named in every report of it.
        run: u64,
    },
    /// The scheduler wants a task back if it has not started.
    Steal {
        /// The task.
        key: Key,
    },
    /// The scheduler drops these results and tasks.
    Release {
        /// The keys.
        keys: Vec<Key>,
    },
    /// A batch started by [`Command::Run`] finished: each task's outcome and seconds.
    Finished(Vec<(Key, Outcome<V>, f64)>),
    /// A [`Command::Fetch`] finished: the keys it added with their sizes, or an input no holder
    /// had.
    Fetched {
        /// The task the inputs were for.
        key: Key,
        /// The [`Command::Fetch`]'s id.
        id: u64,
        /// The inputs stored, with their sizes (also when another input was not found).
        added: Vec<(Key, u64)>,
        /// An input no holder had, if any: the task cannot run.
        missing: Option<Key>,
    },
}

/// A task taken out for running.
#[derive(Debug, PartialEq)]
pub(crate) struct Job<I> {
    /// The task.
    pub key: Key,
    /// What to run.
    pub spec: WireSpec,
    /// Its inputs, pinned in the store until the task finishes.
    pub inputs: I,
}

/// What the IO shell must do.
#[derive(Debug, PartialEq)]
pub(crate) enum Command<I> {
    /// Run these tasks back to back on one compute thread, then report [`Event::Finished`].
    Run(Vec<Job<I>>),
    /// Fetch these inputs of `key` from their holders into the store, then report
    /// [`Event::Fetched`].
    Fetch {
        /// The task waiting for them.
        key: Key,
        /// This fetch, among the task's fetches (a task released and sent again fetches anew,
        /// and a late report of the first fetch must not start it).
        id: u64,
        /// The inputs not held, with their holders.
        missing: Vec<(Key, Vec<String>)>,
    },
    /// Stop fetching the inputs of `key` (released or stolen while they were on their way: a
    /// fetch from a peer that no longer answers would otherwise wait as long as TCP does).
    CancelFetch {
        /// The task that no longer needs them.
        key: Key,
    },
    /// Hint the first op of this task, next in line while every thread is busy
    /// (`Op::prefetch`: an op that reads a file asks for its bytes now).
    Prefetch {
        /// The task.
        key: Key,
        /// Its spec.
        spec: WireSpec,
    },
    /// Send this message to the scheduler (with the next batch).
    Send(ToScheduler),
}

/// Where a task is on this worker.
#[derive(Debug, PartialEq, Eq)]
enum Phase {
    Fetching,
    Ready,
    Running,
}

/// A task the worker was asked to compute and has not finished.
#[derive(Debug)]
struct Pending {
    spec: WireSpec,
    deps: Vec<Key>,
    /// The scheduler's priority: lower runs first.
    priority: (u64, u32),
    phase: Phase,
    /// The id of the fetch it waits for (while fetching).
    fetch: u64,
    /// Released by the scheduler while running: drop the result.
    cancelled: bool,
    /// The scheduler's id of the latest assignment, named in the reports.
    run: u64,
}

/// The worker's task table, ready queue and load.
#[derive(Debug)]
pub(crate) struct WorkerState {
    nthreads: usize,
    tasks: FxHashMap<Key, Pending>,
    ready: ReadyQueue,
    /// Arrival counter: orders ready tasks of equal priority.
    seq: u64,
    /// Batches running on compute threads.
    running: usize,
    /// Mean task time, seconds (exponentially weighted): decides batching.
    avg_seconds: f64,
    tasks_done: u64,
    /// The last task hinted to prefetch (each is hinted once).
    hinted: Option<Key>,
    /// This worker's data address, as the scheduler lists holders.
    address: String,
}

impl WorkerState {
    /// An idle worker with `nthreads` compute threads (at least one), serving its results at
    /// `address`.
    pub(crate) fn new(nthreads: usize, address: &str) -> Self {
        WorkerState {
            nthreads: nthreads.max(1),
            tasks: FxHashMap::default(),
            ready: BinaryHeap::new(),
            seq: 0,
            running: 0,
            avg_seconds: 1e-3,
            tasks_done: 0,
            hinted: None,
            address: address.to_string(),
        }
    }

    /// Tasks completed (and their results held) since the start.
    pub(crate) fn tasks_done(&self) -> u64 {
        self.tasks_done
    }

    /// Handles one event; returns what to do.
    pub(crate) fn handle<H: Holdings>(&mut self, ev: Event<H::Value>, store: &mut H) -> Vec<Command<H::Inputs>> {
        let mut out = Vec::new();
        match ev {
            Event::Compute { key, spec, deps, priority, run } => {
                self.compute(key, spec, deps, priority, run, store, &mut out)
            }
            Event::Steal { key } => {
                let stolen = match self.tasks.get(&key) {
                    Some(p) if p.phase != Phase::Running => {
                        if p.phase == Phase::Fetching {
                            out.push(Command::CancelFetch { key: key.clone() });
                        }
                        self.tasks.remove(&key);
                        true
                    }
                    _ => false,
                };
                out.push(Command::Send(ToScheduler::StealReply { key, stolen }));
            }
            Event::Release { keys } => {
                for k in keys {
                    match self.tasks.get_mut(&k) {
                        Some(p) if p.phase == Phase::Running => p.cancelled = true,
                        Some(p) => {
                            if p.phase == Phase::Fetching {
                                out.push(Command::CancelFetch { key: k.clone() });
                            }
                            self.tasks.remove(&k);
                        }
                        None => {}
                    }
                    store.remove(&k);
                }
            }
            Event::Finished(batch) => {
                // Every Finished answers one Run.
                self.running = self.running.saturating_sub(1);
                for (key, result, seconds) in batch {
                    self.finished(key, result, seconds, store, &mut out);
                }
            }
            Event::Fetched { key, id, added, missing } => {
                // What was stored is reported whatever became of the task, so the scheduler
                // knows (and releases) every result this worker holds.
                if !added.is_empty() {
                    out.push(Command::Send(ToScheduler::Added { keys: added }));
                }
                let current = self.tasks.get(&key).is_some_and(|p| p.phase == Phase::Fetching && p.fetch == id);
                match (current, missing) {
                    (false, _) => {}
                    (true, None) => {
                        if let Some(p) = self.tasks.get_mut(&key) {
                            p.phase = Phase::Ready;
                            let priority = p.priority;
                            self.seq += 1;
                            self.ready.push(Reverse((priority, self.seq, key)));
                        }
                    }
                    (true, Some(dependency)) => {
                        if let Some(p) = self.tasks.remove(&key) {
                            out.push(Command::Send(ToScheduler::Missing { key, run: p.run, dependency }));
                        }
                    }
                }
            }
        }
        out
    }

    /// A task finished: unpin its inputs and hold and report its result, unless it was
    /// released while running.
    fn finished<H: Holdings>(
        &mut self,
        key: Key,
        result: Outcome<H::Value>,
        seconds: f64,
        store: &mut H,
        out: &mut Vec<Command<H::Inputs>>,
    ) {
        self.avg_seconds = 0.9 * self.avg_seconds + 0.1 * seconds;
        let Some(p) = self.tasks.remove(&key) else { return };
        store.unpin(&p.deps);
        if p.cancelled {
            return;
        }
        let msg = match result {
            Ok(value) => match store.insert(key.clone(), value) {
                Ok(nbytes) => {
                    self.tasks_done += 1;
                    ToScheduler::Done { key, run: p.run, nbytes, seconds }
                }
                Err(e) => ToScheduler::Erred {
                    key,
                    run: p.run,
                    op: "store".into(),
                    message: format!("the result cannot be held: {e}"),
                },
            },
            Err((op, message)) => ToScheduler::Erred { key, run: p.run, op, message },
        };
        out.push(Command::Send(msg));
    }

    /// A task to compute: ready at once if its inputs are held, else fetched first.
    ///
    /// A task already known takes the new run id, so its report names the assignment the
    /// scheduler now waits for; one released while running (its result was to be dropped)
    /// is wanted again, and its result is kept and reported.
    #[allow(clippy::too_many_arguments)]
    fn compute<H: Holdings>(
        &mut self,
        key: Key,
        spec: WireSpec,
        deps: Vec<(Key, Vec<String>)>,
        priority: (u64, u32),
        run: u64,
        store: &H,
        out: &mut Vec<Command<H::Inputs>>,
    ) {
        if let Some(p) = self.tasks.get_mut(&key) {
            p.run = run;
            p.cancelled = false;
            return;
        }
        let mut missing: Vec<(Key, Vec<String>)> = deps.iter().filter(|(k, _)| !store.has(k)).cloned().collect();
        for (dep, holders) in &mut missing {
            // The scheduler believes this worker holds an input that it does not: their views
            // diverged. Asking itself would only find it missing a round trip later; the other
            // holders are asked, and with none the input is reported missing, so the scheduler
            // drops this worker from its holders and recomputes it.
            let before = holders.len();
            holders.retain(|a| *a != self.address);
            if holders.len() < before {
                tracing::warn!(task = %key, input = %dep, "the scheduler lists this worker as holding an input it does not hold");
            }
        }
        let deps: Vec<Key> = deps.into_iter().map(|(k, _)| k).collect();
        if missing.is_empty() {
            self.tasks.insert(
                key.clone(),
                Pending { spec, deps, priority, phase: Phase::Ready, fetch: 0, cancelled: false, run },
            );
            self.seq += 1;
            self.ready.push(Reverse((priority, self.seq, key)));
            return;
        }
        self.seq += 1;
        let id = self.seq;
        self.tasks.insert(
            key.clone(),
            Pending { spec, deps, priority, phase: Phase::Fetching, fetch: id, cancelled: false, run },
        );
        out.push(Command::Fetch { key, id, missing });
    }

    /// Starts ready tasks while threads are free and the store is not paused: one
    /// [`Command::Run`] per batch, and a [`ToScheduler::Missing`] for each task whose input
    /// vanished.
    ///
    /// Tiny tasks (under 200 µs on average) go to a compute thread in batches, so a thread
    /// wake-up and an event are paid per batch rather than per task; a batch takes at most its
    /// fair share of the ready queue, so no thread idles while another holds a long batch.
    pub(crate) fn start_ready<H: Holdings>(&mut self, store: &mut H) -> Vec<Command<H::Inputs>> {
        let mut out = Vec::new();
        while self.running < self.nthreads {
            if store.is_paused() {
                break;
            }
            let free = self.nthreads - self.running;
            let batch_size =
                if self.avg_seconds < TINY_TASK_SECONDS { (self.ready.len() / free).clamp(1, MAX_BATCH) } else { 1 };
            let mut batch = Vec::with_capacity(batch_size);
            while batch.len() < batch_size {
                let Some(Reverse((_, _, key))) = self.ready.pop() else { break };
                if let Some(job) = self.take_job(key, store, &mut out) {
                    batch.push(job);
                }
            }
            if batch.is_empty() {
                break;
            }
            self.running += 1;
            out.push(Command::Run(batch));
        }
        // Every thread busy with tasks long enough to overlap something: hint the next in line
        // once, as the local executors do, so a block it reads arrives while they compute.
        if self.running >= self.nthreads && self.avg_seconds >= TINY_TASK_SECONDS {
            while let Some(Reverse((_, _, key))) = self.ready.peek() {
                match self.tasks.get(key) {
                    Some(p) if p.phase == Phase::Ready => {
                        if self.hinted.as_ref() != Some(key) {
                            self.hinted = Some(key.clone());
                            out.push(Command::Prefetch { key: key.clone(), spec: p.spec.clone() });
                        }
                        break;
                    }
                    // Released or stolen since it was queued: it would be skipped anyway.
                    _ => {
                        self.ready.pop();
                    }
                }
            }
        }
        out
    }

    /// Takes a ready task out for running: its inputs (pinned in the store) and spec. A task
    /// whose input vanished is reported missing instead.
    fn take_job<H: Holdings>(
        &mut self,
        key: Key,
        store: &mut H,
        out: &mut Vec<Command<H::Inputs>>,
    ) -> Option<Job<H::Inputs>> {
        let p = self.tasks.get_mut(&key)?; // released or stolen: gone
        if p.phase != Phase::Ready {
            return None;
        }
        match store.take_inputs(&p.deps) {
            Ok(inputs) => {
                p.phase = Phase::Running;
                Some(Job { spec: p.spec.clone(), key, inputs })
            }
            Err(dependency) => {
                let run = p.run;
                self.tasks.remove(&key);
                out.push(Command::Send(ToScheduler::Missing { key, run, dependency }));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store of numbers: what the state sees of the real one.
    #[derive(Default)]
    struct FakeStore {
        values: FxHashMap<Key, i64>,
        pins: FxHashMap<Key, usize>,
        paused: bool,
        /// `insert` fails with this message.
        refuse: Option<String>,
    }

    impl Holdings for FakeStore {
        type Value = i64;
        type Inputs = Vec<i64>;
        fn has(&self, key: &Key) -> bool {
            self.values.contains_key(key)
        }
        fn is_paused(&self) -> bool {
            self.paused
        }
        fn take_inputs(&mut self, deps: &[Key]) -> Result<Vec<i64>, Key> {
            let inputs: Result<Vec<i64>, Key> =
                deps.iter().map(|d| self.values.get(d).copied().ok_or_else(|| d.clone())).collect();
            if inputs.is_ok() {
                for d in deps {
                    *self.pins.entry(d.clone()).or_default() += 1;
                }
            }
            inputs
        }
        fn unpin(&mut self, deps: &[Key]) {
            for d in deps {
                *self.pins.entry(d.clone()).or_default() -= 1;
            }
        }
        fn insert(&mut self, key: Key, value: i64) -> Result<u64, String> {
            if let Some(e) = &self.refuse {
                return Err(e.clone());
            }
            self.values.insert(key, value);
            Ok(8)
        }
        fn remove(&mut self, key: &Key) {
            self.values.remove(key);
        }
    }

    fn k(name: &str) -> Key {
        Key::new(name)
    }

    fn spec() -> WireSpec {
        WireSpec::Task(smallvec::smallvec![crate::protocol::WireOp {
            name: "test.op".into(),
            version: 1,
            args: rask_core::wire::WireArgs::new()
        }])
    }

    /// The scheduler asks for `key` with these inputs (each held by one peer) at this priority.
    fn compute(key: &str, deps: &[&str], priority: u32) -> Event<i64> {
        Event::Compute {
            key: k(key),
            spec: spec(),
            deps: deps.iter().map(|d| (k(d), vec![format!("peer-of-{d}")])).collect(),
            priority: (0, priority),
            run: 1,
        }
    }

    /// The keys of each `Run` command, in order.
    fn runs(cmds: &[Command<Vec<i64>>]) -> Vec<Vec<Key>> {
        cmds.iter()
            .filter_map(|c| match c {
                Command::Run(jobs) => Some(jobs.iter().map(|j| j.key.clone()).collect()),
                _ => None,
            })
            .collect()
    }

    /// The messages of each `Send` command, in order.
    fn sent(cmds: &[Command<Vec<i64>>]) -> Vec<ToScheduler> {
        cmds.iter()
            .filter_map(|c| match c {
                Command::Send(m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }

    fn done(key: &str, seconds: f64) -> Event<i64> {
        Event::Finished(vec![(k(key), Ok(1), seconds)])
    }

    fn hints(cmds: &[Command<Vec<i64>>]) -> Vec<Key> {
        cmds.iter()
            .filter_map(|c| match c {
                Command::Prefetch { key, .. } => Some(key.clone()),
                _ => None,
            })
            .collect()
    }

    /// While every thread is busy, the next ready task is hinted to prefetch, once, as on the
    /// local executors; tiny tasks, which could overlap nothing, are not hinted.
    #[test]
    fn the_next_ready_task_is_hinted_once_while_every_thread_is_busy() {
        let (mut w, mut s) = (WorkerState::new(1, "here"), FakeStore::default());
        for i in 0..3 {
            w.handle(compute(&format!("t{i}"), &[], i), &mut s);
        }
        let cmds = w.start_ready(&mut s);
        assert_eq!((runs(&cmds), hints(&cmds)), (vec![vec![k("t0")]], vec![k("t1")]));
        assert_eq!(w.start_ready(&mut s), vec![], "hinted once");
        w.handle(done("t0", 0.01), &mut s);
        let cmds = w.start_ready(&mut s);
        assert_eq!((runs(&cmds), hints(&cmds)), (vec![vec![k("t1")]], vec![k("t2")]));
        w.handle(done("t1", 0.01), &mut s);
        let cmds = w.start_ready(&mut s);
        assert_eq!((runs(&cmds), hints(&cmds)), (vec![vec![k("t2")]], vec![]), "nothing left to hint");
        // Tiny tasks: batched, never hinted.
        for _ in 0..50 {
            w.handle(done("t2", 1e-6), &mut s);
        }
        for i in 0..40 {
            w.handle(compute(&format!("u{i}"), &[], i), &mut s);
        }
        let cmds = w.start_ready(&mut s);
        assert!(!runs(&cmds).is_empty() && hints(&cmds).is_empty(), "{cmds:?}");
    }

    #[test]
    fn ready_tasks_run_in_priority_order_up_to_nthreads() {
        let (mut w, mut s) = (WorkerState::new(2, "here"), FakeStore::default());
        for (key, p) in [("c", 3), ("a", 1), ("b", 2)] {
            assert_eq!(w.handle(compute(key, &[], p), &mut s), vec![], "held inputs need nothing");
        }
        let cmds = w.start_ready(&mut s);
        assert_eq!(runs(&cmds), vec![vec![k("a")], vec![k("b")]], "two threads, lowest priority first");
        assert_eq!(w.start_ready(&mut s), vec![], "no thread is free");
        let cmds = w.handle(done("a", 1e-3), &mut s);
        assert_eq!(sent(&cmds), vec![ToScheduler::Done { key: k("a"), run: 1, nbytes: 8, seconds: 1e-3 }]);
        assert_eq!(runs(&w.start_ready(&mut s)), vec![vec![k("c")]]);
        assert_eq!(w.tasks_done(), 1);
    }

    #[test]
    fn equal_priorities_run_in_arrival_order_and_repeats_are_ignored() {
        let (mut w, mut s) = (WorkerState::new(1, "here"), FakeStore::default());
        w.handle(compute("x", &[], 5), &mut s);
        w.handle(compute("y", &[], 5), &mut s);
        w.handle(compute("x", &[], 0), &mut s);
        assert_eq!(runs(&w.start_ready(&mut s)), vec![vec![k("x")]]);
        w.handle(done("x", 1e-3), &mut s);
        assert_eq!(runs(&w.start_ready(&mut s)), vec![vec![k("y")]]);
        w.handle(done("y", 1e-3), &mut s);
        assert_eq!(w.start_ready(&mut s), vec![], "the repeated x was not queued twice");
    }

    #[test]
    fn a_missing_input_is_fetched_and_the_task_runs_when_it_lands() {
        let (mut w, mut s) = (WorkerState::new(1, "here"), FakeStore::default());
        s.values.insert(k("held"), 7);
        let cmds = w.handle(compute("t", &["held", "far"], 0), &mut s);
        assert_eq!(
            cmds,
            vec![Command::Fetch { key: k("t"), id: 1, missing: vec![(k("far"), vec!["peer-of-far".to_string()])] }],
            "only the input not held is fetched, with its holders"
        );
        assert_eq!(w.start_ready(&mut s), vec![], "it waits for its input");
        s.values.insert(k("far"), 9);
        let cmds = w.handle(Event::Fetched { key: k("t"), id: 1, added: vec![(k("far"), 8)], missing: None }, &mut s);
        assert_eq!(sent(&cmds), vec![ToScheduler::Added { keys: vec![(k("far"), 8)] }]);
        let cmds = w.start_ready(&mut s);
        assert_eq!(cmds, vec![Command::Run(vec![Job { key: k("t"), spec: spec(), inputs: vec![7, 9] }])]);
        assert_eq!(s.pins[&k("far")], 1, "inputs stay pinned while the task runs");
        w.handle(done("t", 1e-3), &mut s);
        assert_eq!(s.pins[&k("far")], 0, "and are unpinned when it finishes");
    }

    #[test]
    fn an_input_no_holder_had_is_reported_missing() {
        let (mut w, mut s) = (WorkerState::new(1, "here"), FakeStore::default());
        w.handle(compute("t", &["far"], 0), &mut s);
        let cmds = w.handle(Event::Fetched { key: k("t"), id: 1, added: vec![], missing: Some(k("far")) }, &mut s);
        assert_eq!(sent(&cmds), vec![ToScheduler::Missing { key: k("t"), run: 1, dependency: k("far") }]);
        assert_eq!(w.start_ready(&mut s), vec![], "the task is forgotten");
        // A late fetch for a forgotten task says nothing.
        assert_eq!(
            w.handle(Event::Fetched { key: k("t"), id: 1, added: vec![], missing: Some(k("far")) }, &mut s),
            vec![]
        );
    }

    #[test]
    fn inputs_stored_by_a_fetch_that_then_failed_are_still_reported() {
        let (mut w, mut s) = (WorkerState::new(1, "here"), FakeStore::default());
        w.handle(compute("t", &["near", "far"], 0), &mut s);
        let cmds = w.handle(
            Event::Fetched { key: k("t"), id: 1, added: vec![(k("near"), 8)], missing: Some(k("far")) },
            &mut s,
        );
        assert_eq!(
            sent(&cmds),
            vec![
                ToScheduler::Added { keys: vec![(k("near"), 8)] },
                ToScheduler::Missing { key: k("t"), run: 1, dependency: k("far") }
            ],
            "the scheduler learns of the stored input, so it can release it"
        );
    }

    #[test]
    fn an_input_listed_on_this_worker_but_not_held_is_fetched_from_the_others_only() {
        let (mut w, mut s) = (WorkerState::new(1, "here"), FakeStore::default());
        let listed = |key: &str, holders: &[&str]| Event::Compute {
            key: k(key),
            spec: spec(),
            deps: vec![(k("in"), holders.iter().map(|h| h.to_string()).collect())],
            priority: (0, 0),
            run: 1,
        };
        let cmds = w.handle(listed("t", &["here", "there"]), &mut s);
        assert_eq!(cmds, vec![Command::Fetch { key: k("t"), id: 1, missing: vec![(k("in"), vec!["there".into()])] }]);
        // Listed only here: nothing to ask, so the fetch fails at once and the input is
        // reported missing (the scheduler then drops this worker from its holders).
        let cmds = w.handle(listed("u", &["here"]), &mut s);
        assert_eq!(cmds, vec![Command::Fetch { key: k("u"), id: 2, missing: vec![(k("in"), vec![])] }]);
        let cmds = w.handle(Event::Fetched { key: k("u"), id: 2, added: vec![], missing: Some(k("in")) }, &mut s);
        assert_eq!(sent(&cmds), vec![ToScheduler::Missing { key: k("u"), run: 1, dependency: k("in") }]);
    }

    #[test]
    fn an_input_lost_before_the_start_is_reported_missing() {
        let (mut w, mut s) = (WorkerState::new(1, "here"), FakeStore::default());
        s.values.insert(k("in"), 1);
        w.handle(compute("t", &["in"], 0), &mut s);
        w.handle(compute("u", &[], 1), &mut s);
        s.values.remove(&k("in"));
        let cmds = w.start_ready(&mut s);
        assert_eq!(sent(&cmds), vec![ToScheduler::Missing { key: k("t"), run: 1, dependency: k("in") }]);
        assert_eq!(runs(&cmds), vec![vec![k("u")]], "the next ready task takes the thread");
        assert!(s.pins.is_empty(), "nothing was pinned for the task that did not start");
    }

    #[test]
    fn a_released_task_is_forgotten_queued_and_dropped_when_running() {
        let (mut w, mut s) = (WorkerState::new(1, "here"), FakeStore::default());
        s.values.insert(k("in"), 1);
        w.handle(compute("run", &["in"], 0), &mut s);
        w.handle(compute("queued", &[], 1), &mut s);
        assert_eq!(runs(&w.start_ready(&mut s)), vec![vec![k("run")]]);
        let cmds = w.handle(Event::Release { keys: vec![k("run"), k("queued"), k("in")] }, &mut s);
        assert_eq!(cmds, vec![]);
        assert!(!s.has(&k("in")), "released results leave the store");
        let cmds = w.handle(done("run", 1e-3), &mut s);
        assert_eq!(cmds, vec![], "the result of a released task is neither reported nor held");
        assert!(!s.has(&k("run")));
        assert_eq!(s.pins[&k("in")], 0, "its inputs are unpinned");
        assert_eq!(w.start_ready(&mut s), vec![], "the queued task was forgotten");
        assert_eq!(w.tasks_done(), 0);
    }

    #[test]
    fn a_task_sent_again_reports_under_its_latest_assignment_even_after_a_release_while_running() {
        let (mut w, mut s) = (WorkerState::new(1, "here"), FakeStore::default());
        w.handle(compute("t", &[], 0), &mut s);
        assert_eq!(runs(&w.start_ready(&mut s)), vec![vec![k("t")]]);
        // Taken back while running (its result was to be dropped), then sent again.
        w.handle(Event::Release { keys: vec![k("t")] }, &mut s);
        let again = Event::Compute { key: k("t"), spec: spec(), deps: vec![], priority: (0, 0), run: 2 };
        assert_eq!(w.handle(again, &mut s), vec![], "the running task is wanted again; nothing new starts");
        assert_eq!(w.start_ready(&mut s), vec![]);
        let cmds = w.handle(done("t", 1e-3), &mut s);
        assert_eq!(sent(&cmds), vec![ToScheduler::Done { key: k("t"), run: 2, nbytes: 8, seconds: 1e-3 }]);
        assert!(s.has(&k("t")), "and its result is kept");
    }

    #[test]
    fn a_failed_task_reports_its_error_and_a_result_the_store_refuses_too() {
        let (mut w, mut s) = (WorkerState::new(2, "here"), FakeStore::default());
        w.handle(compute("bad", &[], 0), &mut s);
        w.handle(compute("big", &[], 1), &mut s);
        assert_eq!(runs(&w.start_ready(&mut s)).len(), 2);
        let cmds = w.handle(Event::Finished(vec![(k("bad"), Err(("div".into(), "by zero".into())), 1e-3)]), &mut s);
        assert_eq!(
            sent(&cmds),
            vec![ToScheduler::Erred { key: k("bad"), run: 1, op: "div".into(), message: "by zero".into() }]
        );
        s.refuse = Some("disk full".into());
        let cmds = w.handle(done("big", 1e-3), &mut s);
        assert_eq!(
            sent(&cmds),
            vec![ToScheduler::Erred {
                run: 1,
                key: k("big"),
                op: "store".into(),
                message: "the result cannot be held: disk full".into()
            }]
        );
        assert_eq!(w.tasks_done(), 0);
    }

    #[test]
    fn tiny_tasks_run_in_batches_of_their_fair_share() {
        let (mut w, mut s) = (WorkerState::new(2, "here"), FakeStore::default());
        // Sixteen instant tasks bring the mean task time under 200 µs (0.9^16 × 1 ms).
        for i in 0..16 {
            w.handle(compute(&format!("warm{i}"), &[], i), &mut s);
            let cmds = w.start_ready(&mut s);
            assert_eq!(runs(&cmds).len(), 1);
            assert_eq!(runs(&cmds)[0].len(), 1, "slow on average so far: one task a batch");
            w.handle(done(&format!("warm{i}"), 0.0), &mut s);
        }
        for i in 0..10 {
            w.handle(compute(&format!("t{i}"), &[], i), &mut s);
        }
        let batches = runs(&w.start_ready(&mut s));
        let expect = |r: std::ops::Range<u32>| r.map(|i| k(&format!("t{i}"))).collect::<Vec<_>>();
        assert_eq!(batches, vec![expect(0..5), expect(5..10)], "two threads, half the queue each");
        // One long task makes batching stop.
        w.handle(Event::Finished(vec![(k("t0"), Ok(0), 1.0)]), &mut s);
        for i in 0..4 {
            w.handle(compute(&format!("u{i}"), &[], i), &mut s);
        }
        assert_eq!(runs(&w.start_ready(&mut s)), vec![vec![k("u0")]]);
    }

    /// A task released while its inputs are on their way (the scheduler took it back: their
    /// holder was cut off) stops its fetch; when it is sent again, the first fetch's late
    /// report neither starts it nor fails it, and only the new fetch counts.
    #[test]
    fn a_task_released_while_fetching_cancels_the_fetch_and_a_late_report_is_ignored() {
        let (mut w, mut s) = (WorkerState::new(1, "here"), FakeStore::default());
        let first = w.handle(compute("t", &["far"], 0), &mut s);
        let [Command::Fetch { id: old, .. }] = first[..] else { panic!("{first:?}") };
        let cmds = w.handle(Event::Release { keys: vec![k("t")] }, &mut s);
        assert_eq!(cmds, vec![Command::CancelFetch { key: k("t") }]);
        let again = w.handle(compute("t", &["far"], 0), &mut s);
        let [Command::Fetch { id: new, .. }] = again[..] else { panic!("{again:?}") };
        assert_ne!(old, new);
        // The cancelled fetch reports what it stored so far: kept (and told), the task not started.
        s.values.insert(k("part"), 1);
        let late =
            w.handle(Event::Fetched { key: k("t"), id: old, added: vec![(k("part"), 8)], missing: None }, &mut s);
        assert_eq!(sent(&late), vec![ToScheduler::Added { keys: vec![(k("part"), 8)] }]);
        assert_eq!(w.start_ready(&mut s), vec![], "the task still waits for its own fetch");
        let late = w.handle(Event::Fetched { key: k("t"), id: old, added: vec![], missing: Some(k("far")) }, &mut s);
        assert_eq!(late, vec![], "an old fetch's failure is not the task's");
        s.values.insert(k("far"), 2);
        w.handle(Event::Fetched { key: k("t"), id: new, added: vec![(k("far"), 8)], missing: None }, &mut s);
        assert_eq!(runs(&w.start_ready(&mut s)), vec![vec![k("t")]]);
    }

    #[test]
    fn a_steal_takes_back_a_waiting_task_and_is_refused_for_a_running_one() {
        let (mut w, mut s) = (WorkerState::new(1, "here"), FakeStore::default());
        w.handle(compute("running", &[], 0), &mut s);
        w.handle(compute("queued", &[], 1), &mut s);
        w.handle(compute("fetching", &["far"], 2), &mut s);
        w.start_ready(&mut s);
        let steal =
            |w: &mut WorkerState, s: &mut FakeStore, key: &str| sent(&w.handle(Event::Steal { key: k(key) }, s));
        let reply = |key: &str, stolen| vec![ToScheduler::StealReply { key: k(key), stolen }];
        assert_eq!(steal(&mut w, &mut s, "running"), reply("running", false));
        assert_eq!(steal(&mut w, &mut s, "queued"), reply("queued", true));
        assert_eq!(steal(&mut w, &mut s, "fetching"), reply("fetching", true));
        assert_eq!(steal(&mut w, &mut s, "unknown"), reply("unknown", false));
        w.handle(done("running", 1e-3), &mut s);
        assert_eq!(w.start_ready(&mut s), vec![], "stolen tasks do not run here");
        let late = w.handle(Event::Fetched { key: k("fetching"), id: 3, added: vec![], missing: None }, &mut s);
        assert_eq!(late, vec![], "a fetch landing for a stolen task starts nothing");
        assert_eq!(w.start_ready(&mut s), vec![]);
    }

    #[test]
    fn a_paused_store_stops_tasks_from_starting() {
        let (mut w, mut s) = (WorkerState::new(4, "here"), FakeStore::default());
        w.handle(compute("a", &[], 0), &mut s);
        w.handle(compute("b", &[], 1), &mut s);
        s.paused = true;
        assert_eq!(w.start_ready(&mut s), vec![], "nothing starts while paused");
        s.paused = false;
        assert_eq!(runs(&w.start_ready(&mut s)), vec![vec![k("a")], vec![k("b")]]);
    }
}
