//! `cv_results`: what a search found, as a table, CSV or JSON.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::params::{format_candidate, Candidate};

/// Per-candidate, per-split results of a cross-validated search, as scikit-learn's
/// `cv_results_`: one entry per candidate in every vector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CvResults {
    /// The candidates, in search order.
    pub params: Vec<Candidate>,
    /// Metric names: `["score"]` for one scorer, else the scorers' names.
    pub metrics: Vec<String>,
    /// Number of splits.
    pub n_splits: usize,
    /// Test scores: `[metric][candidate][split]`; NaN for a failed candidate.
    pub test_scores: Vec<Vec<Vec<f64>>>,
    /// Train scores, when asked for, laid out like `test_scores`.
    pub train_scores: Option<Vec<Vec<Vec<f64>>>>,
    /// Fit seconds, `[candidate][split]` (all pipeline steps; a prefix shared with other
    /// candidates counts in each of them, though it ran once).
    pub fit_time: Vec<Vec<f64>>,
    /// Score seconds, `[candidate][split]`.
    pub score_time: Vec<Vec<f64>>,
    /// The first error of each candidate, if any split failed.
    pub errors: Vec<Option<String>>,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn std(v: &[f64]) -> f64 {
    // numpy's default: population standard deviation.
    let m = mean(v);
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64).sqrt()
}

impl CvResults {
    /// The number of candidates.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether there are no candidates.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    fn metric_index(&self, metric: &str) -> Option<usize> {
        self.metrics.iter().position(|m| m == metric)
    }

    /// Mean test score per candidate for `metric` (NaN where a split failed), or `None` for
    /// an unknown metric.
    pub fn mean_test(&self, metric: &str) -> Option<Vec<f64>> {
        self.metric_index(metric).map(|m| self.test_scores[m].iter().map(|s| mean(s)).collect())
    }

    /// Standard deviation of the test scores per candidate (population, as numpy).
    pub fn std_test(&self, metric: &str) -> Option<Vec<f64>> {
        self.metric_index(metric).map(|m| self.test_scores[m].iter().map(|s| std(s)).collect())
    }

    /// Mean train score per candidate, when train scores were asked for.
    pub fn mean_train(&self, metric: &str) -> Option<Vec<f64>> {
        let m = self.metric_index(metric)?;
        self.train_scores.as_ref().map(|t| t[m].iter().map(|s| mean(s)).collect())
    }

    /// Rank of each candidate by mean test score (1 is best; ties share the lowest rank, as
    /// scikit-learn's `method="min"`; NaN ranks last).
    pub fn rank_test(&self, metric: &str) -> Option<Vec<usize>> {
        let means = self.mean_test(metric)?;
        Some(
            means
                .iter()
                .map(|&m| {
                    if m.is_nan() {
                        means.iter().filter(|o| !o.is_nan()).count() + 1
                    } else {
                        1 + means.iter().filter(|&&o| !o.is_nan() && o > m).count()
                    }
                })
                .collect(),
        )
    }

    /// Mean fit seconds per candidate.
    pub fn mean_fit_time(&self) -> Vec<f64> {
        self.fit_time.iter().map(|s| mean(s)).collect()
    }

    /// Mean score seconds per candidate.
    pub fn mean_score_time(&self) -> Vec<f64> {
        self.score_time.iter().map(|s| mean(s)).collect()
    }

    /// The results as a text table, best candidate of the first metric first.
    pub fn table(&self) -> String {
        let metric = &self.metrics[0];
        // Every metric in `metrics` has scores (built together).
        let means = self.mean_test(metric).unwrap_or_default();
        let stds = self.std_test(metric).unwrap_or_default();
        let ranks = self.rank_test(metric).unwrap_or_default();
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|&i| (ranks[i], i));
        let mut out = String::new();
        let _ = writeln!(out, "{:>4}  {:>10}  {:>8}  {:>8}  params", "rank", format!("mean {metric}"), "std", "fit s");
        let fit = self.mean_fit_time();
        for i in order {
            let _ = write!(
                out,
                "{:>4}  {:>10.4}  {:>8.4}  {:>8.3}  {}",
                ranks[i],
                means[i],
                stds[i],
                fit[i],
                format_candidate(&self.params[i])
            );
            if let Some(e) = &self.errors[i] {
                let _ = write!(out, "  [failed: {e}]");
            }
            out.push('\n');
        }
        out
    }

    fn columns(&self) -> Vec<(String, Vec<String>)> {
        let n = self.len();
        let mut names: Vec<String> = Vec::new();
        for c in &self.params {
            for (p, _) in c {
                if !names.contains(p) {
                    names.push(p.clone());
                }
            }
        }
        let num = |v: f64| if v.is_nan() { String::new() } else { format!("{v:?}") };
        let mut cols: Vec<(String, Vec<String>)> = Vec::new();
        cols.push(("mean_fit_time".into(), self.mean_fit_time().into_iter().map(num).collect()));
        cols.push(("mean_score_time".into(), self.mean_score_time().into_iter().map(num).collect()));
        for p in &names {
            let vals = self
                .params
                .iter()
                .map(|c| c.iter().find(|(q, _)| q == p).map(|(_, v)| v.to_string()).unwrap_or_default())
                .collect();
            cols.push((format!("param_{p}"), vals));
        }
        cols.push(("params".into(), self.params.iter().map(|c| format_candidate(c)).collect()));
        for (m, metric) in self.metrics.iter().enumerate() {
            for s in 0..self.n_splits {
                cols.push((
                    format!("split{s}_test_{metric}"),
                    (0..n).map(|i| num(self.test_scores[m][i][s])).collect(),
                ));
            }
            cols.push((
                format!("mean_test_{metric}"),
                self.mean_test(metric).unwrap_or_default().into_iter().map(num).collect(),
            ));
            cols.push((
                format!("std_test_{metric}"),
                self.std_test(metric).unwrap_or_default().into_iter().map(num).collect(),
            ));
            cols.push((
                format!("rank_test_{metric}"),
                self.rank_test(metric).unwrap_or_default().into_iter().map(|r| r.to_string()).collect(),
            ));
            if let Some(train) = &self.train_scores {
                cols.extend(
                    (0..self.n_splits)
                        .map(|s| (format!("split{s}_train_{metric}"), (0..n).map(|i| num(train[m][i][s])).collect())),
                );
                cols.push((
                    format!("mean_train_{metric}"),
                    self.mean_train(metric).unwrap_or_default().into_iter().map(num).collect(),
                ));
            }
        }
        cols.push(("error".into(), self.errors.iter().map(|e| e.clone().unwrap_or_default()).collect()));
        cols
    }

    /// Appends the candidates of `other`, evaluated with the same metrics and splits (a later
    /// batch of the same search); anything else is an error.
    pub fn append(&mut self, other: CvResults) -> crate::Result<()> {
        if self.is_empty() && self.metrics.is_empty() {
            *self = other;
            return Ok(());
        }
        if other.metrics != self.metrics
            || other.n_splits != self.n_splits
            || other.train_scores.is_some() != self.train_scores.is_some()
        {
            return Err(crate::MlError::InvalidParameter {
                name: "cv_results",
                message: format!(
                    "cannot append results of metrics {:?} over {} splits to results of metrics {:?} over {} splits",
                    other.metrics, other.n_splits, self.metrics, self.n_splits
                ),
            });
        }
        self.params.extend(other.params);
        for (mine, theirs) in self.test_scores.iter_mut().zip(other.test_scores) {
            mine.extend(theirs);
        }
        if let (Some(mine), Some(theirs)) = (self.train_scores.as_mut(), other.train_scores) {
            for (m, t) in mine.iter_mut().zip(theirs) {
                m.extend(t);
            }
        }
        self.fit_time.extend(other.fit_time);
        self.score_time.extend(other.score_time);
        self.errors.extend(other.errors);
        Ok(())
    }

    /// The results as CSV, one row per candidate, with scikit-learn's column names.
    pub fn to_csv(&self) -> String {
        let cols = self.columns();
        let quote = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let mut out = cols.iter().map(|(n, _)| quote(n)).collect::<Vec<_>>().join(",");
        out.push('\n');
        for i in 0..self.len() {
            out.push_str(&cols.iter().map(|(_, v)| quote(&v[i])).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
        out
    }

    /// The results as JSON (this struct, with NaN as `null`).
    pub fn to_json(&self) -> String {
        // serde_json writes non-finite floats as null.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}
