//! Row-chunked collections.

mod array;
pub mod blocks;
mod chunks;
mod dataset;
mod lazy;
pub mod ops;
mod vector;

pub use array::{ChunkedArray, LazyColumnStats, ReduceOptions};
pub use blocks::{layer_name, BlockLayer};
pub use chunks::Chunks;
pub use dataset::ChunkedDataset;
pub use lazy::Lazy;
pub use ops::{BinOp, ColumnStats, ColumnSummary, Operand};
pub use vector::{ChunkedVector, Element};
