use rask_ml::MlError;

/// What can go wrong when fitting a [`super::StandardScaler`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StandardScalerError {
    /// `split_every` is below 2.
    #[error("split_every must be at least 2, got {0}")]
    SplitEvery(usize),
    /// A batch for `partial_fit` has another number of columns than the model.
    #[error("the model was fitted on {expected} features, the batch has {found}")]
    FeatureMismatch {
        /// The model's features.
        expected: usize,
        /// The batch's.
        found: usize,
    },
    /// The data or the task graph failed.
    #[error(transparent)]
    Ml(#[from] MlError),
}
