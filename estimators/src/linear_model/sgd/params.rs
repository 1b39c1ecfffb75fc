use rask_ml::params::{ParamType, ParamValue};
use serde::{Deserialize, Serialize};

use super::errors::SgdParamsError;
use super::loss::{RegressorLossName, SgdClassifierLoss, SgdRegressorLoss};
use crate::by_name::set_params_by_hand;

/// The regularisation term of SGD.
///
/// By name, as scikit-learn's `penalty`: `"none"` (scikit-learn's `None`), `"l2"`, `"l1"`,
/// `"elasticnet"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SgdPenalty {
    /// No penalty.
    None,
    /// `α/2 ‖w‖²`, applied by shrinking the weights each step.
    L2,
    /// `α ‖w‖₁`, by the cumulative truncated gradient (Tsuruoka et al. 2009).
    L1,
    /// `α (l1_ratio ‖w‖₁ + (1 − l1_ratio)/2 ‖w‖²)`.
    ElasticNet,
}

rask_ml::param_enum!(SgdPenalty { None => "none", L2 => "l2", L1 => "l1", ElasticNet => "elasticnet" });

/// The step-size schedule of SGD (`t` counts samples seen, from 1).
///
/// By name, as scikit-learn's `learning_rate`: `"optimal"`, `"constant"`, `"invscaling"`,
/// `"adaptive"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LearningRate {
    /// `η = 1 / (α (t₀ + t − 1))` with Léon Bottou's heuristic `t₀` (the classifier's default).
    Optimal,
    /// `η = eta0`.
    Constant,
    /// `η = eta0 / t^power_t` (the regressor's default).
    InvScaling,
    /// `η = eta0`, divided by 5 whenever `n_iter_no_change` epochs pass without improvement.
    Adaptive,
}

rask_ml::param_enum!(LearningRate {
    Optimal => "optimal",
    Constant => "constant",
    InvScaling => "invscaling",
    Adaptive => "adaptive",
});

impl LearningRate {
    fn name(self) -> &'static str {
        match self {
            LearningRate::Optimal => "optimal",
            LearningRate::Constant => "constant",
            LearningRate::InvScaling => "invscaling",
            LearningRate::Adaptive => "adaptive",
        }
    }
}

/// Settings both SGD estimators share.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SgdCommon {
    pub(crate) penalty: SgdPenalty,
    pub(crate) alpha: f64,
    pub(crate) l1_ratio: f64,
    pub(crate) fit_intercept: bool,
    pub(crate) max_iter: usize,
    pub(crate) tol: Option<f64>,
    pub(crate) shuffle: bool,
    pub(crate) seed: u64,
    pub(crate) learning_rate: LearningRate,
    pub(crate) eta0: f64,
    pub(crate) power_t: f64,
    pub(crate) n_iter_no_change: usize,
}

impl SgdCommon {
    fn check(&self) -> Result<(), SgdParamsError> {
        if !(self.alpha.is_finite() && self.alpha >= 0.0)
            || (self.learning_rate == LearningRate::Optimal && self.alpha == 0.0)
        {
            return Err(SgdParamsError::Alpha(self.alpha));
        }
        if !(0.0..=1.0).contains(&self.l1_ratio) {
            return Err(SgdParamsError::L1Ratio(self.l1_ratio));
        }
        if self.learning_rate != LearningRate::Optimal && !(self.eta0.is_finite() && self.eta0 > 0.0) {
            return Err(SgdParamsError::Eta0 { schedule: self.learning_rate.name(), eta0: self.eta0 });
        }
        if !self.power_t.is_finite() {
            return Err(SgdParamsError::PowerT(self.power_t));
        }
        if self.max_iter == 0 {
            return Err(SgdParamsError::MaxIter);
        }
        if let Some(t) = self.tol {
            if !(t.is_finite() && t >= 0.0) {
                return Err(SgdParamsError::Tol(t));
            }
        }
        if self.n_iter_no_change == 0 {
            return Err(SgdParamsError::NIterNoChange);
        }
        Ok(())
    }
}

macro_rules! common_setters {
    ($t:ident($v:ty)) => {
        rask_ml::params! {
            $t($v) {
                set {
                    /// The regularisation term.
                    penalty(penalty: SgdPenalty) => common.penalty;
                    /// The regularisation strength `α` (default 1e-4).
                    alpha(alpha: f64) => common.alpha;
                    /// The elastic-net mixing, `0` = L2, `1` = L1 (default 0.15; used by `ElasticNet` only).
                    l1_ratio(l1_ratio: f64) => common.l1_ratio;
                    /// Whether to fit an intercept (default true).
                    fit_intercept(on: bool) => common.fit_intercept;
                    /// The most epochs `fit` runs (default 1000).
                    max_iter(n: usize) => common.max_iter;
                    /// Stop when the epoch's training loss has not improved by `tol · n_samples` for
                    /// `n_iter_no_change` epochs (default `Some(1e-3)`; `None` runs `max_iter` epochs).
                    tol(tol: Option<f64>) => common.tol;
                    /// Whether to shuffle blocks and rows each epoch (default true; see the module docs).
                    shuffle(on: bool) => common.shuffle;
                    /// The seed of the shuffles.
                    seed(seed: u64) => common.seed;
                    /// The step-size schedule.
                    learning_rate(lr: LearningRate) => common.learning_rate;
                    /// The initial step size (unused by `Optimal`).
                    eta0(eta0: f64) => common.eta0;
                    /// The exponent of `InvScaling`.
                    power_t(power_t: f64) => common.power_t;
                    /// Epochs without improvement before stopping (default 5).
                    n_iter_no_change(n: usize) => common.n_iter_no_change;
                }
            }
        }
    };
}

/// Validated [`SgdClassifierParams`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SgdClassifierValidParams {
    pub(crate) loss: SgdClassifierLoss,
    pub(crate) common: SgdCommon,
    pub(crate) classes: Option<Vec<i64>>,
}

/// Hyperparameters of an [`super::SgdClassifier`], with scikit-learn's defaults: hinge loss,
/// L2 penalty, `α = 1e-4`, optimal learning rate, `max_iter = 1000`, `tol = 1e-3`, shuffling.
/// Multiclass problems are one-vs-rest. `classes` declares the labels up front (needed by
/// `partial_fit`).
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's: `loss`, `penalty`,
/// `alpha`, `l1_ratio`, `fit_intercept`, `max_iter`, `tol` (a float, or none), `shuffle`,
/// `seed` (scikit-learn's `random_state`), `learning_rate`, `eta0`, `power_t` and
/// `n_iter_no_change`. Not settable by name: `classes` (a list; give it with
/// [`classes`](Self::classes)).
///
/// # Algorithm
///
/// scikit-learn's plain SGD, sample for sample: per row a step along the loss's gradient,
/// the L2 penalty by rescaling the weights, the L1 penalty by the cumulative truncated
/// gradient, the step size from [`LearningRate`]. Two classes are one binary problem (the
/// second class positive); more are one-vs-rest, every class's binary model updated in the
/// same pass over a block, each with its own stopping rule.
///
/// # Parallelism and cost
///
/// Each epoch is one graph computation: a chain of one task per block (in a seeded random
/// block order when shuffling), each taking the optimiser state and a block and returning the
/// new state, so an epoch is sequential; only the state (one weight vector per binary
/// problem and a few scalars) travels between tasks. `O(n·d·K)` flops per epoch for `K`
/// binary problems; the stopping rule runs on the client between epochs. `fit` finds the
/// labels with one reduction (and checks them against `classes`), then runs up to
/// `max_iter` epochs; `partial_fit` runs one.
/// The input is not persisted: every epoch recomputes its blocks (persist it first when it
/// fits in memory). See the [module docs](super) for the shuffling and the stopping rule.
///
/// # Compared with scikit-learn and dask-ml
///
/// - With `shuffle(false)` the coefficients match scikit-learn's to rounding; shuffled fits
///   visit blocks and rows in seeded orders, not scikit-learn's global permutation, so they
///   match it in score, not in coefficients.
/// - `average`, `early_stopping` / `validation_fraction`, `class_weight`, `warm_start` (use
///   `partial_fit`) and `n_jobs` are not offered; sample weights are.
/// - dask-ml has no SGD of its own: it runs scikit-learn's `partial_fit` block by block
///   through `Incremental`, one epoch per call; here `fit` runs the epochs and the stopping
///   rule itself.
///
/// ```
/// use rask_estimators::linear_model::sgd::SgdClassifierParams;
/// use rask_ml::{Dataset, Fit, Predict, ndarray::array};
///
/// let x = array![[-2.0, -1.0], [-1.0, -2.0], [-1.5, -1.5], [1.0, 2.0], [2.0, 1.0], [1.5, 1.5]];
/// let y = array![0i64, 0, 0, 1, 1, 1];
/// let model = SgdClassifierParams::new().seed(0).fit(&Dataset::new(x, y)).unwrap();
/// assert_eq!(model.predict(&array![[-3.0, -2.0], [2.5, 3.0]]).unwrap().to_vec(), vec![0, 1]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SgdClassifierParams(pub(crate) SgdClassifierValidParams);

rask_ml::params! {
    SgdClassifierParams(SgdClassifierValidParams) {
        /// scikit-learn's defaults.
        new = SgdClassifierParams(SgdClassifierValidParams {
            loss: SgdClassifierLoss::Hinge,
            common: SgdCommon {
                penalty: SgdPenalty::L2,
                alpha: 1e-4,
                l1_ratio: 0.15,
                fit_intercept: true,
                max_iter: 1000,
                tol: Some(1e-3),
                shuffle: true,
                seed: 0,
                learning_rate: LearningRate::Optimal,
                eta0: 0.0,
                power_t: 0.5,
                n_iter_no_change: 5,
            },
            classes: None,
        });
        set {
            /// The loss.
            loss(loss: SgdClassifierLoss);
            /// The full list of class labels.
            classes(classes: Vec<i64>) => classes = Some(classes);
        }
        get {
            /// The loss.
            loss: SgdClassifierLoss;
            /// The declared classes, if any.
            classes: Option<&[i64]> = |p| p.classes.as_deref();
        }
        check_ref(&self) -> SgdParamsError {
            self.0.common.check()?;
            if let Some(c) = &self.0.classes {
                let mut s = c.clone();
                s.sort_unstable();
                s.dedup();
                if s.len() != c.len() || s.len() < 2 {
                    return Err(SgdParamsError::Classes(c.clone()));
                }
            }
            Ok(&self.0)
        }
    }
}

common_setters!(SgdClassifierParams(SgdClassifierValidParams));

rask_ml::impl_set_params!(SgdClassifierParams, |p| {
    "loss" => p.0.loss,
    "penalty" => p.0.common.penalty,
    "alpha" => p.0.common.alpha,
    "l1_ratio" => p.0.common.l1_ratio,
    "fit_intercept" => p.0.common.fit_intercept,
    "max_iter" => p.0.common.max_iter,
    "tol" => p.0.common.tol,
    "shuffle" => p.0.common.shuffle,
    "seed" => p.0.common.seed,
    "learning_rate" => p.0.common.learning_rate,
    "eta0" => p.0.common.eta0,
    "power_t" => p.0.common.power_t,
    "n_iter_no_change" => p.0.common.n_iter_no_change,
});

/// Validated [`SgdRegressorParams`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SgdRegressorValidParams {
    pub(crate) loss: SgdRegressorLoss,
    pub(crate) common: SgdCommon,
}

/// Hyperparameters of an [`super::SgdRegressor`], with scikit-learn's defaults: squared error,
/// L2 penalty, `α = 1e-4`, inverse-scaling learning rate (`eta0 = 0.01`, `power_t = 0.25`),
/// `max_iter = 1000`, `tol = 1e-3`, shuffling.
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's: `loss` (see
/// [`SgdRegressorLoss`]), `epsilon` (the loss's, default 0.1, kept while the loss has none, as
/// scikit-learn keeps it), `penalty`, `alpha`, `l1_ratio`, `fit_intercept`, `max_iter`, `tol`
/// (a float, or none), `shuffle`, `seed` (scikit-learn's `random_state`), `learning_rate`,
/// `eta0`, `power_t` and `n_iter_no_change`.
///
/// # Algorithm
///
/// scikit-learn's plain SGD, sample for sample, on the squared, Huber or
/// epsilon-insensitive losses ([`SgdRegressorLoss`]): per row a step along the loss's
/// gradient, the L2 penalty by rescaling the weights, the L1 penalty by the cumulative
/// truncated gradient, the step size from [`LearningRate`].
///
/// # Parallelism and cost
///
/// Each epoch is one graph computation: a chain of one task per block (in a seeded random
/// block order when shuffling), each taking the optimiser state and a block and returning the
/// new state, so an epoch is sequential; only the state (the weight vector and a few
/// scalars) travels between tasks. `O(n·d)` flops per epoch; the stopping rule runs on the
/// client between epochs. `fit` runs up to `max_iter` epochs; `partial_fit` runs one.
/// The input is not persisted: every epoch recomputes its blocks (persist it first when it
/// fits in memory). See the [module docs](super) for the shuffling and the stopping rule.
///
/// # Compared with scikit-learn and dask-ml
///
/// - With `shuffle(false)` the coefficients match scikit-learn's to rounding; shuffled fits
///   match it in score, not in coefficients (see the [module docs](super)).
/// - `average`, `early_stopping` / `validation_fraction`, `warm_start` (use `partial_fit`)
///   are not offered; sample weights are.
/// - dask-ml has no SGD of its own: it runs scikit-learn's `partial_fit` block by block
///   through `Incremental`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SgdRegressorParams(pub(crate) SgdRegressorValidParams, f64);

rask_ml::params! {
    SgdRegressorParams(SgdRegressorValidParams) {
        /// scikit-learn's defaults.
        new = SgdRegressorParams(
            SgdRegressorValidParams {
                loss: SgdRegressorLoss::SquaredError,
                common: SgdCommon {
                    penalty: SgdPenalty::L2,
                    alpha: 1e-4,
                    l1_ratio: 0.15,
                    fit_intercept: true,
                    max_iter: 1000,
                    tol: Some(1e-3),
                    shuffle: true,
                    seed: 0,
                    learning_rate: LearningRate::InvScaling,
                    eta0: 0.01,
                    power_t: 0.25,
                    n_iter_no_change: 5,
                },
            },
            0.1,
        );
        get {
            /// The loss.
            loss: SgdRegressorLoss;
        }
        check_ref(&self) -> SgdParamsError {
            self.0.common.check()?;
            match self.0.loss {
                SgdRegressorLoss::SquaredError => {}
                SgdRegressorLoss::Huber { epsilon }
                | SgdRegressorLoss::EpsilonInsensitive { epsilon }
                | SgdRegressorLoss::SquaredEpsilonInsensitive { epsilon } => {
                    if !(epsilon.is_finite() && epsilon >= 0.0) {
                        return Err(SgdParamsError::Epsilon(epsilon));
                    }
                }
            }
            Ok(&self.0)
        }
    }
}

impl SgdRegressorParams {
    /// The loss.
    pub fn loss(mut self, loss: SgdRegressorLoss) -> Self {
        if let Some(epsilon) = loss.epsilon() {
            self.1 = epsilon;
        }
        self.0.loss = loss;
        self
    }
}

common_setters!(SgdRegressorParams(SgdRegressorValidParams));

impl SgdRegressorParams {
    fn set_loss_by_name(&mut self, name: &str, value: &ParamValue) -> rask_ml::Result<()> {
        self.0.loss = RegressorLossName::from_param(name, value)?.with_epsilon(self.1);
        Ok(())
    }

    fn set_epsilon_by_name(&mut self, name: &str, value: &ParamValue) -> rask_ml::Result<()> {
        self.1 = f64::from_param(name, value)?;
        self.0.loss = RegressorLossName::of(self.0.loss).with_epsilon(self.1);
        Ok(())
    }
}

set_params_by_hand!(SgdRegressorParams, |p, name, value| {
    "loss" => with (RegressorLossName::of(p.0.loss).to_param(), p.set_loss_by_name(name, value)),
    "epsilon" => with (p.1.to_param(), p.set_epsilon_by_name(name, value)),
    "penalty" => field (p.0.common.penalty),
    "alpha" => field (p.0.common.alpha),
    "l1_ratio" => field (p.0.common.l1_ratio),
    "fit_intercept" => field (p.0.common.fit_intercept),
    "max_iter" => field (p.0.common.max_iter),
    "tol" => field (p.0.common.tol),
    "shuffle" => field (p.0.common.shuffle),
    "seed" => field (p.0.common.seed),
    "learning_rate" => field (p.0.common.learning_rate),
    "eta0" => field (p.0.common.eta0),
    "power_t" => field (p.0.common.power_t),
    "n_iter_no_change" => field (p.0.common.n_iter_no_change),
});
