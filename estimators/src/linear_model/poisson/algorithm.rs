//! The Poisson-regression fit and the fitted model.

use ndarray::{Array1, ArrayView2};
use rask_ml::traits::check_n_features;
use rask_ml::{BlockModel, ChunkedDataset, Fit, Float, Method, ModelKind, ParamGuard};
use serde::{Deserialize, Serialize};

use super::errors::PoissonRegressionError;
use super::params::PoissonRegressionParams;
use crate::linear_model::glm::family::finite_linear_predictor_map;
use crate::linear_model::glm::{check_summary, locate_non_finite, Data, Family, Layout, Problem};

/// A fitted Poisson regression: predicts the mean count `exp(x·w + b)`.
///
/// # Examples
///
/// ```
/// use rask_estimators::linear_model::PoissonRegressionParams;
/// use rask_ml::ndarray::array;
/// use rask_ml::{Dataset, Fit, Predict};
///
/// let x = array![[0.0], [1.0], [2.0], [3.0]];
/// let y = array![1.0, 2.0, 4.0, 9.0];
/// let model = PoissonRegressionParams::new().alpha(0.0).fit(&Dataset::new(x.clone(), y)).unwrap();
/// // The fitted means of an unpenalised Poisson GLM with an intercept sum to the target sum.
/// let total: f64 = model.predict(&x).unwrap().sum();
/// assert!((total - 16.0).abs() < 1e-3);
/// ```
///
/// # Parallelisation
///
/// As for [`LogisticRegression`](crate::linear_model::LogisticRegression): one tree reduction
/// over the row blocks per solver evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoissonRegression {
    /// Coefficients, one per feature.
    pub coef: Array1<f64>,
    /// The intercept (0 without `fit_intercept`).
    pub intercept: f64,
    /// Solver iterations run.
    pub n_iter: usize,
    /// Whether the solver met its tolerance within `max_iter`.
    pub converged: bool,
}

impl<F: Float> Fit<ChunkedDataset<F, f64>> for PoissonRegressionParams {
    type Model = PoissonRegression;
    type Error = PoissonRegressionError;

    fn fit(&self, ds: &ChunkedDataset<F, f64>) -> Result<PoissonRegression, PoissonRegressionError> {
        let p = self.check_ref()?;
        let s = &p.settings;
        let data = Data::persist(ds, "PoissonRegression")?;
        let summary = data.summarize()?;
        check_summary(&summary).map_err(|e| locate_non_finite(e, ds.x()))?;
        if summary.y_min < 0.0 {
            return Err(PoissonRegressionError::NegativeTarget { min: summary.y_min });
        }
        if summary.y_sum <= 0.0 {
            return Err(PoissonRegressionError::ZeroTargets);
        }
        let layout = Layout { k: 1, d: data.n_cols(), fit_intercept: s.fit_intercept };
        let problem = Problem {
            family: Family::Poisson,
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
        // Start from the intercept-only fit, log of the weighted mean target (scikit-learn
        // does the same), which keeps the first steps away from overflowing exp(η).
        let mut start = vec![0.0; layout.len()];
        if s.fit_intercept {
            start[layout.d] = (summary.y_sum / summary.weight_sum).ln();
        }
        let sol = problem.solve(&data, Some(start))?;
        let (w, b) = layout.split(&sol.coef);
        Ok(PoissonRegression {
            coef: w.row(0).to_owned(),
            intercept: b[0],
            n_iter: sol.n_iter,
            converged: sol.converged,
        })
    }
}

impl BlockModel for PoissonRegression {
    const APPLY_OP: &'static str = "rask.estimators.poisson_regression.apply";
    const KIND: ModelKind = ModelKind::Regressor;
    type Label = f64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        use rask_ml::persist::{check_model_finite as finite, check_model_nonempty as nonempty};
        const M: &str = "PoissonRegression";
        nonempty(M, "the number of features (length of coef)", self.coef.len())?;
        finite(M, "coef", self.coef.iter())?;
        finite(M, "intercept", [self.intercept].iter())
    }

    fn n_features_in(&self) -> usize {
        self.coef.len()
    }

    fn predict_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array1<f64>> {
        check_n_features(self.coef.len(), x.ncols())?;
        finite_linear_predictor_map(x, self.coef.view(), self.intercept, f64::exp)
    }

    fn supports(&self, method: Method) -> bool {
        method == Method::Predict
    }

    /// The decision values are checked ([`finite_linear_predictor_of`]).
    fn detects_non_finite(&self, method: Method) -> bool {
        method == Method::Predict
    }
}

rask_ml::estimator!(PoissonRegressionParams => PoissonRegression, name = "PoissonRegression", ops = "rask.estimators.poisson_regression", kind = Regressor, targets = values, partial_fit = no);
