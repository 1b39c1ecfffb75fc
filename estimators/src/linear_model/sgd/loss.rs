//! scikit-learn's SGD losses: value and derivative with respect to the raw prediction `p`.

use serde::{Deserialize, Serialize};

/// Losses of [`super::SgdClassifier`]; targets are `±1` (log loss: `0/1`), as in scikit-learn.
///
/// By name, as scikit-learn's `loss`: `"hinge"`, `"log_loss"`, `"modified_huber"`,
/// `"squared_hinge"`, `"perceptron"`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum SgdClassifierLoss {
    /// The linear SVM's hinge loss, `max(0, 1 − y·p)` (scikit-learn's default).
    Hinge,
    /// Logistic regression's loss, `log(1 + e^p) − y·p` for `y ∈ {0, 1}`; gives probabilities.
    LogLoss,
    /// Smoothed hinge, quadratic near the margin; gives probabilities.
    ModifiedHuber,
    /// `max(0, 1 − y·p)²`.
    SquaredHinge,
    /// `max(0, −y·p)`: the perceptron.
    Perceptron,
}

rask_ml::param_enum!(SgdClassifierLoss {
    Hinge => "hinge",
    LogLoss => "log_loss",
    ModifiedHuber => "modified_huber",
    SquaredHinge => "squared_hinge",
    Perceptron => "perceptron",
});

/// Losses of [`super::SgdRegressor`].
///
/// By name, as scikit-learn's: `loss` is `"squared_error"`, `"huber"`,
/// `"epsilon_insensitive"` or `"squared_epsilon_insensitive"`, and `epsilon` a separate
/// parameter (see [`SgdRegressorParams`](super::SgdRegressorParams)).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum SgdRegressorLoss {
    /// `½(p − y)²` (scikit-learn's default).
    SquaredError,
    /// Squared within `epsilon`, linear beyond.
    Huber {
        /// Where the loss turns linear (scikit-learn's default 0.1).
        epsilon: f64,
    },
    /// `max(0, |y − p| − epsilon)`.
    EpsilonInsensitive {
        /// The insensitive band (default 0.1).
        epsilon: f64,
    },
    /// `max(0, |y − p| − epsilon)²`.
    SquaredEpsilonInsensitive {
        /// The insensitive band (default 0.1).
        epsilon: f64,
    },
}

impl SgdRegressorLoss {
    /// The `epsilon` of the loss, if it has one.
    pub(crate) fn epsilon(self) -> Option<f64> {
        match self {
            SgdRegressorLoss::SquaredError => None,
            SgdRegressorLoss::Huber { epsilon }
            | SgdRegressorLoss::EpsilonInsensitive { epsilon }
            | SgdRegressorLoss::SquaredEpsilonInsensitive { epsilon } => Some(epsilon),
        }
    }
}

/// The choices of the regressor's `loss` by name (the `epsilon` is a separate parameter).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum RegressorLossName {
    SquaredError,
    Huber,
    EpsilonInsensitive,
    SquaredEpsilonInsensitive,
}

rask_ml::param_enum!(RegressorLossName {
    SquaredError => "squared_error",
    Huber => "huber",
    EpsilonInsensitive => "epsilon_insensitive",
    SquaredEpsilonInsensitive => "squared_epsilon_insensitive",
});

impl RegressorLossName {
    pub(crate) fn of(loss: SgdRegressorLoss) -> Self {
        match loss {
            SgdRegressorLoss::SquaredError => RegressorLossName::SquaredError,
            SgdRegressorLoss::Huber { .. } => RegressorLossName::Huber,
            SgdRegressorLoss::EpsilonInsensitive { .. } => RegressorLossName::EpsilonInsensitive,
            SgdRegressorLoss::SquaredEpsilonInsensitive { .. } => RegressorLossName::SquaredEpsilonInsensitive,
        }
    }

    pub(crate) fn with_epsilon(self, epsilon: f64) -> SgdRegressorLoss {
        match self {
            RegressorLossName::SquaredError => SgdRegressorLoss::SquaredError,
            RegressorLossName::Huber => SgdRegressorLoss::Huber { epsilon },
            RegressorLossName::EpsilonInsensitive => SgdRegressorLoss::EpsilonInsensitive { epsilon },
            RegressorLossName::SquaredEpsilonInsensitive => SgdRegressorLoss::SquaredEpsilonInsensitive { epsilon },
        }
    }
}

/// One loss of either kind, as the block op carries it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum Loss {
    Classifier(SgdClassifierLoss),
    Regressor(SgdRegressorLoss),
}

fn log1pexp(x: f64) -> f64 {
    // scikit-learn's `log1pexp` branches, for the same rounding.
    if x <= -37.0 {
        x.exp()
    } else if x <= -2.0 {
        x.exp().ln_1p()
    } else if x <= 18.0 {
        (1.0 + x.exp()).ln()
    } else if x <= 33.3 {
        x + (-x).exp()
    } else {
        x
    }
}

impl Loss {
    /// Whether targets are encoded `0/1` (log loss) rather than `±1`.
    pub(crate) fn zero_one_targets(self) -> bool {
        matches!(self, Loss::Classifier(SgdClassifierLoss::LogLoss))
    }

    /// For a loss whose derivative is `−y` where `p·y ≤ threshold` and `0` elsewhere (hinge: 1,
    /// perceptron: 0), the threshold. Its update then has a size known before the prediction,
    /// which [`super::ops::SgdStep`] uses to take the division off the chain of dependent updates.
    pub(crate) fn step_threshold(self) -> Option<f64> {
        match self {
            Loss::Classifier(SgdClassifierLoss::Hinge) => Some(1.0),
            Loss::Classifier(SgdClassifierLoss::Perceptron) => Some(0.0),
            _ => None,
        }
    }

    #[inline]
    pub(crate) fn loss(self, y: f64, p: f64) -> f64 {
        match self {
            Loss::Classifier(c) => match c {
                SgdClassifierLoss::Hinge => {
                    let z = p * y;
                    if z <= 1.0 {
                        1.0 - z
                    } else {
                        0.0
                    }
                }
                SgdClassifierLoss::Perceptron => {
                    let z = p * y;
                    if z <= 0.0 {
                        -z
                    } else {
                        0.0
                    }
                }
                SgdClassifierLoss::SquaredHinge => {
                    let z = 1.0 - p * y;
                    if z > 0.0 {
                        z * z
                    } else {
                        0.0
                    }
                }
                SgdClassifierLoss::ModifiedHuber => {
                    let z = p * y;
                    if z >= 1.0 {
                        0.0
                    } else if z >= -1.0 {
                        (1.0 - z) * (1.0 - z)
                    } else {
                        -4.0 * z
                    }
                }
                SgdClassifierLoss::LogLoss => log1pexp(p) - y * p,
            },
            Loss::Regressor(r) => match r {
                SgdRegressorLoss::SquaredError => 0.5 * (p - y) * (p - y),
                SgdRegressorLoss::Huber { epsilon } => {
                    let d = (y - p).abs();
                    if d <= epsilon {
                        0.5 * d * d
                    } else {
                        epsilon * (d - 0.5 * epsilon)
                    }
                }
                SgdRegressorLoss::EpsilonInsensitive { epsilon } => ((y - p).abs() - epsilon).max(0.0),
                SgdRegressorLoss::SquaredEpsilonInsensitive { epsilon } => {
                    let r = ((y - p).abs() - epsilon).max(0.0);
                    r * r
                }
            },
        }
    }

    #[inline]
    pub(crate) fn gradient(self, y: f64, p: f64) -> f64 {
        match self {
            Loss::Classifier(c) => match c {
                SgdClassifierLoss::Hinge => {
                    if p * y <= 1.0 {
                        -y
                    } else {
                        0.0
                    }
                }
                SgdClassifierLoss::Perceptron => {
                    if p * y <= 0.0 {
                        -y
                    } else {
                        0.0
                    }
                }
                SgdClassifierLoss::SquaredHinge => {
                    let z = 1.0 - p * y;
                    if z > 0.0 {
                        -2.0 * y * z
                    } else {
                        0.0
                    }
                }
                SgdClassifierLoss::ModifiedHuber => {
                    let z = p * y;
                    if z >= 1.0 {
                        0.0
                    } else if z >= -1.0 {
                        2.0 * (1.0 - z) * -y
                    } else {
                        -4.0 * y
                    }
                }
                SgdClassifierLoss::LogLoss => {
                    if p > -37.0 {
                        let e = (-p).exp();
                        ((1.0 - y) - y * e) / (1.0 + e)
                    } else {
                        p.exp() - y
                    }
                }
            },
            Loss::Regressor(r) => match r {
                SgdRegressorLoss::SquaredError => p - y,
                SgdRegressorLoss::Huber { epsilon } => {
                    let d = p - y;
                    if d.abs() <= epsilon {
                        d
                    } else {
                        epsilon * d.signum()
                    }
                }
                SgdRegressorLoss::EpsilonInsensitive { epsilon } => {
                    if y - p > epsilon {
                        -1.0
                    } else if p - y > epsilon {
                        1.0
                    } else {
                        0.0
                    }
                }
                SgdRegressorLoss::SquaredEpsilonInsensitive { epsilon } => {
                    let z = y - p;
                    if z > epsilon {
                        -2.0 * (z - epsilon)
                    } else if z < -epsilon {
                        2.0 * (-z - epsilon)
                    } else {
                        0.0
                    }
                }
            },
        }
    }
}
