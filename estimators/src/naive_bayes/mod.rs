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
