//! Linear models: [`LogisticRegression`] (binary and multinomial), [`LinearRegression`]
//! (least squares, ridge, lasso, elastic-net), [`PoissonRegression`], and the stochastic
//! gradient models in [`sgd`] (`SgdClassifier`, `SgdRegressor`, with `partial_fit`).
//!
//! Layout: the three estimators share one engine in [`glm`] (families, penalties, the block
//! ops and the solver loops, after dask-glm); each estimator folder (`logistic`,
//! `linear_regression`, `poisson`) holds only its params, errors, fitted model and its
//! prediction op. `sgd` is separate: its fits are chains of per-block update tasks, not
//! reductions.

pub mod glm;
mod linear_regression;
mod logistic;
mod poisson;
pub mod sgd;

use rask_core::{Codec, OpEntry};
use rask_ml::ApplyModel;

pub use glm::{GlmError, GlmParamsError, Penalty, Solver};
pub use linear_regression::{
    ApplyLinearRegression, LinearRegression, LinearRegressionError, LinearRegressionParams,
    LinearRegressionParamsError, LinearRegressionValidParams,
};
pub use logistic::{
    ApplyLogisticRegression, LogisticRegression, LogisticRegressionError, LogisticRegressionParams,
    LogisticRegressionParamsError, LogisticRegressionValidParams,
};
pub use poisson::{
    ApplyPoissonRegression, PoissonRegression, PoissonRegressionError, PoissonRegressionParams,
    PoissonRegressionParamsError, PoissonRegressionValidParams,
};

/// The ops this module registers.
pub const OPS: &[OpEntry] = &[
    OpEntry::of::<glm::ops::Summarize>(),
    OpEntry::of::<glm::ops::MergeSummaries>(),
    OpEntry::of::<glm::ops::BlockPartials>(),
    OpEntry::of::<glm::ops::MergePartials>(),
    OpEntry::of::<glm::ops::AdmmLocal>(),
    OpEntry::of::<ApplyLogisticRegression>(),
    OpEntry::of::<ApplyLinearRegression>(),
    OpEntry::of::<ApplyPoissonRegression>(),
    OpEntry::of::<sgd::ops::SgdInitial>(),
    OpEntry::of::<sgd::ops::SgdStep>(),
    OpEntry::of::<sgd::ops::BlockLabels>(),
    OpEntry::of::<sgd::ops::MergeLabels>(),
    OpEntry::of::<ApplyModel<sgd::SgdClassifier>>(),
    OpEntry::of::<ApplyModel<sgd::SgdRegressor>>(),
];

/// The search ops of this module's estimators (fit, partial fit and apply inside a search task).
pub const SEARCH_OPS: &[OpEntry] = rask_ml::search_entries!(
    LogisticRegressionParams,
    LinearRegressionParams,
    PoissonRegressionParams,
    sgd::SgdClassifierParams,
    sgd::SgdRegressorParams,
);

/// The codecs of this module's estimators' models fitted inside search tasks.
pub const SEARCH_CODECS: &[Codec] = rask_ml::search_codec_entries!(
    LogisticRegressionParams,
    LinearRegressionParams,
    PoissonRegressionParams,
    sgd::SgdClassifierParams,
    sgd::SgdRegressorParams,
);

/// The value codecs this module registers.
pub const CODECS: &[Codec] = &[
    Codec::serde::<glm::ops::DataSummary>("rask.estimators.glm.data_summary"),
    Codec::serde::<glm::Partials>("rask.estimators.glm.partials"),
    Codec::serde::<sgd::SgdStates>("rask.estimators.sgd.states"),
];

/// The consistency check of a fitted linear classifier (`validate_model` of logistic
/// regression and the SGD classifier): at least two classes, one coefficient row for two
/// classes and one per class otherwise, an intercept per row, at least one feature, finite
/// parameters.
pub(crate) fn validate_linear_classifier(
    model: &str,
    n_classes: usize,
    coef: &ndarray::Array2<f64>,
    intercept: &ndarray::Array1<f64>,
) -> rask_ml::Result<()> {
    use rask_ml::persist::{
        check_model_finite as finite, check_model_len as len, check_model_nonempty as nonempty, invalid_model as bad,
    };
    let k = n_classes;
    if k < 2 {
        return Err(bad(model, format!("classes has {k} entries; at least 2 are needed")));
    }
    len(model, "the rows of coef (1 for two classes, else one per class)", if k == 2 { 1 } else { k }, coef.nrows())?;
    len(model, "intercept", coef.nrows(), intercept.len())?;
    nonempty(model, "the number of features (columns of coef)", coef.ncols())?;
    finite(model, "coef", coef.iter())?;
    finite(model, "intercept", intercept.iter())
}
