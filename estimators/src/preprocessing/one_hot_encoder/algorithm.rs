use ndarray::{Array2, ArrayView2};
use rask_ml::{BlockModel, ChunkedDataset, Element, Fit, Float, MlError, ModelKind, ParamGuard};
use serde::{Deserialize, Serialize};

use super::errors::OneHotEncoderError;
use super::params::{OneHotDrop, OneHotEncoderParams, OneHotEncoderValidParams, OneHotUnknown};
use crate::preprocessing::no_weights;
use crate::preprocessing::quantile_sketch::{find_category as find, fit_categories, unknown_category as unknown_error};

/// A fitted one-hot encoder: column `j` becomes one 0/1 indicator per category (minus the
/// dropped one), in category order, the columns one after the other.
///
/// The categories are found by one tree reduction of exact per-column sets of distinct values
/// (memory: the number of distinct values per column).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneHotEncoder {
    /// The sorted categories of each column.
    pub categories: Vec<Vec<f64>>,
    /// The index of the dropped category of each column, if any.
    pub drop_idx: Vec<Option<usize>>,
    /// The first output column of each input column.
    pub offsets: Vec<usize>,
    n_out: usize,
    params: OneHotEncoderValidParams,
}

impl OneHotEncoder {
    /// The params the encoder was fitted with.
    pub fn params(&self) -> &OneHotEncoderValidParams {
        &self.params
    }

    /// Output column names as scikit-learn's `get_feature_names_out()` with default input
    /// names: `x{column}_{category}`.
    pub fn feature_names(&self) -> Vec<String> {
        let mut names = Vec::with_capacity(self.n_out);
        for (j, cats) in self.categories.iter().enumerate() {
            for (k, c) in cats.iter().enumerate() {
                if self.drop_idx[j] != Some(k) {
                    names.push(format!("x{j}_{c:?}"));
                }
            }
        }
        names
    }
}

impl<F: Float, Y: Element> Fit<ChunkedDataset<F, Y>> for OneHotEncoderParams {
    type Model = OneHotEncoder;
    type Error = OneHotEncoderError;

    fn fit(&self, data: &ChunkedDataset<F, Y>) -> Result<OneHotEncoder, OneHotEncoderError> {
        let params = self.check_ref()?.clone();
        no_weights(data, "OneHotEncoder")?;
        let categories = fit_categories(data.x(), "OneHotEncoder", params.split_every)?;
        let drop_idx: Vec<Option<usize>> = categories
            .iter()
            .map(|c| match params.drop {
                OneHotDrop::None => None,
                // A column with no category (no rows at all) has nothing to drop.
                OneHotDrop::First => (!c.is_empty()).then_some(0),
                OneHotDrop::IfBinary => (c.len() == 2).then_some(0),
            })
            .collect();
        let mut offsets = Vec::with_capacity(categories.len());
        let mut n_out = 0;
        for (c, d) in categories.iter().zip(&drop_idx) {
            offsets.push(n_out);
            n_out += c.len() - usize::from(d.is_some());
        }
        Ok(OneHotEncoder { categories, drop_idx, offsets, n_out, params })
    }
}

impl BlockModel for OneHotEncoder {
    const APPLY_OP: &'static str = "rask.estimators.one_hot_encoder.apply";
    const KIND: ModelKind = ModelKind::Transformer;
    type Label = f64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        use rask_ml::persist::{check_model_len as len, check_model_nonempty as nonempty, invalid_model as bad};
        const M: &str = "OneHotEncoder";
        let d = self.categories.len();
        nonempty(M, "the number of features (categories)", d)?;
        len(M, "drop_idx", d, self.drop_idx.len())?;
        len(M, "offsets", d, self.offsets.len())?;
        let mut at = 0;
        for j in 0..d {
            let k = self.categories[j].len();
            if self.drop_idx[j].is_some_and(|i| i >= k) || self.offsets[j] != at {
                return Err(bad(M, format!("the categories, drop_idx and offsets of column {j} disagree")));
            }
            at += k - usize::from(self.drop_idx[j].is_some());
        }
        len(M, "the output (the sum of the category counts)", at, self.n_out)
    }

    /// NaN is a missing value here, as in scikit-learn.
    fn allows_nan(&self) -> bool {
        true
    }

    fn n_features_in(&self) -> usize {
        self.categories.len()
    }

    fn n_features_out(&self) -> usize {
        self.n_out
    }

    fn supports(&self, method: rask_ml::Method) -> bool {
        matches!(method, rask_ml::Method::Transform | rask_ml::Method::InverseTransform)
    }

    fn transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        let mut out = Array2::zeros((x.nrows(), self.n_out));
        for ((i, j), &v) in x.indexed_iter() {
            let v = v.widen();
            match find(&self.categories[j], v) {
                Some(k) => match self.drop_idx[j] {
                    Some(d) if d == k => {}
                    Some(d) => out[[i, self.offsets[j] + k - usize::from(k > d)]] = F::one(),
                    None => out[[i, self.offsets[j] + k]] = F::one(),
                },
                None if self.params.handle_unknown == OneHotUnknown::Ignore => {}
                None => return Err(unknown_error(j, v)),
            }
        }
        Ok(out)
    }

    /// Indicators back to categories: the largest indicator of each column wins; all zeros give
    /// the dropped category, or NaN (an unknown category) when none is dropped.
    fn inverse_transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        let mut out = Array2::zeros((x.nrows(), self.categories.len()));
        for (i, row) in x.rows().into_iter().enumerate() {
            for (j, cats) in self.categories.iter().enumerate() {
                let width = cats.len() - usize::from(self.drop_idx[j].is_some());
                let block = row.slice(ndarray::s![self.offsets[j]..self.offsets[j] + width]);
                let mut best: Option<(usize, f64)> = None;
                for (k, &v) in block.iter().enumerate() {
                    let v = v.widen();
                    if v.is_nan() {
                        return Err(MlError::NonFinite { what: "one-hot input".into() });
                    }
                    if v != 0.0 && best.is_none_or(|(_, b)| v > b) {
                        best = Some((k, v));
                    }
                }
                out[[i, j]] = F::narrow(match (best, self.drop_idx[j]) {
                    (Some((k, _)), Some(d)) => cats[if k >= d { k + 1 } else { k }],
                    (Some((k, _)), None) => cats[k],
                    (None, Some(d)) => cats[d],
                    (None, None) => f64::NAN,
                });
            }
        }
        Ok(out)
    }
}

rask_ml::estimator!(OneHotEncoderParams => OneHotEncoder, name = "OneHotEncoder", ops = "rask.estimators.one_hot_encoder", kind = Transformer, targets = any, partial_fit = no);
