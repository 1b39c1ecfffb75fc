//! The block ops of k-means: Lloyd partial sums, and the k-means‖ / k-means++ passes.

use ndarray::{Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rask_core::ops::expect_inputs;
use rask_core::{op_bail, op_ensure};
use rask_core::{Op, OpError, Value};
use rask_ml::nearest::{assign_rows, partials, Arithmetic, PreparedCentres};
use rask_ml::with_block;
use rask_ml::Float;
use serde::{Deserialize, Serialize};

fn check_width(a: usize, d: usize) -> Result<(), OpError> {
    if a == d {
        Ok(())
    } else {
        Err(OpError::new(format!("block has {a} columns, the centres have {d}")))
    }
}

/// One Lloyd pass over a block: [`AssignPartials`] for the given centres. Merged with
/// `rask_ml`'s `MergeAssignPartials`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LloydPartials {
    /// The current centres, `k × d`.
    pub centres: Array2<f64>,
    /// Whether to compute the inertia (the centre updates do not need it).
    pub inertia: bool,
    /// The kernel's arithmetic, chosen by the client ([`Arithmetic::local`] there), so every
    /// worker gives the same bits.
    pub arithmetic: Arithmetic,
}

impl Op for LloydPartials {
    const NAME: &'static str = "rask.estimators.kmeans.lloyd_partials";
    // 2: the arithmetic is an argument.
    const VERSION: u32 = 2;
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        let prepared = PreparedCentres::with_arithmetic(self.centres.view(), self.arithmetic);
        with_block!(&inputs[0], |a| {
            let a = a.view();
            Ok(Value::new(partials(a, &prepared, self.inertia)?))
        })
    }
}

/// Per row of a block, the squared distance to the nearest candidate centre so far and that
/// candidate's index; `sum` is the block's total (its share of the potential `φ`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MinDist {
    /// Squared distance of each row to its nearest candidate.
    pub d2: Vec<f64>,
    /// Index of that candidate.
    pub idx: Vec<u32>,
    /// `Σ d2`.
    pub sum: f64,
}

/// Updates [`MinDist`] with new candidates (numbered from `offset`): input 0 is the `x`
/// block, input 1 (absent in the first pass) the previous [`MinDist`]. A new candidate wins
/// only if strictly nearer, so ties keep the earlier candidate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UpdateMinDist {
    /// The new candidates, `m × d`.
    pub centres: Array2<f64>,
    /// Global index of the first new candidate.
    pub offset: u32,
    /// The kernel's arithmetic, chosen by the client.
    pub arithmetic: Arithmetic,
}

impl Op for UpdateMinDist {
    const NAME: &'static str = "rask.estimators.kmeans.update_min_dist";
    // 2: the arithmetic is an argument.
    const VERSION: u32 = 2;
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        if inputs.is_empty() || inputs.len() > 2 {
            op_bail!("{} takes 1 or 2 inputs, got {}", Self::NAME, inputs.len());
        }
        let prev = inputs.get(1).map(|v| v.get::<MinDist>()).transpose()?;
        let prepared = PreparedCentres::with_arithmetic(self.centres.view(), self.arithmetic);
        with_block!(&inputs[0], |a| {
            let a = a.view();
            check_width(a.ncols(), prepared.d())?;
            let n = a.nrows();
            let mut out = match prev {
                Some(p) => {
                    op_ensure!(p.d2.len() == n, "{} distances for a {n}-row block", p.d2.len());
                    p.clone()
                }
                None => MinDist { d2: vec![f64::INFINITY; n], idx: vec![0; n], sum: 0.0 },
            };
            assign_rows(a, &prepared, |i, c, d2, _| {
                if d2 < out.d2[i] {
                    out.d2[i] = d2;
                    out.idx[i] = self.offset + c as u32;
                }
            })
            .map_err(|e| OpError::new(e.message()))?;
            out.sum = out.d2.iter().sum();
            Ok(Value::new(out))
        })
    }
}

/// A block's share of the potential: [`MinDist::sum`]. The distances stay where they were
/// computed (on a worker, on a cluster); only this number reaches the driver.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MinDistSum;

impl Op for MinDistSum {
    const NAME: &'static str = "rask.estimators.kmeans.min_dist_sum";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        Ok(Value::new(inputs[0].get::<MinDist>()?.sum))
    }
}

/// How many rows of a block are nearest to each of `m` candidates (`Vec<f64>` of length `m`,
/// merged by [`SumVecs`]): the k-means‖ candidate weights. Input: the block's [`MinDist`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CandidateCounts {
    /// The number of candidates.
    pub m: u32,
}

impl Op for CandidateCounts {
    const NAME: &'static str = "rask.estimators.kmeans.candidate_counts";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        let md = inputs[0].get::<MinDist>()?;
        let mut counts = vec![0.0; self.m as usize];
        for &i in &md.idx {
            let c = counts.get_mut(i as usize).ok_or_else(|| OpError::new(format!("candidate {i} of {}", self.m)))?;
            *c += 1.0;
        }
        Ok(Value::new(counts))
    }
}

/// k-means‖ sampling in one block: keeps row `i` with probability `min(1, factor · d2[i])`
/// (`factor = ℓ / φ`), drawing from the block's own stream. Inputs: the `x` block and its
/// [`MinDist`]. Returns the kept rows, widened to `f64`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SampleCandidates {
    /// `ℓ / φ`.
    pub factor: f64,
    /// The block's stream seed, derived from `(seed, round, block)`.
    pub stream: u64,
}

impl Op for SampleCandidates {
    const NAME: &'static str = "rask.estimators.kmeans.sample_candidates";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 2, Self::NAME)?;
        let md = inputs[1].get::<MinDist>()?;
        with_block!(&inputs[0], |a| {
            let a = a.view();
            op_ensure!(md.d2.len() == a.nrows(), "{} distances for a {}-row block", md.d2.len(), a.nrows());
            let mut rng = ChaCha8Rng::seed_from_u64(self.stream);
            // One draw per row, always, so the stream does not depend on the distances.
            let keep: Vec<usize> = md
                .d2
                .iter()
                .enumerate()
                .filter(|(_, &d2)| rng.gen::<f64>() < self.factor * d2)
                .map(|(i, _)| i)
                .collect();
            Ok(Value::new(a.select(Axis(0), &keep).mapv(|v| v.widen())))
        })
    }
}

/// k-means++ draw in one block: the first row whose running sum of `d2` exceeds `target`
/// (the last row with a positive distance if rounding leaves none). Inputs: the `x` block and
/// its [`MinDist`]. Returns the row as a `1 × d` `f64` array.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PickByWeight {
    /// Where the draw falls within this block's share of `φ`.
    pub target: f64,
}

impl Op for PickByWeight {
    const NAME: &'static str = "rask.estimators.kmeans.pick_by_weight";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 2, Self::NAME)?;
        let md = inputs[1].get::<MinDist>()?;
        with_block!(&inputs[0], |a| {
            let a = a.view();
            op_ensure!(md.d2.len() == a.nrows(), "{} distances for a {}-row block", md.d2.len(), a.nrows());
            let mut acc = 0.0;
            let mut pick = None;
            for (i, &d2) in md.d2.iter().enumerate() {
                if d2 > 0.0 {
                    pick = Some(i);
                    acc += d2;
                    if acc > self.target {
                        break;
                    }
                }
            }
            let i = pick.ok_or_else(|| OpError::new("no row of this block has a positive distance"))?;
            Ok(Value::new(a.select(Axis(0), &[i]).mapv(|v| v.widen())))
        })
    }
}

/// The rows at the given positions of a block, widened to `f64`, in the given order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TakeRowsAt {
    /// Positions within the block.
    pub rows: Vec<usize>,
}

impl Op for TakeRowsAt {
    const NAME: &'static str = "rask.estimators.kmeans.take_rows_at";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        with_block!(&inputs[0], |a| {
            let a = a.view();
            if let Some(&r) = self.rows.iter().find(|&&r| r >= a.nrows()) {
                op_bail!("row {r} of a {}-row block", a.nrows());
            }
            Ok(Value::new(a.select(Axis(0), &self.rows).mapv(|v| v.widen())))
        })
    }
}

/// Greedy k-means++ trials in one block: for each trial centre `t`, the block's share of the
/// potential if `t` were added, `Σ_i min(d2[i], ‖x_i − t‖²)`. Inputs: the `x` block and its
/// [`MinDist`]. Returns one sum per trial (`Vec<f64>`), merged by [`SumVecs`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrialPotentials {
    /// The trial centres, `t × d`.
    pub trials: Array2<f64>,
}

impl Op for TrialPotentials {
    const NAME: &'static str = "rask.estimators.kmeans.trial_potentials";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 2, Self::NAME)?;
        let md = inputs[1].get::<MinDist>()?;
        let (t, d) = self.trials.dim();
        let trials: Vec<f64> = self.trials.iter().copied().collect();
        with_block!(&inputs[0], |a| {
            let a = a.view();
            check_width(a.ncols(), d)?;
            op_ensure!(md.d2.len() == a.nrows(), "{} distances for a {}-row block", md.d2.len(), a.nrows());
            let mut out = vec![0.0; t];
            let mut row = vec![0.0; d];
            for (r, &d2) in a.rows().into_iter().zip(&md.d2) {
                for (o, &v) in row.iter_mut().zip(r.iter()) {
                    *o = v.widen();
                }
                for (acc, c) in out.iter_mut().zip(trials.chunks_exact(d.max(1))) {
                    *acc += d2.min(rask_ml::nearest::sq_dist(&row, c));
                }
            }
            Ok(Value::new(out))
        })
    }
}

/// Adds `Vec<f64>` inputs elementwise, in order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SumVecs;

impl Op for SumVecs {
    const NAME: &'static str = "rask.estimators.kmeans.sum_vecs";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let (first, rest) = inputs.split_first().ok_or_else(|| OpError::new("nothing to add"))?;
        let mut acc = first.get::<Vec<f64>>()?.clone();
        for v in rest {
            let v = v.get::<Vec<f64>>()?;
            op_ensure!(v.len() == acc.len(), "cannot add vectors of lengths {} and {}", acc.len(), v.len());
            for (a, b) in acc.iter_mut().zip(v) {
                *a += b;
            }
        }
        Ok(Value::new(acc))
    }
}
