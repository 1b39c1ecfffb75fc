use rask_ml::MlError;

/// An invalid SGD hyperparameter; one variant per field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SgdParamsError {
    /// `alpha` is negative or not finite, or zero with the optimal learning rate.
    #[error("alpha must be finite and non-negative (positive with learning_rate Optimal), got {0}")]
    Alpha(f64),
    /// `l1_ratio` is outside `[0, 1]`.
    #[error("l1_ratio must be in [0, 1], got {0}")]
    L1Ratio(f64),
    /// `eta0` is not positive where the learning rate uses it.
    #[error("eta0 must be positive and finite for the {schedule} learning rate, got {eta0}")]
    Eta0 {
        /// The schedule.
        schedule: &'static str,
        /// The value.
        eta0: f64,
    },
    /// `power_t` is not finite.
    #[error("power_t must be finite, got {0}")]
    PowerT(f64),
    /// `max_iter` is zero.
    #[error("max_iter must be at least 1")]
    MaxIter,
    /// `tol` is negative or not finite.
    #[error("tol must be finite and non-negative (or None), got {0}")]
    Tol(f64),
    /// `n_iter_no_change` is zero.
    #[error("n_iter_no_change must be at least 1")]
    NIterNoChange,
    /// A loss parameter (`epsilon`) is negative or not finite.
    #[error("epsilon must be finite and non-negative, got {0}")]
    Epsilon(f64),
    /// The declared classes are not distinct, or fewer than two.
    #[error("classes must be at least two distinct labels, got {0:?}")]
    Classes(Vec<i64>),
}

/// What can go wrong when fitting an SGD model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SgdError {
    /// Invalid hyperparameters.
    #[error(transparent)]
    Params(#[from] SgdParamsError),
    /// The target has fewer than two classes.
    #[error("the target has {0} class(es); a classifier needs at least two")]
    TooFewClasses(usize),
    /// A label is not among the declared classes.
    #[error("label {label} is not among the classes {classes:?}")]
    UnknownLabel {
        /// The label.
        label: i64,
        /// The classes.
        classes: Vec<i64>,
    },
    /// `partial_fit` needs the class list up front.
    #[error("partial_fit of a classifier needs `classes` in the params (every batch must agree on them)")]
    PartialFitNeedsClasses,
    /// The model passed to `partial_fit` does not match the data or the params.
    #[error("the model does not fit this data: {0}")]
    ModelMismatch(String),
    /// The weights overflowed.
    #[error(
        "floating-point overflow at epoch {0}; scaling the features (StandardScaler) or a smaller learning rate may help"
    )]
    Overflow(usize),
    /// The data or the task graph failed.
    #[error(transparent)]
    Ml(#[from] MlError),
}
