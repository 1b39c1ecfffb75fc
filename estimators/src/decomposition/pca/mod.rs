//! Principal component analysis: scikit-learn's `PCA` on chunked data.

mod algorithm;
mod errors;
mod params;

pub(crate) use algorithm::noise_level_variance;
pub use algorithm::Pca;
pub use errors::PcaError;
pub use params::{NComponents, PcaParams, PcaParamsError, PcaSolver, PcaValidParams};
