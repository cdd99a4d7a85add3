"""The classical baseline: wfdb's XQRS QRS detector run on each test window alone.

It sees what the models see: one window at the workspace's rate, nothing before or after it. It
reads lead 1 (channel 0, the first column of the series: MLII-like in svdb). Its detections are
saved in the inference output format in the run folder ``xqrs``: the "probabilities" are 1 at
detected beats and 0 elsewhere, and metadata.json says ``"scoring": "positions"`` so the
evaluation scores those positions directly (no peak picking; AUC-PR is NaN: a yes/no detector
gives no ranking to draw a precision-recall curve from).
"""

from __future__ import annotations

import json

import numpy as np

from tsad.core.fileio import save_json, sha256_file
from tsad.core.geometry import WindowGeometry, load_workspace_geometry
from tsad.core.paths import METADATA, Workspace
from tsad.data.splits import load_split
from tsad.scoring.outputs import has_outputs, load_outputs, save_outputs

XQRS_RUN = "xqrs"
XQRS_LEAD = 0
DEFAULT_FS = WindowGeometry().fs  # a workspace's own rate comes from its geometry


def detect_window(signal_1d: np.ndarray, fs: float = DEFAULT_FS) -> np.ndarray:
    """XQRS beat positions in one window. wfdb raises ValueError/IndexError on inputs too short
    to filter or learn from; such a window is reported as having no detection (counted by
    ``detect_windows``), never dropped."""
    from wfdb import processing

    x = np.asarray(signal_1d, np.float64)
    if x.ndim != 1:
        raise ValueError(f"detect_window expects one lead (1-d), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("detect_window: the window contains NaN or infinite samples")
    detector = processing.XQRS(sig=x, fs=fs)
    detector.detect(verbose=False)
    return np.asarray(detector.qrs_inds, np.int64)


def detect_windows(series: np.ndarray, lead: int = XQRS_LEAD, fs: float = DEFAULT_FS, progress: bool = True):
    """XQRS on every window of (N, L, C) ``series``: (list of position arrays, number of windows
    where wfdb failed and nothing was detected)."""
    from tqdm import tqdm

    positions, failures = [], 0
    for window in tqdm(series, desc="xqrs", disable=None if progress else True, leave=False):
        try:
            found = detect_window(window[:, lead], fs)
        except (ValueError, IndexError):
            failures += 1
            found = np.zeros(0, np.int64)
        positions.append(found[(found >= 0) & (found < len(window))])
    return positions, failures


def positions_to_binary(positions, length: int) -> np.ndarray:
    """(N, length) float32 with 1 at every detected position of each window."""
    out = np.zeros((len(positions), length), np.float32)
    for row, pos in enumerate(positions):
        out[row, pos] = 1.0
    return out


def _cached_is_current(run_dir, split_sha: str, fs: float) -> bool:
    meta_path = run_dir / METADATA
    if not (has_outputs(run_dir, XQRS_RUN) and meta_path.is_file()):
        return False
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError:
        return False
    return meta.get("test_npy_sha256") == split_sha and meta.get("fs") == fs


def ensure_xqrs_outputs(ws: Workspace, progress: bool = True, force: bool = False):
    """Runs XQRS on the test split once and caches it in ``<workspace>/xqrs``; reruns when the
    test split or the workspace's rate changed (both are kept in metadata.json). Returns the loaded
    outputs."""
    fs = load_workspace_geometry(ws).fs
    test = load_split(ws, "test", check_images=False)
    split_sha = sha256_file(ws.split_npy("test"))
    run_dir = ws.run_dir(XQRS_RUN)
    if force or not _cached_is_current(run_dir, split_sha, fs):
        positions, failures = detect_windows(test.series, fs=fs, progress=progress)
        probs = positions_to_binary(positions, test.series.shape[1])
        save_outputs(run_dir, XQRS_RUN, probs, test.labels, test.series, test.ids)
        save_json(run_dir / METADATA, {
            "kind": "detector", "detector": "wfdb.processing.XQRS", "lead": XQRS_LEAD, "fs": fs,
            "scoring": "positions", "windows": len(test), "windows_failed": failures,
            "test_npy_sha256": split_sha,
        })
    return load_outputs(run_dir, XQRS_RUN)
