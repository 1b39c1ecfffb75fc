//! GLM families: the per-row loss, its first and second derivative in the linear predictor,
//! and the block kernels (loss, gradient and Hessian sums over the rows of one block).
//!
//! Coefficients travel as one flat row-major vector of `k` rows of `p = d + fit_intercept`
//! entries: row `r` is `[w_r0, …, w_r(d-1), b_r]` (the intercept last, when fitted). `k` is 1
//! for every family except the multinomial one, where it is the number of classes.

use rask_core::{op_bail, op_ensure};
use std::borrow::Cow;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rask_core::{OpError, Value};
use rask_ml::Float;
use serde::{Deserialize, Serialize};

/// The distribution of the target and its (canonical) link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Family {
    /// Normal errors, identity link: loss `½(η − y)²` (least squares).
    Gaussian,
    /// Binary target, logit link: loss `log(1 + e^η) − y·η` with `y ∈ {0, 1}`.
    Bernoulli,
    /// `k ≥ 3` classes, softmax link: loss `logsumexp(η) − η_y`.
    Multinomial,
    /// Counts, log link: loss `e^η − y·η` (half the Poisson deviance up to a constant).
    Poisson,
}

impl Family {
    /// Whether the target holds class labels (mapped to class indices) rather than values.
    pub fn is_classifier(self) -> bool {
        matches!(self, Family::Bernoulli | Family::Multinomial)
    }
}

/// The layout of a coefficient vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Rows of coefficients (classes for the multinomial family, else 1).
    pub k: usize,
    /// Features.
    pub d: usize,
    /// Whether each row ends with an intercept.
    pub fit_intercept: bool,
}

impl Layout {
    /// Entries per row.
    pub fn p(&self) -> usize {
        self.d + usize::from(self.fit_intercept)
    }

    /// Entries in all.
    pub fn len(&self) -> usize {
        self.k * self.p()
    }

    /// Whether there are no entries (no features and no intercept).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether entry `i` is penalised (every entry except the intercepts).
    pub fn penalised(&self, i: usize) -> bool {
        !(self.fit_intercept && i % self.p() == self.d)
    }

    /// The `k × d` weights and the `k` intercepts (zeros without an intercept).
    pub fn split(&self, coef: &[f64]) -> (Array2<f64>, Array1<f64>) {
        let p = self.p();
        let w = Array2::from_shape_fn((self.k, self.d), |(r, j)| coef[r * p + j]);
        let b = Array1::from_shape_fn(self.k, |r| if self.fit_intercept { coef[r * p + self.d] } else { 0.0 });
        (w, b)
    }
}

/// The targets of one block, in the form the family needs.
#[derive(Debug)]
pub enum Targets {
    /// Real values (Gaussian, Poisson).
    Real(Array1<f64>),
    /// Class indices into the sorted classes (Bernoulli: 0 or 1).
    Class(Vec<usize>),
}

/// Reads a target block as the family needs it: labels become indices into `classes`.
pub fn targets(v: &Value, family: Family, classes: &[i64]) -> Result<Targets, OpError> {
    if family.is_classifier() {
        let labels = v
            .downcast_ref::<Array1<i64>>()
            .ok_or_else(|| OpError::new(format!("expected an i64 label block, found `{}`", v.type_name())))?;
        let idx = labels
            .iter()
            .map(|l| {
                classes
                    .binary_search(l)
                    .map_err(|_| OpError::new(format!("label {l} is not one of the fitted classes")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Targets::Class(idx))
    } else if let Some(y) = v.downcast_ref::<Array1<f64>>() {
        Ok(Targets::Real(y.clone()))
    } else if let Some(y) = v.downcast_ref::<Array1<f32>>() {
        Ok(Targets::Real(y.mapv(f64::from)))
    } else if let Some(y) = v.downcast_ref::<Array1<i64>>() {
        Ok(Targets::Real(y.mapv(|x| x as f64)))
    } else {
        Err(OpError::new(format!("expected a 1-D target block, found `{}`", v.type_name())))
    }
}

impl Targets {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Targets::Real(y) => y.len(),
            Targets::Class(c) => c.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads a weight block (`None` for unit weights).
pub fn weights(v: Option<&Value>) -> Result<Option<Array1<f64>>, OpError> {
    match v {
        None => Ok(None),
        Some(v) => v
            .downcast_ref::<Array1<f64>>()
            .cloned()
            .map(Some)
            .ok_or_else(|| OpError::new(format!("expected an f64 weight block, found `{}`", v.type_name()))),
    }
}

/// An `f64` view of a feature block: borrowed for `f64`, widened for `f32`.
pub fn widened<F: Float>(a: &Array2<F>) -> Cow<'_, Array2<f64>> {
    if let Some(a) = (a as &dyn std::any::Any).downcast_ref::<Array2<f64>>() {
        Cow::Borrowed(a)
    } else {
        Cow::Owned(a.mapv(Float::widen))
    }
}

/// Sums of one block: `Σ sᵢ ℓᵢ`, its gradient and (optionally) its Hessian, over the flat
/// coefficient vector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Partials {
    /// Weighted loss sum.
    pub loss: f64,
    /// Gradient of the loss sum (empty if not asked for).
    pub grad: Vec<f64>,
    /// Hessian of the loss sum, row-major `len × len` (empty if not asked for).
    pub hess: Vec<f64>,
}

impl Partials {
    /// Adds `other` (same sizes).
    pub fn merge(&mut self, other: &Partials) -> Result<(), OpError> {
        if self.grad.len() != other.grad.len() || self.hess.len() != other.hess.len() {
            return Err(OpError::new("cannot merge GLM partial sums of different sizes"));
        }
        self.loss += other.loss;
        for (a, b) in self.grad.iter_mut().zip(&other.grad) {
            *a += b;
        }
        for (a, b) in self.hess.iter_mut().zip(&other.hess) {
            *a += b;
        }
        Ok(())
    }
}

/// What a block evaluation computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Want {
    /// The loss only.
    Loss,
    /// Loss and gradient.
    Gradient,
    /// Loss, gradient and Hessian.
    Hessian,
}

/// `ln(1 + z)` for `z` in `[0, 1]`, branch-free so a loop of it vectorises: with
/// `s = z / (2 + z)` in `[0, 1/3]`, `ln(1 + z) = 2 atanh(s) = 2 Σ s^(2k+1) / (2k+1)`; sixteen
/// terms leave a truncation error below `(1/9)^16 / 33 < 2e-17` relative (the test checks it
/// against `f64::ln_1p` to a few ulp). libm's `log1p`, one call per row, was a third of a
/// logistic fit.
#[inline]
fn ln_1p_unit(z: f64) -> f64 {
    const C: [f64; 16] = [
        1.0,
        1.0 / 3.0,
        1.0 / 5.0,
        1.0 / 7.0,
        1.0 / 9.0,
        1.0 / 11.0,
        1.0 / 13.0,
        1.0 / 15.0,
        1.0 / 17.0,
        1.0 / 19.0,
        1.0 / 21.0,
        1.0 / 23.0,
        1.0 / 25.0,
        1.0 / 27.0,
        1.0 / 29.0,
        1.0 / 31.0,
    ];
    let s = z / (2.0 + z);
    let s2 = s * s;
    let mut acc = C[15];
    for &c in C[..15].iter().rev() {
        acc = acc * s2 + c;
    }
    2.0 * s * acc
}

/// The linear predictor `η = X Wᵀ + b` (`n × k`).
pub fn linear_predictor(x: ArrayView2<'_, f64>, w: &Array2<f64>, b: &Array1<f64>) -> Array2<f64> {
    if w.nrows() == 1 {
        // One coefficient row: a matrix-vector product (no GEMM packing of the block).
        let eta = x.dot(&w.row(0)) + b[0];
        return eta.insert_axis(Axis(1));
    }
    let mut eta = x.dot(&w.t());
    eta += &b.view().insert_axis(Axis(0));
    eta
}

/// The linear predictor `η = X Wᵀ + b` (`n × k`) of a block of any float type, accumulated
/// in `f64` without copying the block (for predictions).
pub fn linear_predictor_of<F: Float>(x: ArrayView2<'_, F>, w: &Array2<f64>, b: &Array1<f64>) -> Array2<f64> {
    let mut eta = Array2::zeros((x.nrows(), w.nrows()));
    if let (Some(xs), Some(ws), Some(out)) = (x.as_slice(), w.as_slice(), eta.as_slice_mut()) {
        linear_predictor_rows(xs, x.ncols(), ws, b.as_slice().unwrap_or(&b.to_vec()), out);
        return eta;
    }
    for (row, mut out) in x.rows().into_iter().zip(eta.rows_mut()) {
        for (c, o) in out.iter_mut().enumerate() {
            let wc = w.row(c);
            *o = b[c] + row_dot(row.iter(), wc.iter());
        }
    }
    eta
}

/// One row's sum `Σ x_j w_j`, widened to `f64` and taken in column order: the one definition
/// every predictor path uses, so strided, row-major and mapped predictions agree bit for bit.
#[inline(always)]
fn row_dot<'a, F: Float>(row: impl IntoIterator<Item = &'a F>, w: impl IntoIterator<Item = &'a f64>) -> f64 {
    row.into_iter().zip(w).map(|(a, v)| a.widen() * v).sum::<f64>()
}

/// `out[i] = b + row_dot(row i of x, w)` for the contiguous rows of `x` (`w.len()` columns,
/// not zero), four rows at a time: their sums are advanced together, column by column, so
/// the four chains of dependent additions sit side by side in the instruction stream instead
/// of leaning on the CPU's reorder window to overlap consecutive rows. Each row's sum is still
/// taken in column order from `-0.0` (as [`row_dot`]'s `sum` does), so the values are bit for
/// bit those of [`row_dot`]. On `ParallelPostFit`'s 10,000,000 x 20 predict left in its
/// blocks (two threads, this project's test machine, while its memory was fast: a 16-sum read
/// pass in 0.022-0.024 s), the one-row loop took 0.033-0.035 s, bound by its additions rather
/// than the memory; four rows take 0.028-0.031 s. Eight rows at a time were slower
/// (0.055-0.064 s; not examined further). On one thread over 2,000,000 x 20, where memory
/// bounds both, the two loops took 20.7 and 19.8 ms (best of 7).
#[inline(always)]
fn dot_rows<F: Float>(x: &[F], w: &[f64], b: f64, out: &mut [f64]) {
    const R: usize = 4;
    let d = w.len();
    let mut groups = x.chunks_exact(R * d);
    let mut outs = out.chunks_exact_mut(R);
    for (group, o) in (&mut groups).zip(&mut outs) {
        let (r0, rest) = group.split_at(d);
        let (r1, rest) = rest.split_at(d);
        let (r2, r3) = rest.split_at(d);
        let mut s = [-0.0f64; R];
        for ((((&a0, &a1), &a2), &a3), &wj) in r0.iter().zip(r1).zip(r2).zip(r3).zip(w) {
            s[0] += a0.widen() * wj;
            s[1] += a1.widen() * wj;
            s[2] += a2.widen() * wj;
            s[3] += a3.widen() * wj;
        }
        for (oi, si) in o.iter_mut().zip(s) {
            *oi = b + si;
        }
    }
    for (row, o) in groups.remainder().chunks_exact(d).zip(outs.into_remainder()) {
        *o = b + row_dot(row, w);
    }
}

/// [`linear_predictor_of`] at predict time: a block whose decision values are not all finite
/// is refused with [`MlError::NonFinite`](rask_ml::MlError::NonFinite). With finite
/// coefficients (checked when a model is loaded) a NaN or infinite input value always makes its
/// row's decision value non-finite, so this replaces a scan of the input (one pass over the
/// data) by one over the decision values (a `d`-th of it); the caller names the place
/// ([`BlockModel::detects_non_finite`](rask_ml::BlockModel::detects_non_finite)).
pub fn finite_linear_predictor_of<F: Float>(
    x: ArrayView2<'_, F>,
    w: &Array2<f64>,
    b: &Array1<f64>,
) -> rask_ml::Result<Array2<f64>> {
    let eta = linear_predictor_of(x, w, b);
    let finite = match eta.as_slice() {
        Some(values) => {
            // `v * 0` is 0 for finite `v` and NaN otherwise; eight independent lanes vectorise.
            let mut acc = [0.0f64; 8];
            let chunks = values.chunks_exact(8);
            let tail = chunks.remainder().iter().fold(0.0, |a, &v| a + v * 0.0);
            for c in chunks {
                for i in 0..8 {
                    acc[i] += c[i] * 0.0;
                }
            }
            acc.iter().sum::<f64>() + tail == 0.0
        }
        None => eta.iter().all(|v| v.is_finite()),
    };
    if finite {
        Ok(eta)
    } else {
        Err(rask_ml::MlError::NonFinite { what: "x".into() })
    }
}

/// One coefficient row's decision values, each mapped by `f` as it is computed: predictions of
/// a binary classifier or a single-output regressor without first filling an `n × 1` array of
/// decision values (one pass over the block, one output allocation). The values are those of
/// [`finite_linear_predictor_of`] (the same sums, bit for bit), and a block with a non-finite
/// decision value is refused the same way.
pub fn finite_linear_predictor_map<F: Float, T>(
    x: ArrayView2<'_, F>,
    w: ArrayView1<'_, f64>,
    b: f64,
    f: impl Fn(f64) -> T,
) -> rask_ml::Result<Array1<T>> {
    let d = x.ncols();
    let mut finite = true;
    let out: Vec<T> = match (x.as_slice(), w.as_slice()) {
        (Some(xs), Some(ws)) if d > 0 => {
            // A tile of decision values first, then their mapping: a branch in `f` (a class
            // chosen by sign) then cannot stall the overlapped sums of the following rows.
            const TILE: usize = 64;
            let mut out = Vec::with_capacity(x.nrows());
            let mut eta = [0.0f64; TILE];
            for tile in xs.chunks(TILE * d) {
                let rows = tile.len() / d;
                dot_rows(tile, ws, b, &mut eta[..rows]);
                finite &= eta[..rows].iter().all(|e| e.is_finite());
                out.extend(eta[..rows].iter().map(|&e| f(e)));
            }
            out
        }
        _ => {
            let w2 = w.insert_axis(Axis(0)).to_owned();
            let eta = finite_linear_predictor_of(x, &w2, &Array1::from_elem(1, b))?;
            eta.column(0).iter().map(|&e| f(e)).collect()
        }
    };
    if finite {
        Ok(Array1::from(out))
    } else {
        Err(rask_ml::MlError::NonFinite { what: "x".into() })
    }
}

/// [`linear_predictor_of`] on contiguous row-major data, each sum taken in the same order as
/// the strided loop (then the intercept is added), so the results are bit for bit the same.
/// One output: four rows at a time ([`dot_rows`]). Several: one row at a time, whose `k` sums
/// are already independent chains that the CPU overlaps (four rows at a time, each output in
/// turn, took 39.7 ms against 32.0 ms for two outputs and 52.6 against 48.8 for three, on
/// 2,000,000 x 20 on one thread). The rows are read in memory order.
fn linear_predictor_rows<F: Float>(x: &[F], d: usize, w: &[f64], b: &[f64], out: &mut [f64]) {
    let k = b.len();
    if d == 0 {
        for (i, o) in out.iter_mut().enumerate() {
            *o = b[i % k];
        }
        return;
    }
    if k == 1 {
        return dot_rows(x, w, b[0], out);
    }
    for (row, o) in x.chunks_exact(d).zip(out.chunks_exact_mut(k)) {
        for ((oc, wc), bc) in o.iter_mut().zip(w.chunks_exact(d)).zip(b) {
            *oc = bc + row_dot(row, wc);
        }
    }
}

/// Row-wise softmax of `eta`, in place (stable: the row maximum is subtracted first).
/// Returns each row's log-sum-exp.
pub fn softmax_in_place(eta: &mut Array2<f64>) -> Array1<f64> {
    let mut lse = Array1::zeros(eta.nrows());
    for (mut row, l) in eta.rows_mut().into_iter().zip(lse.iter_mut()) {
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut s = 0.0;
        for v in row.iter_mut() {
            *v = (*v - m).exp();
            s += *v;
        }
        row.mapv_inplace(|v| v / s);
        *l = m + s.ln();
    }
    lse
}

/// Loss, gradient and Hessian sums of one block at `coef`.
pub fn block_partials(
    family: Family,
    layout: Layout,
    x: ArrayView2<'_, f64>,
    y: &Targets,
    s: Option<ArrayView1<'_, f64>>,
    coef: &[f64],
    want: Want,
) -> Result<Partials, OpError> {
    let n = x.nrows();
    op_ensure!(y.len() == n, "x block has {n} rows but y block has {}", y.len());
    if let Some(s) = &s {
        op_ensure!(s.len() == n, "x block has {n} rows but the weight block has {}", s.len());
    }
    op_ensure!(
        x.ncols() == layout.d && coef.len() == layout.len(),
        "x block has {} columns and {} coefficients were given; expected {} and {}",
        x.ncols(),
        coef.len(),
        layout.d,
        layout.len()
    );
    let (w, b) = layout.split(coef);
    let mut eta = linear_predictor(x, &w, &b);
    let sw = |i: usize| s.as_ref().map_or(1.0, |s| s[i]);
    let k = layout.k;
    let mut loss = 0.0;
    // `r[i, c]`: weighted derivative of the loss in η_ic; `h`: weighted second derivatives
    // (one column for scalar families; for the multinomial family the Hessian is built from
    // the probabilities below).
    let mut r = Array2::<f64>::zeros((n, k));
    let mut h = Array1::<f64>::zeros(if family == Family::Multinomial { 0 } else { n });
    match (family, y) {
        (Family::Multinomial, Targets::Class(c)) => {
            let eta_y: Vec<f64> = (0..n).map(|i| eta[[i, c[i]]]).collect();
            let lse = softmax_in_place(&mut eta);
            // `eta` now holds the probabilities.
            for i in 0..n {
                let si = sw(i);
                loss += si * (lse[i] - eta_y[i]);
                for j in 0..k {
                    r[[i, j]] = si * (eta[[i, j]] - if j == c[i] { 1.0 } else { 0.0 });
                }
            }
        }
        (Family::Bernoulli, Targets::Class(c)) => {
            // softplus(η) = max(η, 0) + ln(1 + z) with z = exp(-|η|): one exponential serves
            // the sigmoid and the softplus, and the logarithms are taken afterwards in one
            // branch-free pass the compiler vectorises (`ln_1p_unit`).
            let mut z = vec![0.0; n];
            for i in 0..n {
                let (e, yi, si) = (eta[[i, 0]], c[i] as f64, sw(i));
                let zi = (-e.abs()).exp();
                z[i] = zi;
                let p = if e >= 0.0 { 1.0 / (1.0 + zi) } else { zi / (1.0 + zi) };
                loss += si * (e.max(0.0) - yi * e);
                r[[i, 0]] = si * (p - yi);
                h[i] = si * p * (1.0 - p);
            }
            for v in z.iter_mut() {
                *v = ln_1p_unit(*v);
            }
            loss += match &s {
                Some(s) => z.iter().zip(s.iter()).map(|(l, si)| si * l).sum::<f64>(),
                None => z.iter().sum::<f64>(),
            };
        }
        (Family::Gaussian, Targets::Real(yv)) => {
            for i in 0..n {
                let (e, yi, si) = (eta[[i, 0]], yv[i], sw(i));
                loss += si * 0.5 * (e - yi) * (e - yi);
                r[[i, 0]] = si * (e - yi);
                h[i] = si;
            }
        }
        (Family::Poisson, Targets::Real(yv)) => {
            for i in 0..n {
                let (e, yi, si) = (eta[[i, 0]], yv[i], sw(i));
                let mu = e.exp();
                loss += si * (mu - yi * e);
                r[[i, 0]] = si * (mu - yi);
                h[i] = si * mu;
            }
        }
        _ => op_bail!("targets of the wrong kind for the {family:?} family"),
    }
    if want == Want::Loss {
        return Ok(Partials { loss, grad: Vec::new(), hess: Vec::new() });
    }
    let p = layout.p();
    let gw = if k == 1 {
        // `rᵀX` in one pass over the rows (contiguous), not a packed GEMM or strided columns.
        let mut g = Array2::<f64>::zeros((1, layout.d));
        let gs = g.as_slice_mut().expect("a new array is contiguous");
        let rs = r.as_slice().expect("a new array is contiguous");
        match x.as_slice() {
            // Contiguous rows: slice loops the compiler vectorises.
            Some(xs) if layout.d > 0 => {
                for (row, &ri) in xs.chunks_exact(layout.d).zip(rs) {
                    for (gj, &xj) in gs.iter_mut().zip(row) {
                        *gj += ri * xj;
                    }
                }
            }
            _ => {
                for (row, &ri) in x.rows().into_iter().zip(rs) {
                    for (gj, &xj) in gs.iter_mut().zip(row.iter()) {
                        *gj += ri * xj;
                    }
                }
            }
        }
        g
    } else {
        r.t().dot(&x) // k × d
    };
    let mut grad = vec![0.0; layout.len()];
    for c in 0..k {
        for j in 0..layout.d {
            grad[c * p + j] = gw[[c, j]];
        }
        if layout.fit_intercept {
            grad[c * p + layout.d] = r.column(c).sum();
        }
    }
    if want == Want::Gradient {
        return Ok(Partials { loss, grad, hess: Vec::new() });
    }
    // The Hessian: blocks (c, e) of Xaᵀ diag(D_ce) Xa with Xa = [X 1].
    let xa = augmented(x, layout.fit_intercept);
    let len = layout.len();
    let mut hess = vec![0.0; len * len];
    let mut put = |c: usize, e: usize, blk: &Array2<f64>| {
        for a in 0..p {
            for bb in 0..p {
                hess[(c * p + a) * len + e * p + bb] = blk[[a, bb]];
                hess[(e * p + bb) * len + c * p + a] = blk[[a, bb]];
            }
        }
    };
    if family == Family::Multinomial {
        for c in 0..k {
            for e in c..k {
                let dce = Array1::from_shape_fn(n, |i| {
                    let (pc, pe) = (eta[[i, c]], eta[[i, e]]);
                    sw(i) * (if c == e { pc } else { 0.0 } - pc * pe)
                });
                put(c, e, &weighted_gram(&xa, &dce));
            }
        }
    } else {
        put(0, 0, &weighted_gram(&xa, &h));
    }
    Ok(Partials { loss, grad, hess })
}

/// `[X 1]` (or `X` without an intercept).
pub fn augmented(x: ArrayView2<'_, f64>, fit_intercept: bool) -> Array2<f64> {
    if !fit_intercept {
        return x.to_owned();
    }
    let mut xa = Array2::ones((x.nrows(), x.ncols() + 1));
    xa.slice_mut(ndarray::s![.., ..x.ncols()]).assign(&x);
    xa
}

/// `Xᵀ diag(d) X`.
pub fn weighted_gram(x: &Array2<f64>, d: &Array1<f64>) -> Array2<f64> {
    let xd = x * &d.view().insert_axis(Axis(1));
    xd.t().dot(x)
}

#[cfg(test)]
mod ln_1p_tests {
    use super::ln_1p_unit;

    #[test]
    fn ln_1p_unit_matches_libm_to_a_few_ulp_on_the_unit_interval() {
        let mut worst: f64 = 0.0;
        let mut z = 1.0f64;
        while z > 1e-300 {
            for t in [z, z * 0.7, z * 0.37] {
                let (a, b) = (ln_1p_unit(t), t.ln_1p());
                worst = worst.max(((a - b) / b).abs());
            }
            z *= 0.9;
        }
        for i in 0..=10_000 {
            let t = i as f64 / 10_000.0;
            let (a, b) = (ln_1p_unit(t), t.ln_1p());
            if b > 0.0 {
                worst = worst.max(((a - b) / b).abs());
            }
        }
        assert!(worst < 4.0 * f64::EPSILON, "worst relative error {worst:e}");
        assert_eq!(ln_1p_unit(0.0), 0.0);
    }
}

#[cfg(test)]
mod predictor_tests {
    use super::{finite_linear_predictor_map, finite_linear_predictor_of, linear_predictor_of};
    use ndarray::{s, Array1, Array2};

    fn block(n: usize, d: usize) -> Array2<f64> {
        let mut state = 7u64;
        Array2::from_shape_fn((n, d), |_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 1e3
        })
    }

    /// Each row's sum in column order, then the intercept: the definition every path must
    /// reproduce bit for bit.
    fn by_hand(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> Array2<f64> {
        Array2::from_shape_fn((x.nrows(), w.nrows()), |(r, c)| {
            let mut acc = 0.0;
            for j in 0..x.ncols() {
                acc += x[[r, j]] * w[[c, j]];
            }
            b[c] + acc
        })
    }

    #[test]
    fn every_path_gives_the_bits_of_the_one_row_loop() {
        // Row counts around the four-row groups and the 64-row tiles of the mapped path.
        for (n, d, k) in [(0, 3, 1), (1, 1, 1), (5, 2, 1), (67, 20, 1), (130, 7, 1), (130, 7, 3), (9, 33, 2)] {
            let x = block(n, d);
            let w = block(k, d);
            let b = Array1::from_iter((0..k).map(|c| c as f64 - 0.25));
            let want = by_hand(&x, &w, &b);
            assert_eq!(linear_predictor_of(x.view(), &w, &b), want, "{n} x {d}, {k} outputs");
            // Not contiguous: the strided fallback.
            let xt = x.t().to_owned();
            assert_eq!(linear_predictor_of(xt.t(), &w, &b), want);
            let mapped = finite_linear_predictor_map(x.view(), w.row(0), b[0], |e| e).expect("finite");
            assert_eq!(mapped, want.column(0));
            let mapped = finite_linear_predictor_map(xt.t(), w.row(0), b[0], |e| e).expect("finite");
            assert_eq!(mapped, want.column(0));
            let signs = finite_linear_predictor_map(x.view(), w.row(0), b[0], |e| i64::from(e > 0.0)).expect("finite");
            assert_eq!(signs, want.column(0).mapv(|e| i64::from(e > 0.0)));
            // f32 rows are widened, then summed the same way.
            let x32 = x.mapv(|v| v as f32);
            let want32 = by_hand(&x32.mapv(f64::from), &w, &b);
            assert_eq!(linear_predictor_of(x32.view(), &w, &b), want32);
            assert_eq!(
                finite_linear_predictor_map(x32.view(), w.row(0), b[0], |e| e).expect("finite"),
                want32.column(0)
            );
        }
    }

    #[test]
    fn the_four_row_groups_keep_every_bit_of_the_one_row_sum() {
        // Signed zeros and products that cancel: where a different order or a different start
        // than `sum`'s `-0.0` would show. Row 2's products are all `-0.0`, so a sum started
        // from `+0.0` gives another bit (checked: the test fails then); row 5's order matters.
        let mut x = block(11, 3);
        x.row_mut(2).assign(&ndarray::arr1(&[-0.0, -0.0, 0.0]));
        x.row_mut(5).assign(&ndarray::arr1(&[1e300, -1e300, 1.0]));
        x.row_mut(9).fill(0.0);
        let w = Array1::from(vec![1.5, 1.5, -0.0]);
        for b in [0.0, -0.0, 2.5] {
            let mut out = vec![f64::NAN; x.nrows()];
            super::dot_rows(x.as_slice().expect("standard layout"), w.as_slice().expect("contiguous"), b, &mut out);
            for (r, o) in x.rows().into_iter().zip(&out) {
                let want = b + super::row_dot(r.iter(), w.iter());
                assert_eq!(o.to_bits(), want.to_bits(), "row {r}, intercept {b}");
            }
        }
    }

    #[test]
    fn a_non_finite_value_anywhere_refuses_the_block() {
        let w = block(1, 5);
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            for row in [0, 63, 64, 99] {
                let mut x = block(100, 5);
                x[[row, 2]] = bad;
                assert!(finite_linear_predictor_of(x.view(), &w, &Array1::zeros(1)).is_err());
                let err = finite_linear_predictor_map(x.view(), w.row(0), 0.0, |e| e).expect_err("refused");
                assert!(matches!(err, rask_ml::MlError::NonFinite { .. }), "{err}");
                let err = finite_linear_predictor_map(x.slice(s![.., ..]), w.row(0), 0.0, |e| e > 0.0);
                assert!(err.is_err());
            }
        }
    }
}
