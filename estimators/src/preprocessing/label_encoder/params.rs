use serde::{Deserialize, Serialize};

use super::errors::LabelEncoderError;

/// Validated [`LabelEncoderParams`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelEncoderValidParams {
    pub(crate) split_every: usize,
}

/// Hyperparameters of a [`super::LabelEncoder`]; scikit-learn's has none, this one has only the
/// fan-in of the reduction that finds the classes of a chunked vector.
///
/// ```
/// use rask_estimators::preprocessing::LabelEncoderParams;
/// use rask_ml::{Fit, ndarray::array};
///
/// let y = array![10i64, -3, 7, 10];
/// let enc = LabelEncoderParams::new().fit(&y).unwrap();
/// assert_eq!(enc.classes, vec![-3, 7, 10]);
/// assert_eq!(enc.transform(&y).unwrap(), array![2, 0, 1, 2]);
/// assert_eq!(enc.inverse_transform(&array![0, 2]).unwrap(), array![-3, 10]);
/// ```
///
/// # Algorithm, parallelism and cost
///
/// `fit` is one pass and one graph computation: per block the sorted distinct labels,
/// merged by a tree of fan-in `split_every` (the client receives the class list).
/// `transform` and `inverse_transform` are one task per block (a binary search per label);
/// an unseen label fails the computation.
///
/// # Compared with scikit-learn and dask-ml
///
/// Integer labels only (`i64`; no strings or floats); it is not a search or pipeline step,
/// since it encodes targets, not features.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelEncoderParams(LabelEncoderValidParams);

rask_ml::params! {
    LabelEncoderParams(LabelEncoderValidParams) {
        /// The defaults.
        new = LabelEncoderParams(LabelEncoderValidParams { split_every: 8 });
        set {
            /// The fan-in of the class reduction (at least 2).
            split_every(n: usize);
        }
        check_ref(&self) -> LabelEncoderError {
            if self.0.split_every < 2 {
                return Err(LabelEncoderError::SplitEvery(self.0.split_every));
            }
            Ok(&self.0)
        }
    }
}
