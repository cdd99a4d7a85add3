"""Knowledge distillation: the KD loss and the cache of the frozen teacher's logits.

The teacher never changes during distillation, so its logits for the train and val windows
are computed once and stored in the workspace cache, keyed by the teacher's name and a hash
of its checkpoint file; every later epoch and every later run reads them from there.

Cache format (the contract with the teacher side), for a split ``s`` and teacher ``t``::

    <ws>/cache/teacher_logits/<t>_<sha256[:16]>_<s>.npy       float32 (N, 256) logits
    <ws>/cache/teacher_logits/<t>_<sha256[:16]>_<s>_ids.npy   int64 (N,) window ids, same order

Each entry is built under its lock (``<ws>/.locks/teacher_logits-<t>_<sha256[:16]>_<s>.lock``,
see ``tsad.core.locks``): several runs that need it at once wait for the first, then read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from tsad.core import locks, paths
from tsad.core.common import log
from tsad.core.fileio import load_npy, save_npy, sha256_file
from tsad.models.loader import run_logits

LogitsFn = Callable[..., np.ndarray]  # (run_dir, image_paths, batch_size=, device=, progress=) -> (N, L)


def kd_loss(student_logits: torch.Tensor, labels: torch.Tensor, teacher_logits: torch.Tensor,
            lam: float, temperature: float) -> torch.Tensor:
    """(1 - lam) * BCE(s, y) + lam * T^2 * BCE(s / T, sigmoid(t / T)), means over all steps.

    T^2 keeps the soft term's gradient on the scale of the hard term's as T grows.
    """
    hard = F.binary_cross_entropy_with_logits(student_logits, labels)
    if lam == 0:
        return hard
    t = float(temperature)
    soft = F.binary_cross_entropy_with_logits(student_logits / t, torch.sigmoid(teacher_logits / t))
    return (1.0 - lam) * hard + lam * t * t * soft


# ---- the teacher-logits cache ----------------------------------------------------------------

def teacher_checkpoint(ws: paths.Workspace, teacher: str) -> Path:
    path = ws.run_dir(teacher) / paths.TEACHER_CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"{path}: teacher checkpoint not found (train the teacher {teacher!r} first)")
    return path


def teacher_hash(ws: paths.Workspace, teacher: str) -> str:
    return sha256_file(teacher_checkpoint(ws, teacher))


def cache_paths(ws: paths.Workspace, teacher: str, checkpoint_sha256: str, split: str) -> tuple[Path, Path]:
    # a teacher run inside a sub-folder (a study's fold) keeps a flat cache name
    stem = f"{teacher.replace('/', '__')}_{checkpoint_sha256[:16]}_{split}"
    folder = ws.cache_dir / "teacher_logits"
    return folder / f"{stem}.npy", folder / f"{stem}_ids.npy"


def _default_logits_fn() -> LogitsFn:
    # The checkpoint's kind picks the teacher code (the VLM teacher, or a picture or context teacher);
    # transformers is imported only for the VLM teacher, which the plain student never needs.
    return run_logits


def _read_cache(logits_path: Path, ids_path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    if not (logits_path.is_file() and ids_path.is_file()):
        return None
    logits = load_npy(logits_path, expect_ndim=2)
    ids = load_npy(ids_path, expect_ndim=1).astype(np.int64)
    if len(ids) != len(logits) or len(np.unique(ids)) != len(ids):
        # Two files written one after the other: a run killed between them leaves a mismatch.
        log.warning("%s and %s disagree (%d logits, %d ids); rebuilding that cache",
                    logits_path, ids_path, len(logits), len(ids))
        return None
    return logits, ids


def cached_teacher_logits(ws: paths.Workspace, teacher: str, split: str, ids: np.ndarray,
                          image_paths: Sequence[Path], *, logits_fn: LogitsFn | None = None,
                          batch_size: int = 32, device=None, progress: bool = True,
                          checkpoint_sha256: str | None = None) -> np.ndarray:
    """The teacher's logits (N, L) float32 for the windows ``ids`` (in that order).

    Windows already in the cache are read; the others go to ``logits_fn`` (default
    ``tsad.models.loader.run_logits``) in one batched call and are appended to the cache. The
    entry's lock is held throughout, so runs started together compute each window once.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) != len(image_paths):
        raise ValueError(f"{split}: {len(ids)} window ids but {len(image_paths)} image paths")
    sha = checkpoint_sha256 or teacher_hash(ws, teacher)
    logits_path, ids_path = cache_paths(ws, teacher, sha, split)
    # One builder per entry: other runs wait here, then find their windows cached and only read.
    with locks.hold_group(ws.root, f"teacher_logits-{logits_path.stem}",
                          f"the teacher-logit cache {logits_path.name}", wait=True):
        cached = _read_cache(logits_path, ids_path)
        cached_logits, cached_ids = cached if cached else (None, np.empty(0, np.int64))

        missing = ~np.isin(ids, cached_ids)
        if missing.any():
            todo = [Path(p) for p, m in zip(image_paths, missing) if m]
            absent = [p for p in todo if not p.is_file()]
            if absent:
                raise FileNotFoundError(f"{absent[0]}: image missing ({len(absent)} of {len(todo)} windows "
                                        f"need teacher logits); rerun data_split.py")
            log.info("teacher %s: computing logits for %d %s windows (cache: %s)", teacher, len(todo), split,
                     logits_path)
            fn = logits_fn or _default_logits_fn()
            fresh = np.asarray(fn(ws.run_dir(teacher), todo, batch_size=batch_size, device=device,
                                  progress=progress), dtype=np.float32)
            if fresh.ndim != 2 or len(fresh) != len(todo):
                raise ValueError(f"teacher {teacher}: expected ({len(todo)}, L) logits, got {fresh.shape}")
            if cached_logits is not None and cached_logits.shape[1] != fresh.shape[1]:
                raise ValueError(f"{logits_path}: cached logits have {cached_logits.shape[1]} steps, "
                                 f"the teacher now gives {fresh.shape[1]}")
            new_ids = np.concatenate([cached_ids, ids[missing]])
            new_logits = fresh if cached_logits is None else np.concatenate([cached_logits, fresh])
            # Logits first, ids last: a kill in between is caught by the length check on reading.
            save_npy(logits_path, new_logits)
            save_npy(ids_path, new_ids)
            cached_logits, cached_ids = new_logits, new_ids

    order = {int(w): i for i, w in enumerate(cached_ids)}
    return cached_logits[[order[int(w)] for w in ids]].astype(np.float32, copy=False)
