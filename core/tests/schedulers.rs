//! Every scheduler gives the same results on the same graphs.

mod common;

use common::*;
use rask_core::{ComputeOptions, Graph, Key, Node, Scheduler, Value};

on_every_scheduler! {
    fn tree_reduction_of_a_thousand_leaves(s: &Scheduler) {
        for split_every in [2, 3, 8, 1000] {
            let (g, root) = tree_sum_graph(1000, split_every);
            assert_eq!(get_i64(s, &g, &root), 999 * 1000 / 2, "split_every {split_every}");
        }
    }

    fn diamond_with_repeated_inputs(s: &Scheduler) {
        let mut g = Graph::new();
        let a = lin(&mut g, 5, &[]);
        let b = lin(&mut g, 1, &[a.clone()]);
        let c = lin(&mut g, 2, &[a.clone(), a.clone()]);
        let d = lin(&mut g, 0, &[b.clone(), c.clone(), b.clone()]);
        // b = 6, c = 12, d = 6 + 12 + 6.
        assert_eq!(get_i64(s, &g, &d), 24);
    }

    fn long_chain_with_and_without_fusion(s: &Scheduler) {
        let mut g = Graph::new();
        let mut k = lin(&mut g, 0, &[]);
        for _ in 0..2000 {
            k = lin(&mut g, 1, &[k]);
        }
        for optimize in [true, false] {
            let out = s.compute_with(&g, std::slice::from_ref(&k), &ComputeOptions::new().optimize(optimize)).unwrap();
            assert_eq!(*out.values[0].get::<i64>().unwrap(), 2000);
            let expected_nodes = if optimize { 1 } else { 2001 };
            assert_eq!(out.stats.plan.planned_nodes, expected_nodes, "optimize {optimize}");
            assert_eq!(out.stats.tasks_run, expected_nodes);
        }
    }

    fn many_outputs_with_repeats_data_and_aliases(s: &Scheduler) {
        let mut g = Graph::new();
        let x = g.add_data("x", Value::new(40i64));
        let y = lin(&mut g, 2, &[x.clone()]);
        let z = g.add_alias("z", y.clone());
        let w = lin(&mut g, 0, &[z.clone(), x.clone()]);
        let vals = s.compute(&g, &[w.clone(), x.clone(), z.clone(), w.clone(), y.clone()]).unwrap();
        let got: Vec<i64> = vals.iter().map(|v| *v.get::<i64>().unwrap()).collect();
        assert_eq!(got, vec![82, 40, 42, 82, 42]);
    }

    fn intermediate_outputs_survive_fusion(s: &Scheduler) {
        let mut g = Graph::new();
        let a = lin(&mut g, 1, &[]);
        let b = lin(&mut g, 1, &[a.clone()]);
        let c = lin(&mut g, 1, &[b.clone()]);
        let vals = s.compute(&g, &[c.clone(), b.clone()]).unwrap();
        assert_eq!(*vals[0].get::<i64>().unwrap(), 3);
        assert_eq!(*vals[1].get::<i64>().unwrap(), 2);
    }

    fn persist_then_reuse(s: &Scheduler) {
        let (g, root) = tree_sum_graph(100, 4);
        let persisted = s.persist(&g, std::slice::from_ref(&root)).unwrap();
        assert_eq!(persisted.len(), 1);
        assert!(matches!(persisted.get(&root), Some(Node::Data(_))));
        let mut next = persisted.clone();
        let r2 = lin(&mut next, 1, &[root.clone()]);
        let out = s.compute_with(&next, std::slice::from_ref(&r2), &ComputeOptions::new()).unwrap();
        assert_eq!(*out.values[0].get::<i64>().unwrap(), 4951);
        assert_eq!(out.stats.tasks_run, 2, "only the persisted data node and the new task run");

        // Merging the persisted results into the original graph makes it reuse them too.
        let mut merged = g.clone();
        merged.merge(&persisted);
        let out = s.compute_with(&merged, std::slice::from_ref(&root), &ComputeOptions::new()).unwrap();
        assert_eq!(*out.values[0].get::<i64>().unwrap(), 4950);
        assert_eq!(out.stats.tasks_run, 1);
        // Merging the other way keeps the data: a result is never replaced by its task.
        let mut back = persisted.clone();
        back.merge(&g);
        assert!(matches!(back.get(&root), Some(Node::Data(_))));
    }

    fn vector_values_cross_tasks(s: &Scheduler) {
        let mut g = Graph::new();
        let v = g.add_data("v", Value::new((1..=100).collect::<Vec<i64>>()));
        let total = g.task(SumVec, &[v]).unwrap();
        assert_eq!(get_i64(s, &g, &total), 5050);
    }

    fn held_results_stay_bounded_in_a_wide_reduction(s: &Scheduler) {
        let (g, root) = tree_sum_graph(20_000, 8);
        let out = s.compute_with(&g, std::slice::from_ref(&root), &ComputeOptions::new()).unwrap();
        assert_eq!(*out.values[0].get::<i64>().unwrap(), 19_999 * 20_000 / 2);
        // Depth-first priorities plus early release keep O(split_every × depth) results alive per
        // thread that can stall a group, never O(leaves). The cases run on at most 3 threads, or
        // on rayon's global pool (one thread per core).
        let threads = rayon::current_num_threads().max(3);
        let bound = held_bound(threads, 8, 20_000);
        assert!(out.stats.peak_held <= bound, "peak held {} for 20,000 leaves (bound {bound})", out.stats.peak_held);
    }
}

#[test]
fn identical_work_is_one_node() {
    let mut g = Graph::new();
    let a = lin(&mut g, 3, &[]);
    let b1 = lin(&mut g, 4, &[a.clone()]);
    let b2 = lin(&mut g, 4, &[a.clone()]);
    assert_eq!(b1, b2);
    assert_eq!(g.len(), 2);
    let c = lin(&mut g, 5, &[a]);
    assert_ne!(b1, c);
}

/// Records what a computation reports.
#[derive(Default)]
struct Recorder {
    computes: std::sync::Mutex<Vec<String>>,
    started: std::sync::Mutex<Vec<Key>>,
    finished: std::sync::Mutex<Vec<(Key, bool)>>,
}

impl rask_core::Callback for Recorder {
    fn on_compute_start(&self, n: usize) {
        self.computes.lock().unwrap().push(format!("start {n}"));
    }
    fn on_task_start(&self, key: &Key) {
        self.started.lock().unwrap().push(key.clone());
    }
    fn on_task_finish(&self, key: &Key, ok: bool, _: std::time::Duration) {
        self.finished.lock().unwrap().push((key.clone(), ok));
    }
    fn on_compute_end(&self, ok: bool) {
        self.computes.lock().unwrap().push(format!("end {ok}"));
    }
}

#[test]
fn every_executor_keeps_the_executor_contract() {
    let (g, root) = tree_sum_graph(40, 4);
    let mut g2 = g.clone();
    let other = lin(&mut g2, 7, &[]);
    let keys = [root.clone(), other.clone(), root.clone()];
    for (name, s) in all_schedulers() {
        let rec = std::sync::Arc::new(Recorder::default());
        let out = s.compute_with(&g2, &keys, &ComputeOptions::new().callback(rec.clone())).unwrap();
        let values: Vec<i64> = out.values.iter().map(|v| *v.get::<i64>().unwrap()).collect();
        assert_eq!(values, [39 * 40 / 2, 7, 39 * 40 / 2], "{name}: one value per key, in order");
        let n = out.stats.plan.planned_nodes;
        assert_eq!(*rec.computes.lock().unwrap(), [format!("start {n}"), "end true".to_string()], "{name}");
        let finished = rec.finished.lock().unwrap().clone();
        assert!(finished.iter().all(|(_, ok)| *ok), "{name}");
        for k in [&root, &other] {
            assert_eq!(finished.iter().filter(|(f, _)| f == k).count(), 1, "{name}: {k} finishes once");
        }
        if name == "distributed" {
            // A remote executor: every task finished (the scheduler's task events), none
            // started here, submitted nodes counted, nothing held here.
            assert_eq!(finished.len(), n, "{name}");
            assert!(rec.started.lock().unwrap().is_empty(), "{name}");
            assert_eq!((out.stats.tasks_run, out.stats.peak_held), (n, 0), "{name}");
        } else {
            // A local executor: every node, started and finished once each, counted exactly.
            assert_eq!(finished.len(), n, "{name}");
            assert_eq!(rec.started.lock().unwrap().len(), n, "{name}");
            assert_eq!(out.stats.tasks_run, n, "{name}");
            assert!(out.stats.peak_held >= 2 && out.stats.peak_held < n, "{name}: {}", out.stats.peak_held);
        }
    }
}

/// An executor that breaks the contract: one value too few.
#[derive(Debug)]
struct Short;

impl rask_core::Executor for Short {
    fn name(&self) -> String {
        "short".into()
    }
    fn execute(
        &self,
        plan: &rask_core::scheduler::Plan<'_>,
        callbacks: &[std::sync::Arc<dyn rask_core::Callback>],
    ) -> rask_core::Result<rask_core::scheduler::Executed> {
        let mut ex = rask_core::scheduler::SyncExecutor::new().execute(plan, callbacks)?;
        ex.outputs.pop();
        Ok(ex)
    }
}

#[test]
fn an_executor_that_returns_too_few_values_is_an_error_not_a_panic() {
    let (g, root) = tree_sum_graph(10, 2);
    let s = Scheduler::custom(std::sync::Arc::new(Short));
    let err = s.get::<i64>(&g, &root).unwrap_err();
    assert!(err.to_string().contains("the short executor returned 0 values for 1 keys"), "{err}");
}

#[test]
fn results_are_identical_on_every_scheduler() {
    let (g, root) = tree_sum_graph(5000, 7);
    let results: Vec<i64> = all_schedulers().iter().map(|(_, s)| get_i64(s, &g, &root)).collect();
    assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
}

#[test]
fn default_scheduler_can_be_overridden_per_thread_and_call() {
    let timings = std::sync::Arc::new(rask_core::scheduler::TaskTimings::new());
    let (g, root) = tree_sum_graph(10, 2);
    let sync = Scheduler::sync();
    let name = rask_core::with_scheduler(&sync, || rask_core::default_scheduler().name());
    assert_eq!(name, "sync");
    assert_ne!(rask_core::default_scheduler().name(), "sync");
    let opts = ComputeOptions::new().callback(timings.clone());
    let out = sync.compute_with(&g, &[root], &opts).unwrap();
    let summary = timings.summary();
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0].0, "lin");
    assert_eq!(summary[0].1, out.stats.tasks_run);
    // 10 leaves, then 5, 3, 2 and 1 combines; the lone groups of one at the second and third
    // levels are single-input tasks and fuse with the task they read, into one task.
    assert_eq!(out.stats.plan.culled_nodes, 10 + 5 + 3 + 2 + 1);
    assert_eq!(out.stats.tasks_run, 10 + 5 + 3 + 2 + 1 - 2);
}

#[test]
fn callbacks_see_every_task_on_the_threaded_scheduler() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    #[derive(Default)]
    struct Count {
        started: AtomicUsize,
        finished: AtomicUsize,
        total: AtomicUsize,
    }
    impl rask_core::Callback for Count {
        fn on_compute_start(&self, n: usize) {
            self.total.store(n, Ordering::SeqCst);
        }
        fn on_task_start(&self, _: &Key) {
            self.started.fetch_add(1, Ordering::SeqCst);
        }
        fn on_task_finish(&self, _: &Key, ok: bool, _: std::time::Duration) {
            assert!(ok);
            self.finished.fetch_add(1, Ordering::SeqCst);
        }
    }
    let count = std::sync::Arc::new(Count::default());
    let (g, root) = tree_sum_graph(3000, 4);
    let opts = ComputeOptions::new().callback(count.clone()).progress("test");
    let out = Scheduler::threaded_with(2).unwrap().compute_with(&g, &[root], &opts).unwrap();
    assert_eq!(count.started.load(Ordering::SeqCst), out.stats.tasks_run);
    assert_eq!(count.finished.load(Ordering::SeqCst), out.stats.tasks_run);
    assert_eq!(count.total.load(Ordering::SeqCst), out.stats.tasks_run);
}

#[test]
fn a_scheduler_s_own_callbacks_see_every_computation_it_runs() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    #[derive(Default)]
    struct Count {
        computes: AtomicUsize,
        tasks: AtomicUsize,
    }
    impl rask_core::Callback for Count {
        fn on_compute_start(&self, _: usize) {
            self.computes.fetch_add(1, Ordering::SeqCst);
        }
        fn on_task_finish(&self, _: &Key, _: bool, _: std::time::Duration) {
            self.tasks.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (g, root) = tree_sum_graph(100, 4);
    for base in [Scheduler::sync(), Scheduler::threaded_with(2).unwrap()] {
        let count = std::sync::Arc::new(Count::default());
        let s = base.with_callback(count.clone());
        // Through the default scheduler, as estimators compute.
        let n: usize = rask_core::with_scheduler(&s, || {
            (0..3).map(|_| rask_core::compute(&g, std::slice::from_ref(&root)).unwrap().len()).sum()
        });
        assert_eq!(n, 3);
        assert_eq!(count.computes.load(Ordering::SeqCst), 3);
        let per_compute =
            s.compute_with(&g, std::slice::from_ref(&root), &ComputeOptions::new()).unwrap().stats.tasks_run;
        assert_eq!(count.tasks.load(Ordering::SeqCst), 4 * per_compute);
        // The plain scheduler is unchanged.
        base.compute(&g, std::slice::from_ref(&root)).unwrap();
        assert_eq!(count.computes.load(Ordering::SeqCst), 4);
    }
}

#[test]
fn a_task_can_compute_a_nested_graph_on_the_same_pool() {
    let s = Scheduler::threaded_with(2).unwrap();
    let inner = s.clone();
    let mut g = Graph::new();
    let outer: Vec<Key> = (0..8)
        .map(|i| {
            let inner = inner.clone();
            g.add_local(format!("outer-{i}"), vec![], move |_| {
                let (g2, r2) = tree_sum_graph(200, 4);
                Ok(Value::new(inner.get::<i64>(&g2, &r2).map_err(|e| rask_core::OpError::new(e.to_string()))?))
            })
        })
        .collect();
    let vals = s.compute(&g, &outer).unwrap();
    assert!(vals.iter().all(|v| *v.get::<i64>().unwrap() == 199 * 200 / 2));
}

/// The most results a tree reduction of `leaves` leaves, `split` to a group, may hold at once
/// on `threads` threads: O(split × depth × threads), never O(leaves).
///
/// Depth-first priorities and early release mean only unfinished tasks keep results alive: a
/// group waiting on one holds its other members, and so does every group above it. A thread
/// has at most one batch of tiny tasks in hand (the threaded executor's `MAX_BATCH`, 16), and
/// a batch of consecutive ready tasks spans at most `16 / split + 1` groups at each level, so
/// one thread can keep `(16 / split + 1) × split` results alive per level.
fn held_bound(threads: usize, split: usize, leaves: usize) -> usize {
    const MAX_BATCH: usize = 16;
    let mut depth = 0;
    let mut width = leaves;
    while width > 1 {
        width = width.div_ceil(split);
        depth += 1;
    }
    threads * (MAX_BATCH / split + 1) * split * (depth + 1)
}

#[test]
fn a_million_task_graph_runs_with_bounded_held_results() {
    let (g, root) = tree_sum_graph(1_000_000, 16);
    assert!(g.len() > 1_000_000);
    let out = Scheduler::threaded_with(2).unwrap().compute_with(&g, &[root], &ComputeOptions::new()).unwrap();
    assert_eq!(*out.values[0].get::<i64>().unwrap(), 999_999 * 1_000_000 / 2);
    let bound = held_bound(2, 16, 1_000_000);
    assert!(out.stats.peak_held <= bound, "peak held {} (bound {bound})", out.stats.peak_held);
}

#[test]
fn the_state_machine_refuses_events_for_tasks_that_are_not_running() {
    use rask_core::scheduler::{Plan, SchedulerState, TaskState};
    let (g, root) = tree_sum_graph(4, 2);
    let plan = Plan::build(&g, &[root], false).unwrap();
    let mut state = SchedulerState::new(&plan);
    let mut released = Vec::new();
    // Nothing is running yet.
    assert!(state.finish(&plan, 0, &mut released).is_err());
    assert!(state.fail(&plan, 0).is_err());
    assert!(state.finish(&plan, 999, &mut released).is_err());
    let i = state.pop_ready().unwrap();
    assert_eq!(state.task_state(i), TaskState::Running);
    assert_eq!(state.finish(&plan, i, &mut released).unwrap(), 0);
    // Finishing twice is refused and changes nothing.
    assert!(state.finish(&plan, i, &mut released).is_err());
    assert_eq!(state.n_finished(), 1);
    // Another plan is refused.
    let (g2, r2) = tree_sum_graph(8, 2);
    let other = Plan::build(&g2, &[r2], false).unwrap();
    let j = state.pop_ready().unwrap();
    assert!(state.finish(&other, j, &mut released).is_err());
}

#[test]
fn dependents_map_lists_every_reader() {
    let mut g = Graph::new();
    let a = lin(&mut g, 1, &[]);
    let b = lin(&mut g, 2, &[a.clone()]);
    let c = lin(&mut g, 3, &[a.clone(), b.clone()]);
    let d = g.dependents();
    assert_eq!(d[&a], vec![b.clone(), c.clone()]);
    assert_eq!(d[&b], vec![c.clone()]);
    assert!(!d.contains_key(&c));
}

#[test]
fn fusing_with_an_unknown_key_to_keep_is_an_error() {
    let (g, _) = tree_sum_graph(4, 2);
    let err = rask_core::graph::fuse_linear(&g, &[Key::new("typo")]).unwrap_err();
    assert_eq!(err, rask_core::Error::MissingKey(Key::new("typo")));
}

/// While a task runs, the task that comes next is told to prefetch (so a file read can overlap
/// the current task's computing): on the synchronous scheduler every task but the first is
/// hinted before it runs; a threaded loop hints the task after each batch it takes (tiny tasks
/// like these are taken several at a time), always before that task runs.
#[test]
fn the_next_ready_task_is_hinted_to_prefetch_while_one_runs() {
    for (s, every) in [(Scheduler::sync(), true), (Scheduler::threaded_with(1).unwrap(), false)] {
        PREFETCH_LOG.lock().unwrap().clear();
        let mut g = Graph::new();
        let keys: Vec<Key> = (0..5).map(|id| g.task(Prefetched { id, ms: 0 }, &[]).unwrap()).collect();
        let values = s.compute(&g, &keys).unwrap();
        assert_eq!(values.iter().map(|v| *v.get::<i64>().unwrap()).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
        let log = PREFETCH_LOG.lock().unwrap().clone();
        let runs: Vec<u64> = log.iter().filter(|(e, _)| *e == "run").map(|&(_, id)| id).collect();
        assert_eq!(runs.len(), 5, "{log:?}");
        let mut n_hinted = 0;
        for &id in &runs[1..] {
            let hinted = log.iter().position(|&e| e == ("prefetch", id));
            let ran = log.iter().position(|&e| e == ("run", id));
            assert!(hinted < ran, "{}: task {id} hinted after it ran: {log:?}", s.name());
            assert!(hinted.is_some() || !every, "{}: task {id} not hinted: {log:?}", s.name());
            n_hinted += usize::from(hinted.is_some());
        }
        assert!(n_hinted > 0, "{}: no hint: {log:?}", s.name());
    }
}
