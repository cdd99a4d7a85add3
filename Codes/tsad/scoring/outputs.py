"""The inference output format: the contract between the models and the evaluation.

In each run folder, for a tag (the run's name: ``vlm_0.5``, ``LSTM_train``, ``KD_train_1_vlm_1``):
``all_probs_<tag>.npy`` (N, 256) float32 probabilities, ``all_labels_<tag>.npy`` (N, 256),
``all_ts_<tag>.npy`` (N, 256, 2) the input series, ``ids_<tag>.npy`` (N,) window ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tsad.core.fileio import load_npy, save_npy

FIELDS = ("probs", "labels", "ts", "ids")


def output_paths(run_dir, tag: str) -> dict[str, Path]:
    """The four output files of a run folder for its tag."""
    run_dir = Path(run_dir)
    names = {"probs": f"all_probs_{tag}.npy", "labels": f"all_labels_{tag}.npy",
             "ts": f"all_ts_{tag}.npy", "ids": f"ids_{tag}.npy"}
    return {k: run_dir / v for k, v in names.items()}


@dataclass
class InferenceOutputs:
    """A run's probabilities, labels, input series and window ids, one row per window."""
    tag: str
    probs: np.ndarray
    labels: np.ndarray
    ts: np.ndarray
    ids: np.ndarray

    def validate(self, where: str = "") -> "InferenceOutputs":
        """Returns itself; raises ValueError (naming ``where``) when the arrays' shapes do not agree."""
        n = len(self.ids)
        where = where or self.tag
        if self.probs.ndim != 2 or self.labels.shape != self.probs.shape:
            raise ValueError(f"{where}: probs {self.probs.shape} and labels {self.labels.shape} differ")
        if len(self.probs) != n or len(self.ts) != n:
            raise ValueError(f"{where}: {n} ids, {len(self.probs)} probability rows, {len(self.ts)} series")
        if not np.isfinite(self.probs).all() or self.probs.min() < 0 or self.probs.max() > 1:
            raise ValueError(f"{where}: probabilities outside [0, 1] or not finite")
        return self


def save_outputs(run_dir, tag: str, probs, labels, ts, ids) -> dict[str, Path]:
    """Writes a run's inference outputs atomically; returns their paths."""
    out = InferenceOutputs(tag, np.asarray(probs, np.float32), np.asarray(labels, np.float32),
                           np.asarray(ts, np.float32), np.asarray(ids, np.int64)).validate()
    files = output_paths(run_dir, tag)
    for key in FIELDS:
        save_npy(files[key], getattr(out, key))
    return files


def has_outputs(run_dir, tag: str) -> bool:
    """All four output files are there."""
    return all(p.is_file() for p in output_paths(run_dir, tag).values())


def load_outputs(run_dir, tag: str) -> InferenceOutputs:
    """A run's inference outputs, checked for consistent shapes."""
    files = output_paths(run_dir, tag)
    arrays = {k: load_npy(p) for k, p in files.items()}
    return InferenceOutputs(tag, **arrays).validate(str(Path(run_dir) / tag))
