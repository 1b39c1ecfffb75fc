//! Choosing a worker for a task: the locality cost (bytes to fetch over the assumed bandwidth
//! plus the worker's backlog), root-task queuing (how much work a worker is given ahead) and
//! work stealing.
//!
//! The rules are [`Placement`]'s, pure functions over [`Load`]s (what placement sees of a
//! worker), so they can be tested and benchmarked on a synthetic cluster without a network;
//! the [`ClusterState`] methods below feed them the state's workers and tasks.

use super::{ClusterState, Out, Tid, Worker, WorkerId};
use crate::protocol::ToWorker;

/// What placement sees of one worker.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Load {
    /// The worker.
    pub id: WorkerId,
    /// Its compute threads (at least one).
    pub nthreads: usize,
    /// Tasks assigned to it and not finished.
    pub processing: usize,
    /// Their expected run time, seconds (each op's own estimate): the worker's backlog.
    pub occupancy: f64,
    /// Whether it stopped starting tasks (memory above its pause threshold).
    pub paused: bool,
}

impl Load {
    /// A worker's load as the state holds it.
    fn of(id: WorkerId, w: &Worker) -> Self {
        Load {
            id,
            nthreads: w.nthreads,
            processing: w.processing.len(),
            occupancy: w.processing.occupancy(),
            paused: w.metrics.paused,
        }
    }
}

/// What a worker would have to fetch to run a task: its inputs held elsewhere.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Missing {
    /// Their bytes.
    pub bytes: u64,
    /// How many.
    pub inputs: usize,
}

/// The placement rules, with the tunables they use and the current mean task duration.
#[derive(Clone, Copy, Debug)]
pub(super) struct Placement {
    /// Assumed transfer bandwidth between workers, bytes per second.
    pub bandwidth: f64,
    /// Assumed cost of fetching one input from a peer beyond its bytes, seconds.
    pub latency: f64,
    /// Time a worker's queue should cover, seconds.
    pub backlog_seconds: f64,
    /// Mean task duration, seconds.
    pub avg_duration: f64,
}

impl Placement {
    /// The estimated time before a task could start on a worker: fetching the inputs it does
    /// not hold (their bytes over the bandwidth, plus a latency per input), plus the worker's
    /// backlog (the expected run time of the tasks it has, each by its op's estimate, over its
    /// threads); a paused worker costs 10⁶ s.
    pub fn start_cost(&self, w: &Load, missing: Missing) -> f64 {
        let fetch = missing.bytes as f64 / self.bandwidth + missing.inputs as f64 * self.latency;
        let backlog = w.occupancy / w.nthreads as f64;
        let paused = if w.paused { 1e6 } else { 0.0 };
        fetch + backlog + paused
    }

    /// The candidate (a worker with what it would have to fetch) with the lowest
    /// [`start_cost`](Self::start_cost), the first on ties; `None` without candidates.
    pub fn best_by_locality(&self, candidates: impl IntoIterator<Item = (Load, Missing)>) -> Option<WorkerId> {
        let mut best: Option<(f64, WorkerId)> = None;
        for (w, missing) in candidates {
            let cost = self.start_cost(&w, missing);
            if best.is_none_or(|(c, _)| cost < c) {
                best = Some((cost, w.id));
            }
        }
        best.map(|(_, id)| id)
    }

    /// How many tasks a worker may be given from the queue: the backlog that covers
    /// `backlog_seconds` on top of its threads (at most 10,000 more), or twice its threads,
    /// whichever is more.
    pub fn capacity(&self, nthreads: usize) -> usize {
        let by_time = (self.backlog_seconds / self.avg_duration.max(1e-6)) as usize;
        (2 * nthreads).max(nthreads + by_time.min(10_000))
    }

    /// The worker a queued task goes to: the least loaded (tasks per thread) among those not
    /// paused and below their [`capacity`](Self::capacity), the first on ties; `None` when no
    /// worker has room.
    pub fn least_loaded(&self, workers: impl IntoIterator<Item = Load>) -> Option<WorkerId> {
        let mut best: Option<(f64, WorkerId)> = None;
        for w in workers {
            if w.paused || w.processing >= self.capacity(w.nthreads) {
                continue;
            }
            let load = w.processing as f64 / w.nthreads as f64;
            if best.is_none_or(|(l, _)| load < l) {
                best = Some((load, w.id));
            }
        }
        best.map(|(_, id)| id)
    }

    /// Whether a task with this many input bytes, expected to run `duration` seconds, is too
    /// costly to steal: moving its inputs would take longer than twice its run time.
    pub fn too_costly_to_steal(&self, input_bytes: u64, duration: f64) -> bool {
        input_bytes as f64 / self.bandwidth > 2.0 * duration
    }
}

impl ClusterState {
    /// The placement rules with the current tunables and mean task duration.
    pub(super) fn placement(&self) -> Placement {
        Placement {
            bandwidth: self.config.bandwidth,
            latency: self.config.transfer_latency,
            backlog_seconds: self.config.backlog_seconds,
            avg_duration: self.avg_duration,
        }
    }

    /// The worker with the lowest estimated start time for a task whose inputs are in memory
    /// ([`Placement::best_by_locality`]); there must be a worker.
    pub(super) fn decide_worker(&self, t: Tid) -> WorkerId {
        let task = &self.tasks[&t];
        let candidates = self.workers.iter().map(|(&wid, w)| {
            let mut missing = Missing::default();
            for dep in task.deps.iter().map(|d| &self.tasks[d]).filter(|dep| !dep.who_has.contains(&wid)) {
                missing.bytes += dep.nbytes;
                missing.inputs += 1;
            }
            (Load::of(wid, w), missing)
        });
        // make_ready checked that there is a worker.
        self.placement().best_by_locality(candidates).expect("at least one worker")
    }

    /// Hands queued tasks to workers with room, least loaded first ([`Placement::least_loaded`]);
    /// a queued task with inputs goes where they are.
    pub(super) fn dispatch_queue(&mut self) {
        // Sending work changes loads, not the tunables or the mean duration.
        let placement = self.placement();
        while let Some(t) = self.queue.peek(&self.tasks) {
            let Some(w) = placement.least_loaded(self.workers.iter().map(|(&id, w)| Load::of(id, w))) else { return };
            self.queue.pop();
            let w = if self.tasks[&t].deps.is_empty() { w } else { self.decide_worker(t) };
            self.send_compute(t, w);
        }
    }

    /// Work stealing: each idle worker asks the most loaded one (the most tasks beyond its
    /// threads) for up to its free threads' worth, and at most half the surplus, of the
    /// not-yet-started tasks the victim would run last, skipping those too costly to move
    /// ([`Placement::too_costly_to_steal`], with the task's own op's expected run time, so a
    /// slow op's tasks move with large inputs while a fast op's stay). Nothing is stolen while
    /// tasks are queued here.
    pub fn balance(&mut self) {
        if self.counts.queued() > 0 || self.workers.len() < 2 {
            return;
        }
        let idle: Vec<WorkerId> = self
            .workers
            .iter()
            .filter(|(_, w)| !w.metrics.paused && w.processing.len() < w.nthreads)
            .map(|(&id, _)| id)
            .collect();
        for thief in idle {
            let room = {
                let w = &self.workers[&thief];
                w.nthreads - w.processing.len().min(w.nthreads)
            };
            let Some((&victim, v)) = self
                .workers
                .iter()
                .filter(|(&id, _)| id != thief)
                .max_by_key(|(_, w)| w.processing.len().saturating_sub(w.nthreads))
            else {
                continue;
            };
            let surplus = v.processing.len().saturating_sub(v.nthreads);
            if surplus == 0 {
                continue;
            }
            // Look at a bounded sample: stealing is a correction, not a scan of every queue.
            let mut picks: Vec<Tid> =
                v.processing.iter().copied().filter(|t| self.tasks[t].steal_to().is_none()).take(256).collect();
            // Steal the tasks the victim would run last, and only what is cheap to move.
            picks.sort_unstable_by_key(|t| std::cmp::Reverse(self.tasks[t].priority()));
            let placement = self.placement();
            let mut n = 0;
            for t in picks {
                if n >= room.max(1).min(surplus.div_ceil(2)) {
                    break;
                }
                let bytes: u64 = self.tasks[&t].deps.iter().map(|d| self.tasks[d].nbytes).sum();
                if placement.too_costly_to_steal(bytes, self.expected_duration(t)) {
                    continue;
                }
                let task = self.tasks.get_mut(&t).expect("listed by a worker");
                task.set_steal_to(Some(thief));
                self.outbox.push(Out::Worker(victim, ToWorker::Steal { key: task.key.clone() }));
                n += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use rustc_hash::FxHashMap;

    use super::*;
    use crate::protocol::{WireNode, WireOp, WireSpec};
    use crate::state::StateConfig;
    use rask_core::Key;

    /// A deterministic pseudo-random sequence (xorshift64).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// The default rules with 1 ms tasks.
    fn rules() -> Placement {
        let c = StateConfig::default();
        Placement {
            bandwidth: c.bandwidth,
            latency: c.transfer_latency,
            backlog_seconds: c.backlog_seconds,
            avg_duration: 1e-3,
        }
    }

    #[test]
    fn on_sixteen_workers_large_inputs_pull_tasks_to_their_holder_and_small_ones_to_idle_workers() {
        let p = rules();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let paused = 5;
        let mut loads: Vec<Load> = (0..16)
            .map(|id| {
                let processing = (rng.next() % 12) as usize;
                Load { id, nthreads: 4, processing, occupancy: processing as f64 * 1e-3, paused: id == paused }
            })
            .collect();
        let (mut local, mut balanced) = (0, 0);
        for task in 0..1000 {
            // One input, held on one worker: 10 MB or more (50 ms at 200 MB/s, more than any
            // backlog here), or under 1 kB (5 µs plus the 100 µs fetch latency, less than one
            // queued 1 ms task on 4 threads).
            let holder = rng.next() % 16;
            let large = task % 2 == 0;
            let bytes = if large { 10_000_000 + rng.next() % 100_000_000 } else { rng.next() % 1_000 };
            let candidates = loads.iter().map(|w| {
                let missing = if w.id == holder { Missing::default() } else { Missing { bytes, inputs: 1 } };
                (*w, missing)
            });
            let chosen = p.best_by_locality(candidates).expect("sixteen candidates");
            let least = loads.iter().filter(|w| !w.paused).map(|w| w.processing).min().expect("running workers");
            assert_ne!(chosen, paused, "task {task}: a paused worker is never chosen");
            if large && holder != paused {
                assert_eq!(chosen, holder, "task {task}: {bytes} B of input pull it to their holder");
                local += 1;
            } else {
                assert_eq!(
                    loads[chosen as usize].processing, least,
                    "task {task}: small inputs go to the least loaded"
                );
                balanced += 1;
            }
            loads[chosen as usize].processing += 1;
            loads[chosen as usize].occupancy += 1e-3;
            // Some worker finishes a task.
            let done = &mut loads[(rng.next() % 16) as usize];
            done.processing = done.processing.saturating_sub(1);
            done.occupancy = done.processing as f64 * 1e-3;
        }
        assert!(local > 400 && balanced > 400, "{local} placed by locality, {balanced} by load");
        assert_eq!(p.best_by_locality([]), None);
    }

    #[test]
    fn queued_tasks_go_to_the_least_loaded_worker_with_room() {
        let mut p = rules();
        // 5 ms of backlog at 1 ms a task: threads plus five.
        assert_eq!(p.capacity(1), 6);
        assert_eq!(p.capacity(8), 16, "at least twice the threads");
        let w = |id, processing: usize, paused| Load {
            id,
            nthreads: 2,
            processing,
            occupancy: processing as f64 * 1e-3,
            paused,
        };
        assert_eq!(p.least_loaded([w(1, 3, false), w(2, 1, true), w(3, 2, false)]), Some(3));
        assert_eq!(p.least_loaded([w(1, 2, false), w(2, 2, false)]), Some(1), "the first on ties");
        assert_eq!(p.least_loaded([w(1, 7, false), w(2, 0, true)]), None, "full or paused: no room");
        // Long tasks: twice the threads.
        p.avg_duration = 1.0;
        assert_eq!(p.capacity(2), 4);
        assert_eq!(p.least_loaded([w(1, 4, false)]), None);
        // Stealing moves a task only if its inputs cross in under two task durations.
        assert!(!p.too_costly_to_steal(400_000_000, 1.0));
        assert!(p.too_costly_to_steal(400_000_001, 1.0));
    }

    #[test]
    fn a_cluster_of_sixteen_workers_runs_a_thousand_dependents_where_their_inputs_are() {
        let mut s = ClusterState::new(StateConfig::default());
        let now = Instant::now();
        for w in 1..=16 {
            s.add_worker(w, format!("127.0.0.1:{w}"), 4, None, w as u32, now);
        }
        s.add_client(1);
        let op = || {
            WireSpec::Task(smallvec::smallvec![WireOp {
                name: "test.op".into(),
                version: 1,
                args: rask_core::wire::WireArgs::new()
            }])
        };
        let node = |key: String, deps: Vec<Key>, priority| WireNode { key: Key::new(key), spec: op(), deps, priority };
        let roots: Vec<WireNode> = (0..16).map(|i| node(format!("root{i}"), vec![], i)).collect();
        s.submit(1, roots, vec![]).expect("roots");
        let dependents: Vec<WireNode> =
            (0..1000).map(|i| node(format!("dep{i}"), vec![Key::new(format!("root{}", i % 16))], 16 + i)).collect();
        let wants = dependents.iter().map(|n| n.key.clone()).collect();
        s.submit(1, dependents, wants).expect("dependents");
        // The roots run somewhere; each result is 100 MB.
        let mut holder = FxHashMap::default();
        for o in std::mem::take(&mut s.outbox) {
            if let Out::Worker(w, ToWorker::Compute { key, .. }) = o {
                holder.insert(key, w);
            }
        }
        assert_eq!(holder.len(), 16, "every root starts");
        for (key, &w) in &holder {
            s.task_done(w, key, s.run_of(w, key), 100_000_000, 1e-3);
        }
        let mut placed = 0;
        for o in &s.outbox {
            if let Out::Worker(w, ToWorker::Compute { key, deps, .. }) = o {
                assert_eq!(deps.len(), 1);
                assert_eq!(Some(w), holder.get(&deps[0].0), "{key} runs where its 100 MB input is");
                placed += 1;
            }
        }
        assert_eq!(placed, 1000);
        s.check_invariants().expect("invariants");
    }
}
