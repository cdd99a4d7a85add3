"""Whole-record beat detection: any WFDB record, any sampling rate, any trained model.

A record is resampled to the model's rate, the model's window slides over the whole record with
overlap, the overlapping probabilities are combined with a taper that trusts a window's middle more
than its edges (where most false beats of a window-wise model are made), beats are picked on the
combined probability, and their positions are mapped back to the record's own sample numbers. The
classical detectors (wfdb's XQRS and GQRS, NeuroKit2's and SleepECG's; the one table
``CLASSICAL_DETECTORS``) run on lead 1 of the whole record at its own rate, as they are meant to, and
are the baselines.

Detections are written as a WFDB annotation file ``<record>.<ext>`` (``wfdb.wrann``; readable by
``wfdb.rdann`` and PhysioNet's ``bxb``) plus ``<record>_beats.csv`` (sample, time in seconds,
probability) and, for learned models, ``<record>_probs.npy`` (the combined probability at the model's
rate, float16) for figures and the app.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from . import ecg, paths
from .beats import DEFAULT_REFRACTORY_S, DEFAULT_THRESHOLD, pick_beats  # noqa: F401
from .fileio import atomic_path, save_json
from .geometry import WindowGeometry, checkpoint_geometry
from .registry import TEACHER_KIND

# The record peak picker (pick_beats) and its defaults live with the other beat-scoring rules in
# tsad.beats; they are imported above under the names callers use here.
DEFAULT_EXT = "tsad"
DETECTIONS_META = "detections.json"
# detect.py writes into <workspace>/detections/<run>/ unless --out says otherwise; the app looks there
DETECTIONS_DIR = "detections"
# A WFDB annotation file with no annotation: only the two-byte end-of-file marker (rdann reads it)
EMPTY_ANNOTATION_FILE = b"\x00\x00"


class DetectionError(ValueError):
    """A record or run that cannot be detected; the message names the file."""


# ---- stitching windows over a record ------------------------------------------------------------

def window_starts(n_samples: int, length: int, hop: int) -> np.ndarray:
    """First samples of the windows that cover ``[0, n_samples)``: every ``hop`` samples, plus one
    window flush with the record's end so the last samples are seen too.

    Raises DetectionError when the record is shorter than one window."""
    if hop <= 0 or hop > length:
        raise DetectionError(f"--hop must lie in 1..{length} samples, got {hop}")
    if n_samples < length:
        raise DetectionError(f"{n_samples} samples, shorter than one window of {length}")
    starts = np.arange(0, n_samples - length + 1, hop, dtype=np.int64)
    if starts[-1] != n_samples - length:
        starts = np.r_[starts, n_samples - length]
    return starts


def taper(length: int, floor: float = 0.05) -> np.ndarray:
    """Weights of a window's samples when overlapping windows are averaged: a Hann shape lifted by
    ``floor`` so a record's first and last samples, which only one window sees, still get a value."""
    return (floor + (1 - floor) * np.hanning(length + 2)[1:-1]).astype(np.float64)


def stitch(probs: np.ndarray, starts: np.ndarray, n_samples: int) -> np.ndarray:
    """Weighted average of overlapping window probabilities (W, L) placed at ``starts``."""
    probs = np.asarray(probs, np.float64)
    length = probs.shape[1]
    w = taper(length)
    total = np.zeros(n_samples)
    weight = np.zeros(n_samples)
    idx = starts[:, None] + np.arange(length)[None, :]
    np.add.at(total, idx.ravel(), (probs * w).ravel())
    np.add.at(weight, idx.ravel(), np.broadcast_to(w, probs.shape).ravel())
    return (total / np.maximum(weight, 1e-12)).astype(np.float32)


# ---- models ---------------------------------------------------------------------------------------

@dataclass
class Detector:
    """Something that turns a record into beats. ``window_probs`` maps (W, L, C) windows at
    ``geometry.fs`` to (W, L) probabilities; classical detectors have none and detect directly."""

    name: str
    kind: str                                 # "student", "teacher" or "classical"
    geometry: WindowGeometry
    window_probs: Callable[[np.ndarray], np.ndarray] | None = None
    description: str = ""
    info: dict = field(default_factory=dict)
    threshold: float = DEFAULT_THRESHOLD      # the run's tuned threshold (detection.json) or 0.5
    warnings: list[str] = field(default_factory=list)   # recorded when the threshold was tuned


# ---- classical detectors: one function each, one table ------------------------------------------
# Each takes lead 1 of a whole record (float64, physical units) and its rate, and returns the sample
# numbers of the beats it finds. Their packages are imported inside, so only a detector in use needs
# its package.

def _xqrs(signal: np.ndarray, fs: float) -> np.ndarray:
    import wfdb.processing

    return wfdb.processing.xqrs_detect(signal, fs=fs, verbose=False)


def _gqrs(signal: np.ndarray, fs: float) -> np.ndarray:
    import wfdb.processing

    return wfdb.processing.gqrs_detect(signal, fs=fs)


def _neurokit(signal: np.ndarray, fs: float) -> np.ndarray:
    import neurokit2 as nk

    # ecg_peaks' documented input is a cleaned signal: its default band-pass first, then its
    # default ("neurokit") R-peak method, both at the record's rate
    cleaned = nk.ecg_clean(signal, sampling_rate=fs)
    _, info = nk.ecg_peaks(cleaned, sampling_rate=fs)
    return np.asarray(info["ECG_R_Peaks"])


def _sleepecg(signal: np.ndarray, fs: float) -> np.ndarray:
    from sleepecg import detect_heartbeats

    return detect_heartbeats(signal, fs)   # takes the unfiltered ECG (its own Pan-Tompkins filtering)


@dataclass(frozen=True)
class ClassicalDetector:
    """An entry of ``CLASSICAL_DETECTORS``: the function, its package (for the message when it is
    missing) and what it is, in words."""

    detect: Callable[[np.ndarray, float], np.ndarray]
    package: str
    description: str


CLASSICAL_DETECTORS = {
    "xqrs": ClassicalDetector(_xqrs, "wfdb", "wfdb.processing.xqrs_detect"),
    "gqrs": ClassicalDetector(_gqrs, "wfdb", "wfdb.processing.gqrs_detect"),
    "neurokit": ClassicalDetector(_neurokit, "neurokit2",
                                  "neurokit2 ecg_clean + ecg_peaks (default neurokit method)"),
    "sleepecg": ClassicalDetector(_sleepecg, "sleepecg", "sleepecg.detect_heartbeats (Pan-Tompkins)"),
}


def classical_detector(name: str) -> Detector:
    """The classical detector ``name`` (a key of ``CLASSICAL_DETECTORS``).

    Raises
    ------
    DetectionError
        When ``name`` is not in the table.
    """
    if name not in CLASSICAL_DETECTORS:
        raise DetectionError(f"unknown classical detector {name!r}; choose one of "
                             f"{', '.join(CLASSICAL_DETECTORS)}")
    # the classical detectors read lead 1 at the record's own rate; fs here is only a placeholder
    return Detector(name, "classical", WindowGeometry(channels=(0,)),
                    description=f"{CLASSICAL_DETECTORS[name].description} on lead 1 of the whole record")


def load_detector(ws: paths.Workspace, run: str, device: str = "auto", batch_size: int = 256) -> Detector:
    """The detector of a trained run in the workspace (student or teacher), or a classical one.

    Raises DetectionError when the run folder holds no trained model."""
    import torch

    from .checkpoint import load_checkpoint
    from .common import get_device

    if run in CLASSICAL_DETECTORS:
        return classical_detector(run)
    run_dir = ws.resolve_run_dir(run)
    if run in paths.PRETRAINED_MODELS and not (run_dir / paths.STUDENT_CHECKPOINT).is_file():
        raise DetectionError(f"{run_dir}: the shipped model's weights are missing (a checkout without "
                             f"pretrained/? train one with Codes/Models/train_pretrained.py)")
    student_ckpt = run_dir / paths.STUDENT_CHECKPOINT
    teacher_ckpt = run_dir / paths.TEACHER_CHECKPOINT
    if student_ckpt.is_file():
        from .student import load_student, student_probs

        state = load_checkpoint(student_ckpt)
        geometry = checkpoint_geometry(state)
        model = load_student(run_dir, get_device(device))
        arch = (state.get("model_config") or {}).get("arch", "bilstm")
        return Detector(run, "student", geometry,
                        lambda x: student_probs(model, x, batch_size=batch_size),
                        description=f"student {arch}", info={"arch": arch, "lam": state.get("lam")},
                        threshold=tuned_threshold(run_dir), warnings=tuned_warnings(run_dir))
    if teacher_ckpt.is_file():
        from .render import render_window
        from .teacher import load_teacher, predict_images

        state = load_checkpoint(teacher_ckpt)
        if state.get("kind") != TEACHER_KIND:  # a picture or context teacher (tsad.teachers)
            raise DetectionError(f"{teacher_ckpt}: a {(state.get('model_config') or {}).get('type', state.get('kind'))} "
                                 f"teacher; whole-record detection runs students, the VLM teacher and "
                                 f"{', '.join(CLASSICAL_DETECTORS)}")
        geometry = checkpoint_geometry(state)
        bundle = load_teacher(run_dir, device)

        def teacher_probs(windows: np.ndarray) -> np.ndarray:
            out = []
            for start in range(0, len(windows), 32):  # plots are rendered on the fly, 32 at a time
                images = [render_window(w) for w in windows[start:start + 32]]
                out.append(torch.sigmoid(torch.from_numpy(predict_images(bundle, images))).numpy())
            return np.concatenate(out) if out else np.zeros((0, geometry.samples), np.float32)

        tiny = bool(getattr(bundle.source, "untrained", False))
        return Detector(run, "teacher", geometry, teacher_probs,
                        description="teacher" + (" (tiny random backbone)" if tiny else ""),
                        info={"tiny_backbone": tiny}, threshold=tuned_threshold(run_dir),
                        warnings=tuned_warnings(run_dir))
    raise DetectionError(f"{run_dir}: no trained model ({paths.STUDENT_CHECKPOINT} or "
                         f"{paths.TEACHER_CHECKPOINT}); train the run first, or use {' / '.join(CLASSICAL_DETECTORS)}")


# ---- the threshold, tuned on validation records ----------------------------------------------------

THRESHOLD_FILE = "detection.json"
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


def read_tuned(run_dir) -> dict:
    """The run's ``detection.json`` ({} when there is none).

    Raises
    ------
    DetectionError
        The file is unreadable or names no threshold.
    """
    path = Path(run_dir) / THRESHOLD_FILE
    if not path.is_file():
        return {}
    try:
        tuned = json.loads(path.read_text())
        float(tuned["threshold"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise DetectionError(f"{path}: unreadable tuned threshold ({err})") from err
    return tuned


def tuned_threshold(run_dir) -> float:
    """The threshold tuned for the run (``<run>/detection.json``), else DEFAULT_THRESHOLD."""
    return float(read_tuned(run_dir).get("threshold", DEFAULT_THRESHOLD))


def tuned_warnings(run_dir) -> list[str]:
    """The warnings recorded when the run's threshold was tuned (``detection.json``), else []."""
    return [str(w) for w in read_tuned(run_dir).get("warnings") or []]


def tune_threshold(detector: Detector, record_paths, grid=THRESHOLD_CANDIDATES, hop: int | None = None,
                   refractory_s: float = DEFAULT_REFRACTORY_S) -> dict:
    """The threshold that maximises the class-balanced F1 at 150 ms (``balanced_f1``) on whole
    validation records (records the model did not train on, and never the test records): the one
    way a detection threshold is set where annotated records exist. Returns the choice, the pooled
    F1 and the score per threshold, the per-class sensitivity at the choice and the warnings
    (``threshold_warnings``)."""
    from . import ec57

    classes = list(ecg.BALANCED_CLASSES.values())
    counts = np.zeros((len(grid), 3), np.int64)
    class_counts = np.zeros((len(grid), len(classes), 2), np.int64)
    for path in record_paths:
        det = detect_record(detector, path, hop=hop, threshold=float(min(grid)), refractory_s=refractory_s)
        ref, symbols, fs, _ = ec57.read_reference(path)
        member = np.array([[s in c for s in symbols] for c in classes], bool).reshape(len(classes), len(ref))
        scale = det.fs / det.model_fs
        for k, thr in enumerate(grid):
            beats = pick_beats(det.prob, det.model_fs, float(thr), refractory_s)
            samples = np.round(beats * scale).astype(np.int64)
            m = ec57.match_beats(ref, samples, ec57.tolerance_samples(fs))
            counts[k] += (m.tp, m.fp, m.fn)
            matched = np.zeros(len(ref), bool)
            matched[m.ref_index] = True
            class_counts[k, :, 0] += member.sum(1)
            class_counts[k, :, 1] += (member & matched).sum(1)
    return _tuned(grid, counts, "whole validation records", class_counts,
                  records=[ecg.record_files(p)[1] for p in record_paths])


def tune_threshold_windows(probs: np.ndarray, labels: np.ndarray, fs: float, grid=THRESHOLD_CANDIDATES,
                           refractory_s: float = DEFAULT_REFRACTORY_S) -> dict:
    """The threshold that maximises the pooled F1 at 150 ms over validation *windows* (each window
    alone), for runs whose validation set is windows rather than whole records; with the warnings."""
    from . import ec57

    tol = ec57.tolerance_samples(fs)
    refs = [np.flatnonzero(row > 0.5) for row in labels]
    counts = np.zeros((len(grid), 3), np.int64)
    for k, thr in enumerate(grid):
        for p, ref in zip(probs, refs):
            m = ec57.match_beats(ref, pick_beats(p, fs, float(thr), refractory_s), tol)
            counts[k] += (m.tp, m.fp, m.fn)
    return _tuned(grid, counts, f"{len(probs)} validation windows")


def save_tuned_threshold(run_dir, tuned: dict) -> Path:
    """Writes ``<run>/detection.json`` and shows each of its warnings as a ``warning:`` line on stderr:
    every path that tunes a threshold saves it here, so none keeps a doubtful one silently."""
    from .errors import warn

    path = Path(run_dir) / THRESHOLD_FILE
    save_json(path, tuned)
    for message in tuned.get("warnings") or []:
        warn(f"{path}: {message}")
    return path


# ---- one record -----------------------------------------------------------------------------------

@dataclass
class RecordDetection:
    record: str
    fs: float                      # the record's own rate: ``samples`` are in its sample numbers
    n_samples: int                 # at the record's own rate
    samples: np.ndarray
    scores: np.ndarray             # probability at each detected beat (1 for classical detectors)
    prob: np.ndarray | None        # combined probability at the model's rate
    model_fs: float
    seconds: float                 # compute time
    warnings: list[str] = field(default_factory=list)   # why the result is implausible for a heart

    @property
    def implausible(self) -> bool:
        return bool(self.warnings)

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs


def detect_record(detector: Detector, record_path, hop: int | None = None,
                  threshold: float | None = None, refractory_s: float = DEFAULT_REFRACTORY_S) -> RecordDetection:
    """Detects every beat of one WFDB record (annotations are not needed). ``threshold`` None takes
    the detector's (the run's tuned one)."""
    started = time.perf_counter()
    if detector.kind == "classical":
        return _detect_classical(detector, record_path, started)
    g = detector.geometry
    record = ecg.read_record(record_path, channels=g.channels, fs=g.fs, require_annotations=False)
    n_source = int(round(record.n_samples * record.source_fs / g.fs))
    try:
        return _detect_at_model_rate(detector, record.name, record.signal, record.source_fs, n_source,
                                     hop, threshold, refractory_s, started)
    except DetectionError as err:
        raise DetectionError(f"record {record_path}: {err}") from err


def detect_signal(detector: Detector, signal, fs: float, name: str = "signal", hop: int | None = None,
                  threshold: float | None = None, refractory_s: float = DEFAULT_REFRACTORY_S) -> RecordDetection:
    """Detects every beat of an ECG held in memory, as ``detect_record`` does for a file.

    Parameters
    ----------
    detector : Detector
        From ``load_detector`` (a trained run, ``pretrained``, or a classical detector).
    signal : array_like, shape (n,) or (n, leads)
        The ECG in physical units (mV), at ``fs``; a learned model reads its checkpoint's leads
        (``detector.geometry.channels``) from the columns, a classical detector the first column.
    fs : float
        Sampling rate of ``signal`` in Hz; it is resampled to the model's rate.
    name : str
        What to call the signal in messages and in the result.

    Returns
    -------
    RecordDetection
        Beat positions in ``signal``'s own sample numbers, their probabilities, the combined
        probability at the model's rate and the warnings of an implausible result.

    Raises
    ------
    DetectionError
        Too few leads, NaN or infinite samples, a signal shorter than one window, or a rate <= 0.
    """
    started = time.perf_counter()
    x = np.asarray(signal, np.float64)
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or not len(x):
        raise DetectionError(f"{name}: expected an array of shape (n,) or (n, leads), got {np.shape(signal)}")
    if not fs or fs <= 0:
        raise DetectionError(f"{name}: the sampling rate must be positive, got {fs}")
    if not np.isfinite(x).all():
        raise DetectionError(f"{name}: {int((~np.isfinite(x)).sum())} NaN or infinite samples; cut them out first")
    if detector.kind == "classical":
        samples = _classical_samples(detector, x[:, 0], float(fs))
        return RecordDetection(name, float(fs), len(x), samples, np.ones(len(samples), np.float32), None,
                               float(fs), time.perf_counter() - started,
                               detection_warnings(samples, float(fs), len(x), x, float(fs)))
    g = detector.geometry
    if max(g.channels) >= x.shape[1]:
        raise DetectionError(f"{name}: {x.shape[1]} lead(s), the model reads leads {list(g.channels)}")
    resampled = ecg.resample_series(x[:, list(g.channels)], float(fs), g.fs)
    return _detect_at_model_rate(detector, name, resampled, float(fs), len(x), hop, threshold, refractory_s,
                                 started)


def _detect_at_model_rate(detector: Detector, name: str, signal: np.ndarray, source_fs: float, n_source: int,
                          hop: int | None, threshold: float | None, refractory_s: float,
                          started: float) -> RecordDetection:
    """The learned detection proper, on a signal already at the model's rate and leads: windows every
    ``hop``, tapered stitching, peaks above the threshold, positions back at ``source_fs``."""
    threshold = detector.threshold if threshold is None else threshold
    g = detector.geometry
    n = len(signal)
    starts = window_starts(n, g.samples, hop or g.samples // 2)
    windows = signal[starts[:, None] + np.arange(g.samples)[None, :]]
    prob = stitch(detector.window_probs(windows), starts, n)
    beats = pick_beats(prob, g.fs, threshold, refractory_s)
    scale = source_fs / g.fs
    samples = np.clip(np.round(beats * scale).astype(np.int64), 0, max(n_source - 1, 0))
    warnings = detection_warnings(samples, source_fs, n_source, signal, g.fs)
    if not len(samples):   # why: the model's probability never rose above the threshold
        warnings[0] += (f" (the model's probability peaks at {float(prob.max()):.3g}, under the "
                        f"threshold {threshold:g}: a model that has not learned, see its detection.json, or "
                        f"a threshold too high for it)")
    return RecordDetection(name, source_fs, n_source, samples, prob[beats], prob, g.fs,
                           time.perf_counter() - started, warnings)


def _detect_classical(detector: Detector, record_path, started: float) -> RecordDetection:
    folder, name = ecg.record_files(record_path)
    header = _read_header(folder, name)
    record = ecg.read_record(folder / name, channels=(0,), fs=header.fs, require_annotations=False)
    samples = _classical_samples(detector, record.signal[:, 0], record.fs)
    return RecordDetection(record.name, record.fs, record.n_samples, samples, np.ones(len(samples), np.float32),
                           None, record.fs, time.perf_counter() - started,
                           detection_warnings(samples, record.fs, record.n_samples, record.signal, record.fs))


def _classical_samples(detector: Detector, lead: np.ndarray, fs: float) -> np.ndarray:
    """A classical detector's beats on one lead at its own rate: sorted, unique, inside the signal."""
    entry = CLASSICAL_DETECTORS[detector.name]
    try:
        samples = entry.detect(np.asarray(lead, np.float64), fs)
    except ModuleNotFoundError as err:
        raise DetectionError(f"{detector.name} needs the package {entry.package} ({err.name} is not "
                             "installed): pip install -r requirement.txt") from err
    samples = np.unique(np.asarray(samples, np.int64))
    return samples[(samples >= 0) & (samples < len(lead))]


def _read_header(folder: Path, name: str):
    import wfdb

    if not (folder / f"{name}.hea").is_file():
        raise ecg.RecordError(f"record {folder / name}: header file {name}.hea not found")
    try:
        return wfdb.rdheader(str(folder / name))
    except Exception as err:  # wfdb raises ValueError, IndexError, ... on a malformed header
        raise ecg.RecordError(f"record {folder / name}: unreadable header ({err})") from err


# ---- is a record's detection plausible for a heart? ----------------------------------------------

# A mean rate outside these bounds over a whole record is no heart's (or no detector's success).
MIN_RATE_BPM = 20.0
MAX_RATE_BPM = 300.0
# A stretch longer than this without a beat, where the signal is not flat, is a detector missing beats.
MAX_GAP_S = 10.0
# A piece of FLAT_PIECE_S is flat (a lead off, the signal lost: no beat to find there) when every
# lead's standard deviation over it is at most this share of the lead's over the whole record; only
# the pieces that are not flat count towards a stretch without a beat.
FLAT_FRACTION = 0.05
FLAT_PIECE_S = 1.0


def detection_warnings(samples: np.ndarray, fs: float, n_samples: int, signal: np.ndarray | None = None,
                       signal_fs: float | None = None) -> list[str]:
    """Why a record's detected beats are implausible for a heart (empty when they are plausible).

    Parameters
    ----------
    samples : ndarray
        Detected beats, in sample numbers at ``fs``.
    fs, n_samples : float, int
        The rate and the length of the record the samples refer to.
    signal : ndarray (n, leads), optional
        The record's signal at ``signal_fs``: of a stretch without a beat, only the pieces where the
        signal is not flat count (FLAT_FRACTION, FLAT_PIECE_S). Without it, the whole stretch counts.

    Returns
    -------
    list of str
        No beat at all; a mean rate under MIN_RATE_BPM or over MAX_RATE_BPM; stretches between beats
        (or the record's ends) with more than MAX_GAP_S of signal that is not flat.
    """
    duration = n_samples / fs
    if not len(samples):
        return [f"no beat detected in {duration:.0f} s"]
    out = []
    rate = 60.0 * len(samples) / duration
    if rate < MIN_RATE_BPM or rate > MAX_RATE_BPM:
        out.append(f"{rate:.1f} beats per minute over the record, outside {MIN_RATE_BPM:g}-{MAX_RATE_BPM:g}")
    edges = np.r_[0.0, np.sort(samples) / fs, duration]
    gaps = [(a, b, b - a) for a, b in itertools.pairwise(edges) if b - a > MAX_GAP_S]
    if signal is not None and gaps:
        gaps = [(a, b, _live_seconds(signal, signal_fs, a, b)) for a, b, _ in gaps]
        gaps = [g for g in gaps if g[2] > MAX_GAP_S]
    if gaps:
        a, b, live = max(gaps, key=lambda g: g[2])
        out.append(f"{len(gaps)} stretch(es) with over {MAX_GAP_S:g} s of signal but no beat (the longest "
                   f"{b - a:.1f} s from {a:.1f} s, {live:.0f} s of it not flat)")
    return out


def _live_seconds(signal: np.ndarray, fs: float, start_s: float, end_s: float) -> float:
    """Seconds of ``[start_s, end_s)`` where the signal is not flat, judged piece by piece."""
    signal = np.asarray(signal, np.float64).reshape(len(signal), -1)
    spread = np.nanstd(signal, axis=0)
    step = max(1, round(FLAT_PIECE_S * fs))
    lo, hi = int(start_s * fs), min(len(signal), int(np.ceil(end_s * fs)))
    live = 0
    for first in range(lo, hi, step):
        piece = signal[first:min(first + step, hi)]
        if not np.all(np.nanstd(piece, axis=0) <= FLAT_FRACTION * spread):
            live += len(piece)
    return live / fs


# ---- writing -------------------------------------------------------------------------------------

def beats_csv_name(record: str) -> str:
    return f"{record}_beats.csv"


def probs_npy_name(record: str) -> str:
    return f"{record}_probs.npy"


def write_detection(det: RecordDetection, out_dir, ext: str = DEFAULT_EXT) -> dict[str, Path]:
    """Writes ``<record>.<ext>`` (wfdb.wrann, symbol N for every beat), ``<record>_beats.csv`` and,
    when there is one, ``<record>_probs.npy``; every file appears complete or not at all."""
    import wfdb

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ann_path = out_dir / f"{det.record}.{ext}"
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{det.record}.", dir=out_dir))
    try:
        # wrann writes <record>.<ext> into write_dir: a private folder, then one rename
        if len(det.samples):
            wfdb.wrann(det.record, ext, det.samples, symbol=["N"] * len(det.samples), fs=det.fs,
                       write_dir=str(tmp_dir))
        else:  # wrann refuses an empty annotation list; an empty file is just the end marker
            (tmp_dir / f"{det.record}.{ext}").write_bytes(EMPTY_ANNOTATION_FILE)
        os.replace(tmp_dir / f"{det.record}.{ext}", ann_path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    files = {"annotations": ann_path, "beats": out_dir / beats_csv_name(det.record)}
    table = pd.DataFrame({"sample": det.samples, "time_s": np.round(det.samples / det.fs, 4),
                          "probability": np.round(det.scores.astype(np.float64), 4)})
    with atomic_path(files["beats"]) as tmp:
        table.to_csv(tmp, index=False)
    if det.prob is not None:
        files["probs"] = out_dir / probs_npy_name(det.record)
        with atomic_path(files["probs"]) as tmp, open(tmp, "wb") as fh:
            np.save(fh, det.prob.astype(np.float16))
    return files


def read_detection_meta(out_dir) -> dict:
    path = Path(out_dir) / DETECTIONS_META
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DetectionError(f"{path}: unreadable ({err})") from err


def write_detection_meta(out_dir, detector: Detector, settings: dict, per_record: list[dict]) -> Path:
    """``detections.json``: which model made the folder, with which settings, how fast, and what is
    doubtful: ``run_warnings`` (recorded when the run's threshold was tuned), each record's
    ``warnings`` and ``implausible_records`` (the records that have some)."""
    seconds = sum(r["compute_s"] for r in per_record)
    ecg_s = sum(r["duration_s"] for r in per_record)
    record = {"run": detector.name, "kind": detector.kind, "description": detector.description,
              "geometry": detector.geometry.to_dict() if detector.kind != "classical" else None,
              **detector.info, **settings, "run_warnings": list(detector.warnings),
              # None: the records were not checked (a caller that gave no per-record "warnings")
              "implausible_records": [r["record"] for r in per_record if r["warnings"]]
              if all("warnings" in r for r in per_record) else None,
              "records": per_record, "compute_s": round(seconds, 3),
              "ecg_s": round(ecg_s, 1), "real_time_factor": round(ecg_s / seconds, 1) if seconds else None}
    path = Path(out_dir) / DETECTIONS_META
    save_json(path, record)
    return path


def record_warnings(meta: dict) -> dict[str, list[str]]:
    """{record: its warnings, [] when plausible} of the records a detections.json says were checked
    (a folder written before the check, or by cross-validation, lists its records without any)."""
    return {str(r["record"]): [str(w) for w in r["warnings"] or []] for r in meta.get("records") or []
            if isinstance(r, dict) and "warnings" in r}


def check_detections(det_dir, input_dir, records, ext: str = DEFAULT_EXT) -> dict[str, list[str]]:
    """{record: ``detection_warnings``} of detection files already written (``<det_dir>/<record>.<ext>``),
    judged against the records' own signals in ``input_dir`` (every lead, at the record's own rate)."""
    from .ec57 import read_detections

    out = {}
    for name in records:
        folder, name = ecg.record_files(Path(input_dir) / str(name))
        header = _read_header(folder, name)
        record = ecg.read_record(folder / name, channels=tuple(range(header.n_sig)), fs=header.fs,
                                 require_annotations=False)
        out[name] = detection_warnings(read_detections(det_dir, name, ext), record.fs, record.n_samples,
                                       record.signal, record.fs)
    return out


IMPLAUSIBLE_COLUMN = "implausible"   # the flag evaluate_records.py and the app add to a per-record table
WARNINGS_COLUMN = "warnings"


def mark_implausible(table: pd.DataFrame, warned: dict[str, list[str]]) -> pd.DataFrame:
    """The per-record table with IMPLAUSIBLE_COLUMN (True where a record has warnings in ``warned``,
    as ``record_warnings`` or ``check_detections`` give them) and WARNINGS_COLUMN ('; '-joined)."""
    names = table["record"].astype(str) if "record" in table else pd.Series([], dtype=str)
    return table.assign(**{IMPLAUSIBLE_COLUMN: names.map(lambda r: bool(warned.get(r))).astype(bool),
                           WARNINGS_COLUMN: names.map(lambda r: "; ".join(warned.get(r, [])))})
