//! Adaptive searches for estimators with `partial_fit`: one driver loop and a small policy per
//! method, as in dask-ml's `_incremental.py`.
//!
//! The driver holds out a test part (blockwise, `test_size` of the rows, seeded), keeps the
//! training blocks persisted, and runs in *rounds*. In each round the policy says how many more
//! `partial_fit` calls each model gets (models it leaves out are dropped); the driver builds one
//! graph in which each advancing model is a chain of [`SearchPartialFit`] tasks (one per
//! training block, in a seeded block order shared by all models: call `c` of any model uses
//! block `order[c]`) ending in a score task on the test part. Models are *persisted*, not
//! gathered: on a distributed scheduler each lives on a worker and the next round's first task
//! takes it by key, so only scores (a few numbers) come back. Decisions depend only on scores
//! and ids, so a seeded search gives the same result on every scheduler.
//!
//! | policy | what it does |
//! |---|---|
//! | [`Policy::Incremental`] | every model gets `fits_per_score` calls per round until `max_iter`, or until its score has not improved by `tol` within `patience` calls |
//! | [`Policy::InverseDecay`] | keeps the best `n / (1 + t)^decay_rate` models at time step `t` |
//! | [`Policy::SuccessiveHalving`] | rung `i` trains the best `⌊n η^-i⌋` models to `r η^i` calls |
//! | [`HyperbandSearchCV`] | every successive-halving bracket of Li et al. (JMLR 2018) at once; [`HyperbandSearchCV::plan`] gives the brackets before fitting |
//! | [`Policy::Asha`] | asynchronous successive halving (Li et al., MLSys 2020): a model is promoted as soon as it is in the top `1/η` of those finished at its rung; no rung waits for the others |
//!
//! With a checkpoint path, the state (models, scores, policy, pending order) is written
//! atomically after every round (or every `checkpoint_every` seconds), and a search started
//! again with the same path and settings resumes where the file left off.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rask_core::{default_scheduler, Graph, Key, Node, Scheduler, Tokenizer};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::estimator::{Estimator, Fitted, ModelMethod, Scores, SearchModelOp, SearchPartialFit};
use super::search::FoldKeys;
use crate::chunked::{ChunkedDataset, Element};
use crate::error::{MlError, Result};
use crate::float::Float;
use crate::metrics::Scorer;
use crate::params::{format_candidate, Candidate, ParamSpace};
use crate::split::{TestSize, TrainTestSplit};
use crate::traits::ModelKind;

/// One score of one model: after `calls` partial-fit calls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Partial-fit calls made so far.
    pub calls: u64,
    /// Test score (NaN if the model failed).
    pub score: f64,
    /// Seconds of partial fitting so far.
    pub partial_fit_seconds: f64,
    /// Seconds this scoring took.
    pub score_seconds: f64,
    /// Seconds since the search started when the score arrived.
    pub elapsed: f64,
    /// The round it arrived in.
    pub round: u64,
}

/// A model of an adaptive search and its history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The model's id (its candidate's index).
    pub id: usize,
    /// The Hyperband bracket it belongs to, if any.
    pub bracket: Option<usize>,
    /// Its params.
    pub params: Candidate,
    /// Its scores, one per round it advanced in.
    pub history: Vec<Record>,
    /// Its error, if a call failed.
    pub error: Option<String>,
}

impl ModelInfo {
    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.history.last().map_or(0, |r| r.calls)
    }

    /// The latest score (NaN before the first, or after a failure).
    pub fn score(&self) -> f64 {
        self.history.last().map_or(f64::NAN, |r| r.score)
    }
}

/// Sorts ids best first by latest score (NaN last), ties by id, so decisions are deterministic.
fn best_first(models: &BTreeMap<usize, ModelInfo>, ids: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut v: Vec<usize> = ids.into_iter().collect();
    v.sort_by(|a, b| {
        let (sa, sb) = (models[a].score(), models[b].score());
        match (sa.is_nan(), sb.is_nan()) {
            (true, true) => a.cmp(b),
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            (false, false) => sb.total_cmp(&sa).then(a.cmp(b)),
        }
    });
    v
}

/// How an adaptive search decides who trains next.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Policy {
    /// dask-ml's `IncrementalSearchCV` (without decay).
    Incremental {
        /// Calls per model between scores.
        fits_per_score: u64,
        /// Calls at most per model.
        max_iter: u64,
        /// Stop a model whose score has not risen by more than `tol` within this many calls
        /// (0: never; otherwise at least 2).
        patience: u64,
        /// The improvement that counts.
        tol: f64,
    },
    /// dask-ml's `InverseDecaySearchCV`.
    InverseDecay {
        /// Models at the start.
        n_initial: usize,
        /// How fast the number of models falls.
        decay_rate: f64,
        /// Calls at most per model.
        max_iter: u64,
    },
    /// Successive halving over the models `ids` (a Hyperband bracket, or all of them).
    SuccessiveHalving {
        /// Models of this bracket.
        ids: Vec<usize>,
        /// Calls of every model at the first rung.
        r: u64,
        /// Aggressiveness.
        eta: u64,
        /// Calls at most per model.
        max_iter: u64,
        /// The rung reached so far.
        rung: u32,
    },
    /// Several policies on disjoint sets of models at once (Hyperband's brackets).
    Concurrent(Vec<Policy>),
    /// Asynchronous successive halving.
    Asha {
        /// Calls at the first rung.
        r: u64,
        /// Aggressiveness.
        eta: u64,
        /// Calls at most per model (the top rung).
        max_iter: u64,
        /// Jobs in flight per round (models advanced at once).
        parallel: usize,
        /// Models started so far (in id order).
        started: usize,
        /// Total calls allowed; no new model starts once it would be exceeded.
        budget: u64,
        /// Per model: the highest rung it was promoted to.
        promoted: BTreeMap<usize, u32>,
    },
}

/// What the policy wants next: per model, how many more calls. A model not listed is retired.
type Decision = BTreeMap<usize, u64>;

impl Policy {
    fn decide(&mut self, models: &BTreeMap<usize, ModelInfo>, active: &[usize]) -> Result<Decision> {
        let alive: Vec<usize> = active.iter().copied().filter(|id| models[id].error.is_none()).collect();
        Ok(match self {
            Policy::Incremental { fits_per_score, max_iter, patience, tol } => {
                let mut d = Decision::new();
                for &id in &alive {
                    let m = &models[&id];
                    let calls = m.calls();
                    if calls >= *max_iter {
                        continue;
                    }
                    if *patience > 0 && calls >= *patience {
                        // dask-ml's plateau rule: scores within the last `patience` calls.
                        let window: Vec<f64> =
                            m.history.iter().filter(|h| calls - h.calls <= *patience).map(|h| h.score).collect();
                        if window.len() > 1 && window[1..].iter().all(|s| s - window[0] <= *tol) {
                            continue;
                        }
                    }
                    d.insert(id, (*fits_per_score).min(*max_iter - calls).max(1));
                }
                d
            }
            Policy::InverseDecay { n_initial, decay_rate, max_iter } => {
                let t = alive.iter().map(|id| models[id].calls()).max().unwrap_or(0);
                if t == 0 {
                    return Ok(alive.iter().map(|&id| (id, 1)).collect());
                }
                if t >= *max_iter {
                    return Ok(Decision::new());
                }
                let target = ((*n_initial as f64) / (1.0 + t as f64).powf(*decay_rate)).floor().max(1.0) as usize;
                if target <= 1 && alive.len() <= 1 {
                    return Ok(Decision::new());
                }
                best_first(models, alive.iter().copied()).into_iter().take(target).map(|id| (id, 1)).collect()
            }
            Policy::SuccessiveHalving { ids, r, eta, max_iter, rung } => {
                let mine: Vec<usize> = ids.iter().copied().filter(|id| alive.contains(id)).collect();
                let n = ids.len() as f64;
                let keep = (n / (*eta as f64).powi(*rung as i32)).floor() as usize;
                let target = (*r as f64 * (*eta as f64).powi(*rung as i32)).round() as u64;
                if keep == 0 || mine.is_empty() || mine.iter().all(|id| models[id].calls() >= *max_iter) {
                    return Ok(Decision::new());
                }
                // Rung 0 takes every model; later rungs the best `keep` by their latest score.
                let chosen = if *rung == 0 { mine } else { best_first(models, mine).into_iter().take(keep).collect() };
                *rung += 1;
                let target = target.min(*max_iter);
                chosen
                    .into_iter()
                    .map(|id| (id, target.saturating_sub(models[&id].calls())))
                    .filter(|&(_, c)| c > 0)
                    .collect()
            }
            Policy::Concurrent(policies) => {
                let mut d = Decision::new();
                for p in policies {
                    d.extend(p.decide(models, active)?);
                }
                d
            }
            Policy::Asha { r, eta, max_iter, parallel, started, budget, promoted } => {
                let rung_calls =
                    |k: u32| ((*r as f64) * (*eta as f64).powi(k as i32)).round().min(*max_iter as f64) as u64;
                let top = (0..).find(|&k| rung_calls(k) >= *max_iter).unwrap_or(0);
                let spent: u64 = models.values().map(ModelInfo::calls).sum();
                let mut committed = 0u64;
                let mut d = Decision::new();
                // Promotions, highest rung first (as ASHA's `get_job`); every model that has
                // reached rung k (and was not retired by failure) competes at rung k.
                for k in (0..top).rev() {
                    let at_least: Vec<usize> = models
                        .values()
                        .filter(|m| m.error.is_none() && m.calls() >= rung_calls(k))
                        .map(|m| m.id)
                        .collect();
                    // Score at rung k: the record made at exactly rung_calls(k).
                    let score_at = |id: usize| {
                        models[&id].history.iter().find(|h| h.calls == rung_calls(k)).map_or(f64::NAN, |h| h.score)
                    };
                    let finished: Vec<usize> = at_least;
                    let allowed = finished.len() / (*eta as usize);
                    let mut ranked = finished.clone();
                    ranked.sort_by(|a, b| score_at(*b).total_cmp(&score_at(*a)).then(a.cmp(b)));
                    for &id in ranked.iter().take(allowed) {
                        if d.len() >= *parallel {
                            break;
                        }
                        let already = promoted.get(&id).copied().unwrap_or(0);
                        if already <= k && models[&id].calls() == rung_calls(k) && !score_at(id).is_nan() {
                            let more = rung_calls(k + 1) - rung_calls(k);
                            if spent + committed + more > *budget {
                                continue;
                            }
                            promoted.insert(id, k + 1);
                            committed += more;
                            d.insert(id, more);
                        }
                    }
                }
                // Fill the remaining slots with new models.
                let n_models = models.len();
                while d.len() < *parallel && *started < n_models && spent + committed + rung_calls(0) <= *budget {
                    d.insert(*started, rung_calls(0));
                    committed += rung_calls(0);
                    *started += 1;
                }
                // Models keep living while promotions may still come; the driver ends when the
                // decision is empty.
                d
            }
        })
    }
}

/// Hyperband's brackets for `max_iter` R and aggressiveness η: `(bracket s, n models, r calls)`
/// from the most to the least adaptive, as Li et al.'s Algorithm 1 (and dask-ml).
pub fn hyperband_brackets(max_iter: u64, eta: u64) -> Vec<(u32, usize, u64)> {
    // s_max = ⌊log_η R⌋, computed in integers (no floating-point log).
    let mut s_max = 0u32;
    while eta.checked_pow(s_max + 1).is_some_and(|p| p <= max_iter) {
        s_max += 1;
    }
    let b = (s_max as u64 + 1) * max_iter;
    (0..=s_max)
        .rev()
        .map(|s| {
            let n = ((b as f64 / max_iter as f64) * (eta as f64).powi(s as i32) / (s as f64 + 1.0)).ceil() as usize;
            let r = (max_iter as f64 * (eta as f64).powi(-(s as i32))) as u64;
            (s, n, r)
        })
        .collect()
}

/// One bracket of a Hyperband plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BracketPlan {
    /// The bracket (0 is the least adaptive).
    pub bracket: u32,
    /// Models started.
    pub n_models: usize,
    /// Calls of each model at the first rung.
    pub r: u64,
    /// Total `partial_fit` calls.
    pub partial_fit_calls: u64,
    /// Calls at each rung.
    pub rungs: Vec<u64>,
}

/// Simulates successive halving of `n` models from `r` calls: total calls and the rungs.
fn simulate_sha(n: usize, r: u64, eta: u64, max_iter: u64) -> (u64, Vec<u64>) {
    let mut alive = n;
    let mut calls = vec![0u64; n];
    let mut rungs = Vec::new();
    let mut i = 0i32;
    loop {
        let keep = ((n as f64) / (eta as f64).powi(i)).floor() as usize;
        if keep == 0 || alive == 0 {
            break;
        }
        let target = ((r as f64) * (eta as f64).powi(i)).round().min(max_iter as f64) as u64;
        let keep = keep.min(alive);
        for c in calls.iter_mut().take(keep) {
            *c = target;
        }
        rungs.push(target);
        alive = keep;
        if target >= max_iter {
            break;
        }
        i += 1;
    }
    (calls.iter().sum(), rungs)
}

/// Reports each completed round of an adaptive search.
pub trait SearchProgress: Send + Sync {
    /// Called after every round.
    fn on_round(&self, report: &RoundReport<'_>);
}

/// What a round did.
#[derive(Debug)]
pub struct RoundReport<'a> {
    /// The round number (from 1).
    pub round: u64,
    /// Every model so far.
    pub models: &'a BTreeMap<usize, ModelInfo>,
    /// Models still active.
    pub active: usize,
    /// `partial_fit` calls so far.
    pub calls: u64,
    /// The planned total, if known.
    pub planned_calls: Option<u64>,
    /// Seconds since the start.
    pub elapsed: f64,
}

/// Progress on standard error: a bar and a one-line leaderboard on a terminal (redrawn in
/// place), one plain line per round otherwise (logs, cron, CI).
#[derive(Debug, Default)]
pub struct StderrProgress;

impl SearchProgress for StderrProgress {
    fn on_round(&self, r: &RoundReport<'_>) {
        let best = best_first(r.models, r.models.keys().copied()).into_iter().next();
        let lead = best.map_or(String::new(), |id| {
            let m = &r.models[&id];
            format!("best {:.4} after {} calls ({})", m.score(), m.calls(), format_candidate(&m.params))
        });
        if std::io::stderr().is_terminal() {
            let bar = r.planned_calls.map_or(String::new(), |p| {
                let filled = ((r.calls as f64 / p.max(1) as f64) * 20.0).round().min(20.0) as usize;
                format!("[{}{}] ", "#".repeat(filled), ".".repeat(20 - filled))
            });
            eprint!(
                "\r\x1b[2K{bar}round {} · {} active · {} calls · {:.1}s · {lead}",
                r.round, r.active, r.calls, r.elapsed
            );
        } else {
            eprintln!("round {}: {} active, {} calls, {:.1}s, {lead}", r.round, r.active, r.calls, r.elapsed);
        }
    }
}

/// Settings shared by every adaptive search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveSettings {
    /// Share of rows held out for scoring (blockwise split).
    pub test_size: f64,
    /// Seed of the split, the block order and the candidate draws.
    pub seed: u64,
    /// The scorer (the model's default when `None`).
    pub scoring: Option<String>,
    /// Where to write checkpoints.
    pub checkpoint: Option<PathBuf>,
    /// Seconds between checkpoints (0: after every round).
    pub checkpoint_every: f64,
}

impl Default for AdaptiveSettings {
    fn default() -> Self {
        AdaptiveSettings { test_size: 0.15, seed: 0, scoring: None, checkpoint: None, checkpoint_every: 0.0 }
    }
}

/// The result of an adaptive search.
#[derive(Clone, Debug)]
pub struct AdaptiveResult<M> {
    /// Every model and its history (the model's id is its candidate's index).
    pub models: Vec<ModelInfo>,
    /// The best model's id.
    pub best_index: usize,
    /// Its params.
    pub best_params: Candidate,
    /// Its latest score.
    pub best_score: f64,
    /// The best model as trained by the search (not refitted).
    pub best_estimator: M,
    /// Total `partial_fit` calls.
    pub partial_fit_calls: u64,
    /// Rounds run.
    pub rounds: u64,
    /// Seconds from the start until the best score was first reached.
    pub time_to_best: f64,
    /// Whether the search resumed from a checkpoint.
    pub resumed: bool,
}

impl<M> AdaptiveResult<M> {
    /// One line per model: id, bracket, calls, latest score, params; best first.
    pub fn table(&self) -> String {
        let mut rows: Vec<&ModelInfo> = self.models.iter().filter(|m| !m.history.is_empty()).collect();
        rows.sort_by(|a, b| b.score().total_cmp(&a.score()).then(a.id.cmp(&b.id)));
        let mut out = format!("{:>5} {:>7} {:>6} {:>9}  params\n", "model", "bracket", "calls", "score");
        for m in rows {
            out.push_str(&format!(
                "{:>5} {:>7} {:>6} {:>9.4}  {}{}\n",
                m.id,
                m.bracket.map_or("-".into(), |b| b.to_string()),
                m.calls(),
                m.score(),
                format_candidate(&m.params),
                m.error.as_ref().map_or(String::new(), |e| format!("  [failed: {e}]"))
            ));
        }
        out
    }
}

/// What a checkpoint holds.
#[derive(Serialize, Deserialize)]
#[serde(bound = "M: Serialize + DeserializeOwned")]
struct Checkpoint<M> {
    magic: String,
    fingerprint: u64,
    round: u64,
    policy: Policy,
    models: BTreeMap<usize, ModelInfo>,
    active: Vec<usize>,
    states: BTreeMap<usize, Fitted<M>>,
    elapsed: f64,
}

const CHECKPOINT_MAGIC: &str = "rask-adaptive-search-1";

/// The settings every adaptive search shares, as builder methods on a type with a `settings`
/// field.
macro_rules! settings_setters {
    () => {
        $crate::params! {
            Self {
                set {
                    /// Share of rows held out for scoring (default 0.15).
                    test_size(f: f64) => settings.test_size;
                    /// The seed of the split and the block order (default 0). Candidates come from the
                    /// sampler's own seed.
                    seed(seed: u64) => settings.seed;
                    /// The scorer by name (default: the model's own score).
                    scoring(name: &str) => settings.scoring = Some(name.to_string());
                    /// Writes a checkpoint to `path` after every round, and resumes from it when it exists.
                    checkpoint(path: impl Into<PathBuf>) => settings.checkpoint = Some(path.into());
                    /// Writes checkpoints at most every `seconds` (default: after every round).
                    checkpoint_every(seconds: f64) => settings.checkpoint_every;
                }
            }
        }
    };
}

/// The adaptive-search driver: an estimator, candidates and a policy.
///
/// # Parallelism and cost
///
/// The training blocks and the test part are persisted once. Each round is one graph
/// computation: for every advancing model a chain of `partial_fit` tasks (sequential within
/// a model, one training block each), then a score task on the test part; different models
/// run in parallel. The models stay persisted (on a cluster, on the workers) and only scores
/// come back, so a round costs about `calls` block passes per advancing model plus one test
/// pass per score. Policies, decisions and checkpoints run on the client.
///
/// # Compared with dask-ml
///
/// The policies are dask-ml's (`IncrementalSearchCV`, `InverseDecaySearchCV`,
/// `SuccessiveHalvingSearchCV`, `HyperbandSearchCV`) plus ASHA. dask-ml reacts to models as
/// they finish on a distributed `Client` (asynchronously, so timing can change its choices);
/// here rounds are synchronous, decisions use scores and ids only, any scheduler works and a
/// seeded search is reproducible and resumable from its checkpoint.
#[derive(Clone, Debug)]
pub struct AdaptiveSearch<E> {
    estimator: E,
    space: ParamSpace,
    policy: Policy,
    brackets: Vec<Option<usize>>,
    settings: AdaptiveSettings,
    planned_calls: Option<u64>,
    progress: Option<Arc<dyn SearchProgressDebug>>,
}

/// [`SearchProgress`] that can be printed in `Debug` output.
pub trait SearchProgressDebug: SearchProgress + std::fmt::Debug {}
impl<T: SearchProgress + std::fmt::Debug> SearchProgressDebug for T {}

impl<E: Estimator> AdaptiveSearch<E> {
    fn new(estimator: E, space: ParamSpace, policy: Policy) -> Self {
        AdaptiveSearch {
            estimator,
            space,
            policy,
            brackets: Vec::new(),
            settings: AdaptiveSettings::default(),
            planned_calls: None,
            progress: None,
        }
    }

    settings_setters!();

    /// Reports every round.
    pub fn progress(mut self, p: impl SearchProgress + std::fmt::Debug + 'static) -> Self {
        self.progress = Some(Arc::new(p));
        self
    }

    fn fingerprint(&self, candidates: &[Candidate], n_blocks: usize) -> u64 {
        let bytes = rmp_serde::to_vec(&(
            &self.policy,
            candidates,
            &self.settings.test_size,
            self.settings.seed,
            &self.settings.scoring,
            n_blocks,
        ))
        .unwrap_or_default();
        let est = rmp_serde::to_vec(&self.estimator).unwrap_or_default();
        Tokenizer::new().bytes(&bytes).bytes(&est).finish().0 as u64
    }

    /// Runs the search on `ds` on the default scheduler.
    pub fn fit<F: Float, Y: Element>(&self, ds: &ChunkedDataset<F, Y>) -> Result<AdaptiveResult<E::Model>> {
        self.fit_on(ds, &default_scheduler())
    }

    /// Runs the search on `ds` on `scheduler`.
    pub fn fit_on<F: Float, Y: Element>(
        &self,
        ds: &ChunkedDataset<F, Y>,
        scheduler: &Scheduler,
    ) -> Result<AdaptiveResult<E::Model>> {
        if !E::has_partial_fit() {
            return Err(MlError::Unsupported {
                what: format!("{} has no partial_fit, which adaptive searches need; use GridSearchCV", E::NAME),
            });
        }
        let candidates = self.space.candidates()?;
        for c in &candidates {
            self.estimator.with_params(c)?;
        }
        let scorer = match &self.settings.scoring {
            Some(n) => Scorer::from_name(n)?,
            None => match E::KIND {
                ModelKind::Classifier => Scorer::Accuracy,
                ModelKind::Regressor => Scorer::R2,
                _ => {
                    return Err(MlError::InvalidParameter {
                        name: "scoring",
                        message: format!("{} has no default score; name a scorer", E::NAME),
                    })
                }
            },
        };
        let split = TrainTestSplit {
            test_size: TestSize::Fraction(self.settings.test_size),
            seed: self.settings.seed,
            shuffle: crate::split::Shuffle::Blockwise,
        };
        let (train, test) = split.split(ds)?;
        let train = train.persist_on(scheduler)?;
        let n_blocks = train.n_blocks();
        if n_blocks == 0 {
            return Err(MlError::InvalidParameter { name: "data", message: "no training blocks".into() });
        }
        let (test_keys, test_layers) = super::search::materialise(&test, "test")?;
        let base = {
            let mut g = train.x().layers().to_graph();
            if let Some(y) = train.y() {
                g.merge(&y.layers().to_graph());
            }
            if let Some(w) = train.weights() {
                g.merge(&w.layers().to_graph());
            }
            let test_graph = scheduler.persist(&test_layers.to_graph(), &test_keys.keys())?;
            g.merge(&test_graph);
            g
        };
        let block = |i: usize| FoldKeys {
            x: train.x().block_key(i),
            y: train.y().map(|y| y.block_key(i)),
            w: train.weights().map(|w| w.block_key(i)),
        };
        // Call `c` of every model uses block `order(c)`: epoch `c / n` is a permutation drawn
        // from its own stream, so the order needs no state to resume.
        let order = |c: u64| -> usize {
            let epoch = c / n_blocks as u64;
            let seed = crate::stream_seed(&["rask.ml.adaptive.order"], self.settings.seed, &[epoch]);
            let mut perm: Vec<usize> = (0..n_blocks).collect();
            perm.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
            perm[(c % n_blocks as u64) as usize]
        };

        let fingerprint = self.fingerprint(&candidates, n_blocks);
        let mut policy = self.policy.clone();
        let mut models: BTreeMap<usize, ModelInfo> = candidates
            .iter()
            .enumerate()
            .map(|(id, c)| {
                let bracket = self.brackets.get(id).copied().flatten();
                (id, ModelInfo { id, bracket, params: c.clone(), history: Vec::new(), error: None })
            })
            .collect();
        let mut active: Vec<usize> = (0..candidates.len()).collect();
        let mut states: BTreeMap<usize, (Key, Node)> = BTreeMap::new();
        let mut round = 0u64;
        let mut elapsed_before = 0.0;
        let mut resumed = false;
        if let Some(path) = &self.settings.checkpoint {
            if path.exists() {
                let bytes = std::fs::read(path).map_err(|e| checkpoint_err(path, e))?;
                let cp: Checkpoint<E::Model> =
                    rmp_serde::from_slice(&bytes).map_err(|e| checkpoint_err(path, format!("cannot decode: {e}")))?;
                if cp.magic != CHECKPOINT_MAGIC || cp.fingerprint != fingerprint {
                    return Err(checkpoint_err(
                        path,
                        "was written by a different search (estimator, candidates, policy, seed or data blocks differ); \
                         remove it or choose another path",
                    ));
                }
                policy = cp.policy;
                models = cp.models;
                active = cp.active;
                round = cp.round;
                elapsed_before = cp.elapsed;
                for (id, f) in cp.states {
                    let key = Key::new(format!("adaptive-model-{id}-{}", f.calls));
                    states.insert(id, (key, Node::Data(rask_core::Value::new(f))));
                }
                resumed = true;
            }
        }
        let start = Instant::now();
        let mut last_checkpoint = Instant::now();
        let raise = false;
        loop {
            let decision = policy.decide(&models, &active)?;
            active.retain(|id| decision.contains_key(id) || matches!(policy, Policy::Asha { .. }));
            if decision.values().all(|&c| c == 0) {
                break;
            }
            round += 1;
            let mut g = base.clone();
            for (k, n) in states.values() {
                g.insert(k.clone(), n.clone());
            }
            let mut new_models = Vec::new();
            let mut score_keys = Vec::new();
            for (&id, &more) in &decision {
                if more == 0 {
                    continue;
                }
                let params = self.estimator.with_params(&models[&id].params)?;
                let mut key = states.get(&id).map(|(k, _)| k.clone());
                let calls = models[&id].calls();
                for c in calls..calls + more {
                    let b = block(order(c));
                    let op =
                        SearchPartialFit { params: params.clone(), has_model: key.is_some(), arity: b.arity(), raise };
                    let mut inputs: Vec<Key> = key.iter().cloned().collect();
                    inputs.extend(b.keys());
                    key = Some(g.task(op, &inputs)?);
                }
                // `more > 0`, so the loop above ran at least once.
                let key = key.expect("at least one call");
                let op = SearchModelOp::<E>::new(ModelMethod::Score(vec![scorer]), test_keys.arity(), raise);
                let mut inputs = vec![key.clone()];
                inputs.extend(test_keys.keys());
                score_keys.push((id, g.task(op, &inputs)?));
                new_models.push((id, key));
            }
            let mut wanted: Vec<Key> = new_models.iter().map(|(_, k)| k.clone()).collect();
            wanted.extend(score_keys.iter().map(|(_, k)| k.clone()));
            let kept = scheduler.persist(&g, &wanted)?;
            let score_values =
                scheduler.compute(&kept, &score_keys.iter().map(|(_, k)| k.clone()).collect::<Vec<_>>())?;
            let now = elapsed_before + start.elapsed().as_secs_f64();
            for ((id, key), v) in new_models.into_iter().zip(score_values) {
                let s = v.get::<Scores>().map_err(|e| MlError::Graph(rask_core::Error::Scheduler(e.to_string())))?;
                let node =
                    kept.get(&key).cloned().ok_or_else(|| MlError::Graph(rask_core::Error::MissingKey(key.clone())))?;
                states.insert(id, (key, node));
                let m = models
                    .get_mut(&id)
                    .ok_or_else(|| MlError::Graph(rask_core::Error::Scheduler(format!("unknown model {id}"))))?;
                let calls = m.calls() + decision[&id];
                let score = match &s.values {
                    Ok(v) => v[0],
                    Err(e) => {
                        m.error.get_or_insert_with(|| e.clone());
                        f64::NAN
                    }
                };
                m.history.push(Record {
                    calls,
                    score,
                    partial_fit_seconds: s.fit_seconds,
                    score_seconds: s.score_seconds,
                    elapsed: now,
                    round,
                });
            }
            // Every model keeps its latest state to the end (the best is returned, and a
            // retired model may still be it); states are small next to the data.
            if let Some(p) = &self.progress {
                p.on_round(&RoundReport {
                    round,
                    models: &models,
                    active: active.len(),
                    calls: models.values().map(ModelInfo::calls).sum(),
                    planned_calls: self.planned_calls,
                    elapsed: now,
                });
            }
            if let Some(path) = &self.settings.checkpoint {
                if last_checkpoint.elapsed().as_secs_f64() >= self.settings.checkpoint_every {
                    write_checkpoint::<E>(
                        path,
                        scheduler,
                        &states,
                        Checkpoint {
                            magic: CHECKPOINT_MAGIC.into(),
                            fingerprint,
                            round,
                            policy: policy.clone(),
                            models: models.clone(),
                            active: active.clone(),
                            states: BTreeMap::new(),
                            elapsed: now,
                        },
                    )?;
                    last_checkpoint = Instant::now();
                }
            }
        }
        // A terminal progress line is redrawn in place: end it.
        if self.progress.is_some() && std::io::stderr().is_terminal() {
            eprintln!();
        }
        let best = best_first(&models, models.keys().copied().filter(|id| !models[id].history.is_empty()))
            .into_iter()
            .next()
            .ok_or_else(|| MlError::InvalidParameter { name: "candidates", message: "no model was trained".into() })?;
        if models[&best].score().is_nan() {
            let first = models.values().find_map(|m| m.error.clone()).unwrap_or_default();
            return Err(MlError::InvalidParameter {
                name: "candidates",
                message: format!("every model failed; the first error: {first}"),
            });
        }
        let (best_key, best_node) = states
            .get(&best)
            .cloned()
            .ok_or_else(|| MlError::Graph(rask_core::Error::Scheduler("the best model's state was released".into())))?;
        let mut g = Graph::new();
        g.insert(best_key.clone(), best_node);
        let fitted: Fitted<E::Model> = scheduler.get(&g, &best_key)?;
        let best_estimator =
            fitted.model.map_err(|e| MlError::InvalidParameter { name: "best_estimator", message: e })?;
        let best_score = models[&best].score();
        let time_to_best = models
            .values()
            .flat_map(|m| m.history.iter())
            .filter(|h| h.score >= best_score)
            .map(|h| h.elapsed)
            .fold(f64::INFINITY, f64::min);
        Ok(AdaptiveResult {
            best_index: best,
            best_params: models[&best].params.clone(),
            best_score,
            best_estimator,
            partial_fit_calls: models.values().map(ModelInfo::calls).sum(),
            rounds: round,
            time_to_best,
            resumed,
            models: models.into_values().collect(),
        })
    }
}

fn checkpoint_err(path: &std::path::Path, e: impl std::fmt::Display) -> MlError {
    MlError::ModelFile { path: path.display().to_string(), message: format!("checkpoint: {e}") }
}

fn write_checkpoint<E: Estimator>(
    path: &std::path::Path,
    scheduler: &Scheduler,
    states: &BTreeMap<usize, (Key, Node)>,
    mut cp: Checkpoint<E::Model>,
) -> Result<()> {
    // Gather the live models (on a cluster they live on workers).
    let mut g = Graph::new();
    let mut keys = Vec::new();
    for (k, n) in states.values() {
        g.insert(k.clone(), n.clone());
        keys.push(k.clone());
    }
    let values = scheduler.compute(&g, &keys)?;
    for ((id, _), v) in states.iter().zip(values) {
        let f = v.get::<Fitted<E::Model>>().map_err(|e| MlError::Graph(rask_core::Error::Scheduler(e.to_string())))?;
        cp.states.insert(*id, f.clone());
    }
    let bytes = rmp_serde::to_vec_named(&cp).map_err(|e| checkpoint_err(path, format!("cannot encode: {e}")))?;
    // Atomic: write beside, sync, rename over.
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(|e| checkpoint_err(&tmp, e))?;
        f.write_all(&bytes).map_err(|e| checkpoint_err(&tmp, e))?;
        f.sync_all().map_err(|e| checkpoint_err(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| checkpoint_err(path, e))
}

/// dask-ml's `IncrementalSearchCV` (built by [`AdaptiveSearch::incremental`]): every candidate
/// trains until `max_iter` calls or a plateau.
pub type IncrementalSearchCV<E> = AdaptiveSearch<E>;
/// dask-ml's `InverseDecaySearchCV` (built by [`AdaptiveSearch::inverse_decay`]).
pub type InverseDecaySearchCV<E> = AdaptiveSearch<E>;
/// dask-ml's `SuccessiveHalvingSearchCV` (built by [`AdaptiveSearch::successive_halving`]).
pub type SuccessiveHalvingSearchCV<E> = AdaptiveSearch<E>;
/// Asynchronous successive halving (built by [`AdaptiveSearch::asha`]).
pub type AshaSearchCV<E> = AdaptiveSearch<E>;

impl<E: Estimator> AdaptiveSearch<E> {
    /// `IncrementalSearchCV`: `fits_per_score` calls per round (1), up to `max_iter` calls per
    /// model; `patience` 0 (off) or ≥ 2 calls without an improvement above `tol` stops a model.
    pub fn incremental(
        estimator: E,
        space: impl Into<ParamSpace>,
        max_iter: u64,
        patience: u64,
        tol: f64,
    ) -> Result<Self> {
        if max_iter == 0 {
            return Err(MlError::InvalidParameter { name: "max_iter", message: "must be at least 1".into() });
        }
        if patience == 1 {
            return Err(MlError::InvalidParameter {
                name: "patience",
                message: "patience=1 always detects a plateau; use 0 (off) or at least 2".into(),
            });
        }
        Ok(Self::new(estimator, space.into(), Policy::Incremental { fits_per_score: 1, max_iter, patience, tol }))
    }

    /// `InverseDecaySearchCV`: keeps the best `n / (1 + t)^decay_rate` models at step `t`.
    pub fn inverse_decay(estimator: E, space: impl Into<ParamSpace>, decay_rate: f64, max_iter: u64) -> Result<Self> {
        let space = space.into();
        let n = space.candidates()?.len();
        if !(decay_rate.is_finite() && decay_rate >= 0.0) {
            return Err(MlError::InvalidParameter {
                name: "decay_rate",
                message: format!("must be ≥ 0, got {decay_rate}"),
            });
        }
        Ok(Self::new(estimator, space, Policy::InverseDecay { n_initial: n, decay_rate, max_iter }))
    }

    /// `SuccessiveHalvingSearchCV`: every candidate to `r` calls, then the best `1/η` to `r·η`,
    /// and so on up to `max_iter`.
    pub fn successive_halving(
        estimator: E,
        space: impl Into<ParamSpace>,
        r: u64,
        eta: u64,
        max_iter: u64,
    ) -> Result<Self> {
        check_eta_r(eta, r, max_iter)?;
        let space = space.into();
        let n = space.candidates()?.len();
        let mut s =
            Self::new(estimator, space, Policy::SuccessiveHalving { ids: (0..n).collect(), r, eta, max_iter, rung: 0 });
        s.planned_calls = Some(simulate_sha(n, r, eta, max_iter).0);
        Ok(s)
    }

    /// ASHA: asynchronous successive halving with `parallel` jobs per round, starting at most
    /// every candidate of `space` and spending at most `budget` partial-fit calls.
    pub fn asha(
        estimator: E,
        space: impl Into<ParamSpace>,
        r: u64,
        eta: u64,
        max_iter: u64,
        parallel: usize,
        budget: u64,
    ) -> Result<Self> {
        check_eta_r(eta, r, max_iter)?;
        if parallel == 0 {
            return Err(MlError::InvalidParameter { name: "parallel", message: "must be at least 1".into() });
        }
        let mut s = Self::new(
            estimator,
            space.into(),
            Policy::Asha { r, eta, max_iter, parallel, started: 0, budget, promoted: BTreeMap::new() },
        );
        s.planned_calls = Some(budget);
        Ok(s)
    }
}

fn check_eta_r(eta: u64, r: u64, max_iter: u64) -> Result<()> {
    if eta < 2 {
        return Err(MlError::InvalidParameter {
            name: "aggressiveness",
            message: format!("must be at least 2, got {eta}"),
        });
    }
    if r == 0 || r > max_iter {
        return Err(MlError::InvalidParameter {
            name: "n_initial_iter",
            message: format!("must be between 1 and max_iter ({max_iter}), got {r}"),
        });
    }
    Ok(())
}

/// `HyperbandSearchCV` (Li et al., JMLR 2018): every successive-halving bracket for `max_iter`
/// R and aggressiveness η, run concurrently; candidates are drawn from a sampler (or a grid,
/// cycled) as the brackets need them.
#[derive(Clone, Debug)]
pub struct HyperbandSearchCV<E> {
    estimator: E,
    space: ParamSpace,
    max_iter: u64,
    eta: u64,
    settings: AdaptiveSettings,
}

impl<E: Estimator> HyperbandSearchCV<E> {
    /// Hyperband over `space` (a [`ParameterSampler`](crate::params::ParameterSampler) whose
    /// `n_iter` is ignored: Hyperband decides how many models to draw).
    pub fn new(estimator: E, space: impl Into<ParamSpace>, max_iter: u64) -> Self {
        HyperbandSearchCV { estimator, space: space.into(), max_iter, eta: 3, settings: AdaptiveSettings::default() }
    }

    /// Aggressiveness η (default 3).
    pub fn aggressiveness(mut self, eta: u64) -> Self {
        self.eta = eta;
        self
    }

    settings_setters!();

    /// Runs the plan on `ds` on the default scheduler ([`search`](Self::search) gives the
    /// underlying search, for a progress callback or another scheduler).
    pub fn fit<F: Float, Y: Element>(&self, ds: &ChunkedDataset<F, Y>) -> Result<AdaptiveResult<E::Model>> {
        self.search()?.fit(ds)
    }

    /// The brackets before any fitting: models, first-rung calls, total calls and rungs.
    pub fn plan(&self) -> Result<Vec<BracketPlan>> {
        check_eta_r(self.eta, 1, self.max_iter)?;
        Ok(hyperband_brackets(self.max_iter, self.eta)
            .into_iter()
            .map(|(s, n, r)| {
                let (calls, rungs) = simulate_sha(n, r, self.eta, self.max_iter);
                BracketPlan { bracket: s, n_models: n, r, partial_fit_calls: calls, rungs }
            })
            .collect())
    }

    /// The adaptive search that runs the plan: candidates for every bracket (drawn by the
    /// sampler with its own seed), each bracket a successive-halving policy over its own
    /// models, all brackets in every round, with this search's seed, test size, scorer and
    /// checkpoint.
    pub fn search(&self) -> Result<AdaptiveSearch<E>> {
        let plan = self.plan()?;
        let total: usize = plan.iter().map(|b| b.n_models).sum();
        let candidates = match &self.space {
            ParamSpace::Sampler(s) => {
                let mut s = s.clone();
                s.set_n_iter(total);
                s.candidates()?
            }
            other => {
                let c = other.candidates()?;
                (0..total).map(|i| c[i % c.len()].clone()).collect()
            }
        };
        let mut policies = Vec::new();
        let mut brackets = Vec::new();
        let mut next = 0;
        for b in &plan {
            let ids: Vec<usize> = (next..next + b.n_models).collect();
            next += b.n_models;
            brackets.extend(std::iter::repeat_n(Some(b.bracket as usize), b.n_models));
            policies.push(Policy::SuccessiveHalving { ids, r: b.r, eta: self.eta, max_iter: self.max_iter, rung: 0 });
        }
        let mut s =
            AdaptiveSearch::new(self.estimator.clone(), ParamSpace::List(candidates), Policy::Concurrent(policies));
        s.settings = self.settings.clone();
        s.brackets = brackets;
        s.planned_calls = Some(plan.iter().map(|b| b.partial_fit_calls).sum());
        Ok(s)
    }
}
