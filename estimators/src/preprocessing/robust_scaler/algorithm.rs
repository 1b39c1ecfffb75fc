use ndarray::{Array1, Array2, ArrayView2};
use rask_ml::{BlockModel, ChunkedDataset, Element, Fit, Float, ModelKind, ParamGuard};
use serde::{Deserialize, Serialize};

use super::errors::RobustScalerError;
use super::params::{RobustScalerParams, RobustScalerValidParams};
use crate::preprocessing::no_weights;
use crate::preprocessing::quantile_sketch::ops::sketch_columns;

/// A fitted robust scaler: `transform` computes `(x − center) / scale` per column (each part
/// only when enabled). NaNs are ignored when fitting and kept by `transform`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RobustScaler {
    /// The per-column median, when centring (NaN for a column without values).
    pub center: Option<Array1<f64>>,
    /// The per-column interquantile range, with 1 where it is (nearly) zero, when scaling.
    pub scale: Option<Array1<f64>>,
    /// The certified rank error of each column's quantiles (0: exact).
    pub rank_error: Vec<u64>,
    n_features: usize,
    params: RobustScalerValidParams,
}

impl RobustScaler {
    /// The params the scaler was fitted with.
    pub fn params(&self) -> &RobustScalerValidParams {
        &self.params
    }
}

impl<F: Float, Y: Element> Fit<ChunkedDataset<F, Y>> for RobustScalerParams {
    type Model = RobustScaler;
    type Error = RobustScalerError;

    fn fit(&self, data: &ChunkedDataset<F, Y>) -> Result<RobustScaler, RobustScalerError> {
        let params = self.check_ref()?.clone();
        no_weights(data, "RobustScaler")?;
        let s = sketch_columns(data.x(), params.sketch_capacity, true, "RobustScaler", params.split_every)?;
        let cols = &s.columns;
        let center = params.with_centering.then(|| Array1::from_iter(cols.iter().map(|c| c.median())));
        let (lo, hi) = params.quantile_range;
        let scale = params.with_scaling.then(|| {
            Array1::from_iter(cols.iter().map(|c| {
                let r = c.quantile(hi / 100.0) - c.quantile(lo / 100.0);
                // scikit-learn's `_handle_zeros_in_scale`: a range below 10 ε scales by 1.
                if r < 10.0 * f64::EPSILON {
                    1.0
                } else {
                    r
                }
            }))
        });
        let rank_error = cols.iter().map(|c| c.max_rank_error()).collect();
        Ok(RobustScaler { center, scale, rank_error, n_features: cols.len(), params })
    }
}

impl BlockModel for RobustScaler {
    const APPLY_OP: &'static str = "rask.estimators.robust_scaler.apply";
    const KIND: ModelKind = ModelKind::Transformer;
    type Label = f64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        use rask_ml::persist::{check_model_len as len, check_model_nonempty as nonempty};
        const M: &str = "RobustScaler";
        let d = self.n_features;
        nonempty(M, "n_features", d)?;
        if let Some(c) = &self.center {
            len(M, "center", d, c.len())?;
        }
        if let Some(s) = &self.scale {
            len(M, "scale", d, s.len())?;
        }
        Ok(())
    }

    /// NaN is a missing value here, as in scikit-learn.
    fn allows_nan(&self) -> bool {
        true
    }

    fn n_features_in(&self) -> usize {
        self.n_features
    }

    fn supports(&self, method: rask_ml::Method) -> bool {
        matches!(method, rask_ml::Method::Transform | rask_ml::Method::InverseTransform)
    }

    fn transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        let mut out = x.to_owned();
        for mut row in out.rows_mut() {
            for (j, v) in row.iter_mut().enumerate() {
                let mut t = v.widen();
                if let Some(c) = &self.center {
                    t -= c[j];
                }
                if let Some(s) = &self.scale {
                    t /= s[j];
                }
                *v = F::narrow(t);
            }
        }
        Ok(out)
    }

    fn inverse_transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        let mut out = x.to_owned();
        for mut row in out.rows_mut() {
            for (j, v) in row.iter_mut().enumerate() {
                let mut t = v.widen();
                if let Some(s) = &self.scale {
                    t *= s[j];
                }
                if let Some(c) = &self.center {
                    t += c[j];
                }
                *v = F::narrow(t);
            }
        }
        Ok(out)
    }
}

rask_ml::estimator!(RobustScalerParams => RobustScaler, name = "RobustScaler", ops = "rask.estimators.robust_scaler", kind = Transformer, targets = any, partial_fit = no);
