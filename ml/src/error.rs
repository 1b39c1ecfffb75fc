//! Errors of chunked data and the estimators built on it.

/// What can go wrong with chunked data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MlError {
    /// A block has no rows.
    #[error("block {block} has no rows; empty blocks are not allowed")]
    EmptyBlock {
        /// The block index.
        block: usize,
    },
    /// Blocks disagree on the number of columns.
    #[error("block {block} has {found} columns, but block 0 has {expected}")]
    RaggedColumns {
        /// The block index.
        block: usize,
        /// Columns of block 0.
        expected: usize,
        /// Columns of this block.
        found: usize,
    },
    /// A shape does not fit the operation.
    #[error("{what}: expected {expected}, found {found}")]
    ShapeMismatch {
        /// What was being checked.
        what: String,
        /// The expected size.
        expected: usize,
        /// The size found.
        found: usize,
    },
    /// Two collections that must be aligned block for block are not.
    #[error("misaligned chunks: {left:?} vs {right:?}")]
    MisalignedChunks {
        /// One chunking.
        left: crate::Chunks,
        /// The other.
        right: crate::Chunks,
    },
    /// The operation needs known chunk sizes; call `compute_chunk_sizes()` first.
    #[error("{operation} needs known chunk sizes; call compute_chunk_sizes() first")]
    UnknownChunkSizes {
        /// The operation.
        operation: String,
    },
    /// A parameter is out of range.
    #[error("invalid {name}: {message}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Why it is invalid.
        message: String,
    },
    /// A hyperparameter name that the estimator (or pipeline) does not have.
    #[error("unknown parameter `{name}`; valid parameters: {valid}")]
    UnknownParameter {
        /// The name given.
        name: String,
        /// The valid names, comma-separated.
        valid: String,
    },
    /// A hyperparameter value of the wrong type.
    #[error("parameter `{name}` expects {expected}, got {found}")]
    ParameterType {
        /// The parameter.
        name: String,
        /// What it expects.
        expected: String,
        /// What it was given.
        found: String,
    },
    /// The model or operation does not offer this.
    #[error("unsupported: {what}")]
    Unsupported {
        /// What is not supported.
        what: String,
    },
    /// A model failed to fit (the model's own message).
    #[error("fitting {model}: {message}")]
    Fit {
        /// The model (or estimator) being fitted.
        model: String,
        /// Why it failed.
        message: String,
    },
    /// A value is NaN or infinite where finite values are required.
    #[error(
        "{what} contains NaN or infinite values; impute missing values first (e.g. a SimpleImputer step) or drop those rows"
    )]
    NonFinite {
        /// Where.
        what: String,
    },
    /// A value is finite but too large in magnitude to fit on: sums of squares could overflow.
    #[error(
        "{what} is too large: its magnitude exceeds {limit:e}, the largest value Rask fits on (so that sums of squares cannot overflow); rescale the feature first (e.g. divide it by a power of ten)"
    )]
    TooLarge {
        /// Where.
        what: String,
        /// The limit, [`MAX_ABS_VALUE`](crate::MAX_ABS_VALUE).
        limit: f64,
    },
    /// A model read from a file (or built by hand) is not internally consistent: lengths that
    /// disagree, a wrong class count, a non-finite parameter.
    #[error("inconsistent {model}: {message}")]
    InvalidModel {
        /// The model.
        model: String,
        /// What disagrees.
        message: String,
    },
    /// The data has no rows (for example after a filter such as `sample_rows` kept none), and
    /// the operation needs at least one.
    #[error(
        "{who} cannot be fitted on 0 rows; the data is empty (a filter such as sample_rows may have kept no rows)"
    )]
    EmptyInput {
        /// The estimator (or operation).
        who: String,
    },
    /// A model file could not be written or read.
    #[error("model file {path}: {message}")]
    ModelFile {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A request would make more blocks than [`Limits::max_blocks`](crate::chunked::Limits)
    /// allows; refused before any chunk metadata or graph is allocated.
    #[error(
        "{what}: {n_blocks} blocks of {block_rows} rows ({params}) exceed the block-count limit of {limit}; use \
         larger blocks or raise RASK_MAX_BLOCKS"
    )]
    TooManyBlocks {
        /// The entry point (`make_classification`, `read_npy`, …).
        what: String,
        /// The blocks the request would make.
        n_blocks: u64,
        /// Rows per block (the last one may be shorter).
        block_rows: u64,
        /// The parameters that led there, as `name = value` pairs.
        params: String,
        /// The limit in force.
        limit: u64,
    },
    /// One block would hold more bytes than [`Limits::max_block_bytes`](crate::chunked::Limits)
    /// allows; refused before the block is allocated.
    #[error(
        "{what}: a block of {rows} rows x {n_cols} columns x {elem_bytes} bytes {} ({params}) exceeds the \
         block-size limit of {limit} bytes; use smaller blocks or raise RASK_MAX_BLOCK_BYTES",
        block_bytes_text(*.bytes)
    )]
    BlockTooLarge {
        /// The entry point.
        what: String,
        /// Rows of the block.
        rows: u64,
        /// Columns of the block.
        n_cols: u64,
        /// Bytes per element.
        elem_bytes: u64,
        /// The block's bytes; `None` when the product overflows 64 bits.
        bytes: Option<u64>,
        /// The parameters that led there, as `name = value` pairs.
        params: String,
        /// The limit in force.
        limit: u64,
    },
    /// The task graph failed.
    #[error(transparent)]
    Graph(#[from] rask_core::Error),
}

fn block_bytes_text(bytes: Option<u64>) -> String {
    match bytes {
        Some(b) => format!("= {b} bytes"),
        None => "overflows 64 bits".to_string(),
    }
}

/// The result type of `rask-ml`.
pub type Result<T, E = MlError> = std::result::Result<T, E>;
