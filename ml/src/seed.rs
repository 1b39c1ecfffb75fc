//! Seeds of independent random streams.

use rask_core::Tokenizer;

/// The seed of one random stream: a token of the `domain` strings, the user's `seed` and the
/// `path` of indices (round, block, split, …), in that order, as 64 bits.
///
/// Every random stream of the workspace (splits, shuffles, row samples, k-means
/// initialisations, SGD orders, generated datasets) is seeded through this function, so
/// different uses never share a stream: the domain names the use (conventionally starting
/// with the crate's name, e.g. `["rask.estimators.kmeans", "plus_plus"]`), the path tells
/// blocks and rounds apart. Neighbouring seeds or indices give unrelated streams (never
/// `seed + block`, whose streams would be shifted copies of one another).
///
/// The value is fixed: results and stored test expectations depend on it, so a caller's
/// domain strings and path must never change meaning.
///
/// ```
/// let a = rask_ml::stream_seed(&["my.crate.shuffle"], 42, &[0]);
/// assert_ne!(a, rask_ml::stream_seed(&["my.crate.shuffle"], 42, &[1]));
/// assert_eq!(a, rask_ml::stream_seed(&["my.crate.shuffle"], 42, &[0]));
/// ```
pub fn stream_seed(domain: &[&str], seed: u64, path: &[u64]) -> u64 {
    let mut t = Tokenizer::new();
    for d in domain {
        t.str(d);
    }
    t.u64(seed);
    for &p in path {
        t.u64(p);
    }
    t.finish().0 as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The formulas the call sites used before they shared this function: the values must not
    /// change (stored expectations and golden files depend on them).
    #[test]
    fn matches_the_former_per_crate_formulas() {
        let tok = |f: &dyn Fn(&mut Tokenizer)| {
            let mut t = Tokenizer::new();
            f(&mut t);
            t.finish().0 as u64
        };
        for seed in [0u64, 7, u64::MAX] {
            // Splits: (splitter, seed, split, block).
            assert_eq!(
                stream_seed(&["rask.ml.kfold"], seed, &[3, 5]),
                tok(&|t| {
                    t.str("rask.ml.kfold").u64(seed).u64(3).u64(5);
                })
            );
            // k-means: ("rask.estimators.kmeans", what, seed, path…).
            assert_eq!(
                stream_seed(&["rask.estimators.kmeans", "parallel.sample"], seed, &[2, 9]),
                tok(&|t| {
                    t.str("rask.estimators.kmeans").str("parallel.sample").u64(seed).u64(2).u64(9);
                })
            );
            assert_eq!(
                stream_seed(&["rask.estimators.kmeans", "plus_plus"], seed, &[]),
                tok(&|t| {
                    t.str("rask.estimators.kmeans").str("plus_plus").u64(seed);
                })
            );
            // SGD: ("rask.estimators.sgd", what, seed, clock, block).
            assert_eq!(
                stream_seed(&["rask.estimators.sgd", "rows"], seed, &[4, 1]),
                tok(&|t| {
                    t.str("rask.estimators.sgd").str("rows").u64(seed).u64(4).u64(1);
                })
            );
            // Generators: (op, "global", seed) and (op, seed, block).
            assert_eq!(
                stream_seed(&["rask.datasets.blobs", "global"], seed, &[]),
                tok(&|t| {
                    t.str("rask.datasets.blobs").str("global").u64(seed);
                })
            );
            assert_eq!(
                stream_seed(&["rask.datasets.blobs"], seed, &[6]),
                tok(&|t| {
                    t.str("rask.datasets.blobs").u64(seed).u64(6);
                })
            );
        }
    }
}
