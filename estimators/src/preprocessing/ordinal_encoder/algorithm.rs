use ndarray::{Array2, ArrayView2};
use rask_ml::{BlockModel, ChunkedDataset, Element, Fit, Float, MlError, ModelKind, ParamGuard};
use serde::{Deserialize, Serialize};

use super::errors::OrdinalEncoderError;
use super::params::{OrdinalEncoderParams, OrdinalEncoderValidParams, OrdinalUnknown};
use crate::preprocessing::no_weights;
use crate::preprocessing::quantile_sketch::{find_category as find, fit_categories, unknown_category as unknown_error};

/// A fitted ordinal encoder: `transform` replaces each value by the index of its category.
///
/// The categories are found by one tree reduction of exact per-column sets of distinct values
/// (memory: the number of distinct values per column).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrdinalEncoder {
    /// The sorted categories of each column.
    pub categories: Vec<Vec<f64>>,
    params: OrdinalEncoderValidParams,
}

impl OrdinalEncoder {
    /// The params the encoder was fitted with.
    pub fn params(&self) -> &OrdinalEncoderValidParams {
        &self.params
    }
}

impl<F: Float, Y: Element> Fit<ChunkedDataset<F, Y>> for OrdinalEncoderParams {
    type Model = OrdinalEncoder;
    type Error = OrdinalEncoderError;

    fn fit(&self, data: &ChunkedDataset<F, Y>) -> Result<OrdinalEncoder, OrdinalEncoderError> {
        let params = self.check_ref()?.clone();
        no_weights(data, "OrdinalEncoder")?;
        let categories = fit_categories(data.x(), "OrdinalEncoder", params.split_every)?;
        if let OrdinalUnknown::UseEncodedValue(v) = params.handle_unknown {
            let max_code = categories.iter().map(Vec::len).max().unwrap_or(0).saturating_sub(1);
            if v >= 0.0 && v <= max_code as f64 {
                return Err(OrdinalEncoderError::UnknownValueCollides { value: v, max_code });
            }
        }
        Ok(OrdinalEncoder { categories, params })
    }
}

impl BlockModel for OrdinalEncoder {
    const APPLY_OP: &'static str = "rask.estimators.ordinal_encoder.apply";
    const KIND: ModelKind = ModelKind::Transformer;
    type Label = f64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        use rask_ml::persist::check_model_nonempty as nonempty;
        const M: &str = "OrdinalEncoder";
        nonempty(M, "the number of features (categories)", self.categories.len())
    }

    /// NaN is a missing value here, as in scikit-learn.
    fn allows_nan(&self) -> bool {
        true
    }

    fn n_features_in(&self) -> usize {
        self.categories.len()
    }

    fn supports(&self, method: rask_ml::Method) -> bool {
        matches!(method, rask_ml::Method::Transform | rask_ml::Method::InverseTransform)
    }

    fn transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        let mut out = Array2::zeros(x.raw_dim());
        for ((i, j), &v) in x.indexed_iter() {
            let v = v.widen();
            out[[i, j]] = F::narrow(match (find(&self.categories[j], v), self.params.handle_unknown) {
                (Some(k), _) => k as f64,
                (None, OrdinalUnknown::UseEncodedValue(u)) => u,
                (None, OrdinalUnknown::Error) => return Err(unknown_error(j, v)),
            });
        }
        Ok(out)
    }

    /// Codes back to categories; the unknown code gives NaN.
    fn inverse_transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        let mut out = Array2::zeros(x.raw_dim());
        for ((i, j), &v) in x.indexed_iter() {
            let v = v.widen();
            let cats = &self.categories[j];
            out[[i, j]] = F::narrow(if v >= 0.0 && v.fract() == 0.0 && (v as usize) < cats.len() {
                cats[v as usize]
            } else if matches!(self.params.handle_unknown, OrdinalUnknown::UseEncodedValue(u) if u == v || (u.is_nan() && v.is_nan()))
            {
                f64::NAN
            } else {
                return Err(MlError::InvalidParameter {
                    name: "x",
                    message: format!("{v} in column {j} is not a code of this encoder"),
                });
            });
        }
        Ok(out)
    }
}

rask_ml::estimator!(OrdinalEncoderParams => OrdinalEncoder, name = "OrdinalEncoder", ops = "rask.estimators.ordinal_encoder", kind = Transformer, targets = any, partial_fit = no);
