//! Row-chunked collections.

mod array;
mod chunks;
pub mod ops;

pub use array::{ChunkedArray, LazyColumnStats, ReduceOptions};
pub use chunks::Chunks;
pub use ops::{BinOp, ColumnStats, ColumnSummary, Operand};
