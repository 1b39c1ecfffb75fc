use rask_ml::MlError;

/// What can go wrong when fitting or applying a [`super::LabelEncoder`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabelEncoderError {
    /// `split_every` is below 2.
    #[error("split_every must be at least 2, got {0}")]
    SplitEvery(usize),
    /// There are no labels to fit.
    #[error("cannot fit a LabelEncoder on no labels")]
    Empty,
    /// Labels that were not seen when fitting (as scikit-learn's message).
    #[error("y contains previously unseen labels: {0:?}")]
    UnseenLabels(Vec<i64>),
    /// Codes outside `0 .. k` given to `inverse_transform`.
    #[error("y contains codes outside 0..{n_classes}: {codes:?}")]
    InvalidCodes {
        /// The offending codes.
        codes: Vec<i64>,
        /// The number of classes.
        n_classes: usize,
    },
    /// The data or the task graph failed.
    #[error(transparent)]
    Ml(#[from] MlError),
}
