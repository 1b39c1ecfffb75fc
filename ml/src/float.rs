//! The floating-point element types of chunked arrays.

use std::fmt;

use ndarray::NdFloat;
use num_traits::FromPrimitive;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// An element type of chunked arrays: `f32` or `f64`.
///
/// Reductions always accumulate in `f64`, whatever the element type.
pub trait Float: NdFloat + FromPrimitive + Serialize + DeserializeOwned + Default + fmt::Debug + 'static {
    /// The type's name in errors and tokens.
    const DTYPE: &'static str;
    /// Widens to `f64`.
    fn widen(self) -> f64;
    /// Narrows from `f64` (rounding for `f32`).
    fn narrow(x: f64) -> Self;
}

impl Float for f64 {
    const DTYPE: &'static str = "f64";
    fn widen(self) -> f64 {
        self
    }
    fn narrow(x: f64) -> Self {
        x
    }
}

impl Float for f32 {
    const DTYPE: &'static str = "f32";
    fn widen(self) -> f64 {
        f64::from(self)
    }
    fn narrow(x: f64) -> Self {
        x as f32
    }
}
