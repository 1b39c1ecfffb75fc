//! Adapters that make linfa and smartcore models [`Model`](crate::model::Model)s and
//! [`ModelParams`](crate::model::ModelParams), so Rask can fit them per block, search over
//! them, ensemble them and predict with them over chunked data on every scheduler.
//!
//! - `linfa` (cargo feature `linfa`): logistic regression (binary and multinomial),
//!   decision tree classifier, k-means.
//! - `smartcore` (cargo feature `smartcore`): random forest and decision tree classifiers,
//!   linear regression.
//!
//! Any other linfa or smartcore model is adapted the same way in a few lines of your own
//! crate: wrap it in a type of yours, implement the two traits, and call
//! [`model!`](macro@crate::model) (see [`model`](mod@crate::model)).
//!
//! Each module lists its ops and codecs (`OPS`, `SEARCH_OPS`, `CODECS`);
//! [`registry_builder`](crate::registry_builder) registers those of the enabled features.

#[cfg(feature = "linfa")]
pub mod linfa;
#[cfg(feature = "smartcore")]
pub mod smartcore;
