use ndarray::{Array1, Array2, ArrayView2};
use rask_ml::{BlockModel, ChunkedDataset, Fit, Float, Lazy, ModelKind, ParamGuard, PartialFit};
use serde::{Deserialize, Serialize};

use super::errors::GaussianNBError;
use super::ops::{BlockClassStats, ClassStats, MergeClassStats, Moments};
use super::params::{GaussianNBParams, GaussianNBValidParams};

/// A fitted Gaussian naive Bayes classifier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GaussianNB {
    /// The class labels, sorted.
    pub classes: Vec<i64>,
    /// Weight (rows, when unweighted) seen per class.
    pub class_count: Array1<f64>,
    /// Prior probability of each class.
    pub class_prior: Array1<f64>,
    /// Per-class feature means, `n_classes × n_features`.
    pub theta: Array2<f64>,
    /// Per-class feature variances plus `epsilon`, `n_classes × n_features`.
    pub var: Array2<f64>,
    /// The smoothing added to every variance: `var_smoothing` times the largest feature
    /// variance of the latest batch (of all the data, for `fit`), as scikit-learn does. Where
    /// that is 0 (all rows identical, or `var_smoothing = 0`) and some class has a feature of
    /// zero variance, scikit-learn would divide by zero and give NaN probabilities; this is
    /// then a floor, `max(var_smoothing, f64::EPSILON) × max(1, largest squared feature
    /// mean)`, so every probability is defined.
    pub epsilon: f64,
    params: GaussianNBValidParams,
    stats: ClassStats,
}

fn batch_stats<F: Float>(
    params: &GaussianNBValidParams,
    data: &ChunkedDataset<F, i64>,
) -> Result<ClassStats, GaussianNBError> {
    let y = data.y_required("GaussianNB fit")?;
    let x = data.x();
    x.check_aligned(y.chunks())?;
    let mut others = vec![y.block_layer()];
    if let Some(w) = data.weights() {
        others.push(w.block_layer());
    }
    let (layers, key) = x.block_layer().reduce(&others, BlockClassStats, MergeClassStats, params.split_every)?;
    let stats = Lazy::<ClassStats>::new(layers, key).compute()?;
    if let Some(classes) = &params.classes {
        if let Some(label) = stats.classes.keys().find(|l| !classes.contains(l)) {
            return Err(GaussianNBError::UnknownLabel { label: *label, classes: classes.clone() });
        }
    }
    Ok(stats)
}

/// Whether some declared (or seen) class has a feature of zero variance, or no weight at all.
fn has_zero_variance(classes: &[i64], stats: &ClassStats) -> bool {
    classes.iter().any(|c| match stats.classes.get(c) {
        Some(m) if m.weight > 0.0 => m.m2.iter().any(|&v| v <= 0.0),
        _ => true,
    })
}

/// The variance floor used when `var_smoothing × max variance` is 0 and a variance is zero:
/// `max(var_smoothing, f64::EPSILON) × max(1, largest squared feature mean)`, the smoothing
/// sized from the data's scale instead of its (zero) variance, and at least the rounding level
/// of that scale. It keeps every log-likelihood finite, so probabilities are never NaN.
fn variance_floor(var_smoothing: f64, all: &Moments) -> f64 {
    let scale = all.mean.iter().fold(1.0f64, |a, m| a.max(m * m));
    var_smoothing.max(f64::EPSILON) * scale
}

impl GaussianNB {
    fn from_stats(
        params: GaussianNBValidParams,
        stats: ClassStats,
        batch_max_var: f64,
    ) -> Result<Self, GaussianNBError> {
        let classes: Vec<i64> = match &params.classes {
            Some(c) => {
                let mut c = c.clone();
                c.sort_unstable();
                c
            }
            None => {
                let c: Vec<i64> = stats.classes.keys().copied().collect();
                if c.len() < 2 {
                    return Err(GaussianNBError::TooFewClasses(c.len()));
                }
                c
            }
        };
        if let Some(p) = &params.priors {
            if p.len() != classes.len() {
                return Err(GaussianNBError::PriorsLength { priors: p.len(), classes: classes.len() });
            }
        }
        let (k, d) = (classes.len(), stats.n_features);
        let mut epsilon = params.var_smoothing * batch_max_var;
        if epsilon <= 0.0 && has_zero_variance(&classes, &stats) {
            // A class with a constant feature and no smoothing (all rows identical, or
            // `var_smoothing = 0`) would divide by a zero variance: NaN probabilities. Floor the
            // variances at the rounding level of the data's scale instead.
            epsilon = variance_floor(params.var_smoothing, &stats.all);
        }
        let empty = Moments { weight: 0.0, mean: vec![0.0; d], m2: vec![0.0; d] };
        let mut theta = Array2::zeros((k, d));
        let mut var = Array2::zeros((k, d));
        let mut class_count = Array1::zeros(k);
        for (i, c) in classes.iter().enumerate() {
            let m = stats.classes.get(c).unwrap_or(&empty);
            class_count[i] = m.weight;
            if m.weight > 0.0 {
                for j in 0..d {
                    theta[[i, j]] = m.mean[j];
                    var[[i, j]] = m.m2[j] / m.weight + epsilon;
                }
            } else {
                var.row_mut(i).fill(epsilon);
            }
        }
        let total: f64 = class_count.sum();
        if total <= 0.0 {
            return Err(GaussianNBError::Ml(rask_ml::MlError::InvalidParameter {
                name: "weights",
                message: "the sample weights sum to zero".into(),
            }));
        }
        let class_prior = match &params.priors {
            Some(p) => Array1::from(p.clone()),
            None => class_count.mapv(|c| c / total),
        };
        Ok(GaussianNB { classes, class_count, class_prior, theta, var, epsilon, params, stats })
    }

    /// The number of features.
    pub fn n_features(&self) -> usize {
        self.theta.ncols()
    }

    /// The joint log-likelihood `log P(c) + log P(x | c)` of each row and class.
    pub fn joint_log_likelihood<F: Float>(&self, x: ArrayView2<'_, F>) -> Array2<f64> {
        let k = self.classes.len();
        let mut out = Array2::zeros((x.nrows(), k));
        let consts: Vec<f64> = (0..k)
            .map(|i| {
                let prior = self.class_prior[i].ln();
                prior - 0.5 * self.var.row(i).iter().map(|v| (2.0 * std::f64::consts::PI * v).ln()).sum::<f64>()
            })
            .collect();
        for (r, row) in x.rows().into_iter().enumerate() {
            for i in 0..k {
                let mut s = 0.0;
                for ((&xv, &m), &v) in row.iter().zip(self.theta.row(i)).zip(self.var.row(i)) {
                    let dlt = xv.widen() - m;
                    s += dlt * dlt / v;
                }
                out[[r, i]] = consts[i] - 0.5 * s;
            }
        }
        out
    }
}

impl<F: Float> Fit<ChunkedDataset<F, i64>> for GaussianNBParams {
    type Model = GaussianNB;
    type Error = GaussianNBError;

    fn fit(&self, data: &ChunkedDataset<F, i64>) -> Result<GaussianNB, GaussianNBError> {
        let params = self.check_ref()?.clone();
        let stats = batch_stats(&params, data)?;
        let max_var = stats.all.var().into_iter().fold(0.0, f64::max);
        GaussianNB::from_stats(params, stats, max_var)
    }
}

impl<F: Float> PartialFit<ChunkedDataset<F, i64>> for GaussianNBParams {
    type Model = GaussianNB;
    type Error = GaussianNBError;

    fn partial_fit(
        &self,
        model: Option<GaussianNB>,
        data: &ChunkedDataset<F, i64>,
    ) -> Result<GaussianNB, GaussianNBError> {
        let params = self.check_ref()?.clone();
        if params.classes.is_none() {
            return Err(GaussianNBError::PartialFitNeedsClasses);
        }
        let batch = batch_stats(&params, data)?;
        let max_var = batch.all.var().into_iter().fold(0.0, f64::max);
        let stats = match model {
            None => batch,
            Some(m) => {
                let mut declared = params.classes.clone().unwrap_or_default();
                declared.sort_unstable();
                if m.classes != declared {
                    return Err(GaussianNBError::Classes(m.classes.clone()));
                }
                if m.stats.n_features != batch.n_features {
                    return Err(GaussianNBError::FeatureMismatch {
                        expected: m.stats.n_features,
                        found: batch.n_features,
                    });
                }
                let mut s = m.stats;
                s.merge(&batch).map_err(|e| rask_ml::MlError::Graph(rask_core::Error::Scheduler(e.to_string())))?;
                s
            }
        };
        GaussianNB::from_stats(params, stats, max_var)
    }
}

impl BlockModel for GaussianNB {
    const APPLY_OP: &'static str = "rask.estimators.gaussian_nb.apply";
    const KIND: ModelKind = ModelKind::Classifier;
    type Label = i64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        use rask_ml::persist::{
            check_model_finite as finite, check_model_len as len, check_model_nonempty as nonempty,
            invalid_model as bad,
        };
        const M: &str = "GaussianNB";
        let k = self.classes.len();
        nonempty(M, "the number of classes", k)?;
        nonempty(M, "the number of features (columns of theta)", self.theta.ncols())?;
        len(M, "class_count", k, self.class_count.len())?;
        len(M, "class_prior", k, self.class_prior.len())?;
        len(M, "the rows of theta", k, self.theta.nrows())?;
        if self.var.dim() != self.theta.dim() {
            return Err(bad(M, format!("var is {:?}, theta {:?}", self.var.dim(), self.theta.dim())));
        }
        finite(M, "theta", self.theta.iter())?;
        finite(M, "var", self.var.iter())?;
        finite(M, "class_prior", self.class_prior.iter())?;
        if self.var.iter().any(|&v| v < 0.0) {
            return Err(bad(M, "var holds a negative variance"));
        }
        Ok(())
    }

    fn n_features_in(&self) -> usize {
        self.theta.ncols()
    }

    fn n_classes(&self) -> Option<usize> {
        Some(self.classes.len())
    }

    fn classes(&self) -> Option<Vec<i64>> {
        Some(self.classes.clone())
    }

    fn supports(&self, method: rask_ml::Method) -> bool {
        matches!(method, rask_ml::Method::Predict | rask_ml::Method::PredictProba)
    }

    fn predict_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array1<i64>> {
        rask_ml::check_rows(x, false)?;
        let jll = self.joint_log_likelihood(x);
        Ok(Array1::from_iter(jll.rows().into_iter().map(|r| {
            let best = r.iter().enumerate().fold((0, f64::NEG_INFINITY), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
            self.classes[best.0]
        })))
    }

    fn predict_proba_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<f64>> {
        rask_ml::check_rows(x, false)?;
        let mut jll = self.joint_log_likelihood(x);
        for mut r in jll.rows_mut() {
            // `exp(v − max) / Σ exp(v − max)`: the same as `exp(v − logsumexp)` to rounding, and
            // still summing to 1 where the log-likelihoods are so large that `max + ln Σ`
            // rounds back to `max`.
            let max = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            r.mapv_inplace(|v| (v - max).exp());
            let sum: f64 = r.sum();
            r.mapv_inplace(|v| v / sum);
        }
        Ok(jll)
    }
}

rask_ml::estimator!(GaussianNBParams => GaussianNB, name = "GaussianNB", ops = "rask.estimators.gaussian_nb", kind = Classifier, targets = labels, partial_fit = yes);
