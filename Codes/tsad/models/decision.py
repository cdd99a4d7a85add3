"""How a beat's class is chosen from a classifier's probabilities: the most likely class, or the most
likely after adding a log-odds offset per class (``decide``), offsets chosen on records held out from
training (``choose_offsets``; docs/RESULTS.md, section W).

EC57 weighs the classes unequally: a ventricular beat called F or Q counts against the VEB
sensitivity, while an F beat called V is not counted against the VEB positive predictivity, and the
rare classes' probabilities are pulled towards N by how few of them training saw. Offsets move the
decision, not the probabilities (``<record>_beats.csv`` keeps those). Numpy only: detection through
onnxruntime decides without torch.
"""

from __future__ import annotations

import itertools

import numpy as np

# the offsets tried (log-odds added to log p of the class; N stays at 0; -inf: never chosen)
OFFSET_GRID = {"S": (-1.0, -0.5, 0.0, 0.5, 1.0), "V": (-1.0, -0.5, 0.0, 0.5, 1.0),
               "F": (-np.inf, -2.0, -1.0, 0.0)}
# EC57's ectopic statistics at the reference positions: the target class and the classes whose beats,
# given the target, count as false positives (tsad.scoring.classes.ECTOPIC)
_ECTOPIC = {"V": ("N", "S", "Q"), "S": ("N", "V", "F")}


def decide(probs: np.ndarray, classes, offsets: dict | None = None) -> np.ndarray:
    """Each row's class (an object array of ``classes``' names): argmax of log p + ``offsets`` (class
    name -> log-odds; missing classes 0; None: plain argmax)."""
    names = np.asarray(classes, dtype=object)
    if not len(probs):
        return names[:0]
    if not offsets:
        return names[np.asarray(probs).argmax(axis=1)]
    shift = np.array([offsets.get(c, 0.0) for c in classes], np.float64)
    with np.errstate(divide="ignore"):
        scores = np.log(np.clip(np.asarray(probs, np.float64), 1e-12, None)) + shift
    return names[scores.argmax(axis=1)]


def ectopic_f1(truth: np.ndarray, labels: np.ndarray) -> float:
    """The mean of the VEB and SVEB F1 (2 TP / (2 TP + FP + FN), EC57's counts at the reference
    positions) of ``labels`` against the AAMI classes ``truth``; a statistic with no beat either way
    is left out of the mean."""
    scores = []
    for target, counted in _ECTOPIC.items():
        tp = np.sum((truth == target) & (labels == target))
        fn = np.sum((truth == target) & (labels != target))
        fp = np.sum(np.isin(truth, counted) & (labels == target))
        if tp + fn + fp:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else float("nan")


def choose_offsets(probs: np.ndarray, truth, classes, grid: dict | None = None) -> tuple[dict, float]:
    """The offsets of ``grid`` (default OFFSET_GRID) whose decisions on ``probs`` (validation beats,
    AAMI classes ``truth``) give the highest ``ectopic_f1``; of equally good ones, the nearest to plain
    argmax (the least total |offset|, -inf counting 10). Returns them and their score."""
    grid = OFFSET_GRID if grid is None else grid
    truth = np.asarray(truth, dtype=object)
    best, best_key = None, None
    for values in itertools.product(*grid.values()):
        offsets = dict(zip(grid, values))
        score = ectopic_f1(truth, decide(probs, classes, offsets))
        distance = sum(10.0 if np.isinf(v) else abs(v) for v in values)
        key = (score, -distance)
        if best_key is None or key > best_key:
            best, best_key = offsets, key
    return best, best_key[0]
