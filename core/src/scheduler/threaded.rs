//! The threaded executor: tasks run on a rayon pool, driven by the shared state machine.
//!
//! There is no coordinator thread. Each pool thread runs a loop: lock the state, take the top
//! ready task, unlock, run it, lock, record the result, repeat. A loop ends when nothing is
//! ready; when a finished task makes more work ready than there are loops, new loops are
//! spawned, up to the pool size. Tasks that prove tiny (a few µs) are taken several at a time
//! (up to a loop's share of the ready ones), so the lock is taken once per batch rather than
//! twice per task: the threaded scheduler keeps up with the synchronous one on tiny tasks
//! however many threads contend for the lock. Pool threads
//! are never parked inside a task graph, so kernels that use rayon themselves (nested
//! parallelism) and computations started from inside a task both keep working.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rayon::ThreadPool;

use super::diagnostics::Callback;
use super::exec::{append_inputs, finished, prefetch, run_observed};
use super::plan::Plan;
use super::state::SchedulerState;
use super::{Executed, Executor};
use crate::error::{Error, Result};
use crate::value::Value;

/// Runs tasks on a rayon thread pool: a dedicated one if given, otherwise the pool of the calling
/// thread (rayon's global pool when called from outside any pool; the enclosing pool when a task
/// computes a nested graph).
///
/// When several tasks fail at about the same time, the error returned is the first one recorded,
/// which can differ between runs. Callbacks must not panic: a callback's panic is not caught and
/// reaches the caller once the running tasks have drained.
#[derive(Clone, Default)]
pub struct ThreadedExecutor {
    pool: Option<Arc<ThreadPool>>,
}

impl std::fmt::Debug for ThreadedExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ThreadedExecutor({} threads)", self.n_threads())
    }
}

impl ThreadedExecutor {
    /// Uses the calling thread's pool (rayon's global pool from outside any pool).
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses a dedicated pool of `n_threads` threads.
    pub fn with_threads(n_threads: usize) -> Result<Self> {
        if n_threads == 0 {
            return Err(Error::Scheduler("a threaded scheduler needs at least one thread".into()));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n_threads)
            .thread_name(|i| format!("rask-worker-{i}"))
            .build()
            .map_err(|e| Error::Scheduler(e.to_string()))?;
        Ok(ThreadedExecutor { pool: Some(Arc::new(pool)) })
    }

    /// Uses an existing pool.
    pub fn with_pool(pool: Arc<ThreadPool>) -> Self {
        ThreadedExecutor { pool: Some(pool) }
    }

    /// The number of threads tasks run on.
    pub fn n_threads(&self) -> usize {
        match &self.pool {
            Some(p) => p.current_num_threads(),
            None => rayon::current_num_threads(),
        }
    }
}

struct Shared<'p> {
    plan: &'p Plan<'p>,
    callbacks: &'p [Arc<dyn Callback>],
    n_threads: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    state: SchedulerState,
    values: Vec<Option<Value>>,
    error: Option<Error>,
    /// Loops running or spawned and not yet ended.
    active: usize,
    released: Vec<u32>,
}

impl Shared<'_> {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // User code never runs under this lock (tasks are run unlocked and their panics caught),
        // so a poisoned lock can only come from a bug here; the data is still consistent enough
        // to report errors, so carry on rather than panic in the caller.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The most ready tasks a loop takes under one lock.
const MAX_BATCH: usize = 16;

/// Below this mean run time per task a loop takes twice as many tasks at a time; above
/// [`SLOW_TASK`] it goes back to one.
const TINY_TASK: Duration = Duration::from_micros(5);
const SLOW_TASK: Duration = Duration::from_micros(50);

fn worker_loop<'s>(sh: &'s Shared<'s>, scope: &rayon::Scope<'s>) {
    let plan = sh.plan;
    let mut trash: Vec<Value> = Vec::new();
    // The batch: its nodes, their inputs one after the other (`starts` says where each
    // node's begin), and their results.
    let mut batch: Vec<u32> = Vec::new();
    let mut inputs: Vec<Value> = Vec::new();
    let mut starts: Vec<usize> = Vec::new();
    let mut results: Vec<Result<Value>> = Vec::new();
    // How many tasks to take at a time: one until tasks prove tiny, so that real tasks spread
    // over every thread at once, then doubling, so that tiny tasks pay one lock round trip
    // per batch instead of per task (with many threads that round trip, not the tasks,
    // bounded the rate).
    let mut want = 1usize;
    let mut guard = sh.lock();
    loop {
        // Never more than this loop's share of the ready tasks, so no thread idles while
        // another holds a batch.
        let share = (guard.state.n_ready() / sh.n_threads.max(1)).max(1);
        let take = want.min(share);
        while batch.len() < take {
            let Some(i) = guard.state.pop_ready() else { break };
            starts.push(inputs.len());
            batch.push(i);
            if let Err(e) = append_inputs(plan, i as usize, &guard.values, &mut inputs) {
                guard.error.get_or_insert(e);
                guard.active -= 1;
                return;
            }
        }
        if batch.is_empty() {
            guard.active -= 1;
            return;
        }
        let extra = guard.state.n_ready().min(sh.n_threads.saturating_sub(guard.active));
        guard.active += extra;
        let next = guard.state.peek_ready();
        drop(guard);
        for _ in 0..extra {
            scope.spawn(move |s| worker_loop(sh, s));
        }
        // The next ready task may read a file: let the OS start while this batch computes.
        prefetch(plan, next);

        let t0 = Instant::now();
        for (j, &i) in batch.iter().enumerate() {
            let end = starts.get(j + 1).copied().unwrap_or(inputs.len());
            results.push(run_observed(plan, i as usize, &inputs[starts[j]..end], None, sh.callbacks));
        }
        let per_task = t0.elapsed() / batch.len() as u32;
        want = if per_task < TINY_TASK {
            (want * 2).min(MAX_BATCH)
        } else if per_task > SLOW_TASK {
            1
        } else {
            want
        };
        inputs.clear();
        starts.clear();

        guard = sh.lock();
        for (&i, result) in batch.iter().zip(results.drain(..)) {
            let iu = i as usize;
            match result {
                Ok(v) => {
                    let g = &mut *guard;
                    g.values[iu] = Some(v);
                    // `i` was popped by this loop and is running, so `finish` accepts it.
                    if let Err(e) = g.state.finish(plan, i, &mut g.released) {
                        g.error.get_or_insert(e);
                    }
                    for r in g.released.drain(..) {
                        if let Some(v) = g.values[r as usize].take() {
                            trash.push(v);
                        }
                    }
                }
                Err(e) => {
                    if let Err(state_error) = guard.state.fail(plan, i) {
                        guard.error.get_or_insert(state_error);
                    }
                    guard.error.get_or_insert(e);
                }
            }
        }
        batch.clear();
        if !trash.is_empty() {
            // Free released results (possibly large arrays) without holding the lock.
            drop(guard);
            trash.clear();
            guard = sh.lock();
        }
    }
}

impl Executor for ThreadedExecutor {
    fn name(&self) -> String {
        format!("threaded({})", self.n_threads())
    }

    fn execute(&self, plan: &Plan<'_>, callbacks: &[Arc<dyn Callback>]) -> Result<Executed> {
        let sh = Shared {
            plan,
            callbacks,
            n_threads: self.n_threads(),
            inner: Mutex::new(Inner {
                state: SchedulerState::new(plan),
                values: vec![None; plan.len()],
                error: None,
                active: 1,
                released: Vec::new(),
            }),
        };
        match &self.pool {
            Some(p) => p.scope(|s| worker_loop(&sh, s)),
            None => rayon::scope(|s| worker_loop(&sh, s)),
        }
        let inner = sh.inner.into_inner().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = inner.error {
            return Err(e);
        }
        finished(plan, &inner.state, &inner.values, "threaded")
    }
}
