"""Whole-record beat detection: any WFDB record or signal, any sampling rate, any ``Predictor``.

A record is resampled to the model's rate, the model's window slides over the whole record with
overlap, the overlapping probabilities are combined with a taper that trusts a window's middle more
than its edges (where most false beats of a window-wise model are made), beats are picked on the
combined probability, and their positions are mapped back to the record's own sample numbers. A
classical detector (``tsad.classical``) runs on lead 1 of the whole record at its own rate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import ecg
from .beats import DEFAULT_REFRACTORY_S, pick_beats
from .classical import classical_samples
from .plausibility import detection_warnings
from .predictor import DetectionError, Predictor

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
    gaps: list[tuple[int, int]] = field(default_factory=list)   # [start, end) without signal, own rate

    @property
    def gap_s(self) -> float:
        return sum(end - start for start, end in self.gaps) / self.fs

    @property
    def implausible(self) -> bool:
        return bool(self.warnings)

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs


def detect_record(detector: Predictor, record_path, hop: int | None = None,
                  threshold: float | None = None, refractory_s: float = DEFAULT_REFRACTORY_S) -> RecordDetection:
    """Detects every beat of one WFDB record (annotations are not needed). ``threshold`` None takes
    the detector's (the run's tuned one)."""
    started = time.perf_counter()
    if detector.kind == "classical":
        return _detect_classical(detector, record_path, started)
    g = detector.geometry
    record = ecg.read_record(record_path, channels=g.channels, fs=g.fs, require_annotations=False,
                             allow_gaps=True)
    n_source = round(record.n_samples * record.source_fs / g.fs)
    try:
        return _detect_at_model_rate(detector, record.name, record.signal, record.source_fs, n_source,
                                     hop, threshold, refractory_s, started, record.gaps)
    except DetectionError as err:
        raise DetectionError(f"record {record_path}: {err}") from err


def detect_signal(detector: Predictor, signal, fs: float, name: str = "signal", hop: int | None = None,
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
        Too few leads, a signal shorter than one window, or a rate <= 0. Stretches without signal
        (NaN or infinite samples, or every lead flat for 1 s or more: ``ecg.find_gaps``) are not
        detected in; they are listed in the result's ``gaps``.
    """
    started = time.perf_counter()
    x = np.asarray(signal, np.float64)
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or not len(x):
        raise DetectionError(f"{name}: expected an array of shape (n,) or (n, leads), got {np.shape(signal)}")
    if not fs or fs <= 0:
        raise DetectionError(f"{name}: the sampling rate must be positive, got {fs}")
    if detector.kind == "classical":
        lead = x[:, :1]
        return _classical_detection(detector, name, ecg.hold_through_gaps(lead), float(fs),
                                    ecg.find_gaps(lead, float(fs)), started)
    g = detector.geometry
    if max(g.channels) >= x.shape[1]:
        raise DetectionError(f"{name}: {x.shape[1]} lead(s), the model reads leads {list(g.channels)}")
    x = x[:, list(g.channels)]
    gaps = ecg.find_gaps(x, float(fs))
    resampled = ecg.resample_series(ecg.hold_through_gaps(x), float(fs), g.fs)
    return _detect_at_model_rate(detector, name, resampled, float(fs), len(x), hop, threshold, refractory_s,
                                 started, gaps)


def outside_gaps(samples: np.ndarray, gaps) -> np.ndarray:
    """The beats that do not lie in a stretch without signal (``[start, end)`` pairs)."""
    keep = np.ones(len(samples), bool)
    for start, end in gaps:
        keep &= ~((samples >= start) & (samples < end))
    return samples[keep]


def _detect_at_model_rate(detector: Predictor, name: str, signal: np.ndarray, source_fs: float, n_source: int,
                          hop: int | None, threshold: float | None, refractory_s: float,
                          started: float, gaps=()) -> RecordDetection:
    """The learned detection proper, on a signal already at the model's rate and leads: windows every
    ``hop``, tapered stitching, peaks above the threshold, positions back at ``source_fs``. The
    probability is 0 inside ``gaps`` (at ``source_fs``): no beat is found where there is no signal."""
    threshold = detector.threshold if threshold is None else threshold
    g = detector.geometry
    n = len(signal)
    starts = window_starts(n, g.samples, hop or g.samples // 2)
    prob = stitch(detector.signal_probs(signal, starts), starts, n)
    to_model = g.fs / source_fs
    for start, end in gaps:
        prob[int(np.floor(start * to_model)):int(np.ceil(end * to_model))] = 0.0
    beats = pick_beats(prob, g.fs, threshold, refractory_s)
    scale = source_fs / g.fs
    samples = np.clip(np.round(beats * scale).astype(np.int64), 0, max(n_source - 1, 0))
    warnings = detection_warnings(samples, source_fs, n_source, signal, g.fs)
    if not len(samples):   # why: the model's probability never rose above the threshold
        warnings[0] += (f" (the model's probability peaks at {float(prob.max()):.3g}, under the "
                        f"threshold {threshold:g}: a model that has not learned, see its detection.json, or "
                        f"a threshold too high for it)")
    return RecordDetection(name, source_fs, n_source, samples, prob[beats], prob, g.fs,
                           time.perf_counter() - started, warnings, list(gaps))


def _detect_classical(detector: Predictor, record_path, started: float) -> RecordDetection:
    folder, name = ecg.record_files(record_path)
    header = read_header(folder, name)
    record = ecg.read_record(folder / name, channels=(0,), fs=header.fs, require_annotations=False,
                             allow_gaps=True)
    return _classical_detection(detector, record.name, record.signal, record.fs, record.gaps, started)


def _classical_detection(detector: Predictor, name: str, lead: np.ndarray, fs: float, gaps,
                         started: float) -> RecordDetection:
    """A classical detector on one lead (n, 1) at its own rate, gaps already held through: its beats
    outside the gaps, with the plausibility warnings."""
    samples = outside_gaps(classical_samples(detector, lead[:, 0], fs), gaps)
    return RecordDetection(name, fs, len(lead), samples, np.ones(len(samples), np.float32), None, fs,
                           time.perf_counter() - started, detection_warnings(samples, fs, len(lead), lead, fs),
                           list(gaps))



def read_header(folder: Path, name: str):
    import wfdb

    if not (folder / f"{name}.hea").is_file():
        raise ecg.RecordError(f"record {folder / name}: header file {name}.hea not found")
    try:
        return wfdb.rdheader(str(folder / name))
    except Exception as err:  # wfdb raises ValueError, IndexError, ... on a malformed header
        raise ecg.RecordError(f"record {folder / name}: unreadable header ({err})") from err

