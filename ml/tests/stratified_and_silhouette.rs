//! `StratifiedKFold` against scikit-learn's fold assignment, and `silhouette_score` and the
//! probability and clustering scorers against values computed by hand and by scikit-learn.

use std::collections::BTreeSet;
use std::sync::Arc;

use ndarray::{array, Array1, Array2};
use rask_core::{Registry, Scheduler};
use rask_ml::metrics::{self, Scorer};
use rask_ml::split::StratifiedKFold;
use rask_ml::{ChunkedArray, ChunkedDataset, ChunkedVector, Chunks, MlError};

fn registry() -> Arc<Registry> {
    Arc::new(rask_ml::registry_builder().build().unwrap())
}

fn schedulers() -> Vec<Scheduler> {
    vec![Scheduler::sync(), Scheduler::threaded(), Scheduler::checked(registry())]
}

fn folds(y: &[i64], n_splits: usize) -> Vec<usize> {
    StratifiedKFold { n_splits }.test_folds(Array1::from(y.to_vec()).view()).unwrap()
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "{what}: got {got}, want {want} (difference {})", (got - want).abs());
}

// --- StratifiedKFold -----------------------------------------------------------------------------

#[test]
fn stratified_folds_match_scikit_learn_worked_by_hand() {
    // Sorted codes 0000111111 dealt over 3 folds: fold 0 gets positions 0, 3, 6, 9 (two of each
    // class), folds 1 and 2 get one 0 and two 1s. Class 0 fills folds [0, 0, 1, 2], class 1
    // [0, 0, 1, 1, 2, 2].
    assert_eq!(folds(&[0, 0, 0, 0, 1, 1, 1, 1, 1, 1], 3), vec![0, 0, 1, 2, 0, 0, 1, 1, 2, 2]);
    // Counts 7, 5, 3: class 0 gives folds (3, 2, 2), class 1 (1, 2, 2), class 2 (1, 1, 1).
    assert_eq!(
        folds(&[0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2], 3),
        vec![0, 0, 0, 1, 1, 2, 2, 0, 1, 1, 2, 2, 0, 1, 2]
    );
    // Iris-like sorted labels, 50 of each, 5 folds: ten rows of each class per fold, in order.
    let iris_like: Vec<i64> = (0..150).map(|r| r / 50).collect();
    assert_eq!(folds(&iris_like, 5), (0..150).map(|r| (r % 50) / 10).collect::<Vec<_>>());
    // Unsorted labels: classes are numbered by first appearance (2 → 0, 0 → 1, 1 → 2), so the
    // five 2s take sorted positions 0..5 and fill folds [0, 0, 1, 1, 2]; the four 0s take
    // positions 5..9 and fill [0, 1, 2, 2]; the three 1s [0, 1, 2]. Numbering classes by sorted
    // label instead would give the 2s [0, 1, 1, 2, 2].
    assert_eq!(folds(&[2, 0, 1, 2, 0, 1, 2, 0, 2, 1, 2, 0], 3), vec![0, 0, 0, 0, 1, 1, 1, 2, 1, 2, 2, 2]);
    // A class smaller than n_splits is allowed (scikit-learn only warns): it misses some folds.
    assert_eq!(folds(&[0, 0, 0, 0, 0, 1], 3), vec![0, 0, 1, 1, 2, 2]);
}

#[test]
fn stratified_folds_match_scikit_learn_on_random_labels() {
    // Produced by scikit-learn 1.6.1:
    //   rng = np.random.RandomState(0); y = rng.choice([5, -3, 7, 100], size=40, p=[.5, .3, .15, .05])
    //   for i, (_, te) in enumerate(StratifiedKFold(4).split(np.zeros((40, 1)), y)): folds[te] = i
    let y = [
        -3, -3, -3, -3, 5, -3, 5, 7, 100, 5, -3, -3, -3, 7, 5, 5, 5, 7, -3, 7, 100, -3, 5, -3, 5, -3, 5, 7, -3, 5, 5,
        -3, 5, -3, 5, -3, -3, -3, 7, -3,
    ];
    let expected = [
        0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 3, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 2, 3, 2, 3, 3, 3,
        3, 3, 3,
    ];
    assert_eq!(folds(&y, 4), expected.to_vec());
}

/// Rows `i` hold `[i, 10 i]`, weights `0.5 i`; labels are given. Returns the dataset and the
/// (x, labels, weights) arrays.
fn labelled(y: &[i64], chunk: usize) -> ChunkedDataset<f64, i64> {
    let n = y.len();
    let x = Array2::from_shape_fn((n, 2), |(i, j)| i as f64 * 10f64.powi(j as i32));
    let w = Array1::from_iter((0..n).map(|i| 0.5 * i as f64));
    let cx = ChunkedArray::from_array(x.view(), chunk).unwrap();
    let cy = ChunkedVector::from_array(Array1::from(y.to_vec()).view(), chunk).unwrap();
    let cw = ChunkedVector::from_array(w.view(), chunk).unwrap();
    ChunkedDataset::new(cx, cy).unwrap().with_weights(cw).unwrap()
}

/// Computes a dataset, checks x, y and weights are aligned with row ids, and that every output
/// block holds rows of one input block of `chunk` rows; returns the row ids.
fn row_ids(ds: &ChunkedDataset<f64, i64>, y: &[i64], chunk: usize, s: &Scheduler) -> Vec<usize> {
    let x = ds.x().compute_on(s).unwrap();
    let labels = ds.y().unwrap().compute_on(s).unwrap();
    let w = ds.weights().unwrap().compute_on(s).unwrap();
    let ids: Vec<usize> = x.column(0).iter().map(|&v| v as usize).collect();
    for (k, &id) in ids.iter().enumerate() {
        assert_eq!(x[[k, 1]], 10.0 * id as f64, "x columns fell out of step");
        assert_eq!(labels[k], y[id], "labels fell out of step with x");
        assert_eq!(w[k], 0.5 * id as f64, "weights fell out of step with x");
    }
    let sizes = ds.x().chunks().sizes().unwrap();
    assert_eq!(sizes.iter().sum::<usize>(), ids.len(), "declared chunk sizes disagree with the data");
    assert_eq!(ds.y().unwrap().chunks(), ds.x().chunks());
    let mut start = 0;
    for &n in sizes {
        assert!(n > 0, "an empty block was produced");
        let blocks: BTreeSet<usize> = ids[start..start + n].iter().map(|&id| id / chunk).collect();
        assert_eq!(blocks.len(), 1, "an output block mixes rows of input blocks {blocks:?}");
        start += n;
    }
    ids
}

#[test]
fn stratified_kfold_splits_partition_rows_keep_blocks_and_alignment() {
    let y: Vec<i64> = [2, 0, 1, 2, 0, 1, 2, 0, 2, 1, 2, 0].repeat(3);
    let n = y.len();
    let expected = folds(&y, 3);
    for chunk in [5, 7, 36] {
        let ds = labelled(&y, chunk);
        let splits = StratifiedKFold { n_splits: 3 }.split(&ds).unwrap();
        assert_eq!(splits.len(), 3);
        for s in schedulers() {
            for (fold, (train, test)) in splits.iter().enumerate() {
                let te = row_ids(test, &y, chunk, &s);
                let tr = row_ids(train, &y, chunk, &s);
                let want_test: Vec<usize> = (0..n).filter(|&r| expected[r] == fold).collect();
                let want_train: Vec<usize> = (0..n).filter(|&r| expected[r] != fold).collect();
                assert_eq!(te, want_test, "test rows of fold {fold}, in row order");
                assert_eq!(tr, want_train, "train rows of fold {fold}, in row order");
            }
        }
        // `split_on` computes the labels on the scheduler given, with the same folds.
        let checked = StratifiedKFold { n_splits: 3 }.split_on(&ds, &Scheduler::checked(registry())).unwrap();
        for ((a, b), (c, d)) in splits.iter().zip(&checked) {
            assert_eq!(a.x().chunks(), c.x().chunks());
            assert_eq!(b.x().chunks(), d.x().chunks());
        }
    }
    // Every class keeps its share: 15 twos, 12 zeros and 9 ones give 5, 4 and 3 per test fold.
    let ds = labelled(&y, 5);
    let splits = StratifiedKFold { n_splits: 3 }.split(&ds).unwrap();
    for (_, test) in splits {
        let labels = test.y().unwrap().compute().unwrap();
        for (class, per_fold) in [(2, 5), (0, 4), (1, 3)] {
            assert_eq!(labels.iter().filter(|&&l| l == class).count(), per_fold, "class {class}");
        }
    }
}

#[test]
fn stratified_kfold_refuses_bad_input_with_clear_errors() {
    let ds = labelled(&[0, 0, 0, 1, 1, 1], 4);
    let err = StratifiedKFold { n_splits: 1 }.split(&ds).unwrap_err();
    assert!(matches!(err, MlError::InvalidParameter { name: "n_splits", .. }), "{err}");
    assert!(err.to_string().contains("at least 2"), "{err}");
    let err = StratifiedKFold { n_splits: 7 }.split(&ds).unwrap_err();
    assert!(err.to_string().contains("number of rows (6)"), "{err}");
    // 4 folds over classes of 3 members each: scikit-learn's error.
    let err = StratifiedKFold { n_splits: 4 }.split(&ds).unwrap_err();
    assert!(err.to_string().contains("n_splits=4 cannot be greater than the number of members in each class"), "{err}");
    // No target.
    let x = ChunkedArray::from_array(Array2::<f64>::zeros((6, 2)).view(), 4).unwrap();
    let err = StratifiedKFold { n_splits: 2 }.split(&ChunkedDataset::<f64, i64>::unlabelled(x)).unwrap_err();
    assert!(err.to_string().contains("StratifiedKFold needs a target"), "{err}");
    // Unknown chunk sizes.
    let unknown = ds.map_rows(|l| l.with_chunks(Chunks::Unknown { n_blocks: l.n_blocks() })).unwrap();
    let err = StratifiedKFold { n_splits: 2 }.split(&unknown).unwrap_err();
    assert!(matches!(err, MlError::UnknownChunkSizes { .. }), "{err}");
    // The in-memory fold assignment refuses the same things.
    let y = array![0i64, 1];
    assert!(StratifiedKFold { n_splits: 3 }.test_folds(y.view()).is_err());
    assert!(StratifiedKFold { n_splits: 0 }.test_folds(y.view()).is_err());
    assert!(StratifiedKFold { n_splits: 2 }.test_folds(array![0i64, 1, 2].view()).is_err());
}

// --- silhouette_score ----------------------------------------------------------------------------

#[test]
fn silhouette_matches_values_worked_by_hand() {
    // Points 0, 1 | 4, 5 on a line: a = 1 everywhere; b = 4.5 for the outer points and 3.5 for
    // the inner ones, so s = 7/9, 5/7, 5/7, 7/9 and the mean is 47/63.
    let x = array![[0.0], [1.0], [4.0], [5.0]];
    let s = metrics::silhouette_score(x.view(), array![0i64, 0, 1, 1].view()).unwrap();
    close("line", s, 47.0 / 63.0, 1e-15);
    // Labels are names, not positions: any two distinct values give the same score.
    let s2 = metrics::silhouette_score(x.view(), array![-7i64, -7, 12, 12].view()).unwrap();
    close("relabelled", s2, 47.0 / 63.0, 1e-15);
    // f32 features are widened.
    let s32 = metrics::silhouette_score(x.mapv(|v| v as f32).view(), array![0i64, 0, 1, 1].view()).unwrap();
    close("f32", s32, 47.0 / 63.0, 1e-15);
    // A 3 × 4 rectangle (distances 3, 4, 5): a = 3, b = (4 + 5) / 2 for every corner: 1/3.
    let rect = array![[0.0, 0.0], [3.0, 0.0], [3.0, 4.0], [0.0, 4.0]];
    let s = metrics::silhouette_score(rect.view(), array![0i64, 0, 1, 1].view()).unwrap();
    close("rectangle", s, 1.0 / 3.0, 1e-15);
}

#[test]
fn silhouette_of_singletons_and_coincident_points_is_zero() {
    // 0, 1 | 4 | 10: the singletons score 0; row 0 has a = 1, b = min(4, 10): 3/4; row 1 has
    // a = 1, b = min(3, 9): 2/3. Mean (3/4 + 2/3) / 4 = 17/48.
    let x = array![[0.0], [1.0], [4.0], [10.0]];
    let s = metrics::silhouette_score(x.view(), array![0i64, 0, 1, 2].view()).unwrap();
    close("singletons", s, 17.0 / 48.0, 1e-15);
    // All points equal: a = b = 0, which scikit-learn scores 0 (0 / 0 made 0).
    let same = array![[1.0], [1.0], [1.0]];
    assert_eq!(metrics::silhouette_score(same.view(), array![0i64, 0, 1].view()).unwrap(), 0.0);
}

/// The definition, directly: O(n²) memory, for comparison.
fn naive_silhouette(x: &Array2<f64>, labels: &[i64]) -> f64 {
    let n = x.nrows();
    let dist = |i: usize, j: usize| (&x.row(i) - &x.row(j)).mapv(|v| v * v).sum().sqrt();
    let classes: BTreeSet<i64> = labels.iter().copied().collect();
    let mut total = 0.0;
    for i in 0..n {
        let mean_to = |c: i64, skip_self: bool| {
            let members: Vec<usize> = (0..n).filter(|&j| labels[j] == c && !(skip_self && j == i)).collect();
            (members.iter().map(|&j| dist(i, j)).sum::<f64>() / members.len() as f64, members.len())
        };
        let (a, own) = mean_to(labels[i], true);
        if own == 0 {
            continue;
        }
        let b = classes.iter().filter(|&&c| c != labels[i]).map(|&c| mean_to(c, false).0).fold(f64::INFINITY, f64::min);
        total += (b - a) / a.max(b);
    }
    total / n as f64
}

#[test]
fn silhouette_over_many_tiles_matches_the_definition() {
    // 203 rows: four tiles of 64, the last one short.
    let n = 203;
    let x = Array2::from_shape_fn((n, 3), |(i, j)| ((i * 7 + j * 13) % 17) as f64 + 0.1 * (i % 5) as f64 - j as f64);
    let labels: Vec<i64> = (0..n).map(|i| ((i * 31) % 4) as i64 * 10).collect();
    let s = metrics::silhouette_score(x.view(), Array1::from(labels.clone()).view()).unwrap();
    close("tiled", s, naive_silhouette(&x, &labels), 1e-12);
}

#[test]
fn silhouette_on_iris_matches_scikit_learn() {
    let text = include_str!("../../datasets/data/iris.csv");
    let rows: Vec<Vec<f64>> =
        text.lines().skip(1).map(|l| l.split(',').map(|v| v.trim().parse::<f64>().unwrap()).collect()).collect();
    assert_eq!(rows.len(), 150);
    let x = Array2::from_shape_fn((150, 4), |(i, j)| rows[i][j]);
    let y = Array1::from_iter(rows.iter().map(|r| r[4] as i64));
    // Produced by scikit-learn 1.6.1 (/work/venv-compare/bin/python):
    //   X = np.loadtxt("datasets/data/iris.csv", delimiter=",", skiprows=1)
    //   silhouette_score(X[:, :4], X[:, 4].astype(int))                                -> 0.5034774406932961
    //   silhouette_score(cdist(X[:, :4], X[:, :4]), X[:, 4].astype(int), metric="precomputed")
    //                                                                                  -> 0.5034774406932967
    // The first uses scikit-learn's ‖a‖² + ‖b‖² − 2a·b distances; ours are from differences,
    // as the second.
    let s = metrics::silhouette_score(x.view(), y.view()).unwrap();
    close("iris vs precomputed", s, 0.503_477_440_693_296_7, 1e-14);
    close("iris vs default", s, 0.503_477_440_693_296_1, 1e-12);
}

#[test]
fn silhouette_refuses_bad_input_like_scikit_learn() {
    let x = array![[0.0], [1.0], [4.0], [5.0]];
    let err = metrics::silhouette_score(x.view(), array![3i64, 3, 3, 3].view()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid labels: Number of labels is 1. Valid values are 2 to n_samples - 1 (inclusive)"
    );
    let err = metrics::silhouette_score(x.view(), array![0i64, 1, 2, 3].view()).unwrap_err();
    assert!(err.to_string().contains("Number of labels is 4. Valid values are 2 to n_samples - 1"), "{err}");
    let err = metrics::silhouette_score(x.view(), array![0i64, 1, 1].view()).unwrap_err();
    assert!(matches!(err, MlError::ShapeMismatch { expected: 4, found: 3, .. }), "{err}");
    let bad = array![[0.0], [f64::NAN], [4.0], [5.0]];
    let err = metrics::silhouette_score(bad.view(), array![0i64, 0, 1, 1].view()).unwrap_err();
    assert!(matches!(err, MlError::NonFinite { .. }), "{err}");
    let inf = array![[0.0f32], [f32::INFINITY], [4.0], [5.0]];
    assert!(metrics::silhouette_score(inf.view(), array![0i64, 0, 1, 1].view()).is_err());
    let empty = Array2::<f64>::zeros((0, 2));
    assert!(metrics::silhouette_score(empty.view(), Array1::<i64>::zeros(0).view()).is_err());
}

// --- Scorers -------------------------------------------------------------------------------------

#[test]
fn new_scorers_have_names_and_kinds() {
    for (name, s) in
        [("neg_log_loss", Scorer::NegLogLoss), ("roc_auc", Scorer::RocAuc), ("silhouette", Scorer::Silhouette)]
    {
        assert_eq!(Scorer::from_name(name).unwrap(), s);
        assert_eq!(s.name(), name);
        assert!(!s.is_classification());
    }
    assert!(Scorer::NegLogLoss.needs_proba() && Scorer::RocAuc.needs_proba());
    assert!(!Scorer::Silhouette.needs_proba() && !Scorer::Accuracy.needs_proba());
    assert!(Scorer::Silhouette.is_clustering());
    assert!(Scorer::ALL.iter().filter(|(_, s)| s.is_clustering()).count() == 1);
    // Every scorer is exactly one kind: labels, probabilities, clustering, or real values.
    for (name, s) in Scorer::ALL {
        let kinds = [s.is_classification(), s.needs_proba(), s.is_clustering()];
        assert!(kinds.iter().filter(|&&k| k).count() <= 1, "{name} has several kinds");
    }
}

#[test]
fn scorers_refuse_the_wrong_entry_point() {
    let c = metrics::confusion_matrix(array![0i64, 1].view(), array![0i64, 1].view()).unwrap();
    let r = metrics::regression_summary(array![1.0, 2.0].view(), array![1.0, 2.5].view(), None).unwrap();
    let err = Scorer::Silhouette.from_confusion(&c).unwrap_err().to_string();
    assert!(err.contains("silhouette_score"), "{err}");
    let err = Scorer::Silhouette.from_regression(&r).unwrap_err().to_string();
    assert!(err.contains("features and the cluster labels"), "{err}");
    let err = Scorer::NegLogLoss.from_confusion(&c).unwrap_err().to_string();
    assert!(err.contains("from_proba"), "{err}");
    assert!(Scorer::RocAuc.from_regression(&r).is_err());
    assert!(Scorer::Accuracy.from_regression(&r).is_err());
    assert!(Scorer::R2.from_confusion(&c).is_err());
    let proba = array![[0.8, 0.2], [0.3, 0.7]];
    let err = Scorer::Accuracy.from_proba(array![0i64, 1].view(), proba.view(), &[0, 1]).unwrap_err().to_string();
    assert!(err.contains("from_confusion"), "{err}");
    assert!(Scorer::Silhouette.from_proba(array![0i64, 1].view(), proba.view(), &[0, 1]).is_err());
}

#[test]
fn probability_scorers_follow_scikit_learn() {
    let y = array![0i64, 1, 1, 0];
    let proba = array![[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.35, 0.65]];
    // neg_log_loss = −mean(−ln p_true) = mean ln(0.9, 0.6, 0.8, 0.35).
    let want = (0.9f64.ln() + 0.6f64.ln() + 0.8f64.ln() + 0.35f64.ln()) / 4.0;
    close("neg_log_loss", Scorer::NegLogLoss.from_proba(y.view(), proba.view(), &[0, 1]).unwrap(), want, 1e-15);
    // roc_auc on column 1: positives score 0.6, 0.8, negatives 0.1, 0.65: 3 of 4 pairs ranked
    // right.
    close("roc_auc", Scorer::RocAuc.from_proba(y.view(), proba.view(), &[0, 1]).unwrap(), 0.75, 1e-15);
    // The positive class is classes[1], whatever the label order.
    let flipped = Scorer::RocAuc.from_proba(y.view(), proba.view(), &[1, 0]).unwrap();
    close("roc_auc, classes [1, 0]", flipped, 0.25, 1e-15);
    // Multiclass ROC AUC is not offered.
    let p3 = array![[0.5, 0.3, 0.2], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]];
    let err = Scorer::RocAuc.from_proba(array![0i64, 1, 2].view(), p3.view(), &[0, 1, 2]).unwrap_err().to_string();
    assert!(err.contains("roc_auc_ovr") && err.contains("not offered"), "{err}");
    // Labels outside the classes, lengths and widths that disagree.
    let err = Scorer::RocAuc.from_proba(array![0i64, 5, 1, 0].view(), proba.view(), &[0, 1]).unwrap_err();
    assert!(err.to_string().contains("label 5"), "{err}");
    assert!(Scorer::RocAuc.from_proba(array![0i64, 1].view(), proba.view(), &[0, 1]).is_err());
    assert!(Scorer::NegLogLoss.from_proba(y.view(), proba.view(), &[0, 1, 2]).is_err());
    // One class present in y_true: undefined, as scikit-learn.
    assert!(Scorer::RocAuc.from_proba(array![1i64, 1, 1, 1].view(), proba.view(), &[0, 1]).is_err());
}
