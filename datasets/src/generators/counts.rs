//! `make_counts`: Poisson regression data, as dask-ml's `make_counts`.

use ndarray::{Array1, Array2};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};
use rask_core::op_bail;
use rask_core::OpError;
use rask_ml::ChunkedDataset;
use serde::{Deserialize, Serialize};

use super::block::{build, check_size, global_stream_seed, BlockSpec, GenerateBlock, Layout};
use super::error::{at_least, in_range, DatasetError, Result};
use super::regression::dot_in_order;

/// The largest Poisson rate a block accepts: counts above 2^53 are not exact in `f64`.
const MAX_RATE: f64 = 9_007_199_254_740_992.0;

/// The parameters of [`make_counts`], with dask-ml's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct CountsParams {
    /// Rows in the dataset (default 1000).
    pub n_samples: usize,
    /// Columns (default 100).
    pub n_features: usize,
    /// Features with a non-zero coefficient, distinct and at most `n_features` (default 2).
    pub n_informative: usize,
    /// Coefficients are uniform in `[-scale, 0)` (default 1).
    pub scale: f64,
    /// The dataset seed (default 0).
    pub seed: u64,
    /// Rows per block; the last block holds the rest (default 100).
    pub chunk_rows: usize,
}

rask_ml::params! {
    CountsParams {
        /// The default parameters.
        new = CountsParams { n_samples: 1000, n_features: 100, n_informative: 2, scale: 1.0, seed: 0, chunk_rows: 100 };
        set {
            /// Sets the number of rows.
            n_samples(v: usize);
            /// Sets the number of columns.
            n_features(v: usize);
            /// Sets the number of informative features.
            n_informative(v: usize);
            /// Sets the scale of the coefficients.
            scale(v: f64);
            /// Sets the dataset seed.
            seed(v: u64);
            /// Sets the rows per block.
            chunk_rows(v: usize);
        }
    }
}

impl CountsParams {
    /// Checks every parameter; the error names the first one refused.
    pub fn check(&self) -> Result<()> {
        at_least("n_samples", self.n_samples, 1)?;
        at_least("chunk_rows", self.chunk_rows, 1)?;
        at_least("n_features", self.n_features, 1)?;
        check_size("make_counts", self.n_samples, self.chunk_rows, self.n_features)?;
        if self.n_informative > self.n_features {
            return Err(DatasetError::InformativeExceedsFeatures {
                n_informative: self.n_informative,
                n_features: self.n_features,
            });
        }
        in_range("scale", self.scale, self.scale.is_finite() && self.scale >= 0.0, "finite and >= 0")?;
        Ok(())
    }

    /// Checks the parameters and draws the coefficients from the seed's global stream: the
    /// informative features (distinct, uniformly chosen), then `(U[0, 1) - 1) · scale` for
    /// every feature, kept only on the informative ones, as dask-ml does.
    pub fn spec(&self) -> Result<CountsSpec> {
        self.check()?;
        let mut rng = ChaCha8Rng::seed_from_u64(global_stream_seed(CountsSpec::OP_NAME, self.seed));
        let informative = sample(&mut rng, self.n_features, self.n_informative);
        let beta: Vec<f64> = (0..self.n_features).map(|_| (rng.gen::<f64>() - 1.0) * self.scale).collect();
        let mut coef = vec![0.0; self.n_features];
        for j in informative {
            coef[j] = beta[j];
        }
        Ok(CountsSpec {
            layout: Layout { seed: self.seed, n_samples: self.n_samples as u64, chunk_rows: self.chunk_rows as u64 },
            coef,
        })
    }
}

/// The drawn parameters of a `make_counts` dataset, carried by every block task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CountsSpec {
    layout: Layout,
    coef: Vec<f64>,
}

impl BlockSpec for CountsSpec {
    type Y = f64;
    const OP_NAME: &'static str = "rask.datasets.make_counts_block";

    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn n_features(&self) -> usize {
        self.coef.len()
    }

    /// Per row: the features from `N(0, 1)`, then one Poisson draw at rate `exp(x · coef)`.
    fn generate(&self, rows: usize, rng: &mut ChaCha8Rng) -> Result<(Array2<f64>, Array1<f64>), OpError> {
        let mut x = Array2::zeros((rows, self.coef.len()));
        let mut y = Array1::zeros(rows);
        for (i, (mut row, t)) in x.rows_mut().into_iter().zip(y.iter_mut()).enumerate() {
            row.iter_mut().for_each(|v| *v = rng.sample(StandardNormal));
            let rate = dot_in_order(row.iter().copied(), &self.coef).exp();
            if rate.is_nan() || rate > MAX_RATE {
                op_bail!("{}: row {i} has Poisson rate {rate}, above 2^53; lower `scale`", Self::OP_NAME);
            }
            // A rate that underflowed to 0 draws 0, the limit of Poisson(λ) as λ → 0.
            *t = match Poisson::new(rate) {
                Ok(p) => p.sample(rng),
                Err(_) => 0.0,
            };
        }
        Ok((x, y))
    }
}

/// The block op of [`make_counts`].
pub type MakeCountsBlock = GenerateBlock<CountsSpec>;

/// A `make_counts` dataset and its true coefficients.
#[derive(Clone, Debug)]
pub struct Counts {
    /// The features and the counts (whole numbers stored as `f64`).
    pub data: ChunkedDataset<f64, f64>,
    /// The coefficients (`n_features`; non-zero, in `[-scale, 0)`, on the informative ones).
    pub coef: Array1<f64>,
}

/// Poisson regression data, as dask-ml's `make_counts`: features are `N(0, 1)` and each
/// target is drawn from `Poisson(exp(x · coef))`, where `n_informative` distinct features have
/// coefficients uniform in `[-scale, 0)` and the others 0. Non-positive coefficients keep the
/// rates moderate (`exp(x · coef)` has median 1 and a log-normal spread of `‖coef‖`).
///
/// The coefficients are drawn once from the seed's global stream; each block of `chunk_rows`
/// rows is drawn from its own stream. A rate above 2^53 (only possible with a huge `scale`)
/// fails the block's task with an error naming the row.
pub fn make_counts(params: &CountsParams) -> Result<Counts> {
    let spec = params.spec()?;
    let coef = Array1::from(spec.coef.clone());
    Ok(Counts { data: build(spec)?, coef })
}
