//! # rask-ml: chunked data for Rask
//!
//! Row-chunked arrays whose blocks are task-graph nodes, block operations as registered ops
//! (so every graph runs on every scheduler, distributed included), and tree reductions with a
//! fixed combine order. Estimator traits, metrics, pipelines and model selection (grid, randomized and adaptive
//! searches) live here too.
//!
//! ```
//! use ndarray::array;
//! use rask_ml::{ChunkedArray, ReduceOptions};
//!
//! let x = array![[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0], [5.0, 50.0]];
//! let cx = ChunkedArray::from_array(x.view(), 2).unwrap();
//! let stats = cx.column_stats(ReduceOptions::default()).unwrap().compute().unwrap();
//! assert_eq!(stats.mean.to_vec(), vec![3.0, 30.0]);
//! let centred = cx.sub_row(&[3.0, 30.0]).unwrap().compute().unwrap();
//! assert_eq!(centred.column(0).to_vec(), vec![-2.0, -1.0, 0.0, 1.0, 2.0]);
//! ```
#![deny(missing_docs)]

pub mod adapters;
pub mod chunked;
pub mod codec;
pub mod dense;
pub mod ensemble;
mod error;
mod float;
pub mod metrics;
pub mod model;
pub mod model_selection;
pub mod nearest;
pub mod params;
pub mod persist;
pub mod pipeline;
mod seed;
pub mod split;
pub mod traits;
pub mod wrappers;

#[doc(hidden)]
pub use rask_core as __rask_core;

pub use chunked::rows::MAX_ABS_VALUE;
pub use chunked::{
    BinOp, BlockLayer, ChunkedArray, ChunkedDataset, ChunkedSvd, ChunkedVector, Chunks, ColumnStats, ColumnSummary,
    Element, Lazy, LazyColumnStats, Limits, Operand, ReduceOptions, Tsqr,
};
pub use error::{MlError, Result};
pub use float::Float;
pub use ndarray;
pub use params::{Distribution, ParamValue, ParameterGrid, ParameterSampler, SetParams};
pub use persist::{from_bytes, load, save, to_bytes, Persist};
pub use pipeline::{FittedPipeline, FittedSteps, Pipeline, PipelineError, Steps};
pub use seed::stream_seed;
pub use split::{train_test_split, KFold, Shuffle, ShuffleSplit, StratifiedKFold, TestSize, TrainTest, TrainTestSplit};
pub use traits::{
    check_rows, model_codec, ApplyModel, BlockModel, Dataset, Fit, InverseTransform, Method, ModelKind, ParamGuard,
    PartialFit, Predict, PredictProba, Score, Transform,
};

use rask_core::{Codec, OpEntry, RegistryBuilder};

/// A registry builder holding the ops and codecs of `rask-core` and this crate; crates above
/// add their own lists to it.
pub fn registry_builder() -> RegistryBuilder {
    let b = rask_core::Registry::builder().ops(rask_core::OPS).codecs(rask_core::CODECS).ops(OPS).codecs(CODECS);
    #[cfg(feature = "linfa")]
    let b = b.ops(adapters::linfa::OPS).ops(adapters::linfa::SEARCH_OPS).codecs(adapters::linfa::CODECS);
    #[cfg(feature = "smartcore")]
    let b = b.ops(adapters::smartcore::OPS).ops(adapters::smartcore::SEARCH_OPS).codecs(adapters::smartcore::CODECS);
    b
}

/// The ops this crate registers.
pub const OPS: &[OpEntry] = &[
    OpEntry::of::<chunked::ops::Elementwise>(),
    OpEntry::of::<chunked::ops::BlockColumnStats>(),
    OpEntry::of::<chunked::ops::MergeColumnStats>(),
    OpEntry::of::<chunked::ops::BlockRows>(),
    OpEntry::of::<chunked::ops::Xtx>(),
    OpEntry::of::<chunked::ops::Xty>(),
    OpEntry::of::<chunked::ops::SumMatrices>(),
    OpEntry::of::<chunked::ops::MatMul>(),
    OpEntry::of::<chunked::linalg::BlockQr>(),
    OpEntry::of::<chunked::linalg::PickPart>(),
    OpEntry::of::<chunked::linalg::StackQr>(),
    OpEntry::of::<chunked::linalg::ApplyQ>(),
    OpEntry::of::<chunked::linalg::SmallSvd>(),
    OpEntry::of::<chunked::linalg::PickRow>(),
    OpEntry::of::<chunked::rows::TakeRows>(),
    OpEntry::of::<chunked::rows::GatherRows>(),
    OpEntry::of::<chunked::rows::CheckFinite>(),
    OpEntry::of::<chunked::rows::SampleRows>(),
    OpEntry::of::<chunked::rows::ScatterPart>(),
    OpEntry::of::<chunked::rows::GatherShuffled>(),
    OpEntry::of::<chunked::kernels::AssignNearest>(),
    OpEntry::of::<chunked::kernels::MergeAssignPartials>(),
    OpEntry::of::<metrics::BlockRegressionPartials>(),
    OpEntry::of::<metrics::MergeRegressionPartials>(),
    OpEntry::of::<metrics::BlockConfusion>(),
    OpEntry::of::<metrics::MergeConfusion>(),
    OpEntry::of::<metrics::ArgminMinBlock>(),
    OpEntry::of::<ensemble::Vote>(),
];

/// The value codecs this crate registers.
pub const CODECS: &[Codec] = &[
    Codec::of::<codec::Array2F64Codec>(),
    Codec::of::<codec::Array2F32Codec>(),
    Codec::of::<codec::Array2I64Codec>(),
    Codec::of::<codec::Array1F64Codec>(),
    Codec::of::<codec::Array1F32Codec>(),
    Codec::of::<codec::Array1I64Codec>(),
    Codec::serde::<ColumnStats>("rask.ml.column_stats"),
    Codec::serde::<chunked::linalg::Parts>("rask.ml.parts"),
    Codec::serde::<chunked::kernels::AssignPartials>("rask.ml.assign_partials"),
    Codec::serde::<metrics::RegressionPartials>("rask.ml.metrics.regression_partials"),
    Codec::serde::<metrics::ConfusionCounts>("rask.ml.metrics.confusion_counts"),
    Codec::serde::<model_selection::Staged>("rask.ml.search.staged"),
    Codec::serde::<model_selection::Scores>("rask.ml.search.scores"),
];
