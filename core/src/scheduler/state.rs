//! The scheduling state machine shared by every local executor.
//!
//! Sans-IO: it never runs a task, touches a thread or holds a value. Executors ask it for the
//! next task ([`pop_ready`](SchedulerState::pop_ready)), run it however they like, and report
//! back ([`finish`](SchedulerState::finish) / [`fail`](SchedulerState::fail)); it answers with
//! which results may now be dropped. This is `dask/local.py::get_async`'s bookkeeping, made a
//! value so the synchronous and threaded executors (and tests) drive the same logic.
//!
//! Policy:
//! - Ready work is a stack (LIFO): a task made ready by the task that just finished runs next,
//!   so the results it needs are still hot and can be released soon. Tasks made ready together
//!   are pushed so that the one with the best [priority](crate::graph::order) is on top.
//! - A result is released as soon as its last dependent has finished, unless it is an output.
//! - After a failure nothing new is started; running tasks are allowed to finish.

use super::plan::Plan;
use crate::error::{Error, Result};

/// Where one task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Some input is not finished.
    Waiting,
    /// All inputs are finished; queued to run.
    Ready,
    /// Handed to an executor.
    Running,
    /// Finished; its result is held.
    Finished,
    /// Finished, and its result has been dropped because no dependent needs it.
    Released,
    /// It failed (or its executor reported an error).
    Failed,
}

/// The bookkeeping of one computation.
#[derive(Debug)]
pub struct SchedulerState {
    state: Vec<TaskState>,
    /// Unfinished inputs per task.
    waiting: Vec<u32>,
    /// Unfinished dependents per task (a result is released when this reaches zero).
    pending_dependents: Vec<u32>,
    ready: Vec<u32>,
    n_running: usize,
    n_finished: usize,
    failed: bool,
    held: usize,
    peak_held: usize,
    scratch: Vec<u32>,
}

impl SchedulerState {
    /// The initial state for `plan`: every task without inputs is ready.
    pub fn new(plan: &Plan<'_>) -> Self {
        let n = plan.len();
        let mut waiting = Vec::with_capacity(n);
        let mut pending_dependents = Vec::with_capacity(n);
        let mut roots = Vec::new();
        for i in 0..n {
            let w = plan.ig.deps_of(i).len() as u32;
            waiting.push(w);
            pending_dependents.push(plan.ig.dependents_of(i).len() as u32);
            if w == 0 {
                roots.push(i as u32);
            }
        }
        // Best priority (smallest number) on top of the stack.
        roots.sort_unstable_by_key(|&i| std::cmp::Reverse(plan.priority[i as usize]));
        let mut state = vec![TaskState::Waiting; n];
        for &r in &roots {
            state[r as usize] = TaskState::Ready;
        }
        SchedulerState {
            state,
            waiting,
            pending_dependents,
            ready: roots,
            n_running: 0,
            n_finished: 0,
            failed: false,
            held: 0,
            peak_held: 0,
            scratch: Vec::new(),
        }
    }

    /// The task [`pop_ready`](Self::pop_ready) would return next, without taking it.
    pub fn peek_ready(&self) -> Option<u32> {
        if self.failed {
            return None;
        }
        self.ready.last().copied()
    }

    /// The next task to run (marked running), or `None` if nothing is ready or a task failed.
    pub fn pop_ready(&mut self) -> Option<u32> {
        if self.failed {
            return None;
        }
        let i = self.ready.pop()?;
        self.state[i as usize] = TaskState::Running;
        self.n_running += 1;
        Some(i)
    }

    fn check_running(&self, plan: &Plan<'_>, i: u32, event: &str) -> Result<()> {
        if plan.len() != self.state.len() {
            return Err(Error::Scheduler(format!(
                "{event} reported with a plan of {} nodes to a state of {}",
                plan.len(),
                self.state.len()
            )));
        }
        match self.state.get(i as usize) {
            Some(TaskState::Running) => Ok(()),
            Some(s) => Err(Error::Scheduler(format!("{event} reported for task {i}, which is {s:?}, not running"))),
            None => Err(Error::Scheduler(format!("{event} reported for task {i} of a {}-task plan", self.state.len()))),
        }
    }

    /// Records that task `i` finished and its result is held. Pushes the tasks it made ready,
    /// appends to `released` the tasks whose results are no longer needed, and returns how many
    /// tasks became ready. Reporting a task that is not running (or using another plan) is an
    /// error, and changes nothing.
    pub fn finish(&mut self, plan: &Plan<'_>, i: u32, released: &mut Vec<u32>) -> Result<usize> {
        self.check_running(plan, i, "finish")?;
        let iu = i as usize;
        self.state[iu] = TaskState::Finished;
        self.n_running -= 1;
        self.n_finished += 1;
        self.held += 1;
        self.peak_held = self.peak_held.max(self.held);

        // Inputs whose last reader this was can go.
        for &d in plan.ig.deps_of(iu) {
            let p = &mut self.pending_dependents[d as usize];
            *p -= 1;
            if *p == 0 && !plan.is_output[d as usize] && self.state[d as usize] == TaskState::Finished {
                self.state[d as usize] = TaskState::Released;
                self.held -= 1;
                released.push(d);
            }
        }
        // A result nobody reads and nobody asked for is not kept either.
        if self.pending_dependents[iu] == 0 && !plan.is_output[iu] {
            self.state[iu] = TaskState::Released;
            self.held -= 1;
            released.push(i);
        }

        self.scratch.clear();
        for &t in plan.ig.dependents_of(iu) {
            let w = &mut self.waiting[t as usize];
            *w -= 1;
            if *w == 0 {
                self.scratch.push(t);
            }
        }
        let n_new = self.scratch.len();
        if n_new > 1 {
            self.scratch.sort_unstable_by_key(|&t| std::cmp::Reverse(plan.priority[t as usize]));
        }
        for &t in &self.scratch {
            self.state[t as usize] = TaskState::Ready;
        }
        self.ready.extend_from_slice(&self.scratch);
        Ok(n_new)
    }

    /// Records that running task `i` failed: nothing new will be started.
    pub fn fail(&mut self, plan: &Plan<'_>, i: u32) -> Result<()> {
        self.check_running(plan, i, "failure")?;
        self.state[i as usize] = TaskState::Failed;
        self.n_running -= 1;
        self.failed = true;
        Ok(())
    }

    /// The state of task `i`.
    pub fn task_state(&self, i: u32) -> TaskState {
        self.state[i as usize]
    }

    /// Whether every task has finished.
    pub fn is_complete(&self) -> bool {
        self.n_finished == self.state.len()
    }

    /// Whether a task failed.
    pub fn has_failed(&self) -> bool {
        self.failed
    }

    /// Tasks currently running.
    pub fn n_running(&self) -> usize {
        self.n_running
    }

    /// Tasks ready to run.
    pub fn n_ready(&self) -> usize {
        if self.failed {
            0
        } else {
            self.ready.len()
        }
    }

    /// Tasks finished so far.
    pub fn n_finished(&self) -> usize {
        self.n_finished
    }

    /// The largest number of results held at once so far (outputs and data nodes included).
    pub fn peak_held(&self) -> usize {
        self.peak_held
    }
}
