//! The block op of SGD: one pass of per-sample updates over a block, for every binary problem.

use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rask_core::{op_bail, op_ensure};
use rask_core::{Op, OpError, Value};
use rask_ml::with_block;
use rask_ml::Float;
use serde::{Deserialize, Serialize};

use super::loss::Loss;
use super::params::{LearningRate, SgdPenalty};

/// Derivatives are clipped to this magnitude, as in scikit-learn.
const MAX_DLOSS: f64 = 1e12;
/// Below this, the weight scale is folded into the weights (scikit-learn's threshold for f64).
const WSCALE_THRESHOLD: f64 = 1e-9;

/// The optimiser state of one binary (or regression) problem: scikit-learn's `WeightVector`
/// (`w · wscale` are the coefficients), the intercept, the sample counter `t`, the cumulative
/// L1 penalty (`u`, `q`) and this epoch's summed training loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BinaryState {
    /// Unscaled weights.
    pub w: Vec<f64>,
    /// Their scale.
    pub wscale: f64,
    /// The intercept.
    pub intercept: f64,
    /// Samples seen plus one (the learning-rate clock).
    pub t: f64,
    /// Total L1 penalty that could have been applied so far.
    pub u: f64,
    /// L1 penalty actually applied, per weight.
    pub q: Vec<f64>,
    /// Summed loss of the epoch so far.
    pub sumloss: f64,
}

impl BinaryState {
    pub(crate) fn new(coef: &[f64], intercept: f64, t: f64) -> Self {
        BinaryState { w: coef.to_vec(), wscale: 1.0, intercept, t, u: 0.0, q: vec![0.0; coef.len()], sumloss: 0.0 }
    }

    /// The coefficients, `w · wscale`.
    pub fn coef(&self) -> Vec<f64> {
        self.w.iter().map(|w| w * self.wscale).collect()
    }
}

/// The states of every problem of a fit (one for a regressor or a binary classifier, one per
/// class for one-vs-rest).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SgdStates {
    /// One state per problem.
    pub problems: Vec<BinaryState>,
}

/// What a problem learns to predict.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum Target {
    /// Rows labelled `label` are positive, the others negative.
    Class(i64),
    /// The target itself.
    Value,
}

/// The settings of an SGD pass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct StepSettings {
    pub(crate) loss: Loss,
    pub(crate) penalty: SgdPenalty,
    pub(crate) alpha: f64,
    pub(crate) l1_ratio: f64,
    pub(crate) fit_intercept: bool,
    pub(crate) learning_rate: LearningRate,
    pub(crate) power_t: f64,
    pub(crate) optimal_init: f64,
    pub(crate) targets: Vec<Target>,
    /// Labels every row must carry (classification), sorted.
    pub(crate) classes: Option<Vec<i64>>,
}

/// The initial states of an epoch, as a task (so the chain is a graph like any other).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SgdInitial {
    pub(crate) states: SgdStates,
}

impl Op for SgdInitial {
    const NAME: &'static str = "rask.estimators.sgd.initial";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        rask_core::ops::expect_inputs(inputs, 0, Self::NAME)?;
        Ok(Value::new(self.states.clone()))
    }
}

/// One block of an SGD epoch: inputs `[states, x, y]` or `[states, x, y, weights]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SgdStep {
    pub(crate) settings: StepSettings,
    /// Per problem: whether it still learns (a converged problem is left as it is).
    pub(crate) active: Vec<bool>,
    /// Per problem: the step size of the constant and adaptive schedules.
    pub(crate) eta: Vec<f64>,
    /// The seed of this block's row order; `None` visits rows in order.
    pub(crate) row_seed: Option<u64>,
}

/// How far ahead of the current row [`SgdStep`] fetches: 28 rows (at 15–20 ns an update, some
/// 400–550 ns ahead). On the voting bench (1,000,000 × 20 in 10 blocks, fit on two threads),
/// 16 rows ahead took 0.296–0.307 s against 0.284–0.289 s for 28, back to back, and 40 took
/// 0.304–0.321 s; at 25–40 ns an update (before the branch-free fetch of `prefetch`), 8 had
/// left misses in the way and 12 to 48 were the same within this VM's noise.
const PREFETCH_ROWS_AHEAD: usize = 28;

/// Hints the CPU to bring `len` bytes from `ptr` into cache (x86-64; elsewhere nothing).
#[inline(always)]
fn prefetch(ptr: *const u8, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if len == 0 {
            return;
        }
        // Every cache line the range touches, with a trip count that depends on `len` only:
        // lines from `ptr` in steps of 64 bytes, then the line of the last byte (a 160-byte
        // row that starts 48 bytes into a line spans four lines, one that starts at 16 three).
        // Stepping to the end of the range instead, whose count depends on the row's
        // alignment, mispredicted on every other shuffled row: 3–4 ns of a 20 ns update.
        let mut off = 0;
        while off < len {
            // SAFETY: a prefetch is a hint; it never faults, even on an invalid address, and
            // changes nothing the program can observe. `wrapping_add` keeps the pointer
            // arithmetic defined. SSE is part of the x86-64 baseline.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    ptr.wrapping_add(off).cast::<i8>(),
                );
            }
            off += 64;
        }
        // SAFETY: as above.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                ptr.wrapping_add(len - 1).cast::<i8>(),
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (ptr, len);
}

fn targets_of(v: &Value) -> Result<Vec<f64>, OpError> {
    if let Some(a) = v.downcast_ref::<Array1<f64>>() {
        Ok(a.to_vec())
    } else if let Some(a) = v.downcast_ref::<Array1<f32>>() {
        Ok(a.iter().map(|&x| f64::from(x)).collect())
    } else if let Some(a) = v.downcast_ref::<Array1<i64>>() {
        Ok(a.iter().map(|&x| x as f64).collect())
    } else {
        Err(OpError::new(format!("expected a target vector block, found `{}`", v.type_name())))
    }
}

/// Shuffles `order` uniformly (Fisher–Yates, from the last position down) with draws from
/// ChaCha8 seeded by `seed`: each position's partner is drawn by Lemire's multiply-and-reject
/// (unbiased; it draws again with probability below `order.len() / 2³²`).
///
/// About 1.8 ns a row against rand 0.8's `shuffle` at 7.3 ns on 100,000 rows: rand's bounded
/// draw rejects up to half of the values for some ranges, and the branch on it mispredicts on
/// about every fourth row. That was a fifth of an SGD epoch. The order differs from rand's, so
/// seeded SGD fits differ from those of Rask 0.x before this change (see the changelog).
fn shuffle_rows(order: &mut [u32], seed: u64) {
    use rand::RngCore;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for i in (1..order.len()).rev() {
        // `i + 1 ≤ order.len() ≤ u32::MAX` (the caller's bound): the cast is exact.
        let range = (i + 1) as u32;
        let mut m = u64::from(rng.next_u32()) * u64::from(range);
        if (m as u32) < range {
            // The values below `2³² mod range` would make some positions likelier: reject them.
            let threshold = range.wrapping_neg() % range;
            while (m as u32) < threshold {
                m = u64::from(rng.next_u32()) * u64::from(range);
            }
        }
        // `m >> 32 < range = i + 1`: a position at most `i`.
        order.swap(i, (m >> 32) as usize);
    }
}

/// The error for a row with a NaN or infinite value, if it has one.
#[cold]
fn check_row(row: &[f64], i: usize) -> Result<(), OpError> {
    match row.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((j, v)) => op_bail!(
            "x contains NaN or infinite values (row {i} of the block, column {j} holds {v}); SGD \
             needs finite features: impute missing values first (e.g. a SimpleImputer step) or drop those rows"
        ),
        None => Ok(()),
    }
}

/// `w · xr`, in scikit-learn's order of additions (for the same bits). A non-finite value in
/// the row always makes the sum non-finite (`0 · ∞` is NaN), so the row is only scanned when
/// the sum is: one test per row instead of one per value.
#[inline(always)]
fn dot(w: &[f64], xr: &[f64], i: usize) -> Result<f64, OpError> {
    let dot: f64 = w.iter().zip(xr).map(|(w, x)| w * x).sum();
    if !dot.is_finite() {
        check_row(xr, i)?;
    }
    Ok(dot)
}

/// The scalars of a [`BinaryState`], held in locals (registers) while a block is visited.
#[derive(Clone, Copy)]
struct Scalars {
    wscale: f64,
    intercept: f64,
    t: f64,
    u: f64,
    sumloss: f64,
}

impl Scalars {
    fn of(st: &BinaryState) -> Self {
        Scalars { wscale: st.wscale, intercept: st.intercept, t: st.t, u: st.u, sumloss: st.sumloss }
    }

    fn store(self, st: &mut BinaryState) {
        (st.wscale, st.intercept, st.t, st.u, st.sumloss) = (self.wscale, self.intercept, self.t, self.u, self.sumloss);
    }
}

/// What every update of a block shares: the settings, resolved once.
struct Rule<'a> {
    s: &'a StepSettings,
    l1_ratio: f64,
    shrinks: bool,
    l1: bool,
    /// The threshold of a step-shaped loss without an L1 part (see [`Loss::step_threshold`]).
    step: Option<f64>,
}

impl Rule<'_> {
    /// The step size of the next update (`eta0`: the constant and adaptive schedules' size).
    #[inline(always)]
    fn eta(&self, sc: &Scalars, eta0: f64) -> f64 {
        let s = self.s;
        match s.learning_rate {
            LearningRate::Optimal => 1.0 / (s.alpha * (s.optimal_init + sc.t - 1.0)),
            LearningRate::InvScaling => eta0 / sc.t.powf(s.power_t),
            LearningRate::Constant | LearningRate::Adaptive => eta0,
        }
    }

    /// [`update`](Self::update) for a step-shaped loss (hinge: `threshold` 1, perceptron: 0);
    /// `false` (and nothing changed) where the weight scale must be folded into the weights,
    /// which the general path does.
    ///
    /// The derivative is `−y` or 0, so the update is `y·η·sw` or nothing, and
    /// `c = y·(η·sw / wscale')` exactly (multiplying by ±1 and rounding commute). All but the
    /// sign test is known before the prediction, so the division is off the chain from one
    /// row's weights to the next row's prediction. The same bits as the general path.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn step_update(
        &self,
        threshold: f64,
        sc: &mut Scalars,
        w: &mut [f64],
        xr: &[f64],
        i: usize,
        y: f64,
        sample_weight: f64,
        eta: f64,
    ) -> Result<bool, OpError> {
        let shrunk = if self.shrinks {
            sc.wscale * (1.0 - (1.0 - self.l1_ratio) * eta * self.s.alpha).max(0.0)
        } else {
            sc.wscale
        };
        if self.shrinks && shrunk < WSCALE_THRESHOLD {
            return Ok(false);
        }
        let size = eta * sample_weight;
        let c = size / shrunk;
        let z = (dot(w, xr, i)? * sc.wscale + sc.intercept) * y;
        sc.wscale = shrunk;
        if z <= threshold {
            sc.sumloss += if threshold == 0.0 { -z } else { 1.0 - z };
            let update = y * size;
            if update != 0.0 {
                let c = y * c;
                for (w, x) in w.iter_mut().zip(xr) {
                    *w += x * c;
                }
                if self.s.fit_intercept {
                    sc.intercept += update;
                }
            }
        }
        sc.t += 1.0;
        Ok(true)
    }

    /// One sample's update of one problem: scikit-learn's `_plain_sgd`, in its order of
    /// operations (the same bits). `xr` is the row, `i` its index in the block (for errors).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn update(
        &self,
        sc: &mut Scalars,
        w: &mut [f64],
        q: &mut [f64],
        xr: &[f64],
        i: usize,
        y: f64,
        sample_weight: f64,
        eta0: f64,
    ) -> Result<(), OpError> {
        let s = self.s;
        let eta = self.eta(sc, eta0);
        if let Some(threshold) = self.step {
            if self.step_update(threshold, sc, w, xr, i, y, sample_weight, eta)? {
                return Ok(());
            }
        }
        let dot = dot(w, xr, i)?;
        let shrink = (1.0 - (1.0 - self.l1_ratio) * eta * s.alpha).max(0.0);
        let p = dot * sc.wscale + sc.intercept;
        sc.sumloss += s.loss.loss(y, p);
        let dloss = s.loss.gradient(y, p).clamp(-MAX_DLOSS, MAX_DLOSS);
        let update = -eta * dloss * sample_weight;
        if self.shrinks {
            sc.wscale *= shrink;
            if sc.wscale < WSCALE_THRESHOLD {
                // Fold the scale into the weights.
                for w in w.iter_mut() {
                    *w *= sc.wscale;
                }
                sc.wscale = 1.0;
            }
        }
        if update != 0.0 {
            let c = update / sc.wscale;
            for (w, x) in w.iter_mut().zip(xr) {
                *w += x * c;
            }
            if s.fit_intercept {
                sc.intercept += update;
            }
        }
        if self.l1 {
            sc.u += self.l1_ratio * eta * s.alpha;
            let (u, wscale) = (sc.u, sc.wscale);
            for (w, q) in w.iter_mut().zip(q.iter_mut()) {
                let z = *w;
                if wscale * z > 0.0 {
                    *w = (*w - (u + *q) / wscale).max(0.0);
                } else if wscale * z < 0.0 {
                    *w = (*w + (u - *q) / wscale).min(0.0);
                }
                *q += wscale * (*w - z);
            }
        }
        sc.t += 1.0;
        Ok(())
    }
}

/// What a [`step_pass`] reads besides the weights and scalars it updates.
#[derive(Clone, Copy)]
struct StepPass<'a> {
    rule: &'a Rule<'a>,
    /// The loss's threshold ([`Loss::step_threshold`]).
    threshold: f64,
    /// The label of the positive class (`+1`); every other label is `−1`.
    positive: i64,
    /// The step size of the constant and adaptive schedules.
    eta0: f64,
    rows: &'a Rows<'a>,
    /// The block's labels, checked in advance to be among the classes.
    labels: &'a [i64],
}

/// One block's pass for one two-class problem with a step-shaped loss and labels checked in
/// advance: [`Rule::update`]'s fast path in a loop of its own, whose state stays in registers.
///
/// The loop is compiled three times, for the x86-64 baseline (SSE2, what the default build
/// targets), AVX2 and AVX-512F, and runs with the widest the CPU offers. Every build gives the
/// same bits: the dot product's additions stay in scikit-learn's order, and only the
/// independent multiplications and the weight update (one rounding each, no fused
/// multiply-add) use the wider registers. On a 65,536 × 20 block of random rows visited in a
/// shuffled order (one thread, this machine) an update took 17.0 ns with SSE2, 15.4 ns with
/// AVX2 and 14.6 ns with AVX-512.
fn step_pass(pass: &StepPass<'_>, w: &mut [f64], state: &mut Scalars) -> Result<(), OpError> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has the feature (std caches the detection, so the test is a load).
            return unsafe { step_pass_avx512(pass, w, state) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { step_pass_avx2(pass, w, state) };
        }
    }
    step_pass_baseline(pass, w, state)
}

/// Defines `$name`, [`step_pass_body`] compiled on its own with the attributes given (the
/// target features of one of [`step_pass`]'s builds).
macro_rules! step_pass_variant {
    ($(#[$attr:meta])* $name:ident) => {
        $(#[$attr])*
        #[inline(never)]
        fn $name(pass: &StepPass<'_>, w: &mut [f64], state: &mut Scalars) -> Result<(), OpError> {
            step_pass_body(pass, w, state)
        }
    };
}

step_pass_variant!(step_pass_baseline);
step_pass_variant!(
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    step_pass_avx2
);
step_pass_variant!(
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    step_pass_avx512
);

#[inline(always)]
fn step_pass_body(pass: &StepPass<'_>, w: &mut [f64], state: &mut Scalars) -> Result<(), OpError> {
    let StepPass { rule, threshold, positive, eta0, rows, labels } = *pass;
    let mut sc = *state;
    for (j, &i) in rows.order.iter().enumerate() {
        rows.fetch_ahead(j);
        let i = i as usize;
        let xr = rows.row(i);
        let sample_weight = rows.weights.map_or(1.0, |w| w[i]);
        let y = if labels[i] == positive { 1.0 } else { -1.0 };
        let eta = rule.eta(&sc, eta0);
        if !rule.step_update(threshold, &mut sc, w, xr, i, y, sample_weight, eta)? {
            // The L1 part (the only user of `q`) is off on this path.
            rule.update(&mut sc, w, &mut [], xr, i, y, sample_weight, eta0)?;
        }
    }
    *state = sc;
    Ok(())
}

/// Whether every label is one of `classes` (sorted).
fn all_among(labels: &Array1<i64>, classes: &[i64]) -> bool {
    match (labels.as_slice(), classes) {
        // Two classes: one pass without branches, which the compiler vectorises.
        (Some(l), &[a, b]) => l.iter().fold(true, |ok, &v| ok & ((v == a) | (v == b))),
        _ => labels.iter().all(|label| classes.binary_search(label).is_ok()),
    }
}

/// A problem's target for a row: `±1` (log loss: `0/1`) for a class, the value for regression.
#[inline(always)]
fn target_of(
    target: Target,
    zero_one: bool,
    label: Option<i64>,
    values: Option<&[f64]>,
    xr: &[f64],
    i: usize,
) -> Result<f64, OpError> {
    match target {
        Target::Class(c) => Ok(match (label == Some(c), zero_one) {
            (true, _) => 1.0,
            (false, true) => 0.0,
            (false, false) => -1.0,
        }),
        Target::Value => {
            let v = values.map_or(f64::NAN, |v| v[i]);
            if !v.is_finite() {
                // A non-finite row is reported first, as the row checks come first.
                check_row(xr, i)?;
                return Err(OpError::new("y contains NaN or infinite values; SGD needs finite targets"));
            }
            Ok(v)
        }
    }
}

/// The rows of a block in the visiting order, with their labels and weights.
struct Rows<'a> {
    order: &'a [u32],
    xs: &'a [f64],
    d: usize,
    labels: Option<&'a Array1<i64>>,
    weights: Option<&'a Array1<f64>>,
    classes: Option<&'a [i64]>,
    /// Whether to check each row as it is visited (see [`SgdStep::run_block`]).
    by_row: bool,
}

impl Rows<'_> {
    /// Row `i` of the block.
    #[inline(always)]
    fn row(&self, i: usize) -> &[f64] {
        &self.xs[i * self.d..(i + 1) * self.d]
    }

    /// Rows are visited in a shuffled order, so each is a cache miss that would stall the chain
    /// of dependent updates: at the `j`-th row visited, fetch the row (and label)
    /// `PREFETCH_ROWS_AHEAD` further on. Gathering the rows into order first was slower.
    #[inline(always)]
    fn fetch_ahead(&self, j: usize) {
        if let Some(&ahead) = self.order.get(j + PREFETCH_ROWS_AHEAD) {
            let ahead = ahead as usize;
            prefetch(self.xs.as_ptr().wrapping_add(ahead * self.d).cast::<u8>(), self.d * std::mem::size_of::<f64>());
            if let Some(l) = self.labels {
                prefetch(l.as_ptr().wrapping_add(ahead).cast::<u8>(), 8);
            }
        }
    }

    /// Calls `f(i, row, label, sample weight)` for each row `i` in the visiting order.
    #[inline(always)]
    fn visit(&self, mut f: impl FnMut(usize, &[f64], Option<i64>, f64) -> Result<(), OpError>) -> Result<(), OpError> {
        for (j, &i) in self.order.iter().enumerate() {
            self.fetch_ahead(j);
            let i = i as usize;
            let xr = self.row(i);
            let sample_weight = self.weights.map_or(1.0, |w| w[i]);
            let label = self.labels.map(|l| l[i]);
            if self.by_row {
                check_row(xr, i)?;
                op_ensure!(
                    sample_weight.is_finite(),
                    "sample weight of row {i} of the block is {sample_weight}; SGD needs finite sample weights"
                );
                if let (Some(label), Some(classes)) = (label, self.classes) {
                    if classes.binary_search(&label).is_err() {
                        op_bail!("label {label} is not among the classes {classes:?}");
                    }
                }
            }
            f(i, xr, label, sample_weight)?;
        }
        Ok(())
    }
}

impl SgdStep {
    fn run_block<F: Float>(
        &self,
        mut states: SgdStates,
        x: &Array2<F>,
        labels: Option<&Array1<i64>>,
        values: Option<&[f64]>,
        weights: Option<&Array1<f64>>,
    ) -> Result<SgdStates, OpError> {
        let s = &self.settings;
        let n = x.nrows();
        let d = x.ncols();
        if let Some(w) = weights {
            op_ensure!(w.len() == n, "x block has {n} rows, weight block {}", w.len());
        }
        if states.problems.len() != s.targets.len() || self.active.len() != s.targets.len() {
            return Err(OpError::new("SGD state and settings disagree on the number of problems"));
        }
        if let Some(p) = states.problems.iter().find(|p| p.w.len() != d) {
            op_bail!("x block has {d} columns, the model {}", p.w.len());
        }
        if let Some(p) = states.problems.iter().find(|p| p.q.len() != d) {
            op_bail!("malformed SGD state: {d} weights but {} cumulative L1 penalties", p.q.len());
        }
        // `u32` positions: half the cache of `usize` ones.
        let n32 = u32::try_from(n)
            .map_err(|_| OpError::new(format!("SGD takes blocks of at most {} rows, this one has {n}", u32::MAX)))?;
        let mut order: Vec<u32> = (0..n32).collect();
        if let Some(seed) = self.row_seed {
            shuffle_rows(&mut order, seed);
        }
        let l1_ratio = match s.penalty {
            SgdPenalty::L2 | SgdPenalty::None => 0.0,
            SgdPenalty::L1 => 1.0,
            SgdPenalty::ElasticNet => s.l1_ratio,
        };
        let l1 = matches!(s.penalty, SgdPenalty::L1 | SgdPenalty::ElasticNet);
        let rule = Rule {
            s,
            l1_ratio,
            shrinks: matches!(s.penalty, SgdPenalty::L2 | SgdPenalty::ElasticNet),
            l1,
            // The L1 clipping needs the update first.
            step: s.loss.step_threshold().filter(|_| !l1),
        };
        let zero_one = s.loss.zero_one_targets();
        // The rows as `f64` (borrowed for `f64` blocks, widened once for `f32`), row-major.
        let wide = F::view_f64(x.view());
        let standard = wide.as_standard_layout();
        // `as_standard_layout` gives a row-major array, whose elements are one slice.
        let xs = standard.as_slice().ok_or_else(|| OpError::new("SGD: a block that is not row-major"))?;
        let classes = s.classes.as_deref();
        // Labels and weights are checked for the whole block in one pass; non-finite features
        // show in the dot products. Only a block that fails that pass (or whose problems have
        // all converged) is checked row by row, in the visiting order, so the first bad row is
        // reported as before.
        let by_row = !self.active.iter().any(|&a| a)
            || !labels.is_none_or(|l| classes.is_none_or(|c| all_among(l, c)))
            || !weights.is_none_or(|w| w.iter().all(|v| v.is_finite()));
        let rows = Rows { order: &order, xs, d, labels, weights, classes, by_row };
        if let ([st], [Target::Class(positive)], [eta], [true], Some(threshold), Some(l), false) = (
            &mut states.problems[..],
            &s.targets[..],
            &self.eta[..],
            &self.active[..],
            rule.step,
            labels.and_then(|l| l.as_slice()),
            by_row,
        ) {
            // scikit-learn's default (hinge loss, two classes): the loop of its own.
            let mut sc = Scalars::of(st);
            let pass = StepPass { rule: &rule, threshold, positive: *positive, eta0: *eta, rows: &rows, labels: l };
            let passed = step_pass(&pass, &mut st.w, &mut sc);
            sc.store(st);
            passed?;
        } else if let ([st], [target], [eta], [true]) =
            (&mut states.problems[..], &s.targets[..], &self.eta[..], &self.active[..])
        {
            // One problem (regression, two classes): its scalars stay in registers.
            let mut sc = Scalars::of(st);
            let (w, q) = (&mut st.w[..], &mut st.q[..]);
            let visited = rows.visit(
                #[inline(always)]
                |i, xr, label, sample_weight| {
                    let y = target_of(*target, zero_one, label, values, xr, i)?;
                    rule.update(&mut sc, w, q, xr, i, y, sample_weight, *eta)
                },
            );
            sc.store(st);
            visited?;
        } else {
            let mut scs: Vec<Scalars> = states.problems.iter().map(Scalars::of).collect();
            let problems = &mut states.problems;
            let visited = rows.visit(
                #[inline(always)]
                |i, xr, label, sample_weight| {
                    for (k, (st, sc)) in problems.iter_mut().zip(scs.iter_mut()).enumerate() {
                        if self.active[k] {
                            let y = target_of(s.targets[k], zero_one, label, values, xr, i)?;
                            rule.update(sc, &mut st.w, &mut st.q, xr, i, y, sample_weight, self.eta[k])?;
                        }
                    }
                    Ok(())
                },
            );
            for (st, sc) in states.problems.iter_mut().zip(scs) {
                sc.store(st);
            }
            visited?;
        }
        Ok(states)
    }
}

impl Op for SgdStep {
    const NAME: &'static str = "rask.estimators.sgd.step";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        op_ensure!(inputs.len() == 3 || inputs.len() == 4, "{} takes 3 or 4 inputs, got {}", Self::NAME, inputs.len());
        let states = inputs[0].get::<SgdStates>()?.clone();
        let (labels, values) = if self.settings.targets.iter().all(|t| matches!(t, Target::Value)) {
            (None, Some(targets_of(&inputs[2])?))
        } else {
            (Some(inputs[2].get::<Array1<i64>>()?), None)
        };
        let weights = inputs.get(3).map(|w| w.get::<Array1<f64>>()).transpose()?;
        if let Some(n) = labels.map(|l| l.len()).or(values.as_ref().map(Vec::len)) {
            let rows = if let Some(a) = inputs[1].downcast_ref::<Array2<f64>>() {
                a.nrows()
            } else if let Some(a) = inputs[1].downcast_ref::<Array2<f32>>() {
                a.nrows()
            } else {
                n
            };
            op_ensure!(rows == n, "x block has {rows} rows, y block {n}");
        }
        let v = &inputs[1];
        let out = with_block!(v, |x| self.run_block(states, x, labels, values.as_deref(), weights)?);
        Ok(Value::new(out))
    }
}

/// The sorted distinct labels of a block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockLabels;

impl Op for BlockLabels {
    const NAME: &'static str = "rask.estimators.sgd.block_labels";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        rask_core::ops::expect_inputs(inputs, 1, Self::NAME)?;
        let mut v = inputs[0].get::<Array1<i64>>()?.to_vec();
        v.sort_unstable();
        v.dedup();
        Ok(Value::new(Array1::from(v)))
    }
}

/// The sorted union of label sets.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergeLabels;

impl Op for MergeLabels {
    const NAME: &'static str = "rask.estimators.sgd.merge_labels";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let mut all = Vec::new();
        for v in inputs {
            all.extend(v.get::<Array1<i64>>()?.iter().copied());
        }
        all.sort_unstable();
        all.dedup();
        Ok(Value::new(Array1::from(all)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_shuffle_is_a_seeded_permutation() {
        for n in [0u32, 1, 2, 3, 17, 1000, 65_537] {
            let mut a: Vec<u32> = (0..n).collect();
            shuffle_rows(&mut a, 7);
            let mut b: Vec<u32> = (0..n).collect();
            shuffle_rows(&mut b, 7);
            assert_eq!(a, b, "the same seed gives the same order");
            let mut sorted = a.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "a permutation of 0..{n}");
            if n > 16 {
                let mut c: Vec<u32> = (0..n).collect();
                shuffle_rows(&mut c, 8);
                assert_ne!(a, c, "another seed, another order");
            }
        }
    }

    /// The step-shaped losses' fast path against the general path (`step: None`, which takes
    /// the derivative from [`Loss::gradient`]): the same bits after every row, with the scale
    /// folded into the weights on the way (a constant rate of 0.3 with `alpha` 2 shrinks it by
    /// 0.4 a row), zero and fractional sample weights, and every learning rate.
    #[test]
    fn the_step_path_gives_the_general_paths_bits() {
        use super::super::loss::SgdClassifierLoss;
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let d = 7;
        let rows: Vec<Vec<f64>> = (0..400).map(|_| (0..d).map(|_| rng.gen_range(-2.0..2.0)).collect()).collect();
        let ys: Vec<f64> = (0..400).map(|_| if rng.gen_bool(0.5) { 1.0 } else { -1.0 }).collect();
        let weights: Vec<f64> = (0..400).map(|i| [1.0, 0.0, 0.37, 2.5][i % 4]).collect();
        let cases = [
            (SgdClassifierLoss::Hinge, LearningRate::Optimal, SgdPenalty::L2, 1e-4, 0.0),
            (SgdClassifierLoss::Hinge, LearningRate::Constant, SgdPenalty::L2, 2.0, 0.3),
            (SgdClassifierLoss::Perceptron, LearningRate::InvScaling, SgdPenalty::None, 1e-3, 0.5),
            (SgdClassifierLoss::Hinge, LearningRate::Adaptive, SgdPenalty::None, 1e-3, 0.01),
        ];
        let mut folded = false;
        for (loss, learning_rate, penalty, alpha, eta0) in cases {
            let settings = two_class_settings(loss, learning_rate, penalty, alpha);
            let shrinks = penalty == SgdPenalty::L2;
            let fast = Rule { s: &settings, l1_ratio: 0.0, shrinks, l1: false, step: loss_step(loss) };
            assert!(fast.step.is_some());
            let general = Rule { step: None, ..fast };
            let mut a = Scalars::of(&BinaryState::new(&[0.0; 7], 0.0, 1.0));
            let mut b = a;
            let (mut wa, mut wb) = (vec![0.0; d], vec![0.0; d]);
            for (i, ((xr, &y), &sw)) in rows.iter().zip(&ys).zip(&weights).enumerate() {
                let before = b.wscale;
                fast.update(&mut a, &mut wa, &mut [], xr, i, y, sw, eta0).unwrap();
                general.update(&mut b, &mut wb, &mut [], xr, i, y, sw, eta0).unwrap();
                folded |= b.wscale > before;
                let bits = |sc: &Scalars, w: &[f64]| {
                    let mut v = vec![sc.wscale, sc.intercept, sc.t, sc.u, sc.sumloss];
                    v.extend_from_slice(w);
                    v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
                };
                assert_eq!(bits(&a, &wa), bits(&b, &wb), "{loss:?} {learning_rate:?}, row {i}");
            }
            assert!(b.sumloss > 0.0 && wb.iter().any(|&w| w != 0.0), "{loss:?}: the rows were learned from");
        }
        assert!(folded, "a case folds the scale into the weights");
    }

    #[test]
    fn every_instruction_set_gives_the_baselines_bits() {
        use super::super::loss::SgdClassifierLoss;
        use rand::Rng;
        type Pass = fn(&StepPass<'_>, &mut [f64], &mut Scalars) -> Result<(), OpError>;
        // Every build this CPU can run, and the one `step_pass` picks.
        #[allow(unused_mut)] // Only x86-64 has more.
        let mut builds: Vec<(&str, Pass)> = vec![("picked", step_pass)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has the feature.
                builds.push(("avx2", |p, w, s| unsafe { step_pass_avx2(p, w, s) }));
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: as above.
                builds.push(("avx512f", |p, w, s| unsafe { step_pass_avx512(p, w, s) }));
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        // 23 columns: the vector loops' remainders are taken too; rows start at every
        // alignment.
        let (n, d) = (3_000, 23);
        let xs: Vec<f64> = (0..n * d).map(|_| rng.gen_range(-3.0..3.0)).collect();
        let labels = Array1::from_iter((0..n).map(|_| i64::from(rng.gen_bool(0.5))));
        let weights = Array1::from_iter((0..n).map(|i| [1.0, 0.0, 0.37, 2.5][i % 4]));
        let mut order: Vec<u32> = (0..n as u32).collect();
        shuffle_rows(&mut order, 5);
        let cases = [
            (SgdClassifierLoss::Hinge, LearningRate::Optimal, SgdPenalty::L2, 1e-4, 0.0, false),
            (SgdClassifierLoss::Hinge, LearningRate::Optimal, SgdPenalty::L2, 1e-4, 0.0, true),
            // Folds the scale into the weights every few rows (the general path's rows).
            (SgdClassifierLoss::Hinge, LearningRate::Constant, SgdPenalty::L2, 2.0, 0.3, true),
            (SgdClassifierLoss::Perceptron, LearningRate::InvScaling, SgdPenalty::None, 1e-3, 0.5, false),
        ];
        for (loss, learning_rate, penalty, alpha, eta0, weighted) in cases {
            let settings = two_class_settings(loss, learning_rate, penalty, alpha);
            let rule = Rule {
                s: &settings,
                l1_ratio: 0.0,
                shrinks: penalty == SgdPenalty::L2,
                l1: false,
                step: loss_step(loss),
            };
            let rows = Rows {
                order: &order,
                xs: &xs,
                d,
                labels: Some(&labels),
                weights: weighted.then_some(&weights),
                classes: Some(&[0, 1]),
                by_row: false,
            };
            let pass = StepPass {
                rule: &rule,
                threshold: rule.step.unwrap(),
                positive: 1,
                eta0,
                rows: &rows,
                labels: labels.as_slice().unwrap(),
            };
            let run = |build: Pass| {
                let mut st = BinaryState::new(&[0.0; 23], 0.0, 1.0);
                let mut sc = Scalars::of(&st);
                for _ in 0..3 {
                    sc.sumloss = 0.0;
                    build(&pass, &mut st.w, &mut sc).unwrap();
                }
                sc.store(&mut st);
                let mut v = vec![st.wscale, st.intercept, st.t, st.sumloss];
                v.extend_from_slice(&st.w);
                v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            };
            let baseline = run(step_pass_baseline);
            assert!(f64::from_bits(baseline[3]) > 0.0, "{loss:?}: the rows were learned from");
            for &(name, build) in &builds {
                assert_eq!(run(build), baseline, "{name}, {loss:?} {learning_rate:?} weighted {weighted}");
            }
        }
    }

    /// The settings of a two-class problem (labels 0 and 1) with an intercept.
    fn two_class_settings(
        loss: super::super::loss::SgdClassifierLoss,
        learning_rate: LearningRate,
        penalty: SgdPenalty,
        alpha: f64,
    ) -> StepSettings {
        StepSettings {
            loss: Loss::Classifier(loss),
            penalty,
            alpha,
            l1_ratio: 0.15,
            fit_intercept: true,
            learning_rate,
            power_t: 0.5,
            optimal_init: 1000.0,
            targets: vec![Target::Class(1)],
            classes: Some(vec![0, 1]),
        }
    }

    fn loss_step(loss: super::super::loss::SgdClassifierLoss) -> Option<f64> {
        Loss::Classifier(loss).step_threshold()
    }

    #[test]
    fn every_order_of_four_rows_is_equally_likely() {
        // 24 orders over 96,000 seeds: 4,000 expected each; a chi-square with 23 degrees of
        // freedom above 60 has probability below 1e-4 for a uniform shuffle.
        let mut counts = std::collections::HashMap::new();
        let seeds = 96_000u64;
        for seed in 0..seeds {
            let mut a = [0u32, 1, 2, 3];
            shuffle_rows(&mut a, seed);
            *counts.entry(a).or_insert(0u64) += 1;
        }
        assert_eq!(counts.len(), 24);
        let expected = seeds as f64 / 24.0;
        let chi2: f64 = counts.values().map(|&c| (c as f64 - expected).powi(2) / expected).sum();
        assert!(chi2 < 60.0, "chi-square {chi2} over {counts:?}");
    }
}
