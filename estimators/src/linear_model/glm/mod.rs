//! Generalised linear models on chunked data: the shared engine of [`LogisticRegression`],
//! [`LinearRegression`] and [`PoissonRegression`], after dask-glm.
//!
//! # Design
//!
//! - A [`Family`] (Gaussian/identity, Bernoulli/logit, multinomial/softmax, Poisson/log) gives
//!   the per-row loss and its derivatives in the linear predictor. The block op
//!   [`ops::BlockPartials`] sums the loss, its gradient and (for Newton) its Hessian `XᵀWX`
//!   over one `(X, y, weights)` block; a tree reduction ([`ops::MergePartials`]) adds the
//!   blocks in a fixed order, so the result has the same bits on every scheduler.
//! - The solvers ([`Solver`]) are driver loops in [`solver`]: each evaluation is one small
//!   reduction; the iteration runs on the reduced `len`-sized vectors (and `len × len`
//!   Hessians), never on the rows.
//! - Every problem is `minimise (1/S) Σ sᵢ ℓ(yᵢ, ηᵢ) + λ·((1 − r)/2 ‖β‖² + r ‖β‖₁)` with `S`
//!   the weight sum and `β` the coefficients without the intercepts (never penalised). Each
//!   estimator documents how its own parameters (`C`, `alpha`) map to `λ`.
//!
//! [`LogisticRegression`]: super::LogisticRegression
//! [`LinearRegression`]: super::LinearRegression
//! [`PoissonRegression`]: super::PoissonRegression

pub mod family;
pub mod linalg;
pub mod ops;
pub mod solver;

use rask_ml::MlError;
use serde::{Deserialize, Serialize};

pub use family::{Family, Layout, Partials};
pub use solver::{Data, Problem, Solution};

/// The regularisation term.
///
/// By name, as scikit-learn's `penalty`: `"none"` (scikit-learn's `None`), `"l2"`, `"l1"`,
/// `"elasticnet"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Penalty {
    /// No penalty.
    None,
    /// `½ ‖β‖²` (ridge).
    L2,
    /// `‖β‖₁` (lasso).
    L1,
    /// `(1 − l1_ratio)/2 ‖β‖² + l1_ratio ‖β‖₁`.
    ElasticNet,
}

rask_ml::param_enum!(Penalty { None => "none", L2 => "l2", L1 => "l1", ElasticNet => "elasticnet" });

impl Penalty {
    /// Whether the penalty is differentiable (none or L2).
    pub fn is_smooth(self) -> bool {
        matches!(self, Penalty::None | Penalty::L2)
    }
}

/// The optimisation algorithm. Every one honours `max_iter` and `tol` and reports how many
/// iterations it ran and whether it converged.
///
/// By name: scikit-learn's names where it has the algorithm (`"lbfgs"`; `"newton-cholesky"`
/// for [`Newton`](Self::Newton), Newton's method on the exact Hessian; `"cholesky"` for
/// [`Direct`](Self::Direct), the normal equations, as `Ridge`'s), dask-glm's for the others
/// (`"gradient_descent"`, `"proximal_grad"`, `"admm"`).
///
/// # Parallelism and cost
///
/// A fit first persists `x`, `y` and the weights (one computation; on a cluster they stay
/// on the workers, so the whole dataset is held in memory for the fit) and runs one summary
/// pass (rows, weight sum, classes, finiteness). Then every *evaluation* of the objective is
/// one graph computation and one pass: one `BlockPartials` task per block and a fan-in-8
/// tree of sums; the iteration itself runs on the client on `len`-sized vectors, where
/// `len = k·(d + fit_intercept)` (`k` = classes for the multinomial family, else 1).
///
/// | solver | passes per iteration | flops per row and pass | sent per block | on the client |
/// |---|---|---|---|---|
/// | `Direct` | 1 in all | `O(len²)` | `len × len` Hessian | one Cholesky solve, `O(len³)` |
/// | `Lbfgs` | 1, plus 1 per line-search backtrack | `O(len)` | loss, `len` gradient | two-loop recursion, memory 10 |
/// | `Newton` | 1 Hessian pass + at least 1 line-search pass | `O(len²)` (Hessian pass) | `len × len` | a `len × len` solve |
/// | `GradientDescent` | 1, plus 1 per backtrack | `O(len)` | loss, gradient | vector updates |
/// | `ProximalGrad` | 1–2, plus 1 per backtrack | `O(len)` | loss, gradient | soft-thresholding |
/// | `Admm` | 1 (no tree: one local solve per block) | up to 100 local Newton steps, `O(len²)` each | a `len` vector | averaging, soft-thresholding; `2 × blocks × len` numbers of state |
///
/// Every evaluation is a new graph over the persisted blocks, so an iteration also costs a
/// scheduler round trip. Results are bit-identical on every scheduler for the same chunking;
/// ADMM's answer also depends on the chunking (its local problems are the blocks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Solver {
    /// Limited-memory BFGS (memory 10, backtracking line search). Smooth penalties only.
    /// Stops when the largest gradient entry is at most `tol` (scipy's `gtol`, which
    /// scikit-learn's lbfgs uses; scipy's relative-decrease test is not used, so a small `tol`
    /// is honoured rather than cut short).
    Lbfgs,
    /// Newton's method with the exact Hessian `XᵀWX` (one reduction per iteration) and
    /// Armijo backtracking. Smooth penalties only. Stops when the largest gradient entry is at
    /// most `tol`.
    Newton,
    /// Gradient descent with backtracking line search. Smooth penalties only. Stops when the
    /// largest gradient entry is at most `tol`.
    GradientDescent,
    /// Accelerated proximal gradient (FISTA with backtracking and restarts). Any penalty.
    /// Stops when the largest entry of the gradient mapping is at most `tol`.
    ProximalGrad,
    /// Consensus ADMM: local Newton solves per block, soft-thresholding in the consensus
    /// update. Any penalty. Stops when the primal and dual residuals (largest entries) are at
    /// most `tol`.
    Admm,
    /// The normal equations `(XᵀWX + λ) w = XᵀWy` from one reduction and a Cholesky solve
    /// (minimum-norm eigen solve when singular). [`LinearRegression`](super::LinearRegression)
    /// only, with no penalty or L2.
    Direct,
}

rask_ml::param_enum!(Solver {
    Lbfgs => "lbfgs",
    Newton => "newton-cholesky",
    GradientDescent => "gradient_descent",
    ProximalGrad => "proximal_grad",
    Admm => "admm",
    Direct => "cholesky",
});

/// Invalid solver settings, one variant per field.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GlmParamsError {
    /// `tol` is not positive and finite.
    #[error("tol must be positive and finite, got {0}")]
    Tol(f64),
    /// `max_iter` is zero.
    #[error("max_iter must be at least 1, got {0}")]
    MaxIter(usize),
    /// `l1_ratio` is outside `[0, 1]`.
    #[error("l1_ratio must be in [0, 1], got {0}")]
    L1Ratio(f64),
    /// `rho` is not positive and finite.
    #[error("rho must be positive and finite, got {0}")]
    Rho(f64),
    /// The solver cannot handle the penalty.
    #[error("the {solver:?} solver supports no penalty or L2 only, not {penalty:?}; use ProximalGrad or Admm")]
    NonSmoothPenalty {
        /// The solver.
        solver: Solver,
        /// The penalty.
        penalty: Penalty,
    },
    /// The solver is not offered by this estimator.
    #[error("the {solver:?} solver is not available for {estimator}")]
    UnsupportedSolver {
        /// The solver.
        solver: Solver,
        /// The estimator.
        estimator: &'static str,
    },
}

/// What a GLM fit can fail with besides bad parameters.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GlmError {
    /// Chunked data or the graph failed.
    #[error(transparent)]
    Ml(#[from] MlError),
    /// The objective or the coefficients became NaN or infinite (overflow).
    #[error("the objective or coefficients became NaN or infinite at iteration {iteration}; scale the features or regularise more")]
    Numerical {
        /// The iteration.
        iteration: usize,
    },
}

/// The settings every GLM estimator shares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GlmSettings {
    /// The penalty.
    pub penalty: Penalty,
    /// The elastic-net mixing (`Penalty::ElasticNet` only).
    pub l1_ratio: f64,
    /// The solver.
    pub solver: Solver,
    /// Iteration budget.
    pub max_iter: usize,
    /// Convergence tolerance.
    pub tol: f64,
    /// Fit intercepts (never penalised).
    pub fit_intercept: bool,
    /// ADMM's augmented-Lagrangian parameter.
    pub rho: f64,
}

impl GlmSettings {
    /// Checks every field; `direct_ok` says whether [`Solver::Direct`] is offered.
    pub fn check(&self, estimator: &'static str, direct_ok: bool) -> Result<(), GlmParamsError> {
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return Err(GlmParamsError::Tol(self.tol));
        }
        if self.max_iter == 0 {
            return Err(GlmParamsError::MaxIter(self.max_iter));
        }
        if !(0.0..=1.0).contains(&self.l1_ratio) {
            return Err(GlmParamsError::L1Ratio(self.l1_ratio));
        }
        if !(self.rho.is_finite() && self.rho > 0.0) {
            return Err(GlmParamsError::Rho(self.rho));
        }
        if self.solver == Solver::Direct && !direct_ok {
            return Err(GlmParamsError::UnsupportedSolver { solver: self.solver, estimator });
        }
        let smooth_only =
            matches!(self.solver, Solver::Lbfgs | Solver::Newton | Solver::GradientDescent | Solver::Direct);
        if smooth_only && !self.penalty.is_smooth() {
            return Err(GlmParamsError::NonSmoothPenalty { solver: self.solver, penalty: self.penalty });
        }
        Ok(())
    }
}

/// Setters for the [`GlmSettings`] field `settings` of a params newtype `Params(ValidParams)`,
/// and its `settings()` getter.
macro_rules! glm_setters {
    ($t:ident($v:ty)) => {
        rask_ml::params! {
            $t($v) {
                set {
                    /// Sets the penalty.
                    penalty(penalty: $crate::linear_model::Penalty) => settings.penalty;
                    /// Sets the elastic-net mixing in `[0, 1]` (used with `Penalty::ElasticNet`).
                    l1_ratio(l1_ratio: f64) => settings.l1_ratio;
                    /// Sets the solver.
                    solver(solver: $crate::linear_model::Solver) => settings.solver;
                    /// Sets the iteration budget (at least 1).
                    max_iter(max_iter: usize) => settings.max_iter;
                    /// Sets the convergence tolerance (positive).
                    tol(tol: f64) => settings.tol;
                    /// Sets whether intercepts are fitted.
                    fit_intercept(fit_intercept: bool) => settings.fit_intercept;
                    /// Sets ADMM's augmented-Lagrangian parameter (positive).
                    rho(rho: f64) => settings.rho;
                }
            }
        }

        impl $t {
            /// The shared solver settings.
            pub fn settings(&self) -> &$crate::linear_model::glm::GlmSettings {
                &self.0.settings
            }
        }
    };
}
pub(crate) use glm_setters;

/// `e` with the place of the first NaN, infinite or too large feature when `e` says the
/// features have one (an extra pass over `x`, in the error path only): a finite value beyond
/// [`rask_ml::MAX_ABS_VALUE`] gives [`MlError::TooLarge`].
pub fn locate_non_finite<F: rask_ml::Float>(e: MlError, x: &rask_ml::ChunkedArray<F>) -> MlError {
    match e {
        MlError::NonFinite { what } if what == "x" => x.non_finite_error("x"),
        other => other,
    }
}

/// The checks every GLM fit makes on the one-pass summary: finite features and targets,
/// valid weights with a positive sum, rows that line up.
pub fn check_summary(s: &ops::DataSummary) -> Result<(), MlError> {
    if s.misaligned {
        return Err(MlError::InvalidParameter {
            name: "y",
            message: "blocks of x, y and weights have different row counts".into(),
        });
    }
    if !s.x_finite {
        return Err(MlError::NonFinite { what: "x".into() });
    }
    if !s.y_finite {
        return Err(MlError::NonFinite { what: "y".into() });
    }
    if !s.w_valid {
        return Err(MlError::InvalidParameter {
            name: "weights",
            message: "sample weights must be finite and non-negative".into(),
        });
    }
    if s.n_rows == 0 {
        return Err(MlError::InvalidParameter { name: "x", message: "no rows to fit".into() });
    }
    if s.weight_sum.is_nan() || s.weight_sum <= 0.0 {
        return Err(MlError::InvalidParameter { name: "weights", message: "sample weights sum to zero".into() });
    }
    Ok(())
}
