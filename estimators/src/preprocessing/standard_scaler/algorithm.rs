use ndarray::{Array1, Array2, ArrayView2, Zip};
use rask_ml::chunked::ColumnStats;
use rask_ml::{
    BlockModel, ChunkedArray, ChunkedDataset, ChunkedVector, Element, Fit, Float, Lazy, MlError, ModelKind, ParamGuard,
    PartialFit,
};
use serde::{Deserialize, Serialize};

use super::errors::StandardScalerError;
use super::ops::{BlockWeightedMoments, MergeWeightedMoments, COUNT, M2, MAX, MEAN, MIN, NAN, WSUM};
use super::params::{StandardScalerParams, StandardScalerValidParams};
use crate::preprocessing::{check_stats, fit_stats, merge_into};

/// A fitted standard scaler: `transform` computes `(x − mean) / scale` per column.
///
/// `fit` honours the dataset's sample weights as scikit-learn's `sample_weight` does (weights
/// as frequencies): `mean` is the weighted mean and `var` the weighted population variance
/// `Σ w (x − mean)² / Σ w`, NaNs skipped; weights must be finite and non-negative, and each
/// column's non-NaN values must carry a positive total weight. `n_samples_seen` still counts
/// the non-NaN values (scikit-learn reports the weight sum). `partial_fit` refuses weights, and
/// refuses to continue a model fitted with them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StandardScaler {
    /// The per-column mean (NaNs ignored). It is computed even when `with_mean` is off, as in
    /// scikit-learn; `transform` then does not subtract it.
    pub mean: Array1<f64>,
    /// The per-column population variance (`ddof = 0`).
    pub var: Array1<f64>,
    /// The per-column divisor: the standard deviation, with 1 where it is zero (or where the
    /// scaler does not scale).
    pub scale: Array1<f64>,
    /// Non-NaN values seen per column.
    pub n_samples_seen: Array1<u64>,
    params: StandardScalerValidParams,
    stats: ColumnStats,
    /// Whether `fit` used sample weights (`stats` then holds weighted moments that
    /// `partial_fit` cannot merge).
    #[serde(default)]
    weighted: bool,
}

impl StandardScaler {
    fn from_stats(params: StandardScalerValidParams, stats: ColumnStats) -> Self {
        let n = stats.count.len();
        let mut var = Array1::zeros(n);
        for j in 0..n {
            var[j] = if stats.count[j] > 0 { stats.m2[j] / stats.count[j] as f64 } else { f64::NAN };
        }
        let scale = if params.with_std {
            // scikit-learn's `_is_constant_feature`: a variance within the rounding error of
            // its computation counts as zero, and a zero variance scales by 1.
            let eps = f64::EPSILON;
            Array1::from_iter((0..n).map(|j| {
                let (v, m, c) = (var[j], stats.mean[j], stats.count[j] as f64);
                let bound = c * eps * v + (c * m * eps).powi(2);
                if v.is_nan() {
                    f64::NAN
                } else if v <= bound {
                    1.0
                } else {
                    v.sqrt()
                }
            }))
        } else {
            Array1::ones(n)
        };
        StandardScaler {
            mean: Array1::from(stats.mean.clone()),
            var,
            scale,
            n_samples_seen: Array1::from(stats.count.clone()),
            params,
            stats,
            weighted: false,
        }
    }

    /// The params the scaler was fitted with.
    pub fn params(&self) -> &StandardScalerValidParams {
        &self.params
    }
}

impl<F: Float, Y: Element> Fit<ChunkedDataset<F, Y>> for StandardScalerParams {
    type Model = StandardScaler;
    type Error = StandardScalerError;

    fn fit(&self, data: &ChunkedDataset<F, Y>) -> Result<StandardScaler, StandardScalerError> {
        let params = self.check_ref()?.clone();
        match data.weights() {
            None => {
                let stats = fit_stats(data.x(), params.split_every, "StandardScaler")?;
                Ok(StandardScaler::from_stats(params, stats))
            }
            Some(w) => {
                let stats = weighted_stats(data.x(), w, params.split_every)?;
                let mut model = StandardScaler::from_stats(params, stats);
                model.weighted = true;
                Ok(model)
            }
        }
    }
}

impl<F: Float, Y: Element> PartialFit<ChunkedDataset<F, Y>> for StandardScalerParams {
    type Model = StandardScaler;
    type Error = StandardScalerError;

    fn partial_fit(
        &self,
        model: Option<StandardScaler>,
        data: &ChunkedDataset<F, Y>,
    ) -> Result<StandardScaler, StandardScalerError> {
        let params = self.check_ref()?.clone();
        if data.weights().is_some() || model.as_ref().is_some_and(|m| m.weighted) {
            return Err(MlError::Unsupported {
                what: "StandardScaler partial_fit with sample weights (fit honours them; partial_fit cannot merge \
                       weighted statistics)"
                    .into(),
            }
            .into());
        }
        let batch = fit_stats(data.x(), params.split_every, "StandardScaler")?;
        let stats = merge_into(model.map(|m| m.stats), batch, |expected, found| {
            StandardScalerError::FeatureMismatch { expected, found }
        })?;
        Ok(StandardScaler::from_stats(params, stats))
    }
}

/// Column statistics whose `mean` is the weighted mean and whose `m2 / count` is the weighted
/// population variance, for [`StandardScaler::from_stats`]; `count`, `min`, `max` and `nan` are
/// the unweighted ones.
fn weighted_stats<F: Float>(
    x: &ChunkedArray<F>,
    w: &ChunkedVector<f64>,
    split_every: usize,
) -> Result<ColumnStats, StandardScalerError> {
    x.check_aligned(w.chunks())?;
    let (layers, key) =
        x.block_layer().reduce(&[w.block_layer()], BlockWeightedMoments, MergeWeightedMoments, split_every)?;
    let m = Lazy::<Array2<f64>>::new(layers, key).compute()?;
    let d = m.ncols();
    let mut stats = ColumnStats::empty(d);
    for j in 0..d {
        stats.count[j] = m[[COUNT, j]] as u64;
        stats.min[j] = m[[MIN, j]];
        stats.max[j] = m[[MAX, j]];
        stats.nan[j] = m[[NAN, j]] > 0.0;
    }
    check_stats(&stats)?;
    x.check_value_limit(&stats.min, &stats.max)?;
    if stats.count[0] == 0 && !stats.nan[0] {
        return Err(MlError::EmptyInput { who: "StandardScaler".into() }.into());
    }
    for j in 0..d {
        let (c, wsum) = (stats.count[j] as f64, m[[WSUM, j]]);
        if stats.count[j] > 0 && wsum <= 0.0 {
            return Err(MlError::InvalidParameter {
                name: "sample weights",
                message: format!(
                    "the weights of the non-NaN values of column {j} sum to 0; StandardScaler cannot weigh them"
                ),
            }
            .into());
        }
        if stats.count[j] > 0 {
            stats.mean[j] = m[[MEAN, j]];
            stats.m2[j] = m[[M2, j]] / wsum * c;
            stats.sum[j] = m[[MEAN, j]] * c;
        }
    }
    Ok(stats)
}

impl BlockModel for StandardScaler {
    const APPLY_OP: &'static str = "rask.estimators.standard_scaler.apply";
    const KIND: ModelKind = ModelKind::Transformer;
    type Label = f64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        use rask_ml::persist::{
            check_model_finite as finite, check_model_len as len, check_model_nonempty as nonempty,
            invalid_model as bad,
        };
        const M: &str = "StandardScaler";
        let d = self.n_samples_seen.len();
        nonempty(M, "the number of features (length of n_samples_seen)", d)?;
        len(M, "mean", d, self.mean.len())?;
        len(M, "var", d, self.var.len())?;
        len(M, "scale", d, self.scale.len())?;
        len(M, "the column statistics", d, self.stats.count.len())?;
        for j in 0..d {
            // A column of only NaN has NaN statistics; the others must be usable.
            if self.n_samples_seen[j] > 0 {
                finite(M, "mean", [self.mean[j]].iter())?;
                if !(self.scale[j].is_finite() && self.scale[j] > 0.0) {
                    return Err(bad(M, format!("scale[{j}] is {}; scales are finite and positive", self.scale[j])));
                }
            }
        }
        Ok(())
    }

    /// NaN is a missing value here, as in scikit-learn.
    fn allows_nan(&self) -> bool {
        true
    }

    fn n_features_in(&self) -> usize {
        self.mean.len()
    }

    fn supports(&self, method: rask_ml::Method) -> bool {
        matches!(method, rask_ml::Method::Transform | rask_ml::Method::InverseTransform)
    }

    fn transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        let mut out = x.to_owned();
        let with_mean = self.params.with_mean;
        for mut row in out.rows_mut() {
            Zip::from(&mut row).and(&self.mean).and(&self.scale).for_each(|v, &m, &s| {
                let c = if with_mean { v.widen() - m } else { v.widen() };
                *v = F::narrow(c / s);
            });
        }
        Ok(out)
    }

    fn inverse_transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        let mut out = x.to_owned();
        let with_mean = self.params.with_mean;
        for mut row in out.rows_mut() {
            Zip::from(&mut row).and(&self.mean).and(&self.scale).for_each(|v, &m, &s| {
                let c = v.widen() * s;
                *v = F::narrow(if with_mean { c + m } else { c });
            });
        }
        Ok(out)
    }
}

rask_ml::estimator!(StandardScalerParams => StandardScaler, name = "StandardScaler", ops = "rask.estimators.standard_scaler", kind = Transformer, targets = any, partial_fit = yes);
