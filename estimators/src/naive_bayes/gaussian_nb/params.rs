use rask_ml::ParamGuard;
use serde::{Deserialize, Serialize};

use super::errors::GaussianNBError;

/// Validated [`GaussianNBParams`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GaussianNBValidParams {
    pub(crate) priors: Option<Vec<f64>>,
    pub(crate) var_smoothing: f64,
    pub(crate) classes: Option<Vec<i64>>,
    pub(crate) split_every: usize,
}

impl GaussianNBValidParams {
    /// The class priors, if fixed.
    pub fn priors(&self) -> Option<&[f64]> {
        self.priors.as_deref()
    }
    /// The share of the largest feature variance added to every variance.
    pub fn var_smoothing(&self) -> f64 {
        self.var_smoothing
    }
    /// The declared classes, if any.
    pub fn classes(&self) -> Option<&[i64]> {
        self.classes.as_deref()
    }
}

/// Hyperparameters of a [`super::GaussianNB`], as scikit-learn's: fixed class `priors`
/// (default: the class frequencies), `var_smoothing` (default 1e-9: that share of the largest
/// feature variance is added to every variance, for stability), and `classes` (the full list of
/// labels; needed by `partial_fit`, optional for `fit`).
///
/// ```
/// use rask_estimators::naive_bayes::GaussianNBParams;
/// use rask_ml::{Dataset, Fit, Predict, ndarray::array};
///
/// let x = array![[-2.0, -1.0], [-1.0, -1.0], [-1.0, -2.0], [1.0, 1.0], [2.0, 1.0], [1.0, 2.0]];
/// let y = array![1i64, 1, 1, 2, 2, 2];
/// let model = GaussianNBParams::new().fit(&Dataset::new(x, y)).unwrap();
/// assert_eq!(model.predict(&array![[-0.8, -1.0]]).unwrap().to_vec(), vec![1]);
/// ```
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's: `var_smoothing`, and
/// `split_every`. Not settable by name (lists): `priors` and `classes`; give them with
/// [`priors`](Self::priors) and [`classes`](Self::classes).
///
/// # Algorithm
///
/// Per class, the weighted count and the per-feature mean and sum of squared deviations
/// (Chan et al.'s pairwise merge), plus the same moments over all rows; `var_smoothing` × the
/// largest overall feature variance is added to every class variance; priors are the class
/// weight shares unless fixed. `partial_fit` merges a batch's moments into the model's, as
/// scikit-learn's.
///
/// # Parallelism and cost
///
/// One pass and one graph computation: one task per block (`O(rows·d)` flops) sending
/// `(classes + 1) × (2d + 1)` numbers, merged by a tree of fan-in `split_every`. The classes
/// are found by the same reduction. Prediction is one task per block, `O(rows·d·classes)`.
///
/// # Compared with scikit-learn and dask-ml
///
/// - Parameters, attributes and sample weights are scikit-learn's; `classes` may be declared
///   up front (needed by `partial_fit`; a label outside it is an error).
/// - dask-ml's `GaussianNB` has only `priors` and `classes`: no `var_smoothing` (its
///   variances are not smoothed), no `partial_fit`, no sample weights, and it selects each
///   class's rows separately (one masked reduction per class) rather than in one pass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GaussianNBParams(GaussianNBValidParams);

rask_ml::impl_set_params!(GaussianNBParams, |p| {
    "var_smoothing" => p.0.var_smoothing,
    "split_every" => p.0.split_every,
});

impl Default for GaussianNBParams {
    fn default() -> Self {
        Self::new()
    }
}

impl GaussianNBParams {
    /// The defaults.
    pub fn new() -> Self {
        GaussianNBParams(GaussianNBValidParams { priors: None, var_smoothing: 1e-9, classes: None, split_every: 8 })
    }
    /// Fixed class priors, in the order of the sorted classes.
    pub fn priors(mut self, priors: Vec<f64>) -> Self {
        self.0.priors = Some(priors);
        self
    }
    /// The share of the largest variance added to every variance.
    pub fn var_smoothing(mut self, v: f64) -> Self {
        self.0.var_smoothing = v;
        self
    }
    /// The full list of class labels (sorted by the model).
    pub fn classes(mut self, classes: Vec<i64>) -> Self {
        self.0.classes = Some(classes);
        self
    }
    /// The fan-in of the reduction (at least 2).
    pub fn split_every(mut self, n: usize) -> Self {
        self.0.split_every = n;
        self
    }
}

impl ParamGuard for GaussianNBParams {
    type Checked = GaussianNBValidParams;
    type Error = GaussianNBError;

    fn check_ref(&self) -> Result<&Self::Checked, Self::Error> {
        let p = &self.0;
        if !(p.var_smoothing.is_finite() && p.var_smoothing >= 0.0) {
            return Err(GaussianNBError::VarSmoothing(p.var_smoothing));
        }
        if let Some(pr) = &p.priors {
            let sum: f64 = pr.iter().sum();
            if pr.iter().any(|v| !v.is_finite() || *v < 0.0) || (sum - 1.0).abs() > 1e-8 {
                return Err(GaussianNBError::Priors(pr.clone()));
            }
        }
        if let Some(c) = &p.classes {
            let mut s = c.clone();
            s.sort_unstable();
            s.dedup();
            if s.len() != c.len() || s.len() < 2 {
                return Err(GaussianNBError::Classes(c.clone()));
            }
            if let Some(pr) = &p.priors {
                if pr.len() != c.len() {
                    return Err(GaussianNBError::PriorsLength { priors: pr.len(), classes: c.len() });
                }
            }
        }
        if p.split_every < 2 {
            return Err(GaussianNBError::SplitEvery(p.split_every));
        }
        Ok(&self.0)
    }

    fn check(self) -> Result<Self::Checked, Self::Error> {
        self.check_ref()?;
        Ok(self.0)
    }
}
