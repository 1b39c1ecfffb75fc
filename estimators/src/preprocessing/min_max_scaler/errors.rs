use rask_ml::MlError;

/// What can go wrong when fitting a [`super::MinMaxScaler`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MinMaxScalerError {
    /// The feature range is empty, reversed or not finite.
    #[error("feature_range must be finite with min < max, got ({0}, {1})")]
    FeatureRange(f64, f64),
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
