//! The linear-regression fit and the fitted model.

use ndarray::{Array1, ArrayView2};
use rask_ml::traits::check_n_features;
use rask_ml::{BlockModel, ChunkedDataset, Fit, Float, Method, ModelKind, ParamGuard};
use serde::{Deserialize, Serialize};

use super::errors::LinearRegressionError;
use super::params::LinearRegressionParams;
use crate::linear_model::glm::family::finite_linear_predictor_map;
use crate::linear_model::glm::{check_summary, locate_non_finite, Data, Family, Layout, Problem};

/// A fitted linear regression (ordinary least squares, ridge, lasso or elastic-net; see
/// [`LinearRegressionValidParams`](super::LinearRegressionValidParams) for the objective).
///
/// # Examples
///
/// ```
/// use rask_estimators::linear_model::LinearRegressionParams;
/// use rask_ml::ndarray::array;
/// use rask_ml::{Dataset, Fit, Predict};
///
/// let x = array![[0.0], [1.0], [2.0], [3.0]];
/// let y = array![1.0, 3.0, 5.0, 7.0];
/// let model = LinearRegressionParams::new().fit(&Dataset::new(x, y)).unwrap();
/// assert!((model.coef[0] - 2.0).abs() < 1e-12 && (model.intercept - 1.0).abs() < 1e-12);
/// assert!((model.predict(&array![[10.0]]).unwrap()[0] - 21.0).abs() < 1e-10);
/// ```
///
/// # Parallelisation
///
/// The direct solver is one tree reduction of `[X 1]ᵀ W [X 1]` and `[X 1]ᵀ W y` over the row
/// blocks and a small Cholesky solve; the iterative solvers reduce the loss and gradient per
/// evaluation, like [`LogisticRegression`](crate::linear_model::LogisticRegression).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearRegression {
    /// Coefficients, one per feature.
    pub coef: Array1<f64>,
    /// The intercept (0 without `fit_intercept`).
    pub intercept: f64,
    /// Solver iterations run (1 for the direct solver).
    pub n_iter: usize,
    /// Whether the solver met its tolerance within `max_iter`.
    pub converged: bool,
}

impl<F: Float> Fit<ChunkedDataset<F, f64>> for LinearRegressionParams {
    type Model = LinearRegression;
    type Error = LinearRegressionError;

    fn fit(&self, ds: &ChunkedDataset<F, f64>) -> Result<LinearRegression, LinearRegressionError> {
        let p = self.check_ref()?;
        let s = &p.settings;
        let data = Data::persist(ds, "LinearRegression")?;
        let summary = data.summarize()?;
        check_summary(&summary).map_err(|e| locate_non_finite(e, ds.x()))?;
        let layout = Layout { k: 1, d: data.n_cols(), fit_intercept: s.fit_intercept };
        let problem = Problem {
            family: Family::Gaussian,
            layout,
            classes: Vec::new(),
            penalty: s.penalty,
            lambda: p.alpha,
            l1_ratio: s.l1_ratio,
            solver: s.solver,
            max_iter: s.max_iter,
            tol: s.tol,
            rho: s.rho,
            weight_sum: summary.weight_sum,
        };
        let sol = problem.solve(&data, None)?;
        let (w, b) = layout.split(&sol.coef);
        Ok(LinearRegression {
            coef: w.row(0).to_owned(),
            intercept: b[0],
            n_iter: sol.n_iter,
            converged: sol.converged,
        })
    }
}

impl BlockModel for LinearRegression {
    const APPLY_OP: &'static str = "rask.estimators.linear_regression.apply";
    const KIND: ModelKind = ModelKind::Regressor;
    type Label = f64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        use rask_ml::persist::{check_model_finite as finite, check_model_nonempty as nonempty};
        const M: &str = "LinearRegression";
        nonempty(M, "the number of features (length of coef)", self.coef.len())?;
        finite(M, "coef", self.coef.iter())?;
        finite(M, "intercept", [self.intercept].iter())
    }

    fn n_features_in(&self) -> usize {
        self.coef.len()
    }

    fn predict_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array1<f64>> {
        check_n_features(self.coef.len(), x.ncols())?;
        finite_linear_predictor_map(x, self.coef.view(), self.intercept, |e| e)
    }

    fn supports(&self, method: Method) -> bool {
        method == Method::Predict
    }

    /// The decision values are checked ([`finite_linear_predictor_of`]).
    fn detects_non_finite(&self, method: Method) -> bool {
        method == Method::Predict
    }
}

rask_ml::estimator!(LinearRegressionParams => LinearRegression, name = "LinearRegression", ops = "rask.estimators.linear_regression", kind = Regressor, targets = values, partial_fit = no);
