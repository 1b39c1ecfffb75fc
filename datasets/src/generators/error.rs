//! The errors of dataset generators: one variant per kind of invalid parameter, so a caller (or
//! a test) can tell exactly which field was refused and why.

use rask_ml::MlError;

/// Why a generator refused its parameters or could not build its graph.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// A count is below its minimum (`n_samples`, `chunk_rows`, `n_features`, `n_classes`, …).
    #[error("{param} must be at least {min}, got {found}")]
    TooSmall {
        /// The parameter.
        param: &'static str,
        /// The smallest allowed value.
        min: usize,
        /// The value given.
        found: usize,
    },
    /// A real-valued parameter is outside its allowed range (or not finite).
    #[error("{param} must be {expected}, got {value}")]
    OutOfRange {
        /// The parameter.
        param: &'static str,
        /// The offending value.
        value: f64,
        /// The allowed range, in words.
        expected: &'static str,
    },
    /// A per-class, per-centre or per-feature list has the wrong number of entries.
    #[error("{param} has {found} entries, expected {expected}")]
    WrongLength {
        /// The parameter.
        param: &'static str,
        /// The allowed length(s), in words.
        expected: String,
        /// The length given.
        found: usize,
    },
    /// `make_classification`: the structured features do not fit in `n_features`.
    #[error(
        "n_informative ({n_informative}) + n_redundant ({n_redundant}) + n_repeated ({n_repeated}) must be at most \
         n_features ({n_features})"
    )]
    FeatureBudget {
        /// Informative features asked for.
        n_informative: usize,
        /// Redundant features asked for.
        n_redundant: usize,
        /// Repeated features asked for.
        n_repeated: usize,
        /// Total features.
        n_features: usize,
    },
    /// `make_regression`, `make_counts`: more informative features than features.
    #[error("n_informative ({n_informative}) must be at most n_features ({n_features})")]
    InformativeExceedsFeatures {
        /// Informative features asked for.
        n_informative: usize,
        /// Total features.
        n_features: usize,
    },
    /// `make_classification`: there are fewer hypercube vertices than clusters to place on them
    /// (`2^n_informative`, and never more than `2^30`, as in scikit-learn).
    #[error(
        "n_classes ({n_classes}) * n_clusters_per_class ({n_clusters_per_class}) must be at most \
         2^min(n_informative, 30) (n_informative = {n_informative})"
    )]
    TooManyClusters {
        /// Classes asked for.
        n_classes: usize,
        /// Clusters per class asked for.
        n_clusters_per_class: usize,
        /// Informative features (the hypercube's dimension).
        n_informative: usize,
    },
    /// `make_classification`: the class weights do not describe proportions.
    #[error("weights sum to {sum}, but {expected}")]
    WeightsSum {
        /// The sum of the weights given.
        sum: f64,
        /// What the sum must be, in words.
        expected: &'static str,
    },
    /// `make_blobs`: explicit centres whose width disagrees with `n_features`.
    #[error("centers have {columns} columns, but n_features is {n_features}")]
    CentersWidth {
        /// The `n_features` given.
        n_features: usize,
        /// Columns of the explicit centres.
        columns: usize,
    },
    /// `make_blobs`: the box centres are drawn from is not a finite interval.
    #[error("center_box must be finite with low <= high, got ({low}, {high})")]
    CenterBox {
        /// Its lower bound.
        low: f64,
        /// Its upper bound.
        high: f64,
    },
    /// A scikit-learn option that Rask's generators do not implement.
    #[error("{param} = {value} is not supported: {reason}")]
    Unsupported {
        /// The parameter.
        param: &'static str,
        /// The value asked for.
        value: String,
        /// Why, and what is supported instead.
        reason: &'static str,
    },
    /// The generator's parameters could not be encoded for the graph.
    #[error("cannot encode the generator parameters: {0}")]
    Encode(String),
    /// Building the chunked collections failed.
    #[error(transparent)]
    Ml(#[from] MlError),
}

/// The result type of the generators.
pub type Result<T, E = DatasetError> = std::result::Result<T, E>;

/// Refuses a count below `min`.
pub(crate) fn at_least(param: &'static str, found: usize, min: usize) -> Result<()> {
    if found < min {
        return Err(DatasetError::TooSmall { param, min, found });
    }
    Ok(())
}

/// Refuses a real value for which `ok` is false (NaN never passes a range check).
pub(crate) fn in_range(param: &'static str, value: f64, ok: bool, expected: &'static str) -> Result<()> {
    if !ok || value.is_nan() {
        return Err(DatasetError::OutOfRange { param, value, expected });
    }
    Ok(())
}
