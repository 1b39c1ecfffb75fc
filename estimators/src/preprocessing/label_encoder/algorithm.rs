use ndarray::Array1;
use rask_ml::{ChunkedVector, Fit, Lazy, ParamGuard};
use serde::{Deserialize, Serialize};

use super::errors::LabelEncoderError;
use super::ops::{BlockLabels, EncodeLabels, MergeLabels};
use super::params::LabelEncoderParams;

/// A fitted label encoder: the sorted classes; `transform` maps each label to its index.
///
/// It works on in-memory label vectors (eagerly) and on [`ChunkedVector`]s (lazily: the classes
/// come from one tree reduction of per-block distinct labels, and `transform_chunked` adds one
/// registered op per block). It is not a [`rask_ml::BlockModel`], whose blocks are 2-D features.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelEncoder {
    /// The distinct labels seen, sorted.
    pub classes: Vec<i64>,
}

/// Model files: the classes must be sorted and distinct (the encoding is a binary search).
impl rask_ml::Persist for LabelEncoder {
    fn tag() -> String {
        "rask.estimators.label_encoder/1".into()
    }

    fn validate(&self) -> rask_ml::Result<()> {
        match self.classes.windows(2).position(|w| w[0] >= w[1]) {
            None => Ok(()),
            Some(i) => Err(rask_ml::persist::invalid_model(
                "LabelEncoder",
                format!("classes are not sorted and distinct (at position {})", i + 1),
            )),
        }
    }
}

impl LabelEncoder {
    fn op(&self, inverse: bool) -> EncodeLabels {
        EncodeLabels { classes: self.classes.clone(), inverse }
    }

    /// Codes labels as `0 .. k − 1`; unseen labels are an error listing them.
    pub fn transform(&self, y: &Array1<i64>) -> Result<Array1<i64>, LabelEncoderError> {
        self.op(false).apply(y).map_err(LabelEncoderError::UnseenLabels)
    }

    /// Codes back to labels; codes outside `0 .. k` are an error listing them.
    pub fn inverse_transform(&self, codes: &Array1<i64>) -> Result<Array1<i64>, LabelEncoderError> {
        self.op(true)
            .apply(codes)
            .map_err(|codes| LabelEncoderError::InvalidCodes { codes, n_classes: self.classes.len() })
    }

    /// [`transform`](Self::transform), lazily, block by block; unseen labels fail the compute.
    pub fn transform_chunked(&self, y: &ChunkedVector<i64>) -> Result<ChunkedVector<i64>, LabelEncoderError> {
        Ok(ChunkedVector::from_block_layer(y.block_layer().map(self.op(false), y.chunks().clone())?))
    }

    /// [`inverse_transform`](Self::inverse_transform), lazily, block by block.
    pub fn inverse_transform_chunked(
        &self,
        codes: &ChunkedVector<i64>,
    ) -> Result<ChunkedVector<i64>, LabelEncoderError> {
        Ok(ChunkedVector::from_block_layer(codes.block_layer().map(self.op(true), codes.chunks().clone())?))
    }

    /// The number of classes.
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }
}

impl Fit<ChunkedVector<i64>> for LabelEncoderParams {
    type Model = LabelEncoder;
    type Error = LabelEncoderError;

    fn fit(&self, y: &ChunkedVector<i64>) -> Result<LabelEncoder, LabelEncoderError> {
        let params = self.check_ref()?;
        if y.n_blocks() == 0 || y.len() == Some(0) {
            return Err(LabelEncoderError::Empty);
        }
        let (layers, key) = y.block_layer().reduce(&[], BlockLabels, MergeLabels, params.split_every)?;
        let classes = Lazy::<Array1<i64>>::new(layers, key).compute()?.to_vec();
        if classes.is_empty() {
            return Err(LabelEncoderError::Empty);
        }
        Ok(LabelEncoder { classes })
    }
}

impl Fit<Array1<i64>> for LabelEncoderParams {
    type Model = LabelEncoder;
    type Error = LabelEncoderError;

    fn fit(&self, y: &Array1<i64>) -> Result<LabelEncoder, LabelEncoderError> {
        self.check_ref()?;
        if y.is_empty() {
            return Err(LabelEncoderError::Empty);
        }
        let mut classes = y.to_vec();
        classes.sort_unstable();
        classes.dedup();
        Ok(LabelEncoder { classes })
    }
}
