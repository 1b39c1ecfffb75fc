use serde::{Deserialize, Serialize};

use super::errors::OneHotEncoderError;

/// What [`super::OneHotEncoder`]'s `transform` does with an unseen category (scikit-learn's
/// `handle_unknown`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OneHotUnknown {
    /// Fail (the default).
    Error,
    /// Encode it as all zeros in that column's indicators.
    Ignore,
}

rask_ml::param_enum!(OneHotUnknown { Error => "error", Ignore => "ignore" });

/// Which category's indicator is left out (scikit-learn's `drop`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OneHotDrop {
    /// Keep every indicator (the default).
    None,
    /// Drop the first category of every column.
    First,
    /// Drop the first category of columns with exactly two categories.
    IfBinary,
}

rask_ml::param_enum!(OneHotDrop { None => "none", First => "first", IfBinary => "if_binary" });

/// Validated [`OneHotEncoderParams`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneHotEncoderValidParams {
    pub(crate) handle_unknown: OneHotUnknown,
    pub(crate) drop: OneHotDrop,
    pub(crate) split_every: usize,
}

/// Hyperparameters of a [`super::OneHotEncoder`], as scikit-learn's with
/// `categories="auto"` and dense output: `handle_unknown` (error or ignore) and `drop` (none,
/// first, if_binary). The categories of a column are its sorted distinct values; NaN is not a
/// category (rejected when fitting, unknown when transforming). The output width is known once
/// fitted: the sum of the category counts, minus the dropped ones.
///
/// ```
/// use rask_estimators::preprocessing::OneHotEncoderParams;
/// use rask_ml::{Fit, Transform, ndarray::array};
///
/// let x = array![[3.0], [1.0], [3.0]];
/// let enc = OneHotEncoderParams::new().fit(&x).unwrap();
/// assert_eq!(enc.transform(&x).unwrap(), array![[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]);
/// ```
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's: `handle_unknown`
/// (`"error"` or `"ignore"`), `drop` (`"none"` (scikit-learn's `None`), `"first"` or
/// `"if_binary"`), and `split_every`.
///
/// # Parallelism and cost
///
/// `fit` is one pass and one graph computation: per block the sorted distinct values of
/// every column, merged by a tree of fan-in `split_every` (exact, so memory grows with the
/// number of distinct values). `transform` is one task per block writing `rows × width`
/// dense values.
///
/// # Compared with scikit-learn and dask-ml
///
/// - Categories are numbers found from the data (`categories="auto"`); the output is dense
///   (scikit-learn's default is sparse). `min_frequency`, `max_categories`,
///   `handle_unknown="infrequent_if_exist"` and given category lists are not offered.
/// - dask-ml's encoders work on the categorical columns of DataFrames (its `Categorizer`
///   and `DummyEncoder`); here columns are numeric.
///
/// Sample weights are refused (an error naming OneHotEncoder): scikit-learn's `fit` takes no
/// `sample_weight`, and a fit that ignored them would not be the weighted fit asked for. Data
/// with 0 rows is refused too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneHotEncoderParams(OneHotEncoderValidParams);

rask_ml::impl_set_params!(OneHotEncoderParams, |p| {
    "handle_unknown" => p.0.handle_unknown,
    "drop" => p.0.drop,
    "split_every" => p.0.split_every,
});

rask_ml::params! {
    OneHotEncoderParams(OneHotEncoderValidParams) {
        /// The defaults: unknown categories are an error, nothing dropped.
        new = OneHotEncoderParams(OneHotEncoderValidParams {
            handle_unknown: OneHotUnknown::Error,
            drop: OneHotDrop::None,
            split_every: 8,
        });
        set {
            /// What `transform` does with unknown categories.
            handle_unknown(h: OneHotUnknown);
            /// Which indicators to drop.
            drop(d: OneHotDrop);
            /// The fan-in of the category reduction (at least 2).
            split_every(n: usize);
        }
        get {
            /// What happens to unknown categories.
            handle_unknown: OneHotUnknown;
            /// Which indicators are dropped.
            drop: OneHotDrop;
        }
        check_ref(&self) -> OneHotEncoderError {
            if self.0.split_every < 2 {
                return Err(OneHotEncoderError::SplitEvery(self.0.split_every));
            }
            Ok(&self.0)
        }
    }
}
