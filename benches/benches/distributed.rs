//! The distributed runtime on a 2-worker `LocalCluster` (worker processes of this binary, one
//! compute thread each, on 127.0.0.1): per-task overhead on 100,000 independent tasks, a
//! 1,000,000-task graph, and KMeans / logistic-regression fits against the threaded scheduler
//! with 2 threads on the same data.
//!
//! `cargo bench -p rask-benches --bench distributed`
//!
//! Environment: `RASK_DIST_TASKS` (default 100,000), `RASK_DIST_MILLION` (default 1,000,000;
//! 0 skips it), `RASK_DIST_ROWS` (rows for the fits, default 1,000,000).

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use rask::datasets::generators::{make_blobs, make_classification, BlobsParams, ClassificationParams};
use rask::distributed::LocalCluster;
use rask::estimators::cluster::{KMeans, KMeansParams};
use rask::estimators::linear_model::LogisticRegressionParams;
use rask::ml::{ChunkedDataset, ChunkedVector, Fit};
use rask::{ComputeOptions, Registry, Scheduler};
use rask_benches::{independent_plus_tree_sum, independent_plus_tree_sum_expected, peak_rss_bytes};

fn registry() -> Arc<Registry> {
    static REG: OnceLock<Arc<Registry>> = OnceLock::new();
    REG.get_or_init(|| {
        Arc::new(
            rask::estimators::register(rask::datasets::registry_builder())
                .ops(rask::demo::OPS)
                .codecs(rask::demo::CODECS)
                .ops(rask_benches::OPS)
                .build()
                .expect("unique op lists"),
        )
    })
    .clone()
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn overhead(label: &str, s: &Scheduler, n: u64) -> f64 {
    let (g, root, n_tasks) = independent_plus_tree_sum(n, 16).expect("graph");
    let t = Instant::now();
    let out = s.compute_with(&g, std::slice::from_ref(&root), &ComputeOptions::new()).expect("compute");
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(*out.values[0].get::<u64>().expect("u64"), independent_plus_tree_sum_expected(n));
    println!(
        "distributed/overhead {label:<22} {n_tasks:>9} tasks {:>8.0} ms {:>8.2} µs/task",
        secs * 1e3,
        secs * 1e6 / n_tasks as f64
    );
    secs
}

fn main() {
    rask::distributed::maybe_run_worker(registry);
    let n = env_usize("RASK_DIST_TASKS", 100_000) as u64;
    let million = env_usize("RASK_DIST_MILLION", 1_000_000) as u64;
    let rows = env_usize("RASK_DIST_ROWS", 1_000_000);

    let cluster = LocalCluster::builder(registry()).workers(2).quiet(true).start().expect("cluster");
    let dist = cluster.client().scheduler();
    let threaded = Scheduler::threaded_with(2).expect("pool");
    match std::env::var("RASK_DIST_ONLY").as_deref() {
        Ok("kmeans") => return kmeans_phases(rows, &threaded, &dist),
        Ok("million") => {
            overhead("cluster, 1M graph", &dist, million);
            if let Some(p) = peak_rss_bytes() {
                println!("distributed/overhead client peak RSS {:.0} MB", p as f64 / 1e6);
            }
            return;
        }
        _ => {}
    }

    // Warm-up (connections, pools), then the measured runs.
    overhead("warm-up (cluster)", &dist, 1_000);
    overhead("threaded(2)", &threaded, n);
    overhead("cluster(2 workers)", &dist, n);
    if million > 0 {
        overhead("cluster, 1M graph", &dist, million);
        if let Some(p) = peak_rss_bytes() {
            println!("distributed/overhead client peak RSS {:.0} MB", p as f64 / 1e6);
        }
    }

    // KMeans: persisted blobs, 20 Lloyd iterations (tol 0), k-means|| init.
    let chunk = 100_000;
    let blobs =
        BlobsParams::new().n_samples(rows).n_features(20).centers(8).cluster_std(20.0).seed(0).chunk_rows(chunk);
    let kmeans = KMeansParams::new(8).max_iter(20).tol(0.0).seed(0);
    let mut centers = Vec::new();
    for (label, s) in [("threaded(2)", &threaded), ("cluster(2 workers)", &dist)] {
        let x = make_blobs(&blobs).expect("blobs").data.x().clone().persist_on(s).expect("persist");
        let t = Instant::now();
        let model: KMeans = rask::with_scheduler(s, || kmeans.fit(&x)).expect("fit");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "distributed/kmeans   {label:<22} {rows} x 20, {} iterations {:>8.3} s  inertia {:.6e}",
            model.n_iter, secs, model.inertia
        );
        centers.push(model.cluster_centers);
    }
    assert_eq!(centers[0], centers[1], "KMeans gives the same model on both schedulers");

    // Logistic regression, lbfgs.
    let params = ClassificationParams::new().n_samples(rows).n_features(20).seed(0).chunk_rows(chunk);
    let mut coefs = Vec::new();
    for (label, s) in [("threaded(2)", &threaded), ("cluster(2 workers)", &dist)] {
        let ds = make_classification(&params).expect("generate");
        let x = ds.x().persist_on(s).expect("persist x");
        let y = ds.y().expect("labels").compute_on(s).expect("labels");
        let sizes = x.chunks().sizes().expect("known chunks").to_vec();
        let y = ChunkedVector::from_array_with_chunks(y.view(), &sizes).expect("y");
        let data = ChunkedDataset::new(x, y).expect("dataset");
        let t = Instant::now();
        let model = rask::with_scheduler(s, || LogisticRegressionParams::new().fit(&data)).expect("fit");
        let secs = t.elapsed().as_secs_f64();
        println!("distributed/logistic {label:<22} {rows} x 20, {} iterations {:>8.3} s", model.n_iter, secs);
        coefs.push(model.coef.clone());
    }
    assert_eq!(coefs[0], coefs[1], "logistic regression gives the same model on both schedulers");
}

/// KMeans's phases on each scheduler: one Lloyd step, the k-means|| initialisation, the whole fit.
fn kmeans_phases(rows: usize, threaded: &Scheduler, dist: &Scheduler) {
    use rask::estimators::cluster::{k_means::lloyd_step, KMeansInit};
    let blobs =
        BlobsParams::new().n_samples(rows).n_features(10).centers(8).cluster_std(20.0).seed(0).chunk_rows(100_000);
    for (label, s) in [("threaded(2)", threaded), ("cluster(2 workers)", dist)] {
        let x = make_blobs(&blobs).expect("blobs").data.x().clone().persist_on(s).expect("persist");
        let given = x.slice_rows(0, 8).expect("rows").compute_on(s).expect("rows");
        let centres = rask::ml::ndarray::Array2::from_shape_fn((8, 10), |(i, j)| given[[i, j]]);
        rask::with_scheduler(s, || {
            let t = Instant::now();
            for _ in 0..10 {
                lloyd_step(&x, &centres, 8).expect("step");
            }
            let step = t.elapsed().as_secs_f64() / 10.0;
            let t = Instant::now();
            let m = KMeansParams::new(8).max_iter(1).seed(0).fit(&x).expect("fit");
            let init = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let g = KMeansParams::new(8).init(KMeansInit::Given(centres.clone())).max_iter(20).tol(0.0).fit(&x);
            let lloyd = t.elapsed().as_secs_f64();
            println!(
                "kmeans phases {label:<20} step {:>7.1} ms  init+1 {:>6.3} s  20 Lloyd {:>6.3} s ({} {})",
                step * 1e3,
                init,
                lloyd,
                m.n_iter,
                g.expect("fit").n_iter
            );
        });
        if let Some(p) = peak_rss_bytes() {
            println!("  peak RSS so far {:.0} MB", p as f64 / 1e6);
        }
    }
}
