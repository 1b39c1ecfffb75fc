//! Estimators by name: how a configuration file or the command line names an estimator, and
//! how a program turns that name back into the concrete, statically typed estimator.
//!
//! - [`AnyTransformer`] is every transformer of [`rask_estimators`] as one enum, so a list of
//!   preprocessing steps read at run time becomes one [`Steps`] head of a [`Pipeline`]. Its
//!   fitted form, [`AnyTransformerModel`], is a [`BlockModel`] with its own registered op, so
//!   such pipelines predict on every scheduler, the distributed one included.
//! - [`visit_estimator`] hands the estimator of a given name, with its default parameters, to a
//!   [`Visitor`] whose one generic method sees the concrete type: searches, fits and model
//!   files then work exactly as in a program that names the type.
//!
//! Names are scikit-learn's class names in snake case (`logistic_regression`, `kmeans`,
//! `standard_scaler`); case, `_` and `-` are ignored when matching, so `LogisticRegression`
//! works too. [`ESTIMATORS`] lists them with their defaults.
//!
//! ```
//! use rask::catalog::{visit_estimator, Visitor, Target};
//! use rask::ml::model_selection::Estimator;
//!
//! struct Name;
//! impl Visitor for Name {
//!     type Output = &'static str;
//!     fn visit<Y: Target, E: rask::catalog::FinalEstimator<Y>>(self, _: &'static str, _: E) -> &'static str {
//!         E::NAME
//!     }
//! }
//! assert_eq!(visit_estimator("LogisticRegression", Name).unwrap(), "LogisticRegression");
//! assert!(visit_estimator("logistic_regresion", Name).unwrap_err().to_string().contains("logistic_regression"));
//! ```

use std::fmt::Debug;

use rask_core::{Codec, Graph, Key, OpEntry};
use rask_datasets::csv::CsvTarget;
use rask_datasets::parquet::ParquetTarget;
use rask_estimators::cluster::{KMeansParams, MiniBatchKMeansParams};
use rask_estimators::decomposition::{
    IncrementalPca, IncrementalPcaParams, Pca, PcaParams, TruncatedSvd, TruncatedSvdParams,
};
use rask_estimators::linear_model::sgd::{SgdClassifierParams, SgdRegressorParams};
use rask_estimators::linear_model::{LinearRegressionParams, LogisticRegressionParams, PoissonRegressionParams};
use rask_estimators::naive_bayes::{BernoulliNBParams, GaussianNBParams, MultinomialNBParams};
use rask_estimators::preprocessing::{
    MinMaxScaler, MinMaxScalerParams, OneHotEncoder, OneHotEncoderParams, OrdinalEncoder, OrdinalEncoderParams,
    PolynomialFeatures, PolynomialFeaturesParams, QuantileTransformer, QuantileTransformerParams, RobustScaler,
    RobustScalerParams, SimpleImputer, SimpleImputerParams, StandardScaler, StandardScalerParams,
};
use rask_ml::metrics::Scorer;
use rask_ml::model_selection::{Estimator, FoldKeys, SearchNode, Splitter};
use rask_ml::ndarray::{Array1, Array2, ArrayView2};
use rask_ml::params::{ParamValue, SetParams};
use rask_ml::split::StratifiedKFold;
use rask_ml::{ApplyModel, BlockModel, ChunkedDataset, Element, Fit, Float, Method, MlError, ModelKind};
use serde::{Deserialize, Serialize};

pub use rask_ml::{FittedPipeline, FittedSteps, Pipeline, Steps};

/// A name that is not in the catalog, or is there but cannot be used where it was named.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// No estimator has this name.
    #[error("unknown estimator `{name}`{hint}; the estimators are: {valid}")]
    Unknown {
        /// The name given.
        name: String,
        /// ` (did you mean `x`?)`, or empty.
        hint: String,
        /// Every valid name.
        valid: String,
    },
    /// The estimator is not a transformer, so it cannot be a step before the last.
    #[error(
        "`{name}` is not a transformer, so it cannot be a pipeline step before the last; the transformers are: {valid}"
    )]
    NotATransformer {
        /// The name given.
        name: String,
        /// Every transformer's name.
        valid: String,
    },
}

/// One estimator of the catalog: its name, what it is and its defaults where they differ from
/// the estimator's own `new()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatalogEntry {
    /// The name, in snake case.
    pub name: &'static str,
    /// What its model does.
    pub kind: ModelKind,
    /// Whether it has `partial_fit` (adaptive searches need it).
    pub partial_fit: bool,
    /// Defaults worth knowing (those that a required constructor argument fixes).
    pub note: &'static str,
}

const fn entry(name: &'static str, kind: ModelKind, partial_fit: bool, note: &'static str) -> CatalogEntry {
    CatalogEntry { name, kind, partial_fit, note }
}

/// Every estimator the catalog knows, final steps first, then transformers.
pub const ESTIMATORS: &[CatalogEntry] = &[
    entry("logistic_regression", ModelKind::Classifier, false, ""),
    entry("sgd_classifier", ModelKind::Classifier, true, ""),
    entry("gaussian_nb", ModelKind::Classifier, true, ""),
    entry("multinomial_nb", ModelKind::Classifier, true, ""),
    entry("bernoulli_nb", ModelKind::Classifier, true, ""),
    entry("linear_regression", ModelKind::Regressor, false, ""),
    entry("poisson_regression", ModelKind::Regressor, false, ""),
    entry("sgd_regressor", ModelKind::Regressor, true, ""),
    entry("kmeans", ModelKind::Clusterer, false, "n_clusters = 8, as scikit-learn"),
    entry("mini_batch_kmeans", ModelKind::Clusterer, true, "n_clusters = 8, as scikit-learn"),
    entry("standard_scaler", ModelKind::Transformer, true, ""),
    entry("min_max_scaler", ModelKind::Transformer, true, ""),
    entry("robust_scaler", ModelKind::Transformer, false, ""),
    entry("quantile_transformer", ModelKind::Transformer, false, ""),
    entry("polynomial_features", ModelKind::Transformer, false, ""),
    entry("simple_imputer", ModelKind::Transformer, false, ""),
    entry("one_hot_encoder", ModelKind::Transformer, false, ""),
    entry("ordinal_encoder", ModelKind::Transformer, false, ""),
    entry("pca", ModelKind::Transformer, false, "n_components = 2 (scikit-learn keeps all: set it)"),
    entry("incremental_pca", ModelKind::Transformer, true, "n_components = 2 (scikit-learn keeps all: set it)"),
    entry("truncated_svd", ModelKind::Transformer, false, "n_components = 2, as scikit-learn"),
    #[cfg(feature = "linfa")]
    entry("linfa_logistic_regression", ModelKind::Classifier, false, FOREIGN),
    #[cfg(feature = "linfa")]
    entry("linfa_decision_tree", ModelKind::Classifier, false, FOREIGN),
    #[cfg(feature = "linfa")]
    entry("linfa_kmeans", ModelKind::Clusterer, false, FOREIGN),
    #[cfg(feature = "smartcore")]
    entry("smartcore_random_forest_classifier", ModelKind::Classifier, false, FOREIGN),
    #[cfg(feature = "smartcore")]
    entry("smartcore_decision_tree_classifier", ModelKind::Classifier, false, FOREIGN),
    #[cfg(feature = "smartcore")]
    entry("smartcore_linear_regression", ModelKind::Regressor, false, FOREIGN),
];

/// The note of the linfa and smartcore models: how they meet chunked data.
#[cfg(any(feature = "linfa", feature = "smartcore"))]
const FOREIGN: &str =
    "fitted in memory: the training rows are gathered (in a search, one task per fold); predicts block by block";

/// The catalog's spelling of `name`: lower case without `_` or `-`.
fn normalize(name: &str) -> String {
    name.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect()
}

/// The catalog entry named `name` (case, `_` and `-` ignored).
pub fn lookup(name: &str) -> Result<&'static CatalogEntry, CatalogError> {
    let key = normalize(name);
    ESTIMATORS.iter().find(|e| normalize(e.name) == key).ok_or_else(|| unknown(name, ESTIMATORS.iter().map(|e| e.name)))
}

fn unknown<'a>(name: &str, valid: impl Iterator<Item = &'a str> + Clone) -> CatalogError {
    let key = normalize(name);
    let best = valid.clone().map(|v| (strsim(&key, &normalize(v)), v)).min_by_key(|(d, _)| *d);
    let hint = match best {
        Some((d, v)) if d <= 3 => format!(" (did you mean `{v}`?)"),
        _ => String::new(),
    };
    CatalogError::Unknown { name: name.to_string(), hint, valid: valid.collect::<Vec<_>>().join(", ") }
}

/// Levenshtein distance, for "did you mean".
fn strsim(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

// --- Final estimators --------------------------------------------------------------------------

/// What `y` is read as: `i64` class labels (classifiers, and clusterers and transformers, which
/// read none) or `f64` values (regressors).
pub trait Target: Element + CsvTarget + ParquetTarget {
    /// `"labels"` or `"values"`.
    const NAME: &'static str;

    /// Stratified k-fold splits (class labels only).
    fn stratified_folds(n_splits: usize) -> Result<Box<dyn Splitter<f64, Self>>, MlError>;
}

impl Target for i64 {
    const NAME: &'static str = "labels";

    fn stratified_folds(n_splits: usize) -> Result<Box<dyn Splitter<f64, i64>>, MlError> {
        Ok(Box::new(StratifiedKFold { n_splits }))
    }
}

impl Target for f64 {
    const NAME: &'static str = "values";

    fn stratified_folds(_: usize) -> Result<Box<dyn Splitter<f64, f64>>, MlError> {
        Err(MlError::InvalidParameter {
            name: "stratified",
            message: "stratified folds need class labels; a regressor's targets are values".into(),
        })
    }
}

/// An estimator the catalog can hand out: searchable, fittable on chunked `f64` rows with
/// targets `Y`, with one model type for both, which applies block by block.
pub trait FinalEstimator<Y: Target>:
    Estimator<Model = <Self as FinalEstimator<Y>>::Fitted>
    + SearchNode
    + Fit<ChunkedDataset<f64, Y>, Model = <Self as FinalEstimator<Y>>::Fitted>
{
    /// The fitted model.
    type Fitted: BlockModel<Label = Y> + Debug;
}

impl<Y, E, M> FinalEstimator<Y> for E
where
    Y: Target,
    M: BlockModel<Label = Y> + Debug + Clone + Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
    E: Estimator<Model = M> + SearchNode + Fit<ChunkedDataset<f64, Y>, Model = M>,
{
    type Fitted = M;
}

/// Receives the concrete estimator that a name stands for; see [`visit_estimator`].
pub trait Visitor {
    /// What the visit gives back.
    type Output;

    /// Called with the estimator's catalog name and the estimator with its defaults.
    fn visit<Y: Target, E: FinalEstimator<Y>>(self, name: &'static str, estimator: E) -> Self::Output;
}

/// Hands the estimator named `name` (with its default parameters) to `visitor`.
pub fn visit_estimator<V: Visitor>(name: &str, visitor: V) -> Result<V::Output, CatalogError> {
    visit_estimator_with_classes(name, None, visitor)
}

#[cfg(feature = "linfa")]
use rask_ml::adapters::linfa;
#[cfg(feature = "smartcore")]
use rask_ml::adapters::smartcore;

/// [`visit_estimator`] with the class labels set on a classifier with `partial_fit`, which
/// needs them before its first batch (scikit-learn's `classes` fit parameter). `None`, or an
/// estimator that takes no classes, leaves the defaults.
pub fn visit_estimator_with_classes<V: Visitor>(
    name: &str,
    classes: Option<Vec<i64>>,
    visitor: V,
) -> Result<V::Output, CatalogError> {
    let entry = lookup(name)?;
    let sgd = || match &classes {
        Some(c) => SgdClassifierParams::new().classes(c.clone()),
        None => SgdClassifierParams::new(),
    };
    Ok(match entry.name {
        "logistic_regression" => visitor.visit::<i64, _>(entry.name, LogisticRegressionParams::new()),
        "sgd_classifier" => visitor.visit::<i64, _>(entry.name, sgd()),
        "gaussian_nb" => {
            let p = GaussianNBParams::new();
            visitor.visit::<i64, _>(
                entry.name,
                match classes {
                    Some(c) => p.classes(c),
                    None => p,
                },
            )
        }
        "multinomial_nb" => {
            let p = MultinomialNBParams::new();
            visitor.visit::<i64, _>(
                entry.name,
                match classes {
                    Some(c) => p.classes(c),
                    None => p,
                },
            )
        }
        "bernoulli_nb" => {
            let p = BernoulliNBParams::new();
            visitor.visit::<i64, _>(
                entry.name,
                match classes {
                    Some(c) => p.classes(c),
                    None => p,
                },
            )
        }
        "linear_regression" => visitor.visit::<f64, _>(entry.name, LinearRegressionParams::new()),
        "poisson_regression" => visitor.visit::<f64, _>(entry.name, PoissonRegressionParams::new()),
        "sgd_regressor" => visitor.visit::<f64, _>(entry.name, SgdRegressorParams::new()),
        "kmeans" => visitor.visit::<i64, _>(entry.name, KMeansParams::new(8)),
        "mini_batch_kmeans" => visitor.visit::<i64, _>(entry.name, MiniBatchKMeansParams::new(8)),
        #[cfg(feature = "linfa")]
        "linfa_logistic_regression" => {
            visitor.visit::<i64, _>(entry.name, linfa::LinfaLogisticRegressionParams::default())
        }
        #[cfg(feature = "linfa")]
        "linfa_decision_tree" => visitor.visit::<i64, _>(entry.name, linfa::LinfaDecisionTreeParams::default()),
        #[cfg(feature = "linfa")]
        "linfa_kmeans" => visitor.visit::<i64, _>(entry.name, linfa::LinfaKMeansParams::default()),
        #[cfg(feature = "smartcore")]
        "smartcore_random_forest_classifier" => {
            visitor.visit::<i64, _>(entry.name, smartcore::SmartcoreRandomForestClassifierParams::default())
        }
        #[cfg(feature = "smartcore")]
        "smartcore_decision_tree_classifier" => {
            visitor.visit::<i64, _>(entry.name, smartcore::SmartcoreDecisionTreeClassifierParams::default())
        }
        #[cfg(feature = "smartcore")]
        "smartcore_linear_regression" => {
            visitor.visit::<f64, _>(entry.name, smartcore::SmartcoreLinearRegressionParams::default())
        }
        _ => match AnyTransformer::by_name(entry.name)? {
            AnyTransformer::StandardScaler(p) => visitor.visit::<f64, _>(entry.name, p),
            AnyTransformer::MinMaxScaler(p) => visitor.visit::<f64, _>(entry.name, p),
            AnyTransformer::RobustScaler(p) => visitor.visit::<f64, _>(entry.name, p),
            AnyTransformer::QuantileTransformer(p) => visitor.visit::<f64, _>(entry.name, p),
            AnyTransformer::PolynomialFeatures(p) => visitor.visit::<f64, _>(entry.name, p),
            AnyTransformer::SimpleImputer(p) => visitor.visit::<f64, _>(entry.name, p),
            AnyTransformer::OneHotEncoder(p) => visitor.visit::<f64, _>(entry.name, p),
            AnyTransformer::OrdinalEncoder(p) => visitor.visit::<f64, _>(entry.name, p),
            AnyTransformer::Pca(p) => visitor.visit::<f64, _>(entry.name, p),
            AnyTransformer::IncrementalPca(p) => visitor.visit::<f64, _>(entry.name, p),
            AnyTransformer::TruncatedSvd(p) => visitor.visit::<f64, _>(entry.name, p),
        },
    })
}

// --- Transformers as one type ------------------------------------------------------------------

/// What a failed fit of an [`AnyTransformer`] gives.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AnyFitError(Box<dyn std::error::Error + Send + Sync>);

impl From<MlError> for AnyFitError {
    fn from(e: MlError) -> Self {
        AnyFitError(Box::new(e))
    }
}

macro_rules! any_transformer {
    ($($variant:ident($params:ty => $model:ty) = $name:literal, $ctor:expr;)+) => {
        /// Every transformer of the catalog as one type: a step of a pipeline chosen at run
        /// time. Parameters by name reach the transformer inside.
        #[derive(Clone, Debug, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum AnyTransformer {
            $(
                #[doc = concat!("`", $name, "`.")]
                $variant($params),
            )+
        }

        /// A fitted [`AnyTransformer`].
        #[derive(Clone, Debug, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum AnyTransformerModel {
            $(
                #[doc = concat!("`", $name, "`.")]
                $variant($model),
            )+
        }

        /// The transformers' names.
        pub const TRANSFORMERS: &[&str] = &[$($name),+];

        impl AnyTransformer {
            /// The transformer named `name`, with its defaults.
            pub fn by_name(name: &str) -> Result<Self, CatalogError> {
                let key = normalize(name);
                $(
                    if key == normalize($name) {
                        return Ok(AnyTransformer::$variant($ctor));
                    }
                )+
                if lookup(name).is_ok() {
                    return Err(CatalogError::NotATransformer { name: name.to_string(), valid: TRANSFORMERS.join(", ") });
                }
                Err(unknown(name, TRANSFORMERS.iter().copied()))
            }

            /// Its catalog name.
            pub fn name(&self) -> &'static str {
                match self {
                    $(AnyTransformer::$variant(_) => $name,)+
                }
            }
        }

        impl SetParams for AnyTransformer {
            fn get_params(&self) -> Vec<(String, ParamValue)> {
                match self {
                    $(AnyTransformer::$variant(p) => p.get_params(),)+
                }
            }

            fn set_param(&mut self, name: &str, value: &ParamValue) -> rask_ml::Result<()> {
                match self {
                    $(AnyTransformer::$variant(p) => p.set_param(name, value),)+
                }
            }
        }

        impl SearchNode for AnyTransformer {
            fn model_kind(&self) -> ModelKind {
                ModelKind::Transformer
            }

            fn add_fit_transform(
                &self,
                g: &mut Graph,
                train: &FoldKeys,
                others: &[FoldKeys],
                raise: bool,
            ) -> rask_ml::Result<(FoldKeys, Vec<FoldKeys>)> {
                match self {
                    $(AnyTransformer::$variant(p) => p.add_fit_transform(g, train, others, raise),)+
                }
            }

            fn add_fit_score(
                &self,
                g: &mut Graph,
                train: &FoldKeys,
                tests: &[FoldKeys],
                scorers: &[Scorer],
                raise: bool,
            ) -> rask_ml::Result<Vec<Key>> {
                match self {
                    $(AnyTransformer::$variant(p) => p.add_fit_score(g, train, tests, scorers, raise),)+
                }
            }
        }

        impl<F: Float, Y: Element> Fit<ChunkedDataset<F, Y>> for AnyTransformer {
            type Model = AnyTransformerModel;
            type Error = AnyFitError;

            fn fit(&self, ds: &ChunkedDataset<F, Y>) -> Result<AnyTransformerModel, AnyFitError> {
                match self {
                    $(AnyTransformer::$variant(p) => {
                        p.fit(ds).map(AnyTransformerModel::$variant).map_err(|e| AnyFitError(Box::new(e)))
                    })+
                }
            }
        }

        impl BlockModel for AnyTransformerModel {
            const APPLY_OP: &'static str = "rask.catalog.any_transformer.apply";
            const KIND: ModelKind = ModelKind::Transformer;
            type Label = f64;

            fn n_features_in(&self) -> usize {
                match self {
                    $(AnyTransformerModel::$variant(m) => m.n_features_in(),)+
                }
            }

            fn n_features_out(&self) -> usize {
                match self {
                    $(AnyTransformerModel::$variant(m) => m.n_features_out(),)+
                }
            }

            fn transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
                match self {
                    $(AnyTransformerModel::$variant(m) => m.transform_block(x),)+
                }
            }

            fn inverse_transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
                match self {
                    $(AnyTransformerModel::$variant(m) => m.inverse_transform_block(x),)+
                }
            }

            fn predict_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array1<f64>> {
                match self {
                    $(AnyTransformerModel::$variant(m) => m.predict_block(x),)+
                }
            }

            fn supports(&self, method: Method) -> bool {
                match self {
                    $(AnyTransformerModel::$variant(m) => m.supports(method),)+
                }
            }

            fn allows_nan(&self) -> bool {
                match self {
                    $(AnyTransformerModel::$variant(m) => m.allows_nan(),)+
                }
            }

            fn detects_non_finite(&self, method: Method) -> bool {
                match self {
                    $(AnyTransformerModel::$variant(m) => m.detects_non_finite(method),)+
                }
            }

            fn validate_model(&self) -> rask_ml::Result<()> {
                match self {
                    $(AnyTransformerModel::$variant(m) => m.validate_model(),)+
                }
            }
        }
    };
}

any_transformer! {
    StandardScaler(StandardScalerParams => StandardScaler) = "standard_scaler", StandardScalerParams::new();
    MinMaxScaler(MinMaxScalerParams => MinMaxScaler) = "min_max_scaler", MinMaxScalerParams::new();
    RobustScaler(RobustScalerParams => RobustScaler) = "robust_scaler", RobustScalerParams::new();
    QuantileTransformer(QuantileTransformerParams => QuantileTransformer) = "quantile_transformer", QuantileTransformerParams::new();
    PolynomialFeatures(PolynomialFeaturesParams => PolynomialFeatures) = "polynomial_features", PolynomialFeaturesParams::new();
    SimpleImputer(SimpleImputerParams => SimpleImputer) = "simple_imputer", SimpleImputerParams::new();
    OneHotEncoder(OneHotEncoderParams => OneHotEncoder) = "one_hot_encoder", OneHotEncoderParams::new();
    OrdinalEncoder(OrdinalEncoderParams => OrdinalEncoder) = "ordinal_encoder", OrdinalEncoderParams::new();
    Pca(PcaParams => Pca) = "pca", PcaParams::new(2);
    IncrementalPca(IncrementalPcaParams => IncrementalPca) = "incremental_pca", IncrementalPcaParams::new(2);
    TruncatedSvd(TruncatedSvdParams => TruncatedSvd) = "truncated_svd", TruncatedSvdParams::new(2);
}

/// A pipeline read at run time: transformer steps, then a final estimator `E`.
pub type DynPipeline<E> = Pipeline<Steps<AnyTransformer>, E>;
/// Its fitted form: what a model file holds.
pub type DynFitted<M> = FittedPipeline<FittedSteps<AnyTransformerModel>, M>;

/// The ops of the catalog (the transformer enum's block op).
pub const OPS: &[OpEntry] = &[OpEntry::of::<ApplyModel<AnyTransformerModel>>()];
/// The codecs of the catalog (the fitted transformer enum as a graph value).
pub const CODECS: &[Codec] = &[rask_ml::model_codec::<AnyTransformerModel>()];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_loosely_and_suggest() {
        assert_eq!(lookup("LogisticRegression").unwrap().name, "logistic_regression");
        assert_eq!(lookup("k-means").unwrap().name, "kmeans");
        let e = lookup("standard_scalar").unwrap_err().to_string();
        assert!(e.contains("did you mean `standard_scaler`"), "{e}");
        let e = AnyTransformer::by_name("kmeans").unwrap_err().to_string();
        assert!(e.contains("not a transformer"), "{e}");
        for t in TRANSFORMERS {
            assert_eq!(AnyTransformer::by_name(t).unwrap().name(), *t);
            assert_eq!(lookup(t).unwrap().kind, ModelKind::Transformer);
        }
    }

    #[test]
    fn a_pipeline_of_steps_chosen_at_run_time_fits_searches_and_predicts_on_the_checked_scheduler() {
        use rask_core::Scheduler;
        use rask_datasets::generators::{make_classification, ClassificationParams};
        use rask_ml::model_selection::GridSearchCV;
        use rask_ml::params::ParameterGrid;
        use rask_ml::Predict;

        let mut p = ClassificationParams::new();
        p.n_samples = 600;
        p.n_features = 5;
        p.seed = 3;
        p.chunk_rows = 150;
        let ds = make_classification(&p).unwrap();
        let mut steps = Steps::new().then("scale", AnyTransformer::by_name("standard_scaler").unwrap());
        steps = steps.then("pca", AnyTransformer::by_name("pca").unwrap());
        let mut pipe = DynPipeline::from_parts(steps, "model", LogisticRegressionParams::new());
        pipe.set_param("pca__n_components", &ParamValue::Int(3)).unwrap();
        let e = pipe.set_param("pca__n_component", &ParamValue::Int(3)).unwrap_err().to_string();
        assert!(e.contains("pca__n_components"), "{e}");
        let threaded = Scheduler::threaded();
        let fitted = rask_core::with_scheduler(&threaded, || pipe.fit(&ds)).unwrap();
        assert_eq!(fitted.head().steps().len(), 2);
        let checked = Scheduler::checked(crate::registry());
        let a = fitted.predict(ds.x()).unwrap().compute_on(&threaded).unwrap();
        let b = fitted.predict(ds.x()).unwrap().compute_on(&checked).unwrap();
        assert_eq!(a, b);
        // The same search on both schedulers, the steps' fits inside tasks.
        let grid = ParameterGrid::new().add("model__c", [0.1, 1.0]).add("pca__n_components", [2i64, 4]);
        let search = GridSearchCV::new(pipe, grid).cv(rask_ml::KFold { n_splits: 3, shuffle_within_blocks: None });
        let r1 = rask_core::with_scheduler(&threaded, || search.fit(&ds)).unwrap();
        let r2 = rask_core::with_scheduler(&checked, || search.fit(&ds)).unwrap();
        assert_eq!(r1.cv_results.test_scores, r2.cv_results.test_scores);
        assert_eq!(r1.stats.step_fits_without_sharing, 4 * 3 * 3);
        assert!(r1.stats.fit_tasks < r1.stats.step_fits_without_sharing, "{:?}", r1.stats);
    }

    #[test]
    fn every_entry_visits_with_its_kind() {
        struct Kind;
        impl Visitor for Kind {
            type Output = (ModelKind, bool);
            fn visit<Y: Target, E: FinalEstimator<Y>>(self, _: &'static str, _: E) -> (ModelKind, bool) {
                (<E as Estimator>::KIND, E::has_partial_fit())
            }
        }
        for e in ESTIMATORS {
            assert_eq!(visit_estimator(e.name, Kind).unwrap(), (e.kind, e.partial_fit), "{}", e.name);
        }
    }
}
