//! `make_regression`: a random linear model with Gaussian features, as scikit-learn's.

use ndarray::{Array1, Array2};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rask_core::OpError;
use rask_ml::ChunkedDataset;
use serde::{Deserialize, Serialize};

use super::block::{build, check_size, global_stream_seed, BlockSpec, GenerateBlock, Layout};
use super::error::{at_least, in_range, DatasetError, Result};

/// The parameters of [`make_regression`], with scikit-learn's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct RegressionParams {
    /// Rows in the dataset (default 100).
    pub n_samples: usize,
    /// Columns (default 100).
    pub n_features: usize,
    /// Features with a non-zero coefficient, at most `n_features` (default 10).
    pub n_informative: usize,
    /// Targets per row; only 1 is supported (default 1).
    pub n_targets: usize,
    /// Added to every target (default 0).
    pub bias: f64,
    /// The approximate rank of a low-rank feature matrix; only `None` (well-conditioned
    /// Gaussian features) is supported (default `None`).
    pub effective_rank: Option<usize>,
    /// The standard deviation of Gaussian noise added to the targets (default 0).
    pub noise: f64,
    /// Permute the features, so the informative ones are not the first `n_informative`
    /// (default `true`). Rows are independent, so there is nothing else to shuffle.
    pub shuffle: bool,
    /// The dataset seed (default 0).
    pub seed: u64,
    /// Rows per block; the last block holds the rest (default 100).
    pub chunk_rows: usize,
}

rask_ml::params! {
    RegressionParams {
        /// The default parameters.
        new = RegressionParams {
            n_samples: 100,
            n_features: 100,
            n_informative: 10,
            n_targets: 1,
            bias: 0.0,
            effective_rank: None,
            noise: 0.0,
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
            /// Sets the number of targets (only 1 is supported).
            n_targets(v: usize);
            /// Sets the bias added to every target.
            bias(v: f64);
            /// Sets the effective rank (only `None` is supported).
            effective_rank(v: Option<usize>);
            /// Sets the standard deviation of the noise.
            noise(v: f64);
            /// Sets whether the features are permuted.
            shuffle(v: bool);
            /// Sets the dataset seed.
            seed(v: u64);
            /// Sets the rows per block.
            chunk_rows(v: usize);
        }
    }
}

impl RegressionParams {
    /// Checks every parameter; the error names the first one refused.
    pub fn check(&self) -> Result<()> {
        at_least("n_samples", self.n_samples, 1)?;
        at_least("chunk_rows", self.chunk_rows, 1)?;
        at_least("n_features", self.n_features, 1)?;
        check_size("make_regression", self.n_samples, self.chunk_rows, self.n_features)?;
        if self.n_informative > self.n_features {
            // scikit-learn silently lowers it to n_features; Rask refuses instead.
            return Err(DatasetError::InformativeExceedsFeatures {
                n_informative: self.n_informative,
                n_features: self.n_features,
            });
        }
        if self.n_targets != 1 {
            return Err(DatasetError::Unsupported {
                param: "n_targets",
                value: self.n_targets.to_string(),
                reason: "only one target per row is supported (targets are a chunked vector)",
            });
        }
        if let Some(rank) = self.effective_rank {
            return Err(DatasetError::Unsupported {
                param: "effective_rank",
                value: rank.to_string(),
                reason: "low-rank features need a global orthogonalisation across blocks; only None is supported",
            });
        }
        in_range("bias", self.bias, self.bias.is_finite(), "finite")?;
        in_range("noise", self.noise, self.noise.is_finite() && self.noise >= 0.0, "finite and >= 0")?;
        Ok(())
    }

    /// Checks the parameters and draws the coefficients from the seed's global stream:
    /// `100 · U[0, 1)` for the first `n_informative` features and 0 for the rest, then (with
    /// `shuffle`) permuted with the features, as scikit-learn does.
    pub fn spec(&self) -> Result<RegressionSpec> {
        self.check()?;
        let mut rng = ChaCha8Rng::seed_from_u64(global_stream_seed(RegressionSpec::OP_NAME, self.seed));
        let mut coef = vec![0.0; self.n_features];
        for c in coef.iter_mut().take(self.n_informative) {
            *c = 100.0 * rng.gen::<f64>();
        }
        if self.shuffle {
            coef.shuffle(&mut rng);
        }
        Ok(RegressionSpec {
            layout: Layout { seed: self.seed, n_samples: self.n_samples as u64, chunk_rows: self.chunk_rows as u64 },
            coef,
            bias: self.bias,
            noise: self.noise,
        })
    }
}

/// The drawn parameters of a `make_regression` dataset, carried by every block task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegressionSpec {
    layout: Layout,
    coef: Vec<f64>,
    bias: f64,
    noise: f64,
}

/// `x · coef`, summed left to right from 0.
pub(crate) fn dot_in_order(x: impl IntoIterator<Item = f64>, coef: &[f64]) -> f64 {
    x.into_iter().zip(coef).fold(0.0, |s, (v, c)| s + v * c)
}

impl BlockSpec for RegressionSpec {
    type Y = f64;
    const OP_NAME: &'static str = "rask.datasets.make_regression_block";

    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn n_features(&self) -> usize {
        self.coef.len()
    }

    /// Per row: the features from `N(0, 1)`, then (if `noise > 0`) one noise draw.
    fn generate(&self, rows: usize, rng: &mut ChaCha8Rng) -> Result<(Array2<f64>, Array1<f64>), OpError> {
        let mut x = Array2::zeros((rows, self.coef.len()));
        let mut y = Array1::zeros(rows);
        for (mut row, t) in x.rows_mut().into_iter().zip(y.iter_mut()) {
            row.iter_mut().for_each(|v| *v = rng.sample(StandardNormal));
            *t = dot_in_order(row.iter().copied(), &self.coef) + self.bias;
            if self.noise > 0.0 {
                *t += self.noise * rng.sample::<f64, _>(StandardNormal);
            }
        }
        Ok((x, y))
    }
}

/// The block op of [`make_regression`].
pub type MakeRegressionBlock = GenerateBlock<RegressionSpec>;

/// A `make_regression` dataset and its true coefficients.
#[derive(Clone, Debug)]
pub struct Regression {
    /// The features and targets.
    pub data: ChunkedDataset<f64, f64>,
    /// The coefficients (`n_features`), scikit-learn's `coef=True` output.
    pub coef: Array1<f64>,
}

/// A random regression problem, as scikit-learn's `make_regression`: features are `N(0, 1)`,
/// and each target is `x · coef + bias` plus `N(0, noise²)`, where `n_informative` coefficients
/// are `100 · U[0, 1)` and the others 0.
///
/// With `noise = 0` every target is exactly `bias + Σ_j x_j · coef_j` with the sum taken left
/// to right from 0 over the features and `bias` added last. The coefficients are drawn once from
/// the seed's global stream; each block of `chunk_rows` rows is drawn from its own stream.
/// `n_targets` other than 1 and any `effective_rank` are refused.
pub fn make_regression(params: &RegressionParams) -> Result<Regression> {
    let spec = params.spec()?;
    let coef = Array1::from(spec.coef.clone());
    Ok(Regression { data: build(spec)?, coef })
}
