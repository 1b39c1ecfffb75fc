use ndarray::{Array1, Array2, ArrayView2, Zip};
use rask_ml::chunked::ColumnStats;
use rask_ml::{BlockModel, ChunkedDataset, Element, Fit, Float, ModelKind, ParamGuard, PartialFit};
use serde::{Deserialize, Serialize};

use super::errors::MinMaxScalerError;
use super::params::{MinMaxScalerParams, MinMaxScalerValidParams};
use crate::preprocessing::no_weights;
use crate::preprocessing::{fit_stats, merge_into};

/// A fitted min-max scaler: `transform` computes `x · scale + min` per column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MinMaxScaler {
    /// Per-column minimum seen (NaNs ignored).
    pub data_min: Array1<f64>,
    /// Per-column maximum seen.
    pub data_max: Array1<f64>,
    /// `data_max − data_min`.
    pub data_range: Array1<f64>,
    /// Per-column factor: `(range max − range min) / data_range`, with a data range below
    /// `10 ε` counted as 1 (scikit-learn's convention, so constant columns map to the range minimum).
    pub scale: Array1<f64>,
    /// Per-column offset: `range min − data_min · scale`.
    pub min: Array1<f64>,
    /// Non-NaN values seen per column.
    pub n_samples_seen: Array1<u64>,
    params: MinMaxScalerValidParams,
    stats: ColumnStats,
}

impl MinMaxScaler {
    fn from_stats(params: MinMaxScalerValidParams, stats: ColumnStats) -> Self {
        let (lo, hi) = params.feature_range;
        let nan_if_empty = |v: &[f64]| -> Array1<f64> {
            Array1::from_iter(v.iter().zip(&stats.count).map(|(&x, &c)| if c > 0 { x } else { f64::NAN }))
        };
        let data_min = nan_if_empty(&stats.min);
        let data_max = nan_if_empty(&stats.max);
        let data_range = &data_max - &data_min;
        // scikit-learn's `_handle_zeros_in_scale`: a range within rounding of zero counts as zero.
        let scale = data_range.mapv(|r| (hi - lo) / if r < 10.0 * f64::EPSILON { 1.0 } else { r });
        let min = Array1::from_iter(data_min.iter().zip(&scale).map(|(&m, &s)| lo - m * s));
        MinMaxScaler {
            data_min,
            data_max,
            data_range,
            scale,
            min,
            n_samples_seen: Array1::from(stats.count.clone()),
            params,
            stats,
        }
    }

    /// The params the scaler was fitted with.
    pub fn params(&self) -> &MinMaxScalerValidParams {
        &self.params
    }
}

impl<F: Float, Y: Element> Fit<ChunkedDataset<F, Y>> for MinMaxScalerParams {
    type Model = MinMaxScaler;
    type Error = MinMaxScalerError;

    fn fit(&self, data: &ChunkedDataset<F, Y>) -> Result<MinMaxScaler, MinMaxScalerError> {
        let params = self.check_ref()?.clone();
        no_weights(data, "MinMaxScaler")?;
        let stats = fit_stats(data.x(), params.split_every, "MinMaxScaler")?;
        Ok(MinMaxScaler::from_stats(params, stats))
    }
}

impl<F: Float, Y: Element> PartialFit<ChunkedDataset<F, Y>> for MinMaxScalerParams {
    type Model = MinMaxScaler;
    type Error = MinMaxScalerError;

    fn partial_fit(
        &self,
        model: Option<MinMaxScaler>,
        data: &ChunkedDataset<F, Y>,
    ) -> Result<MinMaxScaler, MinMaxScalerError> {
        let params = self.check_ref()?.clone();
        no_weights(data, "MinMaxScaler")?;
        let batch = fit_stats(data.x(), params.split_every, "MinMaxScaler")?;
        let stats = merge_into(model.map(|m| m.stats), batch, |expected, found| MinMaxScalerError::FeatureMismatch {
            expected,
            found,
        })?;
        Ok(MinMaxScaler::from_stats(params, stats))
    }
}

impl BlockModel for MinMaxScaler {
    const APPLY_OP: &'static str = "rask.estimators.min_max_scaler.apply";
    const KIND: ModelKind = ModelKind::Transformer;
    type Label = f64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        use rask_ml::persist::{check_model_len as len, check_model_nonempty as nonempty, invalid_model as bad};
        const M: &str = "MinMaxScaler";
        let d = self.scale.len();
        nonempty(M, "the number of features (length of scale)", d)?;
        for (what, n) in [
            ("data_min", self.data_min.len()),
            ("data_max", self.data_max.len()),
            ("data_range", self.data_range.len()),
            ("min", self.min.len()),
            ("n_samples_seen", self.n_samples_seen.len()),
            ("the column statistics", self.stats.count.len()),
        ] {
            len(M, what, d, n)?;
        }
        for j in 0..d {
            if self.n_samples_seen[j] > 0 && !(self.scale[j].is_finite() && self.min[j].is_finite()) {
                return Err(bad(M, format!("scale[{j}] or min[{j}] is not finite")));
            }
        }
        Ok(())
    }

    /// NaN is a missing value here, as in scikit-learn.
    fn allows_nan(&self) -> bool {
        true
    }

    fn n_features_in(&self) -> usize {
        self.scale.len()
    }

    fn supports(&self, method: rask_ml::Method) -> bool {
        matches!(method, rask_ml::Method::Transform | rask_ml::Method::InverseTransform)
    }

    fn transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        let mut out = x.to_owned();
        let (lo, hi) = self.params.feature_range;
        let clip = self.params.clip;
        for mut row in out.rows_mut() {
            Zip::from(&mut row).and(&self.scale).and(&self.min).for_each(|v, &s, &m| {
                let t = v.widen() * s + m;
                *v = F::narrow(if clip && !t.is_nan() { t.clamp(lo, hi) } else { t });
            });
        }
        Ok(out)
    }

    fn inverse_transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        let mut out = x.to_owned();
        for mut row in out.rows_mut() {
            Zip::from(&mut row).and(&self.scale).and(&self.min).for_each(|v, &s, &m| {
                *v = F::narrow((v.widen() - m) / s);
            });
        }
        Ok(out)
    }
}

rask_ml::estimator!(MinMaxScalerParams => MinMaxScaler, name = "MinMaxScaler", ops = "rask.estimators.min_max_scaler", kind = Transformer, targets = any, partial_fit = yes);
