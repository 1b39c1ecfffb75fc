//! `SGDClassifier` and `SGDRegressor`: linear models fitted by stochastic gradient descent,
//! scikit-learn's algorithm sample for sample.
//!
//! SGD is sequential by nature, so an epoch is a *chain* of tasks, one per block: each task
//! takes the optimiser state and a block and returns the new state. The state (the weights and
//! the few scalars of scikit-learn's `WeightVector`) is small, so on a cluster it travels to the
//! block rather than the block to it. A multiclass problem (one-vs-rest, as in scikit-learn)
//! updates every class's binary model in the same pass over a block. Between epochs the driver
//! checks scikit-learn's stopping rule (`n_iter_no_change` epochs without the training loss
//! improving by `tol · n_samples`).
//!
//! With `shuffle(false)` the updates follow the rows in order, exactly as scikit-learn's
//! `shuffle=False`, so the coefficients match scikit-learn's to rounding and do not depend on the
//! chunking. With shuffling, each epoch visits the blocks in a seeded random order and the rows
//! of each block in a seeded random order (streams derived from the seed, the epoch and the
//! block); that is not scikit-learn's global permutation, so shuffled fits are compared with it
//! by score, not by coefficients.
//!
//! Every epoch reads the data again: a lazy input (a transform, a loader) is recomputed each
//! epoch, which keeps memory bounded for data larger than memory. Persist the dataset first
//! when it fits, so epochs read blocks from memory.
//!
//! `partial_fit` runs one epoch over the given data, continuing the learning-rate schedule
//! (`t`) of the model passed in: model in, model out, for streaming and adaptive searches.

mod algorithm;
mod errors;
mod loss;
pub(crate) mod ops;
mod params;

pub use algorithm::{SgdClassifier, SgdRegressor};
pub use errors::{SgdError, SgdParamsError};
pub use loss::{SgdClassifierLoss, SgdRegressorLoss};
pub use ops::SgdStates;
pub use params::{
    LearningRate, SgdClassifierParams, SgdClassifierValidParams, SgdPenalty, SgdRegressorParams,
    SgdRegressorValidParams,
};
