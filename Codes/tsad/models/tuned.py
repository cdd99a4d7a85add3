"""A run's tuned detection threshold, read from ``<run>/detection.json``.

``tsad.detection.thresholds`` tunes and writes it; loading a model only reads it, so reading
lives here, below the loader.
"""

from __future__ import annotations

import json
from pathlib import Path

from tsad.core.paths import THRESHOLD_FILE
from tsad.models.predictor import DetectionError
from tsad.scoring.beats import CAUSAL_WAIT_S, DEFAULT_THRESHOLD


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


def tuned_causal_wait_s(run_dir) -> float:
    """How long causal picking waits after a peak for the run (``detection.json``'s ``causal_wait_s``,
    written where a study chose another than the default), else CAUSAL_WAIT_S."""
    return float(read_tuned(run_dir).get("causal_wait_s", CAUSAL_WAIT_S))


def tuned_warnings(run_dir) -> list[str]:
    """The warnings recorded when the run's threshold was tuned (``detection.json``), else []."""
    return [str(w) for w in read_tuned(run_dir).get("warnings") or []]
