use ndarray::{Array1, Array2, ArrayView2};
use rask_ml::{BlockModel, ChunkedDataset, Element, Fit, Float, ModelKind, ParamGuard};
use serde::{Deserialize, Serialize};

use super::errors::QuantileTransformerError;
use super::normal::{norm_cdf, norm_ppf};
use super::params::{OutputDistribution, QuantileTransformerParams, QuantileTransformerValidParams};
use crate::preprocessing::no_weights;
use crate::preprocessing::quantile_sketch::ops::sketch_columns;

/// scikit-learn's `BOUNDS_THRESHOLD`: how close to 0 or 1 a probability may get.
const BOUNDS_THRESHOLD: f64 = 1e-7;

/// A fitted quantile transformer: each column goes through the piecewise-linear map from its
/// quantiles to `references` (then through the normal quantile function for normal output).
/// NaNs are ignored when fitting and kept by `transform`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantileTransformer {
    /// The number of quantiles used: `min(n_quantiles, n_rows)`.
    pub n_quantiles: usize,
    /// The probabilities of the quantiles: `n_quantiles` evenly spaced values from 0 to 1.
    pub references: Array1<f64>,
    /// The quantiles, `n_quantiles × n_features`, non-decreasing down each column.
    pub quantiles: Array2<f64>,
    /// The certified rank error of each column's quantiles (0: exact).
    pub rank_error: Vec<u64>,
    params: QuantileTransformerValidParams,
}

impl QuantileTransformer {
    /// The params the transformer was fitted with.
    pub fn params(&self) -> &QuantileTransformerValidParams {
        &self.params
    }
}

/// NumPy's `linspace(0, 1, n)`, operation by operation.
fn linspace01(n: usize) -> Array1<f64> {
    if n == 1 {
        return Array1::zeros(1);
    }
    let step = 1.0 / (n - 1) as f64;
    let mut r = Array1::from_iter((0..n).map(|i| i as f64 * step + 0.0));
    r[n - 1] = 1.0;
    r
}

/// NumPy's `interp(x, xp, fp)` for increasing `xp`, with its edge rules: values outside the
/// range take the end values, and a value equal to a knot takes the knot's value.
pub(crate) fn interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    let n = xp.len();
    if n == 0 {
        return f64::NAN;
    }
    if x < xp[0] {
        return fp[0];
    }
    if x > xp[n - 1] {
        return fp[n - 1];
    }
    // The largest j with xp[j] <= x (x is at least xp[0] here, so j exists).
    let j = xp.partition_point(|&p| p <= x).saturating_sub(1);
    if j == n - 1 {
        return fp[n - 1];
    }
    if xp[j] == x {
        return fp[j];
    }
    let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    let mut r = slope * (x - xp[j]) + fp[j];
    if r.is_nan() {
        r = slope * (x - xp[j + 1]) + fp[j + 1];
        if r.is_nan() && fp[j] == fp[j + 1] {
            r = fp[j];
        }
    }
    r
}

impl<F: Float, Y: Element> Fit<ChunkedDataset<F, Y>> for QuantileTransformerParams {
    type Model = QuantileTransformer;
    type Error = QuantileTransformerError;

    fn fit(&self, data: &ChunkedDataset<F, Y>) -> Result<QuantileTransformer, QuantileTransformerError> {
        let params = self.check_ref()?.clone();
        no_weights(data, "QuantileTransformer")?;
        let s = sketch_columns(data.x(), params.sketch_capacity, true, "QuantileTransformer", params.split_every)?;
        // Every column summary counts every row (NaN or not).
        let n_rows = s.columns.first().map_or(0, |c| c.n + c.n_nan) as usize;
        let n_quantiles = params.n_quantiles.min(n_rows).max(1);
        let references = linspace01(n_quantiles);
        let d = s.columns.len();
        let mut quantiles = Array2::zeros((n_quantiles, d));
        for (j, c) in s.columns.iter().enumerate() {
            let mut running = f64::NEG_INFINITY;
            for (i, &r) in references.iter().enumerate() {
                // scikit-learn asks `nanpercentile` for `references * 100`, which divides by 100.
                let q = c.quantile(r * 100.0 / 100.0);
                // `np.maximum.accumulate`: non-decreasing (NaN propagates).
                running = if q.is_nan() || running.is_nan() { f64::NAN } else { running.max(q) };
                quantiles[[i, j]] = running;
            }
        }
        let rank_error = s.columns.iter().map(|c| c.max_rank_error()).collect();
        Ok(QuantileTransformer { n_quantiles, references, quantiles, rank_error, params })
    }
}

impl QuantileTransformer {
    fn forward(&self, v: f64, q: &[f64], neg_q: &[f64], refs: &[f64], neg_ref: &[f64], clip: (f64, f64)) -> f64 {
        if v.is_nan() || q.is_empty() {
            return f64::NAN;
        }
        let normal = self.params.output_distribution == OutputDistribution::Normal;
        let (lo, hi) = (q[0], q[q.len() - 1]);
        let (is_lo, is_hi) =
            if normal { (v - BOUNDS_THRESHOLD < lo, v + BOUNDS_THRESHOLD > hi) } else { (v == lo, v == hi) };
        let mut p = 0.5 * (interp(v, q, refs) - interp(-v, neg_q, neg_ref));
        if is_hi {
            p = 1.0;
        }
        if is_lo {
            p = 0.0;
        }
        if normal {
            norm_ppf(p).clamp(clip.0, clip.1)
        } else {
            p
        }
    }

    fn backward(&self, v: f64, q: &[f64], refs: &[f64]) -> f64 {
        if v.is_nan() || q.is_empty() {
            return f64::NAN;
        }
        let normal = self.params.output_distribution == OutputDistribution::Normal;
        let v = if normal { norm_cdf(v) } else { v };
        let (is_lo, is_hi) =
            if normal { (v - BOUNDS_THRESHOLD < 0.0, v + BOUNDS_THRESHOLD > 1.0) } else { (v == 0.0, v == 1.0) };
        let mut t = interp(v, refs, q);
        if is_hi {
            t = q[q.len() - 1];
        }
        if is_lo {
            t = q[0];
        }
        t
    }

    fn columns(&self) -> Vec<(Vec<f64>, Vec<f64>)> {
        self.quantiles
            .columns()
            .into_iter()
            .map(|c| {
                let q = c.to_vec();
                let neg_q = q.iter().rev().map(|v| -v).collect();
                (q, neg_q)
            })
            .collect()
    }
}

impl BlockModel for QuantileTransformer {
    const APPLY_OP: &'static str = "rask.estimators.quantile_transformer.apply";
    const KIND: ModelKind = ModelKind::Transformer;
    type Label = f64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        use rask_ml::persist::{
            check_model_finite as finite, check_model_len as len, check_model_nonempty as nonempty,
        };
        const M: &str = "QuantileTransformer";
        let n = self.quantiles.nrows();
        nonempty(M, "the number of quantiles", n)?;
        nonempty(M, "the number of features (columns of quantiles)", self.quantiles.ncols())?;
        len(M, "references", n, self.references.len())?;
        len(M, "the rows of quantiles (n_quantiles)", self.n_quantiles, n)?;
        finite(M, "references", self.references.iter())
    }

    /// NaN is a missing value here, as in scikit-learn.
    fn allows_nan(&self) -> bool {
        true
    }

    fn n_features_in(&self) -> usize {
        self.quantiles.ncols()
    }

    fn supports(&self, method: rask_ml::Method) -> bool {
        matches!(method, rask_ml::Method::Transform | rask_ml::Method::InverseTransform)
    }

    fn transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        let cols = self.columns();
        let refs = self.references.to_vec();
        let neg_ref: Vec<f64> = refs.iter().rev().map(|v| -v).collect();
        // scikit-learn clips normal output to the quantiles of `1e-7 − ε` and `1 − (1e-7 − ε)`.
        let clip = (norm_ppf(BOUNDS_THRESHOLD - f64::EPSILON), norm_ppf(1.0 - (BOUNDS_THRESHOLD - f64::EPSILON)));
        let mut out = x.to_owned();
        for mut row in out.rows_mut() {
            for (v, (q, neg_q)) in row.iter_mut().zip(&cols) {
                *v = F::narrow(self.forward(v.widen(), q, neg_q, &refs, &neg_ref, clip));
            }
        }
        Ok(out)
    }

    fn inverse_transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        let cols = self.columns();
        let refs = self.references.to_vec();
        let mut out = x.to_owned();
        for mut row in out.rows_mut() {
            for (v, (q, _)) in row.iter_mut().zip(&cols) {
                *v = F::narrow(self.backward(v.widen(), q, &refs));
            }
        }
        Ok(out)
    }
}

rask_ml::estimator!(QuantileTransformerParams => QuantileTransformer, name = "QuantileTransformer", ops = "rask.estimators.quantile_transformer", kind = Transformer, targets = any, partial_fit = no);
