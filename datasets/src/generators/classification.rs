//! `make_classification`: scikit-learn's multi-class problem of Gaussian clusters on the
//! vertices of a hypercube, with redundant, repeated and useless features.

use ndarray::{Array1, Array2};
use rand::seq::index::sample;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rask_core::OpError;
use rask_ml::ChunkedDataset;
use serde::{Deserialize, Serialize};

use super::block::{
    build, check_size, global_stream_seed, labels_from_counts, stratified_counts, BlockSpec, GenerateBlock, Layout,
};
use super::error::{at_least, in_range, DatasetError, Result};

/// A per-feature quantity of `make_classification` (`shift`, `scale`): one value for every
/// feature, one value per feature, or drawn at random (scikit-learn's `None`).
#[derive(Clone, Debug, PartialEq)]
pub enum PerFeature {
    /// The same value for every feature.
    All(f64),
    /// Value `j` for feature `j` (before features are shuffled).
    Each(Vec<f64>),
    /// Drawn from the seed's global stream: a shift uniform in `[-class_sep, class_sep)`, a
    /// scale uniform in `[1, 101)`, as scikit-learn does for `None`.
    Random,
}

impl From<f64> for PerFeature {
    fn from(v: f64) -> Self {
        PerFeature::All(v)
    }
}

impl From<Vec<f64>> for PerFeature {
    fn from(v: Vec<f64>) -> Self {
        PerFeature::Each(v)
    }
}

/// The parameters of [`make_classification`], with scikit-learn's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassificationParams {
    /// Rows in the dataset (default 100).
    pub n_samples: usize,
    /// Columns (default 20).
    pub n_features: usize,
    /// Informative features: the clusters live in their space (default 2).
    pub n_informative: usize,
    /// Redundant features: random linear combinations of the informative ones (default 2).
    pub n_redundant: usize,
    /// Repeated features: copies of informative or redundant ones, drawn at random (default 0).
    pub n_repeated: usize,
    /// Classes; labels are `0..n_classes` (default 2).
    pub n_classes: usize,
    /// Gaussian clusters per class (default 2).
    pub n_clusters_per_class: usize,
    /// Class proportions: `n_classes` of them summing to 1, or `n_classes - 1` summing to at
    /// most 1 (the last class gets the rest); `None` means balanced classes (default `None`).
    pub weights: Option<Vec<f64>>,
    /// The fraction of labels replaced by a random class, which may be the same one (default 0.01).
    pub flip_y: f64,
    /// Half the hypercube's side: clusters sit at `±class_sep` (default 1).
    pub class_sep: f64,
    /// Put the cluster centroids on the hypercube's vertices; if false, on a random polytope
    /// (default `true`).
    pub hypercube: bool,
    /// Added to every feature after the clusters are made (default 0).
    pub shift: PerFeature,
    /// Multiplies every feature after the shift (default 1).
    pub scale: PerFeature,
    /// Shuffle the rows within each block and permute the features; without it a block's rows
    /// are sorted by cluster and the columns are informative, redundant, repeated, then useless
    /// (default `true`).
    pub shuffle: bool,
    /// The dataset seed (default 0).
    pub seed: u64,
    /// Rows per block; the last block holds the rest (default 100).
    pub chunk_rows: usize,
}

rask_ml::params! {
    ClassificationParams {
        /// The default parameters.
        new = ClassificationParams {
            n_samples: 100,
            n_features: 20,
            n_informative: 2,
            n_redundant: 2,
            n_repeated: 0,
            n_classes: 2,
            n_clusters_per_class: 2,
            weights: None,
            flip_y: 0.01,
            class_sep: 1.0,
            hypercube: true,
            shift: PerFeature::All(0.0),
            scale: PerFeature::All(1.0),
            shuffle: true,
            seed: 0,
            chunk_rows: 100,
        };
        set {
            /// Sets the number of rows.
            n_samples(v: usize);
            /// Sets the number of columns.
            n_features(v: usize);
            /// Sets the number of informative features.
            n_informative(v: usize);
            /// Sets the number of redundant features.
            n_redundant(v: usize);
            /// Sets the number of repeated features.
            n_repeated(v: usize);
            /// Sets the number of classes.
            n_classes(v: usize);
            /// Sets the number of clusters per class.
            n_clusters_per_class(v: usize);
            /// Sets the fraction of labels replaced at random.
            flip_y(v: f64);
            /// Sets half the hypercube's side.
            class_sep(v: f64);
            /// Sets whether centroids sit on the hypercube's vertices.
            hypercube(v: bool);
            /// Sets whether rows (within blocks) and features are shuffled.
            shuffle(v: bool);
            /// Sets the dataset seed.
            seed(v: u64);
            /// Sets the rows per block.
            chunk_rows(v: usize);
            /// Sets the class proportions.
            weights(w: Vec<f64>) => weights = Some(w);
            /// Sets the shift: one value (`1.5`), one per feature (`vec![…]`) or [`PerFeature::Random`].
            shift(s: impl Into<PerFeature>) => shift = s.into();
            /// Sets the scale: one value (`2.0`), one per feature (`vec![…]`) or [`PerFeature::Random`].
            scale(s: impl Into<PerFeature>) => scale = s.into();
        }
    }
}

impl ClassificationParams {
    /// Number of clusters, `n_classes · n_clusters_per_class`.
    pub fn n_clusters(&self) -> usize {
        self.n_classes.saturating_mul(self.n_clusters_per_class)
    }

    /// Checks every parameter; the error names the first one refused.
    pub fn check(&self) -> Result<()> {
        at_least("n_samples", self.n_samples, 1)?;
        at_least("chunk_rows", self.chunk_rows, 1)?;
        at_least("n_features", self.n_features, 1)?;
        check_size("make_classification", self.n_samples, self.chunk_rows, self.n_features)?;
        at_least("n_informative", self.n_informative, 1)?;
        at_least("n_classes", self.n_classes, 1)?;
        at_least("n_clusters_per_class", self.n_clusters_per_class, 1)?;
        let structured = self.n_informative.checked_add(self.n_redundant).and_then(|s| s.checked_add(self.n_repeated));
        if structured.is_none_or(|s| s > self.n_features) {
            return Err(DatasetError::FeatureBudget {
                n_informative: self.n_informative,
                n_redundant: self.n_redundant,
                n_repeated: self.n_repeated,
                n_features: self.n_features,
            });
        }
        // Past 30 informative features only the last 30 coordinates are kept distinct (as in
        // scikit-learn), so the limit stops growing at 2^30 clusters.
        let limit = 1u64 << self.n_informative.min(30);
        let clusters = self.n_classes.checked_mul(self.n_clusters_per_class);
        if clusters.is_none_or(|c| c as u64 > limit) {
            return Err(DatasetError::TooManyClusters {
                n_classes: self.n_classes,
                n_clusters_per_class: self.n_clusters_per_class,
                n_informative: self.n_informative,
            });
        }
        self.class_weights()?;
        in_range("flip_y", self.flip_y, (0.0..=1.0).contains(&self.flip_y), "in [0, 1]")?;
        in_range("class_sep", self.class_sep, self.class_sep.is_finite() && self.class_sep > 0.0, "finite and > 0")?;
        self.check_per_feature("shift", &self.shift, |v| v.is_finite(), "finite")?;
        self.check_per_feature("scale", &self.scale, |v| v.is_finite() && v > 0.0, "finite and > 0")?;
        Ok(())
    }

    fn check_per_feature(
        &self,
        param: &'static str,
        v: &PerFeature,
        ok: impl Fn(f64) -> bool,
        expected: &'static str,
    ) -> Result<()> {
        match v {
            PerFeature::All(x) => in_range(param, *x, ok(*x), expected),
            PerFeature::Each(xs) => {
                if xs.len() != self.n_features {
                    return Err(DatasetError::WrongLength {
                        param,
                        expected: format!("{} (n_features)", self.n_features),
                        found: xs.len(),
                    });
                }
                xs.iter().try_for_each(|&x| in_range(param, x, ok(x), expected))
            }
            PerFeature::Random => Ok(()),
        }
    }

    /// The proportion of every class, from `weights`.
    fn class_weights(&self) -> Result<Vec<f64>> {
        let Some(w) = &self.weights else {
            return Ok(vec![1.0 / self.n_classes as f64; self.n_classes]);
        };
        if w.len() != self.n_classes && w.len() + 1 != self.n_classes {
            return Err(DatasetError::WrongLength {
                param: "weights",
                expected: format!("{} or {} (n_classes or n_classes - 1)", self.n_classes, self.n_classes - 1),
                found: w.len(),
            });
        }
        for &x in w {
            in_range("weights", x, x.is_finite() && x >= 0.0, "finite and >= 0")?;
        }
        let sum: f64 = w.iter().sum();
        const TOL: f64 = 1e-6;
        let mut w = w.clone();
        if w.len() == self.n_classes {
            if (sum - 1.0).abs() > TOL {
                return Err(DatasetError::WeightsSum {
                    sum,
                    expected: "n_classes weights must sum to 1 (scikit-learn's over-full weights, which return more \
                               than n_samples rows, are not supported)",
                });
            }
        } else {
            if sum > 1.0 + TOL {
                return Err(DatasetError::WeightsSum {
                    sum,
                    expected: "n_classes - 1 weights must sum to at most 1 (the last class gets the rest)",
                });
            }
            w.push((1.0 - sum).max(0.0));
        }
        let total: f64 = w.iter().sum();
        if total <= 0.0 {
            return Err(DatasetError::WeightsSum { sum, expected: "at least one class needs a positive weight" });
        }
        Ok(w.into_iter().map(|x| x / total).collect())
    }

    /// Checks the parameters and draws the shared quantities from the seed's global stream, in
    /// scikit-learn's order: cluster centroids, each cluster's covariance transform, the
    /// redundant mixing matrix, the repeated columns, a random shift and scale, and the feature
    /// permutation.
    pub fn spec(&self) -> Result<ClassificationSpec> {
        self.check()?;
        let weights = self.class_weights()?;
        let mut rng = ChaCha8Rng::seed_from_u64(global_stream_seed(ClassificationSpec::OP_NAME, self.seed));
        let (n_inf, n_clusters) = (self.n_informative, self.n_clusters());
        let sep = self.class_sep;
        let mut centroids = hypercube_vertices(n_clusters, n_inf, &mut rng).mapv(|b| b * 2.0 * sep - sep);
        if !self.hypercube {
            let per_cluster: Vec<f64> = (0..n_clusters).map(|_| rng.gen()).collect();
            let per_dim: Vec<f64> = (0..n_inf).map(|_| rng.gen()).collect();
            for ((k, j), c) in centroids.indexed_iter_mut() {
                *c *= per_cluster[k] * per_dim[j];
            }
        }
        let mut uniform_pm1 =
            |rows: usize, cols: usize| Array2::from_shape_simple_fn((rows, cols), || 2.0 * rng.gen::<f64>() - 1.0);
        let covariances: Vec<Array2<f64>> = (0..n_clusters).map(|_| uniform_pm1(n_inf, n_inf)).collect();
        let redundant = uniform_pm1(n_inf, self.n_redundant);
        let n_structured = n_inf + self.n_redundant;
        let repeated: Vec<u64> =
            (0..self.n_repeated).map(|_| ((n_structured - 1) as f64 * rng.gen::<f64>() + 0.5) as u64).collect();
        let shift = match &self.shift {
            PerFeature::All(s) => vec![*s; self.n_features],
            PerFeature::Each(s) => s.clone(),
            PerFeature::Random => (0..self.n_features).map(|_| (2.0 * rng.gen::<f64>() - 1.0) * sep).collect(),
        };
        let scale = match &self.scale {
            PerFeature::All(s) => vec![*s; self.n_features],
            PerFeature::Each(s) => s.clone(),
            PerFeature::Random => (0..self.n_features).map(|_| 1.0 + 100.0 * rng.gen::<f64>()).collect(),
        };
        let feature_order = if self.shuffle {
            let mut order: Vec<u64> = (0..self.n_features as u64).collect();
            order.shuffle(&mut rng);
            Some(order)
        } else {
            None
        };
        let cluster_probs =
            (0..n_clusters).map(|k| weights[k % self.n_classes] / self.n_clusters_per_class as f64).collect();
        Ok(ClassificationSpec {
            layout: Layout { seed: self.seed, n_samples: self.n_samples as u64, chunk_rows: self.chunk_rows as u64 },
            n_features: self.n_features as u64,
            n_classes: self.n_classes as u64,
            cluster_probs,
            centroids,
            covariances,
            redundant,
            repeated,
            flip_y: self.flip_y,
            shift,
            scale,
            feature_order,
            shuffle_rows: self.shuffle,
        })
    }
}

/// `samples` distinct random vertices of the `{0, 1}^dimensions` hypercube, one per row; above
/// 30 dimensions the leading `dimensions - 30` coordinates are free bits and only the last 30
/// are kept distinct, as scikit-learn does.
fn hypercube_vertices(samples: usize, dimensions: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    let mut out = Array2::zeros((samples, dimensions));
    let distinct = dimensions.min(30);
    let free = dimensions - distinct;
    for mut row in out.rows_mut() {
        for v in row.iter_mut().take(free) {
            *v = f64::from(rng.gen_range(0u8..2));
        }
    }
    // `check` guarantees samples <= 2^distinct.
    let vertices = sample(rng, 1usize << distinct, samples);
    for (mut row, v) in out.rows_mut().into_iter().zip(vertices) {
        for b in 0..distinct {
            // Most significant bit first, like NumPy's binary representation.
            row[free + b] = ((v >> (distinct - 1 - b)) & 1) as f64;
        }
    }
    out
}

/// The drawn parameters of a `make_classification` dataset, carried by every block task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassificationSpec {
    layout: Layout,
    n_features: u64,
    n_classes: u64,
    cluster_probs: Vec<f64>,
    centroids: Array2<f64>,
    covariances: Vec<Array2<f64>>,
    redundant: Array2<f64>,
    repeated: Vec<u64>,
    flip_y: f64,
    shift: Vec<f64>,
    scale: Vec<f64>,
    feature_order: Option<Vec<u64>>,
    shuffle_rows: bool,
}

impl BlockSpec for ClassificationSpec {
    type Y = i64;
    const OP_NAME: &'static str = "rask.datasets.make_classification_block";

    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn n_features(&self) -> usize {
        self.n_features as usize
    }

    /// Cluster counts follow the cluster proportions (see `stratified_counts`); rows are then
    /// shuffled if asked. Each row is `z · A_k + centroid_k` with `z ~ N(0, I)` on the informative
    /// features, then the redundant, repeated and useless (`N(0, 1)`) features; then labels are
    /// flipped, the features shifted, scaled and permuted.
    fn generate(&self, rows: usize, rng: &mut ChaCha8Rng) -> Result<(Array2<f64>, Array1<i64>), OpError> {
        let n_inf = self.centroids.ncols();
        let n_red = self.redundant.ncols();
        let n_structured = n_inf + n_red + self.repeated.len();
        let p = self.n_features();
        let mut clusters = labels_from_counts(&stratified_counts(rows, &self.cluster_probs, rng));
        if self.shuffle_rows {
            clusters.shuffle(rng);
        }
        let mut x = Array2::zeros((rows, p));
        let mut z = vec![0.0; n_inf];
        for (mut row, &k) in x.rows_mut().into_iter().zip(&clusters) {
            z.iter_mut().for_each(|v| *v = rng.sample(StandardNormal));
            let a = &self.covariances[k];
            for j in 0..n_inf {
                row[j] = (0..n_inf).fold(0.0, |s, m| s + z[m] * a[[m, j]]) + self.centroids[[k, j]];
            }
            for r in 0..n_red {
                row[n_inf + r] = (0..n_inf).fold(0.0, |s, m| s + row[m] * self.redundant[[m, r]]);
            }
            for (q, &src) in self.repeated.iter().enumerate() {
                row[n_inf + n_red + q] = row[src as usize];
            }
            for j in n_structured..p {
                row[j] = rng.sample(StandardNormal);
            }
        }
        let n_classes = self.n_classes as usize;
        let mut y: Vec<i64> = clusters.iter().map(|&k| (k % n_classes) as i64).collect();
        if self.flip_y > 0.0 {
            for label in &mut y {
                if rng.gen::<f64>() < self.flip_y {
                    *label = rng.gen_range(0..n_classes) as i64;
                }
            }
        }
        for mut row in x.rows_mut() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (*v + self.shift[j]) * self.scale[j];
            }
        }
        if let Some(order) = &self.feature_order {
            let permuted = Array2::from_shape_fn((rows, p), |(i, j)| x[[i, order[j] as usize]]);
            x = permuted;
        }
        Ok((x, Array1::from(y)))
    }
}

/// The block op of [`make_classification`].
pub type MakeClassificationBlock = GenerateBlock<ClassificationSpec>;

/// A random multi-class problem, as scikit-learn's `make_classification`: each class is
/// `n_clusters_per_class` Gaussian clusters placed on vertices of an `n_informative`-dimensional
/// hypercube of side `2 · class_sep`, each with its own random covariance; redundant features
/// are linear combinations of the informative ones, repeated features copy them, the rest are
/// noise; a fraction `flip_y` of labels is randomised; features are shifted, scaled and (with
/// `shuffle`) permuted.
///
/// Everything the blocks share is drawn once from the seed's global stream; each block of
/// `chunk_rows` rows is drawn from its own stream. Rows are independent across blocks, so
/// `shuffle` permutes the rows within each block only (and the feature columns globally); each
/// block's class counts follow `weights` up to the rounding of that block.
pub fn make_classification(params: &ClassificationParams) -> Result<ChunkedDataset<f64, i64>> {
    build(params.spec()?)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_block_task_refuses_a_block_past_the_limit_before_allocating() {
        // A spec whose layout was never checked (built elsewhere, or edited): one block of 10^12
        // rows. The task itself refuses it, where an allocation failure would abort the worker.
        let mut spec = ClassificationParams::new().spec().unwrap();
        spec.layout = Layout { seed: 0, n_samples: 1_000_000_000_000, chunk_rows: 1_000_000_000_000 };
        let err = GenerateBlock { spec: Arc::new(spec), block: 0 }.generate().unwrap_err().to_string();
        assert!(err.contains("a block of 1000000000000 rows x 20 columns x 8 bytes"), "{err}");
        assert!(err.contains("RASK_MAX_BLOCK_BYTES"), "{err}");
    }
}
