//! Hyperparameters of [`PoissonRegression`](super::PoissonRegression).

use serde::{Deserialize, Serialize};

use super::errors::PoissonRegressionParamsError;
use crate::linear_model::glm::{glm_setters, GlmSettings};
use crate::linear_model::{Penalty, Solver};

/// Validated hyperparameters of a Poisson regression (log link).
///
/// The objective is scikit-learn's `PoissonRegressor` one:
/// `(1 / 2S) Σᵢ sᵢ dev(yᵢ, μᵢ) + alpha/2 ‖w‖²` with `μ = exp(x·w + b)`, `dev` the Poisson
/// deviance and `S` the weight sum; half the deviance is `μ − y·log μ` up to terms without
/// the coefficients, which is the loss minimised. `alpha` maps one to one to scikit-learn's;
/// L1 and elastic-net penalties (`alpha · P(w)` as in
/// [`LinearRegressionValidParams`](crate::linear_model::LinearRegressionValidParams)) are an
/// extension scikit-learn does not offer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoissonRegressionValidParams {
    pub(crate) settings: GlmSettings,
    pub(crate) alpha: f64,
}

impl PoissonRegressionValidParams {
    fn validate(&self) -> Result<(), PoissonRegressionParamsError> {
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(PoissonRegressionParamsError::Alpha(self.alpha));
        }
        self.settings.check("PoissonRegression", false)?;
        Ok(())
    }
}

/// Unchecked hyperparameters of a Poisson regression, with scikit-learn's defaults:
/// `penalty = L2`, `alpha = 1`, `solver = Lbfgs`, `max_iter = 100`, `tol = 1e-4`,
/// `fit_intercept = true` (`l1_ratio = 0.5`, `rho = 1` for the solvers that use them).
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's: `alpha`, `penalty`,
/// `l1_ratio`, `solver`, `max_iter`, `tol`, `fit_intercept`, and `rho` (ADMM's, as
/// dask-glm's). See [`Penalty`] and [`Solver`] for the choices' names.
///
/// # Algorithm
///
/// A Poisson GLM with log link, minimising the objective of
/// [`PoissonRegressionValidParams`] with the chosen [`Solver`], starting from the
/// intercept-only fit (the log of the weighted mean target, as scikit-learn), which keeps
/// the first steps away from overflowing `exp(η)`. Negative targets
/// (`PoissonRegressionError::NegativeTarget`) and all-zero targets
/// (`PoissonRegressionError::ZeroTargets`) are refused.
///
/// # Parallelism and cost
///
/// The data is persisted once and checked in one pass; each objective evaluation is one
/// tree-reduced pass over the blocks (`O(n·d)` flops for a gradient, `O(n·d²)` for Newton's
/// Hessian); see [`Solver`] for the passes per iteration.
///
/// # Compared with scikit-learn and dask-ml
///
/// - Defaults and `alpha` are scikit-learn's `PoissonRegressor`'s; L1 and elastic-net
///   penalties and the other solvers are extensions (`"newton-cholesky"` is scikit-learn's
///   Newton solver too). Not converging sets `converged = false` instead of warning.
/// - dask-ml's `PoissonRegression` is a dask-glm model parameterised by `C` (penalty
///   `1 / C` on a summed loss) with `solver="admm"` by default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoissonRegressionParams(pub(crate) PoissonRegressionValidParams);

rask_ml::params! {
    PoissonRegressionParams(PoissonRegressionValidParams) {
        /// The defaults.
        new = PoissonRegressionParams(PoissonRegressionValidParams {
            settings: GlmSettings {
                penalty: Penalty::L2,
                l1_ratio: 0.5,
                solver: Solver::Lbfgs,
                max_iter: 100,
                tol: 1e-4,
                fit_intercept: true,
                rho: 1.0,
            },
            alpha: 1.0,
        });
        set {
            /// Sets the penalty strength `alpha` (non-negative).
            alpha(alpha: f64);
        }
        get {
            /// The penalty strength.
            alpha: f64;
            /// The shared solver settings.
            settings: &GlmSettings;
        }
        check_ref(&self) -> PoissonRegressionParamsError {
            self.0.validate()?;
            Ok(&self.0)
        }
    }
}

glm_setters!(PoissonRegressionParams(PoissonRegressionValidParams));

rask_ml::impl_set_params!(PoissonRegressionParams, |p| {
    "alpha" => p.0.alpha,
    "penalty" => p.0.settings.penalty,
    "l1_ratio" => p.0.settings.l1_ratio,
    "solver" => p.0.settings.solver,
    "max_iter" => p.0.settings.max_iter,
    "tol" => p.0.settings.tol,
    "fit_intercept" => p.0.settings.fit_intercept,
    "rho" => p.0.settings.rho,
});
