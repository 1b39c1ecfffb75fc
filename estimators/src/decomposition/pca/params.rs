//! The hyperparameters of [`Pca`](super::Pca).

use rask_ml::params::{wrong_type, ParamType, ParamValue};
use serde::{Deserialize, Serialize};

use crate::by_name::set_params_by_hand;

/// How many components to keep.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum NComponents {
    /// Exactly this many (at least 1, at most `min(n_samples, n_features)`).
    Count(usize),
    /// As many as it takes for the explained variance ratio to exceed this fraction, in
    /// `(0, 1)`, like scikit-learn's float `n_components`. Needs the whole spectrum, so only
    /// the exact solvers ([`PcaSolver::CovarianceEigh`], [`PcaSolver::Tsqr`], or [`PcaSolver::Auto`],
    /// which picks one of them) accept it.
    VarianceFraction(f64),
}

/// By name, as scikit-learn's `n_components`: an integer is a [`Count`](NComponents::Count),
/// a float a [`VarianceFraction`](NComponents::VarianceFraction).
impl ParamType for NComponents {
    fn to_param(&self) -> ParamValue {
        match *self {
            NComponents::Count(n) => n.to_param(),
            NComponents::VarianceFraction(f) => ParamValue::Float(f),
        }
    }

    fn from_param(name: &str, value: &ParamValue) -> rask_ml::Result<Self> {
        match value {
            ParamValue::Int(_) => usize::from_param(name, value).map(NComponents::Count),
            ParamValue::Float(f) => Ok(NComponents::VarianceFraction(*f)),
            _ => Err(wrong_type(name, "an integer (a count) or a float (a variance fraction)", value)),
        }
    }
}

/// How the principal components are found. Every solver is one or more chunked passes over
/// the row blocks; none needs the whole array in memory.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum PcaSolver {
    /// [`CovarianceEigh`](Self::CovarianceEigh) when `n_features ≤ 1000` and `n_samples ≥ 10 · n_features` (the
    /// rule of scikit-learn 1.6's `svd_solver="auto"` for its covariance solver), otherwise
    /// [`Tsqr`](Self::Tsqr). Both are exact, so the choice affects speed, not the answer
    /// beyond rounding.
    Auto,
    /// The covariance matrix `(X − μ)ᵀ(X − μ) / (n − 1)` and its symmetric eigendecomposition
    /// (scikit-learn's `covariance_eigh`). One pass: each block contributes its count, mean and
    /// centred Gram matrix, merged with Chan et al.'s pairwise update (the between-block term
    /// is added explicitly, never `XᵀX − nμμᵀ`). Fastest; squares the condition number, so the
    /// smallest explained variances are accurate only to about `1e-16 · λ_max` in absolute
    /// terms.
    CovarianceEigh,
    /// The old name of [`CovarianceEigh`](Self::CovarianceEigh), which it still means.
    /// scikit-learn's `full` is an exact SVD of the data: [`Tsqr`](Self::Tsqr) here.
    #[deprecated(
        since = "0.1.0",
        note = "`Full` is covariance + eigendecomposition, scikit-learn's `covariance_eigh`: write \
                `PcaSolver::CovarianceEigh`. scikit-learn's `full` (an exact SVD) is `PcaSolver::Tsqr`."
    )]
    Full,
    /// TSQR of the centred data, then the SVD of the small `R`: an exact SVD of the centred
    /// data, as scikit-learn's `full` (by name, `"full"` and dask-ml's `"tsqr"` both choose
    /// it). One pass: each block contributes its count, mean and the `R` of its centred rows;
    /// merging stacks the `R`s with the rows `√nᵢ (μᵢ − μ)` and factors again.
    Tsqr,
    /// Halko, Martinsson and Tropp's randomized SVD of the centred data.
    Randomized {
        /// Extra random directions beyond `n_components` (scikit-learn's default: 10).
        n_oversamples: usize,
        /// Power iterations; `None` is scikit-learn 1.6's `iterated_power="auto"`: 7 when
        /// `n_components < 0.1 · min(n_samples, n_features)`, else 4. (dask-ml's default is
        /// 0, a much rougher answer.)
        n_power_iter: Option<usize>,
    },
}

impl PcaSolver {
    /// The randomized solver with scikit-learn's defaults.
    pub fn randomized() -> Self {
        PcaSolver::Randomized { n_oversamples: 10, n_power_iter: None }
    }
}

/// Unchecked PCA hyperparameters (a builder); [`ParamGuard::check`](rask_ml::ParamGuard::check)
/// validates them.
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's: `n_components` (see
/// [`NComponents`]), `svd_solver` (`"auto"`, `"covariance_eigh"` for
/// [`PcaSolver::CovarianceEigh`], `"full"` or `"tsqr"` (dask-ml's name) for the exact SVD
/// [`PcaSolver::Tsqr`], or `"randomized"`), `n_oversamples` and `iterated_power` (an
/// integer or `"auto"`; the randomized solver's settings, kept while another solver is
/// chosen, as scikit-learn keeps them), `whiten` and `seed` (scikit-learn's `random_state`).
///
/// # Algorithm
///
/// The principal axes of the centred rows, by one of the solvers of [`PcaSolver`]: the
/// covariance matrix and its symmetric eigendecomposition, an exact SVD through TSQR, or
/// Halko et al.'s randomized SVD. The explained variances use the `n − 1` denominator; the
/// noise variance is the mean of the discarded ones (for the randomized solver, from the
/// total variance). Signs follow scikit-learn 1.6's `svd_flip(u_based_decision=False)`.
///
/// # Parallelism and cost
///
/// Every pass is one graph computation: one task per block, merged by a fan-in-8 tree in
/// block order; the factorisation of the small result runs on the client.
///
/// | solver | passes | flops per pass | sent per block | on the client |
/// |---|---|---|---|---|
/// | `CovarianceEigh` | 1 | `O(n·d²)` | count, mean, `d × d` centred Gram | `d × d` eigendecomposition |
/// | `Tsqr` | 1 | `O(n·d²)` | count, mean, `d × d` `R` | SVD of `d × d` |
/// | `Randomized` | `n_power_iter + 3` | `O(n·d·l)`, `l = n_components + n_oversamples` | `d × l` (or `l × l` `R`) | QR of `d × l`, SVD of `l × l` |
///
/// The randomized solver's first pass is column statistics (mean, total variance), its last
/// the `R` of `(X − μ)Z`. The input is not persisted: the randomized solver recomputes its
/// blocks every pass, so persist a lazily generated or loaded `x` first when it fits in
/// memory. Memory per task: one block and a `d × d` (or `d × l`) matrix.
///
/// # Compared with scikit-learn and dask-ml
///
/// - `n_components` is required (no `None` for all, no `"mle"`); a variance fraction needs
///   an exact solver (`PcaParamsError::FractionNeedsExactSolver`).
/// - [`PcaSolver::Auto`] takes scikit-learn 1.6's covariance rule (`d ≤ 1000`, `n ≥ 10·d`)
///   and otherwise the exact `Tsqr`, where scikit-learn would pick its randomized solver for
///   `n_components < 0.8 · min(n, d)` on data larger than 500; unknown row counts choose
///   `Tsqr`. dask-ml's `"auto"` has no covariance solver: `full` (TSQR) when
///   `max(n, d) ≤ 500`, randomized when `n_components < 0.8 · min(n, d)`, else `full`.
/// - The randomized solver defaults to scikit-learn's `iterated_power="auto"` (dask-ml's
///   default is 0) and always re-orthonormalises with QR (scikit-learn's
///   `power_iteration_normalizer` is not offered); `arpack` is not offered.
/// - Targets and sample weights are ignored (scikit-learn's PCA takes no weights either).
///   Blocks split by columns do not exist here, so dask-ml's single-column-chunk requirement
///   has no counterpart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PcaParams(PcaValidParams, RandomizedSettings);

/// The randomized solver's settings as set by name, kept while another solver is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
struct RandomizedSettings {
    n_oversamples: usize,
    n_power_iter: Option<usize>,
}

/// The choices of `svd_solver` by name.
#[derive(Clone, Copy, Debug, PartialEq)]
enum SolverName {
    Auto,
    CovarianceEigh,
    Full,
    Tsqr,
    Randomized,
}

rask_ml::param_enum!(SolverName {
    Auto => "auto",
    CovarianceEigh => "covariance_eigh",
    Full => "full",
    Tsqr => "tsqr",
    Randomized => "randomized",
});

impl PcaParams {
    fn solver_by_name(&self) -> ParamValue {
        match self.0.solver {
            PcaSolver::Auto => SolverName::Auto,
            #[allow(deprecated)]
            PcaSolver::CovarianceEigh | PcaSolver::Full => SolverName::CovarianceEigh,
            // scikit-learn's name for an exact SVD, which TSQR computes.
            PcaSolver::Tsqr => SolverName::Full,
            PcaSolver::Randomized { .. } => SolverName::Randomized,
        }
        .to_param()
    }

    fn set_solver_by_name(&mut self, name: &str, value: &ParamValue) -> rask_ml::Result<()> {
        let RandomizedSettings { n_oversamples, n_power_iter } = self.1;
        self.0.solver = match SolverName::from_param(name, value)? {
            SolverName::Auto => PcaSolver::Auto,
            SolverName::CovarianceEigh => PcaSolver::CovarianceEigh,
            SolverName::Full | SolverName::Tsqr => PcaSolver::Tsqr,
            SolverName::Randomized => PcaSolver::Randomized { n_oversamples, n_power_iter },
        };
        Ok(())
    }

    fn iterated_power_by_name(&self) -> ParamValue {
        self.1.n_power_iter.map_or_else(|| ParamValue::from("auto"), |n| n.to_param())
    }

    /// Sets a randomized-solver setting by name, and in the solver when it is randomized.
    fn set_randomized(&mut self, name: &str, value: &ParamValue) -> rask_ml::Result<()> {
        match name {
            "n_oversamples" => self.1.n_oversamples = usize::from_param(name, value)?,
            _ => {
                self.1.n_power_iter = match value {
                    ParamValue::None => None,
                    ParamValue::Str(s) if s == "auto" => None,
                    ParamValue::Int(_) => Some(usize::from_param(name, value)?),
                    _ => return Err(wrong_type(name, "an integer or \"auto\"", value)),
                }
            }
        }
        if let PcaSolver::Randomized { .. } = self.0.solver {
            let RandomizedSettings { n_oversamples, n_power_iter } = self.1;
            self.0.solver = PcaSolver::Randomized { n_oversamples, n_power_iter };
        }
        Ok(())
    }
}

set_params_by_hand!(PcaParams, |p, name, value| {
    "n_components" => field (p.0.n_components),
    "svd_solver" => with (p.solver_by_name(), p.set_solver_by_name(name, value)),
    "n_oversamples" => with (p.1.n_oversamples.to_param(), p.set_randomized(name, value)),
    "iterated_power" => with (p.iterated_power_by_name(), p.set_randomized(name, value)),
    "whiten" => field (p.0.whiten),
    "seed" => field (p.0.seed),
});

/// Validated PCA hyperparameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PcaValidParams {
    n_components: NComponents,
    solver: PcaSolver,
    whiten: bool,
    seed: u64,
}

/// An invalid PCA parameter.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PcaParamsError {
    /// `NComponents::Count(0)`.
    #[error("n_components must be at least 1")]
    ZeroComponents,
    /// A variance fraction outside `(0, 1)`.
    #[error("a variance fraction for n_components must be in (0, 1), got {0}")]
    BadVarianceFraction(f64),
    /// A variance fraction with the randomized solver.
    #[error("a variance fraction for n_components needs an exact solver (Full, Tsqr or Auto), not Randomized")]
    FractionNeedsExactSolver,
    /// `n_oversamples == 0`.
    #[error("n_oversamples must be at least 1")]
    ZeroOversamples,
}

rask_ml::params! {
    PcaParams(PcaValidParams) {
        set {
            /// How many components to keep.
            n_components(n: NComponents);
            /// Whether `transform` scales the projections to unit variance.
            whiten(whiten: bool);
            /// The seed of the randomized solver's random directions (the other solvers draw nothing).
            seed(seed: u64);
        }
        get {
            /// How many components to keep.
            n_components: NComponents;
            /// The solver.
            solver: PcaSolver;
            /// Whether `transform` whitens.
            whiten: bool;
            /// The seed.
            seed: u64;
        }
        check_ref(&self) -> PcaParamsError {
            let p = &self.0;
            match p.n_components {
                NComponents::Count(0) => return Err(PcaParamsError::ZeroComponents),
                NComponents::VarianceFraction(f) if !(f > 0.0 && f < 1.0) => {
                    return Err(PcaParamsError::BadVarianceFraction(f))
                }
                NComponents::VarianceFraction(_) if matches!(p.solver, PcaSolver::Randomized { .. }) => {
                    return Err(PcaParamsError::FractionNeedsExactSolver)
                }
                _ => {}
            }
            if let PcaSolver::Randomized { n_oversamples: 0, .. } = p.solver {
                return Err(PcaParamsError::ZeroOversamples);
            }
            Ok(p)
        }
    }
}

impl PcaParams {
    /// `n_components` components, the [`Auto`](PcaSolver::Auto) solver, no whitening,
    /// seed 0.
    pub fn new(n_components: usize) -> Self {
        PcaParams(
            PcaValidParams {
                n_components: NComponents::Count(n_components),
                solver: PcaSolver::Auto,
                whiten: false,
                seed: 0,
            },
            RandomizedSettings { n_oversamples: 10, n_power_iter: None },
        )
    }

    /// The solver.
    pub fn solver(mut self, solver: PcaSolver) -> Self {
        if let PcaSolver::Randomized { n_oversamples, n_power_iter } = solver {
            self.1 = RandomizedSettings { n_oversamples, n_power_iter };
        }
        self.0.solver = solver;
        self
    }
}
