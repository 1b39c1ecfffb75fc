use rask_ml::MlError;

/// What can go wrong when fitting a [`super::GaussianNB`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GaussianNBError {
    /// `var_smoothing` is negative or not finite.
    #[error("var_smoothing must be finite and non-negative, got {0}")]
    VarSmoothing(f64),
    /// The priors are negative, not finite or do not sum to 1.
    #[error("priors must be non-negative and sum to 1, got {0:?}")]
    Priors(Vec<f64>),
    /// The priors do not match the classes.
    #[error("{priors} priors given for {classes} classes")]
    PriorsLength {
        /// Priors given.
        priors: usize,
        /// Classes.
        classes: usize,
    },
    /// The given classes are not distinct, or fewer than two.
    #[error("classes must be at least two distinct labels, got {0:?}")]
    Classes(Vec<i64>),
    /// `split_every` is below 2.
    #[error("split_every must be at least 2, got {0}")]
    SplitEvery(usize),
    /// The data holds fewer than two classes and no class list was given.
    #[error("the target has {0} class(es); a classifier needs at least two (or pass `classes`)")]
    TooFewClasses(usize),
    /// A label is not among the declared classes.
    #[error("label {label} is not among the classes {classes:?}")]
    UnknownLabel {
        /// The label.
        label: i64,
        /// The declared classes.
        classes: Vec<i64>,
    },
    /// `partial_fit` needs the class list up front, so every batch agrees on it.
    #[error("partial_fit needs `classes` in the params (every batch must agree on the class list)")]
    PartialFitNeedsClasses,
    /// A batch has another number of features than the model.
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
