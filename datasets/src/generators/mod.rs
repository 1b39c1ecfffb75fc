//! Chunked dataset generators: `make_blobs`, `make_classification`, `make_regression` (after
//! scikit-learn) and `make_counts` (after dask-ml).
//!
//! Every generator takes a parameter struct (scikit-learn's defaults, chained setters, and a
//! `check` that names the refused field) and returns a lazy [`ChunkedDataset`](rask_ml::ChunkedDataset)
//! of `chunk_rows`-row blocks, the last one shorter when they do not divide. Nothing is generated
//! until the dataset is computed, and then one block at a time per task:
//!
//! - what the blocks share (centres, centroids, covariance transforms, coefficients, the
//!   feature permutation) is drawn once, when the graph is built, from a stream derived from
//!   the seed ([`global_stream_seed`]), and travels in the op arguments;
//! - each block's rows come from the block's own stream ([`block_stream_seed`]), so a block is
//!   the same on every scheduler, alone or with others, in whatever order blocks run.
//!
//! A request past the size limits ([`rask_ml::Limits`]: more blocks than `RASK_MAX_BLOCKS`, or a
//! block of `chunk_rows × n_features` values larger than `RASK_MAX_BLOCK_BYTES`) is refused by
//! `check` with the numbers, before anything is drawn or allocated.
//!
//! Every parameter offered is honoured; scikit-learn options that are not implemented are
//! refused with [`DatasetError::Unsupported`], never ignored.
//!
//! ```
//! use rask_datasets::generators::{make_classification, ClassificationParams};
//!
//! let params =
//!     ClassificationParams::new().n_samples(250).n_features(6).n_informative(3).n_classes(3).seed(7).chunk_rows(100);
//! let data = make_classification(&params).unwrap();
//! assert_eq!(data.x().chunks().sizes(), Some(&[100, 100, 50][..]));
//! let y = data.y().unwrap().compute().unwrap();
//! assert!(y.iter().all(|&c| (0..3).contains(&c)));
//! ```

mod blobs;
mod block;
mod classification;
mod counts;
mod error;
mod regression;

pub use blobs::{make_blobs, Blobs, BlobsParams, BlobsSpec, Centers, ClusterStd, MakeBlobsBlock};
pub use block::{
    block_stream_seed, global_stream_seed, BlockSpec, BlockX, BlockY, GenerateBlock, Layout, XyBlock, XyBlockF64Codec,
    XyBlockI64Codec,
};
pub use classification::{
    make_classification, ClassificationParams, ClassificationSpec, MakeClassificationBlock, PerFeature,
};
pub use counts::{make_counts, Counts, CountsParams, CountsSpec, MakeCountsBlock};
pub use error::{DatasetError, Result};
pub use regression::{make_regression, MakeRegressionBlock, Regression, RegressionParams, RegressionSpec};
