//! `make_blobs`: isotropic Gaussian blobs, as scikit-learn's `make_blobs`.

use ndarray::{Array1, Array2};
use rand::seq::index::sample;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rask_core::OpError;
use rask_ml::{ChunkedDataset, Limits};
use serde::{Deserialize, Serialize};

use super::block::{build, check_size, global_stream_seed, labels_from_counts, BlockSpec, GenerateBlock, Layout};
use super::error::{at_least, in_range, DatasetError, Result};

/// The centres of `make_blobs`: how many to draw, or the centres themselves.
#[derive(Clone, Debug, PartialEq)]
pub enum Centers {
    /// Draw this many centres uniformly in `center_box`.
    Count(usize),
    /// Use these centres, one per row (`n_centers × n_features`).
    Explicit(Array2<f64>),
}

impl From<usize> for Centers {
    fn from(k: usize) -> Self {
        Centers::Count(k)
    }
}

impl From<Array2<f64>> for Centers {
    fn from(c: Array2<f64>) -> Self {
        Centers::Explicit(c)
    }
}

/// The standard deviation of the blobs: one for all, or one per centre.
#[derive(Clone, Debug, PartialEq)]
pub enum ClusterStd {
    /// Every blob has this standard deviation.
    Same(f64),
    /// Blob `k` has standard deviation `stds[k]`.
    PerCenter(Vec<f64>),
}

impl From<f64> for ClusterStd {
    fn from(s: f64) -> Self {
        ClusterStd::Same(s)
    }
}

impl From<Vec<f64>> for ClusterStd {
    fn from(s: Vec<f64>) -> Self {
        ClusterStd::PerCenter(s)
    }
}

/// The parameters of [`make_blobs`], with scikit-learn's defaults.
///
/// Build it with the chained setters and call [`check`](Self::check) (which
/// [`make_blobs`] also does) to validate it.
#[derive(Clone, Debug, PartialEq)]
pub struct BlobsParams {
    /// Rows in the dataset (default 100).
    pub n_samples: usize,
    /// Columns; `None` means 2, or the width of explicit centres (default `None`).
    pub n_features: Option<usize>,
    /// The centres: a count to draw or explicit ones (default 3 drawn centres).
    pub centers: Centers,
    /// The blobs' standard deviation (default 1).
    pub cluster_std: ClusterStd,
    /// The box `(low, high)` drawn centres are uniform in, per coordinate (default `(-10, 10)`).
    pub center_box: (f64, f64),
    /// Shuffle the rows within each block; without it a block's rows are sorted by centre
    /// (default `true`).
    pub shuffle: bool,
    /// The dataset seed (default 0).
    pub seed: u64,
    /// Rows per block; the last block holds the rest (default 100).
    pub chunk_rows: usize,
}

rask_ml::params! {
    BlobsParams {
        /// The default parameters.
        new = BlobsParams {
            n_samples: 100,
            n_features: None,
            centers: Centers::Count(3),
            cluster_std: ClusterStd::Same(1.0),
            center_box: (-10.0, 10.0),
            shuffle: true,
            seed: 0,
            chunk_rows: 100,
        };
        set {
            /// Sets the number of rows.
            n_samples(n: usize);
            /// Sets the number of columns.
            n_features(n: usize) => n_features = Some(n);
            /// Sets the centres: a count (`4`) or explicit centres (an `Array2<f64>`).
            centers(c: impl Into<Centers>) => centers = c.into();
            /// Sets the standard deviation: one (`0.5`) or one per centre (`vec![0.5, 2.0, 1.0]`).
            cluster_std(s: impl Into<ClusterStd>) => cluster_std = s.into();
            /// Sets the box drawn centres are uniform in.
            center_box(low: f64, high: f64) => center_box = (low, high);
            /// Sets whether rows are shuffled within each block.
            shuffle(on: bool);
            /// Sets the dataset seed.
            seed(seed: u64);
            /// Sets the rows per block.
            chunk_rows(n: usize);
        }
    }
}

impl BlobsParams {
    /// The number of centres.
    pub fn n_centers(&self) -> usize {
        match &self.centers {
            Centers::Count(k) => *k,
            Centers::Explicit(c) => c.nrows(),
        }
    }

    /// The number of columns the data will have.
    pub fn resolved_n_features(&self) -> usize {
        match (&self.centers, self.n_features) {
            (_, Some(n)) => n,
            (Centers::Explicit(c), None) => c.ncols(),
            (Centers::Count(_), None) => 2,
        }
    }

    /// Checks every parameter; the error names the first one refused.
    pub fn check(&self) -> Result<()> {
        at_least("n_samples", self.n_samples, 1)?;
        at_least("chunk_rows", self.chunk_rows, 1)?;
        if let Some(n) = self.n_features {
            at_least("n_features", n, 1)?;
        }
        match &self.centers {
            Centers::Count(k) => at_least("centers", *k, 1)?,
            Centers::Explicit(c) => {
                at_least("centers", c.nrows(), 1)?;
                if let Some(n) = self.n_features {
                    if n != c.ncols() {
                        return Err(DatasetError::CentersWidth { n_features: n, columns: c.ncols() });
                    }
                }
                at_least("n_features", c.ncols(), 1)?;
                if let Some(&v) = c.iter().find(|v| !v.is_finite()) {
                    in_range("centers", v, false, "finite")?;
                }
            }
        }
        match &self.cluster_std {
            ClusterStd::Same(s) => in_range("cluster_std", *s, s.is_finite() && *s >= 0.0, "finite and >= 0")?,
            ClusterStd::PerCenter(v) => {
                if v.len() != self.n_centers() {
                    return Err(DatasetError::WrongLength {
                        param: "cluster_std",
                        expected: format!("{} (one per centre)", self.n_centers()),
                        found: v.len(),
                    });
                }
                for &s in v {
                    in_range("cluster_std", s, s.is_finite() && s >= 0.0, "finite and >= 0")?;
                }
            }
        }
        let (low, high) = self.center_box;
        if !(low.is_finite() && high.is_finite() && low <= high) {
            return Err(DatasetError::CenterBox { low, high });
        }
        let n_features = self.resolved_n_features();
        check_size("make_blobs", self.n_samples, self.chunk_rows, n_features)?;
        // Counted centres are drawn into one array that every block task carries.
        if let Centers::Count(k) = self.centers {
            Limits::current()?.check_block_bytes(
                "make_blobs",
                k as u64,
                n_features as u64,
                std::mem::size_of::<f64>() as u64,
                &format!("centers = {k}, n_features = {n_features}"),
            )?;
        }
        Ok(())
    }

    /// Checks the parameters and draws the shared quantities (the centres, when counted) from
    /// the seed's global stream.
    pub fn spec(&self) -> Result<BlobsSpec> {
        self.check()?;
        let n_features = self.resolved_n_features();
        let centers = match &self.centers {
            Centers::Explicit(c) => c.clone(),
            Centers::Count(k) => {
                let mut rng = ChaCha8Rng::seed_from_u64(global_stream_seed(BlobsSpec::OP_NAME, self.seed));
                let (low, high) = self.center_box;
                Array2::from_shape_simple_fn((*k, n_features), || low + (high - low) * rng.gen::<f64>())
            }
        };
        let stds = match &self.cluster_std {
            ClusterStd::Same(s) => vec![*s; centers.nrows()],
            ClusterStd::PerCenter(v) => v.clone(),
        };
        Ok(BlobsSpec {
            layout: Layout { seed: self.seed, n_samples: self.n_samples as u64, chunk_rows: self.chunk_rows as u64 },
            centers,
            stds,
            shuffle: self.shuffle,
        })
    }
}

/// The drawn parameters of a `make_blobs` dataset, carried by every block task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlobsSpec {
    layout: Layout,
    centers: Array2<f64>,
    stds: Vec<f64>,
    shuffle: bool,
}

impl BlockSpec for BlobsSpec {
    type Y = i64;
    const OP_NAME: &'static str = "rask.datasets.make_blobs_block";

    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn n_features(&self) -> usize {
        self.centers.ncols()
    }

    /// Each centre gets `rows / k` rows of the block, and the `rows % k` left over go to
    /// distinct centres drawn at random (so no centre is favoured across blocks); rows are then
    /// shuffled if asked, and each is its centre plus `std · N(0, I)`.
    fn generate(&self, rows: usize, rng: &mut ChaCha8Rng) -> Result<(Array2<f64>, Array1<i64>), OpError> {
        let k = self.centers.nrows();
        let mut counts = vec![rows / k; k];
        for c in sample(rng, k, rows % k) {
            counts[c] += 1;
        }
        let mut labels = labels_from_counts(&counts);
        if self.shuffle {
            labels.shuffle(rng);
        }
        let p = self.n_features();
        let mut x = Array2::zeros((rows, p));
        for (mut row, &l) in x.rows_mut().into_iter().zip(&labels) {
            let (centre, std) = (self.centers.row(l), self.stds[l]);
            for (v, &c) in row.iter_mut().zip(centre) {
                *v = c + std * rng.sample::<f64, _>(StandardNormal);
            }
        }
        Ok((x, labels.into_iter().map(|l| l as i64).collect()))
    }
}

/// The block op of [`make_blobs`].
pub type MakeBlobsBlock = GenerateBlock<BlobsSpec>;

/// A `make_blobs` dataset and the centres its blobs are drawn around.
#[derive(Clone, Debug)]
pub struct Blobs {
    /// The features and the centre index of every row.
    pub data: ChunkedDataset<f64, i64>,
    /// The centres (`n_centers × n_features`), scikit-learn's `return_centers=True` output.
    pub centers: Array2<f64>,
}

/// Gaussian blobs: label `k` rows are drawn from `N(centers[k], cluster_std[k]² I)`, as
/// scikit-learn's `make_blobs`.
///
/// The centres (when counted) are drawn once from the seed's global stream; each block of
/// `chunk_rows` rows is drawn from its own stream and holds an even share of every centre.
/// Scikit-learn's per-centre `n_samples` list is not offered.
pub fn make_blobs(params: &BlobsParams) -> Result<Blobs> {
    let spec = params.spec()?;
    let centers = spec.centers.clone();
    Ok(Blobs { data: build(spec)?, centers })
}
