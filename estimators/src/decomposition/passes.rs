//! Driver-side passes shared by the decomposition fits: each builds one tree reduction over
//! the row blocks and computes it on the default scheduler.

use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rask_ml::chunked::ops::SumMatrices;
use rask_ml::{ChunkedArray, Float, Lazy, MlError};

use super::ops::{
    qr_r, svd_flip_rows, thin_svd, BlockMoments, MergeMoments, MergeR, Moments, NormalProduct, ProjectedR, Scatter,
    SmallMatrix,
};

/// Inputs per combine task of every tree reduction here.
pub(crate) const SPLIT_EVERY: usize = 8;

/// One pass: the row count, mean and scatter factor of all rows of `x`.
pub(crate) fn moments<F: Float>(x: &ChunkedArray<F>, scatter: Scatter, centre: bool) -> Result<Moments, MlError> {
    let (layers, key) =
        x.block_layer().reduce(&[], BlockMoments { scatter, centre }, MergeMoments { scatter, centre }, SPLIT_EVERY)?;
    // The blocks refuse NaN, infinite and too large values; name the first (one more pass, in
    // the error path only).
    Lazy::<Moments>::new(layers, key).compute().map_err(|e| match x.locate_bad_value(rask_ml::MAX_ABS_VALUE, false) {
        Ok(Some(_)) => x.non_finite_error("x"),
        _ => e,
    })
}

/// The thin `Q` (`m × min(m, n)`) of a small dense matrix.
pub(crate) fn qr_q(a: &Array2<f64>) -> Array2<f64> {
    #[cfg(feature = "lapack")]
    if let Ok((q, _)) = rask_ml::dense::thin_qr(a) {
        return q;
    }
    let m = faer::Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]]);
    let q = m.qr().compute_thin_Q();
    Array2::from_shape_fn((q.nrows(), q.ncols()), |(i, j)| q[(i, j)])
}

/// The result of [`randomized_svd`]: the top singular values and right singular vectors (as
/// rows, signs fixed by scikit-learn's `svd_flip` on `V`).
pub(crate) struct TopSvd {
    pub s: Array1<f64>,
    pub vt: Array2<f64>,
}

/// Halko, Martinsson and Tropp's randomized SVD of `X − shift` (a row broadcast), keeping
/// `k` of `l ≥ k` sampled directions.
///
/// The start `Ω` (`d × l`, standard normal) is drawn on the driver from `ChaCha8Rng(seed)`,
/// so the answer depends only on the seed and the chunking, never on the scheduler. Each of
/// `n_iter + 1` passes computes `(X − μ)ᵀ (X − μ) Z` (`d × l`, summed over blocks) and
/// re-orthonormalises it with a small QR on the driver, so the subspace never collapses onto
/// the top direction. The last pass computes the `R` of a TSQR of `(X − μ) Z` (tree-reduced,
/// only `R` kept); with `R = U_r Σ Wᵀ`, the right singular vectors are `Z W`. That is the
/// Rayleigh–Ritz step of the algorithm done from the right, so no `n × l` matrix is ever
/// formed. The right subspace `Z = orth((XᵀX)^(n_iter + 1) Ω)` is the row space of
/// scikit-learn's `QᵀX` for the same `n_iter` (its range finder ends with `Q = orth(X (XᵀX)^n_iter Ω)`),
/// hence the one extra product: `n_iter + 2` passes over the data in all.
pub(crate) fn randomized_svd<F: Float>(
    x: &ChunkedArray<F>,
    shift: &Array1<f64>,
    k: usize,
    l: usize,
    n_iter: usize,
    seed: u64,
) -> Result<TopSvd, String> {
    let d = x.n_cols();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let omega = Array2::from_shape_simple_fn((d, l), || StandardNormal.sample(&mut rng));
    let mut z = qr_q(&omega);
    let shift_vec = shift.to_vec();
    for _ in 0..=n_iter {
        let op = NormalProduct { shift: shift_vec.clone(), w: SmallMatrix::new(&z) };
        let (layers, key) = x.block_layer().reduce(&[], op, SumMatrices, SPLIT_EVERY).map_err(|e| e.to_string())?;
        let w = Lazy::<Array2<f64>>::new(layers, key).compute().map_err(|e| e.to_string())?;
        z = qr_q(&w);
    }
    let op = ProjectedR { shift: shift_vec, w: SmallMatrix::new(&z) };
    let (layers, key) = x.block_layer().reduce(&[], op, MergeR, SPLIT_EVERY).map_err(|e| e.to_string())?;
    let r = Lazy::<Array2<f64>>::new(layers, key).compute().map_err(|e| e.to_string())?;
    // `r` may have fewer rows than columns when the data has fewer rows than `l`; a zero
    // row keeps the SVD square so `W` has all `l` columns.
    let r = if r.nrows() < r.ncols() {
        let mut sq = Array2::zeros((r.ncols(), r.ncols()));
        sq.slice_mut(ndarray::s![..r.nrows(), ..]).assign(&r);
        sq
    } else {
        qr_r(&r)
    };
    let (s, wt) = thin_svd(&r)?;
    let mut vt = wt.dot(&z.t());
    let k = k.min(s.len());
    vt = super::ops::top_rows(&vt, k);
    svd_flip_rows(&mut vt, None);
    Ok(TopSvd { s: s.slice(ndarray::s![..k]).to_owned(), vt })
}
