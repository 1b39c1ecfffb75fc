//! `ChunkedDataset`: features, an optional target and optional sample weights, aligned block
//! for block.

use super::array::ChunkedArray;
use super::blocks::BlockLayer;
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

    /// The same targets and weights with other features of the same chunking (the output of
    /// a transform); a different chunking is an error.
    pub fn with_x<G: Float>(&self, x: ChunkedArray<G>) -> Result<ChunkedDataset<G, Y>> {
        x.check_aligned(self.x.chunks())
            .map_err(|_| MlError::MisalignedChunks { left: self.x.chunks().clone(), right: x.chunks().clone() })?;
        Ok(ChunkedDataset { x, y: self.y.clone(), w: self.w.clone() })
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

    /// Applies the same row operation to `x`, `y` and the weights, keeping them aligned.
    pub fn map_rows(&self, f: impl Fn(&BlockLayer) -> Result<BlockLayer>) -> Result<Self> {
        let x = ChunkedArray::from_block_layer(f(self.x.block_layer())?, self.x.n_cols());
        let y = self.y.as_ref().map(|y| f(y.block_layer()).map(ChunkedVector::from_block_layer)).transpose()?;
        let w = self.w.as_ref().map(|w| f(w.block_layer()).map(ChunkedVector::from_block_layer)).transpose()?;
        Ok(ChunkedDataset { x, y, w })
    }

    /// A lazy check that features, targets and weights are finite (see
    /// [`ChunkedArray::check_finite`]).
    pub fn check_finite(&self) -> Result<Self> {
        self.map_rows(super::rows::check_finite)
    }

    /// Shuffles rows across blocks (see [`super::rows::shuffle_rows`]), keeping `x`, `y` and
    /// the weights aligned; the result has `n_out` blocks (fewer if there are fewer rows).
    pub fn shuffle(&self, seed: u64, n_out: usize) -> Result<Self> {
        let stream = |k: usize| crate::stream_seed(&["rask.ml.shuffle"], seed, &[k as u64]);
        self.map_rows(|l| super::rows::shuffle_rows(l, n_out, stream))
    }

    /// Computes every block of the features, targets and weights in one computation and keeps
    /// them in memory, so later passes (each iteration of a fit) reuse them.
    pub fn persist_on(&self, scheduler: &rask_core::Scheduler) -> Result<Self> {
        let mut layers = vec![self.x.block_layer()];
        layers.extend(self.y.as_ref().map(|y| y.block_layer()));
        layers.extend(self.w.as_ref().map(|w| w.block_layer()));
        let done = BlockLayer::persist_together(&layers, scheduler)?;
        // One persisted layer per input layer, in order; anything else is an error, not a panic.
        let (expected, found) = (layers.len(), done.len());
        let missing = || MlError::ShapeMismatch { what: "layers returned by persist_together".into(), expected, found };
        let mut done = done.into_iter();
        let x = ChunkedArray::from_block_layer(done.next().ok_or_else(missing)?, self.x.n_cols());
        let y = self
            .y
            .as_ref()
            .map(|_| done.next().ok_or_else(missing).map(ChunkedVector::from_block_layer))
            .transpose()?;
        let w = self
            .w
            .as_ref()
            .map(|_| done.next().ok_or_else(missing).map(ChunkedVector::from_block_layer))
            .transpose()?;
        Ok(ChunkedDataset { x, y, w })
    }

    /// [`persist_on`](Self::persist_on) the default scheduler.
    pub fn persist(&self) -> Result<Self> {
        self.persist_on(&rask_core::default_scheduler())
    }

    /// Global rows `start..end` of every part.
    pub fn slice_rows(&self, start: usize, end: usize) -> Result<Self> {
        self.map_rows(|l| super::rows::slice_rows(l, start, end))
    }

    /// The rows of several datasets one after the other. All must have targets, or none, and
    /// likewise weights.
    pub fn concat(parts: &[&Self]) -> Result<Self> {
        let xs: Vec<&ChunkedArray<F>> = parts.iter().map(|p| &p.x).collect();
        let x = ChunkedArray::concat(&xs)?;
        let join = |layers: Vec<Option<&BlockLayer>>, what: &'static str| -> Result<Option<BlockLayer>> {
            if layers.iter().all(Option::is_none) {
                return Ok(None);
            }
            let present: Option<Vec<&BlockLayer>> = layers.into_iter().collect();
            let present = present.ok_or_else(|| MlError::InvalidParameter {
                name: what,
                message: "some datasets have it and some do not".into(),
            })?;
            BlockLayer::concat(&present).map(Some)
        };
        let y = join(parts.iter().map(|p| p.y.as_ref().map(|y| y.block_layer())).collect(), "y")?
            .map(ChunkedVector::from_block_layer);
        let w = join(parts.iter().map(|p| p.w.as_ref().map(|w| w.block_layer())).collect(), "weights")?
            .map(ChunkedVector::from_block_layer);
        Ok(ChunkedDataset { x, y, w })
    }
}
