"""Golden files for SGDClassifier / SGDRegressor (shuffle=False, so the updates are in row order).

Run by hand with the pinned versions (see README.md); writes sgd.json.
"""
import warnings

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.preprocessing import StandardScaler

from golden_common import check_versions, write

check_versions()
warnings.simplefilter("ignore", ConvergenceWarning)

Xb, yb = datasets.load_breast_cancer(return_X_y=True)
Xi, yi = datasets.load_iris(return_X_y=True)
Xd, yd = datasets.load_diabetes(return_X_y=True, scaled=False)
Xb, Xi, Xd = (StandardScaler().fit_transform(X) for X in (Xb, Xi, Xd))


def clf(name, X, y, **kw):
    m = SGDClassifier(shuffle=False, **kw).fit(X, y)
    out = {"params": kw, "coef": m.coef_, "intercept": m.intercept_, "n_iter": m.n_iter_, "t": m.t_,
           "predict": m.predict(X)}
    if kw.get("loss") in ("log_loss", "modified_huber"):
        out["proba_head"] = m.predict_proba(X[:10])
    return name, out


def reg(name, X, y, **kw):
    m = SGDRegressor(shuffle=False, **kw).fit(X, y)
    return name, {"params": kw, "coef": m.coef_, "intercept": m.intercept_, "n_iter": m.n_iter_, "t": m.t_,
                  "predict_head": m.predict(X[:10])}


cases = dict([
    clf("cancer_hinge", Xb, yb, loss="hinge", max_iter=20, tol=None),
    clf("cancer_log_elasticnet", Xb, yb, loss="log_loss", penalty="elasticnet", alpha=1e-3, l1_ratio=0.3,
        max_iter=200, tol=1e-3),
    clf("cancer_squared_hinge_l1", Xb, yb, loss="squared_hinge", penalty="l1", alpha=1e-3,
        learning_rate="invscaling", eta0=0.01, max_iter=30, tol=None),
    clf("iris_modified_huber", Xi, yi, loss="modified_huber", max_iter=1000, tol=1e-3),
    clf("iris_perceptron_constant", Xi, yi, loss="perceptron", penalty=None, learning_rate="constant", eta0=0.1,
        max_iter=15, tol=None),
    reg("diabetes_default", Xd, yd, max_iter=1000, tol=1e-3),
    reg("diabetes_huber_adaptive", Xd, yd, loss="huber", epsilon=1.0, learning_rate="adaptive", eta0=0.01,
        max_iter=200, tol=1e-3),
])

# partial_fit over three batches.
m = SGDClassifier(loss="log_loss", shuffle=False)
for a, b in [(0, 200), (200, 400), (400, 569)]:
    m.partial_fit(Xb[a:b], yb[a:b], classes=[0, 1])
cases["cancer_partial"] = {"coef": m.coef_, "intercept": m.intercept_, "t": m.t_}
r = SGDRegressor(shuffle=False)
for a, b in [(0, 150), (150, 300), (300, 442)]:
    r.partial_fit(Xd[a:b], yd[a:b])
cases["diabetes_partial"] = {"coef": r.coef_, "intercept": r.intercept_, "t": r.t_}
write("sgd.json", cases)
