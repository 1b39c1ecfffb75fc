//! `rask sweep`: a hyperparameter search described by a TOML file, with a leaderboard, the
//! best model, `cv_results` and a checkpoint it resumes from.
//!
//! - `grid` and `randomized` cross-validate candidates in batches (`batch_size`, default a
//!   tenth of them, at least 8), each batch one task graph (identical work, such as a shared pipeline
//!   prefix, runs once per batch), and write the results so far to `checkpoint.bin` after each
//!   batch. Run again, the sweep skips the batches the checkpoint holds; the merged results are
//!   the same as an uninterrupted run's, because every candidate's scores depend only on the
//!   candidate, the data and the folds. The best candidate is then refitted on all the data.
//! - `hyperband`, `successive_halving` and `asha` are the adaptive searches of
//!   [`rask_ml::model_selection`], which checkpoint after every round themselves; their best
//!   model is the one the search trained (not refitted), as in dask-ml.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rask_ml::model_selection::{AdaptiveSearch, CvResults, HyperbandSearchCV, SearchCV, Splitter, StderrProgress};
use rask_ml::params::{
    format_candidate, Candidate, Distribution, ParamSpace, ParameterGrid, ParameterSampler, SetParams,
};
use rask_ml::{ChunkedDataset, Fit, KFold, ModelKind};
use serde::{Deserialize, Serialize};

use super::data::{load_training, Features};
use super::model_file::ModelFile;
use super::spec::{parse_space, Dimension, SearchMethod, SweepSpec};
use super::{build_pipeline, lone};
use crate::catalog::{lookup, visit_estimator_with_classes, DynPipeline, FinalEstimator, Target, Visitor};
use rask_estimators::preprocessing::LabelEncoderParams;

/// What [`sweep`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepReport {
    /// The search method.
    pub method: SearchMethod,
    /// Candidates evaluated (grid, randomized) or models trained (adaptive).
    pub candidates: usize,
    /// The leaderboard, best first, as printed.
    pub leaderboard: String,
    /// The best candidate's parameters.
    pub best_params: Candidate,
    /// Its score.
    pub best_score: f64,
    /// The metric.
    pub metric: String,
    /// Whether the sweep resumed from a checkpoint.
    pub resumed: bool,
    /// Seconds.
    pub seconds: f64,
    /// Files written: the best model, `cv_results.csv`, `cv_results.json`.
    pub files: Vec<PathBuf>,
}

/// Runs the sweep of `spec` on the default scheduler; `progress` prints a line per batch or round.
pub fn sweep(spec: &SweepSpec, progress: bool) -> Result<SweepReport> {
    let entry = lookup(&spec.model.estimator)?;
    // A classifier trained by partial_fit needs every class label before its first batch, as
    // scikit-learn's `classes` fit parameter: one pass over the labels finds them.
    let classes = if spec.search.method.is_adaptive() && entry.kind == ModelKind::Classifier && entry.partial_fit {
        let (ds, _) = load_training::<i64>(&spec.data, true, entry.name)?;
        let y = ds.y_required("finding the classes")?;
        Some(LabelEncoderParams::new().fit(y).context("finding the class labels")?.classes)
    } else {
        None
    };
    visit_estimator_with_classes(&spec.model.estimator, classes, SweepVisitor { spec, progress })?
}

struct SweepVisitor<'a> {
    spec: &'a SweepSpec,
    progress: bool,
}

impl Visitor for SweepVisitor<'_> {
    type Output = Result<SweepReport>;

    fn visit<Y: Target, E: FinalEstimator<Y>>(self, name: &'static str, estimator: E) -> Result<SweepReport> {
        let spec = self.spec;
        let kind = <E as rask_ml::model_selection::Estimator>::KIND;
        let supervised = matches!(kind, ModelKind::Classifier | ModelKind::Regressor);
        let dims = parse_space(&spec.search.space)?;
        let dir = &spec.output.dir;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create the output folder {}", dir.display()))?;
        let (ds, features) = load_training::<Y>(&spec.data, supervised, name)?;
        let start = Instant::now();
        let mut report = if spec.search.method.is_adaptive() {
            adaptive::<Y, E>(spec, name, estimator, &ds, features, dims, self.progress)?
        } else {
            cross_validated::<Y, E>(spec, name, estimator, &ds, features, dims, self.progress)?
        };
        report.seconds = start.elapsed().as_secs_f64();
        Ok(report)
    }
}

const CHECKPOINT_MAGIC: &str = "rask-sweep-checkpoint-1";

/// The results of the batches done so far.
#[derive(Serialize, Deserialize)]
struct Checkpoint {
    magic: String,
    fingerprint: String,
    batches_done: usize,
    results: CvResults,
}

rask_ml::persist!(Checkpoint => "rask.cli.SweepCheckpoint/1");

fn fingerprint(spec: &SweepSpec, features: &Features, rows: Option<usize>) -> Result<String> {
    let mut t = rask_core::Tokenizer::new();
    // Everything that decides a candidate's scores: the data (path, columns, blocks), the model,
    // the search; not the output folder.
    t.str(&serde_json::to_string(&(&spec.data, &spec.model, &spec.search, features))?);
    t.u64(rows.unwrap_or(0) as u64);
    if let Ok(meta) = std::fs::metadata(&spec.data.path) {
        t.u64(meta.len());
        if let Ok(m) = meta.modified() {
            t.u64(m.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64));
        }
    }
    Ok(t.finish().hex())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

/// Names without `__` are the final step's; the grid and sampler need full pipeline paths.
fn full_name(spec: &SweepSpec, n: &str) -> String {
    if n.contains("__") {
        n.to_string()
    } else {
        format!("{}__{n}", spec.model.name)
    }
}

/// A candidate as the user writes its names: the final step's without its `model__` prefix.
fn display_params(spec: &SweepSpec, c: &Candidate) -> Candidate {
    let prefix = format!("{}__", spec.model.name);
    c.iter()
        .map(|(n, v)| {
            let n = n.strip_prefix(&prefix).unwrap_or(n).to_string();
            (n, v.clone())
        })
        .collect()
}

fn cross_validated<Y: Target, E: FinalEstimator<Y>>(
    spec: &SweepSpec,
    name: &'static str,
    estimator: E,
    ds: &ChunkedDataset<f64, Y>,
    features: Features,
    dims: Vec<(String, Dimension)>,
    progress: bool,
) -> Result<SweepReport> {
    let s = &spec.search;
    for field in [("max_iter", s.max_iter.is_some()), ("budget", s.budget.is_some())] {
        if field.1 {
            bail!(
                "[search] {} applies to adaptive methods (hyperband, successive_halving, asha), not {:?}",
                field.0,
                s.method
            );
        }
    }
    let pipe: DynPipeline<E> = build_pipeline(&spec.model, estimator)?;
    let space: ParamSpace = match s.method {
        SearchMethod::Grid => {
            let mut g = ParameterGrid::new();
            for (n, d) in &dims {
                match d {
                    Dimension::Values(v) => g = g.add(full_name(spec, n), v.clone()),
                    Dimension::Distribution(_) => bail!(
                        "[search.space] `{n}` is a distribution, but a grid lists values; use method = \"randomized\" or list values"
                    ),
                }
            }
            g.into()
        }
        _ => {
            let mut sampler = ParameterSampler::new(s.n_iter, s.seed);
            for (n, d) in &dims {
                let dist = match d {
                    Dimension::Values(v) => Distribution::Choice(v.clone()),
                    Dimension::Distribution(d) => d.clone(),
                };
                sampler = sampler.add(full_name(spec, n), dist);
            }
            sampler.into()
        }
    };
    if s.cv < 2 {
        bail!("[search] cv must be at least 2 folds, got {}", s.cv);
    }
    let folds: Box<dyn Splitter<f64, Y>> = if s.stratified {
        Y::stratified_folds(s.cv)?
    } else {
        Box::new(KFold { n_splits: s.cv, shuffle_within_blocks: None })
    };
    let mut search = SearchCV::new(pipe.clone(), space).cv(folds);
    if let Some(sc) = &s.scoring {
        search = search.scoring(sc);
    }
    let candidates = search.candidates()?;
    // Every candidate's names and types are checked before any work.
    for c in &candidates {
        pipe.with_params(c).with_context(|| format!("candidate {}", format_candidate(&display_params(spec, c))))?;
    }
    // Bigger batches share more work (a step fitted once per split for every candidate of the
    // batch); smaller ones lose less to a crash.
    let batch = s.batch_size.unwrap_or_else(|| candidates.len().div_ceil(10).max(8)).max(1);
    let batches: Vec<&[Candidate]> = candidates.chunks(batch).collect();

    let dir = &spec.output.dir;
    let cp_path = dir.join("checkpoint.bin");
    let fp = fingerprint(spec, &features, ds.x().n_rows())?;
    let mut cp = Checkpoint {
        magic: CHECKPOINT_MAGIC.into(),
        fingerprint: fp.clone(),
        batches_done: 0,
        results: empty_results(),
    };
    let mut resumed = false;
    if cp_path.exists() {
        let bytes = std::fs::read(&cp_path).with_context(|| format!("reading {}", cp_path.display()))?;
        let old: Checkpoint = rask_ml::from_bytes(&bytes)
            .map_err(|e| anyhow::anyhow!("{} is not a sweep checkpoint ({e}); remove it", cp_path.display()))?;
        if old.magic != CHECKPOINT_MAGIC || old.fingerprint != fp {
            bail!(
                "{} was written by a different sweep (data, model or search differ); remove it or choose another output dir",
                cp_path.display()
            );
        }
        resumed = old.batches_done > 0;
        if progress && resumed {
            eprintln!(
                "sweep: resuming from {} ({} of {} batches done)",
                cp_path.display(),
                old.batches_done,
                batches.len()
            );
        }
        cp = old;
    }
    let start = Instant::now();
    for (i, b) in batches.iter().enumerate().skip(cp.batches_done) {
        let part =
            search.evaluate_candidates(ds, b).with_context(|| format!("batch {} of {}", i + 1, batches.len()))?;
        cp.results.append(part)?;
        cp.batches_done = i + 1;
        write_atomically(&cp_path, &rask_ml::to_bytes(&cp)?)?;
        if progress {
            let done: usize = batches[..=i].iter().map(|b| b.len()).sum();
            eprintln!(
                "sweep: {done} / {} candidates ({} batches of {batch}), {:.1} s",
                candidates.len(),
                i + 1,
                start.elapsed().as_secs_f64()
            );
        }
    }
    let results = cp.results;
    let metric = results.metrics.first().cloned().unwrap_or_else(|| "score".into());
    let ranks = results.rank_test(&metric).unwrap_or_default();
    let means = results.mean_test(&metric).unwrap_or_default();
    let stds = results.std_test(&metric).unwrap_or_default();
    let best = (0..ranks.len()).find(|&i| ranks[i] == 1).unwrap_or(0);
    if means.get(best).is_none_or(|m| m.is_nan()) {
        let first = results.errors.iter().flatten().next().cloned().unwrap_or_default();
        bail!("every candidate failed; the first error: {first}");
    }
    let best_params = results.params[best].clone();
    // Refit the best candidate on all the data.
    let best_pipe = pipe.with_params(&best_params)?;
    let fitted = best_pipe.fit(ds).context("refitting the best candidate on all the data")?;
    let model_path = dir.join("best_model.rask");
    ModelFile::new::<Y, E::Fitted>(
        name,
        <E as rask_ml::model_selection::Estimator>::KIND,
        &spec.model,
        features,
        &fitted,
    )?
    .with_params(&best_pipe)
    .save(&model_path)?;
    // cv_results with the names as the user wrote them.
    let mut shown = results.clone();
    shown.params = shown.params.iter().map(|c| display_params(spec, c)).collect();
    let csv = dir.join("cv_results.csv");
    let json = dir.join("cv_results.json");
    write_atomically(&csv, shown.to_csv().as_bytes())?;
    write_atomically(&json, shown.to_json().as_bytes())?;
    let mut order: Vec<usize> = (0..ranks.len()).collect();
    order.sort_by_key(|&i| (ranks[i], i));
    let mut board = format!("{:>4} {:>10} {:>8}  params\n", "rank", format!("mean {metric}"), "std");
    for &i in order.iter().take(10) {
        let err = results.errors[i].as_ref().map_or(String::new(), |e| format!("  [failed: {e}]"));
        board.push_str(&format!(
            "{:>4} {:>10.4} {:>8.4}  {}{err}\n",
            ranks[i],
            means[i],
            stds[i],
            format_candidate(&shown.params[i])
        ));
    }
    if order.len() > 10 {
        board.push_str(&format!("({} more in cv_results.csv)\n", order.len() - 10));
    }
    Ok(SweepReport {
        method: s.method,
        candidates: results.params.len(),
        leaderboard: board,
        best_params: shown.params[best].clone(),
        best_score: means[best],
        metric,
        resumed,
        seconds: 0.0,
        files: vec![model_path, csv, json],
    })
}

fn empty_results() -> CvResults {
    CvResults {
        params: Vec::new(),
        metrics: Vec::new(),
        n_splits: 0,
        test_scores: Vec::new(),
        train_scores: None,
        fit_time: Vec::new(),
        score_time: Vec::new(),
        errors: Vec::new(),
    }
}

fn adaptive<Y: Target, E: FinalEstimator<Y>>(
    spec: &SweepSpec,
    name: &'static str,
    mut estimator: E,
    ds: &ChunkedDataset<f64, Y>,
    features: Features,
    dims: Vec<(String, Dimension)>,
    progress: bool,
) -> Result<SweepReport> {
    let s = &spec.search;
    let method = s.method;
    if !spec.model.steps.is_empty() {
        bail!(
            "{method:?} trains one estimator with partial_fit a few calls at a time; it takes no [[model.steps]] \
             (use method = \"grid\" or \"randomized\" for a pipeline)"
        );
    }
    if s.stratified {
        bail!("[search] stratified applies to the cross-validated methods (grid, randomized), not {method:?}");
    }
    if !<E as rask_ml::model_selection::Estimator>::has_partial_fit() {
        let with: Vec<&str> = crate::catalog::ESTIMATORS.iter().filter(|e| e.partial_fit).map(|e| e.name).collect();
        bail!(
            "{name} has no partial_fit, which {method:?} needs; use grid or randomized, or one of: {}",
            with.join(", ")
        );
    }
    for (p, v) in &spec.model.params {
        estimator.set_param(p, v).with_context(|| format!("[model] params of {name}"))?;
    }
    let max_iter = s
        .max_iter
        .with_context(|| format!("[search] max_iter (most partial_fit calls per model) is required for {method:?}"))?;
    let prefix = format!("{}__", spec.model.name);
    let mut sampler = ParameterSampler::new(s.n_iter, s.seed);
    for (n, d) in &dims {
        let n = n.strip_prefix(&prefix).unwrap_or(n);
        if n.contains("__") {
            bail!("[search.space] `{n}`: {method:?} searches one estimator; its parameters have no `step__` prefix");
        }
        let dist = match d {
            Dimension::Values(v) => Distribution::Choice(v.clone()),
            Dimension::Distribution(d) => d.clone(),
        };
        sampler = sampler.add(n, dist);
    }
    let cp_path = spec.output.dir.join("checkpoint.bin");
    let search: AdaptiveSearch<E> = match method {
        SearchMethod::Hyperband => {
            HyperbandSearchCV::new(estimator, sampler, max_iter).aggressiveness(s.aggressiveness).search()?
        }
        SearchMethod::SuccessiveHalving => {
            AdaptiveSearch::successive_halving(estimator, sampler, s.n_initial_iter, s.aggressiveness, max_iter)?
        }
        SearchMethod::Asha => {
            let budget = s.budget.unwrap_or(max_iter.saturating_mul(s.n_iter as u64));
            AdaptiveSearch::asha(estimator, sampler, s.n_initial_iter, s.aggressiveness, max_iter, s.parallel, budget)?
        }
        SearchMethod::Grid | SearchMethod::Randomized => unreachable!("adaptive() is called for adaptive methods only"),
    };
    let mut search = search.seed(s.seed).test_size(s.test_size).checkpoint(&cp_path);
    if let Some(sc) = &s.scoring {
        search = search.scoring(sc);
    }
    if progress {
        search = search.progress(StderrProgress);
    }
    let result = search.fit(ds)?;
    let metric = s.scoring.clone().unwrap_or_else(|| {
        match <E as rask_ml::model_selection::Estimator>::KIND {
            ModelKind::Regressor => "r2",
            _ => "accuracy",
        }
        .into()
    });
    let dir = &spec.output.dir;
    let model_path = dir.join("best_model.rask");
    let fitted = lone(&spec.model.name, result.best_estimator.clone());
    ModelFile::new::<Y, E::Fitted>(
        name,
        <E as rask_ml::model_selection::Estimator>::KIND,
        &spec.model,
        features,
        &fitted,
    )?
    .save(&model_path)?;
    let csv = dir.join("cv_results.csv");
    let json = dir.join("cv_results.json");
    let mut text = String::from("model,bracket,calls,score,partial_fit_seconds,params,error\n");
    for m in &result.models {
        let last = m.history.last();
        text.push_str(&format!(
            "{},{},{},{},{},\"{}\",\"{}\"\n",
            m.id,
            m.bracket.map_or(String::new(), |b| b.to_string()),
            m.calls(),
            m.score(),
            last.map_or(0.0, |r| r.partial_fit_seconds),
            format_candidate(&m.params).replace('"', "\"\""),
            m.error.clone().unwrap_or_default().replace('"', "\"\"")
        ));
    }
    write_atomically(&csv, text.as_bytes())?;
    write_atomically(&json, serde_json::to_string_pretty(&result.models)?.as_bytes())?;
    let table = result.table();
    let lines: Vec<&str> = table.lines().collect();
    let mut board: String = lines.iter().take(11).map(|l| format!("{l}\n")).collect();
    if lines.len() > 11 {
        board.push_str(&format!("({} more in cv_results.csv)\n", lines.len() - 11));
    }
    Ok(SweepReport {
        method,
        candidates: result.models.len(),
        leaderboard: board,
        best_params: result.best_params.clone(),
        best_score: result.best_score,
        metric,
        resumed: result.resumed,
        seconds: 0.0,
        files: vec![model_path, csv, json],
    })
}
