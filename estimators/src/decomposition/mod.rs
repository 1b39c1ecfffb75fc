//! Matrix decompositions, named like scikit-learn's `sklearn.decomposition`: [`Pca`],
//! [`TruncatedSvd`] and [`IncrementalPca`].
//!
//! Every fit reduces the row blocks to small matrices in one tree-reduced pass (two or a few
//! for the randomized solvers) and finishes with a dense factorisation on the driver (faer),
//! so memory is bounded by the block size, not the data size. Signs follow scikit-learn 1.6's
//! `svd_flip(u_based_decision=False)`, so fitted components compare equal to scikit-learn's
//! without flipping.

pub mod incremental_pca;
pub mod ops;
mod passes;
pub mod pca;
pub mod truncated_svd;

pub use incremental_pca::{IncrementalPca, IncrementalPcaError, IncrementalPcaParams, IncrementalPcaParamsError};
pub use pca::{NComponents, Pca, PcaError, PcaParams, PcaParamsError, PcaSolver, PcaValidParams};
pub use truncated_svd::{SvdSolver, TruncatedSvd, TruncatedSvdError, TruncatedSvdParams, TruncatedSvdParamsError};

use rask_core::{Codec, OpEntry};
use rask_ml::ApplyModel;

/// The ops this module registers.
pub const OPS: &[OpEntry] = &[
    OpEntry::of::<ops::BlockMoments>(),
    OpEntry::of::<ops::MergeMoments>(),
    OpEntry::of::<ops::ProjectedR>(),
    OpEntry::of::<ops::MergeR>(),
    OpEntry::of::<ops::NormalProduct>(),
    OpEntry::of::<ApplyModel<Pca>>(),
    OpEntry::of::<ApplyModel<TruncatedSvd>>(),
    OpEntry::of::<ApplyModel<IncrementalPca>>(),
];

/// The value codecs this module registers.
pub const CODECS: &[Codec] = &[Codec::serde::<ops::Moments>("rask.estimators.decomposition.moments")];
