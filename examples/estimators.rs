//! Estimators end to end: fit in memory and on chunked data, predict lazily, stream with
//! `partial_fit`, score, and save and load a model. The README's "Estimators" section quotes it.
//!
//! `cargo run --release --example estimators`

use rask::datasets::{load_iris, make_blobs, make_classification, BlobsParams, ClassificationParams};
use rask::estimators::cluster::KMeansParams;
use rask::estimators::decomposition::PcaParams;
use rask::estimators::linear_model::sgd::{SgdClassifier, SgdClassifierLoss, SgdClassifierParams};
use rask::estimators::linear_model::LogisticRegressionParams;
use rask::estimators::naive_bayes::GaussianNBParams;
use rask::estimators::preprocessing::StandardScalerParams;
use rask::ml::metrics::{self, Scorer};
use rask::ml::{Dataset, Fit, PartialFit, Predict, PredictProba, Score, TestSize, Transform};

fn main() -> anyhow::Result<()> {
    // 1. In memory: a params builder fits a separate model; predictions are eager.
    let iris = load_iris(50)?;
    let nb = GaussianNBParams::new().fit(&Dataset::new(iris.x.clone(), iris.y.clone()))?;
    let pred = nb.predict(&iris.x)?;
    let acc = metrics::accuracy_score(iris.y.view(), pred.view())?;
    println!("GaussianNB on iris: training accuracy {acc:.3}");
    assert!(acc > 0.95);
    let proba = nb.predict_proba(&iris.x)?;
    assert_eq!(proba.dim(), (150, 3), "probabilities are always rows × classes");

    // 2. Chunked: 400,000 rows in blocks of 50,000; every fit is task graphs over the blocks.
    let data = make_classification(
        &ClassificationParams::new().n_samples(400_000).n_features(20).n_informative(8).n_classes(3).chunk_rows(50_000),
    )?;
    let (train, test) = rask::ml::train_test_split(&data, TestSize::Fraction(0.25), 0)?;
    let (train, test) = (train.persist()?, test.persist()?);
    let scaler = StandardScalerParams::new().fit(&train)?;
    let train = rask::ml::ChunkedDataset::new(scaler.transform(train.x())?.persist()?, train.y().unwrap().clone())?;
    let test = rask::ml::ChunkedDataset::new(scaler.transform(test.x())?, test.y().unwrap().clone())?;

    let logistic = LogisticRegressionParams::new().fit(&train)?;
    let test_acc = logistic.score(&test)?; // predictions stream block by block into counts
    println!("multinomial logistic regression: {} iterations, test accuracy {test_acc:.4}", logistic.n_iter);
    assert!(test_acc > 0.6);

    let pca = PcaParams::new(5).fit(&train)?;
    println!("PCA: 5 components explain {:.1}% of the variance", 100.0 * pca.explained_variance_ratio.sum());
    let projected = pca.transform(train.x())?; // lazy, 5 columns declared
    assert_eq!(projected.n_cols(), 5);

    // 3. Clustering well-separated blobs finds the true centres.
    let blobs = make_blobs(&BlobsParams::new().n_samples(200_000).n_features(4).centers(5).chunk_rows(25_000).seed(3))?;
    let km = KMeansParams::new(5).seed(0).fit(blobs.data.x())?;
    println!("KMeans: {} Lloyd iterations, inertia per row {:.3}", km.n_iter, km.inertia / 200_000.0);
    let labels = km.predict(blobs.data.x())?.compute()?;
    assert_eq!(labels.len(), 200_000);

    // 4. Streaming: partial_fit takes the model and returns the next one.
    let params = SgdClassifierParams::new().loss(SgdClassifierLoss::LogLoss).classes(vec![0, 1, 2]).seed(1);
    let mut model: Option<SgdClassifier> = None;
    for start in (0..300_000).step_by(100_000) {
        let batch = train.slice_rows(start, start + 100_000)?;
        model = Some(params.partial_fit(model, &batch)?);
    }
    let sgd = model.expect("three batches were fitted");
    let sgd_acc = Scorer::Accuracy.score(&sgd, &test)?;
    println!("SGD, three partial_fit batches: test accuracy {sgd_acc:.4}");
    assert!(sgd_acc > 0.55);

    // 5. Models save and load; loading checks the type.
    let path = std::env::temp_dir().join(format!("rask-logistic-{}.model", std::process::id()));
    rask::ml::save(&logistic, &path)?;
    let back: rask::estimators::linear_model::LogisticRegression = rask::ml::load(&path)?;
    assert_eq!(back, logistic);
    std::fs::remove_file(&path)?;
    println!("saved and reloaded the logistic model");
    Ok(())
}
