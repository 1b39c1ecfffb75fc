//! CSV files as chunked datasets, streamed in row blocks with typed columns.
//!
//! Building the graph scans the file once, in constant memory, to find where every block of
//! `chunk_rows` records starts (so quoted fields with newlines are handled) and to check that
//! every record has the same number of fields; a ragged record is an error naming the file and
//! line. Each block is then a task that seeks to its offset and parses only its records.
//! Feature columns are read as `f64` (an empty field is NaN, as in pandas); the target column
//! is `f64` or an `i64` class label, and may not be empty. A value that does not parse is an error naming the file,
//! line and column.

use rask_core::{op_bail, op_ensure};
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use ndarray::{Array1, Array2};
use rask_core::graph::Layers;
use rask_core::ops::expect_inputs;
use rask_core::{Graph, Key, Op, OpError, TaskOp, Tokenizer, Value};
use rask_ml::chunked::BlockLayer;
use rask_ml::{ChunkedArray, ChunkedDataset, ChunkedVector, Chunks, Element, Limits, MlError};
use serde::{Deserialize, Serialize};

use crate::generators::{BlockX, BlockY, XyBlock};
use crate::npy::LoadError;

/// One column, by header name or by position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CsvColumn {
    /// The column with this header name.
    Name(String),
    /// The column at this position (0-based).
    Index(usize),
}

/// Which columns are features.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CsvColumns {
    /// Every column except the target.
    AllExceptTarget,
    /// These columns, in this order.
    List(Vec<CsvColumn>),
}

/// How to read a CSV file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// Records per block.
    pub chunk_rows: usize,
    /// Field delimiter.
    pub delimiter: u8,
    /// Whether the first line holds column names.
    pub has_header: bool,
    /// The feature columns.
    pub features: CsvColumns,
    /// The target column, if any.
    pub target: Option<CsvColumn>,
    /// Feature columns of strings read as categories (see [`Categorical`]).
    pub categorical: Vec<Categorical>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            chunk_rows: 100_000,
            delimiter: b',',
            has_header: true,
            features: CsvColumns::AllExceptTarget,
            target: None,
            categorical: Vec::new(),
        }
    }
}

/// A feature column of strings read as categories: each value becomes its index among the
/// categories (as `f64`, ready for `OrdinalEncoder` or `OneHotEncoder`), and an empty field
/// becomes NaN (a missing value, for `SimpleImputer`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Categorical {
    /// The column.
    pub column: CsvColumn,
    /// The categories, in code order. `None`: the distinct non-empty values of the file,
    /// sorted, found while the file is scanned. Give the training file's (see
    /// [`csv_categories`]) to read another file with the same codes; a value not among them
    /// is then an error that names the line.
    pub categories: Option<Vec<String>>,
}

impl Categorical {
    /// The column, with its categories found in the file.
    pub fn new(column: CsvColumn) -> Self {
        Categorical { column, categories: None }
    }
}

/// How the target column is parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetKind {
    /// A number.
    Float,
    /// An integer class label.
    Label,
}

/// Target element types a CSV column can be read as: `f64` or `i64` labels.
pub trait CsvTarget: Element {
    /// How to parse the column.
    const KIND: TargetKind;
}

impl CsvTarget for f64 {
    const KIND: TargetKind = TargetKind::Float;
}

impl CsvTarget for i64 {
    const KIND: TargetKind = TargetKind::Label;
}

/// Parses records `rows` records of a CSV file starting at byte `offset`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CsvBlock {
    /// The file.
    pub path: String,
    /// Size when the graph was built.
    pub file_len: u64,
    /// Modification time when the graph was built.
    pub modified: u64,
    /// Byte offset of the block's first record.
    pub offset: u64,
    /// Line number of the block's first record (for error messages).
    pub first_line: u64,
    /// Records in the block.
    pub rows: usize,
    /// Field delimiter.
    pub delimiter: u8,
    /// Fields per record.
    pub n_fields: usize,
    /// Names of the columns (for error messages).
    pub names: Vec<String>,
    /// Positions of the feature columns.
    pub features: Vec<usize>,
    /// Position and kind of the target column.
    pub target: Option<(usize, TargetKind)>,
    /// Categorical feature columns: position and categories, sorted by position.
    #[serde(default)]
    pub categories: Vec<(usize, Vec<String>)>,
}

fn parse_f64(field: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(field).ok()?.trim();
    if s.is_empty() {
        return Some(f64::NAN);
    }
    s.parse::<f64>().ok()
}

/// An integer label: `3`, or a whole number written as a float (`3.0`, `3e0`, as pandas writes
/// integer columns that held a missing value).
fn parse_i64(field: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(field).ok()?.trim();
    s.parse::<i64>().ok().or_else(|| {
        let v = s.parse::<f64>().ok()?;
        (v.fract() == 0.0 && v.abs() <= 9_007_199_254_740_992.0).then_some(v as i64)
    })
}

impl Op for CsvBlock {
    const NAME: &'static str = "rask.datasets.csv_block";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 0, Self::NAME)?;
        let path = Path::new(&self.path);
        let (len, modified) = crate::npy::fingerprint(path).map_err(|e| OpError::new(e.to_string()))?;
        op_ensure!(
            (len, modified) == (self.file_len, self.modified),
            "{}: the file changed after the graph was built",
            self.path
        );
        let mut f = File::open(path).map_err(|e| OpError::new(format!("{}: {e}", self.path)))?;
        f.seek(SeekFrom::Start(self.offset)).map_err(|e| OpError::new(format!("{}: {e}", self.path)))?;
        let mut rdr =
            csv::ReaderBuilder::new().has_headers(false).delimiter(self.delimiter).flexible(true).from_reader(f);
        let n_x = self.features.len();
        crate::npy::check_task_block(Self::NAME, &self.path, self.rows, n_x)?;
        let mut x = Vec::with_capacity(self.rows * n_x);
        let mut y_f = Vec::new();
        let mut y_i = Vec::new();
        let mut rec = csv::ByteRecord::new();
        for k in 0..self.rows {
            let line = self.first_line + k as u64;
            let more =
                rdr.read_byte_record(&mut rec).map_err(|e| OpError::new(format!("{}: line {line}: {e}", self.path)))?;
            op_ensure!(more, "{}: ended before line {line}", self.path);
            let line = rec.position().map(|p| self.first_line + p.line() - 1).unwrap_or(line);
            op_ensure!(
                rec.len() == self.n_fields,
                "{}: line {line} has {} fields, expected {}",
                self.path,
                rec.len(),
                self.n_fields
            );
            let bad = |col: usize, what: &str| {
                OpError::new(format!(
                    "{}: line {line}, column '{}': cannot read {:?} as {what}",
                    self.path,
                    self.names[col],
                    String::from_utf8_lossy(&rec[col])
                ))
            };
            for &c in &self.features {
                match self.categories.binary_search_by_key(&c, |(i, _)| *i) {
                    Err(_) => x.push(parse_f64(&rec[c]).ok_or_else(|| bad(c, "a number"))?),
                    Ok(k) => {
                        let v = String::from_utf8_lossy(&rec[c]);
                        let v = v.trim();
                        let cats = &self.categories[k].1;
                        if v.is_empty() {
                            x.push(f64::NAN);
                        } else if let Some(code) = cats.iter().position(|s| s == v) {
                            x.push(code as f64);
                        } else {
                            op_bail!(
                                "{}: line {line}, column '{}': {v:?} is not one of its {} categories ({})",
                                self.path,
                                self.names[c],
                                cats.len(),
                                cats.iter().take(10).cloned().collect::<Vec<_>>().join(", ")
                            );
                        }
                    }
                }
            }
            match self.target {
                Some((c, TargetKind::Float)) => y_f.push(
                    parse_f64(&rec[c])
                        .filter(|v| !v.is_nan() || !rec[c].iter().all(u8::is_ascii_whitespace))
                        .ok_or_else(|| bad(c, "a target value (targets may not be missing)"))?,
                ),
                Some((c, TargetKind::Label)) => y_i.push(parse_i64(&rec[c]).ok_or_else(|| bad(c, "an integer label"))?),
                None => {}
            }
        }
        let x = Array2::from_shape_vec((self.rows, n_x), x).map_err(|e| OpError::new(e.to_string()))?;
        Ok(match self.target {
            None => Value::new(x),
            Some((_, TargetKind::Float)) => Value::new(XyBlock { x: Arc::new(x), y: Arc::new(Array1::from(y_f)) }),
            Some((_, TargetKind::Label)) => Value::new(XyBlock { x: Arc::new(x), y: Arc::new(Array1::from(y_i)) }),
        })
    }
}

fn format_error(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError::Format { path: path.to_path_buf(), message: message.into() }
}

fn resolve(path: &Path, col: &CsvColumn, names: &[String]) -> Result<usize, LoadError> {
    match col {
        CsvColumn::Index(i) if *i < names.len() => Ok(*i),
        CsvColumn::Index(i) => {
            Err(format_error(path, format!("column {i} does not exist: the file has {} columns", names.len())))
        }
        CsvColumn::Name(n) => names
            .iter()
            .position(|c| c == n)
            .ok_or_else(|| format_error(path, format!("no column named '{n}'; the columns are {names:?}"))),
    }
}

/// The feature column names that [`read_csv`] / [`read_csv_features`] would read with `opts`,
/// in order (`column 0`, `column 1`, … without a header): what a model fitted on the file
/// records, so that prediction files are read by the same columns.
pub fn csv_feature_names(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<Vec<String>, LoadError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| LoadError::Io { path: path.to_path_buf(), message: e.to_string() })?;
    let mut rdr = csv::ReaderBuilder::new().has_headers(opts.has_header).delimiter(opts.delimiter).from_reader(file);
    let names: Vec<String> = if opts.has_header {
        rdr.headers().map_err(|e| format_error(path, e.to_string()))?.iter().map(str::to_string).collect()
    } else {
        let mut rec = csv::ByteRecord::new();
        if !rdr.read_byte_record(&mut rec).map_err(|e| format_error(path, e.to_string()))? {
            return Err(format_error(path, "the file has no data rows"));
        }
        (0..rec.len()).map(|i| format!("column {i}")).collect()
    };
    let target = opts.target.as_ref().map(|c| resolve(path, c, &names)).transpose()?;
    match &opts.features {
        CsvColumns::AllExceptTarget => {
            Ok(names.iter().enumerate().filter(|(i, _)| Some(*i) != target).map(|(_, n)| n.clone()).collect())
        }
        CsvColumns::List(cols) => cols.iter().map(|c| resolve(path, c, &names).map(|i| names[i].clone())).collect(),
    }
}

/// Categorical columns by name, each with its categories in code order.
pub type ColumnCategories = Vec<(String, Vec<String>)>;

/// The categories of each categorical column of `opts` (by column name, in code order) as
/// [`read_csv`] / [`read_csv_features`] would read them: what a model fitted on the file
/// records, to read other files with the same codes. One pass over the file.
pub fn csv_categories(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<ColumnCategories, LoadError> {
    // Scanned as features only: the target's values are not read here.
    let opts = CsvOptions { target: None, ..opts.clone() };
    Ok(scan(path.as_ref(), &opts, None)?.2)
}

/// Scans the file and builds the block layer of `CsvBlock` tasks.
fn scan(
    path: &Path,
    opts: &CsvOptions,
    kind: Option<TargetKind>,
) -> Result<(BlockLayer, usize, ColumnCategories), LoadError> {
    if opts.chunk_rows == 0 {
        return Err(MlError::InvalidParameter { name: "chunk_rows", message: "must be at least 1".into() }.into());
    }
    let (file_len, modified) = crate::npy::fingerprint(path)?;
    let file = File::open(path).map_err(|e| LoadError::Io { path: path.to_path_buf(), message: e.to_string() })?;
    let mut rdr = csv::ReaderBuilder::new().has_headers(opts.has_header).delimiter(opts.delimiter).from_reader(file);
    let csv_error = |e: csv::Error| match e.kind() {
        csv::ErrorKind::UnequalLengths { pos, expected_len, len } => format_error(
            path,
            format!("line {} has {len} fields, expected {expected_len}", pos.as_ref().map(|p| p.line()).unwrap_or(0)),
        ),
        _ => format_error(path, e.to_string()),
    };
    let mut names: Vec<String> = if opts.has_header {
        rdr.headers().map_err(csv_error)?.iter().map(str::to_string).collect()
    } else {
        Vec::new()
    };
    // Categorical columns whose categories are found here: their positions.
    let header_names = names.clone();
    let mut found: Vec<(usize, std::collections::BTreeSet<String>)> = Vec::new();
    for c in opts.categorical.iter().filter(|c| c.categories.is_none()) {
        let i = match &c.column {
            CsvColumn::Index(i) => *i,
            CsvColumn::Name(_) if !opts.has_header => {
                return Err(MlError::InvalidParameter {
                    name: "categorical",
                    message: "a file without a header names its columns by position".into(),
                }
                .into())
            }
            col => resolve(path, col, &header_names)?,
        };
        found.push((i, std::collections::BTreeSet::new()));
    }
    // Blocks are listed as the scan finds them; past the block-count limit the scan only counts
    // the rows, so the error can state the numbers without listing the blocks.
    let limits = Limits::current()?;
    let mut n_rows: u64 = 0;
    let mut over_limit = false;
    let mut starts: Vec<(u64, u64)> = Vec::new();
    let mut sizes: Vec<usize> = Vec::new();
    let mut rec = csv::ByteRecord::new();
    let mut n_fields = if opts.has_header { Some(names.len()) } else { None };
    loop {
        let pos = rdr.position().clone();
        if !rdr.read_byte_record(&mut rec).map_err(csv_error)? {
            break;
        }
        let start = rec.position().cloned().unwrap_or(pos);
        match n_fields {
            None => n_fields = Some(rec.len()),
            Some(n) if n != rec.len() => {
                return Err(format_error(path, format!("line {} has {} fields, expected {n}", start.line(), rec.len())))
            }
            Some(_) => {}
        }
        n_rows += 1;
        if !over_limit && sizes.last().is_none_or(|&s| s == opts.chunk_rows) {
            if sizes.len() as u64 >= limits.max_blocks {
                over_limit = true;
            } else {
                starts.push((start.byte(), start.line()));
                sizes.push(0);
            }
        }
        if !over_limit {
            *sizes.last_mut().expect("a block was just opened") += 1;
        }
        for (i, set) in &mut found {
            if let Some(v) = rec.get(*i) {
                let v = String::from_utf8_lossy(v);
                let v = v.trim();
                if !v.is_empty() && !set.contains(v) {
                    set.insert(v.to_string());
                }
            }
        }
    }
    let params = format!("{}: {n_rows} rows, chunk_rows = {}", path.display(), opts.chunk_rows);
    if over_limit {
        return Err(MlError::TooManyBlocks {
            what: "read_csv".into(),
            n_blocks: n_rows.div_ceil(opts.chunk_rows as u64),
            block_rows: opts.chunk_rows as u64,
            params,
            limit: limits.max_blocks,
        }
        .into());
    }
    let n_fields = n_fields.unwrap_or(0);
    if sizes.is_empty() {
        return Err(format_error(path, "the file has no data rows"));
    }
    if !opts.has_header {
        names = (0..n_fields).map(|i| format!("column {i}")).collect();
    }
    let target = match (&opts.target, kind) {
        (Some(c), Some(k)) => Some((resolve(path, c, &names)?, k)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(MlError::InvalidParameter {
                name: "target",
                message: "a target column was given to a features-only reader; use read_csv".into(),
            }
            .into())
        }
        (None, Some(_)) => {
            return Err(
                MlError::InvalidParameter { name: "target", message: "read_csv needs a target column".into() }.into()
            )
        }
    };
    let features: Vec<usize> = match &opts.features {
        CsvColumns::AllExceptTarget => (0..n_fields).filter(|&i| Some(i) != target.map(|t| t.0)).collect(),
        CsvColumns::List(cols) => cols.iter().map(|c| resolve(path, c, &names)).collect::<Result<_, _>>()?,
    };
    if features.is_empty() {
        return Err(MlError::InvalidParameter { name: "features", message: "no feature column".into() }.into());
    }
    if let Some((t, _)) = target {
        if features.contains(&t) {
            return Err(MlError::InvalidParameter {
                name: "features",
                message: format!("the target column '{}' is also a feature", names[t]),
            }
            .into());
        }
    }
    let block_rows = sizes.iter().copied().max().unwrap_or(0) as u64;
    limits.check_block_bytes(
        "read_csv",
        block_rows,
        features.len() as u64,
        crate::npy::BLOCK_ELEMENT_BYTES,
        &params,
    )?;
    let mut categories: Vec<(usize, Vec<String>)> = Vec::new();
    for c in &opts.categorical {
        let i = resolve(path, &c.column, &names)?;
        if !features.contains(&i) {
            return Err(MlError::InvalidParameter {
                name: "categorical",
                message: format!("column '{}' is categorical but not a feature", names[i]),
            }
            .into());
        }
        let cats = match &c.categories {
            Some(given) => given.clone(),
            None => found.iter().find(|(j, _)| *j == i).map(|(_, s)| s.iter().cloned().collect()).unwrap_or_default(),
        };
        if categories.iter().any(|(j, _)| *j == i) {
            return Err(MlError::InvalidParameter {
                name: "categorical",
                message: format!("column '{}' is listed twice", names[i]),
            }
            .into());
        }
        categories.push((i, cats));
    }
    categories.sort_by_key(|(i, _)| *i);
    let path_str = crate::npy::absolute_utf8(path)?;
    let mut t = Tokenizer::new();
    t.str("rask.datasets.read_csv").str(&path_str).u64(file_len).u64(modified).u64(opts.chunk_rows as u64);
    t.u64(u64::from(opts.delimiter)).u64(u64::from(opts.has_header));
    // Length-prefixed features and a tag for the target, so a features-only layer and a
    // dataset layer can never share a name.
    t.u64(features.len() as u64);
    for &f in &features {
        t.u64(f as u64);
    }
    match target {
        Some((c, k)) => t.u64(1).u64(c as u64).u64(k as u64),
        None => t.u64(0),
    };
    t.u64(categories.len() as u64);
    for (i, cats) in &categories {
        t.u64(*i as u64).u64(cats.len() as u64);
        for c in cats {
            t.str(c);
        }
    }
    let name = rask_core::KeyName::new(&format!("csv-{}", t.finish().hex()));
    let mut g = Graph::with_capacity(sizes.len());
    for (i, (&(offset, first_line), &rows)) in starts.iter().zip(&sizes).enumerate() {
        let op = CsvBlock {
            path: path_str.clone(),
            file_len,
            modified,
            offset,
            first_line,
            rows,
            delimiter: opts.delimiter,
            n_fields,
            names: names.clone(),
            features: features.clone(),
            target,
            categories: categories.clone(),
        };
        g.add_task(Key::block(name.clone(), i as u64), TaskOp::op(op), vec![]);
    }
    let named = categories.into_iter().map(|(i, c)| (names[i].clone(), c)).collect();
    Ok((BlockLayer::new(Layers::from_graph(g), name, Chunks::Known(sizes))?, features.len(), named))
}

/// The feature columns of a CSV file as a chunked `f64` array (no target).
pub fn read_csv_features(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<ChunkedArray<f64>, LoadError> {
    let (layer, n_cols, _) = scan(path.as_ref(), opts, None)?;
    Ok(ChunkedArray::from_block_layer(layer, n_cols))
}

/// A CSV file as a chunked dataset: features as `f64`, the target as `Y` (`f64` or `i64`).
pub fn read_csv<Y: CsvTarget>(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<ChunkedDataset<f64, Y>, LoadError> {
    let (layer, n_cols, _) = scan(path.as_ref(), opts, Some(Y::KIND))?;
    let chunks = layer.chunks().clone();
    let x = ChunkedArray::from_block_layer(layer.map(BlockX, chunks.clone())?, n_cols);
    let y = ChunkedVector::from_block_layer(layer.map(BlockY, chunks)?);
    Ok(ChunkedDataset::new(x, y)?)
}
