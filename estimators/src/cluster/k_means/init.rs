//! Initial centres: k-means‖, k-means++ and random rows over chunked data, and the
//! in-memory weighted k-means++ / Lloyd that reduce k-means‖ candidates to `k` centres.

use ndarray::{concatenate, Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rask_core::{Graph, Key, Scheduler, Value};
use rask_ml::nearest::Arithmetic;
use rask_ml::{BlockLayer, ChunkedArray, Float, Lazy, MlError};

use super::ops::{
    CandidateCounts, MinDistSum, PickByWeight, SampleCandidates, SumVecs, TakeRowsAt, TrialPotentials, UpdateMinDist,
};

/// A stream seed of the k-means family (k-means, mini-batch k-means, spectral clustering):
/// [`rask_ml::stream_seed`] in the domain `["rask.estimators.kmeans", what]`, so different
/// uses (rounds, blocks, initialisations) never share a random stream.
pub(crate) fn stream(what: &str, seed: u64, path: &[u64]) -> u64 {
    rask_ml::stream_seed(&["rask.estimators.kmeans", what], seed, path)
}

/// Stacks rows that block tasks returned. They have the data's width unless a task (or a
/// worker) misbehaved, which is an error rather than a panic.
fn stack_rows(what: &'static str, views: &[ArrayView2<'_, f64>]) -> Result<Array2<f64>, MlError> {
    concatenate(Axis(0), views)
        .map_err(|e| MlError::InvalidParameter { name: what, message: format!("cannot stack {what}: {e}") })
}

pub(crate) fn value_as<'a, T: std::any::Any>(v: &'a Value, key: &Key) -> Result<&'a T, MlError> {
    v.get::<T>().map_err(|source| MlError::Graph(rask_core::Error::ValueType { key: key.clone(), source }))
}

fn sizes<F: Float>(x: &ChunkedArray<F>) -> Result<&[usize], MlError> {
    x.chunks().sizes().ok_or_else(|| MlError::UnknownChunkSizes { operation: "k-means initialisation".into() })
}

/// The rows at global positions `rows` (in that order), widened to `f64`.
pub(crate) fn gather_rows<F: Float>(
    x: &ChunkedArray<F>,
    rows: &[usize],
    sched: &Scheduler,
) -> Result<Array2<f64>, MlError> {
    let sizes = sizes(x)?;
    let mut starts = Vec::with_capacity(sizes.len());
    let mut acc = 0;
    for &s in sizes {
        starts.push(acc);
        acc += s;
    }
    // Per block: the local rows asked for, and where each goes in the output.
    let mut per_block: Vec<(Vec<usize>, Vec<usize>)> = vec![(Vec::new(), Vec::new()); sizes.len()];
    for (pos, &r) in rows.iter().enumerate() {
        if r >= acc {
            return Err(MlError::InvalidParameter { name: "rows", message: format!("row {r} of {acc}") });
        }
        let b = starts.partition_point(|&s| s <= r) - 1;
        per_block[b].0.push(r - starts[b]);
        per_block[b].1.push(pos);
    }
    let mut g = Graph::new();
    let mut keys = Vec::new();
    let mut outs = Vec::new();
    for (b, (local, pos)) in per_block.into_iter().enumerate() {
        if !local.is_empty() {
            keys.push(g.task(TakeRowsAt { rows: local }, &[x.block_key(b)])?);
            outs.push(pos);
        }
    }
    let values = sched.compute(&x.layers().with(g).to_graph(), &keys)?;
    let mut out = Array2::zeros((rows.len(), x.n_cols()));
    for ((v, k), pos) in values.iter().zip(&keys).zip(outs) {
        let part = value_as::<Array2<f64>>(v, k)?;
        for (j, &p) in pos.iter().enumerate() {
            out.row_mut(p).assign(&part.row(j));
        }
    }
    Ok(out)
}

/// The per-row distances to the nearest candidate, kept between passes where they were
/// computed: in memory on a local scheduler, on the workers (the layer holds futures) on a
/// cluster. Only each block's share of the potential reaches the driver.
pub(crate) struct MinDistLayer {
    pub(crate) layer: BlockLayer,
    pub(crate) sums: Vec<f64>,
}

impl MinDistLayer {
    /// Computes (first pass) or updates the distances with `centres`, numbered from `offset`.
    pub(crate) fn update<F: Float>(
        x: &ChunkedArray<F>,
        prev: Option<&MinDistLayer>,
        centres: &Array2<f64>,
        offset: usize,
        sched: &Scheduler,
    ) -> Result<Self, MlError> {
        // Chosen on the client, as for the Lloyd passes (`Arithmetic::local`).
        let op = UpdateMinDist { centres: centres.clone(), offset: offset as u32, arithmetic: Arithmetic::local() };
        let chunks = x.chunks().clone();
        let layer = match prev {
            None => x.block_layer().map(op, chunks.clone())?,
            Some(p) => x.block_layer().zip_map(&[&p.layer], op, chunks.clone())?,
        };
        let sums = layer.map(MinDistSum, chunks)?;
        // One computation: the distances are kept (the next pass starts from them), the sums
        // are read back.
        let mut kept = BlockLayer::persist_together(&[&layer, &sums], sched)?.into_iter();
        let (layer, sums) = match (kept.next(), kept.next()) {
            (Some(l), Some(s)) => (l, s),
            _ => return Err(MlError::Graph(rask_core::Error::Scheduler("a persisted layer is missing".into()))),
        };
        let keys = sums.block_keys();
        let sums = sums
            .compute_blocks(sched)?
            .iter()
            .zip(&keys)
            .map(|(v, k)| value_as::<f64>(v, k).copied())
            .collect::<Result<_, _>>()?;
        Ok(MinDistLayer { layer, sums })
    }

    fn total(&self) -> f64 {
        self.sums.iter().sum()
    }

    /// How many rows are nearest to each of `m` candidates, tree-reduced where the distances
    /// are (the counts are integers below 2⁵³, so the sums are exact in any order).
    fn counts(&self, m: usize, split_every: usize, sched: &Scheduler) -> Result<Vec<f64>, MlError> {
        let m = u32::try_from(m)
            .map_err(|_| MlError::InvalidParameter { name: "n_clusters", message: format!("{m} candidates") })?;
        let (layers, key) = self.layer.reduce(&[], CandidateCounts { m }, SumVecs, split_every)?;
        Lazy::<Vec<f64>>::new(layers, key).compute_on(sched)
    }
}

/// k-means‖: see [`KMeansInit::KMeansParallel`](super::KMeansInit::KMeansParallel).
pub(crate) fn k_means_parallel<F: Float>(
    x: &ChunkedArray<F>,
    k: usize,
    oversampling_factor: f64,
    n_rounds: usize,
    seed: u64,
    split_every: usize,
    sched: &Scheduler,
) -> Result<Array2<f64>, MlError> {
    let n: usize = sizes(x)?.iter().sum();
    let mut rng = ChaCha8Rng::seed_from_u64(stream("parallel.driver", seed, &[]));
    let mut cands = gather_rows(x, &[rng.gen_range(0..n)], sched)?;
    let mut md = MinDistLayer::update(x, None, &cands, 0, sched)?;
    let ell = oversampling_factor * k as f64;
    for round in 0..n_rounds {
        let phi = md.total();
        if phi <= 0.0 {
            break;
        }
        let ops = (0..x.n_blocks())
            .map(|b| SampleCandidates {
                factor: ell / phi,
                stream: stream("parallel.sample", seed, &[round as u64, b as u64]),
            })
            .collect();
        let sampled = x.block_layer().zip_map_each(&[&md.layer], ops, x.chunks().clone())?;
        let keys = sampled.block_keys();
        let values = sampled.compute_blocks(sched)?;
        let parts: Vec<&Array2<f64>> =
            values.iter().zip(&keys).map(|(v, k)| value_as::<Array2<f64>>(v, k)).collect::<Result<_, _>>()?;
        let views: Vec<ArrayView2<'_, f64>> = parts.iter().filter(|p| p.nrows() > 0).map(|p| p.view()).collect();
        if views.is_empty() {
            continue;
        }
        let new = stack_rows("candidates", &views)?;
        md = MinDistLayer::update(x, Some(&md), &new, cands.nrows(), sched)?;
        cands = stack_rows("candidates", &[cands.view(), new.view()])?;
    }
    let weights = md.counts(cands.nrows(), split_every, sched)?;
    Ok(reduce_candidates(cands.view(), &weights, k, &mut rng))
}

/// Restarts of the in-memory reduction of k-means‖ candidates; the candidates are few (about
/// `oversampling_factor · k · n_rounds`), so restarts cost nothing next to a pass over the data.
const REDUCE_RESTARTS: usize = 10;

/// Reduces weighted candidates to `k` centres: [`REDUCE_RESTARTS`] runs of greedy weighted
/// k-means++ followed by weighted Lloyd iterations, keeping the lowest weighted inertia (what
/// dask-ml does by fitting scikit-learn's `KMeans` to the candidates).
pub(crate) fn reduce_candidates(x: ArrayView2<'_, f64>, w: &[f64], k: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    let mut best: Option<(f64, Array2<f64>)> = None;
    for _ in 0..REDUCE_RESTARTS {
        let start = weighted_k_means_pp(x, w, k, rng);
        let centres = weighted_lloyd(x, w, start, 300);
        let inertia = weighted_inertia(x, w, &centres);
        if best.as_ref().is_none_or(|(b, _)| inertia < *b) {
            best = Some((inertia, centres));
        }
    }
    // `REDUCE_RESTARTS > 0`, so there is a best run.
    best.expect("at least one restart").1
}

fn weighted_inertia(x: ArrayView2<'_, f64>, w: &[f64], centres: &Array2<f64>) -> f64 {
    x.rows()
        .into_iter()
        .zip(w)
        .map(|(row, &wi)| wi * centres.rows().into_iter().map(|c| sq_dist(row, c)).fold(f64::INFINITY, f64::min))
        .sum()
}

/// Greedy k-means++ over every row, as scikit-learn's: each new centre is the best (lowest
/// potential) of `2 + ⌊ln k⌋` rows drawn with probability proportional to their squared
/// distance to the nearest centre so far. Per centre: one task per draw (on the block the draw
/// falls in), one pass for the trials' potentials and one pass to update the distances.
pub(crate) fn k_means_plus_plus<F: Float>(
    x: &ChunkedArray<F>,
    k: usize,
    seed: u64,
    split_every: usize,
    sched: &Scheduler,
) -> Result<Array2<f64>, MlError> {
    let n: usize = sizes(x)?.iter().sum();
    let n_trials = 2 + (k as f64).ln().floor() as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(stream("plus_plus", seed, &[]));
    let first = gather_rows(x, &[rng.gen_range(0..n)], sched)?;
    let mut centres = vec![first];
    let mut md = MinDistLayer::update(x, None, &centres[0], 0, sched)?;
    for c in 1..k {
        let phi = md.total();
        let row = if phi > 0.0 {
            let mut g = Graph::new();
            let mut keys = Vec::with_capacity(n_trials);
            for _ in 0..n_trials {
                let u = rng.gen::<f64>() * phi;
                // The block where the draw falls, and where within that block's share.
                let mut before = 0.0;
                let mut pick = None;
                for (b, &s) in md.sums.iter().enumerate() {
                    if s > 0.0 {
                        pick = Some((b, u - before));
                        if u < before + s {
                            break;
                        }
                    }
                    before += s;
                }
                // `phi > 0`, so some block has a positive share.
                let (b, target) = pick.expect("a block with a positive share");
                keys.push(g.task(PickByWeight { target }, &[x.block_key(b), md.layer.block_key(b)])?);
            }
            let values = sched.compute(&x.layers().union(md.layer.layers()).with(g).to_graph(), &keys)?;
            let rows: Vec<&Array2<f64>> =
                values.iter().zip(&keys).map(|(v, k)| value_as::<Array2<f64>>(v, k)).collect::<Result<_, _>>()?;
            let views: Vec<ArrayView2<'_, f64>> = rows.iter().map(|r| r.view()).collect();
            let trials = stack_rows("trial centres", &views)?;
            let (layers, key) = x.block_layer().reduce(
                &[&md.layer],
                TrialPotentials { trials: trials.clone() },
                SumVecs,
                split_every,
            )?;
            let potentials = Lazy::<Vec<f64>>::new(layers, key).compute_on(sched)?;
            let mut best = 0;
            for (t, &p) in potentials.iter().enumerate() {
                if p < potentials[best] {
                    best = t;
                }
            }
            trials.select(Axis(0), &[best])
        } else {
            // Every row coincides with a centre: any row will do (a duplicate centre).
            gather_rows(x, &[rng.gen_range(0..n)], sched)?
        };
        md = MinDistLayer::update(x, Some(&md), &row, c, sched)?;
        centres.push(row);
    }
    let views: Vec<ArrayView2<'_, f64>> = centres.iter().map(|c| c.view()).collect();
    stack_rows("centres", &views)
}

/// `k` distinct rows drawn uniformly.
pub(crate) fn random_rows<F: Float>(
    x: &ChunkedArray<F>,
    k: usize,
    seed: u64,
    sched: &Scheduler,
) -> Result<Array2<f64>, MlError> {
    let n: usize = sizes(x)?.iter().sum();
    let mut rng = ChaCha8Rng::seed_from_u64(stream("random", seed, &[]));
    let rows = rand::seq::index::sample(&mut rng, n, k).into_vec();
    gather_rows(x, &rows, sched)
}

/// Draws an index with probability proportional to `p` (uniformly if every `p` is 0).
fn draw(p: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let total: f64 = p.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return rng.gen_range(0..p.len());
    }
    let u = rng.gen::<f64>() * total;
    let mut acc = 0.0;
    let mut last = 0;
    for (i, &w) in p.iter().enumerate() {
        if w > 0.0 {
            last = i;
            acc += w;
            if u < acc {
                return i;
            }
        }
    }
    last
}

fn sq_dist(a: ndarray::ArrayView1<'_, f64>, b: ndarray::ArrayView1<'_, f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Greedy weighted k-means++ over in-memory rows `x` with weights `w`, as scikit-learn's:
/// each new centre is the best (lowest weighted potential) of `2 + ⌊ln k⌋` draws. With fewer
/// useful rows than `k` some centres are duplicates.
pub(crate) fn weighted_k_means_pp(x: ArrayView2<'_, f64>, w: &[f64], k: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    let m = x.nrows();
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut centres = Array2::zeros((k, x.ncols()));
    let first = draw(w, rng);
    centres.row_mut(0).assign(&x.row(first));
    let mut d2: Vec<f64> = (0..m).map(|i| sq_dist(x.row(i), x.row(first))).collect();
    for c in 1..k {
        let p: Vec<f64> = d2.iter().zip(w).map(|(d, w)| d * w).collect();
        let useful = p.iter().sum::<f64>() > 0.0;
        let mut best: Option<(f64, usize, Vec<f64>)> = None;
        for _ in 0..trials {
            let i = if useful { draw(&p, rng) } else { draw(w, rng) };
            let nd: Vec<f64> = (0..m).map(|j| d2[j].min(sq_dist(x.row(j), x.row(i)))).collect();
            let pot: f64 = nd.iter().zip(w).map(|(d, w)| d * w).sum();
            if best.as_ref().is_none_or(|(b, _, _)| pot < *b) {
                best = Some((pot, i, nd));
            }
        }
        // `trials >= 2`, so there is a best draw.
        let (_, i, nd) = best.expect("at least one trial");
        centres.row_mut(c).assign(&x.row(i));
        d2 = nd;
    }
    centres
}

/// Weighted Lloyd iterations over in-memory rows, until the centres stop moving or
/// `max_iter`; an empty cluster keeps its centre.
pub(crate) fn weighted_lloyd(
    x: ArrayView2<'_, f64>,
    w: &[f64],
    mut centres: Array2<f64>,
    max_iter: usize,
) -> Array2<f64> {
    let (k, d) = centres.dim();
    for _ in 0..max_iter {
        let mut sums = Array2::<f64>::zeros((k, d));
        let mut weights = vec![0.0; k];
        for (i, row) in x.rows().into_iter().enumerate() {
            let mut best = (0, f64::INFINITY);
            for c in 0..k {
                let dd = sq_dist(row, centres.row(c));
                if dd < best.1 {
                    best = (c, dd);
                }
            }
            weights[best.0] += w[i];
            sums.row_mut(best.0).scaled_add(w[i], &row);
        }
        let mut moved = false;
        for (c, &wc) in weights.iter().enumerate() {
            if wc > 0.0 {
                let new = sums.row(c).mapv(|v| v / wc);
                if new != centres.row(c) {
                    moved = true;
                    centres.row_mut(c).assign(&new);
                }
            }
        }
        if !moved {
            break;
        }
    }
    centres
}
