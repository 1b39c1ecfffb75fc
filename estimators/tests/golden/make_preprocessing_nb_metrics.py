"""Golden files for preprocessing (scalers), naive Bayes and metrics.

Run by hand with the pinned versions (see README.md); writes
preprocessing.json, naive_bayes.json and metrics.json.
"""
import numpy as np
from sklearn import datasets, metrics
from sklearn.naive_bayes import GaussianNB
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from golden_common import check_versions, write

check_versions()

REAL = {
    "iris": datasets.load_iris(return_X_y=True),
    "wine": datasets.load_wine(return_X_y=True),
    "breast_cancer": datasets.load_breast_cancer(return_X_y=True),
}

# Scalers: statistics and transforms of the first rows (whole transforms are checked in Rust
# against the statistics).
out = {}
for name, (X, _) in REAL.items():
    s = StandardScaler().fit(X)
    m = MinMaxScaler(feature_range=(-1, 2)).fit(X)
    out[name] = {
        "standard": {"mean": s.mean_, "var": s.var_, "scale": s.scale_, "head": s.transform(X[:5])},
        "min_max": {
            "data_min": m.data_min_,
            "data_max": m.data_max_,
            "scale": m.scale_,
            "min": m.min_,
            "head": m.transform(X[:5]),
        },
    }
# NaNs are ignored by fit and kept by transform.
Xn = REAL["iris"][0].copy()
Xn[::7, 1] = np.nan
s = StandardScaler().fit(Xn)
out["iris_nan"] = {"x": Xn, "mean": s.mean_, "var": s.var_, "scale": s.scale_, "n_samples_seen": s.n_samples_seen_}
write("preprocessing.json", out)

# Gaussian naive Bayes.
out = {}
for name, (X, y) in REAL.items():
    nb = GaussianNB().fit(X, y)
    out[name] = {
        "classes": nb.classes_,
        "class_count": nb.class_count_,
        "class_prior": nb.class_prior_,
        "theta": nb.theta_,
        "var": nb.var_,
        "epsilon": nb.epsilon_,
        "predict": nb.predict(X),
        "proba_head": nb.predict_proba(X[:10]),
    }
X, y = REAL["iris"]
priors = [0.5, 0.3, 0.2]
nb = GaussianNB(priors=priors, var_smoothing=1e-3).fit(X, y)
out["iris_priors"] = {"priors": priors, "var_smoothing": 1e-3, "var": nb.var_, "predict": nb.predict(X)}
# partial_fit over three batches of 50 rows (shuffled so each batch holds several classes).
perm = np.random.RandomState(0).permutation(len(y))
Xp, yp = X[perm], y[perm]
nb = GaussianNB()
for i in range(3):
    nb.partial_fit(Xp[i * 50:(i + 1) * 50], yp[i * 50:(i + 1) * 50], classes=[0, 1, 2])
out["iris_partial"] = {"perm": perm, "theta": nb.theta_, "var": nb.var_, "epsilon": nb.epsilon_, "class_count": nb.class_count_}
write("naive_bayes.json", out)

# Metrics on fixed random data.
rng = np.random.RandomState(42)
n = 200
yt = rng.randint(0, 3, n)
yp = np.where(rng.rand(n) < 0.7, yt, rng.randint(0, 3, n))
yb = (rng.rand(n) < 0.4).astype(int)
sb = yb * 0.6 + rng.rand(n)
sb = np.round(sb, 1)  # ties, so the tie handling is checked
proba = rng.dirichlet([1, 1, 1], n)
rt = rng.rand(n) * 10 + 1
rp = rt + rng.randn(n)
rp = np.abs(rp)
w = rng.rand(n)
out = {
    "yt": yt, "yp": yp, "yb": yb, "sb": sb, "proba": proba, "rt": rt, "rp": rp, "w": w,
    "accuracy": metrics.accuracy_score(yt, yp),
    "confusion": metrics.confusion_matrix(yt, yp),
    "prf_macro": metrics.precision_recall_fscore_support(yt, yp, average="macro")[:3],
    "prf_micro": metrics.precision_recall_fscore_support(yt, yp, average="micro")[:3],
    "prf_weighted": metrics.precision_recall_fscore_support(yt, yp, average="weighted")[:3],
    "prf_binary": metrics.precision_recall_fscore_support(yb, (sb > 0.8).astype(int), average="binary")[:3],
    "log_loss": metrics.log_loss(yt, proba),
    "roc_auc": metrics.roc_auc_score(yb, sb),
    "mse": metrics.mean_squared_error(rt, rp),
    "mae": metrics.mean_absolute_error(rt, rp),
    "mape": metrics.mean_absolute_percentage_error(rt, rp),
    "msle": metrics.mean_squared_log_error(rt, rp),
    "r2": metrics.r2_score(rt, rp),
    "r2_weighted": metrics.r2_score(rt, rp, sample_weight=w),
    "mse_weighted": metrics.mean_squared_error(rt, rp, sample_weight=w),
    "pairwise_a": rng.randn(6, 3),
    "pairwise_b": rng.randn(4, 3),
}
for d in ["euclidean", "manhattan", "cosine"]:
    out["pairwise_" + d] = metrics.pairwise_distances(out["pairwise_a"], out["pairwise_b"], metric=d)
idx, dist = metrics.pairwise_distances_argmin_min(out["pairwise_a"], out["pairwise_b"])
out["argmin"] = idx
out["argmin_dist"] = dist
write("metrics.json", out)
