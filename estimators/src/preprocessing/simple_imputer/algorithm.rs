use ndarray::{Array1, Array2, ArrayView2};
use rask_ml::{BlockModel, ChunkedDataset, Element, Fit, Float, MlError, ModelKind, ParamGuard};
use serde::{Deserialize, Serialize};

use super::errors::SimpleImputerError;
use super::params::{ImputeStrategy, SimpleImputerParams, SimpleImputerValidParams};
use crate::preprocessing::fit_stats;
use crate::preprocessing::no_weights;
use crate::preprocessing::quantile_sketch::ops::sketch_columns;

/// A fitted imputer: `transform` replaces each NaN with its column's statistic and drops the
/// columns that had no observed value (unless `keep_empty_features`).
///
/// # How it fits on chunked data
/// The mean comes from one reduction of mergeable column moments. The median and the most
/// frequent value need more than moments: each block's non-NaN values are summarised per column
/// as sorted distinct values with counts, and the summaries are merged exactly in a tree
/// reduction. Both answers are therefore exact, at a memory cost of one entry (40 bytes) per
/// distinct non-NaN value per column on the task that holds a summary: for continuous data
/// about 40 bytes per row and column at the root of the reduction. With `sketch_capacity` the
/// median comes from a bounded sketch instead, within the rank error reported in `rank_error`.
/// Infinite values are rejected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimpleImputer {
    /// The fill value of each input column: NaN for a column without observed values (which
    /// `transform` drops), unless `keep_empty_features`, where it is 0 (or the constant).
    pub statistics: Array1<f64>,
    /// The input columns `transform` outputs, in order.
    pub kept_columns: Vec<usize>,
    /// The certified rank error of each column's median (0: exact, and for other strategies).
    pub rank_error: Vec<u64>,
    params: SimpleImputerValidParams,
}

impl SimpleImputer {
    /// The params the imputer was fitted with.
    pub fn params(&self) -> &SimpleImputerValidParams {
        &self.params
    }
}

impl<F: Float, Y: Element> Fit<ChunkedDataset<F, Y>> for SimpleImputerParams {
    type Model = SimpleImputer;
    type Error = SimpleImputerError;

    fn fit(&self, data: &ChunkedDataset<F, Y>) -> Result<SimpleImputer, SimpleImputerError> {
        let params = self.check_ref()?.clone();
        no_weights(data, "SimpleImputer")?;
        let x = data.x();
        let split_every = params.split_every;
        let mut rank_error = vec![0; x.n_cols()];
        let mut statistics: Array1<f64> = match params.strategy {
            ImputeStrategy::Mean => {
                let s = fit_stats(x, split_every, "SimpleImputer")?;
                Array1::from_iter(s.mean.iter().zip(&s.count).map(|(&m, &c)| if c > 0 { m } else { f64::NAN }))
            }
            ImputeStrategy::Median => {
                let s = sketch_columns(x, params.sketch_capacity, true, "SimpleImputer", split_every)?;
                rank_error = s.columns.iter().map(|c| c.max_rank_error()).collect();
                Array1::from_iter(s.columns.iter().map(|c| c.median()))
            }
            ImputeStrategy::MostFrequent => {
                // Modes need every count: always exact.
                let s = sketch_columns(x, None, true, "SimpleImputer", split_every)?;
                Array1::from_iter(s.columns.iter().map(|c| c.mode().unwrap_or(f64::NAN)))
            }
            ImputeStrategy::Constant(v) => {
                // No statistic is needed, but the data is still checked (infinite values are
                // rejected) and its width recorded.
                let s = fit_stats(x, split_every, "SimpleImputer")?;
                Array1::from_elem(s.count.len(), v)
            }
        };
        let mut kept_columns = Vec::with_capacity(statistics.len());
        for (j, s) in statistics.iter_mut().enumerate() {
            if s.is_nan() {
                if params.keep_empty_features {
                    *s = 0.0;
                } else {
                    continue;
                }
            }
            kept_columns.push(j);
        }
        Ok(SimpleImputer { statistics, kept_columns, rank_error, params })
    }
}

impl BlockModel for SimpleImputer {
    const APPLY_OP: &'static str = "rask.estimators.simple_imputer.apply";
    const KIND: ModelKind = ModelKind::Transformer;
    type Label = f64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        use rask_ml::persist::{check_model_finite as finite, check_model_nonempty as nonempty, invalid_model as bad};
        const M: &str = "SimpleImputer";
        let d = self.statistics.len();
        nonempty(M, "the number of features (length of statistics)", d)?;
        if self.kept_columns.windows(2).any(|w| w[0] >= w[1]) || self.kept_columns.last().is_some_and(|&j| j >= d) {
            return Err(bad(M, format!("kept_columns are not increasing column indices below {d}")));
        }
        finite(M, "the statistics of the kept columns", self.kept_columns.iter().map(|&j| &self.statistics[j]))
    }

    /// NaN is a missing value here, as in scikit-learn.
    fn allows_nan(&self) -> bool {
        true
    }

    fn n_features_in(&self) -> usize {
        self.statistics.len()
    }

    fn n_features_out(&self) -> usize {
        self.kept_columns.len()
    }

    fn supports(&self, method: rask_ml::Method) -> bool {
        matches!(method, rask_ml::Method::Transform)
    }

    fn transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        let mut out = Array2::zeros((x.nrows(), self.kept_columns.len()));
        for (i, row) in x.rows().into_iter().enumerate() {
            for (k, &j) in self.kept_columns.iter().enumerate() {
                let v = row[j];
                out[[i, k]] = if v.is_nan() {
                    F::narrow(self.statistics[j])
                } else if v.is_infinite() {
                    return Err(MlError::NonFinite { what: format!("column {j} of x (infinite values)") });
                } else {
                    v
                };
            }
        }
        Ok(out)
    }
}

rask_ml::estimator!(SimpleImputerParams => SimpleImputer, name = "SimpleImputer", ops = "rask.estimators.simple_imputer", kind = Transformer, targets = any, partial_fit = no);
