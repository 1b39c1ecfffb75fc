use serde::{Deserialize, Serialize};

use super::errors::MultinomialNBError;
use crate::naive_bayes::count_nb::CountParams;

/// Validated [`MultinomialNBParams`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultinomialNBValidParams {
    pub(crate) common: CountParams,
}

/// Hyperparameters of a [`super::MultinomialNB`], as scikit-learn's: `alpha` (additive
/// smoothing, default 1; it must be positive, where scikit-learn with `force_alpha=True` also
/// takes 0), `fit_prior` (default true), `class_prior` (fixed priors in the order of the sorted
/// classes) and `classes` (the full label list; needed by `partial_fit`).
///
/// ```
/// use rask_estimators::naive_bayes::MultinomialNBParams;
/// use rask_ml::{Dataset, Fit, Predict, ndarray::array};
///
/// let x = array![[3.0, 0.0], [4.0, 1.0], [0.0, 5.0], [1.0, 3.0]];
/// let y = array![0i64, 0, 1, 1];
/// let model = MultinomialNBParams::new().fit(&Dataset::new(x, y)).unwrap();
/// assert_eq!(model.predict(&array![[5.0, 1.0], [0.0, 2.0]]).unwrap().to_vec(), vec![0, 1]);
/// ```
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's: `alpha`, `fit_prior`, and
/// `split_every`. Not settable by name (lists): `class_prior` and `classes`; give them with
/// [`class_prior`](Self::class_prior) and [`classes`](Self::classes).
///
/// # Algorithm
///
/// Per class, the weighted sum of every feature (features must be non-negative counts or
/// frequencies); feature log probabilities `log((N_cf + alpha) / (N_c + alpha·d))`, class
/// log priors from the class weights (or uniform, or `class_prior`), as scikit-learn's.
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
/// - dask-ml has no multinomial naive Bayes of its own: it runs scikit-learn's `partial_fit` block by block
///   through `Incremental`, which gives the same counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultinomialNBParams(MultinomialNBValidParams);

rask_ml::impl_set_params!(MultinomialNBParams, |p| {
    "alpha" => p.0.common.alpha,
    "fit_prior" => p.0.common.fit_prior,
    "split_every" => p.0.common.split_every,
});

rask_ml::params! {
    MultinomialNBParams(MultinomialNBValidParams) {
        /// The defaults.
        new = MultinomialNBParams(MultinomialNBValidParams { common: CountParams::default() });
        set {
            /// The additive (Laplace/Lidstone) smoothing.
            alpha(alpha: f64) => common.alpha;
            /// Whether to learn the class priors (else uniform).
            fit_prior(on: bool) => common.fit_prior;
            /// Fixed class priors, in the order of the sorted classes.
            class_prior(prior: Vec<f64>) => common.class_prior = Some(prior);
            /// The full list of class labels.
            classes(classes: Vec<i64>) => common.classes = Some(classes);
            /// The fan-in of the reduction (at least 2).
            split_every(n: usize) => common.split_every;
        }
        get {
            /// The params shared with BernoulliNB (`alpha`, `fit_prior`, `class_prior`, `classes`).
            common: &CountParams;
        }
        check_ref(&self) -> MultinomialNBError {
            self.0.common.check()?;
            Ok(&self.0)
        }
    }
}
