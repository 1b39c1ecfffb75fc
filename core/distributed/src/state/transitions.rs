//! The task state transitions of [`ClusterState`]: a task becomes ready, processing, in
//! memory, erred or released here, results lost with a worker are recomputed, and tasks that
//! keep killing workers are failed (poison counting). The event handlers in `state/mod.rs`
//! call these; where a worker must be chosen they ask `state/placement.rs`.

use std::sync::Arc;

use super::{unique, ClusterState, Out, St, Tid, WorkerId};
use crate::protocol::{TaskError, ToWorker, WireSpec};
use rask_core::Key;

impl ClusterState {
    /// Worker `w` (at `address`) died while `t` was assigned to it: the task counts one more
    /// suspicious death and waits again for its inputs, or fails once `poison_limit` workers
    /// died running it.
    pub(super) fn died_running(&mut self, t: Tid, w: WorkerId, address: &str) {
        let limit = self.config.poison_limit;
        let Some(task) = self.tasks.get_mut(&t) else { return };
        if task.state != St::Processing(w) {
            return;
        }
        task.suspicious += 1;
        task.set_steal_to(None);
        if task.suspicious >= limit {
            let err = TaskError {
                key: task.key.clone(),
                op: "worker".into(),
                message: format!(
                    "{} workers died while running this task (last: {address}); it is not retried again",
                    task.suspicious
                ),
            };
            self.set_erred(t, Arc::new(err));
        } else {
            self.back_to_waiting(t);
        }
    }

    /// All inputs are in memory: root tasks join the queue, others go to the best worker.
    pub(super) fn make_ready(&mut self, t: Tid) {
        let task = self.tasks.get_mut(&t).expect("caller checked");
        if task.deps.is_empty() || self.workers.is_empty() {
            self.counts.moved(std::mem::replace(&mut task.state, St::Queued), St::Queued);
            self.queue.push(task.priority(), t);
            return;
        }
        let w = self.decide_worker(t);
        self.send_compute(t, w);
    }

    /// Assigns `t` to worker `w` (Processing) and sends it the task with the holders of each
    /// input.
    pub(super) fn send_compute(&mut self, t: Tid, w: WorkerId) {
        self.counts.moved(
            std::mem::replace(&mut self.tasks.get_mut(&t).expect("caller checked").state, St::Processing(w)),
            St::Processing(w),
        );
        let task = &self.tasks[&t];
        let deps: Vec<(Key, Vec<String>)> = task
            .deps
            .iter()
            .map(|d| {
                let dep = &self.tasks[d];
                (
                    dep.key.clone(),
                    dep.who_has.iter().filter_map(|h| self.workers.get(h)).map(|w| w.address.clone()).collect(),
                )
            })
            .collect();
        let task = &self.tasks[&t];
        self.last_run += 1;
        let run = self.last_run;
        let msg =
            ToWorker::Compute { key: task.key.clone(), spec: task.spec.clone(), deps, priority: task.priority(), run };
        let expected = self.expected_duration(t);
        self.workers.get_mut(&w).expect("caller picked a live worker").processing.insert(t, expected, run);
        self.outbox.push(Out::Worker(w, msg));
    }

    /// Makes a needed task's result come to exist: released tasks start waiting (and their
    /// released inputs with them, recursively).
    pub(super) fn ensure(&mut self, root: Tid) {
        let mut stack = vec![root];
        while let Some(t) = stack.pop() {
            let Some(task) = self.tasks.get(&t) else { continue };
            if task.state != St::Released {
                continue;
            }
            if matches!(task.spec, WireSpec::Remote) {
                // Scattered data cannot be recomputed.
                let err = TaskError {
                    key: task.key.clone(),
                    op: "scatter".into(),
                    message: "scattered data was lost with its workers and cannot be recomputed".into(),
                };
                self.set_erred(t, Arc::new(err));
                continue;
            }
            let deps = task.deps.clone();
            if let Some(err) = deps.iter().find_map(|d| self.tasks.get(d).and_then(|x| x.error().cloned())) {
                self.set_erred(t, err);
                continue;
            }
            let mut missing = 0;
            for d in &deps {
                let dep = self.tasks.get_mut(d).expect("dependencies outlive dependents");
                dep.waiters += 1;
                if dep.state != St::Memory {
                    missing += 1;
                    if dep.state == St::Released {
                        stack.push(*d);
                    }
                }
            }
            let task = self.tasks.get_mut(&t).expect("checked above");
            self.counts.moved(std::mem::replace(&mut task.state, St::Waiting), St::Waiting);
            task.n_missing = missing;
            if missing == 0 {
                self.make_ready(t);
            }
        }
    }

    /// A task that was processing (or lost an input) waits again for its inputs.
    pub(super) fn back_to_waiting(&mut self, t: Tid) {
        let deps = self.tasks[&t].deps.clone();
        let mut missing = 0;
        for d in &deps {
            if self.tasks[d].state != St::Memory {
                missing += 1;
            }
        }
        {
            let task = self.tasks.get_mut(&t).expect("caller checked");
            self.counts.moved(std::mem::replace(&mut task.state, St::Waiting), St::Waiting);
            task.set_steal_to(None);
            task.n_missing = missing;
        }
        for d in deps {
            if self.tasks[&d].state == St::Released {
                self.ensure(d);
            }
        }
        let task = &self.tasks[&t];
        if task.state == St::Waiting && task.n_missing == 0 {
            self.make_ready(t);
        }
    }

    /// Worker `w` no longer holds `t` (it died, or a peer could not get the data from it).
    pub(super) fn lose_replica(&mut self, t: Tid, w: WorkerId) {
        let Some(task) = self.tasks.get_mut(&t) else { return };
        task.who_has.retain(|h| *h != w);
        if task.state != St::Memory || !task.who_has.is_empty() {
            return;
        }
        self.counts.moved(std::mem::replace(&mut task.state, St::Released), St::Released);
        let needed = task.wanted > 0 || task.waiters > 0;
        let dependents = task.dependents.clone();
        for x in dependents {
            if let Some(dep) = self.tasks.get_mut(&x) {
                if dep.state == St::Waiting {
                    // A task lists fewer than 2³² inputs (each came in a message).
                    dep.n_missing += dep.deps.iter().filter(|&&d| d == t).count() as u32;
                }
            }
        }
        if needed {
            tracing::info!(key = %self.tasks[&t].key, "result lost with a worker: recomputing");
            self.ensure(t);
        } else {
            self.maybe_forget(t);
        }
    }

    /// Worker `w` holds a copy of `t`'s result of `nbytes` (a worker that is gone is ignored).
    pub(super) fn add_replica(&mut self, t: Tid, w: WorkerId, nbytes: u64) {
        let Some(worker) = self.workers.get_mut(&w) else { return };
        worker.has.insert(t);
        let task = self.tasks.get_mut(&t).expect("caller checked");
        task.nbytes = nbytes;
        if !task.who_has.contains(&w) {
            task.who_has.push(w);
        }
    }

    /// Fails `root` with `err`, and with it every dependent still waiting, queued or
    /// processing; their inputs are released where nothing else needs them.
    pub(super) fn set_erred(&mut self, root: Tid, err: Arc<TaskError>) {
        let mut stack = vec![root];
        while let Some(t) = stack.pop() {
            let Some(task) = self.tasks.get_mut(&t) else { continue };
            let prev = task.state;
            if prev == St::Erred || prev == St::Memory {
                continue;
            }
            self.counts.moved(std::mem::replace(&mut task.state, St::Erred), St::Erred);
            task.set_error(err.clone());
            task.set_steal_to(None);
            self.erred += 1;
            match prev {
                St::Processing(w) => {
                    if let Some(wk) = self.workers.get_mut(&w) {
                        wk.processing.remove(&t);
                    }
                    let key = self.tasks[&t].key.clone();
                    self.outbox.push(Out::Worker(w, ToWorker::Release { keys: vec![key] }));
                }
                St::Queued => self.queue.tidy(self.counts.queued()),
                _ => {}
            }
            if matches!(prev, St::Waiting | St::Queued | St::Processing(_)) {
                let deps = self.tasks[&t].deps.clone();
                for d in deps {
                    if let Some(dep) = self.tasks.get_mut(&d) {
                        dep.waiters = dep.waiters.saturating_sub(1);
                    }
                    self.maybe_release(d);
                }
            }
            self.notify_erred(t);
            self.notify_watchers(t, false, 0.0);
            for &x in &self.tasks[&t].dependents {
                if let Some(dep) = self.tasks.get(&x) {
                    if matches!(dep.state, St::Waiting | St::Queued | St::Processing(_)) {
                        stack.push(x);
                    }
                }
            }
            self.maybe_forget(t);
        }
    }

    /// Clients lose `n` references to `t`.
    pub(super) fn drop_wants(&mut self, t: Tid, n: usize) {
        let Some(task) = self.tasks.get_mut(&t) else { return };
        task.wanted = task.wanted.saturating_sub(u32::try_from(n).unwrap_or(u32::MAX));
        if task.wanted > 0 {
            return;
        }
        match task.state {
            St::Memory => self.maybe_release(t),
            St::Waiting | St::Queued | St::Processing(_) if task.waiters == 0 => self.unneed(t),
            St::Erred | St::Released => self.maybe_forget(t),
            _ => {}
        }
    }

    /// Work nobody needs any more stops: queued and processing tasks are withdrawn, and their
    /// inputs are released or withdrawn in turn.
    pub(super) fn unneed(&mut self, root: Tid) {
        let mut stack = vec![root];
        while let Some(t) = stack.pop() {
            let Some(task) = self.tasks.get_mut(&t) else { continue };
            if task.wanted > 0 || task.waiters > 0 {
                continue;
            }
            let prev = task.state;
            if !matches!(prev, St::Waiting | St::Queued | St::Processing(_)) {
                continue;
            }
            self.counts.moved(std::mem::replace(&mut task.state, St::Released), St::Released);
            task.set_steal_to(None);
            match prev {
                St::Queued => self.queue.tidy(self.counts.queued()),
                St::Processing(w) => {
                    if let Some(wk) = self.workers.get_mut(&w) {
                        wk.processing.remove(&t);
                    }
                    let key = self.tasks[&t].key.clone();
                    self.outbox.push(Out::Worker(w, ToWorker::Release { keys: vec![key] }));
                }
                _ => {}
            }
            let deps = self.tasks[&t].deps.clone();
            for d in deps {
                let Some(dep) = self.tasks.get_mut(&d) else { continue };
                dep.waiters = dep.waiters.saturating_sub(1);
                if dep.waiters == 0 && dep.wanted == 0 {
                    match dep.state {
                        St::Memory => self.maybe_release(d),
                        St::Waiting | St::Queued | St::Processing(_) => stack.push(d),
                        _ => {}
                    }
                }
            }
            self.maybe_forget(t);
        }
    }

    /// Drops a result from the workers once nothing needs it.
    pub(super) fn maybe_release(&mut self, t: Tid) {
        let Some(task) = self.tasks.get_mut(&t) else { return };
        if task.state != St::Memory || task.waiters > 0 || task.wanted > 0 {
            return;
        }
        if matches!(task.spec, WireSpec::Remote) && task.live_dependents > 0 {
            // Scattered data cannot be recomputed: keep it while anything may read it again.
            return;
        }
        self.counts.moved(std::mem::replace(&mut task.state, St::Released), St::Released);
        let holders = std::mem::take(&mut task.who_has);
        let key = task.key.clone();
        for w in holders {
            if let Some(wk) = self.workers.get_mut(&w) {
                wk.has.remove(&t);
                self.outbox.push(Out::Worker(w, ToWorker::Release { keys: vec![key.clone()] }));
            }
        }
        self.maybe_forget(t);
    }

    /// Forgets a task (and, in turn, its inputs) once no client wants it, it holds no result
    /// and no dependent is left that could need it recomputed.
    pub(super) fn maybe_forget(&mut self, root: Tid) {
        let mut stack = vec![root];
        while let Some(t) = stack.pop() {
            let Some(task) = self.tasks.get(&t) else { continue };
            if task.wanted > 0 || task.live_dependents > 0 || !matches!(task.state, St::Released | St::Erred) {
                continue;
            }
            let task = self.tasks.remove(&t).expect("checked above");
            self.watchers.remove(&t);
            self.counts.remove(task.state);
            for d in unique(&task.deps) {
                if let Some(dep) = self.tasks.get_mut(&d) {
                    dep.live_dependents -= 1;
                    if dep.dependents.len() > 2 * dep.live_dependents as usize + 8 {
                        let mut list = std::mem::take(&mut dep.dependents);
                        list.retain(|x| self.tasks.contains_key(x));
                        self.tasks.get_mut(&d).expect("checked above").dependents = list;
                    }
                    let dep = &self.tasks[&d];
                    if dep.live_dependents == 0 {
                        if dep.state == St::Memory && dep.waiters == 0 && dep.wanted == 0 {
                            self.maybe_release(d);
                        } else {
                            stack.push(d);
                        }
                    }
                }
            }
        }
    }
}
