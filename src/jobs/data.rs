//! Reading a job's data: `.npy`, CSV or Parquet, a file or a folder, as chunked arrays.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rask_datasets::csv::{
    csv_categories, csv_feature_names, read_csv, read_csv_features, Categorical, CsvColumn, CsvColumns, CsvOptions,
};
use rask_datasets::parquet::{
    parquet_feature_names, read_parquet, read_parquet_features, ParquetColumns, ParquetOptions,
};
use rask_datasets::{read_npy, read_npy_vector};
use rask_ml::{ChunkedArray, ChunkedDataset};
use serde::{Deserialize, Serialize};

use super::spec::{Column, DataFormat, DataSpec};
use crate::catalog::Target;

/// The features a model was fitted on: how many, and their column names when the data had
/// them, so prediction files are read by the same columns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Features {
    /// Number of feature columns.
    pub n: usize,
    /// Their names (CSV, Parquet), in order.
    pub names: Option<Vec<String>>,
    /// The format of the training data.
    pub format: DataFormat,
    /// CSV delimiter and header of the training data.
    pub csv: Option<(char, bool)>,
    /// Categorical CSV columns and their categories, in code order.
    #[serde(default)]
    pub categories: Vec<(String, Vec<String>)>,
}

/// The format of `path`: given, or from its extension, or from the files in the folder.
pub fn format_of(path: &Path, given: Option<DataFormat>) -> Result<DataFormat> {
    if let Some(f) = given {
        return Ok(f);
    }
    if path.is_dir() {
        let files = list_folder(path, None)?;
        let first = files.first().expect("list_folder returns at least one file");
        return DataFormat::of_extension(first).context("unreachable: list_folder keeps known extensions only");
    }
    DataFormat::of_extension(path).with_context(|| {
        format!("cannot tell the format of {} from its extension; pass --format npy|csv|parquet", path.display())
    })
}

/// The data files of a folder, in name order: those of `format`, or of the one data format
/// found there.
pub fn list_folder(dir: &Path, format: Option<DataFormat>) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| match (format, DataFormat::of_extension(p)) {
            (Some(f), Some(g)) => f == g,
            (None, Some(_)) => true,
            (_, None) => false,
        })
        .collect();
    files.sort();
    let Some(first) = files.first() else {
        bail!("the folder {} has no .npy, .csv or .parquet file", dir.display());
    };
    let f0 = DataFormat::of_extension(first);
    if let Some(other) = files.iter().find(|p| DataFormat::of_extension(p) != f0) {
        bail!(
            "the folder {} mixes formats ({} and {}); pass --format to choose one",
            dir.display(),
            first.display(),
            other.display()
        );
    }
    Ok(files)
}

fn csv_column(c: &Column) -> CsvColumn {
    match c {
        Column::Index(i) => CsvColumn::Index(*i),
        Column::Name(n) => CsvColumn::Name(n.clone()),
    }
}

fn csv_options(
    d: &DataSpec,
    path: &Path,
    features: Option<&[String]>,
    categories: Option<&[(String, Vec<String>)]>,
) -> CsvOptions {
    let tab = path.extension().is_some_and(|e| e == "tsv");
    let delimiter = d.delimiter.unwrap_or(if tab { '\t' } else { ',' });
    CsvOptions {
        chunk_rows: d.chunk_rows,
        delimiter: delimiter as u8,
        has_header: d.header,
        features: match (features, &d.features) {
            (Some(names), _) => CsvColumns::List(names.iter().map(|n| CsvColumn::Name(n.clone())).collect()),
            (None, Some(cols)) => CsvColumns::List(cols.iter().map(csv_column).collect()),
            (None, None) => CsvColumns::AllExceptTarget,
        },
        target: d.label.as_ref().map(csv_column),
        categorical: match categories {
            Some(cats) => cats
                .iter()
                .map(|(n, c)| Categorical { column: CsvColumn::Name(n.clone()), categories: Some(c.clone()) })
                .collect(),
            None => d.categorical.iter().flatten().map(|c| Categorical::new(csv_column(c))).collect(),
        },
    }
}

fn parquet_name(c: &Column, what: &str) -> Result<String> {
    match c {
        Column::Name(n) => Ok(n.clone()),
        Column::Index(i) => bail!("Parquet columns are named: give the {what} by name, not by position ({i})"),
    }
}

fn parquet_options(d: &DataSpec) -> Result<ParquetOptions> {
    Ok(ParquetOptions {
        features: match &d.features {
            Some(cols) => {
                ParquetColumns::List(cols.iter().map(|c| parquet_name(c, "features")).collect::<Result<_>>()?)
            }
            None => ParquetColumns::AllNumericExceptTarget,
        },
        target: d.label.as_ref().map(|c| parquet_name(c, "label")).transpose()?,
    })
}

fn check_chunk_rows(d: &DataSpec) -> Result<()> {
    if d.chunk_rows == 0 {
        bail!("chunk_rows must be at least 1");
    }
    Ok(())
}

/// Reads training data: features as `f64` and, when `supervised`, targets as `Y`.
pub fn load_training<Y: Target>(
    d: &DataSpec,
    supervised: bool,
    estimator: &str,
) -> Result<(ChunkedDataset<f64, Y>, Features)> {
    check_chunk_rows(d)?;
    let path = &d.path;
    if !path.exists() {
        bail!("the data path {} does not exist", path.display());
    }
    if path.is_dir() {
        bail!(
            "{} is a folder; fitting reads one file (features and targets together for CSV and Parquet, or a \
             2-D .npy with a 1-D `y` .npy)",
            path.display()
        );
    }
    let format = format_of(path, d.format)?;
    if !supervised {
        if let Some(y) = &d.y {
            bail!("{estimator} is unsupervised, so it reads no targets; remove y ({})", y.display());
        }
    }
    let read = |e: rask_datasets::npy::LoadError| anyhow::Error::new(e);
    if d.categorical.is_some() && format != DataFormat::Csv {
        bail!("categorical columns are read from CSV files; {} is {format:?}", path.display());
    }
    match format {
        DataFormat::Npy => {
            if d.label.is_some() || d.features.is_some() {
                bail!("label and features select CSV or Parquet columns; a .npy file's targets come from `y` (--y)");
            }
            let x = read_npy::<f64>(path, d.chunk_rows).map_err(read)?;
            let n = x.n_cols();
            let ds = if supervised {
                let Some(yp) = &d.y else {
                    bail!("{estimator} needs targets: give the 1-D .npy file of targets with --y (or `y` in [data])");
                };
                let y = read_npy_vector::<Y>(yp, d.chunk_rows).map_err(read)?;
                if y.len() != x.n_rows() {
                    bail!(
                        "{} has {} rows but {} has {} targets",
                        path.display(),
                        x.n_rows().unwrap_or(0),
                        yp.display(),
                        y.len().unwrap_or(0)
                    );
                }
                ChunkedDataset::new(x, y)?
            } else {
                ChunkedDataset::unlabelled(x)
            };
            Ok((ds, Features { n, names: None, format, csv: None, categories: Vec::new() }))
        }
        DataFormat::Csv => {
            if d.y.is_some() {
                bail!("`y` names a .npy targets file; a CSV file's targets are its label column (--label)");
            }
            if supervised && d.label.is_none() {
                bail!("{estimator} needs targets: name the label column with --label (or `label` in [data])");
            }
            let opts = csv_options(d, path, None, None);
            let names = csv_feature_names(path, &opts).map_err(read)?;
            let categories =
                if d.categorical.is_some() { csv_categories(path, &opts).map_err(read)? } else { Vec::new() };
            let mut opts = csv_options(d, path, Some(&names), Some(&categories));
            if !supervised {
                // An unsupervised model reads no label; naming it keeps it out of the features.
                opts.target = None;
            }
            let ds = if supervised {
                read_csv::<Y>(path, &opts).map_err(read)?
            } else {
                ChunkedDataset::unlabelled(read_csv_features(path, &opts).map_err(read)?)
            };
            let csv = Some((opts.delimiter as char, opts.has_header));
            Ok((ds, Features { n: names.len(), names: Some(names), format, csv, categories }))
        }
        DataFormat::Parquet => {
            if d.y.is_some() {
                bail!("`y` names a .npy targets file; a Parquet file's targets are its label column (--label)");
            }
            if supervised && d.label.is_none() {
                bail!("{estimator} needs targets: name the label column with --label (or `label` in [data])");
            }
            let opts = parquet_options(d)?;
            let names = parquet_feature_names(path, &opts).map_err(read)?;
            let opts = ParquetOptions {
                features: ParquetColumns::List(names.clone()),
                // An unsupervised model reads no label; naming it keeps it out of the features.
                target: if supervised { opts.target } else { None },
            };
            let ds = if supervised {
                read_parquet::<Y>(path, &opts).map_err(read)?
            } else {
                ChunkedDataset::unlabelled(read_parquet_features(path, &opts).map_err(read)?)
            };
            Ok((ds, Features { n: names.len(), names: Some(names), format, csv: None, categories: Vec::new() }))
        }
    }
}

/// Input to predict on: every file's rows as one chunked array, and the output file stem of
/// each block (the input file's stem, with `-0000`, `-0001`, … when a file spans blocks).
#[derive(Debug)]
pub struct PredictInput {
    /// The features.
    pub x: ChunkedArray<f64>,
    /// One output stem per block.
    pub stems: Vec<String>,
    /// The files read.
    pub files: Vec<PathBuf>,
}

/// Reads `path` (a file or a folder) for prediction with the columns the model was fitted on.
pub fn load_for_predict(
    path: &Path,
    format: Option<DataFormat>,
    chunk_rows: usize,
    fitted: &Features,
) -> Result<PredictInput> {
    if chunk_rows == 0 {
        bail!("--chunk-rows must be at least 1");
    }
    if !path.exists() {
        bail!("the input path {} does not exist", path.display());
    }
    let files = if path.is_dir() { list_folder(path, format)? } else { vec![path.to_path_buf()] };
    let mut parts = Vec::with_capacity(files.len());
    let mut stems = Vec::new();
    for f in &files {
        let fmt = format_of(f, format)?;
        let x = match fmt {
            DataFormat::Npy => read_npy::<f64>(f, chunk_rows)?,
            DataFormat::Csv => {
                let mut d = DataSpec::new(f);
                d.chunk_rows = chunk_rows;
                if let Some((delim, header)) = fitted.csv {
                    d.delimiter = Some(delim);
                    d.header = header;
                }
                let opts = csv_options(&d, f, fitted.names.as_deref(), Some(&fitted.categories));
                read_csv_features(f, &opts)?
            }
            DataFormat::Parquet => {
                let opts = ParquetOptions {
                    features: match &fitted.names {
                        Some(names) => ParquetColumns::List(names.clone()),
                        None => ParquetColumns::AllNumericExceptTarget,
                    },
                    target: None,
                };
                read_parquet_features(f, &opts)?
            }
        };
        if x.n_cols() != fitted.n {
            bail!(
                "{} has {} feature columns, but the model was fitted on {}{}",
                f.display(),
                x.n_cols(),
                fitted.n,
                fitted.names.as_ref().map_or(String::new(), |n| format!(" ({})", n.join(", ")))
            );
        }
        let stem =
            f.file_stem().and_then(|s| s.to_str()).with_context(|| format!("{} has no UTF-8 name", f.display()))?;
        let n = x.n_blocks();
        if n == 1 {
            stems.push(stem.to_string());
        } else {
            stems.extend((0..n).map(|k| format!("{stem}-{k:04}")));
        }
        parts.push(x);
    }
    let refs: Vec<&ChunkedArray<f64>> = parts.iter().collect();
    let x = if refs.len() == 1 { parts.remove(0) } else { ChunkedArray::concat(&refs)? };
    Ok(PredictInput { x, stems, files })
}
