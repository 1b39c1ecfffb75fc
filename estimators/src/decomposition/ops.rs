//! Block ops and dense kernels shared by the decomposition estimators.
//!
//! Every fit here reduces the data to something small (`d × d` or `l × d`) in one pass over
//! the row blocks, tree-reduced in block order, and finishes with a dense factorisation on the
//! driver. Blocks of `f32` are widened to `f64` as they are read, so every accumulation is in
//! `f64`, whatever the element type.
//!
//! - [`BlockMoments`] / [`MergeMoments`]: the row count, the mean and a factor of the scatter
//!   matrix of a block (the centred Gram matrix `(X − μ)ᵀ(X − μ)`, or the `R` of a QR of
//!   `X − μ`), merged with Chan et al.'s pairwise update. Merging never forms `XᵀX − nμμᵀ`:
//!   the between-block term `Σ nᵢ(μᵢ − μ)(μᵢ − μ)ᵀ` is added explicitly (for Gram matrices) or
//!   stacked as extra rows `√nᵢ (μᵢ − μ)` before the QR (for `R` factors), so a large mean
//!   next to a small spread loses no digits to cancellation.
//! - [`ProjectedR`] / [`MergeR`]: the `R` of a QR of `(X − shift) W`, the last pass of the
//!   randomized SVD.
//! - [`NormalProduct`]: `(X − shift)ᵀ (X − shift) W`, one power iteration of the randomized
//!   SVD, summed with `rask_ml`'s `SumMatrices`.

use ndarray::{concatenate, s, Array1, Array2, ArrayView1, ArrayView2, Axis};
use rask_core::ops::expect_inputs;
use rask_core::{op_bail, op_ensure};
use rask_core::{Op, OpError, Value};
use serde::{Deserialize, Serialize};

use rask_ml::Float;

/// The row count, mean and scatter factor of a set of rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Number of rows.
    pub n: u64,
    /// Column means (`d`).
    pub mean: Array1<f64>,
    /// The centred Gram matrix (`d × d`), or an upper-triangular `R` (`≤ d` rows, `d`
    /// columns) with `RᵀR` equal to it; uncentred when the op says so.
    pub mat: Array2<f64>,
}

/// Which factor of the scatter matrix [`BlockMoments`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scatter {
    /// The Gram matrix itself (`d × d`): cheap to form, squares the condition number.
    Gram,
    /// The `R` of a thin QR (TSQR): never squares the condition number.
    R,
}

/// Refuses NaN, infinite and too large values ([`rask_ml::MAX_ABS_VALUE`]): every use is a fit.
fn check_finite(a: ArrayView2<'_, f64>) -> Result<(), OpError> {
    let limit = rask_ml::MAX_ABS_VALUE;
    if let Some((k, x)) = a.iter().enumerate().find(|(_, x)| !x.is_finite() || x.abs() > limit) {
        let d = a.ncols().max(1);
        if x.is_finite() {
            op_bail!(
                "row {} of a block, column {}, holds {x:e}, which is too large (the limit is {limit:e})",
                k / d,
                k % d
            );
        }
        op_bail!("row {} of a block, column {}, holds {x}; finite values are required", k / d, k % d);
    }
    Ok(())
}

/// Runs `f` on an `f64` view of an `f64` or `f32` block (an `f32` block is widened into a
/// copy), after checking that every value is finite.
pub(crate) fn with_f64_view<T>(
    v: &Value,
    f: impl FnOnce(ArrayView2<'_, f64>) -> Result<T, OpError>,
) -> Result<T, OpError> {
    if let Some(a) = v.downcast_ref::<Array2<f64>>() {
        check_finite(a.view())?;
        f(a.view())
    } else if let Some(a) = v.downcast_ref::<Array2<f32>>() {
        let a = a.mapv(Float::widen);
        check_finite(a.view())?;
        f(a.view())
    } else {
        Err(OpError::new(format!("expected an f64 or f32 block, found `{}`", v.type_name())))
    }
}

/// Rows per slab when a block is centred a slab at a time: the slab (`SLAB × d` values) stays
/// in cache, and no centred copy of the whole block is ever made.
const SLAB: usize = 4096;

/// Calls `f` on consecutive centred slabs `X[r..r + SLAB] − shift` of a block.
fn for_centred_slabs(
    a: ArrayView2<'_, f64>,
    shift: ArrayView1<'_, f64>,
    mut f: impl FnMut(usize, ArrayView2<'_, f64>),
) {
    let mut buf = Array2::<f64>::zeros((SLAB.min(a.nrows()), a.ncols()));
    let mut start = 0;
    while start < a.nrows() {
        let end = (start + SLAB).min(a.nrows());
        let mut slab = buf.slice_mut(s![..end - start, ..]);
        slab.assign(&a.slice(s![start..end, ..]));
        slab -= &shift;
        f(start, slab.view());
        start = end;
    }
}

/// A faer view of an ndarray view (any strides; no copy).
fn faer_view<'a>(a: ArrayView2<'a, f64>) -> faer::MatRef<'a, f64> {
    let (rows, cols) = a.dim();
    let (rs, cs) = (a.strides()[0], a.strides()[1]);
    // SAFETY: the pointer, shape and strides come from a live ndarray view of `rows × cols`
    // elements, which faer reads with the same strides for the view's lifetime.
    unsafe { faer::MatRef::from_raw_parts(a.as_ptr(), rows, cols, rs, cs) }
}

fn to_faer(a: &Array2<f64>) -> faer::Mat<f64> {
    faer::Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]])
}

fn from_faer(m: faer::MatRef<'_, f64>) -> Array2<f64> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

/// Factors a column-major matrix in place (Householder QR, sequential) and returns its `R`
/// (`min(m, n) × n`, upper triangular).
///
/// Sequential on purpose: the scheduler already runs one task per block on every core, and
/// faer's own rayon parallelism inside those tasks was measured ~10× slower on a loaded
/// 2-core machine (a 200,000 × 50 block: 0.6 s sequential, 5.4 s with `Par::rayon`).
fn factor_r(mut m: faer::Mat<f64>) -> Array2<f64> {
    use faer::linalg::qr::no_pivoting::factor;
    let (rows, cols) = m.shape();
    let k = rows.min(cols);
    if k == 0 {
        return Array2::zeros((0, cols));
    }
    let par = faer::Par::Seq;
    let block_size = factor::recommended_block_size::<f64>(rows, cols);
    let mut q_coeff = faer::Mat::<f64>::zeros(block_size, k);
    let req = factor::qr_in_place_scratch::<f64>(rows, cols, block_size, par, Default::default());
    let mut buf = faer::dyn_stack::MemBuffer::new(req);
    factor::qr_in_place(
        m.as_mut(),
        q_coeff.as_mut(),
        par,
        faer::dyn_stack::MemStack::new(&mut buf),
        Default::default(),
    );
    Array2::from_shape_fn((k, cols), |(i, j)| if j >= i { m[(i, j)] } else { 0.0 })
}

/// The `R` factor (`min(m, n) × n`, upper triangular) of a thin QR of `a`.
pub fn qr_r(a: &Array2<f64>) -> Array2<f64> {
    // LAPACK's QR does not fail on a matrix; should it, faer's answer is as good.
    #[cfg(feature = "lapack")]
    if let Ok(r) = rask_ml::dense::qr_r(a) {
        return r;
    }
    factor_r(faer::Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]]))
}

/// Rows per step of [`centred_qr_r`].
const QR_SLAB: usize = 1024;

/// The `R` factor of a thin QR of `a − shift` (a row broadcast), by TSQR within the block:
/// `R ← qr([R; next slab of centred rows]).R`, a slab of `QR_SLAB` (1024) rows at a time. Each
/// factorisation works on a cache-sized matrix and the block is never copied whole; measured
/// 2.3× faster than one QR of the whole 200,000 × 50 block.
pub fn centred_qr_r(a: ArrayView2<'_, f64>, shift: ArrayView1<'_, f64>) -> Array2<f64> {
    let d = a.ncols();
    let mut r = Array2::<f64>::zeros((0, d));
    let mut start = 0;
    while start < a.nrows() {
        let end = (start + QR_SLAB).min(a.nrows());
        r = next_r(&r, a, shift, start, end);
        start = end;
    }
    r
}

/// Entry `(i, j)` of `[r; a[start..] − shift]`.
fn slab_entry(
    r: &Array2<f64>,
    a: &ArrayView2<'_, f64>,
    shift: &ArrayView1<'_, f64>,
    start: usize,
    i: usize,
    j: usize,
) -> f64 {
    if i < r.nrows() {
        r[[i, j]]
    } else {
        a[[start + i - r.nrows(), j]] - shift[j]
    }
}

/// The `R` of `[r; a[start..end] − shift]` (faer, sequential).
#[cfg(not(feature = "lapack"))]
fn next_r(
    r: &Array2<f64>,
    a: ArrayView2<'_, f64>,
    shift: ArrayView1<'_, f64>,
    start: usize,
    end: usize,
) -> Array2<f64> {
    let m = faer::Mat::from_fn(r.nrows() + end - start, a.ncols(), |i, j| slab_entry(r, &a, &shift, start, i, j));
    factor_r(m)
}

/// The `R` of `[r; a[start..end] − shift]` (LAPACK).
#[cfg(feature = "lapack")]
fn next_r(
    r: &Array2<f64>,
    a: ArrayView2<'_, f64>,
    shift: ArrayView1<'_, f64>,
    start: usize,
    end: usize,
) -> Array2<f64> {
    let slab =
        Array2::from_shape_fn((r.nrows() + end - start, a.ncols()), |(i, j)| slab_entry(r, &a, &shift, start, i, j));
    qr_r(&slab)
}

/// The singular values (decreasing) and right singular vectors (as rows) of a thin SVD
/// `a = U diag(s) Vᵀ`; every caller here projects on `V`, none needs `U`.
pub fn thin_svd(a: &Array2<f64>) -> Result<(Array1<f64>, Array2<f64>), String> {
    if cfg!(feature = "lapack") {
        return rask_ml::dense::thin_svd(a).map(|(_, s, vt)| (s, vt));
    }
    let svd = to_faer(a).thin_svd().map_err(|e| format!("the SVD did not converge: {e:?}"))?;
    let v = from_faer(svd.V());
    let sd = svd.S();
    let s = Array1::from_iter((0..v.ncols()).map(|i| sd[i]));
    Ok((s, v.reversed_axes()))
}

/// Eigenvalues (decreasing) and eigenvectors (as rows, in the same order) of a symmetric
/// matrix.
pub fn symmetric_eigen(a: &Array2<f64>) -> Result<(Array1<f64>, Array2<f64>), String> {
    if cfg!(feature = "lapack") {
        return rask_ml::dense::symmetric_eigen(a);
    }
    let evd = to_faer(a)
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|e| format!("the eigendecomposition did not converge: {e:?}"))?;
    let n = a.nrows();
    let sd = evd.S();
    let u = evd.U();
    // faer sorts eigenvalues increasingly; PCA wants them decreasing.
    let values = Array1::from_iter((0..n).rev().map(|i| sd[i]));
    let vectors = Array2::from_shape_fn((n, n), |(r, j)| u[(j, n - 1 - r)]);
    Ok((values, vectors))
}

/// scikit-learn's `svd_flip(u, v, u_based_decision=False)` on the rows of `vt` (and the
/// matching columns of `u`): every row's largest-magnitude entry (the first one on ties, like
/// NumPy's `argmax`) becomes positive. A row of zeros is left as it is (NumPy would zero it).
pub fn svd_flip_rows(vt: &mut Array2<f64>, mut u: Option<&mut Array2<f64>>) {
    for (r, mut row) in vt.rows_mut().into_iter().enumerate() {
        let mut best = 0;
        for (j, x) in row.iter().enumerate() {
            if x.abs() > row[best].abs() {
                best = j;
            }
        }
        if row.is_empty() || row[best] >= 0.0 {
            continue;
        }
        row.mapv_inplace(|x| -x);
        if let Some(u) = u.as_deref_mut() {
            if r < u.ncols() {
                u.column_mut(r).mapv_inplace(|x| -x);
            }
        }
    }
}

/// The per-block [`Moments`] of the rows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockMoments {
    /// Which factor of the scatter matrix to keep.
    pub scatter: Scatter,
    /// Whether the scatter is about the mean (PCA) or about zero (truncated SVD).
    pub centre: bool,
}

impl Op for BlockMoments {
    const NAME: &'static str = "rask.estimators.decomposition.block_moments";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        with_f64_view(&inputs[0], |a| {
            let (n, d) = a.dim();
            let mean = if n == 0 { Array1::zeros(d) } else { a.sum_axis(Axis(0)) / n as f64 };
            let shift = if self.centre { mean.clone() } else { Array1::zeros(d) };
            let mat = match self.scatter {
                Scatter::Gram => {
                    // faer's sequential kernel, accumulating in place: no temporary per slab.
                    let mut g = faer::Mat::<f64>::zeros(d, d);
                    for_centred_slabs(a, shift.view(), |_, c| {
                        let c = faer_view(c);
                        faer::linalg::matmul::matmul(
                            g.as_mut(),
                            faer::Accum::Add,
                            c.transpose(),
                            c,
                            1.0,
                            faer::Par::Seq,
                        );
                    });
                    from_faer(g.as_ref())
                }
                Scatter::R => centred_qr_r(a, shift.view()),
            };
            Ok(Value::new(Moments { n: n as u64, mean, mat }))
        })
    }
}

/// Merges [`Moments`] inputs (the same `scatter` and `centre` as the block op).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergeMoments {
    /// Which factor of the scatter matrix the inputs hold.
    pub scatter: Scatter,
    /// Whether the inputs are centred on their own means.
    pub centre: bool,
}

impl MergeMoments {
    /// Merges partial moments; inputs without rows are skipped.
    pub fn merge(&self, parts: &[&Moments]) -> Result<Moments, OpError> {
        let all = parts;
        let parts: Vec<&Moments> = parts.iter().copied().filter(|p| p.n > 0).collect();
        let Some(first) = parts.first() else {
            // Every input is empty (a run of empty blocks, e.g. after sampling): the merge is
            // empty too, and the driver decides whether the data as a whole has enough rows.
            let Some(any) = all.first() else {
                return Err(OpError::new("nothing to merge"));
            };
            let d = any.mean.len();
            return Ok(Moments { n: 0, mean: Array1::zeros(d), mat: Array2::zeros((0, d)) });
        };
        let d = first.mean.len();
        if parts.iter().any(|p| p.mean.len() != d || p.mat.ncols() != d) {
            return Err(OpError::new("cannot merge moments of different widths"));
        }
        let n: u64 = parts.iter().map(|p| p.n).sum();
        let mut mean = Array1::<f64>::zeros(d);
        for p in &parts {
            mean.scaled_add(p.n as f64 / n as f64, &p.mean);
        }
        // Each part's offset from the merged mean, weighted so that its outer product is the
        // part's contribution to the between-part scatter.
        let offsets: Vec<Array1<f64>> = parts.iter().map(|p| (&p.mean - &mean) * (p.n as f64).sqrt()).collect();
        let mat = match self.scatter {
            Scatter::Gram => {
                let mut m = Array2::<f64>::zeros((d, d));
                for p in &parts {
                    m += &p.mat;
                }
                if self.centre {
                    for o in &offsets {
                        let col = o.view().insert_axis(Axis(1));
                        let row = o.view().insert_axis(Axis(0));
                        m += &col.dot(&row);
                    }
                }
                m
            }
            Scatter::R => {
                let mut views: Vec<_> = parts.iter().map(|p| p.mat.view()).collect();
                let offset_rows: Vec<_> = offsets.iter().map(|o| o.view().insert_axis(Axis(0))).collect();
                if self.centre {
                    views.extend(offset_rows.iter().map(|o| o.view()));
                }
                let stacked = concatenate(Axis(0), &views).map_err(|e| OpError::new(e.to_string()))?;
                qr_r(&stacked)
            }
        };
        Ok(Moments { n, mean, mat })
    }
}

impl Op for MergeMoments {
    const NAME: &'static str = "rask.estimators.decomposition.merge_moments";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let parts: Vec<&Moments> = inputs.iter().map(|v| v.get::<Moments>()).collect::<Result<_, _>>()?;
        Ok(Value::new(self.merge(&parts)?))
    }
}

/// A small dense matrix travelling in an op's arguments, row-major.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SmallMatrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl SmallMatrix {
    /// Copies `a`.
    pub fn new(a: &Array2<f64>) -> Self {
        SmallMatrix { rows: a.nrows(), cols: a.ncols(), data: a.iter().copied().collect() }
    }

    fn array(&self) -> Result<Array2<f64>, OpError> {
        Array2::from_shape_vec((self.rows, self.cols), self.data.clone())
            .map_err(|e| OpError::new(format!("bad matrix argument: {e}")))
    }
}

fn check_widths(a: ArrayView2<'_, f64>, shift: &[f64], w: &Array2<f64>, what: &str) -> Result<(), OpError> {
    op_ensure!(
        a.ncols() == shift.len() && w.nrows() == shift.len(),
        "{what}: block has {} columns, the shift {} and W {} rows",
        a.ncols(),
        shift.len(),
        w.nrows()
    );
    Ok(())
}

/// The `R` factor of `(X − shift) W` for one block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProjectedR {
    /// Subtracted from every row (the mean, or zeros).
    pub shift: Vec<f64>,
    /// `W`, `d × l`.
    pub w: SmallMatrix,
}

impl Op for ProjectedR {
    const NAME: &'static str = "rask.estimators.decomposition.projected_r";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        let w = self.w.array()?;
        with_f64_view(&inputs[0], |a| {
            check_widths(a, &self.shift, &w, Self::NAME)?;
            // TSQR within the block, a slab at a time, as `centred_qr_r`.
            let mut r = Array2::<f64>::zeros((0, w.ncols()));
            for_centred_slabs(a, ArrayView1::from(self.shift.as_slice()), |_, c| {
                let y = c.dot(&w);
                let k = r.nrows();
                r = factor_r(faer::Mat::from_fn(k + y.nrows(), y.ncols(), |i, j| {
                    if i < k {
                        r[[i, j]]
                    } else {
                        y[[i - k, j]]
                    }
                }));
            });
            Ok(Value::new(r))
        })
    }
}

/// Stacks `R` factors and factors them again: the TSQR combine step, keeping only `R`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergeR;

impl Op for MergeR {
    const NAME: &'static str = "rask.estimators.decomposition.merge_r";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let rs: Vec<&Array2<f64>> = inputs.iter().map(|v| v.get::<Array2<f64>>()).collect::<Result<_, _>>()?;
        let views: Vec<_> = rs.iter().map(|r| r.view()).collect();
        let stacked = concatenate(Axis(0), &views).map_err(|e| OpError::new(format!("cannot stack R factors: {e}")))?;
        Ok(Value::new(qr_r(&stacked)))
    }
}

/// `(X − shift)ᵀ (X − shift) W` for one block (`d × l`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NormalProduct {
    /// Subtracted from every row (the mean, or zeros).
    pub shift: Vec<f64>,
    /// `W`, `d × l`.
    pub w: SmallMatrix,
}

impl Op for NormalProduct {
    const NAME: &'static str = "rask.estimators.decomposition.normal_product";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        let w = self.w.array()?;
        with_f64_view(&inputs[0], |a| {
            check_widths(a, &self.shift, &w, Self::NAME)?;
            // faer's sequential kernels into reused buffers: no temporaries per slab.
            let l = w.ncols();
            let wf = faer_view(w.view());
            let mut out = faer::Mat::<f64>::zeros(a.ncols(), l);
            let mut y = faer::Mat::<f64>::zeros(SLAB.min(a.nrows()), l);
            for_centred_slabs(a, ArrayView1::from(self.shift.as_slice()), |_, c| {
                let c = faer_view(c);
                let mut y = y.as_mut().subrows_mut(0, c.nrows());
                faer::linalg::matmul::matmul(y.as_mut(), faer::Accum::Replace, c, wf, 1.0, faer::Par::Seq);
                faer::linalg::matmul::matmul(
                    out.as_mut(),
                    faer::Accum::Add,
                    c.transpose(),
                    y.as_ref(),
                    1.0,
                    faer::Par::Seq,
                );
            });
            Ok(Value::new(from_faer(out.as_ref())))
        })
    }
}

/// `(x − mean) Cᵀ`, optionally divided column by column by `scale`: the PCA projection of a
/// block, computed in `f64` and narrowed to the block's type.
pub(crate) fn project<F: Float>(
    x: ndarray::ArrayView2<'_, F>,
    mean: Option<&Array1<f64>>,
    components: &Array2<f64>,
    scale: Option<&Array1<f64>>,
) -> Array2<F> {
    let mut a = x.mapv(Float::widen);
    if let Some(m) = mean {
        a -= m;
    }
    let mut t = a.dot(&components.t());
    if let Some(sc) = scale {
        t /= sc;
    }
    t.mapv(F::narrow)
}

/// `x (diag(scale) C) + mean`: the inverse of [`project`].
pub(crate) fn reconstruct<F: Float>(
    x: ndarray::ArrayView2<'_, F>,
    mean: Option<&Array1<f64>>,
    components: &Array2<f64>,
    scale: Option<&Array1<f64>>,
) -> Array2<F> {
    let a = x.mapv(Float::widen);
    let mut c = components.clone();
    if let Some(sc) = scale {
        for (mut row, &s) in c.rows_mut().into_iter().zip(sc.iter()) {
            row *= s;
        }
    }
    let mut out = a.dot(&c);
    if let Some(m) = mean {
        out += m;
    }
    out.mapv(F::narrow)
}

/// scikit-learn's whitening scale: `√explained_variance`, floored at machine epsilon so a
/// zero-variance component does not divide by zero.
pub(crate) fn whitening_scale(explained_variance: &Array1<f64>) -> Array1<f64> {
    explained_variance.mapv(|v| v.sqrt().max(f64::EPSILON))
}

/// The first `k` rows of `a`.
pub(crate) fn top_rows(a: &Array2<f64>, k: usize) -> Array2<f64> {
    a.slice(s![..k.min(a.nrows()), ..]).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Array2<f64> {
        Array2::from_shape_fn((37, 4), |(i, j)| 1e6 + ((i * 7 + j * 13) % 11) as f64 + (i as f64) * 0.1 * j as f64)
    }

    fn centred_gram(a: &Array2<f64>) -> Array2<f64> {
        let m = a.mean_axis(Axis(0)).unwrap();
        let c = a - &m;
        c.t().dot(&c)
    }

    #[test]
    fn merged_moments_equal_the_moments_of_all_rows() {
        let a = data();
        let expect = centred_gram(&a);
        for scatter in [Scatter::Gram, Scatter::R] {
            let op = BlockMoments { scatter, centre: true };
            let parts: Vec<Moments> = [0..10, 10..11, 11..37]
                .into_iter()
                .map(|r| {
                    let v = op.run(&[Value::new(a.slice(s![r, ..]).to_owned())]).unwrap();
                    v.get::<Moments>().unwrap().clone()
                })
                .collect();
            let refs: Vec<&Moments> = parts.iter().collect();
            let m = MergeMoments { scatter, centre: true }.merge(&refs).unwrap();
            assert_eq!(m.n, 37);
            let gram = match scatter {
                Scatter::Gram => m.mat.clone(),
                Scatter::R => m.mat.t().dot(&m.mat),
            };
            for (x, y) in gram.iter().zip(expect.iter()) {
                assert!((x - y).abs() <= 1e-8 * expect[[0, 0]].abs().max(1.0), "{x} vs {y}");
            }
        }
    }

    #[test]
    fn svd_flip_makes_the_largest_entry_of_each_row_positive() {
        let mut vt = ndarray::array![[0.1, -0.9, 0.2], [0.5, 0.5, -0.1], [-0.3, 0.3, 0.0]];
        let mut u = ndarray::array![[1.0, 2.0, 3.0]];
        svd_flip_rows(&mut vt, Some(&mut u));
        assert_eq!(vt.row(0).to_vec(), vec![-0.1, 0.9, -0.2]);
        assert_eq!(vt.row(1).to_vec(), vec![0.5, 0.5, -0.1]);
        // A tie goes to the first entry, as NumPy's argmax.
        assert_eq!(vt.row(2).to_vec(), vec![0.3, -0.3, -0.0]);
        assert_eq!(u.row(0).to_vec(), vec![-1.0, 2.0, -3.0]);
    }
}
