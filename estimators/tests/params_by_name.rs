//! Hyperparameters by name: every estimator's `SetParams`, pipelines of estimators, and the
//! search ops and codecs that let searches fit them inside tasks on every scheduler.

mod common;

use std::fmt::Debug;

use ndarray::{Array1, Array2};
use rask_core::{Scheduler, Value};
use rask_estimators::cluster::{
    KMeansInit, KMeansParams, MiniBatchInit, MiniBatchKMeansParams, SpectralClusteringParams,
};
use rask_estimators::decomposition::{
    IncrementalPcaParams, NComponents, PcaParams, PcaSolver, SvdSolver, TruncatedSvdParams,
};
use rask_estimators::linear_model::sgd::{
    LearningRate, SgdClassifierLoss, SgdClassifierParams, SgdPenalty, SgdRegressorLoss, SgdRegressorParams,
};
use rask_estimators::linear_model::{
    LinearRegressionParams, LogisticRegressionParams, Penalty, PoissonRegressionParams, Solver,
};
use rask_estimators::naive_bayes::{BernoulliNBParams, GaussianNBParams, MultinomialNBParams};
use rask_estimators::preprocessing::{
    ImputeStrategy, MinMaxScalerParams, OneHotDrop, OneHotEncoderParams, OneHotUnknown, OrdinalEncoderParams,
    OrdinalUnknown, OutputDistribution, PolynomialFeaturesParams, QuantileTransformerParams, RobustScalerParams,
    SimpleImputerParams, StandardScalerParams,
};
use rask_ml::model_selection::{cross_validate, Estimator, GridSearchCV, RowsRef, SearchNode, TaskData};
use rask_ml::{
    BlockModel, ChunkedDataset, Element, Fit, KFold, ParamValue, ParameterGrid, Pipeline, Predict, PredictProba,
    SetParams, StratifiedKFold, Transform,
};

fn names<P: SetParams>(p: &P) -> Vec<String> {
    p.get_params().into_iter().map(|(n, _)| n).collect()
}

fn set<P: SetParams>(mut p: P, name: &str, value: impl Into<ParamValue>) -> P {
    p.set_param(name, &value.into()).unwrap_or_else(|e| panic!("{name}: {e}"));
    p
}

fn iris() -> rask_datasets::RealDataset<i64> {
    rask_datasets::load_iris(64).unwrap()
}

// --- Names ---------------------------------------------------------------------------------------

#[test]
fn get_params_lists_scikit_learn_names() {
    assert_eq!(
        names(&LogisticRegressionParams::new()),
        ["c", "penalty", "l1_ratio", "solver", "max_iter", "tol", "fit_intercept", "rho"]
    );
    assert_eq!(
        names(&LinearRegressionParams::new()),
        ["alpha", "penalty", "l1_ratio", "solver", "max_iter", "tol", "fit_intercept", "rho"]
    );
    assert_eq!(
        names(&KMeansParams::default()),
        ["n_clusters", "init", "oversampling_factor", "n_rounds", "n_init", "max_iter", "tol", "seed", "split_every"]
    );
    assert_eq!(
        names(&PcaParams::new(2)),
        ["n_components", "svd_solver", "n_oversamples", "iterated_power", "whiten", "seed"]
    );
    assert_eq!(names(&TruncatedSvdParams::new(2)), ["n_components", "algorithm", "n_oversamples", "n_iter", "seed"]);
    assert_eq!(names(&StandardScalerParams::new()), ["with_mean", "with_std", "split_every"]);
    assert_eq!(names(&GaussianNBParams::new()), ["var_smoothing", "split_every"]);
    assert_eq!(
        names(&SimpleImputerParams::new()),
        ["strategy", "fill_value", "keep_empty_features", "sketch_capacity", "split_every"]
    );
    assert_eq!(names(&SgdRegressorParams::new())[..2], ["loss", "epsilon"]);

    let p = LogisticRegressionParams::new().get_params();
    assert_eq!(p[0], ("c".to_string(), ParamValue::Float(1.0)));
    assert_eq!(p[1], ("penalty".to_string(), ParamValue::from("l2")));
    assert_eq!(p[3], ("solver".to_string(), ParamValue::from("lbfgs")));
    assert_eq!(p[4], ("max_iter".to_string(), ParamValue::Int(100)));
    let p = KMeansParams::default().get_params();
    assert_eq!(p[1], ("init".to_string(), ParamValue::from("k-means||")));
    let p = PcaParams::new(2).get_params();
    assert_eq!(p[0].1, ParamValue::Int(2));
    assert_eq!(p[3].1, ParamValue::from("auto"));
}

// --- Setting by name is setting with the builder ---------------------------------------------------

#[test]
fn set_by_name_fits_like_the_builder() {
    let iris = iris();
    let by_name = set(LogisticRegressionParams::new(), "c", 0.1);
    let built = LogisticRegressionParams::new().c(0.1);
    assert_eq!(by_name, built);
    assert_eq!(by_name.fit(&iris.data).unwrap(), built.fit(&iris.data).unwrap());

    let by_name = set(set(LogisticRegressionParams::new(), "solver", "newton-cholesky"), "max_iter", 30);
    let built = LogisticRegressionParams::new().solver(Solver::Newton).max_iter(30);
    assert_eq!(by_name, built);
    assert_eq!(by_name.fit(&iris.data).unwrap(), built.fit(&iris.data).unwrap());

    let by_name = set(set(KMeansParams::new(3), "init", "k-means++"), "seed", 5);
    let built = KMeansParams::new(3).init(KMeansInit::KMeansPlusPlus).seed(5);
    assert_eq!(by_name, built);
    assert_eq!(by_name.fit(&iris.data).unwrap(), built.fit(&iris.data).unwrap());

    let by_name = set(set(StandardScalerParams::new(), "with_mean", false), "with_std", true);
    let built = StandardScalerParams::new().with_mean(false);
    assert_eq!(by_name, built);
    assert_eq!(by_name.fit(&iris.data).unwrap(), built.fit(&iris.data).unwrap());

    let by_name = set(set(PcaParams::new(2), "n_components", 0.95), "whiten", true);
    let built = PcaParams::new(2).n_components(NComponents::VarianceFraction(0.95)).whiten(true);
    assert_eq!(by_name, built);
    assert_eq!(by_name.fit(&iris.data).unwrap(), built.fit(&iris.data).unwrap());

    let by_name = set(set(BernoulliNBParams::new(), "binarize", ParamValue::Float(3.0)), "alpha", 0.5);
    let built = BernoulliNBParams::new().binarize(Some(3.0)).alpha(0.5);
    assert_eq!(by_name, built);
    assert_eq!(by_name.fit(&iris.data).unwrap(), built.fit(&iris.data).unwrap());
}

/// A choice and the value it carries (scikit-learn's separate parameters) can be set in either
/// order, and equal the builder's enum.
#[test]
fn a_choice_and_its_value_set_in_either_order() {
    fn both<P: SetParams + Clone + PartialEq + Debug>(base: P, a: (&str, ParamValue), b: (&str, ParamValue), built: P) {
        let ab = set(set(base.clone(), a.0, a.1.clone()), b.0, b.1.clone());
        let ba = set(set(base, b.0, b.1), a.0, a.1);
        assert_eq!(ab, built);
        assert_eq!(ba, built);
    }
    both(
        SimpleImputerParams::new(),
        ("strategy", "constant".into()),
        ("fill_value", (-1.0).into()),
        SimpleImputerParams::new().strategy(ImputeStrategy::Constant(-1.0)),
    );
    both(
        OrdinalEncoderParams::new(),
        ("handle_unknown", "use_encoded_value".into()),
        ("unknown_value", (-1).into()),
        OrdinalEncoderParams::new().handle_unknown(OrdinalUnknown::UseEncodedValue(-1.0)),
    );
    both(
        PcaParams::new(2),
        ("svd_solver", "randomized".into()),
        ("n_oversamples", 4.into()),
        PcaParams::new(2).solver(PcaSolver::Randomized { n_oversamples: 4, n_power_iter: None }),
    );
    both(
        PcaParams::new(2),
        ("svd_solver", "randomized".into()),
        ("iterated_power", 2.into()),
        PcaParams::new(2).solver(PcaSolver::Randomized { n_oversamples: 10, n_power_iter: Some(2) }),
    );
    both(
        TruncatedSvdParams::new(2),
        ("algorithm", "randomized".into()),
        ("n_iter", 3.into()),
        TruncatedSvdParams::new(2).solver(SvdSolver::Randomized { n_oversamples: 10, n_power_iter: 3 }),
    );
    both(
        KMeansParams::new(3).init(KMeansInit::Random),
        ("init", "k-means||".into()),
        ("oversampling_factor", 3.0.into()),
        KMeansParams::new(3).init(KMeansInit::KMeansParallel { oversampling_factor: 3.0, n_rounds: 5 }),
    );
    both(
        SgdRegressorParams::new(),
        ("loss", "huber".into()),
        ("epsilon", 0.5.into()),
        SgdRegressorParams::new().loss(SgdRegressorLoss::Huber { epsilon: 0.5 }),
    );
    // The value is kept while another choice is made, and comes back with its choice.
    let p = set(set(SimpleImputerParams::new(), "fill_value", 7.0), "strategy", "median");
    assert_eq!(p.get_params()[1].1, ParamValue::Float(7.0));
    assert_eq!(set(p, "strategy", "constant"), SimpleImputerParams::new().strategy(ImputeStrategy::Constant(7.0)));
    // Given centres read as "given".
    let given = KMeansParams::new(1).init(KMeansInit::Given(Array2::zeros((1, 4))));
    assert_eq!(given.get_params()[1].1, ParamValue::from("given"));
}

// --- Errors ------------------------------------------------------------------------------------------

#[test]
fn an_unknown_name_lists_the_valid_ones() {
    let e = LogisticRegressionParams::new().set_param("C", &ParamValue::Float(0.1)).unwrap_err().to_string();
    assert_eq!(
        e,
        "unknown parameter `C`; valid parameters: c, penalty, l1_ratio, solver, max_iter, tol, fit_intercept, rho"
    );
    let e = KMeansParams::default().set_param("random_state", &ParamValue::Int(0)).unwrap_err().to_string();
    assert!(e.contains("unknown parameter `random_state`"), "{e}");
    assert!(e.contains("seed"), "{e}");
    // scikit-learn's names: `full` is an exact SVD (TSQR here), `covariance_eigh` the covariance solver.
    let mut p = PcaParams::new(2);
    p.set_param("svd_solver", &"full".into()).unwrap();
    assert_eq!(p.get_param("svd_solver").unwrap(), ParamValue::from("full"));
    assert_eq!(p, PcaParams::new(2).solver(PcaSolver::Tsqr));
    p.set_param("svd_solver", &"covariance_eigh".into()).unwrap();
    assert_eq!(p, PcaParams::new(2).solver(PcaSolver::CovarianceEigh));
    #[allow(deprecated)]
    let old = PcaParams::new(2).solver(PcaSolver::Full);
    assert_eq!(old.get_param("svd_solver").unwrap(), ParamValue::from("covariance_eigh"));
    let e = PcaParams::new(2).set_param("solver", &"full".into()).unwrap_err().to_string();
    assert!(e.contains("valid parameters: n_components, svd_solver,"), "{e}");
}

#[test]
fn a_wrong_value_names_the_parameter_and_what_it_expects() {
    let mut p = LogisticRegressionParams::new();
    let e = p.set_param("max_iter", &ParamValue::Float(2.5)).unwrap_err().to_string();
    assert_eq!(e, "parameter `max_iter` expects an integer (usize), got a float (2.5)");
    let e = p.set_param("solver", &"newton".into()).unwrap_err().to_string();
    assert_eq!(
        e,
        "parameter `solver` expects one of \"lbfgs\" \"newton-cholesky\" \"gradient_descent\" \"proximal_grad\" \
         \"admm\" \"cholesky\", got the string \"newton\""
    );
    let e = p.set_param("fit_intercept", &"yes".into()).unwrap_err().to_string();
    assert_eq!(e, "parameter `fit_intercept` expects a boolean, got the string \"yes\"");
    let e = p.set_param("penalty", &ParamValue::None).unwrap_err().to_string();
    assert!(e.contains("\"none\""), "{e}");
    assert_eq!(p, LogisticRegressionParams::new(), "a failed set changes nothing");

    let e = KMeansParams::default().set_param("init", &"given".into()).unwrap_err().to_string();
    assert!(e.contains("KMeansInit::Given"), "{e}");
    let e = MiniBatchKMeansParams::default().set_param("init", &"given".into()).unwrap_err().to_string();
    assert!(e.contains("MiniBatchInit::Given"), "{e}");
    let e = PcaParams::new(2).set_param("iterated_power", &"often".into()).unwrap_err().to_string();
    assert!(e.contains("an integer or \"auto\""), "{e}");
    let e = PcaParams::new(2).set_param("n_components", &"mle".into()).unwrap_err().to_string();
    assert!(e.contains("an integer (a count) or a float (a variance fraction)"), "{e}");
    let e = KMeansParams::default().set_param("n_clusters", &ParamValue::Int(-2)).unwrap_err().to_string();
    assert!(e.contains("range of usize"), "{e}");
}

// --- Round trips -------------------------------------------------------------------------------------

/// Every `(name, value)` of `modified` set on `default` gives `modified` back, and the other way.
fn round_trip<P: SetParams + Clone + PartialEq + Debug>(what: &str, default: P, modified: P) {
    let params = modified.get_params();
    let mut seen = names(&modified);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), params.len(), "{what}: a name is listed twice");
    assert_ne!(default.get_params(), params, "{what}: pick a modified value for the test");
    let copy = default.with_params(&params).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(copy.get_params(), params, "{what}");
    assert_eq!(copy, modified, "{what}");
    let back = modified.with_params(&default.get_params()).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(back, default, "{what}");
}

#[test]
fn every_params_type_round_trips() {
    round_trip(
        "KMeans",
        KMeansParams::default(),
        KMeansParams::new(3)
            .init(KMeansInit::KMeansParallel { oversampling_factor: 3.0, n_rounds: 2 })
            .n_init(2)
            .max_iter(50)
            .tol(1e-3)
            .seed(7)
            .split_every(4),
    );
    round_trip("KMeans random", KMeansParams::default(), KMeansParams::default().init(KMeansInit::Random));
    round_trip(
        "MiniBatchKMeans",
        MiniBatchKMeansParams::default(),
        MiniBatchKMeansParams::new(3).init(MiniBatchInit::Random).batch_size(64).max_iter(10).tol(0.1).seed(3),
    );
    round_trip(
        "SpectralClustering",
        SpectralClusteringParams::default(),
        SpectralClusteringParams::new(3).n_components(20).gamma(0.5).n_init(2).seed(1),
    );
    round_trip(
        "Pca",
        PcaParams::new(1),
        PcaParams::new(3)
            .solver(PcaSolver::Randomized { n_oversamples: 5, n_power_iter: Some(3) })
            .whiten(true)
            .seed(4),
    );
    round_trip("Pca fraction", PcaParams::new(1), PcaParams::new(1).n_components(NComponents::VarianceFraction(0.9)));
    round_trip("Pca covariance_eigh", PcaParams::new(1), PcaParams::new(1).solver(PcaSolver::CovarianceEigh));
    round_trip("Pca full", PcaParams::new(1), PcaParams::new(1).solver(PcaSolver::Tsqr));
    round_trip(
        "TruncatedSvd tsqr",
        TruncatedSvdParams::new(1),
        TruncatedSvdParams::new(2).solver(SvdSolver::Tsqr).seed(5),
    );
    round_trip(
        "TruncatedSvd",
        TruncatedSvdParams::new(1),
        TruncatedSvdParams::new(1).solver(SvdSolver::Randomized { n_oversamples: 7, n_power_iter: 2 }),
    );
    round_trip(
        "IncrementalPca",
        IncrementalPcaParams::new(1),
        IncrementalPcaParams::new(2).whiten(true).batch_size(Some(30)),
    );
    round_trip(
        "LogisticRegression",
        LogisticRegressionParams::new(),
        LogisticRegressionParams::new()
            .c(0.5)
            .penalty(Penalty::ElasticNet)
            .l1_ratio(0.3)
            .solver(Solver::Admm)
            .max_iter(20)
            .tol(1e-6)
            .fit_intercept(false)
            .rho(2.0),
    );
    round_trip(
        "LinearRegression",
        LinearRegressionParams::new(),
        LinearRegressionParams::new().alpha(0.1).penalty(Penalty::L1).solver(Solver::ProximalGrad),
    );
    round_trip(
        "PoissonRegression",
        PoissonRegressionParams::new(),
        PoissonRegressionParams::new().alpha(0.1).penalty(Penalty::None).solver(Solver::GradientDescent),
    );
    round_trip(
        "SgdClassifier",
        SgdClassifierParams::new(),
        SgdClassifierParams::new()
            .loss(SgdClassifierLoss::LogLoss)
            .penalty(SgdPenalty::ElasticNet)
            .alpha(1e-3)
            .l1_ratio(0.5)
            .fit_intercept(false)
            .max_iter(5)
            .tol(None)
            .shuffle(false)
            .seed(9)
            .learning_rate(LearningRate::Constant)
            .eta0(0.1)
            .power_t(0.3)
            .n_iter_no_change(3),
    );
    round_trip(
        "SgdRegressor",
        SgdRegressorParams::new(),
        SgdRegressorParams::new()
            .loss(SgdRegressorLoss::SquaredEpsilonInsensitive { epsilon: 0.3 })
            .penalty(SgdPenalty::L1)
            .learning_rate(LearningRate::Adaptive)
            .tol(Some(1e-2)),
    );
    round_trip("GaussianNB", GaussianNBParams::new(), GaussianNBParams::new().var_smoothing(1e-6).split_every(3));
    round_trip(
        "MultinomialNB",
        MultinomialNBParams::new(),
        MultinomialNBParams::new().alpha(0.5).fit_prior(false).split_every(3),
    );
    round_trip(
        "BernoulliNB",
        BernoulliNBParams::new(),
        BernoulliNBParams::new().alpha(0.5).fit_prior(false).binarize(None).split_every(3),
    );
    round_trip(
        "StandardScaler",
        StandardScalerParams::new(),
        StandardScalerParams::new().with_mean(false).with_std(false).split_every(3),
    );
    round_trip("MinMaxScaler", MinMaxScalerParams::new(), MinMaxScalerParams::new().clip(true).split_every(3));
    round_trip(
        "RobustScaler",
        RobustScalerParams::new(),
        RobustScalerParams::new().with_centering(false).with_scaling(false).sketch_capacity(Some(100)).split_every(3),
    );
    round_trip(
        "QuantileTransformer",
        QuantileTransformerParams::new(),
        QuantileTransformerParams::new()
            .n_quantiles(10)
            .output_distribution(OutputDistribution::Normal)
            .sketch_capacity(Some(64))
            .split_every(3),
    );
    round_trip(
        "SimpleImputer",
        SimpleImputerParams::new(),
        SimpleImputerParams::new()
            .strategy(ImputeStrategy::Constant(-1.0))
            .keep_empty_features(true)
            .sketch_capacity(Some(64))
            .split_every(3),
    );
    round_trip(
        "SimpleImputer most frequent",
        SimpleImputerParams::new(),
        SimpleImputerParams::new().strategy(ImputeStrategy::MostFrequent),
    );
    round_trip(
        "OneHotEncoder",
        OneHotEncoderParams::new(),
        OneHotEncoderParams::new().handle_unknown(OneHotUnknown::Ignore).drop(OneHotDrop::IfBinary).split_every(3),
    );
    round_trip(
        "OrdinalEncoder",
        OrdinalEncoderParams::new(),
        OrdinalEncoderParams::new().handle_unknown(OrdinalUnknown::UseEncodedValue(-1.0)).split_every(3),
    );
    round_trip(
        "PolynomialFeatures",
        PolynomialFeaturesParams::new(),
        PolynomialFeaturesParams::new().degree(3).interaction_only(true).include_bias(false),
    );
}

// --- Pipelines -----------------------------------------------------------------------------------------

type ScaledLogistic = Pipeline<Pipeline<(), StandardScalerParams>, LogisticRegressionParams>;

fn scaled_logistic() -> ScaledLogistic {
    Pipeline::new("scaler", StandardScalerParams::new()).then("logistic", LogisticRegressionParams::new())
}

#[test]
fn a_pipeline_fits_and_predicts_as_its_steps_by_hand() {
    let iris = iris();
    let model = scaled_logistic().fit(&iris.data).unwrap();

    let scaler = StandardScalerParams::new().fit(&iris.data).unwrap();
    let scaled = iris.data.with_x(scaler.transform(iris.data.x()).unwrap()).unwrap();
    let logistic = LogisticRegressionParams::new().fit(&scaled).unwrap();
    assert_eq!(model.head().last(), &scaler);
    assert_eq!(model.last(), &logistic);

    let by_hand = logistic.predict(&scaler.transform(&iris.x).unwrap()).unwrap();
    assert_eq!(model.predict(&iris.x).unwrap(), by_hand);
    assert_eq!(
        model.predict_proba(&iris.x).unwrap(),
        logistic.predict_proba(&scaler.transform(&iris.x).unwrap()).unwrap()
    );
    let accuracy = by_hand.iter().zip(&iris.y).filter(|(a, b)| a == b).count() as f64 / 150.0;
    assert!(accuracy > 0.95, "{accuracy}");
    assert_eq!(logistic.classes(), Some(vec![0, 1, 2]));
}

#[test]
fn a_pipeline_sets_step_params_by_path() {
    let iris = iris();
    let mut pipe = scaled_logistic();
    pipe.set_param("logistic__c", &ParamValue::Float(0.1)).unwrap();
    pipe.set_param("scaler__with_mean", &ParamValue::Bool(false)).unwrap();
    let built = Pipeline::new("scaler", StandardScalerParams::new().with_mean(false))
        .then("logistic", LogisticRegressionParams::new().c(0.1));
    assert_eq!(pipe, built);
    assert_eq!(pipe.fit(&iris.data).unwrap(), built.fit(&iris.data).unwrap());
    let params = pipe.get_params();
    assert!(params.contains(&("logistic__c".to_string(), ParamValue::Float(0.1))), "{params:?}");
    assert_eq!(params[0], ("scaler__with_mean".to_string(), ParamValue::Bool(false)));

    let e = pipe.set_param("logistic__C", &ParamValue::Float(1.0)).unwrap_err().to_string();
    assert!(e.contains("unknown parameter `logistic__C`"), "{e}");
    assert!(e.contains("logistic__c"), "{e}");
    let e = pipe.set_param("logistic__max_iter", &ParamValue::Float(2.5)).unwrap_err().to_string();
    assert_eq!(e, "parameter `logistic__max_iter` expects an integer (usize), got a float (2.5)");
}

#[test]
fn a_fitted_pipeline_saves_to_and_loads_from_one_file() {
    let iris = iris();
    let model = scaled_logistic().fit(&iris.data).unwrap();
    let path = std::env::temp_dir().join(format!("rask-params-by-name-{}.rask", std::process::id()));
    rask_ml::save(&model, &path).unwrap();
    let loaded: rask_ml::FittedPipeline<
        rask_ml::FittedPipeline<(), rask_estimators::preprocessing::StandardScaler>,
        rask_estimators::linear_model::LogisticRegression,
    > = rask_ml::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(loaded, model);
    assert_eq!(loaded.step_names(), ["scaler", "logistic"]);
    assert_eq!(loaded.predict(&iris.x).unwrap(), model.predict(&iris.x).unwrap());
    assert_eq!(loaded.predict_proba(&iris.x).unwrap(), model.predict_proba(&iris.x).unwrap());
}

// --- Searches on the serialisation-checked scheduler -------------------------------------------------

fn checked<R>(f: impl FnOnce() -> R) -> R {
    rask_core::with_scheduler(&Scheduler::checked(common::registry()), f)
}

#[test]
fn a_pipeline_search_runs_on_the_checked_scheduler() {
    let iris = iris();
    let grid = ParameterGrid::new().add("logistic__c", [0.01, 1.0]).add("scaler__with_mean", [true, false]);
    let r = checked(|| {
        GridSearchCV::new(scaled_logistic(), grid)
            .cv(StratifiedKFold { n_splits: 3 })
            .scorings(&["accuracy", "neg_log_loss"])
            .refit("neg_log_loss")
            .fit(&iris.data)
            .unwrap()
    });
    assert!(r.cv_results.errors.iter().all(Option::is_none), "{:?}", r.cv_results.errors);
    assert_eq!(r.best_params[0], ("logistic__c".to_string(), ParamValue::Float(1.0)));
    assert!(r.best_score.is_finite() && r.best_score < 0.0, "{}", r.best_score);
    let best = r.best_estimator.unwrap();
    let by_hand = scaled_logistic().with_params(&r.best_params).unwrap().fit(&iris.data).unwrap();
    assert_eq!(best.predict(&iris.x).unwrap(), by_hand.predict(&iris.x).unwrap());
}

/// One cross-validation of `e` on the checked scheduler: every op registered, every value
/// encodable, every split fitted and scored.
fn cross_validates<E: SearchNode, Y: Element, S: rask_ml::model_selection::Splitter<f64, Y>>(
    what: &str,
    e: &E,
    ds: &ChunkedDataset<f64, Y>,
    cv: &S,
    scoring: &[&str],
) {
    let r = checked(|| cross_validate(e, ds, cv, scoring, false)).unwrap_or_else(|err| panic!("{what}: {err}"));
    assert!(r.errors[0].is_none(), "{what}: {:?}", r.errors[0]);
    assert!(r.test_scores[0][0].iter().all(|s| s.is_finite()), "{what}: {:?}", r.test_scores);
}

fn then_logistic<T: SearchNode>(name: &str, t: T) -> Pipeline<Pipeline<(), T>, LogisticRegressionParams> {
    Pipeline::new(name, t).then("logistic", LogisticRegressionParams::new().max_iter(500))
}

#[test]
fn every_estimator_cross_validates_on_the_checked_scheduler() {
    let iris = iris();
    let folds = StratifiedKFold { n_splits: 3 };
    let x = &iris.data;
    cross_validates("LogisticRegression", &LogisticRegressionParams::new(), x, &folds, &[]);
    cross_validates(
        "SgdClassifier",
        &SgdClassifierParams::new().loss(SgdClassifierLoss::LogLoss),
        x,
        &folds,
        &["neg_log_loss"],
    );
    cross_validates("GaussianNB", &GaussianNBParams::new(), x, &folds, &["accuracy", "neg_log_loss"]);
    cross_validates("MultinomialNB", &MultinomialNBParams::new(), x, &folds, &["neg_log_loss"]);
    cross_validates("BernoulliNB", &set(BernoulliNBParams::new(), "binarize", 3.0), x, &folds, &["neg_log_loss"]);
    cross_validates("KMeans", &KMeansParams::new(3), x, &folds, &["silhouette"]);
    cross_validates("MiniBatchKMeans", &MiniBatchKMeansParams::new(3).batch_size(32), x, &folds, &["silhouette"]);
    cross_validates(
        "SpectralClustering",
        &SpectralClusteringParams::new(3).n_components(20),
        x,
        &folds,
        &["silhouette"],
    );
    cross_validates("Pca", &then_logistic("pca", PcaParams::new(2)), x, &folds, &[]);
    cross_validates("TruncatedSvd", &then_logistic("svd", TruncatedSvdParams::new(2)), x, &folds, &[]);
    cross_validates("IncrementalPca", &then_logistic("ipca", IncrementalPcaParams::new(2)), x, &folds, &[]);
    cross_validates("StandardScaler", &then_logistic("scaler", StandardScalerParams::new()), x, &folds, &[]);
    cross_validates("MinMaxScaler", &then_logistic("scaler", MinMaxScalerParams::new()), x, &folds, &[]);
    cross_validates("RobustScaler", &then_logistic("scaler", RobustScalerParams::new()), x, &folds, &[]);
    cross_validates(
        "QuantileTransformer",
        &then_logistic("quantile", QuantileTransformerParams::new().n_quantiles(50)),
        x,
        &folds,
        &[],
    );
    cross_validates("SimpleImputer", &then_logistic("imputer", SimpleImputerParams::new()), x, &folds, &[]);
    cross_validates(
        "OneHotEncoder",
        &then_logistic("onehot", set(OneHotEncoderParams::new(), "handle_unknown", "ignore")),
        x,
        &folds,
        &[],
    );
    cross_validates(
        "OrdinalEncoder",
        &then_logistic("ordinal", OrdinalEncoderParams::new().handle_unknown(OrdinalUnknown::UseEncodedValue(-1.0))),
        x,
        &folds,
        &[],
    );
    cross_validates("PolynomialFeatures", &then_logistic("poly", PolynomialFeaturesParams::new()), x, &folds, &[]);

    let diabetes = rask_datasets::load_diabetes(100).unwrap();
    let folds = KFold { n_splits: 3, shuffle_within_blocks: None };
    let d = &diabetes.data;
    cross_validates("LinearRegression", &LinearRegressionParams::new(), d, &folds, &[]);
    cross_validates("PoissonRegression", &PoissonRegressionParams::new(), d, &folds, &["neg_mean_squared_error"]);
    cross_validates("SgdRegressor", &SgdRegressorParams::new().eta0(0.05), d, &folds, &[]);
}

/// The partial fits searches use (adaptive searches) start and continue a model as the
/// estimator's own `partial_fit` does.
#[test]
fn partial_fit_tasks_match_partial_fit() {
    fn check<E, Y>(what: &str, e: &E, x: &Array2<f64>, y: &Array1<Y>)
    where
        E: Estimator + rask_ml::PartialFit<ChunkedDataset<f64, Y>, Model = <E as Estimator>::Model>,
        <E as Estimator>::Model: PartialEq,
        Y: Element + Clone,
        Array1<Y>: Send + Sync + Debug,
    {
        assert!(E::has_partial_fit(), "{what}");
        let yv = Value::new(y.clone());
        let data = TaskData::new(RowsRef::F64(x.view()), Some(&yv), None);
        let once = e.partial_fit_task(None, &data).unwrap_or_else(|err| panic!("{what}: {err}"));
        let twice = e.partial_fit_task(Some(once.clone()), &data).unwrap_or_else(|err| panic!("{what}: {err}"));
        let ds = rask_ml::Dataset::new(x.clone(), y.clone()).with_chunk_rows(rask_ml::model_selection::TASK_CHUNK_ROWS);
        let ds = ds.to_chunked().unwrap();
        let by_hand = e.partial_fit(Some(e.partial_fit(None, &ds).unwrap()), &ds).unwrap();
        assert_eq!(twice, by_hand, "{what}");
    }
    let iris = iris();
    let classes = vec![0, 1, 2];
    check("SgdClassifier", &SgdClassifierParams::new().classes(classes.clone()), &iris.x, &iris.y);
    check("GaussianNB", &GaussianNBParams::new().classes(classes.clone()), &iris.x, &iris.y);
    check("MultinomialNB", &MultinomialNBParams::new().classes(classes.clone()), &iris.x, &iris.y);
    check("BernoulliNB", &BernoulliNBParams::new().classes(classes), &iris.x, &iris.y);
    check("StandardScaler", &StandardScalerParams::new(), &iris.x, &iris.y);
    check("MinMaxScaler", &MinMaxScalerParams::new(), &iris.x, &iris.y);
    check("MiniBatchKMeans", &MiniBatchKMeansParams::new(3), &iris.x, &iris.y);
    check("IncrementalPca", &IncrementalPcaParams::new(2), &iris.x, &iris.y);
    let diabetes = rask_datasets::load_diabetes(100).unwrap();
    check("SgdRegressor", &SgdRegressorParams::new(), &diabetes.x, &diabetes.y);
    assert!(!<LogisticRegressionParams as Estimator>::has_partial_fit());
}
