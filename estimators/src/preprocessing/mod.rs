//! Preprocessing: feature scaling, imputation, encoding and polynomial features.
//!
//! Scalers fit with one pass of mergeable column statistics (count, mean, sum of squared
//! deviations, min, max; Chan et al.'s parallel merge), so `fit` is a single tree reduction and
//! `partial_fit` merges a new batch's statistics into the model's. As in scikit-learn, NaNs are
//! treated as missing: ignored when fitting and kept by `transform`; infinite values are
//! rejected.
//!
//! Estimators that need order statistics (medians, quantiles, modes, category lists) fit with
//! one tree reduction of the per-column summaries of [`quantile_sketch`]: exact by default, or a
//! bounded-size sketch with a stated rank error bound.

pub mod label_encoder;
pub mod min_max_scaler;
pub mod one_hot_encoder;
pub mod ordinal_encoder;
pub mod polynomial_features;
pub mod quantile_sketch;
pub mod quantile_transformer;
pub mod robust_scaler;
pub mod simple_imputer;
pub mod standard_scaler;

pub use min_max_scaler::{MinMaxScaler, MinMaxScalerError, MinMaxScalerParams, MinMaxScalerValidParams};
pub use standard_scaler::{StandardScaler, StandardScalerError, StandardScalerParams, StandardScalerValidParams};

pub use label_encoder::{LabelEncoder, LabelEncoderError, LabelEncoderParams, LabelEncoderValidParams};
pub use one_hot_encoder::{
    OneHotDrop, OneHotEncoder, OneHotEncoderError, OneHotEncoderParams, OneHotEncoderValidParams, OneHotUnknown,
};
pub use ordinal_encoder::{
    OrdinalEncoder, OrdinalEncoderError, OrdinalEncoderParams, OrdinalEncoderValidParams, OrdinalUnknown,
};
pub use polynomial_features::{
    PolynomialFeatures, PolynomialFeaturesError, PolynomialFeaturesParams, PolynomialFeaturesValidParams,
};
pub use quantile_transformer::{
    OutputDistribution, QuantileTransformer, QuantileTransformerError, QuantileTransformerParams,
    QuantileTransformerValidParams,
};
pub use robust_scaler::{RobustScaler, RobustScalerError, RobustScalerParams, RobustScalerValidParams};
pub use simple_imputer::{
    ImputeStrategy, SimpleImputer, SimpleImputerError, SimpleImputerParams, SimpleImputerValidParams,
};

use rask_core::{Codec, OpEntry};
use rask_ml::ApplyModel;

/// The ops this module registers.
pub const OPS: &[OpEntry] = &[
    OpEntry::of::<ApplyModel<StandardScaler>>(),
    OpEntry::of::<ApplyModel<MinMaxScaler>>(),
    OpEntry::of::<ApplyModel<SimpleImputer>>(),
    OpEntry::of::<ApplyModel<OrdinalEncoder>>(),
    OpEntry::of::<ApplyModel<OneHotEncoder>>(),
    OpEntry::of::<ApplyModel<RobustScaler>>(),
    OpEntry::of::<ApplyModel<QuantileTransformer>>(),
    OpEntry::of::<ApplyModel<PolynomialFeatures>>(),
    OpEntry::of::<standard_scaler::ops::BlockWeightedMoments>(),
    OpEntry::of::<standard_scaler::ops::MergeWeightedMoments>(),
    OpEntry::of::<quantile_sketch::ops::BlockSketch>(),
    OpEntry::of::<quantile_sketch::ops::MergeSketches>(),
    OpEntry::of::<label_encoder::ops::BlockLabels>(),
    OpEntry::of::<label_encoder::ops::MergeLabels>(),
    OpEntry::of::<label_encoder::ops::EncodeLabels>(),
];

/// The search ops of this module's estimators (fit, partial fit and apply inside a search task).
/// `LabelEncoder` is fitted on a vector of labels, not on rows, so it takes no part in
/// pipelines and searches.
pub const SEARCH_OPS: &[OpEntry] = rask_ml::search_entries!(
    StandardScalerParams,
    MinMaxScalerParams,
    RobustScalerParams,
    QuantileTransformerParams,
    SimpleImputerParams,
    OneHotEncoderParams,
    OrdinalEncoderParams,
    PolynomialFeaturesParams,
);

/// The codecs of this module's estimators' models fitted inside search tasks.
pub const SEARCH_CODECS: &[Codec] = rask_ml::search_codec_entries!(
    StandardScalerParams,
    MinMaxScalerParams,
    RobustScalerParams,
    QuantileTransformerParams,
    SimpleImputerParams,
    OneHotEncoderParams,
    OrdinalEncoderParams,
    PolynomialFeaturesParams,
);

/// The value codecs this module registers.
pub const CODECS: &[Codec] = &[Codec::serde::<quantile_sketch::Sketches>("rask.estimators.quantile_sketch.sketches")];

use rask_ml::chunked::ColumnStats;
use rask_ml::{ChunkedArray, Float, MlError, ReduceOptions};

/// Column statistics of `x` with NaNs skipped, rejecting infinite values, values beyond
/// [`rask_ml::MAX_ABS_VALUE`] (naming the first) and empty input: data
/// without columns, and data with 0 rows ([`MlError::EmptyInput`] naming `who`).
pub(crate) fn fit_stats<F: Float>(x: &ChunkedArray<F>, split_every: usize, who: &str) -> Result<ColumnStats, MlError> {
    let stats = x.column_stats(ReduceOptions { split_every, skip_nan: true })?.stats().compute()?;
    check_stats(&stats)?;
    x.check_value_limit(&stats.min, &stats.max)?;
    // Every row adds to each column either a value or a NaN, so no rows shows as a first
    // column with neither.
    if stats.count[0] == 0 && !stats.nan[0] {
        return Err(MlError::EmptyInput { who: who.to_string() });
    }
    Ok(stats)
}

/// Refuses sample weights for a transformer that cannot use them (as scikit-learn's takes no
/// `sample_weight`): an error naming `who`, rather than a fit that silently ignores them.
pub(crate) fn no_weights<F: Float, Y: rask_ml::Element>(
    data: &rask_ml::ChunkedDataset<F, Y>,
    who: &str,
) -> Result<(), MlError> {
    match data.weights() {
        None => Ok(()),
        Some(_) => Err(MlError::Unsupported {
            what: format!("{who} with sample weights (it cannot use them, and does not ignore them silently)"),
        }),
    }
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

/// Merges a batch's statistics into a model's (for `partial_fit`); `mismatch(model's columns,
/// batch's columns)` is the error for a batch of another width.
pub(crate) fn merge_into<E: From<MlError>>(
    model: Option<ColumnStats>,
    batch: ColumnStats,
    mismatch: impl FnOnce(usize, usize) -> E,
) -> Result<ColumnStats, E> {
    let Some(mut s) = model else {
        return Ok(batch);
    };
    if s.count.len() != batch.count.len() {
        return Err(mismatch(s.count.len(), batch.count.len()));
    }
    s.merge(&batch);
    check_stats(&s)?;
    Ok(s)
}
