//! Bring your own model: a linfa decision tree and a smartcore random forest trained in
//! memory, wrapped to predict over chunked data, ensembled one member per block, searched
//! over, fed block by block, and used for a batch prediction job that streams labels and
//! probabilities to Parquet files. The twin of `notebooks/04-bring-your-own-model.ipynb`.
//!
//! `cargo run --release --example bring_your_own_model`

use std::time::Instant;

use rask::datasets::sink::{OutputFormat, Outputs, WriteOptions};
use rask::datasets::{make_classification, ClassificationParams};
use rask::estimators::linear_model::sgd::SgdClassifierParams;
use rask::ml::adapters::linfa::LinfaDecisionTreeParams;
use rask::ml::adapters::smartcore::{SmartcoreDecisionTreeClassifierParams, SmartcoreRandomForestClassifierParams};
use rask::ml::ensemble::{BlockwiseVotingClassifier, Voting};
use rask::ml::model::ModelParams;
use rask::ml::model_selection::GridSearchCV;
use rask::ml::params::ParameterGrid;
use rask::ml::wrappers::{Incremental, ParallelPostFit};
use rask::ml::{KFold, Predict};

use rask::Scheduler;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let s = Scheduler::threaded();
    // 200,000 rows in 8 blocks; a 20,000-row sample fits in memory for the foreign models.
    let params = ClassificationParams::new().n_samples(200_000).n_features(20).seed(0).chunk_rows(25_000);
    let data = make_classification(&params)?.persist_on(&s)?;
    let sample = data.x().slice_rows(0, 20_000)?.compute_on(&s)?;
    let sample_y = data.y().expect("labels").slice_rows(0, 20_000)?.compute_on(&s)?;

    // 1. Train in memory, as linfa and smartcore do.
    let t = Instant::now();
    let tree = LinfaDecisionTreeParams { max_depth: Some(10), ..Default::default() }.fit_rows(
        sample.view(),
        Some(sample_y.view()),
        None,
    )?;
    let forest = SmartcoreRandomForestClassifierParams { n_trees: 20, max_depth: Some(10), ..Default::default() }
        .fit_rows(sample.view(), Some(sample_y.view()), None)?;
    println!("trained a linfa tree and a smartcore forest on 20,000 rows in {:.2} s", t.elapsed().as_secs_f64());

    // 2. Wrap them: predictions over every block, lazily, the model stored once in the graph.
    for (name, acc) in [
        ("linfa DecisionTree", ParallelPostFit::new(tree.clone())?.score(&data)?),
        ("smartcore RandomForest", ParallelPostFit::new(forest.clone())?.score(&data)?),
    ] {
        println!("{name:<24} accuracy on all 200,000 rows: {acc:.4}");
        assert!(acc > 0.8, "{name}: {acc}");
    }
    // The wrapped model predicts exactly what it predicts in memory.
    let head = data.x().slice_rows(0, 1_000)?.compute_on(&s)?;
    assert_eq!(
        ParallelPostFit::new(forest.clone())?.predict(&data.x().slice_rows(0, 1_000)?)?.compute_on(&s)?,
        forest.predict(&head)?
    );

    // 3. Ensemble: one smartcore tree per block, fitted in parallel, soft voting.
    let t = Instant::now();
    let ensemble = BlockwiseVotingClassifier::new(SmartcoreDecisionTreeClassifierParams {
        max_depth: Some(8),
        ..Default::default()
    })
    .voting(Voting::Soft)
    .fit_on(&data, &s)?;
    println!(
        "BlockwiseVotingClassifier: {} smartcore trees in {:.2} s, accuracy {:.4}",
        ensemble.estimators.len(),
        t.elapsed().as_secs_f64(),
        ensemble.score(&data)?
    );
    let dir = tempfile::tempdir()?;
    rask::ml::save(&ensemble, dir.path().join("ensemble.model"))?;
    let loaded: rask::ml::ensemble::VotingClassifier<rask::ml::adapters::smartcore::SmartcoreDecisionTreeClassifier> =
        rask::ml::load(dir.path().join("ensemble.model"))?;
    assert_eq!(loaded.predict_array(head.view())?, ensemble.predict_array(head.view())?);
    println!("saved the ensemble to one file ({} bytes)", std::fs::metadata(dir.path().join("ensemble.model"))?.len());

    // 4. Search over a foreign model like over Rask's own.
    let grid = ParameterGrid::new().add("max_depth", [4_i64, 8, 12]).add("split_quality", ["gini", "entropy"]);
    let small = data.x().slice_rows(0, 50_000)?;
    let small_y = data.y().expect("labels").slice_rows(0, 50_000)?;
    let small = rask::ml::ChunkedDataset::new(small, small_y)?;
    let search = GridSearchCV::new(LinfaDecisionTreeParams::default(), grid)
        .cv(KFold { n_splits: 3, shuffle_within_blocks: None })
        .fit(&small)?;
    println!("grid search over the linfa tree: best {:?}, score {:.4}", search.best_params, search.best_score);

    // 5. Incremental: Rask's SGD fed block by block, three shuffled epochs.
    let sgd = SgdClassifierParams::new().classes(vec![0, 1]).seed(0);
    let (model, history) = Incremental::new(sgd).epochs(3).seed(1).fit_with_history(&data, &s)?;
    let pred = model.predict(&data.x().compute_on(&s)?)?;
    let y = data.y().expect("labels").compute_on(&s)?;
    let acc = pred.iter().zip(&y).filter(|(a, b)| a == b).count() as f64 / y.len() as f64;
    println!(
        "Incremental SGD: {} partial_fit calls, orders {:?}…, accuracy {acc:.4}",
        history.calls, history.orders[0]
    );

    // 6. A batch prediction job: the ensemble's labels and probabilities, to one Parquet file
    // per block.
    let labels = ensemble.predict(data.x())?;
    let proba = ensemble.predict_proba(data.x())?;
    let summary = Outputs::new().labels("label", &labels).matrix("proba", &proba).write(
        dir.path().join("predictions"),
        &WriteOptions::new(OutputFormat::Parquet),
        &s,
    )?;
    assert_eq!((summary.rows, summary.files.len()), (200_000, 8));
    println!(
        "wrote {} rows to {} Parquet files in {:.2} s ({:.2e} rows/s): {:?}",
        summary.rows,
        summary.files.len(),
        summary.seconds,
        summary.rows_per_second(),
        summary.files.iter().take(2).map(|p| p.file_name().unwrap_or_default()).collect::<Vec<_>>()
    );
    Ok(())
}
