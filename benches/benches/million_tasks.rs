//! A 1,000,000-task graph: build, optimise and run it, reporting time per phase and peak memory.
//!
//! `cargo bench -p rask-benches --bench million_tasks`
//!
//! `RASK_MILLION_THREADS` (e.g. `2,8,16`) adds threaded runs with those pool sizes, against the
//! synchronous scheduler on the same graph.

use std::time::Instant;

use rask::scheduler::Plan;
use rask::{ComputeOptions, Scheduler};
use rask_benches::{independent_plus_tree_sum, independent_plus_tree_sum_expected, peak_rss_bytes, rss_bytes};

fn mb(b: Option<u64>) -> String {
    b.map(|b| format!("{:.0} MB", b as f64 / 1e6)).unwrap_or_else(|| "n/a".into())
}

fn main() -> rask::Result<()> {
    // `cargo bench` passes `--bench`; there is nothing to filter here.
    let n = 1_000_000u64;
    let rss0 = rss_bytes();
    let t0 = Instant::now();
    let (g, root, n_tasks) = independent_plus_tree_sum(n, 16)?;
    let build = t0.elapsed();
    let rss_graph = rss_bytes();

    let t1 = Instant::now();
    let plan = Plan::build(&g, std::slice::from_ref(&root), true)?;
    let plan_time = t1.elapsed();
    drop(plan);

    let mut schedulers = vec![("sync".to_string(), Scheduler::sync()), ("threaded".to_string(), Scheduler::threaded())];
    for t in std::env::var("RASK_MILLION_THREADS").unwrap_or_default().split(',').filter(|t| !t.is_empty()) {
        let n: usize = t.trim().parse().map_err(|_| rask::Error::Scheduler(format!("bad thread count {t:?}")))?;
        schedulers.push((format!("threaded({n})"), Scheduler::threaded_with(n)?));
    }
    for (name, s) in schedulers {
        let t2 = Instant::now();
        let out = s.compute_with(&g, std::slice::from_ref(&root), &ComputeOptions::new())?;
        let run = t2.elapsed();
        assert_eq!(*out.values[0].get::<u64>().expect("u64 root"), independent_plus_tree_sum_expected(n));
        println!(
            "million_tasks/{name:<12} tasks {n_tasks}  build {:>6.0} ms  plan {:>6.0} ms  plan+run {:>6.0} ms ({:.2} µs/task)  peak results held {}",
            build.as_secs_f64() * 1e3,
            plan_time.as_secs_f64() * 1e3,
            run.as_secs_f64() * 1e3,
            run.as_secs_f64() * 1e6 / n_tasks as f64,
            out.stats.peak_held,
        );
    }
    println!(
        "million_tasks/memory  rss before {}  with graph {}  peak {}",
        mb(rss0),
        mb(rss_graph),
        mb(peak_rss_bytes())
    );
    Ok(())
}
