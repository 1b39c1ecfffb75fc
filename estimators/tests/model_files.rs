//! Model files and predictions on bad rows (issue #13, section 5): checksums, stable tags,
//! format-1 compatibility, consistency checks on load, NaN and infinite values refused at
//! predict time naming block, row and column, and values too large refused at fit.

use std::path::PathBuf;

use ndarray::{Array1, Array2};
use rask_estimators::cluster::{KMeansParams, MiniBatchKMeansParams, SpectralClusteringParams};
use rask_estimators::decomposition::{IncrementalPcaParams, PcaParams, TruncatedSvdParams};
use rask_estimators::linear_model::sgd::{SgdClassifierParams, SgdRegressorParams};
use rask_estimators::linear_model::{
    LinearRegressionParams, LogisticRegression, LogisticRegressionParams, PoissonRegressionParams,
};
use rask_estimators::naive_bayes::{BernoulliNBParams, GaussianNBParams, MultinomialNBParams};
use rask_estimators::preprocessing::{
    MinMaxScalerParams, OneHotEncoderParams, OrdinalEncoderParams, PolynomialFeaturesParams, QuantileTransformerParams,
    RobustScaler, RobustScalerParams, SimpleImputerParams, StandardScaler, StandardScalerParams,
};
use rask_ml::persist::Persist;
use rask_ml::{
    BlockModel, ChunkedArray, Dataset, Fit, FittedPipeline, Method, Pipeline, Predict, PredictProba, Transform,
    MAX_ABS_VALUE,
};
use serde_json::Value as Json;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The data the format-1 fixtures were fitted on (`tests/data/*.format1.*`).
fn small() -> (Array2<f64>, Array1<i64>) {
    let x = Array2::from_shape_fn((12, 2), |(i, j)| ((i * 3 + j * 5) % 7) as f64 + if i >= 6 { 4.0 } else { 0.0 });
    let y = Array1::from_iter((0..12).map(|i| i64::from(i >= 6)));
    (x, y)
}

/// Whether `value` is the model saved beside the fixture as JSON (compared as text: the JSON
/// writer prints the shortest exact form of every float, while parsing it may be off by one
/// unit in the last place).
fn same_as_json<T: serde::Serialize>(value: &T, name: &str) -> bool {
    serde_json::to_string_pretty(value).unwrap() == std::fs::read_to_string(data_dir().join(name)).unwrap()
}

type ScaledLogistic = FittedPipeline<FittedPipeline<(), StandardScaler>, LogisticRegression>;

/// Files written by Rask before format 2 (committed fixtures, written by the code of
/// `f6e3e16`) still load, as the same models.
#[test]
fn format1_files_written_before_the_checksum_still_load() {
    let m: LogisticRegression = rask_ml::load(data_dir().join("logistic_regression.format1.rask")).unwrap();
    assert!(same_as_json(&m, "logistic_regression.format1.json"));
    let s: StandardScaler = rask_ml::load(data_dir().join("standard_scaler.format1.rask")).unwrap();
    assert!(same_as_json(&s, "standard_scaler.format1.json"));
    let p: ScaledLogistic = rask_ml::load(data_dir().join("pipeline.format1.rask")).unwrap();
    assert!(same_as_json(&p, "pipeline.format1.json"));
    let (x, _) = small();
    assert_eq!(p.predict(&x).unwrap().len(), 12);
    // The type is still checked on the compatibility path.
    let e = rask_ml::load::<StandardScaler>(data_dir().join("logistic_regression.format1.rask")).unwrap_err();
    assert!(e.to_string().contains("holds a"), "{e}");
    // And files written now are format 2, and load.
    let bytes = rask_ml::to_bytes(&m).unwrap();
    assert_eq!(rask_ml::from_bytes::<LogisticRegression>(&bytes).unwrap(), m);
    assert_ne!(bytes, std::fs::read(data_dir().join("logistic_regression.format1.rask")).unwrap());
}

/// Tags are stable names, not Rust type paths; generic types compose their parameters' tags.
#[test]
fn tags_are_stable_names() {
    assert_eq!(LogisticRegression::tag(), "rask.estimators.logistic_regression/1");
    assert_eq!(StandardScaler::tag(), "rask.estimators.standard_scaler/1");
    assert_eq!(LogisticRegressionParams::tag(), "rask.estimators.logistic_regression.params/1");
    assert_eq!(
        ScaledLogistic::tag(),
        "rask.ml.FittedPipeline/1<rask.ml.FittedPipeline/1<(),rask.estimators.standard_scaler/1>,rask.estimators.logistic_regression/1>"
    );
}

/// Flips every bit pattern of every byte of a saved model: no flip loads as a different model
/// (before the checksum, 100 of 400 flips did).
#[test]
fn every_flipped_byte_is_refused() {
    let (x, y) = small();
    let logistic = LogisticRegressionParams::new().fit(&Dataset::new(x.clone(), y.clone())).unwrap();
    let scaler = StandardScalerParams::new().fit(&x).unwrap();
    fn check<T: Persist + PartialEq + std::fmt::Debug>(model: &T) {
        let bytes = rask_ml::to_bytes(model).unwrap();
        let mut refused = 0;
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                match rask_ml::from_bytes::<T>(&b) {
                    Err(_) => refused += 1,
                    Ok(back) => assert_eq!(&back, model, "byte {i} ^ {flip:#04x} loaded as a different model"),
                }
            }
        }
        assert!(refused >= bytes.len() * 3 - 3, "{refused} of {} flips refused", bytes.len() * 3);
    }
    check(&logistic);
    check(&scaler);
    // A flipped byte of the body is named as corruption.
    let mut b = rask_ml::to_bytes(&scaler).unwrap();
    let n = b.len();
    b[n - 3] ^= 0x01;
    let e = rask_ml::from_bytes::<StandardScaler>(&b).unwrap_err().to_string();
    assert!(e.contains("the model file is corrupt: checksum"), "{e}");
}

/// Re-encodes `model` after `edit` on its JSON form, with a valid checksum.
fn edited<T: Persist>(model: &T, edit: impl FnOnce(&mut Json)) -> Vec<u8> {
    let mut j = serde_json::to_value(model).unwrap();
    edit(&mut j);
    let m: T = serde_json::from_value(j).unwrap();
    rask_ml::to_bytes(&m).unwrap()
}

/// Drops the last element of a 1-D ndarray in its serde form (`{"v":1,"dim":[n],"data":[…]}`).
fn shorten(a: &mut Json) {
    let n = a["dim"][0].as_u64().unwrap();
    a["dim"][0] = Json::from(n - 1);
    a["data"].as_array_mut().unwrap().pop();
}

/// Models whose internal shapes disagree (but decode as their type) are refused on load with
/// a clear error; before, the logistic model panicked at predict (`index out of bounds`) and the
/// scaler too (`part.equal_dim(dimension)`).
#[test]
fn inconsistent_models_are_refused_on_load() {
    let (x, y) = small();
    let logistic = LogisticRegressionParams::new().fit(&Dataset::new(x.clone(), y)).unwrap();
    for (what, bytes) in [
        ("intercept", edited(&logistic, |j| shorten(&mut j["intercept"]))),
        ("classes", edited(&logistic, |j| shorten(&mut j["classes"]))),
        (
            "coef",
            edited(&logistic, |j| {
                // Two rows of coefficients for a binary problem (which has one).
                j["coef"]["dim"][0] = Json::from(2);
                let data = j["coef"]["data"].as_array_mut().unwrap();
                data.extend(data.clone());
            }),
        ),
    ] {
        let e = rask_ml::from_bytes::<LogisticRegression>(&bytes).unwrap_err().to_string();
        assert!(e.contains("inconsistent") && e.contains(what), "{what}: {e}");
    }
    let scaler = StandardScalerParams::new().fit(&x).unwrap();
    let bytes = edited(&scaler, |j| shorten(&mut j["mean"]));
    let e = rask_ml::from_bytes::<StandardScaler>(&bytes).unwrap_err().to_string();
    assert!(e.contains("inconsistent") && e.contains("mean"), "{e}");
    let bytes = edited(&scaler, |j| shorten(&mut j["scale"]));
    let e = rask_ml::from_bytes::<StandardScaler>(&bytes).unwrap_err().to_string();
    assert!(e.contains("inconsistent") && e.contains("scale"), "{e}");
    // A zero scale would divide by zero.
    let bytes = edited(&scaler, |j| j["scale"]["data"][0] = Json::from(0.0));
    assert!(rask_ml::from_bytes::<StandardScaler>(&bytes).is_err());
    // Through a pipeline too.
    let pipe = Pipeline::new("scaler", StandardScalerParams::new())
        .then("logistic", LogisticRegressionParams::new())
        .fit(&Dataset::new(x, small().1))
        .unwrap();
    let bytes = edited(&pipe, |j| shorten(&mut j["last"]["intercept"]));
    assert!(rask_ml::from_bytes::<ScaledLogistic>(&bytes).unwrap_err().to_string().contains("inconsistent"));
}

/// Every estimator's model refuses a shortened parameter array on load.
#[test]
fn every_model_checks_its_shapes_on_load() {
    let x = features();
    let y = labels();
    let reg = Array1::from_iter((0..x.nrows()).map(|i| 1.0 + (i % 5) as f64));
    fn refuses<T: Persist>(name: &str, m: &T, field: &str) {
        // A shortened array, or an emptied one where nothing else has its length.
        let empty = matches!(name, "LinearRegression" | "PoissonRegression" | "SgdRegressor");
        let bytes = edited(m, |j| {
            if empty {
                j[field]["dim"][0] = Json::from(0);
                j[field]["data"] = Json::Array(Vec::new());
            } else {
                shorten(&mut j[field])
            }
        });
        match rask_ml::from_bytes::<T>(&bytes) {
            Ok(_) => panic!("{name}: a shortened `{field}` loaded"),
            Err(e) => assert!(e.to_string().contains("inconsistent"), "{name}: {e}"),
        }
    }
    let lab = Dataset::new(x.clone(), y.clone());
    let val = Dataset::new(x.clone(), reg);
    refuses("LogisticRegression", &LogisticRegressionParams::new().fit(&lab).unwrap(), "intercept");
    refuses("SgdClassifier", &SgdClassifierParams::new().fit(&lab).unwrap(), "intercept");
    refuses("GaussianNB", &GaussianNBParams::new().fit(&lab).unwrap(), "class_count");
    refuses("MultinomialNB", &MultinomialNBParams::new().fit(&lab).unwrap(), "class_log_prior");
    refuses("BernoulliNB", &BernoulliNBParams::new().fit(&lab).unwrap(), "class_log_prior");
    refuses("LinearRegression", &LinearRegressionParams::new().fit(&val).unwrap(), "coef");
    refuses("PoissonRegression", &PoissonRegressionParams::new().fit(&val).unwrap(), "coef");
    refuses("SgdRegressor", &SgdRegressorParams::new().fit(&val).unwrap(), "coef");
    refuses("Pca", &PcaParams::new(2).fit(&x).unwrap(), "mean");
    refuses("IncrementalPca", &IncrementalPcaParams::new(2).fit(&x).unwrap(), "mean");
    refuses("TruncatedSvd", &TruncatedSvdParams::new(2).fit(&x).unwrap(), "singular_values");
    refuses("StandardScaler", &StandardScalerParams::new().fit(&x).unwrap(), "mean");
    refuses("MinMaxScaler", &MinMaxScalerParams::new().fit(&x).unwrap(), "scale");
    refuses("QuantileTransformer", &QuantileTransformerParams::new().fit(&x).unwrap(), "references");
    refuses("SimpleImputer", &SimpleImputerParams::new().fit(&x).unwrap(), "statistics");
    refuses("MiniBatchKMeans", &MiniBatchKMeansParams::new(2).fit(&x).unwrap(), "counts");
    let robust: RobustScaler = RobustScalerParams::new().fit(&x).unwrap();
    let bytes = edited(&robust, |j| shorten(&mut j["center"]));
    assert!(rask_ml::from_bytes::<RobustScaler>(&bytes).is_err());
}

fn features() -> Array2<f64> {
    Array2::from_shape_fn((10, 3), |(i, j)| ((i * 7 + j * 3) % 5) as f64 + if i % 2 == 0 { 3.0 } else { 0.0 })
}

fn labels() -> Array1<i64> {
    Array1::from_iter((0..10).map(|i| (i % 2) as i64))
}

/// What a NaN at row 7 (row 2 of block 1, blocks of 5 rows), column 1 gives from `model`'s
/// main method, on a chunked array and on an in-memory one.
fn nan_errors<M: BlockModel>(model: &M, bad: f64) -> (String, String) {
    let mut x = features();
    x[[7, 1]] = bad;
    let cx = ChunkedArray::from_array(x.view(), 5).unwrap();
    let (chunked, memory) = if model.supports(Method::Predict) {
        (model.predict(&cx).unwrap().compute().map(|_| ()), model.predict(&x).map(|_| ()))
    } else {
        (model.transform(&cx).unwrap().compute().map(|_| ()), model.transform(&x).map(|_| ()))
    };
    (chunked.unwrap_err().to_string(), memory.unwrap_err().to_string())
}

fn assert_names_the_place<M: BlockModel>(name: &str, model: &M) {
    // Models that take NaN as a missing value (scalers, imputers, encoders) still refuse
    // infinities.
    let bads: &[f64] = if model.allows_nan() { &[f64::INFINITY] } else { &[f64::NAN, f64::INFINITY] };
    for &bad in bads {
        let (chunked, memory) = nan_errors(model, bad);
        // The failing task's key names the block (`('apply-…', 1)`), the message the row in
        // the block and the column: the check runs in the task that applies the model, with no
        // extra graph layer or pass over the data.
        assert!(
            chunked.contains("', 1) (") && chunked.contains(&format!("row 2 of the block, column 1 holds {bad}")),
            "{name}: {chunked}"
        );
        assert!(memory.contains(&format!("row 7, column 1 holds {bad}")), "{name}: {memory}");
    }
    if model.supports(Method::PredictProba) {
        let mut x = features();
        x[[7, 1]] = f64::NAN;
        assert!(model.predict_proba(&x).is_err(), "{name}");
    }
}

/// Every estimator's model refuses NaN and infinite rows at predict (and transform) time,
/// naming block, row and column; before, `LogisticRegression` predicted from NaN.
#[test]
fn every_model_refuses_non_finite_rows_naming_block_row_and_column() {
    let x = features();
    let y = labels();
    let reg = Array1::from_iter((0..x.nrows()).map(|i| 1.0 + (i % 5) as f64));
    let lab = Dataset::new(x.clone(), y);
    let val = Dataset::new(x.clone(), reg);
    assert_names_the_place("LogisticRegression", &LogisticRegressionParams::new().fit(&lab).unwrap());
    assert_names_the_place("SgdClassifier", &SgdClassifierParams::new().fit(&lab).unwrap());
    assert_names_the_place("GaussianNB", &GaussianNBParams::new().fit(&lab).unwrap());
    assert_names_the_place("MultinomialNB", &MultinomialNBParams::new().fit(&lab).unwrap());
    assert_names_the_place("BernoulliNB", &BernoulliNBParams::new().fit(&lab).unwrap());
    assert_names_the_place("LinearRegression", &LinearRegressionParams::new().fit(&val).unwrap());
    assert_names_the_place("PoissonRegression", &PoissonRegressionParams::new().fit(&val).unwrap());
    assert_names_the_place("SgdRegressor", &SgdRegressorParams::new().fit(&val).unwrap());
    assert_names_the_place("Pca", &PcaParams::new(2).fit(&x).unwrap());
    assert_names_the_place("IncrementalPca", &IncrementalPcaParams::new(2).fit(&x).unwrap());
    assert_names_the_place("TruncatedSvd", &TruncatedSvdParams::new(2).fit(&x).unwrap());
    assert_names_the_place("StandardScaler", &StandardScalerParams::new().fit(&x).unwrap());
    assert_names_the_place("MinMaxScaler", &MinMaxScalerParams::new().fit(&x).unwrap());
    assert_names_the_place("RobustScaler", &RobustScalerParams::new().fit(&x).unwrap());
    assert_names_the_place("QuantileTransformer", &QuantileTransformerParams::new().fit(&x).unwrap());
    assert_names_the_place("SimpleImputer", &SimpleImputerParams::new().fit(&x).unwrap());
    assert_names_the_place("OneHotEncoder", &OneHotEncoderParams::new().fit(&x).unwrap());
    assert_names_the_place("OrdinalEncoder", &OrdinalEncoderParams::new().fit(&x).unwrap());
    assert_names_the_place("PolynomialFeatures", &PolynomialFeaturesParams::new().fit(&x).unwrap());
    assert_names_the_place("KMeans", &KMeansParams::new(2).fit(&x).unwrap());
    assert_names_the_place("MiniBatchKMeans", &MiniBatchKMeansParams::new(2).fit(&x).unwrap());
    assert_names_the_place("SpectralClustering", &SpectralClusteringParams::new(2).n_components(5).fit(&x).unwrap());
}

/// 1e308 in X: a clear "too large" error at fit naming block, row, column and the limit,
/// instead of all-zero coefficients with `converged: false` (logistic), a silent scale of 1
/// (scaler) or `NoConvergence` (PCA).
#[test]
fn values_too_large_are_refused_at_fit() {
    let mut x = features();
    x[[7, 1]] = 1e308;
    let cx = ChunkedArray::from_array(x.view(), 5).unwrap();
    let place = "block 1, row 2 (row 7 overall), column 1 holds 1e308";
    let check = |who: &str, e: String| {
        assert!(
            e.contains(place) && e.contains("too large") && e.contains(&format!("{MAX_ABS_VALUE:e}")),
            "{who}: {e}"
        );
    };
    let ds = rask_ml::ChunkedDataset::new(
        cx.clone(),
        rask_ml::ChunkedVector::from_array_with_chunks(labels().view(), &[5, 5]).unwrap(),
    )
    .unwrap();
    check("LogisticRegression", LogisticRegressionParams::new().fit(&ds).unwrap_err().to_string());
    check("StandardScaler", StandardScalerParams::new().fit(&cx).unwrap_err().to_string());
    check("Pca", PcaParams::new(2).fit(&cx).unwrap_err().to_string());
    // Values at the limit are fine.
    let mut ok = features();
    ok[[7, 1]] = MAX_ABS_VALUE;
    assert!(StandardScalerParams::new().fit(&ok).is_ok());
    let s = StandardScalerParams::new().fit(&ok).unwrap();
    assert!(s.scale[1] > 1e140, "{}", s.scale[1]);
}
