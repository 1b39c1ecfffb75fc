use serde::{Deserialize, Serialize};

use super::errors::RobustScalerError;

/// Validated [`RobustScalerParams`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RobustScalerValidParams {
    pub(crate) with_centering: bool,
    pub(crate) with_scaling: bool,
    pub(crate) quantile_range: (f64, f64),
    pub(crate) sketch_capacity: Option<usize>,
    pub(crate) split_every: usize,
}

/// Hyperparameters of a [`super::RobustScaler`], as scikit-learn's: `with_centering` (default
/// true), `with_scaling` (default true) and `quantile_range` (default `(25, 75)`, in percent).
/// scikit-learn's `unit_variance` is not offered.
///
/// The median and quantiles come from the mergeable per-column summary of
/// [`crate::preprocessing::quantile_sketch`]: exact by default (memory: one entry per distinct
/// value per column), or a sketch of at most `sketch_capacity` values per column, whose rank
/// error bound is stated there and reported per column by the fitted scaler.
///
/// ```
/// use rask_estimators::preprocessing::RobustScalerParams;
/// use rask_ml::{Fit, Transform, ndarray::array};
///
/// let x = array![[1.0], [2.0], [3.0], [4.0], [100.0]];
/// let scaler = RobustScalerParams::new().fit(&x).unwrap();
/// assert_eq!((scaler.center.as_ref().unwrap()[0], scaler.scale.as_ref().unwrap()[0]), (3.0, 2.0));
/// assert_eq!(scaler.transform(&x).unwrap()[[4, 0]], 48.5);
/// ```
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's: `with_centering`,
/// `with_scaling`, and `sketch_capacity` (an integer, or none for exact quantiles) and
/// `split_every`. Not settable by name: `quantile_range` (a pair, which a parameter value
/// cannot hold); give it with [`quantile_range`](Self::quantile_range).
///
/// # Algorithm
///
/// The per-column median and the two quantiles of `quantile_range`, interpolated linearly
/// between order statistics as numpy's percentiles; NaNs are ignored when fitting and kept by
/// `transform`. A range below `10 ε` scales by 1 (scikit-learn's `_handle_zeros_in_scale`).
///
/// # Parallelism and cost
///
/// `fit` is one pass and one graph computation: per block, a summary of every column
/// (`O(rows·log rows)` per column for the sort), merged by a tree of fan-in `split_every`
/// ([`quantile_sketch`](crate::preprocessing::quantile_sketch)). Exact summaries send every
/// distinct value with its rank bounds, so the root of the tree holds about 40 bytes per
/// distinct value and column; with `sketch_capacity = c` every summary is at most `c` values
/// per column. `transform` is one task per block.
///
/// # Compared with scikit-learn and dask-ml
///
/// - Exact by default, like scikit-learn's; dask-ml's uses `da.percentile`, which is
///   approximate on data of several blocks. `unit_variance` is not offered; sample weights
///   are ignored.
///
/// Sample weights are refused (an error naming RobustScaler): scikit-learn's `fit` takes no
/// `sample_weight`, and a fit that ignored them would not be the weighted fit asked for. Data
/// with 0 rows is refused too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RobustScalerParams(RobustScalerValidParams);

rask_ml::impl_set_params!(RobustScalerParams, |p| {
    "with_centering" => p.0.with_centering,
    "with_scaling" => p.0.with_scaling,
    "sketch_capacity" => p.0.sketch_capacity,
    "split_every" => p.0.split_every,
});

rask_ml::params! {
    RobustScalerParams(RobustScalerValidParams) {
        /// The defaults: centre, scale by the interquartile range, exact quantiles.
        new = RobustScalerParams(RobustScalerValidParams {
            with_centering: true,
            with_scaling: true,
            quantile_range: (25.0, 75.0),
            sketch_capacity: None,
            split_every: 8,
        });
        set {
            /// Whether to subtract the median.
            with_centering(on: bool);
            /// Whether to divide by the interquantile range.
            with_scaling(on: bool);
            /// The quantiles in percent, `0 ≤ low ≤ high ≤ 100`.
            quantile_range(low: f64, high: f64) => quantile_range = (low, high);
            /// Approximate quantiles with a sketch of at most `capacity` values per column (`None`,
            /// the default: exact).
            sketch_capacity(capacity: Option<usize>);
            /// The fan-in of the summary reduction (at least 2).
            split_every(n: usize);
        }
        get {
            /// Whether `transform` subtracts the median.
            with_centering: bool;
            /// Whether `transform` divides by the interquantile range.
            with_scaling: bool;
            /// The quantiles (in percent) whose difference is the scale.
            quantile_range: (f64, f64);
            /// The most values the quantile sketch keeps per column (`None`: exact).
            sketch_capacity: Option<usize>;
        }
        check_ref(&self) -> RobustScalerError {
            let (lo, hi) = self.0.quantile_range;
            if !(0.0 <= lo && lo <= hi && hi <= 100.0) {
                return Err(RobustScalerError::QuantileRange(lo, hi));
            }
            if let Some(c) = self.0.sketch_capacity {
                if c < 2 {
                    return Err(RobustScalerError::SketchCapacity(c));
                }
            }
            if self.0.split_every < 2 {
                return Err(RobustScalerError::SplitEvery(self.0.split_every));
            }
            Ok(&self.0)
        }
    }
}
