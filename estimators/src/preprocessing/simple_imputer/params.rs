use rask_ml::params::{ParamType, ParamValue};
use serde::{Deserialize, Serialize};

use super::errors::SimpleImputerError;
use crate::by_name::set_params_by_hand;

/// How a [`super::SimpleImputer`] fills missing values, as scikit-learn's `strategy`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ImputeStrategy {
    /// The mean of the column's non-missing values (one pass of mergeable moments).
    Mean,
    /// The median of the column's non-missing values, exact (see [`super::SimpleImputer`] for
    /// its memory cost).
    Median,
    /// The most frequent non-missing value, the smallest on ties (exact merged value counts).
    MostFrequent,
    /// A constant (scikit-learn's `strategy="constant"` with `fill_value`).
    Constant(f64),
}

/// Validated [`SimpleImputerParams`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimpleImputerValidParams {
    pub(crate) strategy: ImputeStrategy,
    pub(crate) keep_empty_features: bool,
    pub(crate) sketch_capacity: Option<usize>,
    pub(crate) split_every: usize,
}

/// Hyperparameters of a [`super::SimpleImputer`], as scikit-learn's with `missing_values=NaN`:
/// the `strategy` (default [`ImputeStrategy::Mean`]) and `keep_empty_features` (default false:
/// columns with no observed value are dropped by `transform`, except with the constant strategy;
/// when true they are kept and filled with 0, or with the constant). The median is exact by
/// default; `sketch_capacity` makes it approximate with bounded memory (the sketch and its rank
/// error bound are those of [`crate::preprocessing::quantile_sketch`]). The most frequent value
/// is always exact.
///
/// ```
/// use rask_estimators::preprocessing::{ImputeStrategy, SimpleImputerParams};
/// use rask_ml::{Fit, Transform, ndarray::array};
///
/// let x = array![[1.0, f64::NAN], [3.0, 4.0], [f64::NAN, 4.0], [8.0, 5.0]];
/// let imputer = SimpleImputerParams::new().strategy(ImputeStrategy::Median).fit(&x).unwrap();
/// assert_eq!(imputer.statistics.to_vec(), vec![3.0, 4.0]);
/// assert_eq!(imputer.transform(&x).unwrap()[[2, 0]], 3.0);
/// ```
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's: `strategy` (`"mean"`,
/// `"median"`, `"most_frequent"` or `"constant"`), `fill_value` (the constant, default 0 as
/// scikit-learn's for numbers; kept while another strategy is chosen), `keep_empty_features`,
/// and `sketch_capacity` (an integer, or none for exact statistics) and `split_every`.
///
/// # Algorithm and cost
///
/// `fit` is one pass and one graph computation, a tree of fan-in `split_every`: `Mean` and
/// `Constant` reduce the column statistics of the scalers (`O(rows·d)` per block, a few
/// `d`-vectors sent; `Constant` only checks the data and records its width); `Median` and
/// `MostFrequent` reduce the per-column summaries of
/// [`quantile_sketch`](crate::preprocessing::quantile_sketch) (exact: about 40 bytes per
/// distinct value and column at the root; `MostFrequent` is always exact). `transform`
/// is one task per block.
///
/// # Compared with scikit-learn and dask-ml
///
/// - Only `missing_values = NaN`; `add_indicator`, `copy` and string data are not offered;
///   ties of the most frequent value go to the smallest, as scikit-learn's. Sample weights
///   are ignored.
///
/// Sample weights are refused (an error naming SimpleImputer): scikit-learn's `fit` takes no
/// `sample_weight`, and a fit that ignored them would not be the weighted fit asked for. Data
/// with 0 rows is refused too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimpleImputerParams(SimpleImputerValidParams, f64);

/// The choices of `strategy` by name (the constant is `fill_value`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum StrategyName {
    Mean,
    Median,
    MostFrequent,
    Constant,
}

rask_ml::param_enum!(StrategyName {
    Mean => "mean",
    Median => "median",
    MostFrequent => "most_frequent",
    Constant => "constant",
});

impl SimpleImputerParams {
    fn strategy_by_name(&self) -> ParamValue {
        match self.0.strategy {
            ImputeStrategy::Mean => StrategyName::Mean,
            ImputeStrategy::Median => StrategyName::Median,
            ImputeStrategy::MostFrequent => StrategyName::MostFrequent,
            ImputeStrategy::Constant(_) => StrategyName::Constant,
        }
        .to_param()
    }

    fn set_strategy_by_name(&mut self, name: &str, value: &ParamValue) -> rask_ml::Result<()> {
        self.0.strategy = match StrategyName::from_param(name, value)? {
            StrategyName::Mean => ImputeStrategy::Mean,
            StrategyName::Median => ImputeStrategy::Median,
            StrategyName::MostFrequent => ImputeStrategy::MostFrequent,
            StrategyName::Constant => ImputeStrategy::Constant(self.1),
        };
        Ok(())
    }

    fn set_fill_value_by_name(&mut self, name: &str, value: &ParamValue) -> rask_ml::Result<()> {
        self.1 = f64::from_param(name, value)?;
        if let ImputeStrategy::Constant(_) = self.0.strategy {
            self.0.strategy = ImputeStrategy::Constant(self.1);
        }
        Ok(())
    }
}

set_params_by_hand!(SimpleImputerParams, |p, name, value| {
    "strategy" => with (p.strategy_by_name(), p.set_strategy_by_name(name, value)),
    "fill_value" => with (p.1.to_param(), p.set_fill_value_by_name(name, value)),
    "keep_empty_features" => field (p.0.keep_empty_features),
    "sketch_capacity" => field (p.0.sketch_capacity),
    "split_every" => field (p.0.split_every),
});

rask_ml::params! {
    SimpleImputerParams(SimpleImputerValidParams) {
        /// The defaults: the mean, empty columns dropped.
        new = SimpleImputerParams(
            SimpleImputerValidParams {
                strategy: ImputeStrategy::Mean,
                keep_empty_features: false,
                sketch_capacity: None,
                split_every: 8,
            },
            0.0,
        );
        set {
            /// Whether to keep columns with no observed value.
            keep_empty_features(on: bool);
            /// Approximate the median with a sketch of at most `capacity` values per column (`None`,
            /// the default: exact).
            sketch_capacity(capacity: Option<usize>);
            /// The fan-in of the statistics reduction (at least 2).
            split_every(n: usize);
        }
        get {
            /// The strategy.
            strategy: ImputeStrategy;
            /// Whether columns without any observed value are kept (filled with 0) or dropped.
            keep_empty_features: bool;
            /// The most values the median's quantile sketch keeps per column (`None`: exact).
            sketch_capacity: Option<usize>;
        }
        check_ref(&self) -> SimpleImputerError {
            if let ImputeStrategy::Constant(v) = self.0.strategy {
                if !v.is_finite() {
                    return Err(SimpleImputerError::FillValue(v));
                }
            }
            if let Some(c) = self.0.sketch_capacity {
                if c < 2 {
                    return Err(SimpleImputerError::SketchCapacity(c));
                }
            }
            if self.0.split_every < 2 {
                return Err(SimpleImputerError::SplitEvery(self.0.split_every));
            }
            Ok(&self.0)
        }
    }
}

impl SimpleImputerParams {
    /// The statistic that replaces missing values.
    pub fn strategy(mut self, strategy: ImputeStrategy) -> Self {
        if let ImputeStrategy::Constant(v) = strategy {
            self.1 = v;
        }
        self.0.strategy = strategy;
        self
    }
}
