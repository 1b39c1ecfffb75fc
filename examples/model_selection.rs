//! Model selection end to end: a pipeline, a cross-validated grid search whose shared pipeline
//! prefix is fitted once per split, and a Hyperband sweep over `partial_fit`, with its plan
//! before any fitting. The README's "Model selection" section quotes it; its twin notebook is
//! `notebooks/03-model-selection.ipynb`.
//!
//! `cargo run --release --example model_selection`

use rask::datasets::{load_iris, make_classification, ClassificationParams};
use rask::estimators::linear_model::sgd::SgdClassifierParams;
use rask::estimators::linear_model::{LogisticRegression, LogisticRegressionParams};
use rask::estimators::preprocessing::{StandardScaler, StandardScalerParams};
use rask::ml::model_selection::{GridSearchCV, HyperbandSearchCV};
use rask::ml::params::{format_candidate, Distribution, ParameterGrid, ParameterSampler};
use rask::ml::{save, FittedPipeline, Pipeline, Predict, StratifiedKFold};

fn main() -> anyhow::Result<()> {
    // 1. A grid search over a pipeline: 2 × 4 candidates × 5 stratified folds, one task graph.
    let iris = load_iris(50)?;
    let pipe = Pipeline::new("scaler", StandardScalerParams::new()).then("logistic", LogisticRegressionParams::new());
    let grid = ParameterGrid::new().add("scaler__with_mean", [true, false]).add("logistic__c", [0.01, 0.1, 1.0, 10.0]);
    let search = GridSearchCV::new(pipe, grid).cv(StratifiedKFold { n_splits: 5 }).scoring("accuracy");
    let result = search.fit(&iris.data)?;
    print!("{}", result.cv_results.table());
    println!("best: {} → {:.4}", format_candidate(&result.best_params), result.best_score);
    // The scaler has two settings: it was fitted 2 × 5 times, not 8 × 5.
    println!(
        "fit tasks: {} in the merged graph, {} without sharing",
        result.stats.fit_tasks, result.stats.step_fits_without_sharing
    );
    assert_eq!(result.stats.fit_tasks, 2 * 5 + 8 * 5);
    assert!(result.best_score > 0.9);
    let best = result.best_estimator.expect("refitted on all rows");
    let dir = tempfile_dir()?;
    save(&best, dir.join("best.rask"))?; // one file for the whole fitted pipeline
                                         // The fitted pipeline's type names every step's model.
    type Model = FittedPipeline<FittedPipeline<(), StandardScaler>, LogisticRegression>;
    let loaded: Model = rask::ml::load(dir.join("best.rask"))?;
    assert_eq!(loaded.predict(&iris.x)?, best.predict(&iris.x)?);

    // 2. Hyperband over SGD: 200,000 rows in 10,000-row blocks; one partial_fit call = one block.
    let data =
        make_classification(&ClassificationParams::new().n_samples(200_000).n_features(20).chunk_rows(10_000).seed(0))?;
    let space = ParameterSampler::new(1, 0)
        .add("alpha", Distribution::log_uniform(1e-6, 1e-1))
        .add("loss", Distribution::choice(["hinge", "log_loss"]))
        .add("penalty", Distribution::choice(["l2", "l1"]));
    let hyperband = HyperbandSearchCV::new(SgdClassifierParams::new().classes(vec![0, 1]), space, 27);
    for b in hyperband.plan()? {
        println!(
            "bracket {}: {} models from {} calls, {} calls in all",
            b.bracket, b.n_models, b.r, b.partial_fit_calls
        );
    }
    let sweep = hyperband.search()?.seed(0).fit(&data.persist()?)?;
    println!(
        "Hyperband: best {:.4} with {:?} after {} partial_fit calls",
        sweep.best_score, sweep.best_params, sweep.partial_fit_calls
    );
    assert_eq!(sweep.partial_fit_calls, 357);
    assert!(sweep.best_score > 0.75);
    Ok(())
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("rask-model-selection-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
