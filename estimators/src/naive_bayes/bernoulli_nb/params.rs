use serde::{Deserialize, Serialize};

use super::errors::BernoulliNBError;
use crate::naive_bayes::count_nb::CountParams;

/// Validated [`BernoulliNBParams`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BernoulliNBValidParams {
    pub(crate) common: CountParams,
    pub(crate) binarize: Option<f64>,
}

/// Hyperparameters of a [`super::BernoulliNB`], as scikit-learn's: `alpha` (additive
/// smoothing, default 1; it must be positive, where scikit-learn with `force_alpha=True` also
/// takes 0), `fit_prior` (default true), `class_prior` (fixed priors in the order of the sorted
/// classes), `classes` (the full label list; needed by `partial_fit`) and `binarize` (default
/// `Some(0.0)`: features strictly above the threshold count as 1, others as 0, when fitting and
/// predicting; `None` uses the features as given, which should then be 0/1).
///
/// ```
/// use rask_estimators::naive_bayes::BernoulliNBParams;
/// use rask_ml::{Dataset, Fit, Predict, ndarray::array};
///
/// let x = array![[1.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 1.0, 0.0]];
/// let y = array![0i64, 0, 1, 1];
/// let model = BernoulliNBParams::new().fit(&Dataset::new(x, y)).unwrap();
/// assert_eq!(model.predict(&array![[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]).unwrap().to_vec(), vec![0, 1]);
/// ```
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's: `alpha`, `fit_prior`,
/// `binarize` (a float, or none), and `split_every`. Not settable by name (lists):
/// `class_prior` and `classes`; give them with [`class_prior`](Self::class_prior) and
/// [`classes`](Self::classes).
///
/// # Algorithm
///
/// Features are binarised at `binarize` (when set); per class, the weighted count of rows
/// where each feature is 1; feature log probabilities `log((N_cf + alpha) / (N_c + 2·alpha))`,
/// and prediction adds the terms for the absent features too, as scikit-learn's.
///
/// # Parallelism and cost
///
/// One pass and one graph computation: one task per block (`O(rows·d)` flops) sending its
/// per-class weighted feature sums and class weights (`classes × (d + 1)` numbers), merged
/// by a tree of fan-in `split_every`; the smoothed log probabilities are computed on the
/// client. `partial_fit` adds a batch's counts to the model's. Prediction is one task per
/// block, `O(rows·d·classes)`.
///
/// # Compared with scikit-learn and dask-ml
///
/// - `alpha` must be positive (scikit-learn with `force_alpha=True` also takes 0); sample
///   weights are supported, as in scikit-learn.
/// - dask-ml has no Bernoulli naive Bayes of its own: it runs scikit-learn's `partial_fit` block by block
///   through `Incremental`, which gives the same counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BernoulliNBParams(BernoulliNBValidParams);

rask_ml::impl_set_params!(BernoulliNBParams, |p| {
    "alpha" => p.0.common.alpha,
    "fit_prior" => p.0.common.fit_prior,
    "binarize" => p.0.binarize,
    "split_every" => p.0.common.split_every,
});

rask_ml::params! {
    BernoulliNBParams(BernoulliNBValidParams) {
        /// The defaults.
        new = BernoulliNBParams(BernoulliNBValidParams { common: CountParams::default(), binarize: Some(0.0) });
        set {
            /// The additive (Laplace/Lidstone) smoothing.
            alpha(alpha: f64) => common.alpha;
            /// Whether to learn the class priors (else uniform).
            fit_prior(on: bool) => common.fit_prior;
            /// Fixed class priors, in the order of the sorted classes.
            class_prior(prior: Vec<f64>) => common.class_prior = Some(prior);
            /// The full list of class labels.
            classes(classes: Vec<i64>) => common.classes = Some(classes);
            /// The binarisation threshold, or `None` to use the features as given.
            binarize(threshold: Option<f64>);
            /// The fan-in of the reduction (at least 2).
            split_every(n: usize) => common.split_every;
        }
        get {
            /// The params shared with MultinomialNB (`alpha`, `fit_prior`, `class_prior`, `classes`).
            common: &CountParams;
            /// The binarisation threshold (`None`: features are used as they are).
            binarize: Option<f64>;
        }
        check_ref(&self) -> BernoulliNBError {
            if let Some(t) = self.0.binarize {
                if !t.is_finite() {
                    return Err(BernoulliNBError::Binarize(t));
                }
            }
            self.0.common.check()?;
            Ok(&self.0)
        }
    }
}
