"""Golden file for GridSearchCV: scikit-learn's cv_results_ on iris and wine (read from the CSV files
`rask-datasets` embeds, parsed as `datasets/src/real.rs` parses them), with the folds written out
so the Rust side can check its own KFold / StratifiedKFold before comparing scores.

Cases (all return_train_score=True, cv given explicitly, no shuffling):
- `<data>_kfold_multi`: Pipeline(StandardScaler, LogisticRegression(max_iter=10000, tol=1e-10)),
  grid {scaler__with_mean: [True, False], logistic__C: [0.01, 0.1, 1, 10]}, KFold(5),
  scoring {accuracy, neg_log_loss}, refit="accuracy". Iris and wine are sorted by class, so
  unshuffled KFold has test folds holding a class the training rows lack: neg_log_loss fails
  there and scikit-learn records NaN (null here), and the means and ranks follow from that.
- `<data>_stratified`: the same pipeline and grid, StratifiedKFold(5), scoring "accuracy".
- `<data>_kmeans`: KMeans(n_init=10, random_state=0, tol=1e-8, max_iter=1000), grid
  {n_clusters: [2, 3, 4]}, KFold(3), scoring silhouette_score(X_test, predict(X_test)), on raw
  iris and on wine standardized over all rows (the standardized rows are stored as `x`). Also
  `inertia[candidate][split]`, the fitted models' inertia_ (refitted per split with the same
  parameters; KMeans with a fixed random_state is deterministic). A test fold whose predictions
  fall in one cluster makes silhouette fail: NaN (null). `stable_splits[candidate][split]` says
  whether that split's test and train scores (within 1e-9) and inertia (relative 1e-9) are the
  same for random_state 1..5 as for 0, and `stable[candidate]` whether all its splits are; the
  Rust side should compare only stable ones (k-means' optimum depends on the seeds).
- `<data>_stratified_multi`, `<data>_kmeans_stratified`: the multi-metric logistic case and the
  KMeans case again with StratifiedKFold(5) / StratifiedKFold(3) (by class), since unshuffled
  KFold on these class-sorted files gives NaN neg_log_loss on every split and NaN silhouette on
  iris' first fold. `dataset: "wine_standardized"` means the stored `x`.

Each case stores: dataset, params (in cv_results_ order), test_folds (test row indices per
split), and per metric m: mean_test_m, std_test_m, rank_test_m, mean_train_m, std_train_m,
split<i>_test_m, split<i>_train_m (m is "score" for a single scorer, as in cv_results_); plus
best_params, best_index, best_score.

Run by hand with the pinned versions (see README.md); writes model_selection.json.
"""
import os
import warnings

import numpy as np
from sklearn import datasets
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import silhouette_score
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from golden_common import check_versions, write

check_versions()

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "datasets", "data")


def load_csv(name):
    """scikit-learn's layout, read as real.rs reads it: header `n,d,class names...`, then rows of d
    features and an integer class; blank lines skipped."""
    with open(os.path.join(DATA, name)) as f:
        lines = f.read().splitlines()
    head = lines[0].split(",")
    n, d = int(head[0]), int(head[1])
    rows = [l.split(",") for l in lines[1:] if l.strip()]
    assert len(rows) == n and all(len(r) == d + 1 for r in rows)
    x = np.array([[float(v) for v in r[:d]] for r in rows], dtype=np.float64)
    y = np.array([int(r[d]) for r in rows], dtype=np.int64)
    return x, y


iris_x, iris_y = load_csv("iris.csv")
wine_x, wine_y = load_csv("wine_data.csv")
# The same rows as scikit-learn's own loaders.
for (x, y), loader in [((iris_x, iris_y), datasets.load_iris), ((wine_x, wine_y), datasets.load_wine)]:
    ref = loader()
    assert np.array_equal(x, ref.data) and np.array_equal(y, ref.target)

GRID = {"scaler__with_mean": [True, False], "logistic__C": [0.01, 0.1, 1.0, 10.0]}


def pipeline():
    return Pipeline([("scaler", StandardScaler()), ("logistic", LogisticRegression(max_iter=10000, tol=1e-10))])


def results(search, metrics, cv, x, y, dataset):
    r = search.cv_results_
    n_splits = search.n_splits_
    out = {
        "dataset": dataset,
        "metrics": metrics,
        "n_splits": n_splits,
        "params": r["params"],
        "test_folds": [test for _, test in cv.split(x, y)],
        "best_params": search.best_params_,
        "best_index": search.best_index_,
        "best_score": search.best_score_,
    }
    for m in metrics:
        for key in ("mean_test", "std_test", "rank_test", "mean_train", "std_train"):
            out[f"{key}_{m}"] = r[f"{key}_{m}"]
        for i in range(n_splits):
            out[f"split{i}_test_{m}"] = r[f"split{i}_test_{m}"]
            out[f"split{i}_train_{m}"] = r[f"split{i}_train_{m}"]
    return out


def logistic_case(x, y, dataset, cv, scoring, refit):
    with warnings.catch_warnings():
        # neg_log_loss fails on folds whose test rows hold a class the training rows lack (NaN).
        warnings.simplefilter("ignore", UserWarning)
        s = GridSearchCV(pipeline(), GRID, cv=cv, scoring=scoring, refit=refit, return_train_score=True).fit(x, y)
    metrics = list(scoring) if isinstance(scoring, dict) else ["score"]
    return results(s, metrics, cv, x, y, dataset)


def silhouette(est, x, y=None):
    return silhouette_score(x, est.predict(x), metric="euclidean")


def kmeans_search(x, y, cv, seed):
    km = KMeans(n_init=10, random_state=seed, tol=1e-8, max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # silhouette fails on one-cluster test folds
        s = GridSearchCV(km, {"n_clusters": [2, 3, 4]}, cv=cv, scoring=silhouette, return_train_score=True).fit(x, y)
    inertia = [[clone(km).set_params(**p).fit(x[train]).inertia_ for train, _ in cv.split(x, y)]
               for p in s.cv_results_["params"]]
    return s, np.array(inertia)


def same(a, b, tol=1e-9):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return bool(np.all((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= tol)))


def kmeans_case(x, y, cv, dataset, store_x):
    s, inertia = kmeans_search(x, y, cv, 0)
    out = results(s, ["score"], cv, x, y, dataset)
    out["inertia"] = inertia
    if store_x:
        out["x"] = x
    r0 = s.cv_results_
    n_splits = s.n_splits_
    stable_splits = np.ones((len(r0["params"]), n_splits), dtype=bool)
    report = []
    for seed in range(1, 6):
        s2, inertia2 = kmeans_search(x, y, cv, seed)
        r = s2.cv_results_
        for c in range(len(r0["params"])):
            for i in range(n_splits):
                ok = (same(r0[f"split{i}_test_score"][c], r[f"split{i}_test_score"][c])
                      and same(r0[f"split{i}_train_score"][c], r[f"split{i}_train_score"][c])
                      and same(inertia[c, i], inertia2[c, i], 1e-9 * inertia[c, i]))
                stable_splits[c, i] &= ok
            if not same(r0["mean_test_score"][c], r["mean_test_score"][c]):
                report.append(f"seed {seed}, k={r0['params'][c]['n_clusters']}: mean_test_score "
                              f"{r0['mean_test_score'][c]:.6f} -> {r['mean_test_score'][c]:.6f}")
    out["stable_splits"] = stable_splits
    out["stable"] = stable_splits.all(axis=1)
    print(f"{dataset} kmeans ({type(cv).__name__}): k={[p['n_clusters'] for p in r0['params']]}, "
          f"stable splits (seeds 1..5 vs 0) {stable_splits.tolist()}")
    for line in report:
        print("  " + line)
    return out


wine_std = StandardScaler().fit_transform(wine_x)
acc_ll = {"accuracy": "accuracy", "neg_log_loss": "neg_log_loss"}
cases = {
    "iris_kfold_multi": logistic_case(iris_x, iris_y, "iris", KFold(5), acc_ll, "accuracy"),
    "wine_kfold_multi": logistic_case(wine_x, wine_y, "wine", KFold(5), acc_ll, "accuracy"),
    "iris_stratified": logistic_case(iris_x, iris_y, "iris", StratifiedKFold(5), "accuracy", True),
    "wine_stratified": logistic_case(wine_x, wine_y, "wine", StratifiedKFold(5), "accuracy", True),
    # Both datasets are sorted by class, so unshuffled KFold leaves a class out of every test fold
    # and neg_log_loss is NaN on every split above; stratified folds give it finite values.
    "iris_stratified_multi": logistic_case(iris_x, iris_y, "iris", StratifiedKFold(5), acc_ll, "accuracy"),
    "wine_stratified_multi": logistic_case(wine_x, wine_y, "wine", StratifiedKFold(5), acc_ll, "accuracy"),
    "iris_kmeans": kmeans_case(iris_x, None, KFold(3), "iris", False),
    "wine_kmeans": kmeans_case(wine_std, None, KFold(3), "wine_standardized", True),
    # The same KMeans grid on folds stratified by the class labels (unshuffled KFold puts all of
    # setosa in iris' first test fold, where silhouette fails).
    "iris_kmeans_stratified": kmeans_case(iris_x, iris_y, StratifiedKFold(3), "iris", False),
    "wine_kmeans_stratified": kmeans_case(wine_std, wine_y, StratifiedKFold(3), "wine_standardized", True),
}
for name, c in cases.items():
    m = c["metrics"][0]
    print(f"{name}: best {c['best_params']} (index {c['best_index']}, score {c['best_score']:.6f}); "
          f"mean_test_{m} {np.round(c[f'mean_test_{m}'], 4).tolist()}"
          + (f" stable {c['stable'].tolist()}" if "stable" in c else ""))
write("model_selection.json", cases)
