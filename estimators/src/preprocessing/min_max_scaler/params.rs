use serde::{Deserialize, Serialize};

use super::errors::MinMaxScalerError;

/// Validated [`MinMaxScalerParams`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MinMaxScalerValidParams {
    pub(crate) feature_range: (f64, f64),
    pub(crate) clip: bool,
    pub(crate) split_every: usize,
}

/// Hyperparameters of a [`super::MinMaxScaler`], as scikit-learn's: the target
/// `feature_range` (default `(0, 1)`) and whether `transform` clips values outside the fitted
/// range (`clip`, default false).
///
/// ```
/// use rask_estimators::preprocessing::MinMaxScalerParams;
/// use rask_ml::{Fit, Transform, ndarray::array};
///
/// let x = array![[1.0, -1.0], [3.0, 1.0], [5.0, 3.0]];
/// let scaler = MinMaxScalerParams::new().fit(&x).unwrap();
/// assert_eq!(scaler.transform(&x).unwrap(), array![[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]]);
/// ```
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's: `clip`, and `split_every`.
/// Not settable by name: `feature_range` (a pair, which a parameter value cannot hold); give it
/// with [`feature_range`](Self::feature_range).
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
/// - As scikit-learn's (`feature_range`, `clip`, NaNs ignored). Sample weights are ignored.
/// - dask-ml's computes the same minima and maxima with dask reductions but has no
///   `partial_fit`.
///
/// Sample weights are refused (an error naming MinMaxScaler): scikit-learn's `fit` takes no
/// `sample_weight`, and a fit that ignored them would not be the weighted fit asked for. Data
/// with 0 rows is refused too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MinMaxScalerParams(MinMaxScalerValidParams);

rask_ml::impl_set_params!(MinMaxScalerParams, |p| {
    "clip" => p.0.clip,
    "split_every" => p.0.split_every,
});

rask_ml::params! {
    MinMaxScalerParams(MinMaxScalerValidParams) {
        /// The defaults: range `(0, 1)`, no clipping.
        new = MinMaxScalerParams(MinMaxScalerValidParams { feature_range: (0.0, 1.0), clip: false, split_every: 8 });
        set {
            /// The target range.
            feature_range(min: f64, max: f64) => feature_range = (min, max);
            /// Whether to clip transformed values to the range.
            clip(on: bool);
            /// The fan-in of the statistics reduction (at least 2).
            split_every(n: usize);
        }
        get {
            /// The target range.
            feature_range: (f64, f64);
            /// Whether `transform` clips to the range.
            clip: bool;
        }
        check_ref(&self) -> MinMaxScalerError {
            let (lo, hi) = self.0.feature_range;
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(MinMaxScalerError::FeatureRange(lo, hi));
            }
            if self.0.split_every < 2 {
                return Err(MinMaxScalerError::SplitEvery(self.0.split_every));
            }
            Ok(&self.0)
        }
    }
}
