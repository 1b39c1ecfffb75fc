//! Naive Bayes classifiers.

pub mod gaussian_nb;

pub use gaussian_nb::{ClassStats, GaussianNB, GaussianNBError, GaussianNBParams, GaussianNBValidParams};

use rask_core::{Codec, OpEntry};
use rask_ml::ApplyModel;

/// The ops this module registers.
pub const OPS: &[OpEntry] = &[
    OpEntry::of::<ApplyModel<GaussianNB>>(),
    OpEntry::of::<gaussian_nb::ops::BlockClassStats>(),
    OpEntry::of::<gaussian_nb::ops::MergeClassStats>(),
];

/// The value codecs this module registers.
pub const CODECS: &[Codec] = &[Codec::serde::<ClassStats>("rask.estimators.gaussian_nb.class_stats")];
