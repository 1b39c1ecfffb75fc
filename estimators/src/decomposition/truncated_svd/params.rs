//! The hyperparameters of [`TruncatedSvd`](super::TruncatedSvd).

use rask_ml::params::{ParamType, ParamValue};
use serde::{Deserialize, Serialize};

use crate::by_name::set_params_by_hand;

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

/// Unchecked truncated SVD hyperparameters (a builder);
/// [`ParamGuard::check`](rask_ml::ParamGuard::check) validates them.
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's and dask-ml's:
/// `n_components`, `algorithm` (`"randomized"` or `"tsqr"`), `n_oversamples` and `n_iter` (the
/// randomized solver's settings, kept while `algorithm` is `"tsqr"`), and `seed`
/// (scikit-learn's `random_state`).
///
/// # Algorithm
///
/// The top right singular vectors of the uncentred rows: [`SvdSolver::Tsqr`] stacks the `R`
/// factors of the blocks and takes the SVD of the final `d × d` `R` (exact);
/// [`SvdSolver::Randomized`] is Halko et al.'s randomized SVD (as for
/// [`PcaParams`](crate::decomposition::PcaParams), without centring). The explained variance
/// is that of the transformed training rows, as scikit-learn computes it.
///
/// # Parallelism and cost
///
/// Each pass is one graph computation of one task per block and a fan-in-8 tree; the SVD
/// runs on the client. A fit is a column-statistics pass (total variance, finiteness), the
/// solver's passes and a last pass transforming the rows and taking their column variances
/// (`O(n·d·k)`): 3 passes in all for `Tsqr` (`O(n·d²)` flops, a `d × d` `R` per block), and
/// `n_power_iter + 4` for `Randomized` (`O(n·d·l)` each, `l = n_components + n_oversamples`,
/// a `d × l` matrix per block). The input is not persisted: every pass recomputes its
/// blocks.
///
/// # Compared with scikit-learn and dask-ml
///
/// - `n_components` is required (both default to 2). The default solver is scikit-learn's
///   (randomized, 10 oversamples, 5 power iterations); dask-ml's default `algorithm` is
///   `"tsqr"`. `arpack`, `tol` and dask-ml's `compute=False` are not offered.
/// - Components are signed as scikit-learn 1.6's `svd_flip(u_based_decision=False)`; the
///   random start differs from both, so randomized results agree only to the solver's
///   accuracy. Targets and sample weights are ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruncatedSvdParams(TruncatedSvdValidParams, RandomizedSettings);

/// The randomized solver's settings as set by name, kept while another solver is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
struct RandomizedSettings {
    n_oversamples: usize,
    n_power_iter: usize,
}

/// The choices of `algorithm` by name.
#[derive(Clone, Copy, Debug, PartialEq)]
enum AlgorithmName {
    Tsqr,
    Randomized,
}

rask_ml::param_enum!(AlgorithmName { Tsqr => "tsqr", Randomized => "randomized" });

impl TruncatedSvdParams {
    fn algorithm_by_name(&self) -> ParamValue {
        match self.0.solver {
            SvdSolver::Tsqr => AlgorithmName::Tsqr,
            SvdSolver::Randomized { .. } => AlgorithmName::Randomized,
        }
        .to_param()
    }

    fn set_algorithm_by_name(&mut self, name: &str, value: &ParamValue) -> rask_ml::Result<()> {
        let RandomizedSettings { n_oversamples, n_power_iter } = self.1;
        self.0.solver = match AlgorithmName::from_param(name, value)? {
            AlgorithmName::Tsqr => SvdSolver::Tsqr,
            AlgorithmName::Randomized => SvdSolver::Randomized { n_oversamples, n_power_iter },
        };
        Ok(())
    }

    /// Sets a randomized-solver setting by name, and in the solver when it is randomized.
    fn set_randomized(&mut self, name: &str, value: &ParamValue) -> rask_ml::Result<()> {
        let v = usize::from_param(name, value)?;
        match name {
            "n_oversamples" => self.1.n_oversamples = v,
            _ => self.1.n_power_iter = v,
        }
        if let SvdSolver::Randomized { .. } = self.0.solver {
            let RandomizedSettings { n_oversamples, n_power_iter } = self.1;
            self.0.solver = SvdSolver::Randomized { n_oversamples, n_power_iter };
        }
        Ok(())
    }
}

set_params_by_hand!(TruncatedSvdParams, |p, name, value| {
    "n_components" => field (p.0.n_components),
    "algorithm" => with (p.algorithm_by_name(), p.set_algorithm_by_name(name, value)),
    "n_oversamples" => with (p.1.n_oversamples.to_param(), p.set_randomized(name, value)),
    "n_iter" => with (p.1.n_power_iter.to_param(), p.set_randomized(name, value)),
    "seed" => field (p.0.seed),
});

/// An invalid truncated SVD parameter.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TruncatedSvdParamsError {
    /// `n_components == 0`.
    #[error("n_components must be at least 1")]
    ZeroComponents,
    /// `n_oversamples == 0`.
    #[error("n_oversamples must be at least 1")]
    ZeroOversamples,
}

rask_ml::params! {
    TruncatedSvdParams(TruncatedSvdValidParams) {
        set {
            /// The number of components.
            n_components(n: usize);
            /// The seed of the randomized solver (the TSQR solver draws nothing).
            seed(seed: u64);
        }
        get {
            /// The number of components.
            n_components: usize;
            /// The solver.
            solver: SvdSolver;
            /// The seed.
            seed: u64;
        }
        check_ref(&self) -> TruncatedSvdParamsError {
            let p = &self.0;
            if p.n_components == 0 {
                return Err(TruncatedSvdParamsError::ZeroComponents);
            }
            if let SvdSolver::Randomized { n_oversamples: 0, .. } = p.solver {
                return Err(TruncatedSvdParamsError::ZeroOversamples);
            }
            Ok(p)
        }
    }
}

impl TruncatedSvdParams {
    /// `n_components` components with scikit-learn's defaults: the randomized solver with 10
    /// oversamples and 5 power iterations, seed 0.
    pub fn new(n_components: usize) -> Self {
        TruncatedSvdParams(
            TruncatedSvdValidParams {
                n_components,
                solver: SvdSolver::Randomized { n_oversamples: 10, n_power_iter: 5 },
                seed: 0,
            },
            RandomizedSettings { n_oversamples: 10, n_power_iter: 5 },
        )
    }

    /// The solver.
    pub fn solver(mut self, solver: SvdSolver) -> Self {
        if let SvdSolver::Randomized { n_oversamples, n_power_iter } = solver {
            self.1 = RandomizedSettings { n_oversamples, n_power_iter };
        }
        self.0.solver = solver;
        self
    }
}
