//! The per-column summaries and the block ops that build and merge them.

use rask_core::{op_bail, op_ensure};
use rask_ml::with_block;
use std::cmp::Ordering;

use ndarray::Array2;
use rask_core::{Op, OpError, Value};
use rask_ml::{ChunkedArray, Float, Lazy, MlError};
use serde::{Deserialize, Serialize};

/// One retained value with bounds on its rank: `L(v)`, the number of summarised values smaller
/// than `v`, lies in `[l_min, l_max]`, and `U(v)`, the number smaller or equal, in
/// `[u_min, u_max]`. For an exact summary `l_min = l_max`, `u_min = u_max` and `U − L` is the
/// count of `v`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The value.
    pub value: f64,
    /// Lower bound of `L(v)`.
    pub l_min: u64,
    /// Upper bound of `L(v)`.
    pub l_max: u64,
    /// Lower bound of `U(v)`.
    pub u_min: u64,
    /// Upper bound of `U(v)`.
    pub u_max: u64,
}

impl Entry {
    /// The worst-case distance between rank `r` (1-based) and the ranks `L(v) + 1 ..= U(v)`
    /// held by copies of this value.
    fn worst(&self, r: u64) -> u64 {
        let below = (self.l_max + 1).saturating_sub(r);
        let above = r.saturating_sub(self.u_min);
        below.max(above)
    }
}

/// The summary of one column: every distinct value with exact counts while `exact`, a pruned
/// set of values with rank bounds otherwise. See the [module docs](super) for the error bound.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnSketch {
    /// Non-NaN values summarised.
    pub n: u64,
    /// NaNs seen (left out of the summary).
    pub n_nan: u64,
    /// Whether every distinct value is kept with exact counts.
    pub exact: bool,
    /// The retained values, increasing.
    pub entries: Vec<Entry>,
}

/// The bounds `(l_min, l_max, u_min, u_max)` that a summary gives for a value it may not hold:
/// its neighbours bound both `L(v)` and `U(v)`.
fn between(s: &ColumnSketch, next: usize) -> (u64, u64, u64, u64) {
    let lo = if next == 0 { 0 } else { s.entries[next - 1].u_min };
    let hi = s.entries.get(next).map_or(s.n, |e| e.l_max);
    (lo, hi, lo, hi)
}

fn own(e: &Entry) -> (u64, u64, u64, u64) {
    (e.l_min, e.l_max, e.u_min, e.u_max)
}

/// NumPy's `_lerp`: the two formulas meet at `t = 0.5`, each exact at its end.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

impl ColumnSketch {
    /// The exact summary of `values` (no NaNs, no infinities).
    pub fn from_values(mut values: Vec<f64>, n_nan: u64) -> Self {
        // Negative zero is the same category and the same quantile as zero (as in NumPy's
        // `unique`), so it is folded into it.
        for v in &mut values {
            *v += 0.0;
        }
        values.sort_unstable_by(f64::total_cmp);
        let mut entries: Vec<Entry> = Vec::new();
        for (i, &v) in values.iter().enumerate() {
            let i = i as u64;
            match entries.last_mut() {
                Some(e) if e.value == v => {
                    e.u_min = i + 1;
                    e.u_max = i + 1;
                }
                _ => entries.push(Entry { value: v, l_min: i, l_max: i, u_min: i + 1, u_max: i + 1 }),
            }
        }
        ColumnSketch { n: values.len() as u64, n_nan, exact: true, entries }
    }

    /// The summary of both columns' values (the combine step: bounds of both sides add).
    pub fn merge(&self, o: &ColumnSketch) -> ColumnSketch {
        let (a, b) = (&self.entries, &o.entries);
        let mut out = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let ord = match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) => x.value.total_cmp(&y.value),
                (Some(_), None) => Ordering::Less,
                _ => Ordering::Greater,
            };
            let (value, ba, bb) = match ord {
                Ordering::Less => {
                    i += 1;
                    (a[i - 1].value, own(&a[i - 1]), between(o, j))
                }
                Ordering::Greater => {
                    j += 1;
                    (b[j - 1].value, between(self, i), own(&b[j - 1]))
                }
                Ordering::Equal => {
                    i += 1;
                    j += 1;
                    (a[i - 1].value, own(&a[i - 1]), own(&b[j - 1]))
                }
            };
            out.push(Entry { value, l_min: ba.0 + bb.0, l_max: ba.1 + bb.1, u_min: ba.2 + bb.2, u_max: ba.3 + bb.3 });
        }
        ColumnSketch { n: self.n + o.n, n_nan: self.n_nan + o.n_nan, exact: self.exact && o.exact, entries: out }
    }

    /// Keeps at most `capacity` values: for `capacity` evenly spaced target ranks, the value
    /// that answers each best.
    pub fn prune(&mut self, capacity: usize) {
        let m = self.entries.len();
        if m <= capacity || capacity < 2 {
            return;
        }
        let n = self.n;
        let mut keep: Vec<usize> = Vec::with_capacity(capacity);
        let mut p = 0;
        for t in 0..capacity {
            // Target ranks 1 ..= n, evenly spaced.
            let r = 1 + ((n - 1) as f64 * t as f64 / (capacity - 1) as f64).round() as u64;
            while p + 1 < m && self.entries[p + 1].worst(r) <= self.entries[p].worst(r) {
                p += 1;
            }
            if keep.last() != Some(&p) {
                keep.push(p);
            }
        }
        self.entries = keep.into_iter().map(|i| self.entries[i]).collect();
        self.exact = false;
    }

    /// The value whose rank is nearest to `r` (1-based, clamped to `1..=n`) and the largest
    /// possible distance between `r` and that value's true ranks (0 when exact).
    pub fn rank_query(&self, r: u64) -> Option<(f64, u64)> {
        if self.entries.is_empty() {
            return None;
        }
        let r = r.clamp(1, self.n);
        if self.exact {
            let k = self.entries.partition_point(|e| e.u_max < r);
            let e = &self.entries[k.min(self.entries.len() - 1)];
            return Some((e.value, e.worst(r)));
        }
        self.entries.iter().map(|e| (e.value, e.worst(r))).min_by_key(|&(_, w)| w)
    }

    /// The value at 0-based position `k` of the sorted column (approximately, when not exact).
    pub fn value_at(&self, k: u64) -> f64 {
        self.rank_query(k + 1).map_or(f64::NAN, |(v, _)| v)
    }

    /// The `q`-quantile (`0 ≤ q ≤ 1`) with linear interpolation, computed as NumPy's
    /// `nanpercentile(…, method="linear")` does; NaN for a column without values.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.n == 0 {
            return f64::NAN;
        }
        let n = self.n as f64;
        // NumPy's "linear" method: virtual index (n − 1)·q, clamped to the ends.
        let virt = (n - 1.0) * q;
        let (prev, next, gamma) = if virt < 0.0 {
            (0, 0, 0.0)
        } else if virt >= n - 1.0 {
            (self.n - 1, self.n - 1, 0.0)
        } else {
            let p = virt.floor();
            (p as u64, p as u64 + 1, virt - p)
        };
        let (a, b) = (self.value_at(prev), self.value_at(next));
        if prev == next {
            a
        } else {
            lerp(a, b, gamma)
        }
    }

    /// The median as NumPy's `nanmedian`: the middle value, or the mean of the two middle ones.
    pub fn median(&self) -> f64 {
        if self.n == 0 {
            return f64::NAN;
        }
        let h = self.n / 2;
        if self.n % 2 == 1 {
            self.value_at(h)
        } else {
            (self.value_at(h - 1) + self.value_at(h)) / 2.0
        }
    }

    /// The most frequent value, the smallest on ties (as scikit-learn); `None` without values
    /// or when the summary is not exact.
    pub fn mode(&self) -> Option<f64> {
        if !self.exact {
            return None;
        }
        let mut best: Option<(f64, u64)> = None;
        for e in &self.entries {
            let c = e.u_max - e.l_max;
            if best.is_none_or(|(_, bc)| c > bc) {
                best = Some((e.value, c));
            }
        }
        best.map(|(v, _)| v)
    }

    /// The distinct values, increasing (every one of them when exact).
    pub fn distinct(&self) -> Vec<f64> {
        self.entries.iter().map(|e| e.value).collect()
    }

    /// A rank error bound this summary certifies for every [`rank_query`](Self::rank_query):
    /// no answer is further than this many ranks from the asked rank.
    pub fn max_rank_error(&self) -> u64 {
        if self.exact || self.entries.is_empty() {
            return 0;
        }
        let e = &self.entries;
        let mut w = e[0].l_max.max(self.n.saturating_sub(e[e.len() - 1].u_min));
        for x in e {
            w = w.max((x.l_max + 1).saturating_sub(x.u_min));
        }
        for p in e.windows(2) {
            w = w.max((p[1].l_max + 1).saturating_sub(p[0].u_min) / 2);
        }
        w
    }
}

/// The summaries of every column of a chunked array.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sketches {
    /// The most values kept per column (`None`: exact).
    pub capacity: Option<usize>,
    /// One summary per column.
    pub columns: Vec<ColumnSketch>,
}

impl Sketches {
    /// Merges `o` into `self`, column by column, without pruning.
    pub fn merge(&mut self, o: &Sketches) -> Result<(), OpError> {
        op_ensure!(
            o.columns.len() == self.columns.len(),
            "cannot merge summaries of {} and {} columns",
            self.columns.len(),
            o.columns.len()
        );
        for (a, b) in self.columns.iter_mut().zip(&o.columns) {
            *a = a.merge(b);
        }
        Ok(())
    }

    /// Prunes every column to the capacity (nothing when exact).
    pub fn prune(&mut self) {
        if let Some(c) = self.capacity {
            for col in &mut self.columns {
                col.prune(c);
            }
        }
    }
}

fn block_sketches<F: Float>(x: &Array2<F>, op: &BlockSketch) -> Result<Sketches, OpError> {
    let mut columns = Vec::with_capacity(x.ncols());
    for (j, col) in x.columns().into_iter().enumerate() {
        let mut values = Vec::with_capacity(col.len());
        let mut n_nan = 0;
        for &v in col {
            let v = v.widen();
            if v.is_nan() {
                op_ensure!(op.allow_nan, "column {j} of x contains NaN; {} needs finite values", op.who);
                n_nan += 1;
            } else if v.is_infinite() {
                op_bail!("column {j} of x contains infinite values");
            } else {
                values.push(v);
            }
        }
        let mut s = ColumnSketch::from_values(values, n_nan);
        if let Some(c) = op.capacity {
            s.prune(c);
        }
        columns.push(s);
    }
    Ok(Sketches { capacity: op.capacity, columns })
}

/// [`Sketches`] of one block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockSketch {
    /// The most values kept per column (`None`: exact).
    pub capacity: Option<usize>,
    /// Whether NaNs are allowed (counted and skipped) or an error.
    pub allow_nan: bool,
    /// The estimator, for error messages.
    pub who: String,
}

impl Op for BlockSketch {
    const NAME: &'static str = "rask.estimators.quantile_sketch.block";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        rask_core::ops::expect_inputs(inputs, 1, Self::NAME)?;
        let v = &inputs[0];
        let s = with_block!(v, |x| block_sketches(x, self)?);
        Ok(Value::new(s))
    }
}

/// Merges [`Sketches`] in order, then prunes once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergeSketches;

impl Op for MergeSketches {
    const NAME: &'static str = "rask.estimators.quantile_sketch.merge";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let (first, rest) = inputs.split_first().ok_or_else(|| OpError::new("nothing to merge"))?;
        let mut acc = first.get::<Sketches>()?.clone();
        for v in rest {
            acc.merge(v.get::<Sketches>()?)?;
        }
        // One prune per combine task, whatever its fan-in: the error bound counts one prune
        // per level of the reduction tree.
        acc.prune();
        Ok(Value::new(acc))
    }
}

/// Summarises every column of `x` with one tree reduction and computes the result.
pub(crate) fn sketch_columns<F: Float>(
    x: &ChunkedArray<F>,
    capacity: Option<usize>,
    allow_nan: bool,
    who: &str,
    split_every: usize,
) -> Result<Sketches, MlError> {
    if x.n_cols() == 0 {
        return Err(MlError::InvalidParameter { name: "x", message: "has no columns".into() });
    }
    let op = BlockSketch { capacity, allow_nan, who: who.to_string() };
    let (layers, key) = x.block_layer().reduce(&[], op, MergeSketches, split_every)?;
    let s = Lazy::<Sketches>::new(layers, key).compute()?;
    // Every row adds a value or a NaN to each column: none in the first column means no rows.
    if s.columns.first().is_some_and(|c| c.n + c.n_nan == 0) {
        return Err(MlError::EmptyInput { who: who.to_string() });
    }
    Ok(s)
}
