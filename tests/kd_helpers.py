"""Test helpers for the student: a stand-in teacher that counts the windows it is asked for,
a stand-in teacher checkpoint, and a one-thread fixture."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def logits_for_id(window_id: int, length: int = 256) -> np.ndarray:
    """A distinct, deterministic row per window, so the cache's ordering can be checked."""
    return (np.sin(np.arange(length) / 9.0 + window_id) * 3.0).astype(np.float32)


class StandInTeacher:
    def __init__(self):
        self.calls = 0
        self.windows = []

    def __call__(self, run_dir, image_paths, batch_size=32, device=None, progress=True):
        self.calls += 1
        ids = [int(Path(p).stem.rsplit("_", 1)[1]) for p in image_paths]
        self.windows.extend(ids)
        return np.stack([logits_for_id(i) for i in ids])


def write_teacher_checkpoint(ws, teacher: str = "vlm_1", content: bytes = b"stand-in teacher") -> Path:
    """Only hashed by the cache, never loaded: any bytes will do."""
    path = ws.run_dir(teacher) / "smolvlm_best.pth"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path
