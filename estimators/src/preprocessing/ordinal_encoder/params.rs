use rask_ml::ParamGuard;
use serde::{Deserialize, Serialize};

use super::errors::OrdinalEncoderError;

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

impl OrdinalEncoderValidParams {
    /// What happens to unknown categories.
    pub fn handle_unknown(&self) -> OrdinalUnknown {
        self.handle_unknown
    }
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrdinalEncoderParams(OrdinalEncoderValidParams);

impl Default for OrdinalEncoderParams {
    fn default() -> Self {
        Self::new()
    }
}

impl OrdinalEncoderParams {
    /// The defaults: unknown categories are an error.
    pub fn new() -> Self {
        OrdinalEncoderParams(OrdinalEncoderValidParams { handle_unknown: OrdinalUnknown::Error, split_every: 8 })
    }
    /// What `transform` does with unknown categories.
    pub fn handle_unknown(mut self, h: OrdinalUnknown) -> Self {
        self.0.handle_unknown = h;
        self
    }
    /// The fan-in of the category reduction (at least 2).
    pub fn split_every(mut self, n: usize) -> Self {
        self.0.split_every = n;
        self
    }
}

impl ParamGuard for OrdinalEncoderParams {
    type Checked = OrdinalEncoderValidParams;
    type Error = OrdinalEncoderError;

    fn check_ref(&self) -> Result<&Self::Checked, Self::Error> {
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

    fn check(self) -> Result<Self::Checked, Self::Error> {
        self.check_ref()?;
        Ok(self.0)
    }
}
