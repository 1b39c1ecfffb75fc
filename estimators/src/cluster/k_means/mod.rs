//! k-means: Lloyd's algorithm over row blocks, with k-means‖, k-means++, random or given
//! initial centres.
//!
//! Empty clusters keep their previous centre (scikit-learn instead moves them to the rows
//! farthest from their centres); sample weights are refused. NaN and infinite values are
//! refused before fitting (one pass of column statistics, which also gives the variances
//! that scale `tol`) and by every block op.

mod algorithm;
mod errors;
pub(crate) mod init;
pub mod ops;
mod params;

pub(crate) use algorithm::{distances, lloyd_pass, predict_labels, PassOptions};
pub use algorithm::{lloyd_step, KMeans};
pub use errors::KMeansError;
pub use params::{KMeansInit, KMeansParams, KMeansParamsError, KMeansValidParams};
