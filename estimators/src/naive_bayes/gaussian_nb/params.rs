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

rask_ml::params! {
    GaussianNBParams(GaussianNBValidParams) {
        /// The defaults.
        new = GaussianNBParams(GaussianNBValidParams {
            priors: None,
            var_smoothing: 1e-9,
            classes: None,
            split_every: 8,
        });
        set {
            /// Fixed class priors, in the order of the sorted classes.
            priors(priors: Vec<f64>) => priors = Some(priors);
            /// The share of the largest variance added to every variance.
            var_smoothing(v: f64);
            /// The full list of class labels (sorted by the model).
            classes(classes: Vec<i64>) => classes = Some(classes);
            /// The fan-in of the reduction (at least 2).
            split_every(n: usize);
        }
        get {
            /// The class priors, if fixed.
            priors: Option<&[f64]> = |p| p.priors.as_deref();
            /// The share of the largest feature variance added to every variance.
            var_smoothing: f64;
            /// The declared classes, if any.
            classes: Option<&[i64]> = |p| p.classes.as_deref();
        }
        check_ref(&self) -> GaussianNBError {
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
    }
}
