//! Hyperparameters of [`LogisticRegression`](super::LogisticRegression).

use serde::{Deserialize, Serialize};

use super::errors::LogisticRegressionParamsError;
use crate::linear_model::glm::{glm_setters, GlmSettings};
use crate::linear_model::{Penalty, Solver};

/// Validated hyperparameters of a logistic regression.
///
/// The objective is scikit-learn's: `C · Σᵢ sᵢ ℓᵢ + P(β)` with `P` one of `½ ‖β‖²` (L2),
/// `‖β‖₁` (L1), `(1 − l1_ratio)/2 ‖β‖² + l1_ratio ‖β‖₁` (elastic-net) or nothing, the
/// intercepts never penalised. The solvers minimise the same objective divided by `C · S`
/// (`S` the weight sum, the row count without weights), i.e. the mean loss plus `λ · P` with
/// `λ = 1 / (C · S)`; `tol` applies to that scaled objective, as in scikit-learn's `lbfgs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegressionValidParams {
    pub(crate) settings: GlmSettings,
    pub(crate) c: f64,
}

impl LogisticRegressionValidParams {
    fn validate(&self) -> Result<(), LogisticRegressionParamsError> {
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(LogisticRegressionParamsError::C(self.c));
        }
        self.settings.check("LogisticRegression", false)?;
        Ok(())
    }
}

/// Unchecked hyperparameters of a logistic regression: a builder with scikit-learn's defaults
/// (`penalty = L2`, `C = 1`, `solver = Lbfgs`, `max_iter = 100`, `tol = 1e-4`,
/// `fit_intercept = true`; `l1_ratio = 0.5` and `rho = 1` for the solvers that use them).
///
/// By name ([`SetParams`](rask_ml::SetParams)), scikit-learn's names lower-cased (Rust field
/// names are lower case, so scikit-learn's `C` is `"c"`): `c`, `penalty`, `l1_ratio`,
/// `solver`, `max_iter`, `tol`, `fit_intercept`, and `rho` (ADMM's, as dask-glm's). See
/// [`Penalty`] and [`Solver`] for the choices' names.
///
/// # Algorithm
///
/// Binary logistic regression (sigmoid, the second sorted class positive) for two classes,
/// multinomial (softmax, one coefficient row per class) for three or more, minimising the
/// objective of [`LogisticRegressionValidParams`] with the chosen [`Solver`] from zero
/// coefficients. Multinomial intercepts (and, without an L1 term, coefficients) are then
/// centred over the classes, which does not change the probabilities.
///
/// # Parallelism and cost
///
/// The data is persisted once, one pass finds the classes and checks the values, and each
/// objective evaluation is one tree-reduced pass over the blocks; see [`Solver`] for the
/// passes per iteration and the cost of each. The default `Lbfgs` reads the data about once
/// per iteration (`O(n·d·k)` flops, `k` coefficient rows) and sends a gradient of
/// `k·(d + 1)` numbers per block.
///
/// # Compared with scikit-learn and dask-ml
///
/// - Defaults and the objective are scikit-learn's (`C`, `tol` on the mean-loss objective as
///   its `lbfgs`; see [`Solver::Lbfgs`] for the left-out `ftol` test). More than two classes
///   are always multinomial (scikit-learn ≥ 1.5's behaviour); one-vs-rest, `class_weight`,
///   `warm_start`, `intercept_scaling`, `dual` and the liblinear / sag / saga solvers are not
///   offered. Not converging within `max_iter` sets `converged = false` instead of warning.
/// - dask-ml (dask-glm) defaults to `solver="admm"`, fits binary problems only, and scales
///   the penalty as `1 / C` on a summed loss; its solver names `lbfgs`,
///   `gradient_descent`, `proximal_grad` and `admm` are accepted here, its `newton` is
///   `"newton-cholesky"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegressionParams(pub(crate) LogisticRegressionValidParams);

rask_ml::params! {
    LogisticRegressionParams(LogisticRegressionValidParams) {
        /// The defaults.
        new = LogisticRegressionParams(LogisticRegressionValidParams {
            settings: GlmSettings {
                penalty: Penalty::L2,
                l1_ratio: 0.5,
                solver: Solver::Lbfgs,
                max_iter: 100,
                tol: 1e-4,
                fit_intercept: true,
                rho: 1.0,
            },
            c: 1.0,
        });
        set {
            /// Sets the inverse regularisation strength `C` (positive; larger means less penalty).
            c(c: f64);
        }
        get {
            /// The inverse regularisation strength.
            c: f64;
            /// The shared solver settings.
            settings: &GlmSettings;
        }
        check_ref(&self) -> LogisticRegressionParamsError {
            self.0.validate()?;
            Ok(&self.0)
        }
    }
}

glm_setters!(LogisticRegressionParams(LogisticRegressionValidParams));

// scikit-learn's `C` is `"c"`.
rask_ml::impl_set_params!(LogisticRegressionParams, |p| {
    "c" => p.0.c,
    "penalty" => p.0.settings.penalty,
    "l1_ratio" => p.0.settings.l1_ratio,
    "solver" => p.0.settings.solver,
    "max_iter" => p.0.settings.max_iter,
    "tol" => p.0.settings.tol,
    "fit_intercept" => p.0.settings.fit_intercept,
    "rho" => p.0.settings.rho,
});
