use ndarray::{Array1, Array2, ArrayView2};
use rask_core::Graph;
use rask_ml::{
    BlockModel, ChunkedDataset, Element, Fit, Float, Lazy, Method, MlError, ModelKind, ParamGuard, PartialFit,
};
use serde::{Deserialize, Serialize};

use super::errors::SgdError;
use super::loss::{Loss, SgdClassifierLoss};
use super::ops::{BinaryState, BlockLabels, MergeLabels, SgdInitial, SgdStates, SgdStep, StepSettings, Target};
use super::params::{LearningRate, SgdClassifierParams, SgdCommon, SgdRegressorParams};

/// A fitted SGD classifier: one-vs-rest linear decision functions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SgdClassifier {
    /// `1 × d` for two classes (the positive class is the larger label), `k × d` otherwise.
    pub coef: Array2<f64>,
    /// One intercept per row of `coef`.
    pub intercept: Array1<f64>,
    /// The class labels, sorted.
    pub classes: Vec<i64>,
    /// The loss it was fitted with (decides whether it has probabilities).
    pub loss: SgdClassifierLoss,
    /// Epochs run (the most over the one-vs-rest problems).
    pub n_iter: usize,
    /// The learning-rate clock: `1 + samples seen` (continues in `partial_fit`).
    pub t: f64,
    /// Whether every problem met the stopping rule before `max_iter` (always true after
    /// `partial_fit`, which runs one epoch by design).
    pub converged: bool,
}

/// A fitted SGD regressor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SgdRegressor {
    /// The coefficients.
    pub coef: Array1<f64>,
    /// The intercept.
    pub intercept: f64,
    /// Epochs run.
    pub n_iter: usize,
    /// The learning-rate clock: `1 + samples seen`.
    pub t: f64,
    /// Whether the stopping rule was met before `max_iter`.
    pub converged: bool,
}

/// The outcome of a run of epochs.
struct Epochs {
    states: SgdStates,
    n_iter: usize,
    converged: bool,
}

fn optimal_init(loss: Loss, alpha: f64) -> f64 {
    // Léon Bottou's heuristic, as scikit-learn computes it.
    let typw = (1.0 / alpha.sqrt()).sqrt();
    let initial_eta0 = typw / loss.gradient(1.0, -typw).max(1.0);
    1.0 / (initial_eta0 * alpha)
}

/// An SGD stream seed: [`rask_ml::stream_seed`] in the domain `["rask.estimators.sgd", what]`
/// with the path `[clock, block]`.
fn stream(what: &str, seed: u64, clock: u64, block: u64) -> u64 {
    rask_ml::stream_seed(&["rask.estimators.sgd", what], seed, &[clock, block])
}

/// Runs up to `epochs` epochs over `data`, each a chain of one task per block.
fn run_epochs<F: Float, Y: Element>(
    common: &SgdCommon,
    settings: StepSettings,
    data: &ChunkedDataset<F, Y>,
    mut states: SgdStates,
    epochs: usize,
) -> Result<Epochs, SgdError> {
    let x = data.x();
    let y = data.y_required("SGD")?;
    x.check_aligned(y.chunks())?;
    let n_samples = x
        .n_rows()
        .ok_or_else(|| MlError::UnknownChunkSizes { operation: "SGD (its stopping rule counts rows)".into() })?;
    if n_samples == 0 {
        return Err(MlError::EmptyInput { who: "SGD".into() }.into());
    }
    let k = states.problems.len();
    let mut layers = x.layers().union(y.layers());
    if let Some(w) = data.weights() {
        layers = layers.union(w.layers());
    }
    let base = layers.to_graph();
    let mut active = vec![true; k];
    let mut eta = vec![common.eta0; k];
    let mut best = vec![f64::INFINITY; k];
    let mut no_improvement = vec![0usize; k];
    let mut n_iter = vec![0usize; k];
    for epoch in 0..epochs {
        if !active.iter().any(|&a| a) {
            break;
        }
        for p in &mut states.problems {
            p.sumloss = 0.0;
        }
        // The clock identifies the epoch across `partial_fit` calls, so every epoch gets its own
        // streams.
        let clock = states.problems.iter().map(|p| p.t as u64).max().unwrap_or(1);
        let mut order: Vec<usize> = (0..x.n_blocks()).collect();
        if common.shuffle {
            use rand::seq::SliceRandom;
            use rand::SeedableRng;
            order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(stream("blocks", common.seed, clock, 0)));
        }
        let mut g: Graph = base.clone();
        let mut prev = g.task(SgdInitial { states: states.clone() }, &[]).map_err(MlError::from)?;
        for &b in &order {
            let step = SgdStep {
                settings: settings.clone(),
                active: active.clone(),
                eta: eta.clone(),
                row_seed: common.shuffle.then(|| stream("rows", common.seed, clock, b as u64)),
            };
            let mut inputs = vec![prev, x.block_key(b), y.block_key(b)];
            if let Some(w) = data.weights() {
                inputs.push(w.block_key(b));
            }
            prev = g.task(step, &inputs).map_err(MlError::from)?;
        }
        states = Lazy::<SgdStates>::new(rask_core::graph::Layers::from_graph(g), prev).compute()?;
        for (i, p) in states.problems.iter().enumerate() {
            if !active[i] {
                continue;
            }
            if !p.intercept.is_finite() || p.w.iter().any(|w| !w.is_finite()) || !p.wscale.is_finite() {
                return Err(SgdError::Overflow(epoch + 1));
            }
            n_iter[i] += 1;
            if let Some(tol) = common.tol {
                if p.sumloss > best[i] - tol * n_samples as f64 {
                    no_improvement[i] += 1;
                } else {
                    no_improvement[i] = 0;
                }
                if p.sumloss < best[i] {
                    best[i] = p.sumloss;
                }
                if no_improvement[i] >= common.n_iter_no_change {
                    if common.learning_rate == LearningRate::Adaptive && eta[i] > 1e-6 {
                        eta[i] /= 5.0;
                        no_improvement[i] = 0;
                    } else {
                        active[i] = false;
                    }
                }
            }
        }
    }
    let converged = !active.iter().any(|&a| a);
    Ok(Epochs { states, n_iter: n_iter.into_iter().max().unwrap_or(0), converged })
}

fn settings(common: &SgdCommon, loss: Loss, targets: Vec<Target>, classes: Option<Vec<i64>>) -> StepSettings {
    StepSettings {
        loss,
        penalty: common.penalty,
        alpha: common.alpha,
        l1_ratio: common.l1_ratio,
        fit_intercept: common.fit_intercept,
        learning_rate: common.learning_rate,
        power_t: common.power_t,
        optimal_init: if common.learning_rate == LearningRate::Optimal {
            optimal_init(loss, common.alpha)
        } else {
            0.0
        },
        targets,
        classes,
    }
}

/// The sorted distinct labels of `y`, by one reduction.
fn find_classes(y: &rask_ml::ChunkedVector<i64>) -> Result<Vec<i64>, SgdError> {
    let (layers, key) = y.block_layer().reduce(&[], BlockLabels, MergeLabels, 8)?;
    Ok(Lazy::<Array1<i64>>::new(layers, key).compute()?.to_vec())
}

fn targets_for(classes: &[i64]) -> Vec<Target> {
    if classes.len() == 2 {
        vec![Target::Class(classes[1])]
    } else {
        classes.iter().map(|&c| Target::Class(c)).collect()
    }
}

fn classifier_from(
    states: &SgdStates,
    classes: Vec<i64>,
    loss: SgdClassifierLoss,
    n_iter: usize,
    t: f64,
    converged: bool,
) -> SgdClassifier {
    let d = states.problems.first().map_or(0, |p| p.w.len());
    let mut coef = Array2::zeros((states.problems.len(), d));
    let mut intercept = Array1::zeros(states.problems.len());
    for (i, p) in states.problems.iter().enumerate() {
        coef.row_mut(i).assign(&Array1::from(p.coef()));
        intercept[i] = p.intercept;
    }
    SgdClassifier { coef, intercept, classes, loss, n_iter, t, converged }
}

impl<F: Float> Fit<ChunkedDataset<F, i64>> for SgdClassifierParams {
    type Model = SgdClassifier;
    type Error = SgdError;

    fn fit(&self, data: &ChunkedDataset<F, i64>) -> Result<SgdClassifier, SgdError> {
        let p = self.check_ref()?;
        let found = find_classes(data.y_required("SGDClassifier fit")?)?;
        let classes = match &p.classes {
            Some(c) => {
                let mut c = c.clone();
                c.sort_unstable();
                if let Some(l) = found.iter().find(|l| c.binary_search(l).is_err()) {
                    return Err(SgdError::UnknownLabel { label: *l, classes: c });
                }
                c
            }
            None => found,
        };
        if classes.len() < 2 {
            return Err(SgdError::TooFewClasses(classes.len()));
        }
        let d = data.x().n_cols();
        let targets = targets_for(&classes);
        let states =
            SgdStates { problems: targets.iter().map(|_| BinaryState::new(&vec![0.0; d], 0.0, 1.0)).collect() };
        let n = data.x().n_rows().unwrap_or(0) as f64;
        let run = run_epochs(
            &p.common,
            settings(&p.common, Loss::Classifier(p.loss), targets, Some(classes.clone())),
            data,
            states,
            p.common.max_iter,
        )?;
        let t = 1.0 + run.n_iter as f64 * n;
        Ok(classifier_from(&run.states, classes, p.loss, run.n_iter, t, run.converged))
    }
}

impl<F: Float> PartialFit<ChunkedDataset<F, i64>> for SgdClassifierParams {
    type Model = SgdClassifier;
    type Error = SgdError;

    fn partial_fit(
        &self,
        model: Option<SgdClassifier>,
        data: &ChunkedDataset<F, i64>,
    ) -> Result<SgdClassifier, SgdError> {
        let p = self.check_ref()?;
        let mut classes = p.classes.clone().ok_or(SgdError::PartialFitNeedsClasses)?;
        classes.sort_unstable();
        let d = data.x().n_cols();
        let targets = targets_for(&classes);
        let states = match &model {
            None => SgdStates { problems: targets.iter().map(|_| BinaryState::new(&vec![0.0; d], 0.0, 1.0)).collect() },
            Some(m) => {
                if m.classes != classes {
                    return Err(SgdError::ModelMismatch(format!(
                        "the model has classes {:?}, the params {:?}",
                        m.classes, classes
                    )));
                }
                if m.coef.ncols() != d {
                    return Err(SgdError::ModelMismatch(format!(
                        "the model has {} features, the data {d}",
                        m.coef.ncols()
                    )));
                }
                SgdStates {
                    problems: (0..m.coef.nrows())
                        .map(|i| {
                            BinaryState::new(
                                m.coef.row(i).as_slice().unwrap_or(&m.coef.row(i).to_vec()),
                                m.intercept[i],
                                m.t,
                            )
                        })
                        .collect(),
                }
            }
        };
        let t0 = model.as_ref().map_or(1.0, |m| m.t);
        let n = data.x().n_rows().unwrap_or(0) as f64;
        let common = SgdCommon { tol: None, ..p.common.clone() };
        let run = run_epochs(
            &common,
            settings(&common, Loss::Classifier(p.loss), targets, Some(classes.clone())),
            data,
            states,
            1,
        )?;
        Ok(classifier_from(&run.states, classes, p.loss, 1, t0 + n, true))
    }
}

impl SgdClassifier {
    /// The decision function, `rows × coef rows`.
    pub fn decision_function<F: Float>(&self, x: ArrayView2<'_, F>) -> Array2<f64> {
        let mut out = Array2::zeros((x.nrows(), self.coef.nrows()));
        let mut row = vec![0.0; x.ncols()];
        for (r, xr) in x.rows().into_iter().enumerate() {
            for (dst, &v) in row.iter_mut().zip(xr.iter()) {
                *dst = v.widen();
            }
            for (k, c) in self.coef.rows().into_iter().enumerate() {
                out[[r, k]] = c.iter().zip(&row).map(|(a, b)| a * b).sum::<f64>() + self.intercept[k];
            }
        }
        out
    }
}

fn expit(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl BlockModel for SgdClassifier {
    const APPLY_OP: &'static str = "rask.estimators.sgd_classifier.apply";
    const KIND: ModelKind = ModelKind::Classifier;
    type Label = i64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        crate::linear_model::validate_linear_classifier(
            "SgdClassifier",
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
        Some(self.classes.clone())
    }

    fn supports(&self, method: Method) -> bool {
        match method {
            Method::Predict => true,
            Method::PredictProba => matches!(self.loss, SgdClassifierLoss::LogLoss | SgdClassifierLoss::ModifiedHuber),
            Method::Transform | Method::InverseTransform => false,
        }
    }

    fn predict_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array1<i64>> {
        rask_ml::check_rows(x, false)?;
        let d = self.decision_function(x);
        Ok(Array1::from_iter(d.rows().into_iter().map(|r| {
            if self.coef.nrows() == 1 {
                self.classes[usize::from(r[0] > 0.0)]
            } else {
                let best =
                    r.iter().enumerate().fold((0, f64::NEG_INFINITY), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
                self.classes[best.0]
            }
        })))
    }

    fn predict_proba_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<f64>> {
        if !self.supports(Method::PredictProba) {
            return Err(MlError::Unsupported {
                what: format!("probabilities need loss LogLoss or ModifiedHuber, this model has {:?}", self.loss),
            });
        }
        rask_ml::check_rows(x, false)?;
        let d = self.decision_function(x);
        let k = self.classes.len();
        let squash = |v: f64| match self.loss {
            SgdClassifierLoss::LogLoss => expit(v),
            _ => (v.clamp(-1.0, 1.0) + 1.0) / 2.0,
        };
        let mut out = Array2::zeros((x.nrows(), k));
        for (r, dr) in d.rows().into_iter().enumerate() {
            if k == 2 {
                let p = squash(dr[0]);
                out[[r, 0]] = 1.0 - p;
                out[[r, 1]] = p;
            } else {
                let p: Vec<f64> = dr.iter().map(|&v| squash(v)).collect();
                let sum: f64 = p.iter().sum();
                for j in 0..k {
                    // scikit-learn spreads a row whose scores are all zero evenly.
                    out[[r, j]] = if sum == 0.0 { 1.0 / k as f64 } else { p[j] / sum };
                }
            }
        }
        Ok(out)
    }
}

fn regressor_run<F: Float>(
    p: &super::params::SgdRegressorValidParams,
    data: &ChunkedDataset<F, f64>,
    model: Option<&SgdRegressor>,
    epochs: usize,
    common: &SgdCommon,
) -> Result<Epochs, SgdError> {
    let d = data.x().n_cols();
    let state = match model {
        None => BinaryState::new(&vec![0.0; d], 0.0, 1.0),
        Some(m) => {
            if m.coef.len() != d {
                return Err(SgdError::ModelMismatch(format!("the model has {} features, the data {d}", m.coef.len())));
            }
            BinaryState::new(&m.coef.to_vec(), m.intercept, m.t)
        }
    };
    run_epochs(
        common,
        settings(common, Loss::Regressor(p.loss), vec![Target::Value], None),
        data,
        SgdStates { problems: vec![state] },
        epochs,
    )
}

fn regressor_from(run: &Epochs, t: f64) -> SgdRegressor {
    let p = &run.states.problems[0];
    SgdRegressor {
        coef: Array1::from(p.coef()),
        intercept: p.intercept,
        n_iter: run.n_iter,
        t,
        converged: run.converged,
    }
}

impl<F: Float> Fit<ChunkedDataset<F, f64>> for SgdRegressorParams {
    type Model = SgdRegressor;
    type Error = SgdError;

    fn fit(&self, data: &ChunkedDataset<F, f64>) -> Result<SgdRegressor, SgdError> {
        let p = self.check_ref()?;
        let run = regressor_run(p, data, None, p.common.max_iter, &p.common)?;
        let n = data.x().n_rows().unwrap_or(0) as f64;
        Ok(regressor_from(&run, 1.0 + run.n_iter as f64 * n))
    }
}

impl<F: Float> PartialFit<ChunkedDataset<F, f64>> for SgdRegressorParams {
    type Model = SgdRegressor;
    type Error = SgdError;

    fn partial_fit(
        &self,
        model: Option<SgdRegressor>,
        data: &ChunkedDataset<F, f64>,
    ) -> Result<SgdRegressor, SgdError> {
        let p = self.check_ref()?;
        let common = SgdCommon { tol: None, ..p.common.clone() };
        let run = regressor_run(p, data, model.as_ref(), 1, &common)?;
        let n = data.x().n_rows().unwrap_or(0) as f64;
        let mut m = regressor_from(&run, model.as_ref().map_or(1.0, |m| m.t) + n);
        m.converged = true;
        Ok(m)
    }
}

impl BlockModel for SgdRegressor {
    const APPLY_OP: &'static str = "rask.estimators.sgd_regressor.apply";
    const KIND: ModelKind = ModelKind::Regressor;
    type Label = f64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        use rask_ml::persist::{check_model_finite as finite, check_model_nonempty as nonempty};
        const M: &str = "SgdRegressor";
        nonempty(M, "the number of features (length of coef)", self.coef.len())?;
        finite(M, "coef", self.coef.iter())?;
        finite(M, "intercept", [self.intercept].iter())
    }

    fn n_features_in(&self) -> usize {
        self.coef.len()
    }

    fn supports(&self, method: Method) -> bool {
        method == Method::Predict
    }

    fn predict_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array1<f64>> {
        rask_ml::check_rows(x, false)?;
        Ok(Array1::from_iter(
            x.rows()
                .into_iter()
                .map(|r| r.iter().zip(&self.coef).map(|(a, b)| a.widen() * b).sum::<f64>() + self.intercept),
        ))
    }
}

rask_ml::estimator!(SgdClassifierParams => SgdClassifier, name = "SgdClassifier", ops = "rask.estimators.sgd_classifier", kind = Classifier, targets = labels, partial_fit = yes);
rask_ml::estimator!(SgdRegressorParams => SgdRegressor, name = "SgdRegressor", ops = "rask.estimators.sgd_regressor", kind = Regressor, targets = values, partial_fit = yes);
