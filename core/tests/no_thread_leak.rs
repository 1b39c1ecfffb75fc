//! Schedulers leave no thread behind, even after failures. Alone in its own test binary so that
//! no other test's threads are counted.

mod common;

use std::time::{Duration, Instant};

use common::*;
use rask_core::{Graph, Scheduler};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

#[test]
fn pools_and_failures_leak_no_threads() {
    if threads() == 0 {
        eprintln!("no /proc/self/task on this system: thread count not checked");
        return;
    }
    let baseline = threads();
    for round in 0..20 {
        let s = Scheduler::threaded_with(3).unwrap();
        let mut g = Graph::new();
        let bad = g.task(Fail { message: format!("round {round}") }, &[]).unwrap();
        let root = lin(&mut g, 0, &[bad]);
        assert!(s.compute(&g, &[root]).is_err());
        let (g2, r2) = tree_sum_graph(500, 4);
        assert_eq!(get_i64(&s, &g2, &r2), 499 * 500 / 2);
    }
    // A dropped rayon pool's threads exit asynchronously: wait for them, within bounds.
    let deadline = Instant::now() + Duration::from_secs(10);
    while threads() > baseline && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(threads(), baseline, "threads left behind after 20 pools were dropped");
}
