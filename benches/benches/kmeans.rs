//! KMeans on the anchor workload: k = 8, k-means‖ initialisation, 2,000,000 × 20 `f64` in
//! 200,000-row blocks, overlapping blobs (`make_blobs` with standard deviation 20, so all 30
//! iterations run: `max_iter = 30`, `tol = 0`), on the threaded scheduler.
//!
//! `cargo bench -p rask-benches --bench kmeans`
//!
//! Prints the total fit time, the time of one Lloyd iteration (`k_means::lloyd_step`: one
//! assignment pass with its tree reduction, as the fit runs it; median of 5), the time of one plain parallel read pass over the same
//! blocks (the memory-bandwidth bound), and the peak resident memory.
//!
//! Environment: `RASK_KMEANS_ROWS` (default 2,000,000; use e.g. 100000 for a smoke test),
//! `RASK_KMEANS_CHUNK` (rows per block, default 200,000), `RASK_KMEANS_NPY` (if set, the data
//! is also written to this `.npy` file, for `benches/compare/kmeans.py`, which times dask-ml
//! and scikit-learn on exactly the same rows).

use std::time::Instant;

use rask::datasets::generators::{make_blobs, BlobsParams};
use rask::estimators::cluster::k_means::lloyd_step;
use rask::estimators::cluster::{KMeans, KMeansParams};
use rask::ml::ndarray::Array2;
use rask::ml::Fit;
use rask::Scheduler;
use rask_benches::peak_rss_bytes;
use rayon::prelude::*;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rows = env_usize("RASK_KMEANS_ROWS", 2_000_000);
    let chunk = env_usize("RASK_KMEANS_CHUNK", 200_000);
    let (cols, k, max_iter) = (20, 8, 30);
    let sched = Scheduler::threaded();
    let params =
        BlobsParams::new().n_samples(rows).n_features(cols).centers(k).cluster_std(20.0).seed(0).chunk_rows(chunk);
    let x = make_blobs(&params).expect("blobs").data.x().clone();
    let x = x.persist_on(&sched).expect("persist");
    if let Ok(path) = std::env::var("RASK_KMEANS_NPY") {
        rask::datasets::npy::write_npy(&x, &path, &sched, 2).expect("write npy");
        println!("wrote {path}");
    }
    // The blocks as computed values (shared, not copied), for the read pass.
    let blocks = sched.compute(&x.graph(), &x.block_keys()).expect("blocks");
    let read: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let s: f64 =
                blocks.par_iter().map(|v| v.get::<Array2<f64>>().expect("f64 blocks").iter().sum::<f64>()).sum();
            std::hint::black_box(s);
            t.elapsed().as_secs_f64()
        })
        .collect();
    drop(blocks);

    let kmeans = KMeansParams::new(k).max_iter(max_iter).tol(0.0).seed(0);
    let t = Instant::now();
    let model: KMeans = rask::with_scheduler(&sched, || kmeans.fit(&x)).expect("fit");
    let fit = t.elapsed().as_secs_f64();
    let iter: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            rask::with_scheduler(&sched, || lloyd_step(&x, &model.cluster_centers, 8)).expect("pass");
            t.elapsed().as_secs_f64()
        })
        .collect();
    let rss = peak_rss_bytes().map_or("?".into(), |b| format!("{:.2} GB", b as f64 / 1e9));
    println!(
        "KMeans k={k}, {rows} x {cols} f64, {chunk}-row blocks, overlapping blobs (std 20), max_iter={max_iter}, tol=0"
    );
    let (iter_ms, read_ms) = (median(iter) * 1e3, median(read) * 1e3);
    // The fit is a column-statistics pass, the initialisation, `n_iter` Lloyd passes and one
    // final pass for the exact inertia (counted as one more iteration here); the rest is derived.
    let rest = fit - (model.n_iter + 1) as f64 * iter_ms / 1e3;
    println!("| tool | fit (s) | Lloyd iteration (ms) | read pass (ms) | iteration / read | init + stats (s, derived) | peak RSS | n_iter | inertia |");
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| rask (threaded, k-means‖) | {fit:.3} | {iter_ms:.1} | {read_ms:.1} | {:.1}× | {rest:.3} | {rss} | {} | {:.6e} |",
        iter_ms / read_ms,
        model.n_iter,
        model.inertia
    );
}
