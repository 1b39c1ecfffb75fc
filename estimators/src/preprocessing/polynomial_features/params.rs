use serde::{Deserialize, Serialize};

use super::errors::PolynomialFeaturesError;

/// Validated [`PolynomialFeaturesParams`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolynomialFeaturesValidParams {
    pub(crate) degree: usize,
    pub(crate) interaction_only: bool,
    pub(crate) include_bias: bool,
}

impl PolynomialFeaturesValidParams {
    /// The input column indices multiplied into each output column, in scikit-learn's order:
    /// the bias (no index), then each degree from 1 up, its index tuples in lexicographic order
    /// (with repetition unless `interaction_only`).
    pub fn combinations(&self, n_features_in: usize) -> Vec<Vec<usize>> {
        fn extend(out: &mut Vec<Vec<usize>>, prefix: &mut Vec<usize>, start: usize, left: usize, n: usize, rep: bool) {
            if left == 0 {
                out.push(prefix.clone());
                return;
            }
            for i in start..n {
                prefix.push(i);
                extend(out, prefix, if rep { i } else { i + 1 }, left - 1, n, rep);
                prefix.pop();
            }
        }
        let mut out = Vec::new();
        if self.include_bias {
            out.push(Vec::new());
        }
        for d in 1..=self.degree {
            extend(&mut out, &mut Vec::with_capacity(d), 0, d, n_features_in, !self.interaction_only);
        }
        out
    }
    /// The number of output columns for `n_features_in` input columns.
    pub fn n_features_out(&self, n_features_in: usize) -> usize {
        // Σ over degrees of C(n + d − 1, d) (with repetition) or C(n, d), plus the bias.
        let mut total = usize::from(self.include_bias);
        for d in 1..=self.degree {
            let (top, k) = if self.interaction_only { (n_features_in, d) } else { (n_features_in + d - 1, d) };
            if k > top {
                continue;
            }
            let mut c: u128 = 1;
            for i in 0..k {
                c = c * (top - i) as u128 / (i + 1) as u128;
            }
            total += c as usize;
        }
        total
    }
}

/// Hyperparameters of [`super::PolynomialFeatures`], as scikit-learn's: `degree` (default 2;
/// scikit-learn's `(min_degree, max_degree)` form is not offered), `interaction_only` (default
/// false) and `include_bias` (default true).
///
/// ```
/// use rask_estimators::preprocessing::PolynomialFeaturesParams;
/// use rask_ml::{Fit, Transform, ndarray::array};
///
/// let x = array![[2.0, 3.0]];
/// let poly = PolynomialFeaturesParams::new().fit(&x).unwrap();
/// assert_eq!(poly.transform(&x).unwrap(), array![[1.0, 2.0, 3.0, 4.0, 6.0, 9.0]]);
/// ```
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's: `degree`,
/// `interaction_only` and `include_bias`.
///
/// # Algorithm, parallelism and cost
///
/// `fit` reads no data: it records the column count and lists the monomials in
/// scikit-learn's order, so sample weights (and targets) have no effect on it: the fit is the
/// same with or without them, as repeating rows would leave it unchanged. `transform` is one task per block computing every monomial as
/// scikit-learn does (so the rounding matches): `O(rows · n_output_features · degree)`
/// flops and `rows × n_output_features` values out per block (the output width grows as
/// `C(d + degree, degree)`).
///
/// # Compared with scikit-learn and dask-ml
///
/// No `(min_degree, max_degree)` degree and no `order`; NaN and infinite inputs are refused
/// by `transform`. dask-ml's version applies scikit-learn's block by block, as here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolynomialFeaturesParams(PolynomialFeaturesValidParams);

rask_ml::impl_set_params!(PolynomialFeaturesParams, |p| {
    "degree" => p.0.degree,
    "interaction_only" => p.0.interaction_only,
    "include_bias" => p.0.include_bias,
});

rask_ml::params! {
    PolynomialFeaturesParams(PolynomialFeaturesValidParams) {
        /// The defaults: degree 2, all products, with the bias column.
        new = PolynomialFeaturesParams(PolynomialFeaturesValidParams {
            degree: 2,
            interaction_only: false,
            include_bias: true,
        });
        set {
            /// The largest degree.
            degree(d: usize);
            /// Only products of distinct columns (no powers).
            interaction_only(on: bool);
            /// Whether to output the constant column first.
            include_bias(on: bool);
        }
        get {
            /// The largest degree.
            degree: usize;
            /// Whether only products of distinct columns are output.
            interaction_only: bool;
            /// Whether the first output column is the constant 1.
            include_bias: bool;
        }
        check_ref(&self) -> PolynomialFeaturesError {
            if self.0.degree == 0 && !self.0.include_bias {
                return Err(PolynomialFeaturesError::EmptyOutput);
            }
            Ok(&self.0)
        }
    }
}
