//! The logistic-regression fit and the fitted model.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rask_ml::traits::check_n_features;
use rask_ml::{BlockModel, ChunkedDataset, Fit, Float, Method, ModelKind, ParamGuard};
use serde::{Deserialize, Serialize};

use super::errors::LogisticRegressionError;
use super::params::LogisticRegressionParams;
use crate::linear_model::glm::family::{finite_linear_predictor_map, finite_linear_predictor_of, softmax_in_place};
use crate::linear_model::glm::{check_summary, locate_non_finite, Data, Family, Layout, Penalty, Problem};

/// A fitted logistic regression: binary (two classes, one coefficient row, the second class
/// positive) or multinomial (softmax over `k ≥ 3` classes, one row per class), as
/// scikit-learn's `LogisticRegression` with `multi_class="multinomial"`.
///
/// # Examples
///
/// ```
/// use rask_estimators::linear_model::LogisticRegressionParams;
/// use rask_ml::ndarray::{array, Array1};
/// use rask_ml::{Dataset, Fit, Predict};
///
/// let x = array![[-2.0], [-1.0], [-0.5], [0.5], [1.0], [2.0]];
/// let y: Array1<i64> = array![0, 0, 1, 0, 1, 1];
/// let model = LogisticRegressionParams::new().fit(&Dataset::new(x.clone(), y)).unwrap();
/// assert_eq!(model.predict(&x).unwrap().to_vec(), vec![0, 0, 0, 1, 1, 1]);
/// assert!(model.coef[[0, 0]] > 0.0);
/// ```
///
/// # Parallelisation
///
/// Every solver evaluation is one tree reduction over the row blocks (loss, gradient and,
/// for Newton, the Hessian), computed on the default scheduler; ADMM's local solves run one
/// task per block. The data is persisted once at the start of the fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegression {
    /// Coefficients: `1 × d` for two classes, `k × d` for `k ≥ 3`.
    pub coef: Array2<f64>,
    /// Intercepts, one per coefficient row (zeros without `fit_intercept`).
    pub intercept: Array1<f64>,
    /// The sorted distinct labels.
    pub classes: Array1<i64>,
    /// Solver iterations run.
    pub n_iter: usize,
    /// Whether the solver met its tolerance within `max_iter` (scikit-learn warns otherwise).
    pub converged: bool,
}

impl<F: Float> Fit<ChunkedDataset<F, i64>> for LogisticRegressionParams {
    type Model = LogisticRegression;
    type Error = LogisticRegressionError;

    fn fit(&self, ds: &ChunkedDataset<F, i64>) -> Result<LogisticRegression, LogisticRegressionError> {
        let p = self.check_ref()?;
        let s = &p.settings;
        let data = Data::persist(ds, "LogisticRegression")?;
        let summary = data.summarize()?;
        check_summary(&summary).map_err(|e| locate_non_finite(e, ds.x()))?;
        let classes = summary.classes.clone();
        if classes.len() < 2 {
            return Err(LogisticRegressionError::SingleClass { class: classes.first().copied().unwrap_or_default() });
        }
        let (family, k) =
            if classes.len() == 2 { (Family::Bernoulli, 1) } else { (Family::Multinomial, classes.len()) };
        let layout = Layout { k, d: data.n_cols(), fit_intercept: s.fit_intercept };
        let problem = Problem {
            family,
            layout,
            classes: classes.clone(),
            penalty: s.penalty,
            lambda: 1.0 / (p.c * summary.weight_sum),
            l1_ratio: s.l1_ratio,
            solver: s.solver,
            max_iter: s.max_iter,
            tol: s.tol,
            rho: s.rho,
            weight_sum: summary.weight_sum,
        };
        let sol = problem.solve(&data, None)?;
        let (mut coef, mut intercept) = layout.split(&sol.coef);
        if family == Family::Multinomial {
            // The softmax is unchanged by adding the same vector to every row: centre the
            // intercepts (never penalised) and, when no L1 term pins them, the coefficients,
            // which is where scikit-learn's solvers end up from a zero start.
            intercept -= intercept.mean().unwrap_or(0.0);
            if matches!(s.penalty, Penalty::None | Penalty::L2) {
                let mean = coef.mean_axis(Axis(0)).expect("k ≥ 3 rows");
                coef -= &mean.insert_axis(Axis(0));
            }
        }
        Ok(LogisticRegression {
            coef,
            intercept,
            classes: Array1::from(classes),
            n_iter: sol.n_iter,
            converged: sol.converged,
        })
    }
}

impl LogisticRegression {
    /// The linear predictor `X Wᵀ + b`: `n × 1` for two classes (positive means the second
    /// class), `n × k` otherwise.
    pub fn decision_function<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<f64>> {
        check_n_features(self.coef.ncols(), x.ncols())?;
        finite_linear_predictor_of(x, &self.coef, &self.intercept)
    }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl BlockModel for LogisticRegression {
    const APPLY_OP: &'static str = "rask.estimators.logistic_regression.apply";
    const KIND: ModelKind = ModelKind::Classifier;
    type Label = i64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        crate::linear_model::validate_linear_classifier(
            "LogisticRegression",
            self.classes.len(),
            &self.coef,
            &self.intercept,
        )
    }

    fn n_features_in(&self) -> usize {
        self.coef.ncols()
    }

    fn n_classes(&self) -> Option<usize> {
        Some(self.classes.len())
    }

    fn classes(&self) -> Option<Vec<i64>> {
        Some(self.classes.to_vec())
    }

    fn predict_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array1<i64>> {
        if self.classes.len() == 2 {
            // scikit-learn: the second class where the decision function is positive.
            check_n_features(self.coef.ncols(), x.ncols())?;
            // A plain two-element array: the choice compiles to an indexed load, not a branch
            // that mispredicts on half the rows (2x slower through ndarray's indexing).
            let classes = [self.classes[0], self.classes[1]];
            return finite_linear_predictor_map(x, self.coef.row(0), self.intercept[0], |e| {
                classes[usize::from(e > 0.0)]
            });
        }
        let eta = self.decision_function(x)?;
        Ok(Array1::from_iter(eta.rows().into_iter().map(|r| {
            let mut best = 0;
            for (j, &v) in r.iter().enumerate() {
                if v > r[best] {
                    best = j;
                }
            }
            self.classes[best]
        })))
    }

    fn predict_proba_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<f64>> {
        let mut eta = self.decision_function(x)?;
        if self.classes.len() == 2 {
            let p1 = eta.column(0).mapv(sigmoid);
            let mut out = Array2::zeros((eta.nrows(), 2));
            out.column_mut(0).assign(&p1.mapv(|p| 1.0 - p));
            out.column_mut(1).assign(&p1);
            Ok(out)
        } else {
            softmax_in_place(&mut eta);
            Ok(eta)
        }
    }

    /// The decision values are checked ([`finite_linear_predictor_of`]).
    fn detects_non_finite(&self, method: Method) -> bool {
        matches!(method, Method::Predict | Method::PredictProba)
    }

    fn supports(&self, method: Method) -> bool {
        matches!(method, Method::Predict | Method::PredictProba)
    }
}

rask_ml::estimator!(LogisticRegressionParams => LogisticRegression, name = "LogisticRegression", ops = "rask.estimators.logistic_regression", kind = Classifier, targets = labels, partial_fit = no);
