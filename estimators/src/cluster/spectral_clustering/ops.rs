//! The block ops of Nyström spectral clustering.

use ndarray::{Array1, Array2, ArrayView2};
use rask_core::ops::expect_inputs;
use rask_core::{Op, OpError, Value};
use rask_ml::nearest::sq_dist;
use rask_ml::with_block;
use rask_ml::Float;
use serde::{Deserialize, Serialize};

/// The RBF affinities of each row of `x` to the landmarks (`rows × m`), widened to `f64`;
/// fails on the first row that is not finite.
pub(crate) fn affinities<F: Float>(
    x: ArrayView2<'_, F>,
    landmarks: &Array2<f64>,
    gamma: f64,
) -> Result<Array2<f64>, String> {
    let (m, d) = landmarks.dim();
    if x.ncols() != d {
        return Err(format!("block has {} columns, the landmarks have {d}", x.ncols()));
    }
    let flat: Vec<f64> = landmarks.iter().copied().collect();
    let mut out = Array2::zeros((x.nrows(), m));
    let mut row = vec![0.0; d];
    for (i, r) in x.rows().into_iter().enumerate() {
        for (o, &v) in row.iter_mut().zip(r.iter()) {
            *o = v.widen();
        }
        if row.iter().any(|v| !v.is_finite()) {
            return Err(format!("row {i} of the block holds a NaN or infinite value; finite data is required"));
        }
        for (j, l) in flat.chunks_exact(d.max(1)).enumerate() {
            out[[i, j]] = (-gamma * sq_dist(&row, l)).exp();
        }
    }
    Ok(out)
}

/// The Nyström spectral embedding: everything needed to map a row to its `k` coordinates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NystromEmbedding {
    /// The landmark rows, `m × d`.
    pub landmarks: Array2<f64>,
    /// The RBF kernel's `gamma`.
    pub gamma: f64,
    /// `A⁺ s`: a row's approximate degree is its affinities to the landmarks dotted with this
    /// (`A` the landmarks' affinities, `s` the column sums of all rows' affinities).
    pub degree_weights: Array1<f64>,
    /// `m × k`: a row's coordinates are `d^{-1/2} · c · projection`, normalised to unit length.
    pub projection: Array2<f64>,
}

impl NystromEmbedding {
    /// Embeds the rows of `x` (`rows × k`, unit rows).
    pub fn embed<F: Float>(&self, x: ArrayView2<'_, F>) -> Result<Array2<f64>, String> {
        let c = affinities(x, &self.landmarks, self.gamma)?;
        let mut u = c.dot(&self.projection);
        for (mut ur, cr) in u.rows_mut().into_iter().zip(c.rows()) {
            let deg = cr.dot(&self.degree_weights).max(DEGREE_FLOOR);
            ur.mapv_inplace(|v| v / deg.sqrt());
            let norm = ur.dot(&ur).sqrt();
            if norm > 0.0 {
                ur.mapv_inplace(|v| v / norm);
            }
        }
        Ok(u)
    }
}

/// The smallest approximate degree used: the Nyström degrees can come out tiny or even
/// negative for rows far from every landmark.
pub(crate) const DEGREE_FLOOR: f64 = 1e-12;

/// Column sums of a block's affinities to the landmarks (`Vec<f64>` of length `m`), merged
/// with `SumVecs`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AffinitySums {
    /// The landmarks.
    pub landmarks: Array2<f64>,
    /// The RBF `gamma`.
    pub gamma: f64,
}

impl Op for AffinitySums {
    const NAME: &'static str = "rask.estimators.spectral.affinity_sums";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        with_block!(&inputs[0], |a| {
            let a = a.view();
            let c = affinities(a, &self.landmarks, self.gamma).map_err(OpError::new)?;
            Ok(Value::new(c.sum_axis(ndarray::Axis(0)).to_vec()))
        })
    }
}

/// `Σ GᵢᵀGᵢ` over a block's rows, `Gᵢ = dᵢ^{-1/2} cᵢ A^{-1/2}` (`m × m`), merged with
/// `rask_ml`'s `SumMatrices`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NystromGram {
    /// The landmarks.
    pub landmarks: Array2<f64>,
    /// The RBF `gamma`.
    pub gamma: f64,
    /// `A⁺ s`.
    pub degree_weights: Array1<f64>,
    /// `A^{-1/2}`.
    pub a_inv_sqrt: Array2<f64>,
}

impl Op for NystromGram {
    const NAME: &'static str = "rask.estimators.spectral.nystrom_gram";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        with_block!(&inputs[0], |a| {
            let a = a.view();
            let c = affinities(a, &self.landmarks, self.gamma).map_err(OpError::new)?;
            let mut g = c.dot(&self.a_inv_sqrt);
            for (mut gr, cr) in g.rows_mut().into_iter().zip(c.rows()) {
                let deg = cr.dot(&self.degree_weights).max(DEGREE_FLOOR);
                gr.mapv_inplace(|v| v / deg.sqrt());
            }
            Ok(Value::new(g.t().dot(&g)))
        })
    }
}

/// Embeds a block with a [`NystromEmbedding`] (`rows × k`, `f64`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EmbedBlock {
    /// The embedding.
    pub embedding: NystromEmbedding,
}

impl Op for EmbedBlock {
    const NAME: &'static str = "rask.estimators.spectral.embed";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        with_block!(&inputs[0], |a| {
            let a = a.view();
            Ok(Value::new(self.embedding.embed(a).map_err(OpError::new)?))
        })
    }
}
