//! What a job reads: its data, its model and its search, as TOML tables or command-line flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rask_ml::params::{Distribution, ParamValue};
use serde::{Deserialize, Serialize};

/// Rows per block when a job does not say.
pub const DEFAULT_CHUNK_ROWS: usize = 100_000;

/// A column, by header name or by position (0-based).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Column {
    /// By position.
    Index(usize),
    /// By name.
    Name(String),
}

impl Column {
    /// `"3"` is a position, anything else a name.
    pub fn parse(s: &str) -> Column {
        s.parse::<usize>().map_or_else(|_| Column::Name(s.to_string()), Column::Index)
    }
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Column::Index(i) => write!(f, "column {i}"),
            Column::Name(n) => write!(f, "column '{n}'"),
        }
    }
}

/// The format of a data file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    /// NumPy `.npy`: 2-D features (and a 1-D `y` file for targets).
    Npy,
    /// CSV with a header line (or `header = false`).
    Csv,
    /// Parquet; blocks are the file's row groups.
    Parquet,
}

impl DataFormat {
    /// The format a file's extension names, if any.
    pub fn of_extension(path: &Path) -> Option<DataFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "npy" => Some(DataFormat::Npy),
            "csv" | "tsv" | "txt" => Some(DataFormat::Csv),
            "parquet" | "pq" => Some(DataFormat::Parquet),
            _ => None,
        }
    }

    /// The file extensions of this format.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            DataFormat::Npy => &["npy"],
            DataFormat::Csv => &["csv", "tsv", "txt"],
            DataFormat::Parquet => &["parquet", "pq"],
        }
    }
}

fn default_chunk_rows() -> usize {
    DEFAULT_CHUNK_ROWS
}

fn yes() -> bool {
    true
}

/// Where the data is and how to read it (`[data]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// A file, or a folder of files of one format.
    pub path: PathBuf,
    /// The format (default: from the extension).
    #[serde(default)]
    pub format: Option<DataFormat>,
    /// Feature columns (CSV, Parquet; default: every column but the label, numeric ones for
    /// Parquet).
    #[serde(default)]
    pub features: Option<Vec<Column>>,
    /// The label or target column (CSV, Parquet). An unsupervised model does not read it, but
    /// naming it keeps it out of the default features.
    #[serde(default)]
    pub label: Option<Column>,
    /// CSV feature columns of strings, read as category codes (empty fields as NaN); their
    /// categories are recorded in the model file, so predictions read the same codes.
    #[serde(default)]
    pub categorical: Option<Vec<Column>>,
    /// The targets of a `.npy` feature file: a 1-D `.npy` file.
    #[serde(default)]
    pub y: Option<PathBuf>,
    /// Rows per block (`.npy`, CSV; Parquet blocks are its row groups).
    #[serde(default = "default_chunk_rows")]
    pub chunk_rows: usize,
    /// The CSV field delimiter (default `,`; `\t` for `.tsv`).
    #[serde(default)]
    pub delimiter: Option<char>,
    /// Whether a CSV file starts with a header line.
    #[serde(default = "yes")]
    pub header: bool,
}

impl DataSpec {
    /// Data at `path`, everything else by default.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        DataSpec {
            path: path.into(),
            format: None,
            features: None,
            label: None,
            categorical: None,
            y: None,
            chunk_rows: DEFAULT_CHUNK_ROWS,
            delimiter: None,
            header: true,
        }
    }

    /// Relative paths made absolute against `base` (the configuration file's folder, or the
    /// working directory), so that workers on a cluster open the same files.
    pub fn resolve_paths(&mut self, base: &Path) {
        for p in std::iter::once(&mut self.path).chain(self.y.as_mut()) {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }
}

fn model_name() -> String {
    "model".into()
}

/// A step before the final estimator (`[[model.steps]]`): a transformer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// The step's name in parameter paths (default: the estimator's name).
    #[serde(default)]
    pub name: Option<String>,
    /// The transformer, by catalog name (`standard_scaler`, `pca`, …).
    pub estimator: String,
    /// Its parameters by name.
    #[serde(default)]
    pub params: BTreeMap<String, ParamValue>,
}

/// The model (`[model]`): an estimator, its parameters and optional transformer steps before it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The final estimator, by catalog name (`logistic_regression`, `kmeans`, …).
    pub estimator: String,
    /// The final step's name in a pipeline's parameter paths (default `model`).
    #[serde(default = "model_name")]
    pub name: String,
    /// Its parameters by name.
    #[serde(default)]
    pub params: BTreeMap<String, ParamValue>,
    /// Transformer steps before it, in order.
    #[serde(default)]
    pub steps: Vec<StepSpec>,
}

impl ModelSpec {
    /// The estimator `name` with its defaults and no steps.
    pub fn new(estimator: impl Into<String>) -> Self {
        ModelSpec { estimator: estimator.into(), name: model_name(), params: BTreeMap::new(), steps: Vec::new() }
    }

    /// The step names, first to last, the final one included.
    pub fn step_names(&self) -> Vec<String> {
        let mut v: Vec<String> =
            self.steps.iter().map(|s| s.name.clone().unwrap_or_else(|| s.estimator.clone())).collect();
        v.push(self.name.clone());
        v
    }
}

/// `rask fit`'s TOML file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitSpec {
    /// The training data.
    pub data: DataSpec,
    /// The model.
    pub model: ModelSpec,
    /// Where to save the model (default `model.rask`).
    #[serde(default)]
    pub output: Option<PathBuf>,
}

/// How a sweep searches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchMethod {
    /// Every combination of the listed values, cross-validated (`GridSearchCV`).
    Grid,
    /// `n_iter` candidates drawn from the space, cross-validated (`RandomizedSearchCV`).
    Randomized,
    /// Hyperband over models with `partial_fit` (`HyperbandSearchCV`).
    Hyperband,
    /// Successive halving over models with `partial_fit`.
    SuccessiveHalving,
    /// Asynchronous successive halving over models with `partial_fit`.
    Asha,
}

impl SearchMethod {
    /// Whether the method trains models a few `partial_fit` calls at a time.
    pub fn is_adaptive(self) -> bool {
        matches!(self, SearchMethod::Hyperband | SearchMethod::SuccessiveHalving | SearchMethod::Asha)
    }
}

fn five() -> usize {
    5
}
fn ten() -> usize {
    10
}
fn three() -> u64 {
    3
}
fn one() -> u64 {
    1
}
fn test_size() -> f64 {
    0.15
}
fn four() -> usize {
    4
}

/// The search (`[search]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSpec {
    /// The method.
    pub method: SearchMethod,
    /// The space: `name = [values]` (a grid's values, or a choice) or
    /// `name = { uniform = [low, high] }`, `{ log_uniform = [low, high] }`,
    /// `{ int_range = [low, high] }` (high excluded). Names without `__` are the final
    /// estimator's; `step__param` reaches a step.
    pub space: toml::Table,
    /// Folds of the cross-validation (grid, randomized).
    #[serde(default = "five")]
    pub cv: usize,
    /// Stratified folds (classifiers).
    #[serde(default)]
    pub stratified: bool,
    /// The scorer, by scikit-learn name (default: accuracy for classifiers, R² for regressors).
    #[serde(default)]
    pub scoring: Option<String>,
    /// Candidates drawn (randomized).
    #[serde(default = "ten")]
    pub n_iter: usize,
    /// Seed of the draws, the split and the block order.
    #[serde(default)]
    pub seed: u64,
    /// Most `partial_fit` calls per model (adaptive methods).
    #[serde(default)]
    pub max_iter: Option<u64>,
    /// Aggressiveness η of the halving (adaptive methods).
    #[serde(default = "three")]
    pub aggressiveness: u64,
    /// Calls in the first rung (successive halving, ASHA).
    #[serde(default = "one")]
    pub n_initial_iter: u64,
    /// Models trained per round (ASHA).
    #[serde(default = "four")]
    pub parallel: usize,
    /// Total `partial_fit` calls (ASHA; default `max_iter` × candidates).
    #[serde(default)]
    pub budget: Option<u64>,
    /// Share of rows held out for scoring (adaptive methods).
    #[serde(default = "test_size")]
    pub test_size: f64,
    /// Candidates evaluated between checkpoints (grid, randomized; default: a tenth of them, at
    /// least 8).
    #[serde(default)]
    pub batch_size: Option<usize>,
}

/// Where a sweep writes (`[output]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// The folder for `best_model.rask`, `cv_results.csv`, `cv_results.json` and the
    /// checkpoint.
    pub dir: PathBuf,
}

/// `rask sweep`'s TOML file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// The data.
    pub data: DataSpec,
    /// The model (or pipeline) to search over.
    pub model: ModelSpec,
    /// The search.
    pub search: SearchSpec,
    /// Where results go.
    pub output: OutputSpec,
}

/// Reads a TOML job file; errors name the file, the line and the field.
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim_end()))
}

/// A parameter value from the command line: `true`/`false`, an integer, a float, `none`, or
/// else a string.
pub fn parse_param_value(s: &str) -> ParamValue {
    match s {
        "true" => ParamValue::Bool(true),
        "false" => ParamValue::Bool(false),
        "none" | "None" | "null" => ParamValue::None,
        _ => {
            if let Ok(i) = s.parse::<i64>() {
                ParamValue::Int(i)
            } else if let Ok(f) = s.parse::<f64>() {
                ParamValue::Float(f)
            } else {
                ParamValue::Str(s.to_string())
            }
        }
    }
}

/// `name=value` from `--param`.
pub fn parse_param(s: &str) -> Result<(String, ParamValue)> {
    let Some((name, value)) = s.split_once('=') else {
        bail!("--param `{s}` must be name=value (e.g. --param c=0.5)");
    };
    if name.trim().is_empty() {
        bail!("--param `{s}` has no name before `=`");
    }
    Ok((name.trim().to_string(), parse_param_value(value.trim())))
}

fn toml_to_param(name: &str, v: &toml::Value) -> Result<ParamValue> {
    Ok(match v {
        toml::Value::Boolean(b) => ParamValue::Bool(*b),
        toml::Value::Integer(i) => ParamValue::Int(*i),
        toml::Value::Float(f) => ParamValue::Float(*f),
        toml::Value::String(s) if s == "none" => ParamValue::None,
        toml::Value::String(s) => ParamValue::Str(s.clone()),
        other => {
            bail!("[search.space] `{name}`: a value must be a boolean, number or string, not {}", other.type_str())
        }
    })
}

/// One dimension of a search space.
#[derive(Clone, Debug, PartialEq)]
pub enum Dimension {
    /// Listed values.
    Values(Vec<ParamValue>),
    /// A distribution to draw from.
    Distribution(Distribution),
}

/// The space of a `[search.space]` table, names as written.
pub fn parse_space(space: &toml::Table) -> Result<Vec<(String, Dimension)>> {
    if space.is_empty() {
        bail!("[search.space] is empty: give at least one parameter, e.g. c = [0.1, 1.0, 10.0]");
    }
    let mut out = Vec::new();
    for (name, v) in space {
        let dim = match v {
            toml::Value::Array(vals) => {
                if vals.is_empty() {
                    bail!("[search.space] `{name}` lists no values");
                }
                Dimension::Values(vals.iter().map(|v| toml_to_param(name, v)).collect::<Result<_>>()?)
            }
            toml::Value::Table(t) => {
                if t.len() != 1 {
                    bail!(
                        "[search.space] `{name}` must have exactly one of uniform, log_uniform, int_range (e.g. \
                         {name} = {{ log_uniform = [1e-4, 1.0] }})"
                    );
                }
                let (kind, bounds) = t.iter().next().expect("one entry, checked above");
                let pair = |b: &toml::Value| -> Result<(f64, f64)> {
                    let a = b.as_array().filter(|a| a.len() == 2);
                    let num = |v: &toml::Value| v.as_float().or_else(|| v.as_integer().map(|i| i as f64));
                    match a.map(|a| (num(&a[0]), num(&a[1]))) {
                        Some((Some(l), Some(h))) => Ok((l, h)),
                        _ => bail!("[search.space] `{name}`: {kind} needs [low, high], two numbers"),
                    }
                };
                Dimension::Distribution(match kind.as_str() {
                    "uniform" => {
                        let (l, h) = pair(bounds)?;
                        Distribution::uniform(l, h)
                    }
                    "log_uniform" | "loguniform" => {
                        let (l, h) = pair(bounds)?;
                        Distribution::log_uniform(l, h)
                    }
                    "int_range" => {
                        let a = bounds.as_array().filter(|a| a.len() == 2);
                        match a.map(|a| (a[0].as_integer(), a[1].as_integer())) {
                            Some((Some(l), Some(h))) => Distribution::int_range(l, h),
                            _ => bail!("[search.space] `{name}`: int_range needs [low, high], two integers"),
                        }
                    }
                    other => {
                        bail!("[search.space] `{name}`: unknown distribution `{other}`; use uniform, log_uniform or int_range")
                    }
                })
            }
            other => bail!(
                "[search.space] `{name}` must be a list of values or a distribution table, not {}",
                other.type_str()
            ),
        };
        out.push((name.clone(), dim));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_file_parses_and_unknown_fields_are_named() {
        let text = r#"
            [data]
            path = "train.csv"
            label = "species"
            [model]
            estimator = "logistic_regression"
            params = { max_iter = 200 }
            [[model.steps]]
            estimator = "standard_scaler"
            [search]
            method = "grid"
            space = { c = [0.1, 1.0], scaler__with_mean = [true, false] }
            [output]
            dir = "out"
        "#;
        let s: SweepSpec = toml::from_str(text).unwrap();
        assert_eq!(s.data.label, Some(Column::Name("species".into())));
        assert_eq!(s.model.params["max_iter"], ParamValue::Int(200));
        assert_eq!(s.model.step_names(), ["standard_scaler", "model"]);
        assert_eq!(parse_space(&s.search.space).unwrap().len(), 2);
        let bad = text.replace("cv_results", "x").replace("method = \"grid\"", "method = \"grid\"\nfolds = 3");
        let e = toml::from_str::<SweepSpec>(&bad).unwrap_err().to_string();
        assert!(e.contains("unknown field `folds`"), "{e}");
        let bad = text.replace("\"grid\"", "\"gird\"");
        let e = toml::from_str::<SweepSpec>(&bad).unwrap_err().to_string();
        assert!(e.contains("gird") && e.contains("hyperband"), "{e}");
    }

    #[test]
    fn spaces_and_params_parse_with_clear_errors() {
        let t: toml::Table = toml::from_str("a = { log_uniform = [1e-4, 1] }\nb = { int_range = [1, 5] }").unwrap();
        let dims = parse_space(&t).unwrap();
        assert_eq!(dims[0].1, Dimension::Distribution(Distribution::log_uniform(1e-4, 1.0)));
        assert_eq!(dims[1].1, Dimension::Distribution(Distribution::int_range(1, 5)));
        let t: toml::Table = toml::from_str("a = { normal = [0, 1] }").unwrap();
        assert!(parse_space(&t).unwrap_err().to_string().contains("unknown distribution `normal`"));
        let t: toml::Table = toml::from_str("a = []").unwrap();
        assert!(parse_space(&t).unwrap_err().to_string().contains("lists no values"));
        assert_eq!(parse_param("c=0.5").unwrap(), ("c".into(), ParamValue::Float(0.5)));
        assert_eq!(parse_param("solver=lbfgs").unwrap().1, ParamValue::Str("lbfgs".into()));
        assert_eq!(parse_param("n=3").unwrap().1, ParamValue::Int(3));
        assert!(parse_param("c").unwrap_err().to_string().contains("name=value"));
        assert_eq!(Column::parse("3"), Column::Index(3));
        assert_eq!(Column::parse("sepal"), Column::Name("sepal".into()));
    }
}
