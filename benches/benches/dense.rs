//! The dense backends side by side: thin QR, thin SVD and a symmetric eigendecomposition
//! through `rask_ml::dense`, which is faer (the default, pure Rust) or LAPACK with the system's
//! OpenBLAS (the opt-in `lapack` feature). Run it once per backend:
//!
//! ```text
//! cargo bench -p rask-benches --bench dense
//! cargo bench -p rask-benches --bench dense --features rask/lapack   # needs libopenblas-dev
//! ```
//!
//! Environment: `RASK_DENSE_ROWS` (default 100,000), `RASK_DENSE_COLS` (default 50). The
//! matrix is seeded uniform noise. Times are the best of 5.

use std::time::Instant;

use rask::ml::dense;
use rask::ml::ndarray::Array2;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn best_of<T>(mut f: impl FnMut() -> T) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let (m, n) = (env_usize("RASK_DENSE_ROWS", 100_000), env_usize("RASK_DENSE_COLS", 50));
    // A cheap seeded generator (xorshift), so both backends see the same matrix.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let a = Array2::from_shape_simple_fn((m, n), || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    });
    let gram = a.t().dot(&a);
    let qr = best_of(|| dense::thin_qr(&a).expect("qr"));
    let svd = best_of(|| dense::thin_svd(&a).expect("svd"));
    let eig = best_of(|| dense::symmetric_eigen(&gram).expect("eigen"));
    println!("dense backend `{}`, {m} x {n}", dense::BACKEND);
    println!(
        "thin QR {:8.1} ms   thin SVD {:8.1} ms   eigh of the {n} x {n} Gram matrix {:6.2} ms",
        qr * 1e3,
        svd * 1e3,
        eig * 1e3
    );
}
