"""Drawing training windows so that rare beat types are seen often enough.

A window-wise model learns the beat types it sees: in the shared records a normal beat is about 60
times as common as a paced or fusion beat and 200 times as common as a fusion of ventricular and
normal (F), so a uniform draw of 12,000 windows shows the model a few dozen windows of some
morphologies. ``rarity_weights`` gives each window the weight of its rarest beat type, relative to
the commonest type: ``(n_commonest / n_type) ** power`` (capped), 1 for windows without beats.
``power`` 0 is the uniform draw, 1 would draw every type about equally often, 0.5 lies between.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from tsad.core.paths import Workspace
from tsad.data import ecg

# No window is drawn more than this many times as often as a window of the commonest type: a type
# seen in a handful of windows would otherwise fill the draw with copies of one patient's beats.
MAX_WEIGHT = 50.0


def parse_symbols(annotations: str) -> list[str]:
    """The beat symbols of a window's ``"pos:symbol pos:symbol"`` annotation string (windows.csv),
    without rhythm, noise and comment marks."""
    if not isinstance(annotations, str) or not annotations:
        return []
    out = []
    for item in annotations.split():
        _, _, symbol = item.partition(":")
        if symbol in ecg.BEAT_SYMBOLS:
            out.append(symbol)
    return out


def window_symbols(ws: Workspace, ids: np.ndarray) -> list[list[str]]:
    """The beat symbols of the windows ``ids``, read from the data stage's windows.csv."""
    path = ws.windows_csv
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found; run Codes/Dataset/data_generate.py first")
    table = pd.read_csv(path, usecols=["id", "annotations"], keep_default_na=False).set_index("id")
    missing = np.setdiff1d(ids, table.index.to_numpy())
    if len(missing):
        raise ValueError(f"{path}: no row for window id(s) {', '.join(map(str, missing[:5]))}")
    return [parse_symbols(a) for a in table.loc[np.asarray(ids), "annotations"]]


def rarity_weights(symbols: list[list[str]], power: float, max_weight: float = MAX_WEIGHT) -> np.ndarray:
    """One weight per window: ``(n_commonest / n_rarest_type_in_window) ** power``, at most
    ``max_weight``; 1 for a window without beats. Counts are beats of each symbol over all windows.

    >>> rarity_weights([["N", "N"], ["N", "V"], []], power=1.0).tolist()
    [1.0, 3.0, 1.0]
    """
    counts = Counter(s for window in symbols for s in window)
    if not counts or power == 0:
        return np.ones(len(symbols))
    top = max(counts.values())
    out = np.ones(len(symbols))
    for k, window in enumerate(symbols):
        if window:
            out[k] = min(max_weight, max((top / counts[s]) ** power for s in set(window)))
    return out
