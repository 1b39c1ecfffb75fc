//! Scheduler overhead per task: 100,000 independent trivial tasks plus a tree sum, and a
//! 10,000-task chain, on the sync and threaded schedulers.
//!
//! `cargo bench -p rask-benches --bench scheduler`
//! Criterion reports time per graph and tasks per second (throughput); per-task overhead is
//! the inverse of the latter.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rask::{ComputeOptions, Scheduler};
use rask_benches::{chain, independent_plus_tree_sum, independent_plus_tree_sum_expected};

fn schedulers() -> Vec<(&'static str, Scheduler)> {
    vec![("sync", Scheduler::sync()), ("threaded", Scheduler::threaded())]
}

fn independent(c: &mut Criterion) {
    let n = 100_000;
    // The build is benchmarked separately: it is the caller's cost, not the scheduler's.
    let (g, root, n_tasks) = independent_plus_tree_sum(n, 32).expect("graph builds");
    let mut group = c.benchmark_group("independent_100k_plus_tree_sum");
    group.sample_size(20);
    group.throughput(Throughput::Elements(n_tasks as u64));
    for (name, s) in schedulers() {
        group.bench_function(BenchmarkId::new("compute", name), |b| {
            b.iter(|| {
                let v = s.get::<u64>(&g, &root).expect("computes");
                assert_eq!(v, independent_plus_tree_sum_expected(n));
            })
        });
    }
    group.bench_function("build_graph", |b| b.iter(|| independent_plus_tree_sum(n, 32).expect("graph builds")));
    group.finish();
}

fn chain_10k(c: &mut Criterion) {
    let n = 10_000;
    let (g, last) = chain(n).expect("graph builds");
    let mut group = c.benchmark_group("chain_10k");
    group.sample_size(30);
    group.throughput(Throughput::Elements(n));
    for (name, s) in schedulers() {
        // Unfused: every link is scheduled, which is what this measures.
        let opts = ComputeOptions::new().optimize(false);
        group.bench_function(BenchmarkId::new("unfused", name), |b| {
            b.iter(|| {
                let out = s.compute_with(&g, std::slice::from_ref(&last), &opts).expect("computes");
                assert_eq!(*out.values[0].get::<u64>().expect("u64"), n);
            })
        });
        let fused = ComputeOptions::new();
        group.bench_function(BenchmarkId::new("fused", name), |b| {
            b.iter(|| s.compute_with(&g, std::slice::from_ref(&last), &fused).expect("computes"))
        });
    }
    group.finish();
}

criterion_group!(benches, independent, chain_10k);
criterion_main!(benches);
