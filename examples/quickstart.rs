//! Quickstart: load a dataset, split it, fit a pipeline (scaler + logistic regression), score,
//! predict lazily, save and load the model, and run a small grid search: scikit-learn's
//! thirteen-line experience in about as many lines of Rust. Twin of
//! `notebooks/00-quickstart.ipynb`.
//!
//! `cargo run --release --example quickstart`

use rask::datasets::load_breast_cancer;
use rask::estimators::linear_model::LogisticRegressionParams;
use rask::estimators::preprocessing::StandardScalerParams;
use rask::ml::model_selection::GridSearchCV;
use rask::ml::params::ParameterGrid;
use rask::ml::{load, save, train_test_split, Fit, Pipeline, Predict, Score, TestSize};

fn main() -> anyhow::Result<()> {
    let data = load_breast_cancer(100)?.data; // 569 rows × 30 features, in blocks of 100
    let (train, test) = train_test_split(&data, TestSize::Fraction(0.25), 0)?;
    let pipe = Pipeline::new("scaler", StandardScalerParams::new()).then("logistic", LogisticRegressionParams::new());
    let model = pipe.fit(&train)?; // every step is a task graph over the blocks
    let accuracy = model.score(&test)?;
    let labels = model.predict(test.x())?; // lazy: nothing runs until compute()
    let labels = labels.compute()?;
    let path = std::env::temp_dir().join(format!("rask-quickstart-{}.model", std::process::id()));
    save(&model, &path)?;
    let loaded: rask::ml::FittedPipeline<_, _> = load(&path)?;
    let grid = ParameterGrid::new().add("logistic__c", [0.01, 0.1, 1.0, 10.0]);
    let search = GridSearchCV::new(pipe, grid).fit(&train)?; // 4 candidates × 5 folds, one graph

    println!("test accuracy {accuracy:.4}; predicted {} labels, first {:?}", labels.len(), &labels.to_vec()[..8]);
    println!("grid search: best {:?} with cross-validated accuracy {:.4}", search.best_params, search.best_score);
    assert!(accuracy > 0.95, "accuracy {accuracy}");
    assert_eq!(labels.len(), test.x().n_rows().unwrap_or(0));
    assert_eq!(loaded.predict(test.x())?.compute()?, labels, "the reloaded model predicts the same labels");
    assert_eq!(loaded, model);
    assert!(search.best_score > 0.95);
    std::fs::remove_file(&path)?;
    Ok(())
}
