//! LogisticRegression on `make_classification` data: fit time, training accuracy and peak
//! resident memory, per solver, on the threaded scheduler.
//!
//! `cargo bench -p rask-benches --bench logistic`
//!
//! Environment: `RASK_LOGISTIC_ROWS` (default 1,000,000), `RASK_LOGISTIC_CHUNK` (rows per
//! block, default 100,000), `RASK_LOGISTIC_SOLVERS` (comma-separated, from `lbfgs`,
//! `newton`, `admm`, `proximal_grad`, `gradient_descent`; default `lbfgs,newton,admm`),
//! `RASK_LOGISTIC_NPY_DIR` (if set, the data is also written there as `x.npy` (f64) and
//! `y.npy` (i64) for `benches/compare/logistic.py`, which fits dask-ml and scikit-learn on
//! the same rows). The data has 20 columns, scikit-learn's default `make_classification`
//! settings otherwise (2 informative, 2 redundant, 1% flipped labels), seed 0.
//! Smoke test: `RASK_LOGISTIC_ROWS=20000 RASK_LOGISTIC_CHUNK=2000 cargo bench -p rask-benches --bench logistic`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use rask::datasets::npy::{header_bytes, write_npy};
use rask::datasets::{make_classification, ClassificationParams};
use rask::estimators::linear_model::{LogisticRegressionParams, Solver};
use rask::ml::{ChunkedArray, Fit, Predict};
use rask::Scheduler;
use rask_benches::{peak_rss_bytes, rss_bytes};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn reset_peak() {
    // Linux: writing 5 resets the peak resident set size (VmHWM) to the current one.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn solver(name: &str) -> Solver {
    match name {
        "lbfgs" => Solver::Lbfgs,
        "newton" => Solver::Newton,
        "admm" => Solver::Admm,
        "proximal_grad" => Solver::ProximalGrad,
        "gradient_descent" => Solver::GradientDescent,
        other => panic!("unknown solver {other}"),
    }
}

fn main() {
    let rows = env_usize("RASK_LOGISTIC_ROWS", 1_000_000);
    let chunk = env_usize("RASK_LOGISTIC_CHUNK", 100_000);
    let solvers = std::env::var("RASK_LOGISTIC_SOLVERS").unwrap_or_else(|_| "lbfgs,newton,admm".into());
    let s = Scheduler::threaded();

    let t = Instant::now();
    let params = ClassificationParams::new().n_samples(rows).n_features(20).seed(0).chunk_rows(chunk);
    let ds = make_classification(&params).expect("generate");
    let x: ChunkedArray<f64> = ds.x().persist_on(&s).expect("persist x");
    let y = ds.y().expect("labels").compute_on(&s).expect("labels");
    let sizes = x.chunks().sizes().expect("known chunks").to_vec();
    let y_chunked = rask::ml::ChunkedVector::from_array_with_chunks(y.view(), &sizes).expect("y");
    let data = rask::ml::ChunkedDataset::new(x.clone(), y_chunked).expect("dataset");
    println!(
        "logistic/data   {rows} x 20 f64 in blocks of {chunk} rows, generated in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    if let Ok(dir) = std::env::var("RASK_LOGISTIC_NPY_DIR") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("create the npy folder");
        write_npy(&x, dir.join("x.npy"), &s, 4).expect("write x.npy");
        let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("y.npy")).expect("create y.npy"));
        f.write_all(&header_bytes("<i8", &format!("({rows},)"))).expect("write y.npy");
        for v in y.iter() {
            f.write_all(&v.to_le_bytes()).expect("write y.npy");
        }
        println!("logistic/npy    wrote {}/x.npy and y.npy", dir.display());
    }

    println!(
        "{:<28} {:>9} {:>7} {:>10} {:>9} {:>14}",
        "tool", "fit (s)", "n_iter", "converged", "accuracy", "peak RSS (MB)"
    );
    for name in solvers.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        reset_peak();
        let before = rss_bytes().unwrap_or(0);
        let t = Instant::now();
        let model =
            rask::with_scheduler(&s, || LogisticRegressionParams::new().solver(solver(name)).fit(&data)).expect("fit");
        let secs = t.elapsed().as_secs_f64();
        let peak = peak_rss_bytes().unwrap_or(0);
        let pred = model.predict(&x).expect("predict").compute_on(&s).expect("predict");
        let acc = pred.iter().zip(y.iter()).filter(|(a, b)| a == b).count() as f64 / rows as f64;
        println!(
            "{:<28} {:>9.3} {:>7} {:>10} {:>9.4} {:>14.0}   (RSS before fit {:.0} MB)",
            format!("rask {name} (threaded)"),
            secs,
            model.n_iter,
            model.converged,
            acc,
            peak as f64 / 1e6,
            before as f64 / 1e6
        );
    }
}
