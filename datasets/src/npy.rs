//! `.npy` files and folders of them as chunked arrays, read block by block, and a streaming
//! `.npy` writer.
//!
//! The header is parsed here (format versions 1–3; little- or big-endian `f8`, `f4`, `i8`;
//! C or Fortran order). Each block is a task that opens the file and reads only its rows, so a
//! file of any size is read with one block per worker thread in memory. The file's path, size
//! and modification time are part of the task's arguments: workers must see the same file
//! system, and a file that changes after the graph was built is reported, not misread.

use rask_core::{op_bail, op_ensure};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use ndarray::{Array1, Array2};
use rask_core::ops::expect_inputs;
use rask_core::{Op, OpError, Scheduler, Tokenizer, Value};
use rask_ml::chunked::BlockLayer;
use rask_ml::{ChunkedArray, ChunkedVector, Chunks, Element, Float, Limits, MlError};
use serde::{Deserialize, Serialize};

/// Errors of loaders and writers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be opened, read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The file is not a valid file of its format (bad magic, header, truncated data, …).
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The file holds another element type than the one asked for.
    #[error("{path}: holds {found} values, but {expected} was asked for")]
    WrongDtype {
        /// The file.
        path: PathBuf,
        /// The type asked for.
        expected: &'static str,
        /// The type in the file.
        found: String,
    },
    /// Chunked-data error.
    #[error(transparent)]
    Ml(#[from] MlError),
}

impl From<rask_core::Error> for LoadError {
    fn from(e: rask_core::Error) -> Self {
        LoadError::Ml(MlError::Graph(e))
    }
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> LoadError {
    LoadError::Io { path: path.to_path_buf(), message: e.to_string() }
}

fn format_error(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError::Format { path: path.to_path_buf(), message: message.into() }
}

/// The element types `.npy` files can hold here. Any of them is read as `f64` or `f32`
/// features, or as `i64` labels (floats only when every value is a whole number), as numpy's
/// `astype` would convert them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NpyDtype {
    /// 8-byte float.
    F64,
    /// 4-byte float.
    F32,
    /// 8-byte signed integer.
    I64,
    /// 4-byte signed integer.
    I32,
    /// 2-byte signed integer.
    I16,
    /// 1-byte signed integer.
    I8,
    /// 8-byte unsigned integer.
    U64,
    /// 4-byte unsigned integer.
    U32,
    /// 2-byte unsigned integer.
    U16,
    /// 1-byte unsigned integer.
    U8,
    /// numpy's 1-byte boolean (read as 0 and 1).
    Bool,
}

impl NpyDtype {
    fn size(self) -> usize {
        match self {
            NpyDtype::F64 | NpyDtype::I64 | NpyDtype::U64 => 8,
            NpyDtype::F32 | NpyDtype::I32 | NpyDtype::U32 => 4,
            NpyDtype::I16 | NpyDtype::U16 => 2,
            NpyDtype::I8 | NpyDtype::U8 | NpyDtype::Bool => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            NpyDtype::F64 => "f64",
            NpyDtype::F32 => "f32",
            NpyDtype::I64 => "i64",
            NpyDtype::I32 => "i32",
            NpyDtype::I16 => "i16",
            NpyDtype::I8 => "i8",
            NpyDtype::U64 => "u64",
            NpyDtype::U32 => "u32",
            NpyDtype::U16 => "u16",
            NpyDtype::U8 => "u8",
            NpyDtype::Bool => "bool",
        }
    }

    /// The element types values can be converted to: `f64`, `f32` and `i64`.
    fn of_output(dtype: &str) -> Option<NpyDtype> {
        match dtype {
            "f64" => Some(NpyDtype::F64),
            "f32" => Some(NpyDtype::F32),
            "i64" => Some(NpyDtype::I64),
            _ => None,
        }
    }
}

/// One element of any dtype, decoded.
#[derive(Clone, Copy)]
enum Num {
    F(f64),
    I(i64),
    U(u64),
}

fn num_of(dtype: NpyDtype, b: &[u8], big: bool) -> Num {
    macro_rules! int {
        ($t:ty, $n:literal) => {{
            let mut a = [0u8; $n];
            a.copy_from_slice(&b[..$n]);
            if big {
                <$t>::from_be_bytes(a)
            } else {
                <$t>::from_le_bytes(a)
            }
        }};
    }
    match dtype {
        NpyDtype::F64 => Num::F(int!(f64, 8)),
        NpyDtype::F32 => Num::F(f64::from(int!(f32, 4))),
        NpyDtype::I64 => Num::I(int!(i64, 8)),
        NpyDtype::I32 => Num::I(i64::from(int!(i32, 4))),
        NpyDtype::I16 => Num::I(i64::from(int!(i16, 2))),
        NpyDtype::I8 => Num::I(i64::from(b[0] as i8)),
        NpyDtype::U64 => Num::U(int!(u64, 8)),
        NpyDtype::U32 => Num::U(u64::from(int!(u32, 4))),
        NpyDtype::U16 => Num::U(u64::from(int!(u16, 2))),
        NpyDtype::U8 | NpyDtype::Bool => Num::U(u64::from(b[0])),
    }
}

impl Num {
    fn as_f64(self) -> f64 {
        match self {
            Num::F(v) => v,
            Num::I(v) => v as f64,
            Num::U(v) => v as f64,
        }
    }

    fn as_label(self) -> Option<i64> {
        match self {
            Num::I(v) => Some(v),
            Num::U(v) => i64::try_from(v).ok(),
            // Whole floats only (labels saved as 0.0, 1.0, ...), within the exact range.
            Num::F(v) if v.fract() == 0.0 && v.abs() <= 9_007_199_254_740_992.0 => Some(v as i64),
            Num::F(_) => None,
        }
    }
}

/// A parsed `.npy` header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NpyHeader {
    /// Element type.
    pub dtype: NpyDtype,
    /// Whether the data is big-endian.
    pub big_endian: bool,
    /// Whether the data is in column-major (Fortran) order.
    pub fortran_order: bool,
    /// The shape (1 or 2 dimensions).
    pub shape: Vec<usize>,
    /// Where the data starts.
    pub data_offset: u64,
}

impl NpyHeader {
    fn rows(&self) -> usize {
        self.shape[0]
    }

    fn cols(&self) -> usize {
        self.shape.get(1).copied().unwrap_or(1)
    }

    fn data_len(&self) -> Option<u64> {
        (self.rows() as u64).checked_mul(self.cols() as u64)?.checked_mul(self.dtype.size() as u64)
    }
}

fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    Some(rest)
}

/// Parses the header of an `.npy` file from its first bytes.
pub fn parse_header(bytes: &[u8], path: &Path) -> Result<NpyHeader, LoadError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(format_error(path, "not an .npy file (bad magic bytes)"));
    }
    let major = bytes[6];
    let (len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(format_error(path, "truncated header"));
            }
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        v => return Err(format_error(path, format!("unsupported .npy format version {v}"))),
    };
    let header = bytes.get(start..start + len).ok_or_else(|| format_error(path, "truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| format_error(path, "header is not text"))?;

    let descr = dict_value(header, "descr").ok_or_else(|| format_error(path, "header has no 'descr'"))?;
    let quote =
        descr.chars().next().filter(|c| *c == '\'' || *c == '"').ok_or_else(|| format_error(path, "bad 'descr'"))?;
    let descr = &descr[1..descr[1..].find(quote).map(|i| i + 1).ok_or_else(|| format_error(path, "bad 'descr'"))?];
    let (big_endian, code) = match (descr.get(..1), descr.get(1..)) {
        (Some("<"), Some(c)) => (false, c),
        (Some(">"), Some(c)) => (true, c),
        (Some("="), Some(c)) => (cfg!(target_endian = "big"), c),
        // One-byte types have no byte order.
        (Some("|"), Some(c)) => (false, c),
        _ => return Err(format_error(path, format!("unsupported dtype '{descr}'"))),
    };
    let dtype = match code {
        "f8" => NpyDtype::F64,
        "f4" => NpyDtype::F32,
        "i8" => NpyDtype::I64,
        "i4" => NpyDtype::I32,
        "i2" => NpyDtype::I16,
        "i1" => NpyDtype::I8,
        "u8" => NpyDtype::U64,
        "u4" => NpyDtype::U32,
        "u2" => NpyDtype::U16,
        "u1" => NpyDtype::U8,
        "b1" => NpyDtype::Bool,
        _ => {
            return Err(LoadError::WrongDtype {
                path: path.to_path_buf(),
                expected: "a float, integer or boolean dtype",
                found: format!("'{descr}'"),
            })
        }
    };
    let fortran =
        dict_value(header, "fortran_order").ok_or_else(|| format_error(path, "header has no 'fortran_order'"))?;
    let fortran_order = if fortran.starts_with("True") {
        true
    } else if fortran.starts_with("False") {
        false
    } else {
        return Err(format_error(path, "bad 'fortran_order'"));
    };
    let shape = dict_value(header, "shape").ok_or_else(|| format_error(path, "header has no 'shape'"))?;
    let shape =
        shape.strip_prefix('(').and_then(|s| s.split(')').next()).ok_or_else(|| format_error(path, "bad 'shape'"))?;
    let shape: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| format_error(path, format!("bad dimension '{s}' in 'shape'"))))
        .collect::<Result<_, _>>()?;
    if shape.is_empty() || shape.len() > 2 {
        return Err(format_error(path, format!("only 1-D and 2-D arrays are supported, this one has shape {shape:?}")));
    }
    Ok(NpyHeader { dtype, big_endian, fortran_order, shape, data_offset: (start + len) as u64 })
}

/// The path made absolute (against the working directory, without touching the file system)
/// as UTF-8: what a block op stores, so that a worker started elsewhere (another directory, a
/// cluster node with the same mounts) opens the same file.
pub(crate) fn absolute_utf8(path: &Path) -> Result<String, LoadError> {
    let abs = std::path::absolute(path).map_err(|e| io_error(path, e))?;
    abs.to_str().map(str::to_string).ok_or_else(|| format_error(path, "the path is not valid UTF-8"))
}

/// Bytes per element that the loaders count for a block: the widest element type a block is
/// converted to (`f64`, `i64`).
pub(crate) const BLOCK_ELEMENT_BYTES: u64 = 8;

/// A block task's own check, against the limits of the process that runs it, before it
/// allocates the block: a failed allocation aborts the process instead of returning an error.
pub(crate) fn check_task_block(what: &str, path: &str, rows: usize, n_cols: usize) -> Result<(), OpError> {
    Limits::current()
        .and_then(|l| l.check_block_bytes(what, rows as u64, n_cols as u64, BLOCK_ELEMENT_BYTES, path))
        .map_err(|e| OpError::new(e.to_string()))
}

/// Size and modification time, to detect a file that changed after the graph was built.
pub(crate) fn fingerprint(path: &Path) -> Result<(u64, u64), LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    let modified =
        meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_nanos() as u64).unwrap_or(0);
    Ok((meta.len(), modified))
}

/// Reads and checks the header of the file at `path`.
pub fn read_header(path: &Path) -> Result<NpyHeader, LoadError> {
    let mut f = File::open(path).map_err(|e| io_error(path, e))?;
    let mut head = vec![0u8; 4096];
    let mut got = 0;
    while got < head.len() {
        let n = f.read(&mut head[got..]).map_err(|e| io_error(path, e))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    head.truncate(got);
    // The header may be longer than the first read: version 1 allows 65,535 bytes, versions 2
    // and 3 up to 4 GiB (headers past 16 MiB are refused rather than allocated).
    let needed = match head.get(6) {
        Some(1) if head.len() >= 10 => Some(10 + u16::from_le_bytes([head[8], head[9]]) as usize),
        Some(2 | 3) if head.len() >= 12 => {
            Some(12 + u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize)
        }
        _ => None,
    };
    if let Some(needed) = needed.filter(|&n| n > head.len() && n < (1 << 24)) {
        head.resize(needed, 0);
        f.seek(SeekFrom::Start(got as u64)).map_err(|e| io_error(path, e))?;
        f.read_exact(&mut head[got..]).map_err(|_| format_error(path, "truncated header"))?;
    }
    let header = parse_header(&head, path)?;
    let file_len = std::fs::metadata(path).map_err(|e| io_error(path, e))?.len();
    let want = header.data_len().and_then(|d| d.checked_add(header.data_offset));
    match want {
        Some(w) if w == file_len => Ok(header),
        Some(w) => Err(format_error(
            path,
            format!(
                "the header announces {} bytes of data but the file holds {}",
                w - header.data_offset,
                file_len.saturating_sub(header.data_offset)
            ),
        )),
        None => Err(format_error(path, "shape overflows")),
    }
}

/// Reads rows `row_start..row_start + rows` of an `.npy` file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NpyBlock {
    /// The file.
    pub path: String,
    /// Its header, as parsed when the graph was built.
    pub header: NpyHeader,
    /// File size and modification time when the graph was built.
    pub file_len: u64,
    /// Modification time (nanoseconds since the epoch) when the graph was built.
    pub modified: u64,
    /// First row.
    pub row_start: usize,
    /// Rows to read.
    pub rows: usize,
    /// The element type to convert to (`None`: the file's own, which must be f64, f32 or i64).
    #[serde(default)]
    pub output: Option<NpyDtype>,
}

fn decode<T>(bytes: &[u8], size: usize, big: bool, conv: fn([u8; 8], bool) -> T) -> Vec<T> {
    bytes
        .chunks_exact(size)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..size].copy_from_slice(c);
            conv(b, big)
        })
        .collect()
}

fn f64_of(b: [u8; 8], big: bool) -> f64 {
    if big {
        f64::from_be_bytes(b)
    } else {
        f64::from_le_bytes(b)
    }
}

fn f32_of(b: [u8; 8], big: bool) -> f32 {
    let b4 = [b[0], b[1], b[2], b[3]];
    if big {
        f32::from_be_bytes(b4)
    } else {
        f32::from_le_bytes(b4)
    }
}

fn i64_of(b: [u8; 8], big: bool) -> i64 {
    if big {
        i64::from_be_bytes(b)
    } else {
        i64::from_le_bytes(b)
    }
}

/// A plain numeric type whose every bit pattern is a valid value, so a file's bytes in this
/// machine's byte order can be read straight into a `Vec` of it.
trait Plain: Copy + Default + 'static {}
impl Plain for f64 {}
impl Plain for f32 {}
impl Plain for i64 {}

/// Tells the kernel the whole byte range will be read now, so it reads it ahead at full queue
/// depth instead of the small default read-ahead window a plain sequential `read` grows from:
/// a block streams from disk at the device's rate. A hint: failures are ignored.
#[cfg(target_os = "linux")]
fn will_need(f: &File, offset: u64, len: usize) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else { return };
    // SAFETY: `posix_fadvise` only reads its integer arguments; the descriptor is open (owned by `f`).
    unsafe {
        libc::posix_fadvise(f.as_raw_fd(), offset, len, libc::POSIX_FADV_WILLNEED);
    }
}

#[cfg(not(target_os = "linux"))]
fn will_need(_: &File, _: u64, _: usize) {}

impl NpyBlock {
    /// The block's values read straight into their final vector, with no byte buffer and no
    /// decoding pass: for a file in this machine's byte order whose element type is `T`.
    fn read_native<T: Plain>(&self) -> Result<Vec<T>, OpError> {
        let h = &self.header;
        let mut values = vec![T::default(); self.rows * h.cols()];
        let len = std::mem::size_of_val(values.as_slice());
        // SAFETY: `T` is f64, f32 or i64 (`Plain`): no padding, and every byte pattern the file
        // writes into this buffer is a valid value; the byte view covers exactly the vector's
        // initialised elements and lives no longer than the borrow of `values`.
        let bytes = unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast::<u8>(), len) };
        self.read_into(bytes)?;
        Ok(values)
    }

    fn read_bytes(&self) -> Result<Vec<u8>, OpError> {
        let h = &self.header;
        let mut out = vec![0u8; self.rows * h.cols() * h.dtype.size()];
        self.read_into(&mut out)?;
        Ok(out)
    }

    /// Reads the block's bytes, row-major, into `out` (exactly its size).
    fn read_into(&self, out: &mut [u8]) -> Result<(), OpError> {
        let path = Path::new(&self.path);
        let (len, modified) = fingerprint(path).map_err(|e| OpError::new(e.to_string()))?;
        op_ensure!(
            (len, modified) == (self.file_len, self.modified),
            "{}: the file changed after the graph was built",
            self.path
        );
        let h = &self.header;
        let size = h.dtype.size();
        let (n_rows, n_cols) = (h.rows(), h.cols());
        if self.row_start + self.rows > n_rows {
            op_bail!("{}: rows {}..{} of {n_rows}", self.path, self.row_start, self.row_start + self.rows);
        }
        check_task_block(Self::NAME, &self.path, self.rows, n_cols)?;
        let mut f = File::open(path).map_err(|e| OpError::new(format!("{}: {e}", self.path)))?;
        op_ensure!(
            out.len() == self.rows * n_cols * size,
            "{}: a buffer of {} bytes for the block",
            self.path,
            out.len()
        );
        let read_at = |f: &mut File, offset: u64, buf: &mut [u8]| -> Result<(), OpError> {
            f.seek(SeekFrom::Start(offset)).map_err(|e| OpError::new(format!("{}: {e}", self.path)))?;
            f.read_exact(buf).map_err(|e| OpError::new(format!("{}: {e}", self.path)))
        };
        if !h.fortran_order || n_cols == 1 {
            let offset = h.data_offset + (self.row_start * n_cols * size) as u64;
            will_need(&f, offset, out.len());
            read_at(&mut f, offset, out)?;
        } else {
            // Column-major: read each column's run of rows, then interleave into row-major order.
            let mut col = vec![0u8; self.rows * size];
            for j in 0..n_cols {
                let offset = h.data_offset + ((j * n_rows + self.row_start) * size) as u64;
                read_at(&mut f, offset, &mut col)?;
                for i in 0..self.rows {
                    let dst = (i * n_cols + j) * size;
                    out[dst..dst + size].copy_from_slice(&col[i * size..(i + 1) * size]);
                }
            }
        }
        Ok(())
    }
}

impl Op for NpyBlock {
    const NAME: &'static str = "rask.datasets.npy_block";

    /// Asks the OS to read the block's bytes ahead (C order; a Fortran-order block is read
    /// column by column and gets no hint).
    fn prefetch(&self) {
        let h = &self.header;
        if h.fortran_order && h.cols() != 1 {
            return;
        }
        if let Ok(f) = File::open(&self.path) {
            let size = h.dtype.size();
            let offset = h.data_offset + (self.row_start * h.cols() * size) as u64;
            will_need(&f, offset, self.rows * h.cols() * size);
        }
    }

    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 0, Self::NAME)?;
        let h = &self.header;
        // The common case, a file in this machine's byte order read as its own type: straight
        // into the array, one copy (the read) instead of a read and a decoding pass.
        if h.big_endian == cfg!(target_endian = "big") && self.output.is_none_or(|o| o == h.dtype) {
            let shape = (self.rows, h.cols());
            let err = |e: ndarray::ShapeError| OpError::new(e.to_string());
            let two_d = h.shape.len() == 2;
            macro_rules! native {
                ($t:ty) => {{
                    let v = self.read_native::<$t>()?;
                    if two_d {
                        Value::new(Array2::from_shape_vec(shape, v).map_err(err)?)
                    } else {
                        Value::new(Array1::from(v))
                    }
                }};
            }
            match h.dtype {
                NpyDtype::F64 => return Ok(native!(f64)),
                NpyDtype::F32 => return Ok(native!(f32)),
                NpyDtype::I64 => return Ok(native!(i64)),
                _ => {}
            }
        }
        let bytes = self.read_bytes()?;
        let (size, big) = (h.dtype.size(), h.big_endian);
        let two_d = h.shape.len() == 2;
        let shape = (self.rows, h.cols());
        let err = |e: ndarray::ShapeError| OpError::new(e.to_string());
        let output = self.output.unwrap_or(h.dtype);
        if output != h.dtype {
            return self.converted(&bytes, output, two_d, shape);
        }
        Ok(match (h.dtype, two_d) {
            (NpyDtype::F64, true) => {
                Value::new(Array2::from_shape_vec(shape, decode(&bytes, size, big, f64_of)).map_err(err)?)
            }
            (NpyDtype::F32, true) => {
                Value::new(Array2::from_shape_vec(shape, decode(&bytes, size, big, f32_of)).map_err(err)?)
            }
            (NpyDtype::I64, true) => {
                Value::new(Array2::from_shape_vec(shape, decode(&bytes, size, big, i64_of)).map_err(err)?)
            }
            (NpyDtype::F64, false) => Value::new(Array1::from(decode(&bytes, size, big, f64_of))),
            (NpyDtype::F32, false) => Value::new(Array1::from(decode(&bytes, size, big, f32_of))),
            (NpyDtype::I64, false) => Value::new(Array1::from(decode(&bytes, size, big, i64_of))),
            (other, _) => {
                op_bail!("{}: {} values need a conversion to f64, f32 or i64", self.path, other.name())
            }
        })
    }
}

impl NpyBlock {
    /// The block's values converted to `output` (f64, f32 or i64).
    fn converted(&self, bytes: &[u8], output: NpyDtype, two_d: bool, shape: (usize, usize)) -> Result<Value, OpError> {
        let h = &self.header;
        let size = h.dtype.size();
        let nums = bytes.chunks_exact(size).map(|c| num_of(h.dtype, c, h.big_endian));
        let err = |e: ndarray::ShapeError| OpError::new(e.to_string());
        Ok(match output {
            NpyDtype::F64 | NpyDtype::F32 => {
                let v: Vec<f64> = nums.map(Num::as_f64).collect();
                match (output, two_d) {
                    (NpyDtype::F64, true) => Value::new(Array2::from_shape_vec(shape, v).map_err(err)?),
                    (NpyDtype::F64, false) => Value::new(Array1::from(v)),
                    (_, true) => Value::new(
                        Array2::from_shape_vec(shape, v.into_iter().map(|x| x as f32).collect()).map_err(err)?,
                    ),
                    (_, false) => Value::new(Array1::from(v.into_iter().map(|x| x as f32).collect::<Vec<f32>>())),
                }
            }
            NpyDtype::I64 => {
                let mut v = Vec::with_capacity(bytes.len() / size);
                for (k, n) in nums.enumerate() {
                    let label = n.as_label().ok_or_else(|| {
                        OpError::new(format!(
                            "{}: row {} holds {}, which is not a whole number, so it cannot be an integer label",
                            self.path,
                            self.row_start + k / shape.1.max(1),
                            n.as_f64()
                        ))
                    })?;
                    v.push(label);
                }
                if two_d {
                    Value::new(Array2::from_shape_vec(shape, v).map_err(err)?)
                } else {
                    Value::new(Array1::from(v))
                }
            }
            other => op_bail!("cannot convert .npy values to {}", other.name()),
        })
    }
}

/// The blocks of one file: ops and row counts.
fn file_blocks(path: &Path, chunk_rows: usize) -> Result<(NpyHeader, Vec<NpyBlock>), LoadError> {
    if chunk_rows == 0 {
        return Err(MlError::InvalidParameter { name: "chunk_rows", message: "must be at least 1".into() }.into());
    }
    let header = read_header(path)?;
    if header.rows() == 0 {
        return Err(format_error(path, "the array has no rows"));
    }
    // The header's shape is checked against the limits before one block is listed: a sparse
    // or huge file may announce far more rows than blocks or memory can hold.
    let limits = Limits::current()?;
    let params = format!("{}: shape {:?}, chunk_rows = {chunk_rows}", path.display(), header.shape);
    limits.check_regular("read_npy", header.rows() as u64, chunk_rows as u64, &params)?;
    let block_rows = chunk_rows.min(header.rows()) as u64;
    limits.check_block_bytes("read_npy", block_rows, header.cols() as u64, BLOCK_ELEMENT_BYTES, &params)?;
    let (file_len, modified) = fingerprint(path)?;
    let path_str = crate::npy::absolute_utf8(path)?;
    let mut blocks = Vec::new();
    let mut start = 0;
    while start < header.rows() {
        let rows = chunk_rows.min(header.rows() - start);
        blocks.push(NpyBlock {
            path: path_str.clone(),
            header: header.clone(),
            file_len,
            modified,
            row_start: start,
            rows,
            output: None,
        });
        start += rows;
    }
    Ok((header, blocks))
}

fn layer_of(blocks: Vec<NpyBlock>) -> Result<BlockLayer, LoadError> {
    let mut t = Tokenizer::new();
    t.str("rask.datasets.read_npy").u64(blocks.len() as u64);
    for b in &blocks {
        t.str(&b.path).u64(b.file_len).u64(b.modified).u64(b.row_start as u64).u64(b.rows as u64);
    }
    let name = rask_core::KeyName::new(&format!("npy-{}", t.finish().hex()));
    let sizes = blocks.iter().map(|b| b.rows).collect();
    let mut g = rask_core::Graph::with_capacity(blocks.len());
    for (i, b) in blocks.into_iter().enumerate() {
        g.add_task(rask_core::Key::block(name.clone(), i as u64), rask_core::TaskOp::op(b), vec![]);
    }
    Ok(BlockLayer::new(rask_core::graph::Layers::from_graph(g), name, Chunks::Known(sizes))?)
}

fn check_2d(path: &Path, h: &NpyHeader) -> Result<(), LoadError> {
    if h.shape.len() != 2 {
        return Err(format_error(path, format!("expected a 2-D array, found shape {:?}", h.shape)));
    }
    Ok(())
}

/// A 2-D `.npy` file as a chunked array of blocks of `chunk_rows` rows. Values of another
/// element type (`f32`, integers, booleans) are converted to `F` as each block is read.
pub fn read_npy<F: Float>(path: impl AsRef<Path>, chunk_rows: usize) -> Result<ChunkedArray<F>, LoadError> {
    let path = path.as_ref();
    let (header, blocks) = file_blocks(path, chunk_rows)?;
    check_2d(path, &header)?;
    Ok(ChunkedArray::from_block_layer(layer_of(converting(blocks, F::DTYPE, path)?)?, header.cols()))
}

/// The blocks, converting to `dtype` where the file holds another element type.
fn converting(mut blocks: Vec<NpyBlock>, dtype: &'static str, path: &Path) -> Result<Vec<NpyBlock>, LoadError> {
    let Some(out) = NpyDtype::of_output(dtype) else {
        // Element types without a conversion must match the file's exactly.
        if let Some(b) = blocks.first() {
            if b.header.dtype.name() != dtype {
                return Err(LoadError::WrongDtype {
                    path: path.to_path_buf(),
                    expected: dtype,
                    found: b.header.dtype.name().into(),
                });
            }
        }
        return Ok(blocks);
    };
    for b in &mut blocks {
        if b.header.dtype != out {
            b.output = Some(out);
        }
    }
    Ok(blocks)
}

/// A 1-D `.npy` file (targets, labels, weights) as a chunked vector. Numbers are converted to
/// `f64`, `f32` or `i64` as each block is read (labels written as floats must be whole
/// numbers: `1.0` is read as `1`, `0.5` is an error that names the row).
pub fn read_npy_vector<T: Element>(path: impl AsRef<Path>, chunk_rows: usize) -> Result<ChunkedVector<T>, LoadError> {
    let path = path.as_ref();
    let (header, blocks) = file_blocks(path, chunk_rows)?;
    if header.shape.len() != 1 {
        return Err(format_error(path, format!("expected a 1-D array, found shape {:?}", header.shape)));
    }
    Ok(ChunkedVector::from_block_layer(layer_of(converting(blocks, T::DTYPE, path)?)?))
}

/// The `*.npy` files of a folder, in name order; an error if there is none.
fn npy_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io_error(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "npy"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format_error(dir, "the folder has no .npy file"));
    }
    Ok(files)
}

/// Every `*.npy` file of a folder, in name order, as one chunked array; each file is split into
/// blocks of at most `chunk_rows` rows (blocks never span files). All files must be 2-D with the
/// same element type and column count.
pub fn read_npy_dir<F: Float>(dir: impl AsRef<Path>, chunk_rows: usize) -> Result<ChunkedArray<F>, LoadError> {
    let dir = dir.as_ref();
    let files = npy_files(dir)?;
    let mut all = Vec::new();
    let mut n_cols = None;
    for f in &files {
        let (header, blocks) = file_blocks(f, chunk_rows)?;
        check_2d(f, &header)?;
        let blocks = converting(blocks, F::DTYPE, f)?;
        // Each file is checked alone above; the folder's blocks together must fit as well.
        let n_blocks = all.len() as u64 + blocks.len() as u64;
        Limits::current()?.check_blocks(
            "read_npy_dir",
            n_blocks,
            chunk_rows as u64,
            &format!("{}: {} files, chunk_rows = {chunk_rows}", dir.display(), files.len()),
        )?;
        match n_cols {
            None => n_cols = Some(header.cols()),
            Some(c) if c != header.cols() => {
                return Err(format_error(
                    f,
                    format!("has {} columns, but {} has {c}", header.cols(), files[0].display()),
                ))
            }
            Some(_) => {}
        }
        all.extend(blocks);
    }
    Ok(ChunkedArray::from_block_layer(layer_of(all)?, n_cols.unwrap_or(0)))
}

/// The file stem of each block of [`read_npy_dir`]`(dir, chunk_rows)`, in block order: the
/// input file's stem when the file is one block, `stem-0000`, `stem-0001`, … when it is split.
/// Give them to [`WriteOptions::names`](crate::sink::WriteOptions::names) to write one
/// prediction file per input file.
pub fn npy_dir_block_names(dir: impl AsRef<Path>, chunk_rows: usize) -> Result<Vec<String>, LoadError> {
    let mut names = Vec::new();
    for f in &npy_files(dir.as_ref())? {
        let (_, blocks) = file_blocks(f, chunk_rows)?;
        let stem =
            f.file_stem().and_then(|s| s.to_str()).ok_or_else(|| format_error(f, "the name is not valid UTF-8"))?;
        if blocks.len() == 1 {
            names.push(stem.to_string());
        } else {
            names.extend((0..blocks.len()).map(|k| format!("{stem}-{k:04}")));
        }
    }
    Ok(names)
}

/// `.npy` element types that can be written.
pub trait NpyWritable: Copy + 'static {
    /// The header's `descr`.
    const DESCR: &'static str;
    /// Appends the little-endian bytes.
    fn put(self, out: &mut Vec<u8>);
}

impl NpyWritable for f64 {
    const DESCR: &'static str = "<f8";
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl NpyWritable for f32 {
    const DESCR: &'static str = "<f4";
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// A format-1.0 `.npy` header for `descr` (e.g. `<f8`) and `shape` (e.g. `(10, 3)`), padded so
/// the data starts on a 64-byte boundary.
pub fn header_bytes(descr: &str, shape: &str) -> Vec<u8> {
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad so that the data starts on a 64-byte boundary, ending with a newline (format 1.0).
    let total = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - total % 64) % 64));
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// Writes a chunked array to one `.npy` file, computing `batch` blocks at a time on `scheduler`
/// so that only those blocks are in memory. Needs known chunk sizes.
pub fn write_npy<F: Float + NpyWritable>(
    x: &ChunkedArray<F>,
    path: impl AsRef<Path>,
    scheduler: &Scheduler,
    batch: usize,
) -> Result<(), LoadError> {
    let path = path.as_ref();
    let n_rows = x.n_rows().ok_or_else(|| MlError::UnknownChunkSizes { operation: "write_npy".into() })?;
    if batch == 0 {
        return Err(MlError::InvalidParameter { name: "batch", message: "must be at least 1".into() }.into());
    }
    let file = File::create(path).map_err(|e| io_error(path, e))?;
    let mut w = BufWriter::new(file);
    w.write_all(&header_bytes(F::DESCR, &format!("({n_rows}, {})", x.n_cols()))).map_err(|e| io_error(path, e))?;
    let graph = x.graph();
    let keys = x.block_keys();
    let mut buf = Vec::new();
    let mut written = 0;
    for group in keys.chunks(batch) {
        for (v, k) in scheduler.compute(&graph, group)?.iter().zip(group) {
            let block =
                v.get::<Array2<F>>().map_err(|source| rask_core::Error::ValueType { key: k.clone(), source })?;
            if block.ncols() != x.n_cols() {
                return Err(
                    MlError::RaggedColumns { block: written, expected: x.n_cols(), found: block.ncols() }.into()
                );
            }
            buf.clear();
            for &e in block.iter() {
                e.put(&mut buf);
            }
            w.write_all(&buf).map_err(|e| io_error(path, e))?;
            written += 1;
        }
    }
    w.flush().map_err(|e| io_error(path, e))?;
    Ok(())
}
