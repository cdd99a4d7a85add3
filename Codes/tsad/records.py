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
                        threshold=tuned_threshold(run_dir))
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
                        info={"tiny_backbone": tiny}, threshold=tuned_threshold(run_dir))
    raise DetectionError(f"{run_dir}: no trained model ({paths.STUDENT_CHECKPOINT} or "
                         f"{paths.TEACHER_CHECKPOINT}); train the run first, or use {' / '.join(CLASSICAL_DETECTORS)}")


# ---- the threshold, tuned on validation records ----------------------------------------------------

THRESHOLD_FILE = "detection.json"
THRESHOLD_GRID = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2))


def tuned_threshold(run_dir) -> float:
    """The threshold tuned for the run (``<run>/detection.json``), else DEFAULT_THRESHOLD."""
    path = Path(run_dir) / THRESHOLD_FILE
    if not path.is_file():
        return DEFAULT_THRESHOLD
    try:
        return float(json.loads(path.read_text())["threshold"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise DetectionError(f"{path}: unreadable tuned threshold ({err})") from err


def tune_threshold(detector: Detector, record_paths, grid=THRESHOLD_GRID, hop: int | None = None,
                   refractory_s: float = DEFAULT_REFRACTORY_S) -> dict:
    """The threshold that maximises the gross F1 at 150 ms on whole validation records (records the
    model did not train on, and never the test records). Returns the choice and the F1 per threshold."""
    from . import ec57

    counts = np.zeros((len(grid), 3), np.int64)
    for path in record_paths:
        det = detect_record(detector, path, hop=hop, threshold=float(min(grid)), refractory_s=refractory_s)
        ref, fs, _ = ec57.reference_beats(path)
        scale = det.fs / det.model_fs
        for k, thr in enumerate(grid):
            beats = pick_beats(det.prob, det.model_fs, float(thr), refractory_s)
            samples = np.round(beats * scale).astype(np.int64)
            m = ec57.match_beats(ref, samples, ec57.tolerance_samples(fs))
            counts[k] += (m.tp, m.fp, m.fn)
    f1 = 2 * counts[:, 0] / np.maximum(2 * counts[:, 0] + counts[:, 1] + counts[:, 2], 1)
    best = int(np.argmax(f1))
    return {"threshold": float(grid[best]), "val_F1": float(f1[best]), "tuned_on": "whole validation records",
            "records": [ecg.record_files(p)[1] for p in record_paths],
            "grid": [float(g) for g in grid], "F1": [round(float(x), 5) for x in f1]}


def tune_threshold_windows(probs: np.ndarray, labels: np.ndarray, fs: float, grid=THRESHOLD_GRID,
                           refractory_s: float = DEFAULT_REFRACTORY_S) -> dict:
    """The threshold that maximises the pooled F1 at 150 ms over validation *windows* (each window
    alone), for runs whose validation set is windows rather than whole records."""
    from . import ec57

    tol = ec57.tolerance_samples(fs)
    refs = [np.flatnonzero(row > 0.5) for row in labels]
    counts = np.zeros((len(grid), 3), np.int64)
    for k, thr in enumerate(grid):
        for p, ref in zip(probs, refs):
            m = ec57.match_beats(ref, pick_beats(p, fs, float(thr), refractory_s), tol)
            counts[k] += (m.tp, m.fp, m.fn)
    f1 = 2 * counts[:, 0] / np.maximum(2 * counts[:, 0] + counts[:, 1] + counts[:, 2], 1)
    best = int(np.argmax(f1))
    return {"threshold": float(grid[best]), "val_F1": float(f1[best]), "tuned_on": f"{len(probs)} validation windows",
            "grid": [float(g) for g in grid], "F1": [round(float(x), 5) for x in f1]}


def save_tuned_threshold(run_dir, tuned: dict) -> Path:
    path = Path(run_dir) / THRESHOLD_FILE
    save_json(path, tuned)
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

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs


def detect_record(detector: Detector, record_path, hop: int | None = None,
                  threshold: float | None = None, refractory_s: float = DEFAULT_REFRACTORY_S) -> RecordDetection:
    """Detects every beat of one WFDB record (annotations are not needed). ``threshold`` None takes
    the detector's (the run's tuned one)."""
    threshold = detector.threshold if threshold is None else threshold
    started = time.perf_counter()
    if detector.kind == "classical":
        return _detect_classical(detector, record_path, started)
    g = detector.geometry
    record = ecg.read_record(record_path, channels=g.channels, fs=g.fs, require_annotations=False)
    hop = hop or g.samples // 2
    try:
        starts = window_starts(record.n_samples, g.samples, hop)
    except DetectionError as err:
        raise DetectionError(f"record {record_path}: {err}") from err
    windows = record.signal[starts[:, None] + np.arange(g.samples)[None, :]]
    prob = stitch(detector.window_probs(windows), starts, record.n_samples)
    beats = pick_beats(prob, g.fs, threshold, refractory_s)
    scale = record.source_fs / g.fs
    n_source = int(round(record.n_samples * scale))
    samples = np.clip(np.round(beats * scale).astype(np.int64), 0, max(n_source - 1, 0))
    return RecordDetection(record.name, record.source_fs, n_source, samples, prob[beats], prob, g.fs,
                           time.perf_counter() - started)


def _detect_classical(detector: Detector, record_path, started: float) -> RecordDetection:
    folder, name = ecg.record_files(record_path)
    header = _read_header(folder, name)
    record = ecg.read_record(folder / name, channels=(0,), fs=header.fs, require_annotations=False)
    sig = record.signal[:, 0].astype(np.float64)
    entry = CLASSICAL_DETECTORS[detector.name]
    try:
        samples = entry.detect(sig, record.fs)
    except ModuleNotFoundError as err:
        raise DetectionError(f"{detector.name} needs the package {entry.package} ({err.name} is not "
                             "installed): pip install -r requirement.txt") from err
    samples = np.unique(np.asarray(samples, np.int64))
    samples = samples[(samples >= 0) & (samples < record.n_samples)]
    return RecordDetection(record.name, record.fs, record.n_samples, samples, np.ones(len(samples), np.float32),
                           None, record.fs, time.perf_counter() - started)


def _read_header(folder: Path, name: str):
    import wfdb

    if not (folder / f"{name}.hea").is_file():
        raise ecg.RecordError(f"record {folder / name}: header file {name}.hea not found")
    try:
        return wfdb.rdheader(str(folder / name))
    except Exception as err:  # wfdb raises ValueError, IndexError, ... on a malformed header
        raise ecg.RecordError(f"record {folder / name}: unreadable header ({err})") from err


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
    """``detections.json``: which model made the folder, with which settings, and how fast."""
    seconds = sum(r["compute_s"] for r in per_record)
    ecg_s = sum(r["duration_s"] for r in per_record)
    record = {"run": detector.name, "kind": detector.kind, "description": detector.description,
              "geometry": detector.geometry.to_dict() if detector.kind != "classical" else None,
              **detector.info, **settings, "records": per_record, "compute_s": round(seconds, 3),
              "ecg_s": round(ecg_s, 1), "real_time_factor": round(ecg_s / seconds, 1) if seconds else None}
    path = Path(out_dir) / DETECTIONS_META
    save_json(path, record)
    return path
