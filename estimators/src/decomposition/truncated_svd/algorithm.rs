//! The truncated SVD fit and the fitted model.

use ndarray::{s, Array1, Array2, ArrayView2};
use rask_ml::traits::{BlockModel, Method, ModelKind};
use rask_ml::{ChunkedDataset, Element, Fit, Float, MlError, ParamGuard, ReduceOptions, Transform};
use serde::{Deserialize, Serialize};

use super::errors::TruncatedSvdError;
use super::params::{SvdSolver, TruncatedSvdParams};
use crate::decomposition::ops::{project, reconstruct, svd_flip_rows, thin_svd, top_rows, Scatter};
use crate::decomposition::passes::{moments, randomized_svd};

/// A fitted truncated SVD, with scikit-learn's attributes. `transform` is `X Vᵀ` (no
/// centring), `inverse_transform` is `T V`.
///
/// ```
/// use ndarray::array;
/// use rask_estimators::decomposition::{SvdSolver, TruncatedSvd, TruncatedSvdParams};
/// use rask_ml::{Fit, Transform};
///
/// let x = array![[1.0, 0.0, 2.0], [0.0, 1.0, 0.0], [2.0, 0.0, 4.1], [0.0, 2.0, 0.0]];
/// let svd: TruncatedSvd = TruncatedSvdParams::new(2).solver(SvdSolver::Tsqr).fit(&x).unwrap();
/// assert_eq!(svd.transform(&x).unwrap().shape(), &[4, 2]);
/// assert!(svd.singular_values[0] > svd.singular_values[1]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruncatedSvd {
    /// Right singular vectors as rows (`n_components × n_features`), signs as scikit-learn's
    /// `svd_flip(u_based_decision=False)`.
    pub components: Array2<f64>,
    /// Variance (`n` denominator) of each column of the transformed training data, as
    /// scikit-learn computes it.
    pub explained_variance: Array1<f64>,
    /// `explained_variance` over the summed column variances of the training data. Where those
    /// variances are at the rounding level of the data's scale (as for
    /// [`Pca`](crate::decomposition::Pca): all rows identical), there is no variance to
    /// explain and `explained_variance` and this are 0.
    pub explained_variance_ratio: Array1<f64>,
    /// The top singular values.
    pub singular_values: Array1<f64>,
    /// Rows seen by the fit.
    pub n_samples: usize,
    /// Columns seen by the fit.
    pub n_features: usize,
}

impl BlockModel for TruncatedSvd {
    const APPLY_OP: &'static str = "rask.estimators.decomposition.truncated_svd.apply";
    const KIND: ModelKind = ModelKind::Transformer;
    type Label = f64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        use rask_ml::persist::{
            check_model_finite as finite, check_model_len as len, check_model_nonempty as nonempty,
        };
        const M: &str = "TruncatedSvd";
        let (k, d) = (self.components.nrows(), self.n_features);
        nonempty(M, "n_features", d)?;
        len(M, "the columns of components", d, self.components.ncols())?;
        len(M, "explained_variance", k, self.explained_variance.len())?;
        len(M, "explained_variance_ratio", k, self.explained_variance_ratio.len())?;
        len(M, "singular_values", k, self.singular_values.len())?;
        finite(M, "components", self.components.iter())
    }

    fn n_features_in(&self) -> usize {
        self.n_features
    }

    fn n_features_out(&self) -> usize {
        self.components.nrows()
    }

    fn transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        Ok(project(x, None, &self.components, None))
    }

    fn inverse_transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        Ok(reconstruct(x, None, &self.components, None))
    }

    fn supports(&self, method: Method) -> bool {
        matches!(method, Method::Transform | Method::InverseTransform)
    }
}

impl<F: Float, Y: Element> Fit<ChunkedDataset<F, Y>> for TruncatedSvdParams {
    type Model = TruncatedSvd;
    type Error = TruncatedSvdError;

    /// Fits on the rows of `data.x()`: one pass for the column variances, the solver's
    /// passes, and one pass for the variance of the transformed data.
    fn fit(&self, data: &ChunkedDataset<F, Y>) -> Result<TruncatedSvd, TruncatedSvdError> {
        let params = self.check_ref()?;
        let x = data.x();
        let d = x.n_cols();
        let stats = x.column_stats(ReduceOptions::default())?.compute()?;
        let n = stats.count.first().copied().unwrap_or(0) as usize;
        if d > 0 && n == 0 {
            return Err(MlError::EmptyInput { who: "TruncatedSvd".into() }.into());
        }
        let full_var: f64 = stats.var(0).sum();
        x.check_value_limit(stats.min.as_slice().unwrap_or_default(), stats.max.as_slice().unwrap_or_default())?;
        if !full_var.is_finite() {
            return Err(MlError::NonFinite { what: "X".into() }.into());
        }
        let k = params.n_components();
        let max = n.min(d);
        if k > max {
            return Err(TruncatedSvdError::TooManyComponents { n_components: k, max });
        }
        let (s, vt) = match params.solver() {
            SvdSolver::Tsqr => {
                let m = moments(x, Scatter::R, false)?;
                let (s, mut vt) = thin_svd(&m.mat).map_err(TruncatedSvdError::Linalg)?;
                svd_flip_rows(&mut vt, None);
                (s.slice(s![..k]).to_owned(), top_rows(&vt, k))
            }
            SvdSolver::Randomized { n_oversamples, n_power_iter } => {
                let l = (k + n_oversamples).min(max);
                let zero = Array1::zeros(d);
                let top =
                    randomized_svd(x, &zero, k, l, n_power_iter, params.seed()).map_err(TruncatedSvdError::Linalg)?;
                (top.s, top.vt)
            }
        };
        let mut model = TruncatedSvd {
            components: vt,
            explained_variance: Array1::zeros(k),
            explained_variance_ratio: Array1::zeros(k),
            singular_values: s,
            n_samples: n,
            n_features: d,
        };
        // scikit-learn's explained variance is the variance of the transformed training data,
        // one more pass.
        let t = model.transform(x)?;
        let tv = t.column_stats(ReduceOptions::default())?.compute()?.var(0);
        // Data whose variance is at the rounding level of its scale (all rows identical) has
        // no variance to explain: the explained variances and ratios are 0, not rounding noise
        // over 0 (NaN or infinite).
        let mean = Array1::from(stats.mean.clone());
        if crate::decomposition::pca::noise_level_variance(full_var, &mean) {
            model.explained_variance_ratio = Array1::zeros(k);
            model.explained_variance = Array1::zeros(k);
        } else {
            model.explained_variance_ratio = tv.mapv(|v| v / full_var);
            model.explained_variance = tv;
        }
        Ok(model)
    }
}

rask_ml::estimator!(TruncatedSvdParams => TruncatedSvd, name = "TruncatedSvd", ops = "rask.estimators.decomposition.truncated_svd", kind = Transformer, targets = any, partial_fit = no);
