use serde::{Deserialize, Serialize};

use super::errors::QuantileTransformerError;

/// The distribution [`super::QuantileTransformer`] maps onto (scikit-learn's
/// `output_distribution`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputDistribution {
    /// Uniform on `[0, 1]` (the default).
    Uniform,
    /// Standard normal, clipped as scikit-learn clips it (to the quantiles of probability
    /// `1e-7 − ε` and `1 − (1e-7 − ε)`).
    Normal,
}

rask_ml::param_enum!(OutputDistribution { Uniform => "uniform", Normal => "normal" });

/// Validated [`QuantileTransformerParams`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantileTransformerValidParams {
    pub(crate) n_quantiles: usize,
    pub(crate) output_distribution: OutputDistribution,
    pub(crate) sketch_capacity: Option<usize>,
    pub(crate) split_every: usize,
}

/// Hyperparameters of a [`super::QuantileTransformer`], as scikit-learn's: `n_quantiles`
/// (default 1000, capped by the number of rows) and `output_distribution` (default uniform).
/// Every row is used: scikit-learn's `subsample` is not offered (Rask behaves as
/// `subsample=None`), nor is `ignore_implicit_zeros` (dense data only).
///
/// The quantiles come from the mergeable per-column summary of
/// [`crate::preprocessing::quantile_sketch`]: exact by default (memory: one entry per distinct
/// value per column), or a sketch of at most `sketch_capacity` values per column, whose rank
/// error bound is stated there and reported per column by the fitted transformer.
///
/// ```
/// use rask_estimators::preprocessing::QuantileTransformerParams;
/// use rask_ml::{Fit, Transform, ndarray::array};
///
/// let x = array![[0.0], [1.0], [2.0], [10.0], [20.0]];
/// let qt = QuantileTransformerParams::new().n_quantiles(5).fit(&x).unwrap();
/// assert_eq!(qt.transform(&x).unwrap().column(0).to_vec(), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
/// ```
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's: `n_quantiles`,
/// `output_distribution` (`"uniform"` or `"normal"`), and `sketch_capacity` (an integer, or none
/// for exact quantiles) and `split_every`.
///
/// # Algorithm
///
/// The `n_quantiles` evenly spaced quantiles of every column (the references), then
/// scikit-learn's transform: each value is interpolated between the references (the mean of
/// the forward and backward interpolations, so repeated values map to the middle of their
/// range), and mapped through the normal quantile function for a normal output.
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
/// - scikit-learn subsamples 10,000 rows by default (`subsample`); here every row is used
///   and the quantiles are exact unless `sketch_capacity` is set, so results match
///   scikit-learn's `subsample=None`. dask-ml's uses `da.percentile` per column,
///   approximate on data of several blocks. Sample weights are ignored.
///
/// Sample weights are refused (an error naming QuantileTransformer): scikit-learn's `fit` takes no
/// `sample_weight`, and a fit that ignored them would not be the weighted fit asked for. Data
/// with 0 rows is refused too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantileTransformerParams(QuantileTransformerValidParams);

rask_ml::impl_set_params!(QuantileTransformerParams, |p| {
    "n_quantiles" => p.0.n_quantiles,
    "output_distribution" => p.0.output_distribution,
    "sketch_capacity" => p.0.sketch_capacity,
    "split_every" => p.0.split_every,
});

rask_ml::params! {
    QuantileTransformerParams(QuantileTransformerValidParams) {
        /// The defaults: 1000 quantiles, uniform output, exact quantiles.
        new = QuantileTransformerParams(QuantileTransformerValidParams {
            n_quantiles: 1000,
            output_distribution: OutputDistribution::Uniform,
            sketch_capacity: None,
            split_every: 8,
        });
        set {
            /// The number of quantiles (landmarks of the distribution function).
            n_quantiles(n: usize);
            /// The output distribution.
            output_distribution(d: OutputDistribution);
            /// Approximate quantiles with a sketch of at most `capacity` values per column (`None`,
            /// the default: exact).
            sketch_capacity(capacity: Option<usize>);
            /// The fan-in of the summary reduction (at least 2).
            split_every(n: usize);
        }
        get {
            /// The number of quantiles asked for (capped by the number of rows when fitting).
            n_quantiles: usize;
            /// The output distribution.
            output_distribution: OutputDistribution;
            /// The most values the quantile sketch keeps per column (`None`: exact).
            sketch_capacity: Option<usize>;
        }
        check_ref(&self) -> QuantileTransformerError {
            if self.0.n_quantiles == 0 {
                return Err(QuantileTransformerError::NQuantiles(0));
            }
            if let Some(c) = self.0.sketch_capacity {
                if c < 2 {
                    return Err(QuantileTransformerError::SketchCapacity(c));
                }
            }
            if self.0.split_every < 2 {
                return Err(QuantileTransformerError::SplitEvery(self.0.split_every));
            }
            Ok(&self.0)
        }
    }
}
