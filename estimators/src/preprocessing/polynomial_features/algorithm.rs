use ndarray::{Array2, ArrayView2};
use rask_ml::{BlockModel, ChunkedDataset, Element, Fit, Float, MlError, ModelKind, ParamGuard};
use serde::{Deserialize, Serialize};

use super::errors::PolynomialFeaturesError;
use super::params::{PolynomialFeaturesParams, PolynomialFeaturesValidParams};

/// Fitted polynomial features. Fitting only records the number of input columns (no pass over
/// the data), so the output width is known from the params and the input width alone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolynomialFeatures {
    /// The input columns multiplied into each output column (empty: the bias).
    pub combinations: Vec<Vec<usize>>,
    /// The exponent of each input column in each output column, `n_out × n_in` (scikit-learn's
    /// `powers_`).
    pub powers: Array2<u32>,
    n_features_in: usize,
    params: PolynomialFeaturesValidParams,
}

impl PolynomialFeatures {
    /// The params.
    pub fn params(&self) -> &PolynomialFeaturesValidParams {
        &self.params
    }
}

impl<F: Float, Y: Element> Fit<ChunkedDataset<F, Y>> for PolynomialFeaturesParams {
    type Model = PolynomialFeatures;
    type Error = PolynomialFeaturesError;

    fn fit(&self, data: &ChunkedDataset<F, Y>) -> Result<PolynomialFeatures, PolynomialFeaturesError> {
        let params = self.check_ref()?.clone();
        let n = data.x().n_cols();
        let combinations = params.combinations(n);
        let mut powers = Array2::zeros((combinations.len(), n));
        for (o, c) in combinations.iter().enumerate() {
            for &i in c {
                powers[[o, i]] += 1;
            }
        }
        Ok(PolynomialFeatures { combinations, powers, n_features_in: n, params })
    }
}

impl BlockModel for PolynomialFeatures {
    const APPLY_OP: &'static str = "rask.estimators.polynomial_features.apply";
    const KIND: ModelKind = ModelKind::Transformer;
    type Label = f64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        use rask_ml::persist::{check_model_nonempty as nonempty, invalid_model as bad};
        const M: &str = "PolynomialFeatures";
        let d = self.n_features_in;
        nonempty(M, "n_features_in", d)?;
        if self.combinations.iter().flatten().any(|&j| j >= d) {
            return Err(bad(M, format!("a combination names a feature beyond the {d} inputs")));
        }
        if self.powers.dim() != (self.combinations.len(), d) {
            return Err(bad(
                M,
                format!("powers is {:?}, expected ({}, {d})", self.powers.dim(), self.combinations.len()),
            ));
        }
        Ok(())
    }

    fn n_features_in(&self) -> usize {
        self.n_features_in
    }

    fn n_features_out(&self) -> usize {
        self.combinations.len()
    }

    fn supports(&self, method: rask_ml::Method) -> bool {
        matches!(method, rask_ml::Method::Transform)
    }

    /// Products computed as scikit-learn computes them: a term `(a, rest…)` is the term of
    /// `rest` times column `a`, so the rounding matches too.
    fn transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        if let Some(j) = x.columns().into_iter().position(|c| c.iter().any(|v| !v.is_finite())) {
            return Err(MlError::NonFinite { what: format!("column {j} of x") });
        }
        let mut out = Array2::zeros((x.nrows(), self.combinations.len()));
        for (i, row) in x.rows().into_iter().enumerate() {
            for (o, c) in self.combinations.iter().enumerate() {
                out[[i, o]] = match c.split_last() {
                    None => F::one(),
                    Some((&last, rest)) => rest.iter().rev().fold(row[last], |acc, &a| acc * row[a]),
                };
            }
        }
        Ok(out)
    }
}

rask_ml::estimator!(PolynomialFeaturesParams => PolynomialFeatures, name = "PolynomialFeatures", ops = "rask.estimators.polynomial_features", kind = Transformer, targets = any, partial_fit = no);
