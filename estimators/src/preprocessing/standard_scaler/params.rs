use serde::{Deserialize, Serialize};

use super::errors::StandardScalerError;

/// Validated [`StandardScalerParams`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StandardScalerValidParams {
    pub(crate) with_mean: bool,
    pub(crate) with_std: bool,
    pub(crate) split_every: usize,
}

/// Hyperparameters of a [`super::StandardScaler`], as scikit-learn's: centre (`with_mean`,
/// default true) and scale to unit variance (`with_std`, default true; the population
/// variance, `ddof = 0`).
///
/// ```
/// use rask_estimators::preprocessing::StandardScalerParams;
/// use rask_ml::{Fit, Transform, ndarray::array};
///
/// let x = array![[1.0, 10.0], [3.0, 10.0]];
/// let scaler = StandardScalerParams::new().fit(&x).unwrap();
/// assert_eq!(scaler.mean.to_vec(), vec![2.0, 10.0]);
/// // A constant column keeps scale 1, as in scikit-learn.
/// assert_eq!(scaler.transform(&x).unwrap(), array![[-1.0, 0.0], [1.0, 0.0]]);
/// ```
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's: `with_mean`, `with_std`,
/// and `split_every`.
///
/// # Algorithm and cost
///
/// `fit` is one pass and one graph computation: per block, each column's count, mean, sum of
/// squared deviations, min and max with NaNs left out (`O(rows·d)`, a few `d`-vectors sent),
/// merged by a tree of fan-in `split_every` with Chan et al.'s update; `partial_fit` merges a
/// batch's statistics into the model's. `transform` is one task per block, `O(rows·d)`.
///
/// # Compared with scikit-learn and dask-ml
///
/// - As scikit-learn's (`ddof = 0`, constant columns keep scale 1, NaNs ignored), except that
///   sample weights are ignored (scikit-learn's `fit` takes `sample_weight`); `copy` has no
///   counterpart.
/// - dask-ml's computes the same mean and variance with dask reductions but has no
///   `partial_fit`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StandardScalerParams(StandardScalerValidParams);

rask_ml::impl_set_params!(StandardScalerParams, |p| {
    "with_mean" => p.0.with_mean,
    "with_std" => p.0.with_std,
    "split_every" => p.0.split_every,
});

rask_ml::params! {
    StandardScalerParams(StandardScalerValidParams) {
        /// The defaults: centre and scale.
        new = StandardScalerParams(StandardScalerValidParams { with_mean: true, with_std: true, split_every: 8 });
        set {
            /// Whether to subtract the mean.
            with_mean(on: bool);
            /// Whether to divide by the standard deviation.
            with_std(on: bool);
            /// The fan-in of the statistics reduction (at least 2).
            split_every(n: usize);
        }
        get {
            /// Whether `transform` subtracts the mean.
            with_mean: bool;
            /// Whether `transform` divides by the standard deviation.
            with_std: bool;
            /// The fan-in of the statistics reduction.
            split_every: usize;
        }
        check_ref(&self) -> StandardScalerError {
            if self.0.split_every < 2 {
                return Err(StandardScalerError::SplitEvery(self.0.split_every));
            }
            Ok(&self.0)
        }
    }
}
