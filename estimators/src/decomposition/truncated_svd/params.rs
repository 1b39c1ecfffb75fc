//! The hyperparameters of [`TruncatedSvd`](super::TruncatedSvd).

use rask_ml::ParamGuard;
use serde::{Deserialize, Serialize};

/// How the singular vectors are found.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum SvdSolver {
    /// TSQR of the data, then the SVD of the small `R`: exact, one pass.
    Tsqr,
    /// Halko, Martinsson and Tropp's randomized SVD (scikit-learn's default algorithm).
    Randomized {
        /// Extra random directions beyond `n_components` (scikit-learn's default: 10).
        n_oversamples: usize,
        /// Power iterations (scikit-learn's default `n_iter`: 5).
        n_power_iter: usize,
    },
}

/// Validated truncated SVD hyperparameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruncatedSvdValidParams {
    n_components: usize,
    solver: SvdSolver,
    seed: u64,
}

/// Unchecked truncated SVD hyperparameters (a builder); [`ParamGuard::check`] validates them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruncatedSvdParams(TruncatedSvdValidParams);

/// An invalid truncated SVD parameter.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TruncatedSvdParamsError {
    /// `n_components == 0`.
    #[error("n_components must be at least 1")]
    ZeroComponents,
    /// `n_oversamples == 0`.
    #[error("n_oversamples must be at least 1")]
    ZeroOversamples,
}

impl TruncatedSvdParams {
    /// `n_components` components with scikit-learn's defaults: the randomized solver with 10
    /// oversamples and 5 power iterations, seed 0.
    pub fn new(n_components: usize) -> Self {
        TruncatedSvdParams(TruncatedSvdValidParams {
            n_components,
            solver: SvdSolver::Randomized { n_oversamples: 10, n_power_iter: 5 },
            seed: 0,
        })
    }

    /// The number of components.
    pub fn n_components(mut self, n: usize) -> Self {
        self.0.n_components = n;
        self
    }

    /// The solver.
    pub fn solver(mut self, solver: SvdSolver) -> Self {
        self.0.solver = solver;
        self
    }

    /// The seed of the randomized solver (the TSQR solver draws nothing).
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
}

impl TruncatedSvdValidParams {
    /// The number of components.
    pub fn n_components(&self) -> usize {
        self.n_components
    }

    /// The solver.
    pub fn solver(&self) -> SvdSolver {
        self.solver
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl ParamGuard for TruncatedSvdParams {
    type Checked = TruncatedSvdValidParams;
    type Error = TruncatedSvdParamsError;

    fn check_ref(&self) -> Result<&TruncatedSvdValidParams, TruncatedSvdParamsError> {
        let p = &self.0;
        if p.n_components == 0 {
            return Err(TruncatedSvdParamsError::ZeroComponents);
        }
        if let SvdSolver::Randomized { n_oversamples: 0, .. } = p.solver {
            return Err(TruncatedSvdParamsError::ZeroOversamples);
        }
        Ok(p)
    }

    fn check(self) -> Result<TruncatedSvdValidParams, TruncatedSvdParamsError> {
        self.check_ref()?;
        Ok(self.0)
    }
}
