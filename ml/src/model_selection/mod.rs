//! Model selection: cross-validated searches, static and adaptive, over estimators and
//! pipelines, on every scheduler.
//!
//! - [`SearchCV`] ([`GridSearchCV`], [`RandomizedSearchCV`]), [`cross_validate`] and
//!   [`cross_val_score`]: one merged task graph per search, in which identical work (a split's
//!   rows, a pipeline prefix shared by candidates) has one key and runs once.
//! - Estimators take part through [`Estimator`] and [`SearchNode`], which the
//!   [`estimator!`](crate::estimator) macro implements from one line; pipelines of them are
//!   search nodes too.

mod adaptive;
mod estimator;
mod results;
mod search;

pub use adaptive::{
    hyperband_brackets, AdaptiveResult, AdaptiveSearch, AdaptiveSettings, AshaSearchCV, BracketPlan, HyperbandSearchCV,
    IncrementalSearchCV, InverseDecaySearchCV, ModelInfo, Policy, Record, RoundReport, SearchProgress, StderrProgress,
    SuccessiveHalvingSearchCV,
};
pub use estimator::{
    fit_any, fit_labels, fit_values, in_task, partial_fit_any, partial_fit_labels, partial_fit_values,
    score_block_model, search_codecs, search_ops, transform_block_model, Arity, Estimator, Fitted, ModelMethod, Rows,
    RowsRef, Scores, SearchFit, SearchModelOp, SearchPartialFit, Staged, TaskData, TASK_CHUNK_ROWS,
};
pub use results::CvResults;
pub use search::{
    cross_val_score, cross_validate, leaf_fit_score, leaf_fit_transform, param_value, ErrorScore, FoldKeys,
    GridSearchCV, RandomizedSearchCV, Refit, SearchCV, SearchHead, SearchNode, SearchResult, SearchStats, Splitter,
};
