//! Parquet files as chunked datasets, one block per row group, and a writer of one row group
//! per block. Needs the `parquet` cargo feature.
//!
//! Building the graph reads only the file's footer: the schema, and the row count of every row
//! group, so chunk sizes are known. Each block is a task that opens the file and decodes only
//! its row group's selected columns, so a file of any size is read with one row group per
//! worker thread in memory. Row groups without rows are skipped (no block has zero rows).
//!
//! Feature columns are read as `f64` from `Float64`, `Float32`, `Int64` and `Int32` columns (a
//! missing value is NaN, as in pandas); the target column is `f64` (from any of those types) or
//! an `i64` class label (from `Int64` or `Int32`) and must not have missing values. Other column
//! types are errors naming the file and the column. Pages may be uncompressed or
//! Snappy-compressed (the default of pandas, pyarrow and Spark); other codecs (zstd, gzip,
//! brotli, lz4) are not built in, and such files are rejected when the graph is built with an
//! error naming the column and the codec.
//!
//! As with `.npy` files, the file's path, size and modification time are part of each task's
//! arguments: workers must see the same file system, and a file that changes after the graph
//! was built is reported, not misread.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{ArrowPrimitiveType, Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float32Array, Float64Array, Int64Array, PrimitiveArray, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use ndarray::{Array1, Array2};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::WriterProperties;
use rask_core::graph::Layers;
use rask_core::ops::expect_inputs;
use rask_core::{Graph, Key, Op, OpError, Scheduler, TaskOp, Tokenizer, Value};
use rask_ml::chunked::BlockLayer;
use rask_ml::{ChunkedArray, ChunkedDataset, ChunkedVector, Chunks, Element, Float, Limits, MlError};
use serde::{Deserialize, Serialize};

use crate::csv::TargetKind;
use crate::generators::{BlockX, BlockY, XyBlock};
use crate::npy::LoadError;

/// Rows decoded at a time inside a row group (bounds the Arrow buffers next to the block).
const DECODE_ROWS: usize = 64 * 1024;

/// Which columns are features.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ParquetColumns {
    /// Every `Float64`, `Float32`, `Int64` or `Int32` column except the target, in file order.
    /// Columns of other types (strings, dates, …) and pandas index columns
    /// (`__index_level_N__`) are left out.
    #[default]
    AllNumericExceptTarget,
    /// These columns, by name, in this order.
    List(Vec<String>),
}

/// How to read a Parquet file. Blocks are the file's row groups, so there is no chunk size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParquetOptions {
    /// The feature columns.
    pub features: ParquetColumns,
    /// The target column's name, if any (required by [`read_parquet`], refused by
    /// [`read_parquet_features`]).
    pub target: Option<String>,
}

/// Target element types a Parquet column can be read as: `f64` or `i64` labels.
pub trait ParquetTarget: Element {
    /// How the column is converted.
    const KIND: TargetKind;
}

impl ParquetTarget for f64 {
    const KIND: TargetKind = TargetKind::Float;
}

impl ParquetTarget for i64 {
    const KIND: TargetKind = TargetKind::Label;
}

/// A column chosen from the file: its position among the schema's top-level fields and its
/// name (for error messages).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParquetColumn {
    /// Position among the file's top-level columns.
    pub index: usize,
    /// Name.
    pub name: String,
}

/// Reads one row group of a Parquet file: its feature columns as an `f64` block, and, with a
/// target, an [`XyBlock`] of features and targets.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ParquetRowGroup {
    /// The file.
    pub path: String,
    /// Size when the graph was built.
    pub file_len: u64,
    /// Modification time (nanoseconds since the epoch) when the graph was built.
    pub modified: u64,
    /// The row group's index in the file.
    pub row_group: usize,
    /// Rows in the row group.
    pub rows: usize,
    /// The feature columns, in block column order.
    pub features: Vec<ParquetColumn>,
    /// The target column and how to convert it.
    pub target: Option<(ParquetColumn, TargetKind)>,
}

fn dtype_name(dt: &DataType) -> String {
    dt.to_string()
}

/// Writes column `j` of a row-major block (`out` holds `out.len() / stride` rows).
fn fill_column<T: ArrowPrimitiveType>(
    a: &PrimitiveArray<T>,
    out: &mut [f64],
    stride: usize,
    j: usize,
    conv: impl Fn(T::Native) -> f64,
) {
    for (i, &v) in a.values().iter().enumerate() {
        out[i * stride + j] = conv(v);
    }
    if a.null_count() > 0 {
        for i in (0..a.len()).filter(|&i| a.is_null(i)) {
            out[i * stride + j] = f64::NAN;
        }
    }
}

/// Converts a feature column into column `j` of `out`; nulls become NaN. `Err` holds the
/// column's type when it is not one of the supported ones.
fn fill_feature(col: &dyn Array, out: &mut [f64], stride: usize, j: usize) -> Result<(), String> {
    if let Some(a) = col.as_primitive_opt::<Float64Type>() {
        fill_column(a, out, stride, j, |v| v);
    } else if let Some(a) = col.as_primitive_opt::<Float32Type>() {
        fill_column(a, out, stride, j, f64::from);
    } else if let Some(a) = col.as_primitive_opt::<Int64Type>() {
        // Integers beyond 2^53 round to the nearest f64, as in pandas.
        fill_column(a, out, stride, j, |v| v as f64);
    } else if let Some(a) = col.as_primitive_opt::<Int32Type>() {
        fill_column(a, out, stride, j, f64::from);
    } else {
        return Err(dtype_name(col.data_type()));
    }
    Ok(())
}

fn first_null(col: &dyn Array) -> Option<usize> {
    if col.null_count() == 0 {
        return None;
    }
    (0..col.len()).find(|&i| col.is_null(i))
}

fn extend_f64(col: &dyn Array, out: &mut Vec<f64>) -> Result<(), String> {
    if let Some(a) = col.as_primitive_opt::<Float64Type>() {
        out.extend_from_slice(a.values());
    } else if let Some(a) = col.as_primitive_opt::<Float32Type>() {
        out.extend(a.values().iter().map(|&v| f64::from(v)));
    } else if let Some(a) = col.as_primitive_opt::<Int64Type>() {
        out.extend(a.values().iter().map(|&v| v as f64));
    } else if let Some(a) = col.as_primitive_opt::<Int32Type>() {
        out.extend(a.values().iter().map(|&v| f64::from(v)));
    } else {
        return Err(dtype_name(col.data_type()));
    }
    Ok(())
}

fn extend_i64(col: &dyn Array, out: &mut Vec<i64>) -> Result<(), String> {
    if let Some(a) = col.as_primitive_opt::<Int64Type>() {
        out.extend_from_slice(a.values());
    } else if let Some(a) = col.as_primitive_opt::<Int32Type>() {
        out.extend(a.values().iter().map(|&v| i64::from(v)));
    } else {
        return Err(dtype_name(col.data_type()));
    }
    Ok(())
}

/// A decoded row group: row-major features, and the target values of the kind asked for.
struct Decoded {
    x: Array2<f64>,
    y_f: Vec<f64>,
    y_i: Vec<i64>,
}

impl ParquetRowGroup {
    fn err(&self, message: impl std::fmt::Display) -> OpError {
        OpError::new(format!("{}: row group {}: {message}", self.path, self.row_group))
    }

    fn changed(&self) -> OpError {
        OpError::new(format!("{}: the file changed after the graph was built", self.path))
    }

    /// Decodes the row group: the row-major features and the target values.
    fn read(&self) -> Result<Decoded, OpError> {
        let path = Path::new(&self.path);
        let (len, modified) = crate::npy::fingerprint(path).map_err(|e| OpError::new(e.to_string()))?;
        if (len, modified) != (self.file_len, self.modified) {
            return Err(self.changed());
        }
        let file = File::open(path).map_err(|e| OpError::new(format!("{}: {e}", self.path)))?;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| OpError::new(format!("{}: {e}", self.path)))?;
        let md = builder.metadata();
        if self.row_group >= md.num_row_groups()
            || usize::try_from(md.row_group(self.row_group).num_rows()).ok() != Some(self.rows)
        {
            return Err(self.changed());
        }
        // The reader returns the projected columns in file order.
        let mut roots: Vec<usize> = self.features.iter().map(|c| c.index).collect();
        roots.extend(self.target.as_ref().map(|(c, _)| c.index));
        roots.sort_unstable();
        roots.dedup();
        let n_fields = builder.schema().fields().len();
        if roots.last().is_some_and(|&r| r >= n_fields) {
            return Err(self.changed());
        }
        let position =
            |index: usize| roots.binary_search(&index).map_err(|_| self.err(format!("column {index} was not decoded")));
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
        let reader = builder
            .with_row_groups(vec![self.row_group])
            .with_projection(mask)
            .with_batch_size(DECODE_ROWS.min(self.rows.max(1)))
            .build()
            .map_err(|e| self.err(e))?;
        let n_x = self.features.len();
        // The row count comes from the file's footer: a corrupt one must give an error, not an
        // overflow or an allocation failure that aborts the process.
        crate::npy::check_task_block(Self::NAME, &self.path, self.rows, n_x)?;
        let cells = self.rows.checked_mul(n_x).ok_or_else(|| self.err(format!("{} rows overflow", self.rows)))?;
        let mut x: Vec<f64> = Vec::new();
        x.try_reserve_exact(cells)
            .map_err(|_| self.err(format!("cannot allocate a block of {} rows x {n_x} columns", self.rows)))?;
        x.resize(cells, 0.0);
        let capacity = |k: TargetKind| match &self.target {
            Some((_, kind)) if *kind == k => self.rows,
            _ => 0,
        };
        let mut y_f: Vec<f64> = Vec::new();
        let mut y_i: Vec<i64> = Vec::new();
        y_f.try_reserve_exact(capacity(TargetKind::Float)).map_err(|_| self.err("cannot allocate the target block"))?;
        y_i.try_reserve_exact(capacity(TargetKind::Label)).map_err(|_| self.err("cannot allocate the target block"))?;
        let mut row = 0;
        for batch in reader {
            let batch = batch.map_err(|e| self.err(e))?;
            let n = batch.num_rows();
            if row + n > self.rows || batch.num_columns() != roots.len() {
                return Err(self.changed());
            }
            let out = &mut x[row * n_x..(row + n) * n_x];
            for (j, c) in self.features.iter().enumerate() {
                let col = batch.column(position(c.index)?);
                fill_feature(col.as_ref(), out, n_x, j).map_err(|found| {
                    self.err(format!("column '{}' holds {found} values, which are not numbers", c.name))
                })?;
            }
            if let Some((c, kind)) = &self.target {
                let col = batch.column(position(c.index)?);
                if let Some(i) = first_null(col.as_ref()) {
                    return Err(self.err(format!(
                        "the target column '{}' has a missing value at row {} of the row group",
                        c.name,
                        row + i
                    )));
                }
                let res = match kind {
                    TargetKind::Float => extend_f64(col.as_ref(), &mut y_f),
                    TargetKind::Label => extend_i64(col.as_ref(), &mut y_i),
                };
                res.map_err(|found| self.err(format!("the target column '{}' holds {found} values", c.name)))?;
            }
            row += n;
        }
        if row != self.rows {
            return Err(self.err(format!("decoded {row} rows, the row group has {}", self.rows)));
        }
        let x = Array2::from_shape_vec((self.rows, n_x), x).map_err(|e| OpError::new(e.to_string()))?;
        Ok(Decoded { x, y_f, y_i })
    }
}

impl Op for ParquetRowGroup {
    const NAME: &'static str = "rask.datasets.parquet_row_group";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 0, Self::NAME)?;
        let Decoded { x, y_f, y_i } = self.read()?;
        Ok(match &self.target {
            None => Value::new(x),
            Some((_, TargetKind::Float)) => Value::new(XyBlock { x: Arc::new(x), y: Arc::new(Array1::from(y_f)) }),
            Some((_, TargetKind::Label)) => Value::new(XyBlock { x: Arc::new(x), y: Arc::new(Array1::from(y_i)) }),
        })
    }
}

fn format_error(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError::Format { path: path.to_path_buf(), message: message.into() }
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> LoadError {
    LoadError::Io { path: path.to_path_buf(), message: e.to_string() }
}

fn is_feature_type(dt: &DataType) -> bool {
    matches!(dt, DataType::Float64 | DataType::Float32 | DataType::Int64 | DataType::Int32)
}

fn is_label_type(dt: &DataType) -> bool {
    matches!(dt, DataType::Int64 | DataType::Int32)
}

/// Refuses a column whose pages use a codec this build cannot decode, naming it.
fn check_codecs(path: &Path, md: &ParquetMetaData, selected: &[ParquetColumn]) -> Result<(), LoadError> {
    let schema = md.file_metadata().schema_descr();
    for (g, rg) in md.row_groups().iter().enumerate() {
        for (leaf, chunk) in rg.columns().iter().enumerate() {
            let root = schema.get_column_root_idx(leaf);
            let Some(c) = selected.iter().find(|c| c.index == root) else { continue };
            match chunk.compression() {
                Compression::UNCOMPRESSED | Compression::SNAPPY => {}
                other => {
                    let codec = match other {
                        Compression::GZIP(_) => "gzip",
                        Compression::BROTLI(_) => "brotli",
                        Compression::ZSTD(_) => "zstd",
                        Compression::LZ4 | Compression::LZ4_RAW => "lz4",
                        Compression::LZO => "lzo",
                        Compression::UNCOMPRESSED | Compression::SNAPPY => "an unsupported codec",
                    };
                    return Err(format_error(
                        path,
                        format!(
                            "column '{}' is compressed with {codec} in row group {g}; this build reads only \
                             uncompressed and Snappy-compressed Parquet (the pandas and pyarrow default): \
                             rewrite the file with compression='snappy'",
                            c.name
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The target's null count from the row-group statistics, when the writer recorded it.
fn check_target_statistics(path: &Path, md: &ParquetMetaData, target: &ParquetColumn) -> Result<(), LoadError> {
    let schema = md.file_metadata().schema_descr();
    for (g, rg) in md.row_groups().iter().enumerate() {
        for (leaf, chunk) in rg.columns().iter().enumerate() {
            if schema.get_column_root_idx(leaf) != target.index {
                continue;
            }
            if let Some(n) = chunk.statistics().and_then(|s| s.null_count_opt()).filter(|&n| n > 0) {
                return Err(format_error(
                    path,
                    format!(
                        "the target column '{}' has {n} missing value(s) in row group {g}; a target cannot have \
                         missing values",
                        target.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The feature column names that [`read_parquet`] / [`read_parquet_features`] would read with
/// `opts` (and, without a target, the numeric columns), in order: what a model fitted on the
/// file records, so that prediction files are read by the same columns.
pub fn parquet_feature_names(path: impl AsRef<Path>, opts: &ParquetOptions) -> Result<Vec<String>, LoadError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| format_error(path, format!("not a readable Parquet file: {e}")))?;
    let fields = builder.schema().fields().clone();
    let names: Vec<String> = fields.iter().map(|f| f.name().clone()).collect();
    if let Some(t) = &opts.target {
        if !names.contains(t) {
            return Err(format_error(path, format!("no column named '{t}'; the columns are {names:?}")));
        }
    }
    match &opts.features {
        ParquetColumns::List(cols) => {
            for c in cols {
                if !names.contains(c) {
                    return Err(format_error(path, format!("no column named '{c}'; the columns are {names:?}")));
                }
            }
            Ok(cols.clone())
        }
        ParquetColumns::AllNumericExceptTarget => Ok(fields
            .iter()
            .filter(|f| {
                Some(f.name()) != opts.target.as_ref()
                    && is_feature_type(f.data_type())
                    && !f.name().starts_with("__index_level_")
            })
            .map(|f| f.name().clone())
            .collect()),
    }
}

/// Reads the footer and builds the block layer of `ParquetRowGroup` tasks.
fn scan(path: &Path, opts: &ParquetOptions, kind: Option<TargetKind>) -> Result<(BlockLayer, usize), LoadError> {
    let (file_len, modified) = crate::npy::fingerprint(path)?;
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| format_error(path, format!("not a readable Parquet file: {e}")))?;
    let md = builder.metadata().clone();
    let names: Vec<String> = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
    let types: Vec<DataType> = builder.schema().fields().iter().map(|f| f.data_type().clone()).collect();
    let resolve = |name: &str| -> Result<ParquetColumn, LoadError> {
        names
            .iter()
            .position(|n| n == name)
            .map(|index| ParquetColumn { index, name: name.to_string() })
            .ok_or_else(|| format_error(path, format!("no column named '{name}'; the columns are {names:?}")))
    };
    let target = match (&opts.target, kind) {
        (Some(name), Some(k)) => {
            let c = resolve(name)?;
            let dt = &types[c.index];
            let ok = match k {
                TargetKind::Float => is_feature_type(dt),
                TargetKind::Label => is_label_type(dt),
            };
            if !ok {
                let expected = match k {
                    TargetKind::Float => "f64 targets are read from Float64, Float32, Int64 or Int32 columns",
                    TargetKind::Label => "i64 labels are read from Int64 or Int32 columns",
                };
                return Err(format_error(path, format!("the target column '{name}' holds {dt} values; {expected}")));
            }
            Some((c, k))
        }
        (None, None) => None,
        (Some(_), None) => {
            return Err(MlError::InvalidParameter {
                name: "target",
                message: "a target column was given to a features-only reader; use read_parquet".into(),
            }
            .into())
        }
        (None, Some(_)) => {
            return Err(MlError::InvalidParameter {
                name: "target",
                message: "read_parquet needs a target column".into(),
            }
            .into())
        }
    };
    let target_index = target.as_ref().map(|(c, _)| c.index);
    let features: Vec<ParquetColumn> = match &opts.features {
        ParquetColumns::AllNumericExceptTarget => names
            .iter()
            .enumerate()
            .filter(|&(i, n)| Some(i) != target_index && is_feature_type(&types[i]) && !n.starts_with("__index_level_"))
            .map(|(index, name)| ParquetColumn { index, name: name.clone() })
            .collect(),
        ParquetColumns::List(cols) => {
            let cols = cols.iter().map(|n| resolve(n)).collect::<Result<Vec<_>, _>>()?;
            for c in &cols {
                if !is_feature_type(&types[c.index]) {
                    return Err(format_error(
                        path,
                        format!(
                            "column '{}' holds {} values; features are read from Float64, Float32, Int64 or \
                             Int32 columns",
                            c.name, types[c.index]
                        ),
                    ));
                }
            }
            cols
        }
    };
    if features.is_empty() {
        return Err(MlError::InvalidParameter { name: "features", message: "no numeric feature column".into() }.into());
    }
    if let Some((t, _)) = &target {
        if features.iter().any(|c| c.index == t.index) {
            return Err(MlError::InvalidParameter {
                name: "features",
                message: format!("the target column '{}' is also a feature", t.name),
            }
            .into());
        }
    }
    let mut selected = features.clone();
    selected.extend(target.as_ref().map(|(c, _)| c.clone()));
    check_codecs(path, &md, &selected)?;
    if let Some((t, _)) = &target {
        check_target_statistics(path, &md, t)?;
    }
    // Row groups are blocks: their count and their sizes (as the metadata states them, before
    // any is read) are checked against the limits.
    let limits = Limits::current()?;
    let n_groups = md.row_groups().len() as u64;
    let largest = md.row_groups().iter().map(|rg| rg.num_rows().max(0) as u64).max().unwrap_or(0);
    let params = format!("{}: {n_groups} row groups of up to {largest} rows", path.display());
    limits.check_blocks("read_parquet", n_groups, largest, &params)?;
    limits.check_block_bytes(
        "read_parquet",
        largest,
        features.len() as u64,
        crate::npy::BLOCK_ELEMENT_BYTES,
        &params,
    )?;
    // Row groups without rows are skipped: no block has zero rows.
    let mut groups = Vec::new();
    for (g, rg) in md.row_groups().iter().enumerate() {
        let rows = usize::try_from(rg.num_rows())
            .map_err(|_| format_error(path, format!("row group {g} has {} rows", rg.num_rows())))?;
        if rows > 0 {
            groups.push((g, rows));
        }
    }
    if groups.is_empty() {
        return Err(format_error(path, "the file has no rows"));
    }
    let path_str = crate::npy::absolute_utf8(path)?;
    let mut t = Tokenizer::new();
    t.str("rask.datasets.read_parquet").str(&path_str).u64(file_len).u64(modified);
    t.u64(groups.len() as u64);
    for &(g, rows) in &groups {
        t.u64(g as u64).u64(rows as u64);
    }
    t.u64(features.len() as u64);
    for c in &features {
        t.u64(c.index as u64);
    }
    if let Some((c, k)) = &target {
        t.u64(c.index as u64).u64(*k as u64);
    }
    let name = rask_core::KeyName::new(&format!("parquet-{}", t.finish().hex()));
    let mut graph = Graph::with_capacity(groups.len());
    for (i, &(row_group, rows)) in groups.iter().enumerate() {
        let op = ParquetRowGroup {
            path: path_str.clone(),
            file_len,
            modified,
            row_group,
            rows,
            features: features.clone(),
            target: target.clone(),
        };
        graph.add_task(Key::block(name.clone(), i as u64), TaskOp::op(op), vec![]);
    }
    let sizes = groups.iter().map(|&(_, rows)| rows).collect();
    Ok((BlockLayer::new(Layers::from_graph(graph), name, Chunks::Known(sizes))?, features.len()))
}

/// The feature columns of a Parquet file as a chunked `f64` array (no target), one block per
/// non-empty row group.
pub fn read_parquet_features(path: impl AsRef<Path>, opts: &ParquetOptions) -> Result<ChunkedArray<f64>, LoadError> {
    let (layer, n_cols) = scan(path.as_ref(), opts, None)?;
    Ok(ChunkedArray::from_block_layer(layer, n_cols))
}

/// A Parquet file as a chunked dataset, one block per non-empty row group: features as `f64`,
/// the target (`opts.target`, required) as `Y` (`f64` or `i64`).
pub fn read_parquet<Y: ParquetTarget>(
    path: impl AsRef<Path>,
    opts: &ParquetOptions,
) -> Result<ChunkedDataset<f64, Y>, LoadError> {
    let (layer, n_cols) = scan(path.as_ref(), opts, Some(Y::KIND))?;
    let chunks = layer.chunks().clone();
    let x = ChunkedArray::from_block_layer(layer.map(BlockX, chunks.clone())?, n_cols);
    let y = ChunkedVector::from_block_layer(layer.map(BlockY, chunks)?);
    Ok(ChunkedDataset::new(x, y)?)
}

/// Page compression of written files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ParquetCompression {
    /// No compression.
    None,
    /// Snappy (the pandas and pyarrow default).
    #[default]
    Snappy,
}

/// How to write a Parquet file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParquetWriteOptions {
    /// Names of the feature columns; `x0, x1, …` when `None`.
    pub column_names: Option<Vec<String>>,
    /// Name of the target column.
    pub target_name: String,
    /// Blocks computed at a time (only these are in memory).
    pub batch: usize,
    /// Page compression.
    pub compression: ParquetCompression,
}

impl Default for ParquetWriteOptions {
    fn default() -> Self {
        ParquetWriteOptions {
            column_names: None,
            target_name: "y".into(),
            batch: 4,
            compression: ParquetCompression::Snappy,
        }
    }
}

/// The feature column names, checked against the column count and the target's name.
fn column_names(n_cols: usize, opts: &ParquetWriteOptions, with_target: bool) -> Result<Vec<String>, LoadError> {
    let invalid = |message: String| LoadError::from(MlError::InvalidParameter { name: "column_names", message });
    let names = match &opts.column_names {
        None => (0..n_cols).map(|j| format!("x{j}")).collect(),
        Some(n) if n.len() != n_cols => {
            return Err(invalid(format!("{} names for {n_cols} feature columns", n.len())));
        }
        Some(n) => n.clone(),
    };
    let mut all: Vec<&str> = names.iter().map(String::as_str).collect();
    if with_target {
        all.push(&opts.target_name);
    }
    for (i, a) in all.iter().enumerate() {
        if all[..i].contains(a) {
            return Err(invalid(format!("the column name '{a}' is used twice")));
        }
    }
    Ok(names)
}

/// The Arrow column of column `j` of a feature block.
fn feature_column<F: Float>(block: &Array2<F>, j: usize) -> ArrayRef {
    let col = block.column(j);
    if F::DTYPE == "f32" {
        // Exact: the values are `f32`s.
        Arc::new(Float32Array::from_iter_values(col.iter().map(|v| v.widen() as f32)))
    } else {
        Arc::new(Float64Array::from_iter_values(col.iter().map(|v| v.widen())))
    }
}

fn write_blocks<F: Float, Y: ParquetTarget>(
    x: &ChunkedArray<F>,
    y: Option<&ChunkedVector<Y>>,
    path: &Path,
    scheduler: &Scheduler,
    opts: &ParquetWriteOptions,
) -> Result<(), LoadError> {
    if opts.batch == 0 {
        return Err(MlError::InvalidParameter { name: "batch", message: "must be at least 1".into() }.into());
    }
    if let Some(y) = y {
        if y.n_blocks() != x.n_blocks() {
            return Err(MlError::MisalignedChunks { left: x.chunks().clone(), right: y.chunks().clone() }.into());
        }
    }
    let names = column_names(x.n_cols(), opts, y.is_some())?;
    let x_type = if F::DTYPE == "f32" { DataType::Float32 } else { DataType::Float64 };
    let mut fields: Vec<Field> = names.iter().map(|n| Field::new(n, x_type.clone(), false)).collect();
    if y.is_some() {
        let y_type = match Y::KIND {
            TargetKind::Float => DataType::Float64,
            TargetKind::Label => DataType::Int64,
        };
        fields.push(Field::new(&opts.target_name, y_type, false));
    }
    let schema = Arc::new(Schema::new(fields));
    let compression = match opts.compression {
        ParquetCompression::None => Compression::UNCOMPRESSED,
        ParquetCompression::Snappy => Compression::SNAPPY,
    };
    // One row group per block: no row-count or byte limit splits a block, and each block is
    // flushed on its own.
    let props = WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(None)
        .set_max_row_group_bytes(None)
        .build();
    let file = File::create(path).map_err(|e| io_error(path, e))?;
    let written =
        ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| io_error(path, e)).and_then(|mut w| {
            write_rows(&mut w, x, y, &schema, path, scheduler, opts.batch)?;
            w.close().map_err(|e| io_error(path, e))
        });
    if let Err(e) = written {
        // Best effort: the error being returned is the one that matters.
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    Ok(())
}

/// Computes the blocks `batch` at a time and writes each as one row group.
fn write_rows<F: Float, Y: ParquetTarget>(
    w: &mut ArrowWriter<File>,
    x: &ChunkedArray<F>,
    y: Option<&ChunkedVector<Y>>,
    schema: &Arc<Schema>,
    path: &Path,
    scheduler: &Scheduler,
    batch: usize,
) -> Result<(), LoadError> {
    let layers = match y {
        Some(y) => x.layers().union(y.layers()),
        None => x.layers().clone(),
    };
    let graph = layers.to_graph();
    let blocks: Vec<usize> = (0..x.n_blocks()).collect();
    for group in blocks.chunks(batch) {
        let mut keys: Vec<Key> = group.iter().map(|&i| x.block_key(i)).collect();
        if let Some(y) = y {
            keys.extend(group.iter().map(|&i| y.block_key(i)));
        }
        let values = scheduler.compute(&graph, &keys)?;
        for (k, &i) in group.iter().enumerate() {
            let block = values[k]
                .get::<Array2<F>>()
                .map_err(|source| rask_core::Error::ValueType { key: keys[k].clone(), source })?;
            if block.ncols() != x.n_cols() {
                return Err(MlError::RaggedColumns { block: i, expected: x.n_cols(), found: block.ncols() }.into());
            }
            let mut columns: Vec<ArrayRef> = (0..block.ncols()).map(|j| feature_column(block, j)).collect();
            if y.is_some() {
                let (v, key) = (&values[group.len() + k], &keys[group.len() + k]);
                let value_type = |source| rask_core::Error::ValueType { key: key.clone(), source };
                let (col, len): (ArrayRef, usize) = match Y::KIND {
                    TargetKind::Float => {
                        let t = v.get::<Array1<f64>>().map_err(value_type)?;
                        (Arc::new(Float64Array::from_iter_values(t.iter().copied())), t.len())
                    }
                    TargetKind::Label => {
                        let t = v.get::<Array1<i64>>().map_err(value_type)?;
                        (Arc::new(Int64Array::from_iter_values(t.iter().copied())), t.len())
                    }
                };
                if len != block.nrows() {
                    return Err(MlError::InvalidParameter {
                        name: "y",
                        message: format!("block {i} has {} rows of features but {len} targets", block.nrows()),
                    }
                    .into());
                }
                columns.push(col);
            }
            let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| io_error(path, e))?;
            // A block without rows writes nothing (no empty row group).
            w.write(&batch).map_err(|e| io_error(path, e))?;
            w.flush().map_err(|e| io_error(path, e))?;
        }
    }
    Ok(())
}

/// Writes the features and targets of a dataset to one Parquet file, one row group per
/// (non-empty) block, computing `opts.batch` blocks at a time on `scheduler` so that only those
/// blocks are in memory. Features are `Float64` (or `Float32` for `f32` arrays) columns named
/// by `opts.column_names` (default `x0, x1, …`); the target is a `Float64` or `Int64` column
/// named `opts.target_name` (default `y`). Chunk sizes need not be known. Sample weights are
/// not written: a dataset with weights is refused.
pub fn write_parquet<F: Float, Y: ParquetTarget>(
    data: &ChunkedDataset<F, Y>,
    path: impl AsRef<Path>,
    scheduler: &Scheduler,
    opts: &ParquetWriteOptions,
) -> Result<(), LoadError> {
    if data.weights().is_some() {
        return Err(MlError::InvalidParameter {
            name: "data",
            message: "write_parquet does not write sample weights; write a dataset without them".into(),
        }
        .into());
    }
    write_blocks(data.x(), data.y(), path.as_ref(), scheduler, opts)
}

/// Writes a chunked array to one Parquet file, one row group per (non-empty) block; see
/// [`write_parquet`].
pub fn write_parquet_features<F: Float>(
    x: &ChunkedArray<F>,
    path: impl AsRef<Path>,
    scheduler: &Scheduler,
    opts: &ParquetWriteOptions,
) -> Result<(), LoadError> {
    write_blocks::<F, f64>(x, None, path.as_ref(), scheduler, opts)
}
