"""The classical detectors, one function each and one table (``CLASSICAL_DETECTORS``): wfdb's XQRS and
GQRS, NeuroKit2's and SleepECG's. Each runs on one lead of a whole record (lead 0, the first, unless
``leads`` names another) at its own rate, as they are meant to, and they are the baselines. Adding one is a function and an entry of the table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tsad.core.geometry import WindowGeometry
from tsad.models.kinds import CLASSICAL
from tsad.models.predictor import DetectionError, Predictor

# Each takes one lead of a whole record (float64, physical units) and its rate, and returns the sample
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


def classical_detector(name: str) -> Predictor:
    """The classical detector ``name`` (a key of ``CLASSICAL_DETECTORS``) as a Predictor whose
    ``lead_beats`` runs it on one whole lead at the record's own rate.

    Raises
    ------
    DetectionError
        When ``name`` is not in the table.
    """
    if name not in CLASSICAL_DETECTORS:
        raise DetectionError(f"unknown classical detector {name!r}; choose one of "
                             f"{', '.join(CLASSICAL_DETECTORS)}")
    entry = CLASSICAL_DETECTORS[name]

    def lead_beats(lead: np.ndarray, fs: float) -> np.ndarray:
        """Its beats on one lead at its own rate: sorted, unique, inside the signal."""
        try:
            samples = entry.detect(np.asarray(lead, np.float64), fs)
        except ModuleNotFoundError as err:
            raise DetectionError(f"{name} needs the package {entry.package} ({err.name} is not "
                                 "installed): pip install -r requirement.txt") from err
        samples = np.unique(np.asarray(samples, np.int64))
        return samples[(samples >= 0) & (samples < len(lead))]

    # the classical detectors read one whole lead at the record's own rate; fs here is only a placeholder
    return Predictor(name, CLASSICAL, WindowGeometry(channels=(0,)), lead_beats=lead_beats,
                     description=f"{entry.description} on one lead of the whole record (lead 0 unless --leads names another)")
