//! The incremental PCA update, the fit over batches, and the fitted model.

use ndarray::{concatenate, s, Array1, Array2, ArrayView2, Axis};
use rask_ml::traits::{BlockModel, Method, ModelKind};
use rask_ml::{ChunkedArray, ChunkedDataset, Element, Fit, Float, ParamGuard, PartialFit};
use serde::{Deserialize, Serialize};

use super::errors::IncrementalPcaError;
use super::params::{IncrementalPcaParams, IncrementalPcaValidParams};
use crate::decomposition::ops::{project, reconstruct, svd_flip_rows, thin_svd, top_rows, whitening_scale, Scatter};
use crate::decomposition::passes::moments;

/// A fitted incremental PCA, with scikit-learn's attributes; `partial_fit` takes it by value
/// and returns the updated model.
///
/// Each update is scikit-learn's (Ross et al.'s incremental SVD with a mean correction): the
/// SVD of the previous components scaled by their singular values, stacked on the batch
/// centred on its own mean and one row `√(n_seen · n_batch / n_total) (μ_seen − μ_batch)`.
/// The batch enters through the `R` of a TSQR of its centred rows (one tree-reduced pass over
/// its blocks), which has the same singular values and right singular vectors as the rows
/// themselves, so a batch never has to fit in one task.
///
/// ```
/// use ndarray::Array2;
/// use rask_estimators::decomposition::{IncrementalPca, IncrementalPcaParams};
/// use rask_ml::{Dataset, PartialFit};
///
/// let x = Array2::from_shape_fn((40, 3), |(i, j)| ((i * 7 + j * 3) % 11) as f64 + i as f64 * j as f64);
/// let params = IncrementalPcaParams::new(2);
/// let first = Dataset::<f64>::unlabelled(x.slice(ndarray::s![..20, ..]).to_owned());
/// let second = Dataset::<f64>::unlabelled(x.slice(ndarray::s![20.., ..]).to_owned());
/// let model = params.partial_fit(None, &first).unwrap();
/// let model: IncrementalPca = params.partial_fit(Some(model), &second).unwrap();
/// assert_eq!(model.n_samples_seen, 40);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncrementalPca {
    /// Principal axes as rows (`n_components × n_features`), signs as scikit-learn's
    /// `svd_flip(u_based_decision=False)`.
    pub components: Array2<f64>,
    /// Variance along each component (`n − 1` denominator).
    pub explained_variance: Array1<f64>,
    /// Fraction of the total variance along each component; 0 (as are the explained variances)
    /// where the total variance is at the rounding level of the data's scale, as for `Pca`.
    pub explained_variance_ratio: Array1<f64>,
    /// Singular values along each component.
    pub singular_values: Array1<f64>,
    /// Running column means.
    pub mean: Array1<f64>,
    /// Running column variances (`n` denominator, as scikit-learn's `var_`).
    pub var: Array1<f64>,
    /// The mean variance of the discarded directions of the last update (0 when the last
    /// batch's row count or the feature count equals `n_components`, as in scikit-learn).
    pub noise_variance: f64,
    /// Rows seen so far.
    pub n_samples_seen: usize,
    /// Columns.
    pub n_features: usize,
    /// Whether `transform` whitens.
    pub whiten: bool,
}

impl IncrementalPca {
    /// Number of components kept.
    pub fn n_components(&self) -> usize {
        self.components.nrows()
    }

    fn scale(&self) -> Option<Array1<f64>> {
        self.whiten.then(|| whitening_scale(&self.explained_variance))
    }
}

impl BlockModel for IncrementalPca {
    const APPLY_OP: &'static str = "rask.estimators.decomposition.incremental_pca.apply";
    const KIND: ModelKind = ModelKind::Transformer;
    type Label = f64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        crate::decomposition::validate_pca(
            "IncrementalPca",
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

/// One update with the rows of `x` as a single batch.
fn update<F: Float>(
    params: &IncrementalPcaValidParams,
    model: Option<IncrementalPca>,
    x: &ChunkedArray<F>,
) -> Result<IncrementalPca, IncrementalPcaError> {
    let d = x.n_cols();
    let k = params.n_components();
    if let Some(m) = &model {
        if m.n_features != d {
            return Err(IncrementalPcaError::FeatureMismatch { expected: m.n_features, found: d });
        }
        if m.n_components() != k {
            return Err(IncrementalPcaError::ComponentMismatch { expected: k, found: m.n_components() });
        }
    }
    if k > d {
        return Err(IncrementalPcaError::TooManyComponents { n_components: k, n_features: d });
    }
    if let Some(n) = x.n_rows() {
        if model.is_none() && k > n {
            return Err(IncrementalPcaError::FirstBatchTooSmall { n_components: k, n_samples: n });
        }
    }
    let batch = moments(x, Scatter::R, true)?;
    let n_b = batch.n as usize;
    if model.is_none() && k > n_b {
        return Err(IncrementalPcaError::FirstBatchTooSmall { n_components: k, n_samples: n_b });
    }
    let n_seen = model.as_ref().map_or(0, |m| m.n_samples_seen);
    let n_total = n_seen + n_b;
    if n_total < 2 {
        return Err(IncrementalPcaError::TooFewSamples { n_samples: n_total });
    }
    // The batch's centred sums of squares per column are the squared column norms of its `R`.
    let batch_m2 = batch.mat.map_axis(Axis(0), |c| c.dot(&c));
    let (mean, var, stacked, n_values) = match &model {
        None => {
            let var = batch_m2 / n_b as f64;
            (batch.mean.clone(), var, batch.mat.clone(), n_b.min(d))
        }
        Some(m) => {
            // Chan et al.'s update of the running mean and variance, as scikit-learn's
            // `_incremental_mean_and_var`.
            let (a, b, t) = (n_seen as f64, n_b as f64, n_total as f64);
            let delta = &batch.mean - &m.mean;
            let mean = &m.mean + &(&delta * (b / t));
            let m2 = &m.var * a + &batch_m2 + &(delta.mapv(|x| x * x) * (a * b / t));
            let var = m2 / t;
            let mut scaled = m.components.clone();
            for (mut row, &s) in scaled.rows_mut().into_iter().zip(m.singular_values.iter()) {
                row *= s;
            }
            let correction = ((&m.mean - &batch.mean) * (a / t * b).sqrt()).insert_axis(Axis(0));
            let stacked = concatenate(Axis(0), &[scaled.view(), batch.mat.view(), correction.view()])
                .map_err(|e| IncrementalPcaError::Linalg(e.to_string()))?;
            (mean, var, stacked, (k + n_b + 1).min(d))
        }
    };
    let (s, mut vt) = thin_svd(&stacked).map_err(IncrementalPcaError::Linalg)?;
    svd_flip_rows(&mut vt, None);
    // scikit-learn's stacked matrix has `n_values` singular values; ours can have a few more
    // (zero up to rounding) when the batch's `R` came from blocks shorter than wide.
    let n_values = n_values.min(s.len());
    let s = s.slice(s![..n_values]).to_owned();
    let total_scatter: f64 = var.sum() * n_total as f64;
    // As for `Pca`: a total variance at the rounding level of the data's scale (all rows
    // identical) explains no variance, so the variances and ratios are 0, not noise or 0/0.
    // The singular values are kept: `partial_fit` continues from them.
    let degenerate = crate::decomposition::pca::noise_level_variance(var.sum(), &mean);
    let explained_all = if degenerate { Array1::zeros(s.len()) } else { s.mapv(|x| x * x / (n_total - 1) as f64) };
    let noise_variance =
        if k != n_b && k != d && k < n_values { explained_all.slice(s![k..]).mean().unwrap_or(0.0) } else { 0.0 };
    let explained_variance_ratio =
        if degenerate { Array1::zeros(k) } else { s.slice(s![..k]).mapv(|x| x * x / total_scatter) };
    Ok(IncrementalPca {
        components: top_rows(&vt, k),
        explained_variance: explained_all.slice(s![..k]).to_owned(),
        explained_variance_ratio,
        singular_values: s.slice(s![..k]).to_owned(),
        mean,
        var,
        noise_variance,
        n_samples_seen: n_total,
        n_features: d,
        whiten: params.whiten(),
    })
}

/// scikit-learn's `gen_batches(n, batch_size, min_batch_size)`: `(start, end)` row ranges.
fn gen_batches(n: usize, batch_size: usize, min_batch_size: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for _ in 0..n / batch_size {
        let end = start + batch_size;
        if end + min_batch_size > n {
            continue;
        }
        out.push((start, end));
        start = end;
    }
    if start < n {
        out.push((start, n));
    }
    out
}

impl<F: Float, Y: Element> PartialFit<ChunkedDataset<F, Y>> for IncrementalPcaParams {
    type Model = IncrementalPca;
    type Error = IncrementalPcaError;

    /// Updates `model` (or starts one) with all rows of `data.x()` as one batch.
    fn partial_fit(
        &self,
        model: Option<IncrementalPca>,
        data: &ChunkedDataset<F, Y>,
    ) -> Result<IncrementalPca, IncrementalPcaError> {
        let params = self.check_ref()?;
        update(params, model, data.x())
    }
}

impl<F: Float, Y: Element> Fit<ChunkedDataset<F, Y>> for IncrementalPcaParams {
    type Model = IncrementalPca;
    type Error = IncrementalPcaError;

    /// `partial_fit` over the batches in row order: every block, or runs of `batch_size` rows.
    fn fit(&self, data: &ChunkedDataset<F, Y>) -> Result<IncrementalPca, IncrementalPcaError> {
        let params = self.check_ref()?;
        let mut x = data.x().clone();
        if x.chunks().sizes().is_none() {
            x = x.compute_chunk_sizes()?;
        }
        let sizes = x.chunks().sizes().map(<[usize]>::to_vec).unwrap_or_default();
        let n: usize = sizes.iter().sum();
        let ranges = match params.batch_size() {
            Some(b) => gen_batches(n, b, params.n_components()),
            None => {
                let mut start = 0;
                sizes
                    .iter()
                    .filter(|&&m| m > 0)
                    .map(|&m| {
                        start += m;
                        (start - m, start)
                    })
                    .collect()
            }
        };
        let mut model = None;
        for (start, end) in ranges {
            let batch = if start == 0 && end == n { x.clone() } else { x.slice_rows(start, end)? };
            model = Some(update(params, model, &batch)?);
        }
        model.ok_or(IncrementalPcaError::TooFewSamples { n_samples: 0 })
    }
}

rask_ml::estimator!(IncrementalPcaParams => IncrementalPca, name = "IncrementalPca", ops = "rask.estimators.decomposition.incremental_pca", kind = Transformer, targets = any, partial_fit = yes);

#[cfg(test)]
mod tests {
    use super::gen_batches;

    #[test]
    fn batches_follow_scikit_learn() {
        assert_eq!(gen_batches(10, 4, 0), vec![(0, 4), (4, 8), (8, 10)]);
        // A last batch shorter than `min_batch_size` is merged into the one before.
        assert_eq!(gen_batches(10, 4, 3), vec![(0, 4), (4, 10)]);
        assert_eq!(gen_batches(3, 4, 0), vec![(0, 3)]);
    }
}
