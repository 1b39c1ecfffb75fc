//! Hyperparameters of [`LinearRegression`](super::LinearRegression).

use serde::{Deserialize, Serialize};

use super::errors::LinearRegressionParamsError;
use crate::linear_model::glm::{glm_setters, GlmSettings};
use crate::linear_model::{Penalty, Solver};

/// Validated hyperparameters of a linear regression.
///
/// The objective is scikit-learn's `ElasticNet`/`Lasso` one:
/// `(1 / 2S) Σᵢ sᵢ (yᵢ − xᵢ·w − b)² + alpha · P(w)` with `S` the weight sum (the row count
/// without weights) and `P` one of `½ ‖w‖²` (L2), `‖w‖₁` (L1),
/// `(1 − l1_ratio)/2 ‖w‖² + l1_ratio ‖w‖₁` (elastic-net) or nothing; the intercept is never
/// penalised. So `Lasso(alpha)` is `penalty = L1, alpha`, `ElasticNet(alpha, l1_ratio)` is
/// `penalty = ElasticNet` with the same two numbers, and `Ridge(alpha = a)` (whose objective
/// is `‖y − Xw‖² + a ‖w‖²`) is `penalty = L2, alpha = a / S`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearRegressionValidParams {
    pub(crate) settings: GlmSettings,
    pub(crate) alpha: f64,
}

impl LinearRegressionValidParams {
    fn validate(&self) -> Result<(), LinearRegressionParamsError> {
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(LinearRegressionParamsError::Alpha(self.alpha));
        }
        self.settings.check("LinearRegression", true)?;
        Ok(())
    }
}

/// Unchecked hyperparameters of a linear regression. Defaults: ordinary least squares by the
/// normal equations (`penalty = None`, `solver = Direct`), `alpha = 1` (used only with a
/// penalty), `max_iter = 1000`, `tol = 1e-4` (iterative solvers), `fit_intercept = true`,
/// `l1_ratio = 0.5`, `rho = 1`.
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's: `alpha`, `penalty`,
/// `l1_ratio`, `solver`, `max_iter`, `tol`, `fit_intercept`, and `rho` (ADMM's, as
/// dask-glm's). See [`Penalty`] and [`Solver`] for the choices' names.
///
/// # Algorithm
///
/// Least squares with an optional L2, L1 or elastic-net penalty (the objective of
/// [`LinearRegressionValidParams`]). The default [`Solver::Direct`] solves the normal
/// equations `[X 1]ᵀ W [X 1] β = [X 1]ᵀ W y` (divided by the weight sum, with `alpha` added
/// to the diagonal entries of the penalised coefficients) by Cholesky, falling back to a minimum-norm eigen solve when the matrix is singular; L1 and
/// elastic-net need [`Solver::ProximalGrad`] or [`Solver::Admm`].
///
/// # Parallelism and cost
///
/// The data is persisted once and checked in one pass; the direct solver is then one pass:
/// one task per block computing its `(d + 1) × (d + 1)` Gram matrix and `d + 1` moments
/// (`O(n·d²)` flops), a fan-in-8 tree of sums, and a `(d + 1)`-sized Cholesky solve on the
/// client. The iterative solvers cost what [`Solver`] lists per iteration.
///
/// # Compared with scikit-learn and dask-ml
///
/// - The default is scikit-learn's `LinearRegression` (no penalty), but by the normal
///   equations, which square the condition number, where scikit-learn uses an SVD-based
///   least squares: ill-conditioned features lose about twice the digits.
/// - Lasso and elastic-net run proximal gradient or ADMM rather than scikit-learn's
///   coordinate descent, so `tol` means a gradient-mapping or residual bound, not a duality
///   gap, and iteration counts differ; `Ridge(alpha = a)` is `L2` with `alpha = a / S`.
///   `positive` and multi-output targets are not offered.
/// - dask-ml's `LinearRegression` is a dask-glm model whose defaults are an **L2 penalty
///   with `C = 1`** and `solver="admm"`, so its default fit is ridge-like, not ordinary least
///   squares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearRegressionParams(pub(crate) LinearRegressionValidParams);

rask_ml::params! {
    LinearRegressionParams(LinearRegressionValidParams) {
        /// The defaults.
        new = LinearRegressionParams(LinearRegressionValidParams {
            settings: GlmSettings {
                penalty: Penalty::None,
                l1_ratio: 0.5,
                solver: Solver::Direct,
                max_iter: 1000,
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
        check_ref(&self) -> LinearRegressionParamsError {
            self.0.validate()?;
            Ok(&self.0)
        }
    }
}

glm_setters!(LinearRegressionParams(LinearRegressionValidParams));

rask_ml::impl_set_params!(LinearRegressionParams, |p| {
    "alpha" => p.0.alpha,
    "penalty" => p.0.settings.penalty,
    "l1_ratio" => p.0.settings.l1_ratio,
    "solver" => p.0.settings.solver,
    "max_iter" => p.0.settings.max_iter,
    "tol" => p.0.settings.tol,
    "fit_intercept" => p.0.settings.fit_intercept,
    "rho" => p.0.settings.rho,
});
