//! Bring your own model: the two small traits a model from outside Rask implements (a linfa or
//! smartcore model, or a user's own type) to run over chunked data, in the wrappers and
//! ensembles of [`wrappers`](crate::wrappers) and [`ensemble`](crate::ensemble), and in the
//! searches of [`model_selection`](crate::model_selection), on every scheduler.
//!
//! - [`Model`]: a fitted model that predicts (and optionally gives probabilities or transforms)
//!   rows held in memory, as `f64`. That is all a model needs to be applied block by block.
//! - [`ModelParams`]: the hyperparameters that fit a [`Model`] on rows held in memory (and,
//!   optionally, update it with one more batch: `partial_fit`).
//!
//! Rask's own estimators use the richer [`BlockModel`](crate::BlockModel) and
//! [`Fit`](crate::Fit) traits (generic over `f32`/`f64`, fits on chunked data); the
//! [`model!`](macro@crate::model) macro turns a [`Model`] into a `BlockModel` and a [`ModelParams`]
//! into an [`Estimator`](crate::model_selection::Estimator), so from there on a foreign model is
//! used exactly like a Rask one.
//!
//! # The three lines for your own type
//!
//! ```
//! use ndarray::{Array1, ArrayView1, ArrayView2};
//! use rask_ml::model::{Model, ModelParams};
//! use rask_ml::{Predict, Result};
//! use serde::{Deserialize, Serialize};
//!
//! /// Predicts 1 when the first feature exceeds a threshold fitted as its mean.
//! #[derive(Clone, Debug, Serialize, Deserialize)]
//! struct Stump { threshold: f64, n_features: usize }
//!
//! #[derive(Clone, Debug, Default, Serialize, Deserialize)]
//! struct StumpParams { offset: f64 }
//!
//! impl Model for Stump {
//!     type Label = i64;
//!     fn n_features_in(&self) -> usize { self.n_features }
//!     fn predict_rows(&self, x: ArrayView2<'_, f64>) -> Result<Array1<i64>> {
//!         Ok(x.column(0).mapv(|v| i64::from(v > self.threshold)))
//!     }
//! }
//!
//! impl ModelParams for StumpParams {
//!     type Model = Stump;
//!     type Target = i64;
//!     fn fit_rows(&self, x: ArrayView2<'_, f64>, _y: Option<ArrayView1<'_, i64>>,
//!                 _w: Option<ArrayView1<'_, f64>>) -> Result<Stump> {
//!         let threshold = x.column(0).mean().unwrap_or(0.0) + self.offset;
//!         Ok(Stump { threshold, n_features: x.ncols() })
//!     }
//! }
//!
//! // 1. Its params settable by name (for searches); `{}` when it has none.
//! rask_ml::impl_set_params!(StumpParams, |p| { "offset" => p.offset });
//! // 2. Its block ops, search ops and codecs, named under a prefix of your own.
//! rask_ml::model!(StumpParams => Stump, name = "my_app.stump", kind = Classifier);
//! // 3. Their registration, so graphs run on the checked and distributed schedulers too:
//! let registry = rask_ml::registry_builder()
//!     .ops(rask_ml::model_ops!(StumpParams => Stump))
//!     .codecs(rask_ml::model_codecs!(StumpParams => Stump))
//!     .build()
//!     .unwrap();
//! # let _ = registry;
//!
//! let x = ndarray::array![[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]];
//! let model = StumpParams::default().fit_rows(x.view(), None, None).unwrap();
//! assert_eq!(model.predict(&x).unwrap().to_vec(), vec![0, 0, 1]);
//! ```
//!
//! A model given `f32` rows sees them widened to `f64` (one copy per block); `f64` rows are
//! passed through without copying.

use std::fmt::Debug;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::chunked::Element;
use crate::error::{MlError, Result};
use crate::traits::Method;

/// A fitted model that works on rows in memory. Implement it for your own type, or use the
/// linfa and smartcore adapters (features `linfa`, `smartcore`); then make it a
/// [`BlockModel`](crate::BlockModel) with [`model!`](macro@crate::model).
///
/// Its serde form is its wire form: a distributed worker rebuilds it from those bytes.
pub trait Model: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// What `predict` gives per row: `i64` for class labels and cluster indices, `f64` for
    /// real values.
    type Label: Element;

    /// The number of features the model was fitted on. Rask checks it before every call, so
    /// the model never sees rows of another width.
    fn n_features_in(&self) -> usize;

    /// One label or value per row.
    fn predict_rows(&self, x: ArrayView2<'_, f64>) -> Result<Array1<Self::Label>>;

    /// Class probabilities, `rows × n_classes`, columns in the order of
    /// [`classes`](Self::classes). Override it together with [`supports`](Self::supports).
    fn predict_proba_rows(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        let _ = x;
        Err(MlError::Unsupported { what: format!("{} has no predict_proba", short_name::<Self>()) })
    }

    /// New features, `rows × n_features_out`. Override it together with
    /// [`supports`](Self::supports).
    fn transform_rows(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        let _ = x;
        Err(MlError::Unsupported { what: format!("{} has no transform", short_name::<Self>()) })
    }

    /// The output width of [`transform_rows`](Self::transform_rows).
    fn n_features_out(&self) -> usize {
        self.n_features_in()
    }

    /// The class labels in the order of `predict_proba`'s columns (classifiers).
    fn classes(&self) -> Option<Vec<i64>> {
        None
    }

    /// Which methods the model offers; `predict` only by default.
    fn supports(&self, method: Method) -> bool {
        method == Method::Predict
    }
}

/// Hyperparameters that fit a [`Model`] on rows in memory.
///
/// Wrappers call it on one block at a time ([`BlockwiseVotingClassifier`](crate::ensemble)),
/// on each fold of a search, or on a whole dataset gathered into memory.
pub trait ModelParams: Clone + Debug + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The fitted model.
    type Model: Model;
    /// The targets it fits on: `i64` class labels or `f64` values. Unsupervised models name
    /// either and receive `None`.
    type Target: Element;
    /// Whether [`partial_fit_rows`](Self::partial_fit_rows) is offered.
    const HAS_PARTIAL_FIT: bool = false;
    /// Whether the model learns from targets; unsupervised models (clusterers, transformers)
    /// set it to `false` and are given `None` whatever targets the data has.
    const SUPERVISED: bool = true;

    /// Fits a model on `x`, with targets `y` and sample weights `w` when the data has them.
    /// A model that cannot use weights should refuse them (see [`no_weights`]).
    fn fit_rows(
        &self,
        x: ArrayView2<'_, f64>,
        y: Option<ArrayView1<'_, Self::Target>>,
        w: Option<ArrayView1<'_, f64>>,
    ) -> Result<Self::Model>;

    /// Updates `model` (or starts one) with one more batch. Set
    /// [`HAS_PARTIAL_FIT`](Self::HAS_PARTIAL_FIT) when overriding it.
    fn partial_fit_rows(
        &self,
        model: Option<Self::Model>,
        x: ArrayView2<'_, f64>,
        y: Option<ArrayView1<'_, Self::Target>>,
        w: Option<ArrayView1<'_, f64>>,
    ) -> Result<Self::Model> {
        let _ = (model, x, y, w);
        Err(MlError::Unsupported { what: format!("{} has no partial_fit", short_name::<Self>()) })
    }
}

/// The last path segment of a type's name, for messages.
pub fn short_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// Refuses sample weights, for models that cannot use them.
pub fn no_weights(w: Option<ArrayView1<'_, f64>>, who: &str) -> Result<()> {
    match w {
        None => Ok(()),
        Some(_) => Err(MlError::Unsupported { what: format!("{who} with sample weights") }),
    }
}

/// Targets a supervised model needs, or an error naming the model.
pub fn need_targets<'a, T>(y: Option<ArrayView1<'a, T>>, who: &str) -> Result<ArrayView1<'a, T>> {
    y.ok_or_else(|| MlError::InvalidParameter { name: "y", message: format!("{who} needs targets; the data has none") })
}

/// The sorted distinct labels of `y`.
pub fn distinct_labels(y: ArrayView1<'_, i64>) -> Vec<i64> {
    let mut c: Vec<i64> = y.to_vec();
    c.sort_unstable();
    c.dedup();
    c
}

#[doc(hidden)]
pub mod __private {
    //! What the [`model!`](macro@crate::model) macro expands to.

    use std::sync::Arc;

    use ndarray::{Array1, Array2, ArrayView2};

    use super::{Model, ModelParams};
    use crate::chunked::{ChunkedDataset, Element};
    use crate::error::{MlError, Result};
    use crate::float::Float;
    use crate::model_selection::{Rows, RowsRef, TaskData};

    /// Predicts a block of either float type.
    pub fn predict<M: Model, F: Float>(m: &M, x: ArrayView2<'_, F>) -> Result<Array1<M::Label>> {
        if x.nrows() == 0 {
            return Ok(Array1::from(Vec::new()));
        }
        m.predict_rows(F::view_f64(x).view())
    }

    /// Probabilities of a block of either float type.
    pub fn predict_proba<M: Model, F: Float>(m: &M, x: ArrayView2<'_, F>) -> Result<Array2<f64>> {
        if x.nrows() == 0 {
            return Ok(Array2::zeros((0, m.classes().map_or(0, |c| c.len()))));
        }
        m.predict_proba_rows(F::view_f64(x).view())
    }

    /// Transforms a block of either float type.
    pub fn transform<M: Model, F: Float>(m: &M, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        if x.nrows() == 0 {
            return Ok(Array2::zeros((0, m.n_features_out())));
        }
        Ok(F::from_f64_array(m.transform_rows(F::view_f64(x).view())?))
    }

    fn targets<'a, P: ModelParams>(d: &'a TaskData<'_>) -> std::result::Result<Option<&'a Array1<P::Target>>, String> {
        if !P::SUPERVISED {
            return Ok(None);
        }
        match d.y {
            None => Ok(None),
            Some(v) => match v.downcast_ref::<Array1<P::Target>>() {
                Some(y) => Ok(Some(y)),
                // Unsupervised models ignore targets of the other type.
                None if P::Target::DTYPE == "i64" && v.downcast_ref::<Array1<f64>>().is_some() => Err(format!(
                    "{} needs integer class labels, but the data has real-valued targets",
                    super::short_name::<P>()
                )),
                None => Err(format!(
                    "{} needs {} targets, but the data has `{}` targets",
                    super::short_name::<P>(),
                    P::Target::DTYPE,
                    v.type_name()
                )),
            },
        }
    }

    /// Fits inside a search or ensemble task.
    pub fn fit_task<P: ModelParams>(p: &P, d: &TaskData<'_>) -> std::result::Result<P::Model, String> {
        let y = targets::<P>(d)?;
        let w = d.w.map(|w| w.view());
        let r = match d.x {
            RowsRef::F64(x) => p.fit_rows(x, y.map(|y| y.view()), w),
            RowsRef::F32(x) => p.fit_rows(f32::view_f64(x).view(), y.map(|y| y.view()), w),
        };
        r.map_err(|e| e.to_string())
    }

    /// Updates a model inside a task.
    pub fn partial_fit_task<P: ModelParams>(
        p: &P,
        m: Option<P::Model>,
        d: &TaskData<'_>,
    ) -> std::result::Result<P::Model, String> {
        let y = targets::<P>(d)?;
        let w = d.w.map(|w| w.view());
        let r = match d.x {
            RowsRef::F64(x) => p.partial_fit_rows(m, x, y.map(|y| y.view()), w),
            RowsRef::F32(x) => p.partial_fit_rows(m, f32::view_f64(x).view(), y.map(|y| y.view()), w),
        };
        r.map_err(|e| e.to_string())
    }

    /// Fits on a chunked dataset gathered into memory (what `Fit` does for a foreign model).
    pub fn fit_chunked<P: ModelParams, F: Float, Y: Element>(p: &P, ds: &ChunkedDataset<F, Y>) -> Result<P::Model> {
        let x = ds.x().compute()?;
        let y: Option<Array1<Y>> = match ds.y() {
            Some(y) if P::SUPERVISED => Some(y.compute()?),
            _ => None,
        };
        let y: Option<&Array1<P::Target>> = match &y {
            None => None,
            Some(y) => Some((y as &dyn std::any::Any).downcast_ref::<Array1<P::Target>>().ok_or_else(|| {
                MlError::InvalidParameter {
                    name: "y",
                    message: format!(
                        "{} needs {} targets, but the dataset has {} targets",
                        super::short_name::<P>(),
                        P::Target::DTYPE,
                        Y::DTYPE
                    ),
                }
            })?),
        };
        let w = match ds.weights() {
            Some(w) => Some(w.compute()?),
            None => None,
        };
        p.fit_rows(F::view_f64(x.view()).view(), y.map(|y| y.view()), w.as_ref().map(|w| w.view()))
    }

    /// Transforms rows inside a pipeline task.
    pub fn transform_task<M: Model>(m: &M, x: RowsRef<'_>) -> std::result::Result<Rows, String> {
        let r = match x {
            RowsRef::F64(x) => transform(m, x).map(|a| Rows::F64(Arc::new(a))),
            RowsRef::F32(x) => transform(m, x).map(|a| Rows::F32(Arc::new(a))),
        };
        r.map_err(|e| e.to_string())
    }
}

/// Makes a [`Model`] a [`BlockModel`](crate::BlockModel) (so it predicts over chunked data,
/// runs in [`ParallelPostFit`](crate::wrappers::ParallelPostFit) and in pipelines), and, given
/// its params, makes them an [`Estimator`](crate::model_selection::Estimator) with
/// [`Fit`](crate::Fit) on chunked and in-memory datasets (so searches, pipelines,
/// [`Incremental`](crate::wrappers::Incremental) and the blockwise ensembles fit it).
///
/// `name` prefixes its op names and codec tags; pick one your application owns
/// (`"my_app.forest"`). `kind` is `Classifier`, `Regressor`, `Clusterer` or `Transformer`.
/// Register what it makes with [`model_ops!`](crate::model_ops) and
/// [`model_codecs!`](crate::model_codecs) (see [the module docs](mod@crate::model)).
#[macro_export]
macro_rules! model {
    ($model:ty, name = $name:literal, kind = $kind:ident) => {
        impl $crate::BlockModel for $model {
            const APPLY_OP: &'static str = concat!($name, ".apply");
            const KIND: $crate::ModelKind = $crate::ModelKind::$kind;
            type Label = <$model as $crate::model::Model>::Label;

            fn n_features_in(&self) -> usize {
                <$model as $crate::model::Model>::n_features_in(self)
            }
            fn n_features_out(&self) -> usize {
                <$model as $crate::model::Model>::n_features_out(self)
            }
            fn n_classes(&self) -> ::std::option::Option<usize> {
                <$model as $crate::model::Model>::classes(self).map(|c| c.len())
            }
            fn classes(&self) -> ::std::option::Option<::std::vec::Vec<i64>> {
                <$model as $crate::model::Model>::classes(self)
            }
            fn predict_block<F: $crate::Float>(
                &self,
                x: $crate::ndarray::ArrayView2<'_, F>,
            ) -> $crate::Result<$crate::ndarray::Array1<Self::Label>> {
                $crate::model::__private::predict(self, x)
            }
            fn predict_proba_block<F: $crate::Float>(
                &self,
                x: $crate::ndarray::ArrayView2<'_, F>,
            ) -> $crate::Result<$crate::ndarray::Array2<f64>> {
                $crate::model::__private::predict_proba(self, x)
            }
            fn transform_block<F: $crate::Float>(
                &self,
                x: $crate::ndarray::ArrayView2<'_, F>,
            ) -> $crate::Result<$crate::ndarray::Array2<F>> {
                $crate::model::__private::transform(self, x)
            }
            fn supports(&self, method: $crate::Method) -> bool {
                <$model as $crate::model::Model>::supports(self, method)
            }
        }
    };
    ($params:ty => $model:ty, name = $name:literal, kind = $kind:ident) => {
        $crate::model!($model, name = $name, kind = $kind);

        impl $crate::model_selection::Estimator for $params {
            type Model = $model;
            const NAME: &'static str = $name;
            const FIT_OP: &'static str = concat!($name, ".search_fit");
            const PARTIAL_FIT_OP: &'static str = concat!($name, ".search_partial_fit");
            const MODEL_OP: &'static str = concat!($name, ".search_model");
            const KIND: $crate::ModelKind = $crate::ModelKind::$kind;

            fn fit_task(
                &self,
                d: &$crate::model_selection::TaskData<'_>,
            ) -> ::std::result::Result<$model, ::std::string::String> {
                $crate::model::__private::fit_task(self, d)
            }

            fn has_partial_fit() -> bool {
                <$params as $crate::model::ModelParams>::HAS_PARTIAL_FIT
            }

            fn partial_fit_task(
                &self,
                m: ::std::option::Option<$model>,
                d: &$crate::model_selection::TaskData<'_>,
            ) -> ::std::result::Result<$model, ::std::string::String> {
                $crate::model::__private::partial_fit_task(self, m, d)
            }

            fn transform_task(
                m: &$model,
                x: $crate::model_selection::RowsRef<'_>,
            ) -> ::std::result::Result<$crate::model_selection::Rows, ::std::string::String> {
                $crate::model::__private::transform_task(m, x)
            }

            fn score_task(
                m: &$model,
                x: $crate::model_selection::RowsRef<'_>,
                y: ::std::option::Option<&$crate::__rask_core::Value>,
                w: ::std::option::Option<&$crate::ndarray::Array1<f64>>,
                scorers: &[$crate::metrics::Scorer],
            ) -> ::std::result::Result<
                (::std::vec::Vec<f64>, ::std::vec::Vec<::std::string::String>),
                ::std::string::String,
            > {
                $crate::model_selection::score_block_model(m, x, y, w, scorers)
            }
        }

        $crate::search_node_for_estimator!($params);

        impl $crate::persist::Persist for $params {
            fn tag() -> ::std::string::String {
                ::std::string::String::from(concat!($name, ".params/1"))
            }
        }

        impl<F: $crate::Float, Y: $crate::Element> $crate::Fit<$crate::ChunkedDataset<F, Y>> for $params {
            type Model = $model;
            type Error = $crate::MlError;
            /// Gathers the dataset into memory and fits on it.
            fn fit(&self, ds: &$crate::ChunkedDataset<F, Y>) -> $crate::Result<$model> {
                $crate::model::__private::fit_chunked(self, ds)
            }
        }
    };
}

/// The ops of foreign models made with [`model!`](macro@crate::model), for a registry's op list:
/// `model_ops!(Stump)` for a model alone, `model_ops!(StumpParams => Stump)` with its params.
#[macro_export]
macro_rules! model_ops {
    ($model:ty) => {
        &[$crate::__rask_core::OpEntry::of::<$crate::ApplyModel<$model>>()]
    };
    ($params:ty => $model:ty) => {
        &[
            $crate::__rask_core::OpEntry::of::<$crate::ApplyModel<$model>>(),
            $crate::__rask_core::OpEntry::of::<$crate::model_selection::SearchFit<$params>>(),
            $crate::__rask_core::OpEntry::of::<$crate::model_selection::SearchPartialFit<$params>>(),
            $crate::__rask_core::OpEntry::of::<$crate::model_selection::SearchModelOp<$params>>(),
        ]
    };
}

/// The codecs of foreign models made with [`model!`](macro@crate::model), for a registry's codec
/// list (same forms as [`model_ops!`](crate::model_ops)).
#[macro_export]
macro_rules! model_codecs {
    ($model:ty) => {
        &[$crate::model_codec::<$model>()]
    };
    ($params:ty => $model:ty) => {
        &[$crate::model_codec::<$model>(), $crate::model_selection::search_codecs::<$params>()]
    };
}

/// The codecs of several [`BlockModel`](crate::BlockModel) types, as a `&[Codec]` for a
/// crate's lists, so the models can be graph values ([`ParallelPostFit`](crate::wrappers::ParallelPostFit),
/// the ensembles) on the checked and distributed schedulers.
#[macro_export]
macro_rules! model_codec_entries {
    ($($m:ty),* $(,)?) => {
        &[$($crate::model_codec::<$m>(),)*]
    };
}
