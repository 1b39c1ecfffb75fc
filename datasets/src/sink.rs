//! Streaming batch prediction to files: write the lazy output of any predict or transform
//! (labels, values, probability or feature matrices) block by block, one output file per block
//! (or per input file), as `.npy` or Parquet, without touching graph keys.
//!
//! Each block's file is written **inside a task** (the block's write op), so the scheduler
//! streams: blocks are predicted and written in parallel, and a block's memory is released as
//! soon as its file is written. On a distributed scheduler the workers write the files, as
//! Dask's `to_parquet` does: the folder must then be on a file system they share.
//!
//! ```
//! use rask_datasets::sink::{Outputs, OutputFormat, WriteOptions};
//! use rask_ml::{ChunkedArray, ChunkedVector};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let x = ChunkedArray::from_array(ndarray::array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]].view(), 2).unwrap();
//! let labels = ChunkedVector::from_array(ndarray::array![0_i64, 1, 1].view(), 2).unwrap();
//! let summary = Outputs::new()
//!     .labels("label", &labels)
//!     .matrix("x", &x)
//!     .write(dir.path(), &WriteOptions::new(OutputFormat::Npy), &rask_core::Scheduler::threaded())
//!     .unwrap();
//! assert_eq!(summary.rows, 3);
//! assert_eq!(summary.files.len(), 4); // part-00000.label.npy, part-00000.x.npy, …
//! ```

use rask_core::op_ensure;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::{Array1, Array2};
use rask_core::graph::Layers;
use rask_core::ops::expect_inputs;
use rask_core::{ComputeOptions, Graph, Key, Node, Op, OpError, Scheduler, Task, TaskOp, Tokenizer, Value};
use rask_ml::chunked::BlockLayer;
use rask_ml::{ChunkedArray, ChunkedVector, Float, MlError};
use serde::{Deserialize, Serialize};

use crate::npy::{header_bytes, LoadError};

/// The format of the written files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputFormat {
    /// One `.npy` file per block and output (`stem.npy` for a single output,
    /// `stem.NAME.npy` for several): `<i8` labels, `<f8` values, `<f8`/`<f4` matrices.
    Npy,
    /// One `.parquet` file per block holding every output as columns: `NAME` (`Int64` or
    /// `Float64`) for a vector, `NAME_0 … NAME_{k-1}` for a matrix. Needs the `parquet`
    /// feature.
    Parquet,
}

impl OutputFormat {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Npy => "npy",
            OutputFormat::Parquet => "parquet",
        }
    }
}

/// The element type of one output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartKind {
    /// `Array1<i64>` blocks.
    Labels,
    /// `Array1<f64>` blocks.
    Values,
    /// `Array2<f64>` blocks of this many columns.
    MatrixF64(usize),
    /// `Array2<f32>` blocks of this many columns.
    MatrixF32(usize),
}

#[derive(Clone, Debug)]
struct Part {
    name: String,
    kind: PartKind,
    blocks: BlockLayer,
}

/// The outputs to write, each a lazy chunked collection with the same blocks; see the
/// [module](self).
#[derive(Clone, Debug, Default)]
pub struct Outputs {
    parts: Vec<Part>,
}

/// How [`Outputs::write`] names and writes files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// The format.
    pub format: OutputFormat,
    /// File stems, one per block (`None`: `part-00000`, `part-00001`, …). Give the input
    /// files' stems to write one output per input file (see
    /// [`npy_dir_block_names`](crate::npy::npy_dir_block_names)).
    pub names: Option<Vec<String>>,
}

impl WriteOptions {
    /// Blocks named `part-00000`, `part-00001`, … in `format`.
    pub fn new(format: OutputFormat) -> Self {
        WriteOptions { format, names: None }
    }

    /// Names the files of each block.
    pub fn names(mut self, names: Vec<String>) -> Self {
        self.names = Some(names);
        self
    }
}

/// What [`Outputs::write`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteSummary {
    /// Every file written, in block order.
    pub files: Vec<PathBuf>,
    /// Rows written.
    pub rows: u64,
    /// Wall-clock seconds, computing included.
    pub seconds: f64,
}

impl WriteSummary {
    /// Rows per second.
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.seconds.max(1e-9)
    }
}

impl Outputs {
    /// No outputs yet.
    pub fn new() -> Self {
        Outputs::default()
    }

    fn push(mut self, name: &str, kind: PartKind, blocks: &BlockLayer) -> Self {
        self.parts.push(Part { name: name.to_string(), kind, blocks: blocks.clone() });
        self
    }

    /// Integer labels (a classifier's or clusterer's `predict`).
    pub fn labels(self, name: &str, v: &ChunkedVector<i64>) -> Self {
        self.push(name, PartKind::Labels, v.block_layer())
    }

    /// Real values (a regressor's `predict`).
    pub fn values(self, name: &str, v: &ChunkedVector<f64>) -> Self {
        self.push(name, PartKind::Values, v.block_layer())
    }

    /// A matrix (`predict_proba`, `transform`).
    pub fn matrix<F: Float>(self, name: &str, a: &ChunkedArray<F>) -> Self {
        let kind = if F::DTYPE == "f32" { PartKind::MatrixF32(a.n_cols()) } else { PartKind::MatrixF64(a.n_cols()) };
        self.push(name, kind, a.block_layer())
    }

    fn check(&self, opts: &WriteOptions) -> Result<usize, LoadError> {
        let invalid =
            |name: &'static str, message: String| LoadError::from(MlError::InvalidParameter { name, message });
        let first = self.parts.first().ok_or_else(|| invalid("outputs", "nothing to write".into()))?;
        let n = first.blocks.n_blocks();
        for (i, p) in self.parts.iter().enumerate() {
            if p.blocks.n_blocks() != n {
                return Err(MlError::MisalignedChunks {
                    left: first.blocks.chunks().clone(),
                    right: p.blocks.chunks().clone(),
                }
                .into());
            }
            let ok = !p.name.is_empty() && p.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !ok {
                return Err(invalid("outputs", format!("output name '{}' must be letters, digits, _ or -", p.name)));
            }
            if self.parts[..i].iter().any(|q| q.name == p.name) {
                return Err(invalid("outputs", format!("the output name '{}' is used twice", p.name)));
            }
        }
        if let Some(names) = &opts.names {
            if names.len() != n {
                return Err(invalid("names", format!("{} file names for {n} blocks", names.len())));
            }
            for (i, s) in names.iter().enumerate() {
                if s.is_empty() || s.contains(['/', '\\']) || s == "." || s == ".." {
                    return Err(invalid("names", format!("'{s}' is not a file name")));
                }
                if names[..i].contains(s) {
                    return Err(invalid("names", format!("the file name '{s}' is used twice")));
                }
            }
        }
        #[cfg(not(feature = "parquet"))]
        if opts.format == OutputFormat::Parquet {
            return Err(invalid("format", "Parquet output needs rask-datasets' `parquet` feature".into()));
        }
        Ok(n)
    }

    /// Computes every block on `scheduler` and writes it to `dir` (created if missing), one
    /// task per block; see the [module](self). Existing files of the same names are replaced;
    /// each file appears whole (written under a temporary name, then renamed).
    pub fn write(
        &self,
        dir: impl AsRef<Path>,
        opts: &WriteOptions,
        scheduler: &Scheduler,
    ) -> Result<WriteSummary, LoadError> {
        self.write_with(dir, opts, scheduler, &ComputeOptions::new())
    }

    /// [`write`](Self::write) with compute options: a progress bar or line, callbacks.
    pub fn write_with(
        &self,
        dir: impl AsRef<Path>,
        opts: &WriteOptions,
        scheduler: &Scheduler,
        compute: &ComputeOptions,
    ) -> Result<WriteSummary, LoadError> {
        let start = Instant::now();
        let n = self.check(opts)?;
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| LoadError::Io { path: dir.to_path_buf(), message: e.to_string() })?;
        // Absolute, so workers started in another directory write to the same folder.
        let dir_string = crate::npy::absolute_utf8(dir)?;
        let dir_str = dir_string.as_str();
        let mut layers = Layers::default();
        for p in &self.parts {
            layers = layers.union(p.blocks.layers());
        }
        let parts: Vec<(String, PartKind)> = self.parts.iter().map(|p| (p.name.clone(), p.kind)).collect();
        let mut t = Tokenizer::new();
        t.str("rask.datasets.write_block").str(dir_str);
        for p in &self.parts {
            t.str(&p.name).str(p.blocks.name());
        }
        let layer = format!("write-{}", t.finish().hex());
        let mut g = Graph::with_capacity(n);
        let mut keys = Vec::with_capacity(n);
        let mut files = Vec::new();
        for i in 0..n {
            let stem = opts.names.as_ref().map_or_else(|| format!("part-{i:05}"), |s| s[i].clone());
            let op = WriteBlock { dir: dir_str.to_string(), stem, format: opts.format, parts: parts.clone(), block: i };
            files.extend(op.paths());
            let k = Key::block(layer.clone(), i as u64);
            let inputs = self.parts.iter().map(|p| p.blocks.block_key(i)).collect();
            g.insert(k.clone(), Node::Task(Task { op: TaskOp::op(op), inputs }));
            keys.push(k);
        }
        let values = scheduler.compute_with(&layers.with(g).to_graph(), &keys, compute)?.values;
        let mut rows = 0;
        for (v, k) in values.iter().zip(&keys) {
            rows += *v.get::<u64>().map_err(|source| rask_core::Error::ValueType { key: k.clone(), source })?;
        }
        Ok(WriteSummary { files, rows, seconds: start.elapsed().as_secs_f64() })
    }
}

/// Writes the outputs of one block: inputs are the blocks of each part, in order; the result
/// is the block's row count (`u64`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WriteBlock {
    /// The output folder.
    pub dir: String,
    /// The file stem.
    pub stem: String,
    /// The format.
    pub format: OutputFormat,
    /// Each output's name and element type.
    pub parts: Vec<(String, PartKind)>,
    /// The block's index (for messages).
    pub block: usize,
}

/// A block of one output, read from its value.
enum Block<'a> {
    Labels(&'a Array1<i64>),
    Values(&'a Array1<f64>),
    F64(&'a Array2<f64>),
    F32(&'a Array2<f32>),
}

impl Block<'_> {
    fn rows(&self) -> usize {
        match self {
            Block::Labels(a) => a.len(),
            Block::Values(a) => a.len(),
            Block::F64(a) => a.nrows(),
            Block::F32(a) => a.nrows(),
        }
    }
}

impl WriteBlock {
    fn paths(&self) -> Vec<PathBuf> {
        let dir = Path::new(&self.dir);
        let ext = self.format.extension();
        if self.format == OutputFormat::Parquet || self.parts.len() == 1 {
            vec![dir.join(format!("{}.{ext}", self.stem))]
        } else {
            self.parts.iter().map(|(name, _)| dir.join(format!("{}.{name}.{ext}", self.stem))).collect()
        }
    }

    fn blocks<'a>(&self, inputs: &'a [Value]) -> Result<Vec<Block<'a>>, OpError> {
        let mut out = Vec::with_capacity(inputs.len());
        for ((name, kind), v) in self.parts.iter().zip(inputs) {
            let wrong = |what: &str| {
                OpError::new(format!(
                    "block {}: output '{name}' should be {what}, found `{}`",
                    self.block,
                    v.type_name()
                ))
            };
            let b = match *kind {
                PartKind::Labels => Block::Labels(v.downcast_ref().ok_or_else(|| wrong("i64 labels"))?),
                PartKind::Values => Block::Values(v.downcast_ref().ok_or_else(|| wrong("f64 values"))?),
                PartKind::MatrixF64(k) => {
                    let a: &Array2<f64> = v.downcast_ref().ok_or_else(|| wrong("an f64 matrix"))?;
                    op_ensure!(
                        a.ncols() == k,
                        "block {}: output '{name}' has {} columns, expected {k}",
                        self.block,
                        a.ncols()
                    );
                    Block::F64(a)
                }
                PartKind::MatrixF32(k) => {
                    let a: &Array2<f32> = v.downcast_ref().ok_or_else(|| wrong("an f32 matrix"))?;
                    op_ensure!(
                        a.ncols() == k,
                        "block {}: output '{name}' has {} columns, expected {k}",
                        self.block,
                        a.ncols()
                    );
                    Block::F32(a)
                }
            };
            out.push(b);
        }
        Ok(out)
    }
}

/// Writes `f` to a temporary file beside `path`, then renames it into place.
fn atomically(path: &Path, f: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) -> Result<(), OpError> {
    let tmp = path.with_extension("tmp-write");
    let run = || -> std::io::Result<()> {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        f(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_data()?;
        std::fs::rename(&tmp, path)
    };
    run().map_err(|e| {
        // Best effort: the write error is the one to report.
        let _ = std::fs::remove_file(&tmp);
        OpError::new(format!("{}: {e}", path.display()))
    })
}

fn write_npy(path: &Path, b: &Block<'_>) -> Result<(), OpError> {
    fn put<T: Copy>(
        w: &mut impl Write,
        it: impl Iterator<Item = T>,
        to_le: impl Fn(T) -> [u8; 8],
    ) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(1 << 16);
        for v in it {
            buf.extend_from_slice(&to_le(v));
            if buf.len() >= 1 << 16 {
                w.write_all(&buf)?;
                buf.clear();
            }
        }
        w.write_all(&buf)
    }
    atomically(path, |w| match b {
        Block::Labels(a) => {
            w.write_all(&header_bytes("<i8", &format!("({},)", a.len())))?;
            put(w, a.iter().copied(), i64::to_le_bytes)
        }
        Block::Values(a) => {
            w.write_all(&header_bytes("<f8", &format!("({},)", a.len())))?;
            put(w, a.iter().copied(), f64::to_le_bytes)
        }
        Block::F64(a) => {
            w.write_all(&header_bytes("<f8", &format!("({}, {})", a.nrows(), a.ncols())))?;
            put(w, a.iter().copied(), f64::to_le_bytes)
        }
        Block::F32(a) => {
            w.write_all(&header_bytes("<f4", &format!("({}, {})", a.nrows(), a.ncols())))?;
            let mut buf = Vec::with_capacity(a.len() * 4);
            for v in a.iter() {
                buf.extend_from_slice(&v.to_le_bytes());
            }
            w.write_all(&buf)
        }
    })
}

#[cfg(feature = "parquet")]
fn write_parquet(path: &Path, parts: &[(String, PartKind)], blocks: &[Block<'_>]) -> Result<(), OpError> {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;

    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for ((name, _), b) in parts.iter().zip(blocks) {
        match b {
            Block::Labels(a) => {
                fields.push(Field::new(name, DataType::Int64, false));
                columns.push(Arc::new(Int64Array::from_iter_values(a.iter().copied())));
            }
            Block::Values(a) => {
                fields.push(Field::new(name, DataType::Float64, false));
                columns.push(Arc::new(Float64Array::from_iter_values(a.iter().copied())));
            }
            Block::F64(a) => {
                for (j, col) in a.columns().into_iter().enumerate() {
                    fields.push(Field::new(format!("{name}_{j}"), DataType::Float64, false));
                    columns.push(Arc::new(Float64Array::from_iter_values(col.iter().copied())));
                }
            }
            Block::F32(a) => {
                for (j, col) in a.columns().into_iter().enumerate() {
                    fields.push(Field::new(format!("{name}_{j}"), DataType::Float32, false));
                    columns.push(Arc::new(Float32Array::from_iter_values(col.iter().copied())));
                }
            }
        }
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| OpError::new(e.to_string()))?;
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let tmp = path.with_extension("tmp-write");
    let run = || -> Result<(), String> {
        let file = File::create(&tmp).map_err(|e| e.to_string())?;
        let mut w = ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| e.to_string())?;
        w.write(&batch).map_err(|e| e.to_string())?;
        w.close().map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, path).map_err(|e| e.to_string())
    };
    run().map_err(|e| {
        // Best effort: the write error is the one to report.
        let _ = std::fs::remove_file(&tmp);
        OpError::new(format!("{}: {e}", path.display()))
    })
}

impl Op for WriteBlock {
    const NAME: &'static str = "rask.datasets.write_block";

    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, self.parts.len(), Self::NAME)?;
        let blocks = self.blocks(inputs)?;
        let rows = blocks.first().map_or(0, Block::rows);
        for ((name, _), b) in self.parts.iter().zip(&blocks) {
            op_ensure!(
                b.rows() == rows,
                "block {}: output '{name}' has {} rows, '{}' has {rows}",
                self.block,
                b.rows(),
                self.parts[0].0
            );
        }
        let paths = self.paths();
        match self.format {
            OutputFormat::Npy => {
                for (p, b) in paths.iter().zip(&blocks) {
                    write_npy(p, b)?;
                }
            }
            #[cfg(feature = "parquet")]
            OutputFormat::Parquet => write_parquet(&paths[0], &self.parts, &blocks)?,
            #[cfg(not(feature = "parquet"))]
            OutputFormat::Parquet => {
                return Err(OpError::new("Parquet output needs rask-datasets' `parquet` feature"));
            }
        }
        Ok(Value::new(rows as u64))
    }
}
