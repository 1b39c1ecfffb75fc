//! What [`super::MultinomialNB`] and [`super::BernoulliNB`] share: the params they have in
//! common, their error type, and the fit from per-class feature counts (one tree reduction of
//! [`ops::ClassCounts`]; `partial_fit` adds a batch's counts to the model's).

pub(crate) mod ops;

use ndarray::{Array1, Array2, ArrayView2};
use rask_ml::{ChunkedDataset, Float, Lazy, MlError};
use serde::{Deserialize, Serialize};

use ops::{BlockClassCounts, ClassCount, ClassCounts, MergeClassCounts};

/// What can go wrong when fitting a [`super::MultinomialNB`] or a [`super::BernoulliNB`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscreteNBError {
    /// `alpha` is not positive and finite.
    #[error("alpha must be positive and finite, got {0}")]
    Alpha(f64),
    /// The class priors are negative or not finite.
    #[error("class_prior must be non-negative and finite, got {0:?}")]
    ClassPrior(Vec<f64>),
    /// The class priors do not match the classes.
    #[error("{priors} class priors given for {classes} classes")]
    ClassPriorLength {
        /// Priors given.
        priors: usize,
        /// Classes.
        classes: usize,
    },
    /// The given classes are not distinct, or fewer than two.
    #[error("classes must be at least two distinct labels, got {0:?}")]
    Classes(Vec<i64>),
    /// The binarisation threshold is NaN or infinite.
    #[error("binarize must be finite (or None), got {0}")]
    Binarize(f64),
    /// `split_every` is below 2.
    #[error("split_every must be at least 2, got {0}")]
    SplitEvery(usize),
    /// The data holds fewer than two classes and no class list was given.
    #[error("the target has {0} class(es); a classifier needs at least two (or pass `classes`)")]
    TooFewClasses(usize),
    /// A label is not among the declared classes.
    #[error("label {label} is not among the classes {classes:?}")]
    UnknownLabel {
        /// The label.
        label: i64,
        /// The declared classes.
        classes: Vec<i64>,
    },
    /// `partial_fit` needs the class list up front, so every batch agrees on it.
    #[error("partial_fit needs `classes` in the params (every batch must agree on the class list)")]
    PartialFitNeedsClasses,
    /// A batch has another number of features than the model.
    #[error("the model was fitted on {expected} features, the batch has {found}")]
    FeatureMismatch {
        /// The model's features.
        expected: usize,
        /// The batch's.
        found: usize,
    },
    /// The data or the task graph failed.
    #[error(transparent)]
    Ml(#[from] MlError),
}

/// The params both count-based classifiers have, as scikit-learn's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CountParams {
    pub(crate) alpha: f64,
    pub(crate) fit_prior: bool,
    pub(crate) class_prior: Option<Vec<f64>>,
    pub(crate) classes: Option<Vec<i64>>,
    pub(crate) split_every: usize,
}

impl Default for CountParams {
    fn default() -> Self {
        CountParams { alpha: 1.0, fit_prior: true, class_prior: None, classes: None, split_every: 8 }
    }
}

impl CountParams {
    /// The additive smoothing.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
    /// Whether the class priors are learnt (else uniform, unless `class_prior`).
    pub fn fit_prior(&self) -> bool {
        self.fit_prior
    }
    /// The fixed class priors, if any.
    pub fn class_prior(&self) -> Option<&[f64]> {
        self.class_prior.as_deref()
    }
    /// The declared classes, if any.
    pub fn classes(&self) -> Option<&[i64]> {
        self.classes.as_deref()
    }

    pub(crate) fn check(&self) -> Result<(), DiscreteNBError> {
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(DiscreteNBError::Alpha(self.alpha));
        }
        if let Some(p) = &self.class_prior {
            if p.iter().any(|v| !v.is_finite() || *v < 0.0) {
                return Err(DiscreteNBError::ClassPrior(p.clone()));
            }
        }
        if let Some(c) = &self.classes {
            let mut s = c.clone();
            s.sort_unstable();
            s.dedup();
            if s.len() != c.len() || s.len() < 2 {
                return Err(DiscreteNBError::Classes(c.clone()));
            }
            if let Some(p) = &self.class_prior {
                if p.len() != c.len() {
                    return Err(DiscreteNBError::ClassPriorLength { priors: p.len(), classes: c.len() });
                }
            }
        }
        if self.split_every < 2 {
            return Err(DiscreteNBError::SplitEvery(self.split_every));
        }
        Ok(())
    }
}

/// The per-class counts of a batch, with one tree reduction.
pub(crate) fn batch_counts<F: Float>(
    p: &CountParams,
    data: &ChunkedDataset<F, i64>,
    op: BlockClassCounts,
) -> Result<ClassCounts, DiscreteNBError> {
    let y = data.y_required(&format!("{} fit", op.who))?;
    let x = data.x();
    x.check_aligned(y.chunks())?;
    let mut others = vec![y.block_layer()];
    if let Some(w) = data.weights() {
        others.push(w.block_layer());
    }
    let (layers, key) = x.block_layer().reduce(&others, op, MergeClassCounts, p.split_every)?;
    let counts = Lazy::<ClassCounts>::new(layers, key).compute()?;
    if let Some(classes) = &p.classes {
        if let Some(label) = counts.classes.keys().find(|l| !classes.contains(l)) {
            return Err(DiscreteNBError::UnknownLabel { label: *label, classes: classes.clone() });
        }
    }
    Ok(counts)
}

/// Adds a batch's counts to a model's (or starts from the batch).
pub(crate) fn add_counts(old: Option<ClassCounts>, batch: ClassCounts) -> Result<ClassCounts, DiscreteNBError> {
    match old {
        None => Ok(batch),
        Some(mut s) => {
            if s.n_features != batch.n_features {
                return Err(DiscreteNBError::FeatureMismatch { expected: s.n_features, found: batch.n_features });
            }
            s.merge(&batch).map_err(|e| MlError::Graph(rask_core::Error::Scheduler(e.to_string())))?;
            Ok(s)
        }
    }
}

/// The count tables of a fitted classifier.
pub(crate) struct Tables {
    pub classes: Vec<i64>,
    pub class_count: Array1<f64>,
    pub feature_count: Array2<f64>,
    pub class_log_prior: Array1<f64>,
}

/// The sorted classes, their counts and log priors (scikit-learn's `_update_class_log_prior`).
pub(crate) fn tables(p: &CountParams, counts: &ClassCounts) -> Result<Tables, DiscreteNBError> {
    let classes: Vec<i64> = match &p.classes {
        Some(c) => {
            let mut c = c.clone();
            c.sort_unstable();
            c
        }
        None => {
            let c: Vec<i64> = counts.classes.keys().copied().collect();
            if c.len() < 2 {
                return Err(DiscreteNBError::TooFewClasses(c.len()));
            }
            c
        }
    };
    let (k, d) = (classes.len(), counts.n_features);
    if let Some(pr) = &p.class_prior {
        if pr.len() != k {
            return Err(DiscreteNBError::ClassPriorLength { priors: pr.len(), classes: k });
        }
    }
    let empty = ClassCount { weight: 0.0, counts: vec![0.0; d] };
    let mut class_count = Array1::zeros(k);
    let mut feature_count = Array2::zeros((k, d));
    for (i, c) in classes.iter().enumerate() {
        let m = counts.classes.get(c).unwrap_or(&empty);
        class_count[i] = m.weight;
        for j in 0..d {
            feature_count[[i, j]] = m.counts[j];
        }
    }
    let total: f64 = class_count.sum();
    if total <= 0.0 {
        return Err(DiscreteNBError::Ml(MlError::InvalidParameter {
            name: "weights",
            message: "the sample weights sum to zero".into(),
        }));
    }
    let class_log_prior = match &p.class_prior {
        Some(pr) => Array1::from_iter(pr.iter().map(|v| v.ln())),
        None if p.fit_prior => class_count.mapv(|c| c.ln() - total.ln()),
        None => Array1::from_elem(k, -(k as f64).ln()),
    };
    Ok(Tables { classes, class_count, feature_count, class_log_prior })
}

/// `x · wᵀ + b` row by row, features binarised first when asked; non-finite features are an
/// error.
pub(crate) fn linear_jll<F: Float>(
    x: ArrayView2<'_, F>,
    w: &Array2<f64>,
    b: &Array1<f64>,
    binarize: Option<f64>,
) -> rask_ml::Result<Array2<f64>> {
    let k = w.nrows();
    let mut out = Array2::zeros((x.nrows(), k));
    let mut row = vec![0.0; x.ncols()];
    for (r, xr) in x.rows().into_iter().enumerate() {
        for (dst, &v) in row.iter_mut().zip(xr.iter()) {
            let v = v.widen();
            if !v.is_finite() {
                return Err(MlError::NonFinite { what: "x".into() });
            }
            *dst = ops::binarize(v, binarize);
        }
        for i in 0..k {
            out[[r, i]] = w.row(i).iter().zip(&row).map(|(a, b)| a * b).sum::<f64>() + b[i];
        }
    }
    Ok(out)
}

/// The class with the largest joint log-likelihood in each row (the first on ties).
pub(crate) fn argmax_classes(jll: &Array2<f64>, classes: &[i64]) -> Array1<i64> {
    Array1::from_iter(jll.rows().into_iter().map(|r| {
        let best = r.iter().enumerate().fold((0, f64::NEG_INFINITY), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
        classes[best.0]
    }))
}

/// Row-wise softmax of joint log-likelihoods.
pub(crate) fn proba(mut jll: Array2<f64>) -> Array2<f64> {
    for mut r in jll.rows_mut() {
        let max = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + r.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        r.mapv_inplace(|v| (v - lse).exp());
    }
    jll
}
