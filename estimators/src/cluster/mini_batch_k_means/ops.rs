//! The block ops of mini-batch k-means: the initialisation from the first block(s) and one
//! block's worth of mini-batch updates.

use ndarray::{s, Array2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rask_core::ops::expect_inputs;
use rask_core::{op_bail, op_ensure};
use rask_core::{Op, OpError, Value};
use rask_ml::nearest::{assign_labels, Arithmetic, PreparedCentres};
use rask_ml::with_block;
use rask_ml::Float;
use serde::{Deserialize, Serialize};

/// The running state of mini-batch k-means: the centres and how many rows each has absorbed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MiniBatchState {
    /// The centres, `k × d`.
    pub centres: Array2<f64>,
    /// Rows absorbed by each centre so far (scikit-learn's `_counts`).
    pub counts: Vec<f64>,
    /// Mini-batch updates so far.
    pub n_steps: u64,
}

/// How [`MiniBatchInitOp`] draws the centres.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InitKind {
    /// Greedy k-means++ over the block.
    KMeansPlusPlus,
    /// `k` distinct rows of the block.
    Random,
}

/// Draws `k` initial centres from a block (the first one).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MiniBatchInitOp {
    /// Number of centres.
    pub k: usize,
    /// How.
    pub kind: InitKind,
    /// The stream seed.
    pub stream: u64,
}

impl Op for MiniBatchInitOp {
    const NAME: &'static str = "rask.estimators.mini_batch_kmeans.init";
    /// Inputs: the first blocks of the data, as many as it takes to hold `k` rows (one when
    /// the first block is large enough); the centres are drawn from their rows together.
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        op_ensure!(!inputs.is_empty(), "{} needs at least one block", Self::NAME);
        let mut parts: Vec<Array2<f64>> = Vec::with_capacity(inputs.len());
        for v in inputs {
            parts.push(with_block!(v, |a| a.mapv(|v| v.widen())));
        }
        let x = if parts.len() == 1 {
            parts.pop().unwrap_or_default()
        } else {
            let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
            ndarray::concatenate(Axis(0), &views).map_err(|e| OpError::new(format!("cannot stack the blocks: {e}")))?
        };
        if x.nrows() < self.k {
            op_bail!("the first blocks have {} rows, fewer than k = {}", x.nrows(), self.k);
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(OpError::new("the first blocks hold a NaN or infinite value; k-means needs finite data"));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.stream);
        let centres = match self.kind {
            InitKind::KMeansPlusPlus => {
                let w = vec![1.0; x.nrows()];
                crate::cluster::k_means::init::weighted_k_means_pp(x.view(), &w, self.k, &mut rng)
            }
            InitKind::Random => {
                let rows = rand::seq::index::sample(&mut rng, x.nrows(), self.k).into_vec();
                x.select(Axis(0), &rows)
            }
        };
        Ok(Value::new(MiniBatchState { centres, counts: vec![0.0; self.k], n_steps: 0 }))
    }
}

/// Mini-batch updates over one block: the block is cut into batches of `batch_size` rows, in
/// order; each batch is assigned to the current centres, then every centre that received rows
/// moves to the mean of everything it has absorbed so far (scikit-learn's per-centre learning
/// rate `1 / count`). Inputs: the state and the block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MiniBatchStep {
    /// Rows per batch.
    pub batch_size: usize,
    /// The kernel's arithmetic, chosen by the client, so every worker gives the same bits.
    pub arithmetic: Arithmetic,
}

impl Op for MiniBatchStep {
    const NAME: &'static str = "rask.estimators.mini_batch_kmeans.step";
    // 2: the arithmetic is an argument.
    const VERSION: u32 = 2;
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 2, Self::NAME)?;
        let mut state = inputs[0].get::<MiniBatchState>()?.clone();
        let (k, d) = state.centres.dim();
        with_block!(&inputs[1], |a| {
            let a = a.view();
            op_ensure!(a.ncols() == d, "block has {} columns, the centres have {d}", a.ncols());
            let batch = self.batch_size.max(1);
            let mut start = 0;
            while start < a.nrows() {
                let end = (start + batch).min(a.nrows());
                let prepared = PreparedCentres::with_arithmetic(state.centres.view(), self.arithmetic);
                let mut sums = Array2::<f64>::zeros((k, d));
                let mut counts = vec![0.0f64; k];
                {
                    // A fresh standard-layout array, so the slice exists.
                    let flat = sums.as_slice_mut().expect("standard layout");
                    assign_labels(a.slice(s![start..end, ..]), &prepared, |_, c, row| {
                        counts[c] += 1.0;
                        for (s, &v) in flat[c * d..(c + 1) * d].iter_mut().zip(row) {
                            *s += v;
                        }
                    })
                    .map_err(|e| OpError::new(format!("rows from {start}: {}", e.message())))?;
                }
                for (c, &n) in counts.iter().enumerate() {
                    if n > 0.0 {
                        let old = state.counts[c];
                        state.counts[c] = old + n;
                        let alpha = 1.0 / state.counts[c];
                        let mut row = state.centres.row_mut(c);
                        for (v, &s) in row.iter_mut().zip(sums.row(c)) {
                            *v = (*v * old + s) * alpha;
                        }
                    }
                }
                state.n_steps += 1;
                start = end;
            }
            Ok(Value::new(state))
        })
    }
}
