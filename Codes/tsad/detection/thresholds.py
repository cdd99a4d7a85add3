"""The detection threshold of a learned model, tuned on validation records (or windows) and kept in
``<run>/detection.json``: the candidates, the score (class-balanced F1), the choice, and what is
doubtful about it (``threshold_warnings``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tsad.core.errors import warn
from tsad.core.fileio import save_json
from tsad.core.geometry import tolerance_samples
from tsad.core.paths import THRESHOLD_FILE
from tsad.data import ecg
from tsad.detection.records import detect_record
from tsad.models.predictor import Predictor
from tsad.scoring import ec57
from tsad.scoring.beats import DEFAULT_REFRACTORY_S, match_beats, pick_beats

# The fixed grid of thresholds, 0.05 to 0.95 ...
THRESHOLD_GRID = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2))
# ... extended downwards geometrically to THRESHOLD_FLOOR, so that a model whose beats peak under 0.05
# (barely trained, or badly calibrated as distilled students can be) still gets a threshold that finds
# them instead of one that finds nothing.
THRESHOLD_FLOOR = 1e-3
THRESHOLD_LOW_STEPS = 10           # thresholds between the floor and the fixed grid (a factor ~1.48 apart)
# A tuned threshold whose F1 on the validation data is under this is reported: such a model misses
# or invents a large share of the beats.
MIN_VALIDATION_F1 = 0.5
# What to try when a student has not learned; every student training script takes these flags.
TRAINING_HINT = ("try more training steps (--epochs, or more windows), a shorter warm-up (--warmup-steps), "
                 "or --preset recommended")


def threshold_candidates(floor: float = THRESHOLD_FLOOR, low_steps: int = THRESHOLD_LOW_STEPS) -> tuple:
    """Every threshold the tuning tries, ascending: ``low_steps`` geometric steps from ``floor`` up to
    the fixed grid's lowest value (rounded to 3 significant digits), then THRESHOLD_GRID.

    The one place that builds the candidates: ``tune_threshold`` and ``tune_threshold_windows`` use it."""
    low = np.geomspace(floor, THRESHOLD_GRID[0], low_steps + 1)[:-1] if low_steps > 0 else np.zeros(0)
    return tuple(float(f"{x:.3g}") for x in low) + tuple(float(x) for x in THRESHOLD_GRID)


THRESHOLD_CANDIDATES = threshold_candidates()


def pooled_f1(counts: np.ndarray) -> np.ndarray:
    """F1 at 150 ms, 2 TP / (2 TP + FP + FN), of each row of (TP, FP, FN) counts (0 without any beat)."""
    counts = np.asarray(counts, np.int64)
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    return 2 * tp / np.maximum(2 * tp + fp + fn, 1)


# A class needs this many validation beats for its sensitivity to enter the balanced score: fewer
# would let a handful of beats (one record's) swing the threshold.
MIN_CLASS_BEATS = 20


def balanced_f1(counts: np.ndarray, class_counts: np.ndarray) -> np.ndarray:
    """F1 with the sensitivity balanced over beat classes: ``2 Se_bal PPV / (Se_bal + PPV)``, where
    ``Se_bal`` is the mean sensitivity of the classes (``ecg.BALANCED_CLASSES``) with at least
    MIN_CLASS_BEATS validation beats, and PPV the pooled one (a detection has no class).

    ``counts`` (T, 3) holds TP, FP, FN and ``class_counts`` (T, K, 2) each class's beats and matched
    beats at each of T thresholds. A threshold that gives up a rare class's beats for fewer false
    detections among many normal ones scores lower here than under the pooled F1."""
    counts = np.asarray(counts, np.float64)
    class_counts = np.asarray(class_counts, np.float64)
    n, tp = class_counts[..., 0], class_counts[..., 1]
    used = n[0] >= MIN_CLASS_BEATS
    if not used.any():
        return pooled_f1(counts)
    se = (tp[:, used] / n[:, used]).mean(axis=1)
    det = counts[:, 0] + counts[:, 1]
    ppv = np.divide(counts[:, 0], det, out=np.zeros(len(det)), where=det > 0)
    return np.divide(2 * se * ppv, se + ppv, out=np.zeros(len(se)), where=(se + ppv) > 0)


def choose_threshold(grid, counts: np.ndarray, class_counts: np.ndarray | None = None) -> tuple[int, np.ndarray]:
    """The chosen threshold from the pooled (TP, FP, FN) counts at each threshold of ``grid`` and,
    when known (whole annotated records), each beat class's counts: the balanced F1
    (``balanced_f1``) is then the score, else the pooled F1.

    Parameters
    ----------
    grid : sequence of float
        The thresholds, ascending.
    counts : ndarray, shape (len(grid), 3)
        TP, FP and FN summed over the validation data at each threshold.

    Returns
    -------
    index : int
        Position in ``grid`` of the best score. Among equal best scores, the middle of their longest
        run of neighbouring thresholds (the first such run): the choice with the most room either
        side. (The lowest of them would put a sharp model, whose F1 is the same from 0.001 up, at
        the floor, where any background noise on new records becomes a beat.)
    scores : ndarray, shape (len(grid),)
        The score of every threshold: its balanced F1, or its pooled F1 at 150 ms (``pooled_f1``).
    """
    counts = np.asarray(counts, np.int64).reshape(len(grid), 3)
    scores = pooled_f1(counts) if class_counts is None else balanced_f1(counts, class_counts)
    best = np.flatnonzero(scores == scores.max())
    runs = np.split(best, np.flatnonzero(np.diff(best) > 1) + 1)   # neighbouring thresholds together
    longest = max(runs, key=len)                                   # the first of the longest
    return int(longest[(len(longest) - 1) // 2]), scores


def threshold_warnings(grid, index: int, f1, tuned_on: str) -> list[str]:
    """What is doubtful about a tuned threshold, as sentences for the user (empty when nothing is).
    ``f1`` is the pooled F1 at every threshold of ``grid``, ``index`` the chosen one.

    A best F1 of 0 means no threshold finds a beat: the model has not learned. A best F1 under
    MIN_VALIDATION_F1, a best threshold at the lowest candidate or under the fixed grid (the beats
    barely rise above the background), or at the highest (false peaks reach that high), means the
    detections will be poor or fragile."""
    best, thr = float(f1[index]), float(grid[index])
    span = f"{float(grid[0]):g} to {float(grid[-1]):g}"
    if best == 0:
        message = (f"no threshold from {span} finds a beat on {tuned_on} (F1 0): the model has not "
                   f"learned to mark beats, and its detections will be empty or wrong; {TRAINING_HINT}")
        return [message]
    out = []
    if best < MIN_VALIDATION_F1:
        out.append(f"F1 {best:.4f} on {tuned_on} at the best threshold {thr:g}, under {MIN_VALIDATION_F1:g}: "
                   f"the model misses or invents many beats; {TRAINING_HINT}")
    if index == 0 or thr < THRESHOLD_GRID[0]:
        where = "the lowest tried" if index == 0 else f"under the fixed grid's lowest, {THRESHOLD_GRID[0]:g}"
        out.append(f"the best threshold is {where} ({thr:g}): the model's beat probabilities stay low "
                   f"(barely trained or badly calibrated), and its detections hang on a small margin; "
                   f"{TRAINING_HINT}")
    elif index == len(grid) - 1:
        out.append(f"the best threshold is the highest tried ({thr:g}): the model's false peaks reach that "
                   f"high (an overconfident model); check its detections, or set detect.py --threshold")
    return out


def _tuned(grid, counts: np.ndarray, tuned_on: str, class_counts: np.ndarray | None = None, **extra) -> dict:
    """The record of a tuning (detection.json): the choice, its F1, the score it maximised, the grid,
    the per-class sensitivity at the choice, the warnings (judged on the F1, whatever score
    ``choose_threshold`` maximises)."""
    index, scores = choose_threshold(grid, counts, class_counts)
    f1 = pooled_f1(counts)
    out = {"threshold": float(grid[index]), "val_F1": float(f1[index]), "tuned_on": tuned_on, **extra,
           "objective": "pooled F1" if class_counts is None else
           f"class-balanced F1 (mean Se over beat classes with >= {MIN_CLASS_BEATS} beats, pooled PPV)",
           "grid": [float(g) for g in grid], "F1": [round(float(x), 5) for x in f1],
           "score": [round(float(x), 5) for x in scores], "counts": np.asarray(counts, np.int64).tolist(),
           "warnings": threshold_warnings(grid, index, f1, tuned_on)}
    if class_counts is not None:
        n, tp = np.asarray(class_counts)[index, :, 0], np.asarray(class_counts)[index, :, 1]
        out["class_Se"] = {c: (round(float(t / k), 5) if k else None)
                           for c, k, t in zip(ecg.BALANCED_CLASSES, n, tp)}
        out["class_beats"] = {c: int(k) for c, k in zip(ecg.BALANCED_CLASSES, n)}
    return out


def tune_threshold(detector: Predictor, record_paths, grid=THRESHOLD_CANDIDATES, hop: int | None = None,
                   refractory_s: float = DEFAULT_REFRACTORY_S) -> dict:
    """The threshold that maximises the class-balanced F1 at 150 ms (``balanced_f1``) on whole
    validation records (records the model did not train on, and never the test records): the one
    way a detection threshold is set where annotated records exist. Returns the choice, the pooled
    F1 and the score per threshold, the per-class sensitivity at the choice and the warnings
    (``threshold_warnings``)."""
    counts, class_counts = threshold_counts(detector, record_paths, grid, hop, refractory_s)
    return _tuned(grid, counts, "whole validation records", class_counts,
                  records=[ecg.record_files(p)[1] for p in record_paths])


def threshold_counts(detector: Predictor, record_paths, grid=THRESHOLD_CANDIDATES, hop: int | None = None,
                     refractory_s: float = DEFAULT_REFRACTORY_S, leads=None) -> tuple[np.ndarray, np.ndarray]:
    """What ``detector`` finds in whole records at every threshold of ``grid``, matched at 150 ms:
    ``counts`` (len(grid), 3) of TP, FP, FN summed over the records, and ``class_counts``
    (len(grid), len(BALANCED_CLASSES), 2) of each class's reference beats and those found. One
    detection per record (its probability, picked at each threshold), reading ``leads`` (default
    every lead; ``detect_record``'s)."""
    classes = list(ecg.BALANCED_CLASSES.values())
    counts = np.zeros((len(grid), 3), np.int64)
    class_counts = np.zeros((len(grid), len(classes), 2), np.int64)
    for path in record_paths:
        det = detect_record(detector, path, hop=hop, threshold=float(min(grid)), refractory_s=refractory_s,
                            leads=leads)
        ref, symbols, fs, _ = ec57.read_reference(path)
        vf = ec57.read_vf_episodes(path)              # scored as EC57: nothing inside flutter
        scored = ecg.outside_episodes(ref, vf)
        ref, symbols = ref[scored], np.asarray(symbols, dtype=object)[scored]
        member = np.array([[s in c for s in symbols] for c in classes], bool).reshape(len(classes), len(ref))
        scale = det.fs / det.model_fs
        for k, thr in enumerate(grid):
            beats = pick_beats(det.prob, det.model_fs, float(thr), refractory_s)
            samples = np.round(beats * scale).astype(np.int64)
            samples = samples[ecg.outside_episodes(samples, vf)]
            m = match_beats(ref, samples, tolerance_samples(fs))
            counts[k] += (m.tp, m.fp, m.fn)
            matched = np.zeros(len(ref), bool)
            matched[m.ref_index] = True
            class_counts[k, :, 0] += member.sum(1)
            class_counts[k, :, 1] += (member & matched).sum(1)
    return counts, class_counts


def tune_threshold_windows(probs: np.ndarray, labels: np.ndarray, fs: float, grid=THRESHOLD_CANDIDATES,
                           refractory_s: float = DEFAULT_REFRACTORY_S) -> dict:
    """The threshold that maximises the pooled F1 at 150 ms over validation *windows* (each window
    alone), for runs whose validation set is windows rather than whole records; with the warnings."""

    tol = tolerance_samples(fs)
    refs = [np.flatnonzero(row > 0.5) for row in labels]
    counts = np.zeros((len(grid), 3), np.int64)
    for k, thr in enumerate(grid):
        for p, ref in zip(probs, refs):
            m = match_beats(ref, pick_beats(p, fs, float(thr), refractory_s), tol)
            counts[k] += (m.tp, m.fp, m.fn)
    return _tuned(grid, counts, f"{len(probs)} validation windows")


def save_tuned_threshold(run_dir, tuned: dict) -> Path:
    """Writes ``<run>/detection.json`` and shows each of its warnings as a ``warning:`` line on stderr:
    every path that tunes a threshold saves it here, so none keeps a doubtful one silently."""

    path = Path(run_dir) / THRESHOLD_FILE
    save_json(path, tuned)
    for message in tuned.get("warnings") or []:
        warn(f"{path}: {message}")
    return path

