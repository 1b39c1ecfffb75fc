//! A walk through Rask's task-graph core. Twin of `notebooks/01-task-graphs.ipynb`.
//!
//! `cargo run --release --example task_graphs`

use std::sync::Arc;

use rask::demo::{BlockMoments, MergeMoments, Moments, UniformBlock};
use rask::scheduler::TaskTimings;
use rask::{delayed, ComputeOptions, Delayed, Error, Graph, Key, Scheduler, Value};

fn main() -> Result<(), Error> {
    // 1. Graphs are data. Registered ops get deterministic keys: the same work, the same key.
    let mut g = Graph::new();
    let block = g.task_block(UniformBlock { seed: 1, block: 0, len: 1000 }, &[], 0)?;
    let again = g.task_block(UniformBlock { seed: 1, block: 0, len: 1000 }, &[], 0)?;
    assert_eq!(block, again);
    println!("1. one node for identical work: {block} ({} node in the graph)", g.len());

    // 2. A tree reduction over 64 blocks, computed on the threaded scheduler.
    let mut g = Graph::new();
    let parts: Vec<Key> = (0..64)
        .map(|b| {
            let data = g.task_block(UniformBlock { seed: 1, block: b, len: 10_000 }, &[], b)?;
            g.task_block(BlockMoments, &[data], b)
        })
        .collect::<Result<_, _>>()?;
    let root = g.tree_reduce(&parts, 4, |g, _, group| g.task(MergeMoments, group))?;
    let timings = Arc::new(TaskTimings::new());
    let out =
        Scheduler::threaded().compute_with(&g, &[root.clone()], &ComputeOptions::new().callback(timings.clone()))?;
    let m = *out.values[0].get::<Moments>().map_err(|source| Error::ValueType { key: root.clone(), source })?;
    println!(
        "2. {} numbers, mean {:.4}, variance {:.4}; {} graph nodes ran as {} tasks after fusion",
        m.n,
        m.mean,
        m.variance(),
        out.stats.plan.graph_nodes,
        out.stats.tasks_run
    );
    assert_eq!(m.n, 640_000);

    // 3. Every scheduler gives the same answer, bit for bit.
    let sync: Moments = Scheduler::sync().get(&g, &root)?;
    let checked: Moments = Scheduler::checked(rask::registry()).get(&g, &root)?;
    assert_eq!(sync, m);
    assert_eq!(checked, m);
    println!("3. sync, threaded and serialisation-checked schedulers agree exactly");

    // 4. Delayed closures for quick local work.
    let a = Delayed::value(6.0_f64);
    let b = Delayed::value(7.0_f64);
    let product = delayed(|a: &f64, b: &f64| a * b).named("mul").call((&a, &b));
    assert_eq!(product.compute()?, 42.0);
    println!("4. delayed closure: 6 × 7 = {}", product.compute()?);

    // 5. ... which the checked scheduler refuses: closures cannot travel to a remote worker.
    let err = product.compute_on(&Scheduler::checked(rask::registry())).unwrap_err();
    assert!(matches!(err, Error::LocalTask { .. }));
    println!("5. checked scheduler: {err}");

    // 6. Failures name the task and do not poison the scheduler.
    let mut bad = Graph::new();
    let x = bad.add_data("x", Value::new(String::from("not numbers")));
    let y = bad.task(BlockMoments, &[x])?;
    let err = Scheduler::threaded().compute(&bad, &[y]).unwrap_err();
    assert!(matches!(err, Error::TaskFailed { .. }));
    println!("6. {err}");
    let still: Moments = Scheduler::threaded().get(&g, &root)?;
    assert_eq!(still, m);

    // 7. Persist keeps results in memory for later graphs.
    let persisted = Scheduler::threaded().persist(&g, &[root.clone()])?;
    let mut next = persisted.clone();
    let twice = next.task(MergeMoments, &[root.clone(), root.clone()])?;
    let doubled: Moments = Scheduler::threaded().get(&next, &twice)?;
    assert_eq!(doubled.n, 2 * m.n);
    println!("7. persisted root reused: merged with itself gives n = {}", doubled.n);
    println!("time in tasks: {:?}", timings.summary().iter().map(|(p, n, _)| (p.as_str(), *n)).collect::<Vec<_>>());
    Ok(())
}
