use rask_ml::MlError;

/// What can go wrong when fitting a [`super::OneHotEncoder`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OneHotEncoderError {
    /// `split_every` is below 2.
    #[error("split_every must be at least 2, got {0}")]
    SplitEvery(usize),
    /// The data or the task graph failed.
    #[error(transparent)]
    Ml(#[from] MlError),
}
