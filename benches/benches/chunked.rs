//! Chunked-array reductions against the memory-bandwidth bound.
//!
//! `cargo bench -p rask-benches --bench chunked`
//!
//! `read_pass` is the bound: one parallel pass that reads every element of the same blocks
//! once (a plain sum). `column_stats` computes count, sum, mean, variance, min and max of every
//! column through the task graph on the threaded scheduler; `assign_nearest` is one k-means
//! assignment pass (k = 8). Throughput is bytes of input per second.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rask::ml::ndarray::Array2;
use rask::ml::{ChunkedArray, ReduceOptions};
use rask::Scheduler;
use rayon::prelude::*;

fn data(rows: usize, cols: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |(i, j)| ((i * 31 + j * 17) % 1000) as f64 * 0.001 + j as f64)
}

fn reductions(c: &mut Criterion) {
    let (rows, cols, chunk) = (2_000_000, 20, 100_000);
    let a = data(rows, cols);
    let x = ChunkedArray::from_array(a.view(), chunk).expect("chunks");
    drop(a);
    let x = x.persist_on(&Scheduler::threaded()).expect("persist");
    let blocks: Vec<Array2<f64>> = {
        let vals = Scheduler::threaded().compute(&x.graph(), &x.block_keys()).expect("blocks");
        vals.iter().map(|v| v.get::<Array2<f64>>().expect("f64 blocks").clone()).collect()
    };
    let centres = Array2::from_shape_fn((8, cols), |(c, j)| j as f64 + c as f64 * 0.1);
    let s = Scheduler::threaded();
    let mut group = c.benchmark_group("chunked_2m_x_20");
    group.sample_size(20);
    group.throughput(Throughput::Bytes((rows * cols * 8) as u64));
    group.bench_function("read_pass", |b| b.iter(|| blocks.par_iter().map(|blk| blk.iter().sum::<f64>()).sum::<f64>()));
    let stats = x.column_stats(ReduceOptions::default()).expect("graph");
    group.bench_function(BenchmarkId::new("column_stats", "threaded"), |b| {
        b.iter(|| stats.compute_on(&s).expect("stats"))
    });
    let assign = x.assign_nearest(&centres, 8).expect("graph");
    group.bench_function(BenchmarkId::new("assign_nearest_k8", "threaded"), |b| {
        b.iter(|| assign.compute_on(&s).expect("assign"))
    });
    group.finish();
}

criterion_group!(benches, reductions);
criterion_main!(benches);
