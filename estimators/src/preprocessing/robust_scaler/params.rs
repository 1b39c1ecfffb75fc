use rask_ml::ParamGuard;
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

impl RobustScalerValidParams {
    /// Whether `transform` subtracts the median.
    pub fn with_centering(&self) -> bool {
        self.with_centering
    }
    /// Whether `transform` divides by the interquantile range.
    pub fn with_scaling(&self) -> bool {
        self.with_scaling
    }
    /// The quantiles (in percent) whose difference is the scale.
    pub fn quantile_range(&self) -> (f64, f64) {
        self.quantile_range
    }
    /// The most values the quantile sketch keeps per column (`None`: exact).
    pub fn sketch_capacity(&self) -> Option<usize> {
        self.sketch_capacity
    }
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RobustScalerParams(RobustScalerValidParams);

rask_ml::impl_set_params!(RobustScalerParams, |p| {
    "with_centering" => p.0.with_centering,
    "with_scaling" => p.0.with_scaling,
    "sketch_capacity" => p.0.sketch_capacity,
    "split_every" => p.0.split_every,
});

impl Default for RobustScalerParams {
    fn default() -> Self {
        Self::new()
    }
}

impl RobustScalerParams {
    /// The defaults: centre, scale by the interquartile range, exact quantiles.
    pub fn new() -> Self {
        RobustScalerParams(RobustScalerValidParams {
            with_centering: true,
            with_scaling: true,
            quantile_range: (25.0, 75.0),
            sketch_capacity: None,
            split_every: 8,
        })
    }
    /// Whether to subtract the median.
    pub fn with_centering(mut self, on: bool) -> Self {
        self.0.with_centering = on;
        self
    }
    /// Whether to divide by the interquantile range.
    pub fn with_scaling(mut self, on: bool) -> Self {
        self.0.with_scaling = on;
        self
    }
    /// The quantiles in percent, `0 ≤ low ≤ high ≤ 100`.
    pub fn quantile_range(mut self, low: f64, high: f64) -> Self {
        self.0.quantile_range = (low, high);
        self
    }
    /// Approximate quantiles with a sketch of at most `capacity` values per column (`None`,
    /// the default: exact).
    pub fn sketch_capacity(mut self, capacity: Option<usize>) -> Self {
        self.0.sketch_capacity = capacity;
        self
    }
    /// The fan-in of the summary reduction (at least 2).
    pub fn split_every(mut self, n: usize) -> Self {
        self.0.split_every = n;
        self
    }
}

impl ParamGuard for RobustScalerParams {
    type Checked = RobustScalerValidParams;
    type Error = RobustScalerError;

    fn check_ref(&self) -> Result<&Self::Checked, Self::Error> {
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

    fn check(self) -> Result<Self::Checked, Self::Error> {
        self.check_ref()?;
        Ok(self.0)
    }
}
