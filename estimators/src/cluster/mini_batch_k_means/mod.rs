//! Mini-batch k-means (Sculley 2010, as scikit-learn's `MiniBatchKMeans`): centres updated
//! batch after batch with a per-centre learning rate of one over the rows it has absorbed.

mod algorithm;
mod errors;
pub mod ops;
mod params;

pub use algorithm::MiniBatchKMeans;
pub use errors::MiniBatchKMeansError;
pub use params::{MiniBatchInit, MiniBatchKMeansParams, MiniBatchKMeansParamsError, MiniBatchKMeansValidParams};
