//! Row-chunked collections.

/// Runs `$body` with `$a` bound to the block held by `$v` (a `&Value`), compiled once per
/// element type; any other value returns (`return Err(..)`) an [`OpError`](rask_core::OpError)
/// from the enclosing function or closure. The one f32/f64 dispatch of the workspace's ops:
///
/// - `with_block!(v, |a| body)`: `a` is a `&Array2<f64>` or a `&Array2<f32>` (a feature block);
///   anything else fails with "expected an f64 or f32 block, found `T`";
/// - `with_block!(v, any |a| body)`: `a` is a `&Array2` or `&Array1` of `f64`, `f32` or `i64`;
///   anything else fails with "expected an array block, found `T`".
///
/// `body` is usually a call of a function generic over [`Float`](crate::Float).
#[macro_export]
macro_rules! with_block {
    (@chain $v:expr, $what:literal, $a:ident, $body:expr, $($t:ty),+) => {{
        let v: &$crate::__rask_core::Value = $v;
        $(if let ::core::option::Option::Some($a) = v.downcast_ref::<$t>() { $body } else)+ {
            return ::core::result::Result::Err($crate::__rask_core::OpError::new(::std::format!(
                ::core::concat!("expected ", $what, ", found `{}`"),
                v.type_name()
            )));
        }
    }};
    ($v:expr, |$a:ident| $body:expr) => {
        $crate::with_block!(@chain $v, "an f64 or f32 block", $a, $body,
            $crate::ndarray::Array2<f64>, $crate::ndarray::Array2<f32>)
    };
    ($v:expr, any |$a:ident| $body:expr) => {
        $crate::with_block!(@chain $v, "an array block", $a, $body,
            $crate::ndarray::Array2<f64>, $crate::ndarray::Array2<f32>, $crate::ndarray::Array2<i64>,
            $crate::ndarray::Array1<f64>, $crate::ndarray::Array1<f32>, $crate::ndarray::Array1<i64>)
    };
}

mod array;
pub mod blocks;
mod chunks;
mod dataset;
pub mod kernels;
mod lazy;
pub mod limits;
pub mod linalg;
pub mod ops;
pub mod rows;
mod vector;

pub use array::{ChunkedArray, ChunkedSvd, LazyColumnStats, ReduceOptions, Tsqr};
pub use blocks::{layer_name, BlockLayer};
pub use chunks::Chunks;
pub use dataset::ChunkedDataset;
pub use lazy::Lazy;
pub use limits::Limits;
pub use ops::{BinOp, ColumnStats, ColumnSummary, Operand};
pub use vector::{ChunkedVector, Element};
