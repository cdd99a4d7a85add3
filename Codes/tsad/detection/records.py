"""Whole-record beat detection: any WFDB record or signal, any sampling rate, any ``Predictor``.

A record is resampled to the model's rate, the model's window slides over the whole record with
overlap (a chunk at a time: ``tsad.detection.streaming``), the overlapping probabilities are combined with a
taper that trusts a window's middle more
than its edges (where most false beats of a window-wise model are made), beats are picked on the
combined probability, and their positions are mapped back to the record's own sample numbers. A
classical detector (``tsad.models.classical``) runs on one lead of the whole record (lead 0, or the first of ``leads``) at its own rate.
"""

from __future__ import annotations

import time

import numpy as np

from tsad.data import ecg
from tsad.detection.plausibility import detection_warnings
from tsad.detection.streaming import (
    DEFAULT_CHUNK_S,
    array_source,
    detect_stream,
    wfdb_source,
)
from tsad.models.predictor import DetectionError, Predictor, RecordDetection
from tsad.scoring.beats import DEFAULT_REFRACTORY_S

# ---- one record -----------------------------------------------------------------------------------

def detect_record(detector: Predictor, record_path, hop: int | None = None,
                  threshold: float | None = None, refractory_s: float = DEFAULT_REFRACTORY_S, *,
                  leads=None, chunk_s: float = DEFAULT_CHUNK_S, keep_prob: bool = True,
                  prob_sink=None, progress: bool = False, latency_s: float | None = None) -> RecordDetection:
    """Detects every beat of one WFDB record (annotations are not needed). ``threshold`` None takes
    the detector's (the run's tuned one). A learned model reads the record a chunk at a time
    (``tsad.detection.streaming.detect_stream``: ``leads``, ``chunk_s``, ``keep_prob``, ``prob_sink``,
    ``progress``, ``latency_s``); a classical detector reads the first of ``leads`` (default lead 0) whole."""
    started = time.perf_counter()
    if detector.lead_beats is not None:
        if latency_s is not None:
            raise DetectionError(f"{detector.name}: a classical detector reads the whole record; --latency-s "
                                 f"needs a learned model of bounded look-ahead")
        return _detect_classical(detector, record_path, started, int(leads[0]) if leads else 0)
    try:
        return detect_stream(detector, wfdb_source(record_path), leads=leads, hop=hop, threshold=threshold,
                             refractory_s=refractory_s, chunk_s=chunk_s, keep_prob=keep_prob,
                             prob_sink=prob_sink, progress=progress, latency_s=latency_s)
    except DetectionError as err:
        raise DetectionError(f"record {record_path}: {err}") from err


def detect_signal(detector: Predictor, signal, fs: float, name: str = "signal", hop: int | None = None,
                  threshold: float | None = None, refractory_s: float = DEFAULT_REFRACTORY_S, *,
                  leads=None, latency_s: float | None = None) -> RecordDetection:
    """Detects every beat of an ECG held in memory, as ``detect_record`` does for a file.

    Parameters
    ----------
    detector : Predictor
        From ``tsad.models.loader.load`` (a trained run, ``pretrained``, or a classical detector).
    signal : array_like, shape (n,) or (n, leads)
        The ECG in physical units (mV), at ``fs``. A learned model's input ``i`` reads column
        ``detector.geometry.channels[i]``; an input whose column is missing (a one-lead signal) is
        zero, as in training with lead dropout. A classical detector reads the first column (of ``leads``).
    fs : float
        Sampling rate of ``signal`` in Hz; it is resampled to the model's rate.
    name : str
        What to call the signal in messages and in the result.
    leads : sequence of int, optional
        The columns the model may read (default all).
    latency_s : float, optional
        Causal detection: every beat decided from at most this many seconds of signal after it
        (``tsad.detection.streaming.detect_stream``); a learned model of bounded look-ahead only.

    Returns
    -------
    RecordDetection
        Beat positions in ``signal``'s own sample numbers, their probabilities, the combined
        probability at the model's rate and the warnings of an implausible result.

    Raises
    ------
    DetectionError
        No usable lead, a signal shorter than one window, or a rate <= 0. Stretches without signal
        (NaN or infinite samples, or every lead flat for 1 s or more: ``ecg.find_gaps``) are not
        detected in; they are listed in the result's ``gaps``.
    """
    started = time.perf_counter()
    source = array_source(signal, fs, name)
    if detector.lead_beats is not None:
        if latency_s is not None:
            raise DetectionError(f"{detector.name}: a classical detector reads the whole signal; latency_s "
                                 f"needs a learned model of bounded look-ahead")
        first = int(leads[0]) if leads else 0
        if not 0 <= first < source.n_leads:
            raise DetectionError(f"{name}: has {source.n_leads} lead(s), lead {first} was asked for")
        lead = source.read(0, source.n_samples)[:, first:first + 1]
        return _classical_detection(detector, name, ecg.hold_through_gaps(lead), float(fs),
                                    ecg.find_gaps(lead, float(fs)), started)
    return detect_stream(detector, source, leads=leads, hop=hop, threshold=threshold, refractory_s=refractory_s,
                         latency_s=latency_s)


def outside_gaps(samples: np.ndarray, gaps) -> np.ndarray:
    """The beats that do not lie in a stretch without signal (``[start, end)`` pairs)."""
    keep = np.ones(len(samples), bool)
    for start, end in gaps:
        keep &= ~((samples >= start) & (samples < end))
    return samples[keep]


def _detect_classical(detector: Predictor, record_path, started: float, lead: int = 0) -> RecordDetection:
    folder, name = ecg.record_files(record_path)
    header = ecg.read_header(folder, name)
    record = ecg.read_record(folder / name, channels=(lead,), fs=header.fs, require_annotations=False,
                             allow_gaps=True)
    return _classical_detection(detector, record.name, record.signal, record.fs, record.gaps, started)


def _classical_detection(detector: Predictor, name: str, lead: np.ndarray, fs: float, gaps,
                         started: float) -> RecordDetection:
    """A classical detector on one lead (n, 1) at its own rate, gaps already held through: its beats
    outside the gaps, with the plausibility warnings."""
    samples = outside_gaps(detector.lead_beats(lead[:, 0], fs), gaps)
    return RecordDetection(name, fs, len(lead), samples, np.ones(len(samples), np.float32), None, fs,
                           time.perf_counter() - started, detection_warnings(samples, fs, len(lead), lead, fs),
                           list(gaps))
