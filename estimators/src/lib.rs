//! # rask-estimators: estimators that fit and predict on chunked data
//!
//! Every estimator follows the vocabulary of [`rask_ml::traits`]: a params builder, validated
//! by `check()`, implements [`Fit`](rask_ml::Fit) and returns a separate fitted model whose
//! attributes are concrete arrays. Fits build task graphs over the row blocks of a
//! [`ChunkedDataset`](rask_ml::ChunkedDataset) (per-block partial results, tree-reduced) and
//! run them on the default scheduler, so the same code runs synchronously, on threads, or on a
//! cluster, with the same result for the same chunking and seed.
//!
//! Modules are named like scikit-learn's: [`cluster`], [`decomposition`], [`linear_model`],
//! [`naive_bayes`], [`preprocessing`]. Each algorithm has a folder with the same files:
//! `params.rs` (builder, valid params), `algorithm.rs` (fit, fitted model) and `errors.rs`,
//! plus `ops.rs` (the registered block ops) where its block work is its own; estimators that
//! share their block work keep it in a shared module (`decomposition::ops`,
//! [`linear_model::glm`], `naive_bayes`'s count ops, [`preprocessing::quantile_sketch`], and
//! `rask_ml`'s column statistics for the scalers).
//!
//! Each estimator's params type documents its algorithm, how it parallelises (tasks,
//! reductions, graph computations per fit), its cost per pass (passes, flops, memory,
//! communication) and how it differs from scikit-learn and dask-ml.
#![deny(missing_docs)]

mod by_name;
pub mod cluster;
pub mod decomposition;
pub mod linear_model;
pub mod naive_bayes;
pub mod preprocessing;

use rask_core::RegistryBuilder;

/// Adds the ops and codecs of every estimator to `builder`, with the search ops and model
/// codecs that let pipelines and searches fit them inside tasks on every scheduler.
pub fn register(builder: RegistryBuilder) -> RegistryBuilder {
    builder
        .ops(cluster::OPS)
        .codecs(cluster::CODECS)
        .ops(cluster::SEARCH_OPS)
        .codecs(cluster::SEARCH_CODECS)
        .ops(decomposition::OPS)
        .codecs(decomposition::CODECS)
        .ops(decomposition::SEARCH_OPS)
        .codecs(decomposition::SEARCH_CODECS)
        .ops(linear_model::OPS)
        .codecs(linear_model::CODECS)
        .ops(linear_model::SEARCH_OPS)
        .codecs(linear_model::SEARCH_CODECS)
        .ops(naive_bayes::OPS)
        .codecs(naive_bayes::CODECS)
        .ops(naive_bayes::SEARCH_OPS)
        .codecs(naive_bayes::SEARCH_CODECS)
        .ops(preprocessing::OPS)
        .codecs(preprocessing::CODECS)
        .ops(preprocessing::SEARCH_OPS)
        .codecs(preprocessing::SEARCH_CODECS)
        .codecs(MODEL_CODECS)
}

/// The codecs of every fitted model of this crate, so a model can be a value in a graph (stored
/// once and read by every block's task, as `ParallelPostFit` and the ensembles do).
pub const MODEL_CODECS: &[rask_core::Codec] = rask_ml::model_codec_entries!(
    cluster::KMeans,
    cluster::MiniBatchKMeans,
    cluster::SpectralClustering,
    decomposition::Pca,
    decomposition::IncrementalPca,
    decomposition::TruncatedSvd,
    linear_model::LinearRegression,
    linear_model::LogisticRegression,
    linear_model::PoissonRegression,
    linear_model::sgd::SgdClassifier,
    linear_model::sgd::SgdRegressor,
    naive_bayes::BernoulliNB,
    naive_bayes::GaussianNB,
    naive_bayes::MultinomialNB,
    preprocessing::MinMaxScaler,
    preprocessing::OneHotEncoder,
    preprocessing::OrdinalEncoder,
    preprocessing::PolynomialFeatures,
    preprocessing::QuantileTransformer,
    preprocessing::RobustScaler,
    preprocessing::SimpleImputer,
    preprocessing::StandardScaler,
);

/// A registry builder with the ops and codecs of `rask-core`, `rask-ml` and this crate.
pub fn registry_builder() -> RegistryBuilder {
    register(rask_ml::registry_builder())
}
