//! linear model estimators.

pub mod sgd;

use rask_core::{Codec, OpEntry};
use rask_ml::ApplyModel;

/// The ops this module registers.
pub const OPS: &[OpEntry] = &[
    OpEntry::of::<sgd::ops::SgdInitial>(),
    OpEntry::of::<sgd::ops::SgdStep>(),
    OpEntry::of::<sgd::ops::BlockLabels>(),
    OpEntry::of::<sgd::ops::MergeLabels>(),
    OpEntry::of::<ApplyModel<sgd::SgdClassifier>>(),
    OpEntry::of::<ApplyModel<sgd::SgdRegressor>>(),
];

/// The value codecs this module registers.
pub const CODECS: &[Codec] = &[Codec::serde::<sgd::SgdStates>("rask.estimators.sgd.states")];
