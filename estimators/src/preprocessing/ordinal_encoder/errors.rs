use rask_ml::MlError;

/// What can go wrong when fitting an [`super::OrdinalEncoder`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OrdinalEncoderError {
    /// The code for unknown categories is neither an integer nor NaN.
    #[error("unknown_value must be an integer or NaN, got {0}")]
    UnknownValue(f64),
    /// The code for unknown categories is also the code of a seen category.
    #[error("unknown_value {value} is one of the codes already used for the seen categories (0 to {max_code})")]
    UnknownValueCollides {
        /// The code.
        value: f64,
        /// The largest code of a seen category.
        max_code: usize,
    },
    /// `split_every` is below 2.
    #[error("split_every must be at least 2, got {0}")]
    SplitEvery(usize),
    /// The data or the task graph failed.
    #[error(transparent)]
    Ml(#[from] MlError),
}
