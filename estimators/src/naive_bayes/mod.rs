//! Naive Bayes classifiers.

pub(crate) mod count_nb;

pub mod bernoulli_nb;
pub mod gaussian_nb;
pub mod multinomial_nb;

pub use bernoulli_nb::{BernoulliNB, BernoulliNBError, BernoulliNBParams, BernoulliNBValidParams};
pub use count_nb::{CountParams, DiscreteNBError};
pub use gaussian_nb::{ClassStats, GaussianNB, GaussianNBError, GaussianNBParams, GaussianNBValidParams};
pub use multinomial_nb::{MultinomialNB, MultinomialNBError, MultinomialNBParams, MultinomialNBValidParams};

use rask_core::{Codec, OpEntry};
use rask_ml::ApplyModel;

/// The ops this module registers.
pub const OPS: &[OpEntry] = &[
    OpEntry::of::<ApplyModel<GaussianNB>>(),
    OpEntry::of::<gaussian_nb::ops::BlockClassStats>(),
    OpEntry::of::<gaussian_nb::ops::MergeClassStats>(),
    OpEntry::of::<ApplyModel<MultinomialNB>>(),
    OpEntry::of::<ApplyModel<BernoulliNB>>(),
    OpEntry::of::<count_nb::ops::BlockClassCounts>(),
    OpEntry::of::<count_nb::ops::MergeClassCounts>(),
];

/// The search ops of this module's estimators (fit, partial fit and apply inside a search task).
pub const SEARCH_OPS: &[OpEntry] = rask_ml::search_entries!(GaussianNBParams, MultinomialNBParams, BernoulliNBParams);

/// The codecs of this module's estimators' models fitted inside search tasks.
pub const SEARCH_CODECS: &[Codec] =
    rask_ml::search_codec_entries!(GaussianNBParams, MultinomialNBParams, BernoulliNBParams);

/// The value codecs this module registers.
pub const CODECS: &[Codec] = &[
    Codec::serde::<ClassStats>("rask.estimators.gaussian_nb.class_stats"),
    Codec::serde::<count_nb::ops::ClassCounts>("rask.estimators.count_nb.class_counts"),
];

/// The consistency check shared by the count-based naive Bayes models (`validate_model` of
/// `MultinomialNB` and `BernoulliNB`): classes, counts and priors of one length, a
/// `classes × features` log-probability table (at least one of each), the `tables` of its
/// shape, and finite log probabilities.
pub(crate) fn validate_count_nb(
    model: &str,
    n_classes: usize,
    class_count: &ndarray::Array1<f64>,
    class_log_prior: &ndarray::Array1<f64>,
    feature_log_prob: &ndarray::Array2<f64>,
    tables: &[(&str, &ndarray::Array2<f64>)],
) -> rask_ml::Result<()> {
    use rask_ml::persist::{
        check_model_finite as finite, check_model_len as len, check_model_nonempty as nonempty, invalid_model as bad,
    };
    let k = n_classes;
    nonempty(model, "the number of classes", k)?;
    nonempty(model, "the number of features", feature_log_prob.ncols())?;
    len(model, "class_count", k, class_count.len())?;
    len(model, "class_log_prior", k, class_log_prior.len())?;
    len(model, "the rows of feature_log_prob", k, feature_log_prob.nrows())?;
    for (what, a) in tables {
        if a.dim() != feature_log_prob.dim() {
            return Err(bad(model, format!("{what} is {:?}, feature_log_prob {:?}", a.dim(), feature_log_prob.dim())));
        }
    }
    finite(model, "feature_log_prob", feature_log_prob.iter())
}
