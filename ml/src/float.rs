//! The floating-point element types of chunked arrays.

use std::fmt;

use ndarray::{Array2, ArrayView2, CowArray, Ix2, NdFloat};
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
    /// The rows as `f64`: borrowed for `f64`, widened (one copy) for `f32`.
    fn view_f64(x: ArrayView2<'_, Self>) -> CowArray<'_, f64, Ix2>;
    /// An `f64` array as this type: moved for `f64`, narrowed (one copy) for `f32`.
    fn from_f64_array(a: Array2<f64>) -> Array2<Self>;
}

impl Float for f64 {
    const DTYPE: &'static str = "f64";
    fn widen(self) -> f64 {
        self
    }
    fn narrow(x: f64) -> Self {
        x
    }
    fn view_f64(x: ArrayView2<'_, Self>) -> CowArray<'_, f64, Ix2> {
        CowArray::from(x)
    }
    fn from_f64_array(a: Array2<f64>) -> Array2<Self> {
        a
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
    fn view_f64(x: ArrayView2<'_, Self>) -> CowArray<'_, f64, Ix2> {
        CowArray::from(x.mapv(f64::from))
    }
    fn from_f64_array(a: Array2<f64>) -> Array2<Self> {
        a.mapv(|v| v as f32)
    }
}
