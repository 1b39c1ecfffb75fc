//! linfa 0.8 models as Rask models (cargo feature `linfa`).
//!
//! linfa works on the same ndarray (0.16) as Rask, so a block reaches linfa without a copy
//! (`f32` blocks are widened once). Labels are Rask's `i64` classes; linfa's decision tree
//! and k-means use `usize` internally and are mapped back.
//!
//! | Rask params | linfa | fits on | predict_proba |
//! |---|---|---|---|
//! | [`LinfaLogisticRegressionParams`] | `linfa_logistic::LogisticRegression` (2 classes) / `MultiLogisticRegression` (more) | `i64` labels | yes |
//! | [`LinfaDecisionTreeParams`] | `linfa_trees::DecisionTree` | `i64` labels, weights | no |
//! | [`LinfaKMeansParams`] | `linfa_clustering::KMeans` (seeded) | rows only | no |
//!
//! linfa panics (asserts) on rows of the wrong width; Rask checks the width before every call,
//! so those asserts are never reached from Rask.
//!
//! **Determinism.** linfa's decision tree sums class frequencies (`f32`) in `HashMap` order,
//! which is random per map, so two fits of the same rows can pick different splits where
//! candidates nearly tie (and break modal-class ties differently). Rask cannot fix that from
//! outside: where refits must be identical (searches compared across schedulers, say), use
//! smartcore's seeded tree or Rask's own estimators. Its predictions, logistic regression and
//! seeded k-means are deterministic.

use linfa::prelude::{Fit as LinfaFit, Predict as LinfaPredict};
use linfa::DatasetBase;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rask_core::{Codec, OpEntry};
use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};
use crate::model::{distinct_labels, need_targets, no_weights, Model, ModelParams};
use crate::traits::Method;

fn linfa_error(model: &str, e: impl std::fmt::Display) -> MlError {
    MlError::Fit { model: model.into(), message: e.to_string() }
}

/// The adapters' block ops.
pub const OPS: &[OpEntry] = &[
    OpEntry::of::<crate::ApplyModel<LinfaLogisticRegression>>(),
    OpEntry::of::<crate::ApplyModel<LinfaDecisionTree>>(),
    OpEntry::of::<crate::ApplyModel<LinfaKMeans>>(),
];

/// The adapters' search ops (fit, partial fit and score inside tasks).
pub const SEARCH_OPS: &[OpEntry] =
    crate::search_entries!(LinfaLogisticRegressionParams, LinfaDecisionTreeParams, LinfaKMeansParams);

/// The adapters' codecs.
pub const CODECS: &[Codec] = &[
    crate::model_codec::<LinfaLogisticRegression>(),
    crate::model_codec::<LinfaDecisionTree>(),
    crate::model_codec::<LinfaKMeans>(),
    crate::model_selection::search_codecs::<LinfaLogisticRegressionParams>(),
    crate::model_selection::search_codecs::<LinfaDecisionTreeParams>(),
    crate::model_selection::search_codecs::<LinfaKMeansParams>(),
];

// --- Logistic regression ---------------------------------------------------------------------

/// linfa's logistic regression: binary (`LogisticRegression`) for two classes, multinomial
/// (`MultiLogisticRegression`) for more. L2 penalty `alpha`, L-BFGS via argmin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinfaLogisticRegressionParams {
    /// L2 penalty strength (linfa's `alpha`; scikit-learn's `1 / C`).
    pub alpha: f64,
    /// Fit an intercept.
    pub fit_intercept: bool,
    /// Iterations of the optimiser.
    pub max_iterations: u64,
    /// Gradient norm at which to stop.
    pub gradient_tolerance: f64,
}

impl Default for LinfaLogisticRegressionParams {
    fn default() -> Self {
        LinfaLogisticRegressionParams { alpha: 1.0, fit_intercept: true, max_iterations: 100, gradient_tolerance: 1e-4 }
    }
}

crate::impl_set_params!(LinfaLogisticRegressionParams, |p| {
    "alpha" => p.alpha,
    "fit_intercept" => p.fit_intercept,
    "max_iterations" => p.max_iterations,
    "gradient_tolerance" => p.gradient_tolerance,
});

/// The fitted linfa model inside [`LinfaLogisticRegression`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LinfaLogistic {
    /// Two classes.
    Binary(linfa_logistic::FittedLogisticRegression<f64, i64>),
    /// More than two classes.
    Multinomial(linfa_logistic::MultiFittedLogisticRegression<f64, i64>),
}

/// A fitted linfa logistic regression.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinfaLogisticRegression {
    /// The linfa model.
    pub model: LinfaLogistic,
    /// The sorted class labels.
    pub classes: Vec<i64>,
    /// Features seen in fit.
    pub n_features: usize,
}

impl ModelParams for LinfaLogisticRegressionParams {
    type Model = LinfaLogisticRegression;
    type Target = i64;

    fn fit_rows(
        &self,
        x: ArrayView2<'_, f64>,
        y: Option<ArrayView1<'_, i64>>,
        w: Option<ArrayView1<'_, f64>>,
    ) -> Result<LinfaLogisticRegression> {
        const WHO: &str = "linfa LogisticRegression";
        no_weights(w, WHO)?;
        let y = need_targets(y, WHO)?;
        let classes = distinct_labels(y);
        let data = DatasetBase::new(x, y);
        let model = match classes.len() {
            0 | 1 => {
                return Err(MlError::InvalidParameter {
                    name: "y",
                    message: format!("{WHO} needs at least two classes, found {classes:?}"),
                })
            }
            2 => LinfaLogistic::Binary(
                linfa_logistic::LogisticRegression::default()
                    .alpha(self.alpha)
                    .with_intercept(self.fit_intercept)
                    .max_iterations(self.max_iterations)
                    .gradient_tolerance(self.gradient_tolerance)
                    .fit(&data)
                    .map_err(|e| linfa_error(WHO, e))?,
            ),
            _ => LinfaLogistic::Multinomial(
                linfa_logistic::MultiLogisticRegression::default()
                    .alpha(self.alpha)
                    .with_intercept(self.fit_intercept)
                    .max_iterations(self.max_iterations)
                    .gradient_tolerance(self.gradient_tolerance)
                    .fit(&data)
                    .map_err(|e| linfa_error(WHO, e))?,
            ),
        };
        Ok(LinfaLogisticRegression { model, classes, n_features: x.ncols() })
    }
}

impl Model for LinfaLogisticRegression {
    type Label = i64;

    fn n_features_in(&self) -> usize {
        self.n_features
    }

    fn predict_rows(&self, x: ArrayView2<'_, f64>) -> Result<Array1<i64>> {
        Ok(match &self.model {
            LinfaLogistic::Binary(m) => m.predict(&x),
            LinfaLogistic::Multinomial(m) => m.predict(&x),
        })
    }

    fn predict_proba_rows(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        Ok(match &self.model {
            LinfaLogistic::Binary(m) => {
                // linfa gives the probability of the positive class.
                let pos = m.labels().pos.class;
                let p = m.predict_probabilities(&x);
                let mut out = Array2::zeros((x.nrows(), 2));
                let pos_col = usize::from(self.classes.get(1) == Some(&pos));
                for (mut row, &pi) in out.rows_mut().into_iter().zip(p.iter()) {
                    row[pos_col] = pi;
                    row[1 - pos_col] = 1.0 - pi;
                }
                out
            }
            LinfaLogistic::Multinomial(m) => {
                let p = m.predict_probabilities(&x);
                // Reorder linfa's columns (its class order) to the sorted classes.
                let cols: Vec<usize> =
                    self.classes.iter().map(|c| m.classes().iter().position(|k| k == c).unwrap_or(0)).collect();
                p.select(Axis(1), &cols)
            }
        })
    }

    fn classes(&self) -> Option<Vec<i64>> {
        Some(self.classes.clone())
    }

    fn supports(&self, method: Method) -> bool {
        matches!(method, Method::Predict | Method::PredictProba)
    }
}

crate::model!(LinfaLogisticRegressionParams => LinfaLogisticRegression,
    name = "rask.ml.linfa.logistic_regression", kind = Classifier);

// --- Decision tree ---------------------------------------------------------------------------

/// How a [`LinfaDecisionTreeParams`] split is judged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SplitQuality {
    /// Gini impurity.
    #[default]
    Gini,
    /// Entropy.
    Entropy,
}

crate::param_enum!(SplitQuality { Gini => "gini", Entropy => "entropy" });

/// linfa's decision tree classifier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinfaDecisionTreeParams {
    /// The split criterion.
    pub split_quality: SplitQuality,
    /// The deepest a tree may grow (`None`: no limit).
    pub max_depth: Option<usize>,
    /// The least weight a node needs to be split.
    pub min_weight_split: f64,
    /// The least weight a leaf may hold.
    pub min_weight_leaf: f64,
    /// The least impurity decrease a split must bring.
    pub min_impurity_decrease: f64,
}

impl Default for LinfaDecisionTreeParams {
    fn default() -> Self {
        LinfaDecisionTreeParams {
            split_quality: SplitQuality::Gini,
            max_depth: None,
            min_weight_split: 2.0,
            min_weight_leaf: 1.0,
            min_impurity_decrease: 1e-5,
        }
    }
}

crate::impl_set_params!(LinfaDecisionTreeParams, |p| {
    "split_quality" => p.split_quality,
    "max_depth" => p.max_depth,
    "min_weight_split" => p.min_weight_split,
    "min_weight_leaf" => p.min_weight_leaf,
    "min_impurity_decrease" => p.min_impurity_decrease,
});

/// A fitted linfa decision tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinfaDecisionTree {
    /// The linfa tree; it predicts indices into `classes`.
    pub tree: linfa_trees::DecisionTree<f64, usize>,
    /// The sorted class labels.
    pub classes: Vec<i64>,
    /// Features seen in fit.
    pub n_features: usize,
}

impl ModelParams for LinfaDecisionTreeParams {
    type Model = LinfaDecisionTree;
    type Target = i64;

    fn fit_rows(
        &self,
        x: ArrayView2<'_, f64>,
        y: Option<ArrayView1<'_, i64>>,
        w: Option<ArrayView1<'_, f64>>,
    ) -> Result<LinfaDecisionTree> {
        const WHO: &str = "linfa DecisionTree";
        let y = need_targets(y, WHO)?;
        let classes = distinct_labels(y);
        // `classes` holds every label of `y`, so the search always finds it.
        let idx: Array1<usize> = y.mapv(|c| classes.binary_search(&c).unwrap_or(0));
        let quality = match self.split_quality {
            SplitQuality::Gini => linfa_trees::SplitQuality::Gini,
            SplitQuality::Entropy => linfa_trees::SplitQuality::Entropy,
        };
        let params = linfa_trees::DecisionTree::params()
            .split_quality(quality)
            .max_depth(self.max_depth)
            .min_weight_split(self.min_weight_split as f32)
            .min_weight_leaf(self.min_weight_leaf as f32)
            .min_impurity_decrease(self.min_impurity_decrease);
        let data = DatasetBase::new(x, idx);
        let data = match w {
            Some(w) => data.with_weights(w.mapv(|v| v as f32)),
            None => data,
        };
        let tree = params.fit(&data).map_err(|e| linfa_error(WHO, e))?;
        Ok(LinfaDecisionTree { tree, classes, n_features: x.ncols() })
    }
}

impl Model for LinfaDecisionTree {
    type Label = i64;

    fn n_features_in(&self) -> usize {
        self.n_features
    }

    fn predict_rows(&self, x: ArrayView2<'_, f64>) -> Result<Array1<i64>> {
        let idx: Array1<usize> = self.tree.predict(&x);
        Ok(idx.mapv(|i| self.classes.get(i).copied().unwrap_or(0)))
    }

    fn classes(&self) -> Option<Vec<i64>> {
        Some(self.classes.clone())
    }
}

crate::model!(LinfaDecisionTreeParams => LinfaDecisionTree, name = "rask.ml.linfa.decision_tree", kind = Classifier);

// --- k-means ---------------------------------------------------------------------------------

/// linfa's k-means (k-means++ initialisation, Lloyd iterations), seeded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinfaKMeansParams {
    /// The number of clusters.
    pub n_clusters: usize,
    /// Independent runs; the best is kept (linfa's default is 10).
    pub n_runs: usize,
    /// Iterations per run.
    pub max_n_iterations: u64,
    /// Centroid movement at which a run stops.
    pub tolerance: f64,
    /// Seed of the initialisation.
    pub seed: u64,
}

impl Default for LinfaKMeansParams {
    fn default() -> Self {
        LinfaKMeansParams { n_clusters: 8, n_runs: 10, max_n_iterations: 300, tolerance: 1e-4, seed: 0 }
    }
}

crate::impl_set_params!(LinfaKMeansParams, |p| {
    "n_clusters" => p.n_clusters,
    "n_runs" => p.n_runs,
    "max_n_iterations" => p.max_n_iterations,
    "tolerance" => p.tolerance,
    "seed" => p.seed,
});

/// A fitted linfa k-means.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinfaKMeans {
    /// The linfa model.
    pub model: linfa_clustering::KMeans<f64, linfa_nn::distance::L2Dist>,
    /// Features seen in fit.
    pub n_features: usize,
}

impl ModelParams for LinfaKMeansParams {
    type Model = LinfaKMeans;
    type Target = f64;
    const SUPERVISED: bool = false;

    fn fit_rows(
        &self,
        x: ArrayView2<'_, f64>,
        _y: Option<ArrayView1<'_, f64>>,
        w: Option<ArrayView1<'_, f64>>,
    ) -> Result<LinfaKMeans> {
        const WHO: &str = "linfa KMeans";
        no_weights(w, WHO)?;
        let model = linfa_clustering::KMeans::params_with_rng(self.n_clusters, ChaCha8Rng::seed_from_u64(self.seed))
            .n_runs(self.n_runs)
            .max_n_iterations(self.max_n_iterations)
            .tolerance(self.tolerance)
            .fit(&DatasetBase::from(x))
            .map_err(|e| linfa_error(WHO, e))?;
        Ok(LinfaKMeans { model, n_features: x.ncols() })
    }
}

impl Model for LinfaKMeans {
    type Label = i64;

    fn n_features_in(&self) -> usize {
        self.n_features
    }

    fn predict_rows(&self, x: ArrayView2<'_, f64>) -> Result<Array1<i64>> {
        let idx: Array1<usize> = self.model.predict(&x);
        Ok(idx.mapv(|i| i as i64))
    }
}

crate::model!(LinfaKMeansParams => LinfaKMeans, name = "rask.ml.linfa.kmeans", kind = Clusterer);
