"""Shared helpers for the golden-file scripts: version pins and JSON output."""
import json
import os

import numpy as np
import sklearn

PINNED = {"sklearn": "1.6.1", "numpy": "2.2.6"}


def check_versions():
    found = {"sklearn": sklearn.__version__, "numpy": np.__version__}
    if found != PINNED:
        raise SystemExit(f"golden files need {PINNED}, found {found}")


def _plain(v):
    """Plain JSON values; NaN becomes null (JSON has no NaN; the Rust side reads null as NaN)."""
    if isinstance(v, np.ndarray):
        return _plain(v.tolist())
    if isinstance(v, (float, np.floating)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def write(name, payload):
    """Writes `payload` (nested dicts of arrays and numbers) to `name` beside this script."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    payload = dict(_plain(payload))
    payload["_generated_by"] = {"sklearn": sklearn.__version__, "numpy": np.__version__}
    with open(path, "w") as f:
        json.dump(payload, f, indent=None, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"wrote {path}")
