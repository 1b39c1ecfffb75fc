//! smartcore 0.7 models as Rask models (cargo feature `smartcore`).
//!
//! smartcore is used without its `ndarray-bindings` feature (which would pull a second
//! ndarray), so every block is **copied** into smartcore's `DenseMatrix` before a fit or a
//! prediction: about 70–80 ms per 1,000,000 × 20 block on this project's machines (one pass
//! over the data, measured in the `wrappers` bench), on top of the model's own work.
//! Predictions come back as a `Vec` and are moved, not copied, into the result.
//!
//! | Rask params | smartcore | fits on | predict_proba |
//! |---|---|---|---|
//! | [`SmartcoreRandomForestClassifierParams`] | `ensemble::random_forest_classifier` | `i64` labels | no |
//! | [`SmartcoreDecisionTreeClassifierParams`] | `tree::decision_tree_classifier` | `i64` labels | yes (leaf one-hot) |
//! | [`SmartcoreLinearRegressionParams`] | `linear::linear_regression` (SVD or QR) | `f64` values | — |
//!
//! Fitted smartcore models are not `Clone`; the adapters hold them in an `Arc` (serialised as
//! the model itself).

use std::sync::Arc;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rask_core::{Codec, OpEntry};
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::arrays::Array as _;
use smartcore::linalg::basic::matrix::DenseMatrix;

use crate::error::{MlError, Result};
use crate::model::{distinct_labels, need_targets, no_weights, Model, ModelParams};
use crate::traits::Method;

/// The adapters' block ops.
pub const OPS: &[OpEntry] = &[
    OpEntry::of::<crate::ApplyModel<SmartcoreRandomForestClassifier>>(),
    OpEntry::of::<crate::ApplyModel<SmartcoreDecisionTreeClassifier>>(),
    OpEntry::of::<crate::ApplyModel<SmartcoreLinearRegression>>(),
];

/// The adapters' search ops.
pub const SEARCH_OPS: &[OpEntry] = crate::search_entries!(
    SmartcoreRandomForestClassifierParams,
    SmartcoreDecisionTreeClassifierParams,
    SmartcoreLinearRegressionParams
);

/// The adapters' codecs.
pub const CODECS: &[Codec] = &[
    crate::model_codec::<SmartcoreRandomForestClassifier>(),
    crate::model_codec::<SmartcoreDecisionTreeClassifier>(),
    crate::model_codec::<SmartcoreLinearRegression>(),
    crate::model_selection::search_codecs::<SmartcoreRandomForestClassifierParams>(),
    crate::model_selection::search_codecs::<SmartcoreDecisionTreeClassifierParams>(),
    crate::model_selection::search_codecs::<SmartcoreLinearRegressionParams>(),
];

/// Copies rows into smartcore's dense matrix (row-major, one copy).
pub fn to_dense(x: ArrayView2<'_, f64>) -> Result<DenseMatrix<f64>> {
    let (n, d) = x.dim();
    let values: Vec<f64> = match x.as_slice() {
        Some(s) => s.to_vec(),
        None => x.iter().copied().collect(),
    };
    DenseMatrix::new(n, d, values, false).map_err(|e| MlError::InvalidParameter { name: "x", message: e.to_string() })
}

fn fit_error(model: &str, e: impl std::fmt::Display) -> MlError {
    MlError::Fit { model: model.into(), message: e.to_string() }
}

fn predict_error(model: &str, e: impl std::fmt::Display) -> MlError {
    MlError::InvalidParameter { name: "x", message: format!("{model} predict: {e}") }
}

/// How a split is judged (smartcore's `SplitCriterion`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Criterion {
    /// Gini impurity.
    #[default]
    Gini,
    /// Entropy.
    Entropy,
    /// Misclassification rate.
    ClassificationError,
}

crate::param_enum!(Criterion { Gini => "gini", Entropy => "entropy", ClassificationError => "classification_error" });

impl Criterion {
    fn smartcore(self) -> smartcore::tree::decision_tree_classifier::SplitCriterion {
        use smartcore::tree::decision_tree_classifier::SplitCriterion as S;
        match self {
            Criterion::Gini => S::Gini,
            Criterion::Entropy => S::Entropy,
            Criterion::ClassificationError => S::ClassificationError,
        }
    }
}

fn max_depth_u16(d: Option<usize>) -> Result<Option<u16>> {
    d.map(|d| {
        u16::try_from(d).map_err(|_| MlError::InvalidParameter {
            name: "max_depth",
            message: format!("smartcore takes at most {}, got {d}", u16::MAX),
        })
    })
    .transpose()
}

// --- Random forest ---------------------------------------------------------------------------

type Forest =
    smartcore::ensemble::random_forest_classifier::RandomForestClassifier<f64, i64, DenseMatrix<f64>, Vec<i64>>;

/// smartcore's random forest classifier (bootstrap samples, `m` features tried per split).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SmartcoreRandomForestClassifierParams {
    /// Trees in the forest.
    pub n_trees: usize,
    /// The deepest a tree may grow (`None`: no limit).
    pub max_depth: Option<usize>,
    /// The least samples a leaf may hold.
    pub min_samples_leaf: usize,
    /// The least samples a node needs to be split.
    pub min_samples_split: usize,
    /// Features tried per split (`None`: the square root of the feature count).
    pub max_features: Option<usize>,
    /// The split criterion.
    pub criterion: Criterion,
    /// Seed of the bootstrap samples and feature choices.
    pub seed: u64,
}

impl Default for SmartcoreRandomForestClassifierParams {
    fn default() -> Self {
        SmartcoreRandomForestClassifierParams {
            n_trees: 100,
            max_depth: None,
            min_samples_leaf: 1,
            min_samples_split: 2,
            max_features: None,
            criterion: Criterion::Gini,
            seed: 0,
        }
    }
}

crate::impl_set_params!(SmartcoreRandomForestClassifierParams, |p| {
    "n_trees" => p.n_trees,
    "max_depth" => p.max_depth,
    "min_samples_leaf" => p.min_samples_leaf,
    "min_samples_split" => p.min_samples_split,
    "max_features" => p.max_features,
    "criterion" => p.criterion,
    "seed" => p.seed,
});

/// A fitted smartcore random forest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SmartcoreRandomForestClassifier {
    /// The smartcore model.
    pub forest: Arc<Forest>,
    /// The sorted class labels.
    pub classes: Vec<i64>,
    /// Features seen in fit.
    pub n_features: usize,
}

impl ModelParams for SmartcoreRandomForestClassifierParams {
    type Model = SmartcoreRandomForestClassifier;
    type Target = i64;

    fn fit_rows(
        &self,
        x: ArrayView2<'_, f64>,
        y: Option<ArrayView1<'_, i64>>,
        w: Option<ArrayView1<'_, f64>>,
    ) -> Result<SmartcoreRandomForestClassifier> {
        const WHO: &str = "smartcore RandomForestClassifier";
        no_weights(w, WHO)?;
        let y = need_targets(y, WHO)?;
        let n_trees = u16::try_from(self.n_trees).map_err(|_| MlError::InvalidParameter {
            name: "n_trees",
            message: format!("smartcore takes at most {}, got {}", u16::MAX, self.n_trees),
        })?;
        if n_trees == 0 {
            return Err(MlError::InvalidParameter { name: "n_trees", message: "must be at least 1".into() });
        }
        let mut params = smartcore::ensemble::random_forest_classifier::RandomForestClassifierParameters::default()
            .with_n_trees(n_trees)
            .with_min_samples_leaf(self.min_samples_leaf)
            .with_min_samples_split(self.min_samples_split)
            .with_criterion(self.criterion.smartcore())
            .with_seed(self.seed);
        if let Some(d) = max_depth_u16(self.max_depth)? {
            params = params.with_max_depth(d);
        }
        if let Some(m) = self.max_features {
            params = params.with_m(m);
        }
        let forest = Forest::fit(&to_dense(x)?, &y.to_vec(), params).map_err(|e| fit_error(WHO, e))?;
        Ok(SmartcoreRandomForestClassifier {
            forest: Arc::new(forest),
            classes: distinct_labels(y),
            n_features: x.ncols(),
        })
    }
}

impl Model for SmartcoreRandomForestClassifier {
    type Label = i64;

    fn n_features_in(&self) -> usize {
        self.n_features
    }

    fn predict_rows(&self, x: ArrayView2<'_, f64>) -> Result<Array1<i64>> {
        let p = self.forest.predict(&to_dense(x)?).map_err(|e| predict_error("RandomForestClassifier", e))?;
        Ok(Array1::from(p))
    }

    fn classes(&self) -> Option<Vec<i64>> {
        Some(self.classes.clone())
    }
}

crate::model!(SmartcoreRandomForestClassifierParams => SmartcoreRandomForestClassifier,
    name = "rask.ml.smartcore.random_forest_classifier", kind = Classifier);

// --- Decision tree ---------------------------------------------------------------------------

type Tree = smartcore::tree::decision_tree_classifier::DecisionTreeClassifier<f64, i64, DenseMatrix<f64>, Vec<i64>>;

/// smartcore's decision tree classifier.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SmartcoreDecisionTreeClassifierParams {
    /// The deepest the tree may grow (`None`: no limit).
    pub max_depth: Option<usize>,
    /// The least samples a leaf may hold (`0` is smartcore's default, 1).
    pub min_samples_leaf: usize,
    /// The least samples a node needs to be split (`0` is smartcore's default, 2).
    pub min_samples_split: usize,
    /// The split criterion.
    pub criterion: Criterion,
    /// Seed of the order in which features are tried (smartcore shuffles them; without a
    /// seed it would draw one at random, and refits would differ).
    pub seed: u64,
}

crate::impl_set_params!(SmartcoreDecisionTreeClassifierParams, |p| {
    "max_depth" => p.max_depth,
    "min_samples_leaf" => p.min_samples_leaf,
    "min_samples_split" => p.min_samples_split,
    "criterion" => p.criterion,
    "seed" => p.seed,
});

/// A fitted smartcore decision tree.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SmartcoreDecisionTreeClassifier {
    /// The smartcore model.
    pub tree: Arc<Tree>,
    /// The sorted class labels.
    pub classes: Vec<i64>,
    /// Features seen in fit.
    pub n_features: usize,
}

impl ModelParams for SmartcoreDecisionTreeClassifierParams {
    type Model = SmartcoreDecisionTreeClassifier;
    type Target = i64;

    fn fit_rows(
        &self,
        x: ArrayView2<'_, f64>,
        y: Option<ArrayView1<'_, i64>>,
        w: Option<ArrayView1<'_, f64>>,
    ) -> Result<SmartcoreDecisionTreeClassifier> {
        const WHO: &str = "smartcore DecisionTreeClassifier";
        no_weights(w, WHO)?;
        let y = need_targets(y, WHO)?;
        let mut params = smartcore::tree::decision_tree_classifier::DecisionTreeClassifierParameters::default()
            .with_criterion(self.criterion.smartcore());
        params.seed = Some(self.seed);
        if let Some(d) = max_depth_u16(self.max_depth)? {
            params = params.with_max_depth(d);
        }
        if self.min_samples_leaf > 0 {
            params = params.with_min_samples_leaf(self.min_samples_leaf);
        }
        if self.min_samples_split > 0 {
            params = params.with_min_samples_split(self.min_samples_split);
        }
        let tree = Tree::fit(&to_dense(x)?, &y.to_vec(), params).map_err(|e| fit_error(WHO, e))?;
        Ok(SmartcoreDecisionTreeClassifier { tree: Arc::new(tree), classes: distinct_labels(y), n_features: x.ncols() })
    }
}

impl Model for SmartcoreDecisionTreeClassifier {
    type Label = i64;

    fn n_features_in(&self) -> usize {
        self.n_features
    }

    fn predict_rows(&self, x: ArrayView2<'_, f64>) -> Result<Array1<i64>> {
        let p = self.tree.predict(&to_dense(x)?).map_err(|e| predict_error("DecisionTreeClassifier", e))?;
        Ok(Array1::from(p))
    }

    fn predict_proba_rows(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        let p = self.tree.predict_proba(&to_dense(x)?).map_err(|e| predict_error("DecisionTreeClassifier", e))?;
        let (n, k) = p.shape();
        // smartcore's columns are its sorted distinct labels: the same order as `classes`.
        Ok(Array2::from_shape_fn((n, k), |(i, j)| *p.get((i, j))))
    }

    fn classes(&self) -> Option<Vec<i64>> {
        Some(self.classes.clone())
    }

    fn supports(&self, method: Method) -> bool {
        matches!(method, Method::Predict | Method::PredictProba)
    }
}

crate::model!(SmartcoreDecisionTreeClassifierParams => SmartcoreDecisionTreeClassifier,
    name = "rask.ml.smartcore.decision_tree_classifier", kind = Classifier);

// --- Linear regression -----------------------------------------------------------------------

type Linear = smartcore::linear::linear_regression::LinearRegression<f64, f64, DenseMatrix<f64>, Vec<f64>>;

/// How [`SmartcoreLinearRegressionParams`] solves least squares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinearSolver {
    /// SVD (smartcore's default).
    #[default]
    Svd,
    /// QR.
    Qr,
}

crate::param_enum!(LinearSolver { Svd => "svd", Qr => "qr" });

/// smartcore's ordinary least squares.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SmartcoreLinearRegressionParams {
    /// The solver.
    pub solver: LinearSolver,
}

crate::impl_set_params!(SmartcoreLinearRegressionParams, |p| { "solver" => p.solver });

/// A fitted smartcore linear regression.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SmartcoreLinearRegression {
    /// The smartcore model.
    pub model: Arc<Linear>,
    /// Features seen in fit.
    pub n_features: usize,
}

impl ModelParams for SmartcoreLinearRegressionParams {
    type Model = SmartcoreLinearRegression;
    type Target = f64;

    fn fit_rows(
        &self,
        x: ArrayView2<'_, f64>,
        y: Option<ArrayView1<'_, f64>>,
        w: Option<ArrayView1<'_, f64>>,
    ) -> Result<SmartcoreLinearRegression> {
        const WHO: &str = "smartcore LinearRegression";
        no_weights(w, WHO)?;
        let y = need_targets(y, WHO)?;
        use smartcore::linear::linear_regression::{LinearRegressionParameters, LinearRegressionSolverName};
        let solver = match self.solver {
            LinearSolver::Svd => LinearRegressionSolverName::SVD,
            LinearSolver::Qr => LinearRegressionSolverName::QR,
        };
        let params = LinearRegressionParameters::default().with_solver(solver);
        let model = Linear::fit(&to_dense(x)?, &y.to_vec(), params).map_err(|e| fit_error(WHO, e))?;
        Ok(SmartcoreLinearRegression { model: Arc::new(model), n_features: x.ncols() })
    }
}

impl Model for SmartcoreLinearRegression {
    type Label = f64;

    fn n_features_in(&self) -> usize {
        self.n_features
    }

    fn predict_rows(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        let p = self.model.predict(&to_dense(x)?).map_err(|e| predict_error("LinearRegression", e))?;
        Ok(Array1::from(p))
    }
}

crate::model!(SmartcoreLinearRegressionParams => SmartcoreLinearRegression,
    name = "rask.ml.smartcore.linear_regression", kind = Regressor);
