//! Row-chunked collections.

/// Runs `$body` with `$a` bound to the block, whatever its array type (`Array2` or `Array1` of
/// `f64`, `f32` or `i64`); any other value is an op error.
macro_rules! with_any_block {
    ($v:expr, |$a:ident| $body:expr) => {{
        let v: &::rask_core::Value = $v;
        if let Some($a) = v.downcast_ref::<::ndarray::Array2<f64>>() {
            $body
        } else if let Some($a) = v.downcast_ref::<::ndarray::Array2<f32>>() {
            $body
        } else if let Some($a) = v.downcast_ref::<::ndarray::Array2<i64>>() {
            $body
        } else if let Some($a) = v.downcast_ref::<::ndarray::Array1<f64>>() {
            $body
        } else if let Some($a) = v.downcast_ref::<::ndarray::Array1<f32>>() {
            $body
        } else if let Some($a) = v.downcast_ref::<::ndarray::Array1<i64>>() {
            $body
        } else {
            return Err(::rask_core::OpError::new(format!("expected an array block, found `{}`", v.type_name())));
        }
    }};
}

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
