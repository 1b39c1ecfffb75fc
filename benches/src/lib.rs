//! Shared helpers for the Rask benchmarks.
