use rask_ml::params::{ParamType, ParamValue};
use serde::{Deserialize, Serialize};

use super::errors::OrdinalEncoderError;
use crate::by_name::set_params_by_hand;

/// What [`super::OrdinalEncoder`]'s `transform` does with a category it did not see when fitting
/// (scikit-learn's `handle_unknown` with `unknown_value`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum OrdinalUnknown {
    /// Fail (the default).
    Error,
    /// Code it with this value (an integer outside `0 .. k`, or NaN).
    UseEncodedValue(f64),
}

/// Validated [`OrdinalEncoderParams`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrdinalEncoderValidParams {
    pub(crate) handle_unknown: OrdinalUnknown,
    pub(crate) split_every: usize,
}

/// Hyperparameters of an [`super::OrdinalEncoder`], as scikit-learn's with `categories="auto"`:
/// the categories of each column are its sorted distinct values, and `handle_unknown` decides
/// what `transform` does with others. Missing values (NaN) are not categories here: they are
/// rejected when fitting, and treated as unknown by `transform`.
///
/// ```
/// use rask_estimators::preprocessing::OrdinalEncoderParams;
/// use rask_ml::{Fit, Transform, ndarray::array};
///
/// let x = array![[3.0, 10.0], [1.0, 20.0], [3.0, 20.0]];
/// let enc = OrdinalEncoderParams::new().fit(&x).unwrap();
/// assert_eq!(enc.transform(&x).unwrap(), array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]);
/// ```
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's: `handle_unknown`
/// (`"error"` or `"use_encoded_value"`), `unknown_value` (a number, or none for NaN, the
/// default; kept while `handle_unknown` is `"error"`), and `split_every`.
///
/// # Parallelism and cost
///
/// `fit` is one pass and one graph computation: per block the sorted distinct values of
/// every column, merged by a tree of fan-in `split_every` (exact, so memory grows with the
/// number of distinct values). `transform` is one task per block, a binary search per value.
///
/// # Compared with scikit-learn and dask-ml
///
/// - Numeric categories found from the data only (no given lists, no `encoded_missing_value`,
///   `min_frequency` or `max_categories`); NaN is never a category.
/// - dask-ml's `OrdinalEncoder` works on the categorical columns of DataFrames; here columns
///   are numeric.
///
/// Sample weights are refused (an error naming OrdinalEncoder): scikit-learn's `fit` takes no
/// `sample_weight`, and a fit that ignored them would not be the weighted fit asked for. Data
/// with 0 rows is refused too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrdinalEncoderParams(OrdinalEncoderValidParams, Option<f64>);

/// The choices of `handle_unknown` by name (the code is `unknown_value`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum UnknownName {
    Error,
    UseEncodedValue,
}

rask_ml::param_enum!(UnknownName { Error => "error", UseEncodedValue => "use_encoded_value" });

impl OrdinalEncoderParams {
    fn handle_unknown_by_name(&self) -> ParamValue {
        match self.0.handle_unknown {
            OrdinalUnknown::Error => UnknownName::Error,
            OrdinalUnknown::UseEncodedValue(_) => UnknownName::UseEncodedValue,
        }
        .to_param()
    }

    fn set_handle_unknown_by_name(&mut self, name: &str, value: &ParamValue) -> rask_ml::Result<()> {
        self.0.handle_unknown = match UnknownName::from_param(name, value)? {
            UnknownName::Error => OrdinalUnknown::Error,
            UnknownName::UseEncodedValue => OrdinalUnknown::UseEncodedValue(self.1.unwrap_or(f64::NAN)),
        };
        Ok(())
    }

    fn set_unknown_value_by_name(&mut self, name: &str, value: &ParamValue) -> rask_ml::Result<()> {
        self.1 = Option::<f64>::from_param(name, value)?.filter(|v| !v.is_nan());
        if let OrdinalUnknown::UseEncodedValue(_) = self.0.handle_unknown {
            self.0.handle_unknown = OrdinalUnknown::UseEncodedValue(self.1.unwrap_or(f64::NAN));
        }
        Ok(())
    }
}

set_params_by_hand!(OrdinalEncoderParams, |p, name, value| {
    "handle_unknown" => with (p.handle_unknown_by_name(), p.set_handle_unknown_by_name(name, value)),
    "unknown_value" => with (p.1.to_param(), p.set_unknown_value_by_name(name, value)),
    "split_every" => field (p.0.split_every),
});

rask_ml::params! {
    OrdinalEncoderParams(OrdinalEncoderValidParams) {
        /// The defaults: unknown categories are an error.
        new = OrdinalEncoderParams(
            OrdinalEncoderValidParams { handle_unknown: OrdinalUnknown::Error, split_every: 8 },
            None,
        );
        set {
            /// The fan-in of the category reduction (at least 2).
            split_every(n: usize);
        }
        get {
            /// What happens to unknown categories.
            handle_unknown: OrdinalUnknown;
        }
        check_ref(&self) -> OrdinalEncoderError {
            if let OrdinalUnknown::UseEncodedValue(v) = self.0.handle_unknown {
                if !(v.is_nan() || (v.is_finite() && v.fract() == 0.0)) {
                    return Err(OrdinalEncoderError::UnknownValue(v));
                }
            }
            if self.0.split_every < 2 {
                return Err(OrdinalEncoderError::SplitEvery(self.0.split_every));
            }
            Ok(&self.0)
        }
    }
}

impl OrdinalEncoderParams {
    /// What `transform` does with unknown categories.
    pub fn handle_unknown(mut self, h: OrdinalUnknown) -> Self {
        if let OrdinalUnknown::UseEncodedValue(v) = h {
            // None stands for NaN, so that equal params compare equal.
            self.1 = Some(v).filter(|v| !v.is_nan());
        }
        self.0.handle_unknown = h;
        self
    }
}
