//! The PCA fit and the fitted model.

use ndarray::{s, Array1, Array2, ArrayView2};
use rask_ml::traits::{BlockModel, Method, ModelKind};
use rask_ml::{ChunkedDataset, Element, Fit, Float, ParamGuard};
use serde::{Deserialize, Serialize};

use super::errors::PcaError;
use super::params::{NComponents, PcaParams, PcaParamsError, PcaSolver};
use crate::decomposition::ops::{project, reconstruct, svd_flip_rows, symmetric_eigen, thin_svd, whitening_scale};
use crate::decomposition::ops::{top_rows, Scatter};
use crate::decomposition::passes::{moments, randomized_svd, TopSvd};

/// A fitted principal component analysis, with scikit-learn's attributes.
///
/// `transform` centres on [`mean`](Self::mean), projects on the
/// [`components`](Self::components) and, when whitening, divides by
/// `√explained_variance`; `inverse_transform` undoes it. Both run block by block (the
/// [`BlockModel`] op), on arrays or lazily on chunked arrays.
///
/// ```
/// use ndarray::array;
/// use rask_estimators::decomposition::{Pca, PcaParams};
/// use rask_ml::{Fit, Transform};
///
/// let x = array![[1.0, 2.0], [2.0, 4.1], [3.0, 5.9], [4.0, 8.0]];
/// let pca: Pca = PcaParams::new(1).fit(&x).unwrap();
/// // Almost all the variance lies along one direction.
/// assert!(pca.explained_variance_ratio[0] > 0.99);
/// let t = pca.transform(&x).unwrap();
/// assert_eq!(t.shape(), &[4, 1]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pca {
    /// Principal axes as rows (`n_components × n_features`), by decreasing explained variance;
    /// signs as scikit-learn's `svd_flip(u_based_decision=False)`: each row's largest-magnitude
    /// entry is positive.
    pub components: Array2<f64>,
    /// Variance along each component (sample variance, `n − 1` denominator).
    ///
    /// Where the total variance is at the rounding level of the data's scale (at most
    /// `d · f64::EPSILON · s`, with `s = (total + Σ mean²) / d` the features' mean square; for
    /// example all rows identical), there is no variance to explain: every explained variance,
    /// ratio, singular value and the noise variance are 0, on every solver.
    pub explained_variance: Array1<f64>,
    /// Fraction of the total variance along each component (0 where there is no variance to
    /// explain; see `explained_variance`).
    pub explained_variance_ratio: Array1<f64>,
    /// Singular values of the centred data along each component.
    pub singular_values: Array1<f64>,
    /// Column means of the training data.
    pub mean: Array1<f64>,
    /// The mean variance of the discarded directions (Tipping and Bishop's probabilistic PCA
    /// noise estimate); 0 when every direction is kept.
    pub noise_variance: f64,
    /// Rows seen by the fit.
    pub n_samples: usize,
    /// Columns seen by the fit.
    pub n_features: usize,
    /// Whether `transform` whitens.
    pub whiten: bool,
    /// The solver that ran ([`PcaSolver::Auto`] resolved).
    pub solver: PcaSolver,
}

impl Pca {
    /// Number of components kept.
    pub fn n_components(&self) -> usize {
        self.components.nrows()
    }

    fn scale(&self) -> Option<Array1<f64>> {
        self.whiten.then(|| whitening_scale(&self.explained_variance))
    }
}

impl BlockModel for Pca {
    const APPLY_OP: &'static str = "rask.estimators.decomposition.pca.apply";
    const KIND: ModelKind = ModelKind::Transformer;
    type Label = f64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        crate::decomposition::validate_pca(
            "Pca",
            self.n_features,
            &self.components,
            &self.mean,
            &self.explained_variance,
            &self.explained_variance_ratio,
            &self.singular_values,
        )
    }

    fn n_features_in(&self) -> usize {
        self.n_features
    }

    fn n_features_out(&self) -> usize {
        self.n_components()
    }

    fn transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        Ok(project(x, Some(&self.mean), &self.components, self.scale().as_ref()))
    }

    fn inverse_transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        Ok(reconstruct(x, Some(&self.mean), &self.components, self.scale().as_ref()))
    }

    fn supports(&self, method: Method) -> bool {
        matches!(method, Method::Transform | Method::InverseTransform)
    }
}

/// The full spectrum of the centred data, as the exact solvers find it.
struct Spectrum {
    /// All explained variances (`min(n, d)` of them), decreasing.
    variance: Array1<f64>,
    /// The matching right singular vectors, as rows, signs fixed.
    vt: Array2<f64>,
}

/// What a solver found: the whole spectrum and the total variance, or the top of it, the
/// total variance and the number of components.
enum Found {
    Spectrum(Spectrum, f64),
    Top(TopSvd, f64, usize),
}

/// How many components a variance fraction asks for: scikit-learn's
/// `searchsorted(cumsum(ratio), fraction, side="right") + 1`.
fn components_for_fraction(ratio: &Array1<f64>, fraction: f64) -> usize {
    let mut cum = 0.0;
    let mut below = 0;
    for &r in ratio {
        cum += r;
        if cum <= fraction {
            below += 1;
        } else {
            break;
        }
    }
    (below + 1).min(ratio.len())
}

/// The total variance a solver found.
fn total_of(found: &Found) -> f64 {
    match found {
        Found::Spectrum(_, total) | Found::Top(_, total, _) => *total,
    }
}

/// `v / total`, and 0 where there is no variance to explain (`total` is 0).
fn ratio(v: f64, total: f64) -> f64 {
    if total > 0.0 {
        v / total
    } else {
        0.0
    }
}

/// Whether a total variance is at the rounding level of the data's scale: at most
/// `d · ε · s`, where `s = (total + Σ mean²) / d` is the mean square of the features
/// (`ε = f64::EPSILON`, `d` the number of features). Variances computed from data whose rows
/// are all identical come out at about `ε²` to `ε` times the squared values, not 0.
pub(crate) fn noise_level_variance(total: f64, mean: &Array1<f64>) -> bool {
    let d = mean.len().max(1) as f64;
    let scale = (total + mean.dot(mean)) / d;
    total <= d * f64::EPSILON * scale
}

impl<F: Float, Y: Element> Fit<ChunkedDataset<F, Y>> for PcaParams {
    type Model = Pca;
    type Error = PcaError;

    /// Fits on the rows of `data.x()`; targets and weights are ignored.
    fn fit(&self, data: &ChunkedDataset<F, Y>) -> Result<Pca, PcaError> {
        let params = self.check_ref()?;
        let x = data.x();
        let d = x.n_cols();
        if d == 0 {
            return Err(PcaError::NoFeatures);
        }
        let solver = match params.solver() {
            PcaSolver::Auto => match x.n_rows() {
                Some(n) if d <= 1000 && n >= 10 * d => PcaSolver::CovarianceEigh,
                _ => PcaSolver::Tsqr,
            },
            s => s,
        };
        let check_k = |k: usize, n: usize| {
            let max = n.min(d);
            if k > max {
                Err(PcaError::TooManyComponents { n_components: k, max })
            } else {
                Ok(())
            }
        };
        let check_n = |n: usize| if n < 2 { Err(PcaError::TooFewSamples { n_samples: n }) } else { Ok(()) };

        let (n, mean, found) = match solver {
            #[allow(deprecated)]
            PcaSolver::CovarianceEigh | PcaSolver::Full | PcaSolver::Auto => {
                let m = moments(x, Scatter::Gram, true)?;
                let n = m.n as usize;
                check_n(n)?;
                let cov = m.mat / (n - 1) as f64;
                let (values, mut vt) = symmetric_eigen(&cov).map_err(PcaError::Linalg)?;
                let r = n.min(d);
                svd_flip_rows(&mut vt, None);
                // Rounding can make the smallest eigenvalues slightly negative; scikit-learn
                // clips them to 0 too.
                let variance = values.mapv(|v| v.max(0.0));
                let total: f64 = variance.sum();
                let spectrum = Spectrum { variance: variance.slice(s![..r]).to_owned(), vt: top_rows(&vt, r) };
                (n, m.mean, Found::Spectrum(spectrum, total))
            }
            PcaSolver::Tsqr => {
                let m = moments(x, Scatter::R, true)?;
                let n = m.n as usize;
                check_n(n)?;
                let (sv, mut vt) = thin_svd(&m.mat).map_err(PcaError::Linalg)?;
                svd_flip_rows(&mut vt, None);
                let variance = sv.mapv(|s| s * s / (n - 1) as f64);
                let total: f64 = variance.sum();
                // The stacked `R` can have more rows than the data when blocks are shorter
                // than wide; the extra singular values are zero up to rounding, and
                // scikit-learn has only `min(n, d)` of them.
                let r = n.min(d).min(variance.len());
                let spectrum = Spectrum { variance: variance.slice(s![..r]).to_owned(), vt: top_rows(&vt, r) };
                (n, m.mean, Found::Spectrum(spectrum, total))
            }
            PcaSolver::Randomized { n_oversamples, n_power_iter } => {
                let stats = x.column_stats(rask_ml::ReduceOptions::default())?.compute()?;
                let n = stats.count.first().copied().unwrap_or(0) as usize;
                check_n(n)?;
                let NComponents::Count(k) = params.n_components() else {
                    return Err(PcaParamsError::FractionNeedsExactSolver.into());
                };
                check_k(k, n)?;
                x.check_value_limit(
                    stats.min.as_slice().unwrap_or_default(),
                    stats.max.as_slice().unwrap_or_default(),
                )?;
                let total: f64 = stats.var(1).sum();
                if !total.is_finite() {
                    return Err(PcaError::Ml(rask_ml::MlError::NonFinite { what: "X".into() }));
                }
                let min_nd = n.min(d);
                let l = (k + n_oversamples).min(min_nd);
                let n_iter = n_power_iter.unwrap_or(if (k as f64) < 0.1 * min_nd as f64 { 7 } else { 4 });
                let top = randomized_svd(x, &stats.mean, k, l, n_iter, params.seed()).map_err(PcaError::Linalg)?;
                (n, stats.mean, Found::Top(top, total, k))
            }
        };

        // Data whose total variance is at the rounding level of its scale (all rows identical,
        // up to rounding) has no variance to explain: every variance counts as zero, rather than
        // ratios built from rounding noise (or 0/0).
        let degenerate = noise_level_variance(total_of(&found), &mean);
        let (components, explained_variance, total, noise_variance) = match found {
            Found::Spectrum(mut sp, mut total) => {
                if degenerate {
                    sp.variance.fill(0.0);
                    total = 0.0;
                }
                let ratio_all = sp.variance.mapv(|v| ratio(v, total));
                let k = match params.n_components() {
                    NComponents::Count(k) => {
                        check_k(k, n)?;
                        k
                    }
                    NComponents::VarianceFraction(f) => components_for_fraction(&ratio_all, f),
                };
                let noise = if k < n.min(d) { sp.variance.slice(s![k..]).mean().unwrap_or(0.0) } else { 0.0 };
                (top_rows(&sp.vt, k), sp.variance.slice(s![..k]).to_owned(), total, noise)
            }
            Found::Top(top, total, k) => {
                if degenerate {
                    (top.vt, Array1::zeros(k), 0.0, 0.0)
                } else {
                    let ev = top.s.mapv(|s| s * s / (n - 1) as f64);
                    let noise = if k < n.min(d) { (total - ev.sum()) / (n.min(d) - k) as f64 } else { 0.0 };
                    (top.vt, ev, total, noise)
                }
            }
        };
        let singular_values = explained_variance.mapv(|v| (v * (n - 1) as f64).sqrt());
        let explained_variance_ratio = explained_variance.mapv(|v| ratio(v, total));
        Ok(Pca {
            components,
            explained_variance,
            explained_variance_ratio,
            singular_values,
            mean,
            noise_variance,
            n_samples: n,
            n_features: d,
            whiten: params.whiten(),
            solver,
        })
    }
}

rask_ml::estimator!(PcaParams => Pca, name = "Pca", ops = "rask.estimators.decomposition.pca", kind = Transformer, targets = any, partial_fit = no);
