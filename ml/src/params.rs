//! Hyperparameters by name: the vocabulary that pipelines and searches use to set them.
//!
//! - [`ParamValue`] is a typed value (`bool`, integer, float, string, none). Searches hold
//!   candidates as lists of `(name, ParamValue)`, and results print and serialise them.
//! - [`SetParams`] reads and writes an estimator's hyperparameters by name. A pipeline routes
//!   `"step__param"` to its step, so `"logistic__c"` reaches the `c` of the step named
//!   `logistic`. An unknown name is an error that lists the valid ones; a value of the wrong
//!   type is an error naming the parameter, the expected type and the value given.
//! - [`ParamType`] converts one field's type to and from a [`ParamValue`]; enums of named
//!   choices get it from [`param_enum!`](crate::param_enum), and estimators implement
//!   [`SetParams`] in one declaration with [`impl_set_params!`](crate::impl_set_params).
//!
//! The builder setters and getters of a params type, its `new` / `Default` and its
//! [`ParamGuard`](crate::ParamGuard) impl come from [`params!`](crate::params!).
//!
//! Setting a value never validates it against the other fields: that stays the job of
//! [`ParamGuard::check`](crate::ParamGuard::check), which every fit runs, so a bad combination
//! found by a search is a failed candidate with the estimator's own message.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};

mod macros;

/// A hyperparameter value.
///
/// Serialises as a plain JSON / MessagePack value (`true`, `3`, `0.5`, `"lbfgs"`, `null`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// No value (scikit-learn's `None`).
    None,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string: an enum choice by name, or free text.
    Str(String),
}

impl ParamValue {
    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            ParamValue::None => "none",
            ParamValue::Bool(_) => "a boolean",
            ParamValue::Int(_) => "an integer",
            ParamValue::Float(_) => "a float",
            ParamValue::Str(_) => "a string",
        }
    }

    /// The value as a float: floats, and integers (which convert exactly up to 2⁵³).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            ParamValue::Float(v) => Some(v),
            ParamValue::Int(v) if v.unsigned_abs() <= (1u64 << 53) => Some(v as f64),
            _ => None,
        }
    }

    /// The value as an integer (integers only: `2.0` is not accepted where a count is meant).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            ParamValue::Int(v) => Some(v),
            _ => None,
        }
    }

    /// The value as a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            ParamValue::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// The value as a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ParamValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::None => f.write_str("None"),
            ParamValue::Bool(v) => write!(f, "{v}"),
            ParamValue::Int(v) => write!(f, "{v}"),
            // `{:?}` keeps a decimal point on whole floats (1.0, not 1), as Python prints them.
            ParamValue::Float(v) => write!(f, "{v:?}"),
            ParamValue::Str(s) => f.write_str(s),
        }
    }
}

macro_rules! from_for_param_value {
    ($($t:ty => $variant:ident as $as:ty),* $(,)?) => {$(
        impl From<$t> for ParamValue {
            fn from(v: $t) -> Self {
                ParamValue::$variant(v as $as)
            }
        }
    )*};
}

from_for_param_value!(f64 => Float as f64, f32 => Float as f64, i64 => Int as i64, i32 => Int as i64, u32 => Int as i64);

impl From<bool> for ParamValue {
    fn from(v: bool) -> Self {
        ParamValue::Bool(v)
    }
}

impl From<usize> for ParamValue {
    fn from(v: usize) -> Self {
        // Counts above i64::MAX do not exist on any machine Rask runs on; saturate rather than wrap.
        ParamValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<u64> for ParamValue {
    fn from(v: u64) -> Self {
        ParamValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<&str> for ParamValue {
    fn from(v: &str) -> Self {
        ParamValue::Str(v.to_string())
    }
}

impl From<String> for ParamValue {
    fn from(v: String) -> Self {
        ParamValue::Str(v)
    }
}

impl<T: Into<ParamValue>> From<Option<T>> for ParamValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(ParamValue::None, Into::into)
    }
}

/// The error for a value of the wrong type.
pub fn wrong_type(name: &str, expected: &str, found: &ParamValue) -> MlError {
    MlError::ParameterType { name: name.to_string(), expected: expected.to_string(), found: describe(found) }
}

fn describe(v: &ParamValue) -> String {
    match v {
        ParamValue::None => "None".into(),
        ParamValue::Str(s) => format!("the string {s:?}"),
        other => format!("{} ({other})", other.kind()),
    }
}

/// The error for an unknown parameter name, listing the valid ones.
pub fn unknown_param(name: &str, valid: &[&str]) -> MlError {
    MlError::UnknownParameter { name: name.to_string(), valid: valid.join(", ") }
}

/// A field type that converts to and from a [`ParamValue`].
pub trait ParamType: Sized {
    /// The field's current value.
    fn to_param(&self) -> ParamValue;
    /// The field's value from `value`; `name` is the parameter's name for the error.
    fn from_param(name: &str, value: &ParamValue) -> Result<Self>;
}

impl ParamType for f64 {
    fn to_param(&self) -> ParamValue {
        ParamValue::Float(*self)
    }
    fn from_param(name: &str, value: &ParamValue) -> Result<Self> {
        value.as_f64().ok_or_else(|| wrong_type(name, "a float", value))
    }
}

impl ParamType for bool {
    fn to_param(&self) -> ParamValue {
        ParamValue::Bool(*self)
    }
    fn from_param(name: &str, value: &ParamValue) -> Result<Self> {
        value.as_bool().ok_or_else(|| wrong_type(name, "a boolean", value))
    }
}

impl ParamType for String {
    fn to_param(&self) -> ParamValue {
        ParamValue::Str(self.clone())
    }
    fn from_param(name: &str, value: &ParamValue) -> Result<Self> {
        value.as_str().map(str::to_string).ok_or_else(|| wrong_type(name, "a string", value))
    }
}

macro_rules! int_param_type {
    ($($t:ty),*) => {$(
        impl ParamType for $t {
            fn to_param(&self) -> ParamValue {
                ParamValue::Int(i64::try_from(*self).unwrap_or(i64::MAX))
            }
            fn from_param(name: &str, value: &ParamValue) -> Result<Self> {
                let v = value.as_i64().ok_or_else(|| wrong_type(name, concat!("an integer (", stringify!($t), ")"), value))?;
                <$t>::try_from(v).map_err(|_| wrong_type(name, concat!("an integer in the range of ", stringify!($t)), value))
            }
        }
    )*};
}

int_param_type!(usize, u64, u32, i64, i32);

impl<T: ParamType> ParamType for Option<T> {
    fn to_param(&self) -> ParamValue {
        self.as_ref().map_or(ParamValue::None, T::to_param)
    }
    fn from_param(name: &str, value: &ParamValue) -> Result<Self> {
        match value {
            ParamValue::None => Ok(None),
            v => T::from_param(name, v).map(Some),
        }
    }
}

/// Hyperparameters readable and settable by name.
///
/// Implement it with [`impl_set_params!`](crate::impl_set_params); a [`Pipeline`](crate::pipeline::Pipeline)
/// implements it by routing `"step__param"` to the step named `step`.
pub trait SetParams {
    /// Every parameter settable by name, with its current value, in a fixed order.
    fn get_params(&self) -> Vec<(String, ParamValue)>;

    /// Sets one parameter. An unknown name, or a value of the wrong type, is an error.
    fn set_param(&mut self, name: &str, value: &ParamValue) -> Result<()>;

    /// Sets one parameter from a plain value: `p.set("logistic__c", 10.0)`.
    fn set(&mut self, name: &str, value: impl Into<ParamValue>) -> Result<()>
    where
        Self: Sized,
    {
        self.set_param(name, &value.into())
    }

    /// One parameter's current value, or the unknown-parameter error listing the valid names.
    fn get_param(&self, name: &str) -> Result<ParamValue> {
        let all = self.get_params();
        match all.iter().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => {
                let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
                Err(unknown_param(name, &names))
            }
        }
    }

    /// Sets several parameters, in order.
    fn set_params(&mut self, params: &[(String, ParamValue)]) -> Result<()> {
        params.iter().try_for_each(|(n, v)| self.set_param(n, v))
    }

    /// A copy with `params` set.
    fn with_params(&self, params: &[(String, ParamValue)]) -> Result<Self>
    where
        Self: Clone,
    {
        let mut out = self.clone();
        out.set_params(params)?;
        Ok(out)
    }
}

/// Implements [`ParamType`] for a fieldless enum of named choices, so a search can set it by
/// name (`"solver" => "lbfgs"`); an unknown name is an error listing the choices.
///
/// ```
/// # use rask_ml::param_enum;
/// #[derive(Clone, Copy, Debug, PartialEq)]
/// enum Kernel { Linear, Rbf }
/// param_enum!(Kernel { Linear => "linear", Rbf => "rbf" });
///
/// use rask_ml::params::{ParamType, ParamValue};
/// assert_eq!(Kernel::from_param("kernel", &"rbf".into()).unwrap(), Kernel::Rbf);
/// assert_eq!(Kernel::Linear.to_param(), ParamValue::from("linear"));
/// assert!(Kernel::from_param("kernel", &"poly".into()).is_err());
/// ```
#[macro_export]
macro_rules! param_enum {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $crate::params::ParamType for $ty {
            fn to_param(&self) -> $crate::params::ParamValue {
                match self {
                    $(<$ty>::$variant => $crate::params::ParamValue::Str($name.to_string()),)+
                }
            }
            fn from_param(name: &str, value: &$crate::params::ParamValue) -> $crate::Result<Self> {
                const CHOICES: &str = concat!($("\"", $name, "\" "),+);
                match value.as_str() {
                    $(Some($name) => Ok(<$ty>::$variant),)+
                    _ => Err($crate::params::wrong_type(name, &format!("one of {}", CHOICES.trim_end()), value)),
                }
            }
        }
    };
}

/// Implements [`SetParams`] for a params type from a list of `"name" => field` pairs; each
/// field's type must implement [`ParamType`].
///
/// ```
/// # use rask_ml::impl_set_params;
/// use rask_ml::params::{ParamValue, SetParams};
///
/// #[derive(Clone, Debug, Default)]
/// struct RidgeParams { alpha: f64, fit_intercept: bool }
/// impl_set_params!(RidgeParams, |p| { "alpha" => p.alpha, "fit_intercept" => p.fit_intercept });
///
/// let mut p = RidgeParams::default();
/// p.set_param("alpha", &ParamValue::Float(0.5)).unwrap();
/// assert_eq!(p.alpha, 0.5);
/// let err = p.set_param("alpah", &ParamValue::Float(0.5)).unwrap_err().to_string();
/// assert!(err.contains("valid parameters: alpha, fit_intercept"), "{err}");
/// ```
#[macro_export]
macro_rules! impl_set_params {
    ($ty:ty, |$p:ident| { $($name:literal => $field:expr),+ $(,)? }) => {
        impl $crate::params::SetParams for $ty {
            fn get_params(&self) -> ::std::vec::Vec<(::std::string::String, $crate::params::ParamValue)> {
                let $p = self;
                ::std::vec![$(($name.to_string(), $crate::params::ParamType::to_param(&$field))),+]
            }

            fn set_param(&mut self, name: &str, value: &$crate::params::ParamValue) -> $crate::Result<()> {
                let $p = self;
                match name {
                    $($name => {
                        $field = $crate::params::ParamType::from_param(name, value)?;
                        Ok(())
                    })+
                    _ => Err($crate::params::unknown_param(name, &[$($name),+])),
                }
            }
        }
    };
}

/// One candidate: parameter names and values, in the order the space lists them.
pub type Candidate = Vec<(String, ParamValue)>;

/// A grid of candidates, as scikit-learn's `ParameterGrid`: a list of sub-grids, each a map
/// from names to value lists, expanded as a Cartesian product with the *last* name varying
/// fastest (scikit-learn sorts names; Rask keeps the order you add them in, and the golden
/// tests add them in sorted order).
///
/// ```
/// use rask_ml::params::ParameterGrid;
///
/// let grid = ParameterGrid::new().add("c", [0.1, 1.0, 10.0]).add("fit_intercept", [true, false]);
/// assert_eq!(grid.len(), 6);
/// let first = &grid.candidates().unwrap()[0];
/// assert_eq!(first[0].0, "c");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ParameterGrid {
    grids: Vec<Vec<(String, Vec<ParamValue>)>>,
}

impl ParameterGrid {
    /// An empty grid; [`add`](Self::add) starts its first sub-grid.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a parameter and its values to the current sub-grid.
    pub fn add<V: Into<ParamValue>>(mut self, name: impl Into<String>, values: impl IntoIterator<Item = V>) -> Self {
        if self.grids.is_empty() {
            self.grids.push(Vec::new());
        }
        let last = self.grids.len() - 1;
        self.grids[last].push((name.into(), values.into_iter().map(Into::into).collect()));
        self
    }

    /// Starts another sub-grid (scikit-learn's list of dicts): candidates are those of every
    /// sub-grid, one after the other.
    pub fn or(mut self) -> Self {
        self.grids.push(Vec::new());
        self
    }

    /// The number of candidates.
    pub fn len(&self) -> usize {
        self.grids.iter().map(|g| g.iter().map(|(_, v)| v.len()).product::<usize>()).sum()
    }

    /// Whether the grid has no candidates.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every candidate, in order. An empty grid, a sub-grid with no parameters, an empty value
    /// list or a name given twice in one sub-grid is an error.
    pub fn candidates(&self) -> Result<Vec<Candidate>> {
        if self.grids.is_empty() {
            return Err(MlError::InvalidParameter { name: "param_grid", message: "the grid is empty".into() });
        }
        let mut out = Vec::new();
        for (g, grid) in self.grids.iter().enumerate() {
            if grid.is_empty() {
                return Err(MlError::InvalidParameter {
                    name: "param_grid",
                    message: format!("sub-grid {g} has no parameters"),
                });
            }
            for (i, (name, values)) in grid.iter().enumerate() {
                if values.is_empty() {
                    return Err(MlError::InvalidParameter {
                        name: "param_grid",
                        message: format!("parameter `{name}` has an empty list of values"),
                    });
                }
                if grid[..i].iter().any(|(n, _)| n == name) {
                    return Err(MlError::InvalidParameter {
                        name: "param_grid",
                        message: format!("parameter `{name}` is given twice in sub-grid {g}"),
                    });
                }
            }
            let mut idx = vec![0usize; grid.len()];
            loop {
                out.push(grid.iter().zip(&idx).map(|((n, v), &i)| (n.clone(), v[i].clone())).collect());
                // Odometer, last name fastest.
                let mut pos = grid.len();
                loop {
                    if pos == 0 {
                        break;
                    }
                    pos -= 1;
                    idx[pos] += 1;
                    if idx[pos] < grid[pos].1.len() {
                        break;
                    }
                    idx[pos] = 0;
                    if pos == 0 {
                        pos = usize::MAX;
                        break;
                    }
                }
                if pos == usize::MAX {
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// A distribution to sample one parameter from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Distribution {
    /// Uniform on `[low, high)`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// Log-uniform on `[low, high)` (both positive): uniform in `ln`.
    LogUniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// Integers uniform on `low..high` (high excluded).
    IntRange {
        /// Lower bound.
        low: i64,
        /// Upper bound (excluded).
        high: i64,
    },
    /// One of these values, each equally likely.
    Choice(Vec<ParamValue>),
}

impl Distribution {
    /// Uniform on `[low, high)`.
    pub fn uniform(low: f64, high: f64) -> Self {
        Distribution::Uniform { low, high }
    }

    /// Log-uniform on `[low, high)`.
    pub fn log_uniform(low: f64, high: f64) -> Self {
        Distribution::LogUniform { low, high }
    }

    /// Integers in `low..high`.
    pub fn int_range(low: i64, high: i64) -> Self {
        Distribution::IntRange { low, high }
    }

    /// One of `values`.
    pub fn choice<V: Into<ParamValue>>(values: impl IntoIterator<Item = V>) -> Self {
        Distribution::Choice(values.into_iter().map(Into::into).collect())
    }

    fn check(&self, name: &str) -> Result<()> {
        let bad = |message: String| MlError::InvalidParameter { name: "param_distributions", message };
        match *self {
            Distribution::Uniform { low, high } if !(low.is_finite() && high.is_finite() && low < high) => {
                Err(bad(format!("`{name}`: uniform needs finite low < high, got [{low}, {high})")))
            }
            Distribution::LogUniform { low, high } if !(low > 0.0 && high.is_finite() && low < high) => {
                Err(bad(format!("`{name}`: log-uniform needs 0 < low < high, got [{low}, {high})")))
            }
            Distribution::IntRange { low, high } if low >= high => {
                Err(bad(format!("`{name}`: integer range {low}..{high} is empty")))
            }
            Distribution::Choice(ref v) if v.is_empty() => Err(bad(format!("`{name}`: no values to choose from"))),
            _ => Ok(()),
        }
    }

    fn sample(&self, rng: &mut impl rand::Rng) -> ParamValue {
        match self {
            Distribution::Uniform { low, high } => ParamValue::Float(rng.gen_range(*low..*high)),
            Distribution::LogUniform { low, high } => ParamValue::Float(rng.gen_range(low.ln()..high.ln()).exp()),
            Distribution::IntRange { low, high } => ParamValue::Int(rng.gen_range(*low..*high)),
            Distribution::Choice(v) => v[rng.gen_range(0..v.len())].clone(),
        }
    }

    fn finite_values(&self) -> Option<Vec<ParamValue>> {
        match self {
            Distribution::Choice(v) => Some(v.clone()),
            Distribution::IntRange { low, high } => Some((*low..*high).map(ParamValue::Int).collect()),
            _ => None,
        }
    }
}

/// Random candidates from per-parameter distributions, as scikit-learn's `ParameterSampler`,
/// seeded (ChaCha8; the draws are Rask's own, not numpy's).
///
/// When every distribution is finite (choices and integer ranges), candidates are drawn from
/// the grid they span *without replacement*, as scikit-learn does, and asking for more than
/// the grid holds is an error that says how many there are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParameterSampler {
    dists: Vec<(String, Distribution)>,
    n_iter: usize,
    seed: u64,
}

impl ParameterSampler {
    /// `n_iter` candidates drawn with `seed`.
    pub fn new(n_iter: usize, seed: u64) -> Self {
        ParameterSampler { dists: Vec::new(), n_iter, seed }
    }

    /// Adds a parameter and its distribution.
    pub fn add(mut self, name: impl Into<String>, dist: Distribution) -> Self {
        self.dists.push((name.into(), dist));
        self
    }

    /// The number of candidates asked for.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// Sets the number of candidates (Hyperband sets it from its plan).
    pub fn set_n_iter(&mut self, n_iter: usize) {
        self.n_iter = n_iter;
    }

    /// The candidates.
    pub fn candidates(&self) -> Result<Vec<Candidate>> {
        use rand::seq::index::sample;
        use rand::SeedableRng;
        if self.dists.is_empty() {
            return Err(MlError::InvalidParameter { name: "param_distributions", message: "no parameters".into() });
        }
        if self.n_iter == 0 {
            return Err(MlError::InvalidParameter { name: "n_iter", message: "must be at least 1".into() });
        }
        for (i, (n, d)) in self.dists.iter().enumerate() {
            d.check(n)?;
            if self.dists[..i].iter().any(|(m, _)| m == n) {
                return Err(MlError::InvalidParameter {
                    name: "param_distributions",
                    message: format!("parameter `{n}` is given twice"),
                });
            }
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed);
        let finite: Option<Vec<Vec<ParamValue>>> = self.dists.iter().map(|(_, d)| d.finite_values()).collect();
        if let Some(values) = finite {
            let total = values.iter().try_fold(1usize, |acc, v| acc.checked_mul(v.len()));
            if let Some(total) = total {
                if self.n_iter > total {
                    return Err(MlError::InvalidParameter {
                        name: "n_iter",
                        message: format!(
                            "{} candidates asked for, but the space holds only {total} distinct ones (every \
                             distribution is a finite list, so candidates are drawn without replacement); \
                             lower n_iter or use a grid search",
                            self.n_iter
                        ),
                    });
                }
                let picks = sample(&mut rng, total, self.n_iter);
                return Ok(picks
                    .iter()
                    .map(|mut flat| {
                        // Mixed radix, last parameter fastest (the grid's order).
                        let mut out = vec![(String::new(), ParamValue::None); values.len()];
                        for (j, v) in values.iter().enumerate().rev() {
                            out[j] = (self.dists[j].0.clone(), v[flat % v.len()].clone());
                            flat /= v.len();
                        }
                        out
                    })
                    .collect());
            }
        }
        Ok((0..self.n_iter)
            .map(|_| self.dists.iter().map(|(n, d)| (n.clone(), d.sample(&mut rng))).collect())
            .collect())
    }
}

/// Where candidates come from: a grid, a sampler, or an explicit list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ParamSpace {
    /// Every point of a grid.
    Grid(ParameterGrid),
    /// Random draws.
    Sampler(ParameterSampler),
    /// These candidates.
    List(Vec<Candidate>),
}

impl ParamSpace {
    /// The candidates.
    pub fn candidates(&self) -> Result<Vec<Candidate>> {
        match self {
            ParamSpace::Grid(g) => g.candidates(),
            ParamSpace::Sampler(s) => s.candidates(),
            ParamSpace::List(l) if l.is_empty() => {
                Err(MlError::InvalidParameter { name: "candidates", message: "the list is empty".into() })
            }
            ParamSpace::List(l) => Ok(l.clone()),
        }
    }
}

impl From<ParameterGrid> for ParamSpace {
    fn from(g: ParameterGrid) -> Self {
        ParamSpace::Grid(g)
    }
}

impl From<ParameterSampler> for ParamSpace {
    fn from(s: ParameterSampler) -> Self {
        ParamSpace::Sampler(s)
    }
}

impl From<Vec<Candidate>> for ParamSpace {
    fn from(l: Vec<Candidate>) -> Self {
        ParamSpace::List(l)
    }
}

/// A candidate as `name=value, …` for tables and messages.
pub fn format_candidate(c: &[(String, ParamValue)]) -> String {
    c.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_expands_last_name_fastest_and_sub_grids_in_order() {
        let g = ParameterGrid::new().add("a", [1, 2]).add("b", ["x", "y"]).or().add("c", [true]);
        let c = g.candidates().unwrap();
        assert_eq!(g.len(), 5);
        let show: Vec<String> = c.iter().map(|c| format_candidate(c)).collect();
        assert_eq!(show, ["a=1, b=x", "a=1, b=y", "a=2, b=x", "a=2, b=y", "c=true"]);
    }

    #[test]
    fn grid_errors() {
        assert!(ParameterGrid::new().candidates().unwrap_err().to_string().contains("empty"));
        let e = ParameterGrid::new().add("a", Vec::<f64>::new()).candidates().unwrap_err().to_string();
        assert!(e.contains("`a` has an empty list"), "{e}");
        let e = ParameterGrid::new().add("a", [1]).add("a", [2]).candidates().unwrap_err().to_string();
        assert!(e.contains("given twice"), "{e}");
    }

    #[test]
    fn sampler_is_seeded_and_without_replacement_on_finite_spaces() {
        let s = ParameterSampler::new(6, 7)
            .add("a", Distribution::choice([1, 2, 3]))
            .add("b", Distribution::int_range(0, 2));
        let c = s.candidates().unwrap();
        assert_eq!(c, s.candidates().unwrap());
        let mut shown: Vec<String> = c.iter().map(|c| format_candidate(c)).collect();
        shown.sort();
        shown.dedup();
        assert_eq!(shown.len(), 6, "all six distinct points of the 3 × 2 grid");
        let e = ParameterSampler::new(7, 7)
            .add("a", Distribution::choice([1, 2, 3]))
            .add("b", Distribution::int_range(0, 2));
        let e = e.candidates().unwrap_err().to_string();
        assert!(e.contains("only 6 distinct"), "{e}");
    }

    #[test]
    fn sampler_draws_in_range() {
        let s = ParameterSampler::new(200, 1)
            .add("alpha", Distribution::log_uniform(1e-5, 1e-1))
            .add("x", Distribution::uniform(-1.0, 1.0));
        for c in s.candidates().unwrap() {
            let a = c[0].1.as_f64().unwrap();
            assert!((1e-5..1e-1).contains(&a));
            let x = c[1].1.as_f64().unwrap();
            assert!((-1.0..1.0).contains(&x));
        }
        assert!(ParameterSampler::new(1, 0).add("a", Distribution::log_uniform(0.0, 1.0)).candidates().is_err());
    }

    #[test]
    fn param_types_convert_and_refuse() {
        assert_eq!(f64::from_param("c", &ParamValue::Int(2)).unwrap(), 2.0);
        let e = usize::from_param("n", &ParamValue::Float(2.0)).unwrap_err().to_string();
        assert!(e.contains("`n` expects an integer"), "{e}");
        let e = usize::from_param("n", &ParamValue::Int(-1)).unwrap_err().to_string();
        assert!(e.contains("range of usize"), "{e}");
        let e = bool::from_param("b", &"yes".into()).unwrap_err().to_string();
        assert!(e.contains("the string \"yes\""), "{e}");
        assert_eq!(Option::<usize>::from_param("k", &ParamValue::None).unwrap(), None);
        let json = serde_json::to_string(&vec![ParamValue::Int(1), ParamValue::Float(0.5), "a".into()]).unwrap();
        assert_eq!(json, r#"[1,0.5,"a"]"#);
    }
}
