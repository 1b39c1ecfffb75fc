//! Row-chunked collections.

mod array;
pub mod blocks;
mod chunks;
mod dataset;
pub mod kernels;
mod lazy;
pub mod linalg;
pub mod ops;
pub mod rows;
mod vector;

pub use array::{ChunkedArray, ChunkedSvd, LazyColumnStats, ReduceOptions, Tsqr};
pub use blocks::{layer_name, BlockLayer};
pub use chunks::Chunks;
pub use dataset::ChunkedDataset;
pub use lazy::Lazy;
pub use ops::{BinOp, ColumnStats, ColumnSummary, Operand};
pub use vector::{ChunkedVector, Element};
