//! PCA, 10 components of a 2,000,000 × 50 `f64` matrix in blocks of 200,000 rows, on the
//! threaded scheduler: fit time and peak resident memory for each solver (covariance `full`,
//! `tsqr`, `randomized` with scikit-learn's defaults and with dask-ml's zero power
//! iterations).
//!
//! `cargo bench -p rask-benches --bench pca`
//!
//! Environment:
//! - `RASK_PCA_ROWS` (default 2,000,000) and `RASK_PCA_CHUNK` (default 200,000): the size;
//!   e.g. `RASK_PCA_ROWS=200000 RASK_PCA_CHUNK=20000` for a smoke test of a few seconds.
//! - `RASK_PCA_RUNS` (default 3): fits per solver; the median is reported.
//! - `RASK_PCA_NPY=path.npy`: also write the matrix there, so that
//!   `benches/compare/pca.py path.npy` fits dask-ml and scikit-learn on the same rows.
//! - `RASK_PCA_SOLVERS` (default `covariance_eigh,tsqr,randomized,randomized0`): which solvers to run
//!   (`full` is scikit-learn's name for the exact SVD, which `tsqr` computes).
//!
//! The data is generated here, deterministically (a splitmix64 stream per block): rank 10
//! signal with scales 10, 9, …, 1 through a fixed 10 × 50 mixing matrix, plus uniform noise of
//! amplitude 0.1 and a column offset `j`. The peak RSS is reset (`/proc/self/clear_refs`)
//! before each solver, so each line reports that solver's peak, the data included (the
//! in-memory matrix is `rows × 50 × 8` bytes).

use std::time::Instant;

use rask::estimators::decomposition::{Pca, PcaParams, PcaSolver};
use rask::ml::ndarray::Array2;
use rask::ml::{ChunkedArray, Fit};
use rask::Scheduler;
use rask_benches::{peak_rss_bytes, rss_bytes};
use rayon::prelude::*;

const COLS: usize = 50;
const RANK: usize = 10;

fn splitmix(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // Uniform in [-1, 1).
    (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

fn mixing() -> Array2<f64> {
    let mut s = 12_345u64;
    Array2::from_shape_simple_fn((RANK, COLS), || splitmix(&mut s))
}

fn block(index: usize, rows: usize, mix: &Array2<f64>) -> Array2<f64> {
    let mut s = 0xDA7A_u64 ^ ((index as u64) << 32);
    let latent = Array2::from_shape_fn((rows, RANK), |(_, r)| (10 - r) as f64 * splitmix(&mut s));
    let mut x = latent.dot(mix);
    for ((_, j), v) in x.indexed_iter_mut() {
        *v += 0.1 * splitmix(&mut s) + j as f64;
    }
    x
}

fn data(rows: usize, chunk: usize) -> ChunkedArray<f64> {
    let mix = mixing();
    let sizes: Vec<usize> = (0..rows.div_ceil(chunk)).map(|i| chunk.min(rows - i * chunk)).collect();
    let blocks: Vec<Array2<f64>> = sizes.par_iter().enumerate().map(|(i, &m)| block(i, m, &mix)).collect();
    ChunkedArray::from_blocks(blocks).expect("non-empty blocks of equal width")
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mb(b: Option<u64>) -> String {
    b.map_or("?".into(), |b| format!("{:.0} MB", b as f64 / 1e6))
}

fn main() {
    let rows = env("RASK_PCA_ROWS", 2_000_000);
    let chunk = env("RASK_PCA_CHUNK", 200_000);
    let runs = env("RASK_PCA_RUNS", 3).max(1);
    let solvers =
        std::env::var("RASK_PCA_SOLVERS").unwrap_or_else(|_| "covariance_eigh,tsqr,randomized,randomized0".into());
    let x = data(rows, chunk);
    if let Ok(path) = std::env::var("RASK_PCA_NPY") {
        rask::datasets::npy::write_npy(&x, &path, &Scheduler::threaded(), 1).expect("write the .npy file");
        println!("pca/data  wrote {path}");
    }
    println!(
        "pca/data  {rows} × {COLS} f64 in blocks of {chunk} rows ({} blocks), {} in memory, RSS {}",
        x.n_blocks(),
        mb(Some((rows * COLS * 8) as u64)),
        mb(rss_bytes())
    );
    let threaded = Scheduler::threaded();
    for name in solvers.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let solver = match name {
            // Named as scikit-learn names them: `covariance_eigh`, and `full` for an exact SVD.
            "covariance_eigh" | "cov" => PcaSolver::CovarianceEigh,
            "full" | "tsqr" => PcaSolver::Tsqr,
            "randomized" => PcaSolver::randomized(),
            "randomized0" => PcaSolver::Randomized { n_oversamples: 10, n_power_iter: Some(0) },
            other => panic!("unknown solver {other} (covariance_eigh, full, tsqr, randomized, randomized0)"),
        };
        let params = PcaParams::new(10).solver(solver).seed(0);
        let reset = reset_peak_rss();
        let mut times = Vec::with_capacity(runs);
        let mut model: Option<Pca> = None;
        for _ in 0..runs {
            let t = Instant::now();
            let m = rask::with_scheduler(&threaded, || params.fit(&x)).expect("fit");
            times.push(t.elapsed().as_secs_f64());
            model = Some(m);
        }
        times.sort_by(f64::total_cmp);
        let m = model.expect("at least one run");
        println!(
            "pca  {:<22} rask threaded         fit {:>7.3} s (median of {runs})  peak RSS {}{}  evr[0..3] {:.5} {:.5} {:.5}  sum {:.6}",
            name,
            times[times.len() / 2],
            mb(peak_rss_bytes()),
            if reset { "" } else { " (cumulative)" },
            m.explained_variance_ratio[0],
            m.explained_variance_ratio[1],
            m.explained_variance_ratio[2],
            m.explained_variance_ratio.sum(),
        );
    }
}
