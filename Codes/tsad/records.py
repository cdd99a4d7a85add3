"""Whole-record beat detection, in one name: any WFDB record, any sampling rate, any trained model.

The work is done in modules by job, re-exported here under the names scripts and tests use:

- ``tsad.models.predictor``       the ``Predictor`` (alias ``Detector``) every model becomes, ``DetectionError``
- ``tsad.models.loader``      the one model loader (``load``) and its table of checkpoint kinds
- ``tsad.models.classical``       the classical detectors (``CLASSICAL_DETECTORS``, one table)
- ``tsad.detection.records``       windows, stitching, ``detect_record``, ``detect_signal``
- ``tsad.detection.thresholds``      threshold candidates, the balanced F1, tuning, ``detection.json``
- ``tsad.detection.plausibility``    ``detection_warnings``: is a detection plausible for a heart?
- ``tsad.detection.folders`` writing and reading detection folders
"""

from __future__ import annotations

from tsad.core import paths
from tsad.scoring.beats import DEFAULT_REFRACTORY_S, DEFAULT_THRESHOLD, pick_beats  # noqa: F401
from tsad.models.classical import (
    CLASSICAL_DETECTORS,
    ClassicalDetector,
    classical_detector,
    classical_samples,
)  # noqa: F401
from tsad.detection.records import (
    RecordDetection,
    detect_record,
    detect_signal,
    read_header,
    stitch,
    taper,
    window_starts,
)
from tsad.detection.folders import (
    DEFAULT_EXT,
    DETECTIONS_DIR,
    DETECTIONS_META,
    EMPTY_ANNOTATION_FILE,
    beats_csv_name,
    check_detections,
    probs_npy_name,
    read_detection_meta,
    record_warnings,
    write_detection,
    write_detection_meta,
)
from tsad.detection.plausibility import (
    FLAT_FRACTION,
    FLAT_PIECE_S,
    IMPLAUSIBLE_COLUMN,
    MAX_GAP_S,
    MAX_RATE_BPM,
    MIN_RATE_BPM,
    WARNINGS_COLUMN,
    detection_warnings,
    mark_implausible,
)
from tsad.models.predictor import DetectionError, Detector, Predictor  # noqa: F401
from tsad.detection.thresholds import (
    MIN_CLASS_BEATS,
    MIN_VALIDATION_F1,
    THRESHOLD_CANDIDATES,
    THRESHOLD_FILE,
    THRESHOLD_FLOOR,
    THRESHOLD_GRID,
    THRESHOLD_LOW_STEPS,
    TRAINING_HINT,
    balanced_f1,
    choose_threshold,
    pooled_f1,
    read_tuned,
    save_tuned_threshold,
    threshold_candidates,
    threshold_warnings,
    tune_threshold,
    tune_threshold_windows,
    tuned_threshold,
    tuned_warnings,
)


def load_detector(ws: paths.Workspace, run: str, device: str = "auto", batch_size: int = 64) -> Predictor:
    """The Predictor of a trained run of ``ws`` (any kind in ``tsad.models.loader.MODEL_LOADERS``), the
    shipped model, a run folder's path, or a classical detector: ``tsad.models.loader.load``."""
    from tsad.models.loader import load

    return load(run, ws, device=device, batch_size=batch_size)
