//! One call for an `(X, y)` dataset from files: a `.npy` pair, a CSV file or a Parquet file,
//! chosen by the extension.
//!
//! ```no_run
//! use rask_datasets::load::{read_xy, Targets};
//! let iris = read_xy::<i64>("iris.csv", Targets::Column("species"), 100_000)?;
//! let digits = read_xy::<i64>("x.npy", Targets::NpyFile("y.npy".as_ref()), 100_000)?;
//! # Ok::<(), rask_datasets::npy::LoadError>(())
//! ```

use std::path::Path;

use rask_ml::{ChunkedDataset, MlError};

use crate::csv::{read_csv, CsvColumn, CsvOptions, CsvTarget};
use crate::npy::{read_npy, read_npy_vector, LoadError};

/// Where the targets are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Targets<'a> {
    /// A column of the CSV or Parquet file, by name.
    Column(&'a str),
    /// A 1-D `.npy` file beside a 2-D `.npy` feature file.
    NpyFile(&'a Path),
}

/// Target types every loader reads: `i64` labels and `f64` values.
#[cfg(feature = "parquet")]
pub trait XyTarget: CsvTarget + crate::parquet::ParquetTarget {}
#[cfg(feature = "parquet")]
impl<T: CsvTarget + crate::parquet::ParquetTarget> XyTarget for T {}
/// Target types every loader reads: `i64` labels and `f64` values.
#[cfg(not(feature = "parquet"))]
pub trait XyTarget: CsvTarget {}
#[cfg(not(feature = "parquet"))]
impl<T: CsvTarget> XyTarget for T {}

/// Reads `path` as an `(X, y)` dataset: `.npy` features with [`Targets::NpyFile`], or a CSV
/// (`.csv`, `.tsv`) or Parquet (`.parquet`, `.pq`) file with [`Targets::Column`] (every other
/// column a feature; Parquet: every other numeric column). Features are `f64`; numbers of other
/// element types are converted. `chunk_rows` sets the blocks of `.npy` and CSV files; a Parquet
/// file's blocks are its row groups.
pub fn read_xy<Y: XyTarget>(
    path: impl AsRef<Path>,
    targets: Targets<'_>,
    chunk_rows: usize,
) -> Result<ChunkedDataset<f64, Y>, LoadError> {
    let path = path.as_ref();
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
    let bad = |message: String| LoadError::from(MlError::InvalidParameter { name: "targets", message });
    match (ext.as_str(), targets) {
        ("npy", Targets::NpyFile(y_path)) => {
            let x = read_npy::<f64>(path, chunk_rows)?;
            let y = read_npy_vector::<Y>(y_path, chunk_rows)?;
            if x.n_rows() != y.len() {
                return Err(bad(format!(
                    "{} has {} rows but {} has {} targets",
                    path.display(),
                    x.n_rows().unwrap_or(0),
                    y_path.display(),
                    y.len().unwrap_or(0)
                )));
            }
            Ok(ChunkedDataset::new(x, y)?)
        }
        ("npy", Targets::Column(c)) => {
            Err(bad(format!("a .npy file has no named columns ('{c}'): give the targets as Targets::NpyFile")))
        }
        ("csv" | "tsv", Targets::Column(c)) => {
            let delimiter = if ext == "tsv" { b'\t' } else { b',' };
            let opts =
                CsvOptions { chunk_rows, delimiter, target: Some(CsvColumn::Name(c.into())), ..CsvOptions::default() };
            read_csv::<Y>(path, &opts)
        }
        #[cfg(feature = "parquet")]
        ("parquet" | "pq", Targets::Column(c)) => {
            let opts = crate::parquet::ParquetOptions { target: Some(c.into()), ..Default::default() };
            crate::parquet::read_parquet::<Y>(path, &opts)
        }
        (_, Targets::NpyFile(y)) => Err(bad(format!(
            "targets from a .npy file ({}) go with .npy features, not {}",
            y.display(),
            path.display()
        ))),
        (other, Targets::Column(_)) => Err(LoadError::Format {
            path: path.to_path_buf(),
            message: format!(
                "cannot tell the format from the extension '{other}': use .npy, .csv, .tsv{}",
                if cfg!(feature = "parquet") { ", .parquet or .pq" } else { " (Parquet needs the `parquet` feature)" }
            ),
        }),
    }
}
