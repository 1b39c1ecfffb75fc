//! `ChunkedDataset`: features, an optional target and optional sample weights, aligned block
//! for block.

use super::array::ChunkedArray;
use super::vector::{ChunkedVector, Element};
use crate::error::{MlError, Result};
use crate::float::Float;

/// An (X, y, w) dataset whose blocks are aligned: block `i` of `y` and `w` holds the targets
/// and weights of the rows in block `i` of `x`. The alignment is checked when the dataset is
/// made; a mismatch is an error naming both chunkings.
#[derive(Clone, Debug)]
pub struct ChunkedDataset<F, Y = f64> {
    x: ChunkedArray<F>,
    y: Option<ChunkedVector<Y>>,
    w: Option<ChunkedVector<f64>>,
}

impl<F: Float, Y: Element> ChunkedDataset<F, Y> {
    /// A dataset of features only.
    pub fn unlabelled(x: ChunkedArray<F>) -> Self {
        ChunkedDataset { x, y: None, w: None }
    }

    /// A dataset with targets.
    pub fn new(x: ChunkedArray<F>, y: ChunkedVector<Y>) -> Result<Self> {
        x.check_aligned(y.chunks())
            .map_err(|_| MlError::MisalignedChunks { left: x.chunks().clone(), right: y.chunks().clone() })?;
        Ok(ChunkedDataset { x, y: Some(y), w: None })
    }

    /// Adds sample weights, aligned with `x`.
    pub fn with_weights(mut self, w: ChunkedVector<f64>) -> Result<Self> {
        self.x.check_aligned(w.chunks())?;
        self.w = Some(w);
        Ok(self)
    }

    /// The features.
    pub fn x(&self) -> &ChunkedArray<F> {
        &self.x
    }

    /// The targets, if any.
    pub fn y(&self) -> Option<&ChunkedVector<Y>> {
        self.y.as_ref()
    }

    /// The targets, or an error naming the operation that needs them.
    pub fn y_required(&self, operation: &str) -> Result<&ChunkedVector<Y>> {
        self.y.as_ref().ok_or_else(|| MlError::InvalidParameter {
            name: "y",
            message: format!("{operation} needs a target, and this dataset has none"),
        })
    }

    /// The sample weights, if any.
    pub fn weights(&self) -> Option<&ChunkedVector<f64>> {
        self.w.as_ref()
    }

    /// Number of blocks.
    pub fn n_blocks(&self) -> usize {
        self.x.n_blocks()
    }
}
