//! Preprocessing: feature scaling.
//!
//! Scalers fit with one pass of mergeable column statistics (count, mean, sum of squared
//! deviations, min, max; Chan et al.'s parallel merge), so `fit` is a single tree reduction and
//! `partial_fit` merges a new batch's statistics into the model's. As in scikit-learn, NaNs are
//! treated as missing: ignored when fitting and kept by `transform`; infinite values are
//! rejected.

pub mod min_max_scaler;
pub mod standard_scaler;

pub use min_max_scaler::{MinMaxScaler, MinMaxScalerError, MinMaxScalerParams, MinMaxScalerValidParams};
pub use standard_scaler::{StandardScaler, StandardScalerError, StandardScalerParams, StandardScalerValidParams};

use rask_core::{Codec, OpEntry};
use rask_ml::ApplyModel;

/// The ops this module registers.
pub const OPS: &[OpEntry] = &[OpEntry::of::<ApplyModel<StandardScaler>>(), OpEntry::of::<ApplyModel<MinMaxScaler>>()];

/// The value codecs this module registers.
pub const CODECS: &[Codec] = &[];

use rask_ml::chunked::ColumnStats;
use rask_ml::{ChunkedArray, Float, MlError, ReduceOptions};

/// Column statistics of `x` with NaNs skipped, rejecting infinite values and empty input.
pub(crate) fn fit_stats<F: Float>(x: &ChunkedArray<F>, split_every: usize) -> Result<ColumnStats, MlError> {
    let stats = x.column_stats(ReduceOptions { split_every, skip_nan: true })?.stats().compute()?;
    check_stats(&stats)?;
    Ok(stats)
}

pub(crate) fn check_stats(stats: &ColumnStats) -> Result<(), MlError> {
    if stats.count.is_empty() {
        return Err(MlError::InvalidParameter { name: "x", message: "has no columns".into() });
    }
    // A column with values has a finite minimum and maximum unless it holds an infinity.
    for j in 0..stats.count.len() {
        if stats.count[j] > 0 && (stats.min[j].is_infinite() || stats.max[j].is_infinite()) {
            return Err(MlError::NonFinite { what: format!("column {j} of x (infinite values)") });
        }
    }
    Ok(())
}
