//! Spectral clustering with the Nyström approximation of the RBF affinity matrix (dask-ml's
//! design), followed by k-means on the embedded rows.

mod algorithm;
mod errors;
pub mod ops;
mod params;

pub use algorithm::SpectralClustering;
pub use errors::SpectralClusteringError;
pub use params::{SpectralClusteringParams, SpectralClusteringParamsError, SpectralClusteringValidParams};
