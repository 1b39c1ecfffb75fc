"""Golden files for the second round of preprocessing (imputer, encoders, robust and quantile
scaling, polynomial features) and for the count naive Bayes classifiers.

Run by hand with the pinned versions (see README.md); writes preprocessing_more.json and
naive_bayes_more.json. All data is generated here with fixed seeds (or is a real dataset the
Rust side embeds) and written into the JSON, so both sides fit the same rows.
"""
import numpy as np
from sklearn import datasets
from sklearn.impute import SimpleImputer
from sklearn.naive_bayes import BernoulliNB, MultinomialNB
from sklearn.preprocessing import (
    LabelEncoder,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    QuantileTransformer,
    RobustScaler,
)

from golden_common import check_versions, write

check_versions()

out = {}

# --- SimpleImputer -------------------------------------------------------------------------
# Small integer-valued data (many ties, so most_frequent's tie rule is exercised), with NaNs and
# one all-NaN column (dropped by default, kept as 0 with keep_empty_features).
rng = np.random.RandomState(0)
Xi = rng.randint(0, 5, (60, 4)).astype(float)
Xi[rng.rand(60, 4) < 0.2] = np.nan
Xi = np.hstack([Xi, np.full((60, 1), np.nan)])
# Continuous data: the wine features with NaNs.
Xw = datasets.load_wine().data.copy()
Xw[rng.rand(*Xw.shape) < 0.1] = np.nan
imp = {"x_int": Xi, "x_wine": Xw}
for name, X in [("int", Xi), ("wine", Xw)]:
    for strategy in ["mean", "median", "most_frequent", "constant"]:
        kw = {"fill_value": -1.5} if strategy == "constant" else {}
        s = SimpleImputer(strategy=strategy, **kw).fit(X)
        k = SimpleImputer(strategy=strategy, keep_empty_features=True, **kw).fit(X)
        imp[f"{name}_{strategy}"] = {
            "statistics": s.statistics_,
            # The first rows only (the whole transform follows from the statistics).
            "transform": s.transform(X)[:20],
            "keep_empty_transform": k.transform(X)[:20],
            "keep_empty_statistics": k.statistics_,
        }
out["imputer"] = imp

# --- Encoders --------------------------------------------------------------------------------
rng = np.random.RandomState(1)
Xe = np.column_stack([
    rng.choice([1.0, 3.0, 7.0], 50),
    rng.choice([0.0, 1.0], 50),
    rng.choice([-2.5, 0.0, 4.25, 10.0], 50),
])
Xe_test = np.array([[3.0, 1.0, 4.25], [5.0, 0.0, -2.5], [7.0, 2.0, 11.0], [1.0, 0.0, 0.0]])
enc = {"x": Xe, "x_test": Xe_test}
o = OrdinalEncoder().fit(Xe)
enc["ordinal"] = {"categories": [c for c in o.categories_], "transform": o.transform(Xe)}
o = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1).fit(Xe)
enc["ordinal_unknown"] = {"transform_test": o.transform(Xe_test)}
for drop in [None, "first", "if_binary"]:
    h = OneHotEncoder(sparse_output=False, drop=drop, handle_unknown="ignore" if drop is None else "error").fit(Xe)
    enc[f"onehot_{drop}"] = {
        "transform": h.transform(Xe),
        "feature_names": list(h.get_feature_names_out()),
        "drop_idx": [(-1 if d is None else int(d)) for d in (h.drop_idx_ if h.drop_idx_ is not None else [None] * 3)],
    }
h = OneHotEncoder(sparse_output=False, handle_unknown="ignore").fit(Xe)
enc["onehot_ignore_test"] = h.transform(Xe_test)
y = np.array([10, -3, 7, 10, 7, 100, -3, 42, 7, 10])
le = LabelEncoder().fit(y)
enc["label"] = {"y": y, "classes": le.classes_, "transform": le.transform(y)}
out["encoders"] = enc

# --- RobustScaler and QuantileTransformer ------------------------------------------------------
diabetes = datasets.load_diabetes(scaled=False).data
wine = datasets.load_wine().data
rob = {}
for name, X in [("diabetes", diabetes), ("wine", wine)]:
    for label, kw in [("default", {}), ("q10_90", {"quantile_range": (10.0, 90.0)}), ("no_centering", {"with_centering": False})]:
        r = RobustScaler(**kw).fit(X)
        rob[f"{name}_{label}"] = {
            "center": r.center_ if r.center_ is not None else None,
            "scale": r.scale_,
            "head": r.transform(X[:5]),
        }
# NaNs are ignored when fitting (the wine data with NaNs of the imputer section).
r = RobustScaler().fit(Xw)
rob["wine_nan"] = {"center": r.center_, "scale": r.scale_, "head": r.transform(Xw[:10])}
out["robust"] = rob

qt = {}
for name, X in [("diabetes", diabetes), ("wine", wine)]:
    for nq, dist in [(100, "uniform"), (1000, "uniform"), (100, "normal")]:
        q = QuantileTransformer(n_quantiles=nq, output_distribution=dist, subsample=None).fit(X)
        lo, hi = X.min(axis=0), X.max(axis=0)
        # Rows inside, on and outside the fitted range.
        X_test = np.vstack([X[:5], lo - 1.0, hi + 1.0, (lo + hi) / 2])
        t = q.transform(X_test)
        qt[f"{name}_{nq}_{dist}"] = {
            "n_quantiles": q.n_quantiles_,
            "quantiles": q.quantiles_,
            "references": q.references_,
            "x_test": X_test,
            "transform": t,
            "inverse": q.inverse_transform(t),
        }
q = QuantileTransformer(n_quantiles=50, subsample=None).fit(Xw)
qt["wine_nan"] = {"n_quantiles": q.n_quantiles_, "quantiles": q.quantiles_, "head": q.transform(Xw[:10])}
out["quantile"] = qt

# --- PolynomialFeatures ------------------------------------------------------------------------
rng = np.random.RandomState(2)
Xp = rng.randn(6, 3)
poly = {"x": Xp}
for label, kw in [
    ("d2", {"degree": 2}),
    ("d3", {"degree": 3}),
    ("d3_interaction", {"degree": 3, "interaction_only": True}),
    ("d2_no_bias", {"degree": 2, "include_bias": False}),
    ("d0", {"degree": 0}),
    ("d1_no_bias", {"degree": 1, "include_bias": False}),
]:
    p = PolynomialFeatures(**kw).fit(Xp)
    poly[label] = {"powers": p.powers_, "transform": p.transform(Xp), "n_out": p.n_output_features_}
out["poly"] = poly
write("preprocessing_more.json", out)

# --- MultinomialNB and BernoulliNB on count data ---------------------------------------------
rng = np.random.RandomState(3)
n, d = 150, 8
y = rng.randint(0, 3, n) * 2 + 1  # labels 1, 3, 5
rates = rng.gamma(2.0, 1.5, (3, d))
Xc = rng.poisson(rates[(y - 1) // 2]).astype(float)
w = rng.rand(n) * 2
perm = rng.permutation(n)
nb = {"x": Xc, "y": y, "w": w, "perm": perm}


def attrs(m, X):
    return {
        "classes": m.classes_,
        "class_count": m.class_count_,
        "feature_count": m.feature_count_,
        "class_log_prior": m.class_log_prior_,
        "feature_log_prob": m.feature_log_prob_,
        "predict": m.predict(X),
        "proba_head": m.predict_proba(X[:20]),
    }


nb["multinomial"] = attrs(MultinomialNB().fit(Xc, y), Xc)
nb["multinomial_alpha"] = attrs(MultinomialNB(alpha=0.5, fit_prior=False).fit(Xc, y), Xc)
nb["multinomial_prior"] = attrs(MultinomialNB(class_prior=[0.2, 0.3, 0.5]).fit(Xc, y), Xc)
nb["multinomial_weighted"] = attrs(MultinomialNB().fit(Xc, y, sample_weight=w), Xc)
m = MultinomialNB()
for i in range(3):
    idx = perm[i * 50:(i + 1) * 50]
    m.partial_fit(Xc[idx], y[idx], classes=[1, 3, 5])
nb["multinomial_partial"] = attrs(m, Xc)
nb["bernoulli"] = attrs(BernoulliNB().fit(Xc, y), Xc)
nb["bernoulli_binarize"] = attrs(BernoulliNB(binarize=2.0, alpha=0.3).fit(Xc, y), Xc)
Xb = (Xc > 1).astype(float)
nb["xb"] = Xb
nb["bernoulli_none"] = attrs(BernoulliNB(binarize=None).fit(Xb, y), Xb)
m = BernoulliNB()
for i in range(3):
    idx = perm[i * 50:(i + 1) * 50]
    m.partial_fit(Xc[idx], y[idx], classes=[1, 3, 5])
nb["bernoulli_partial"] = attrs(m, Xc)
write("naive_bayes_more.json", nb)
