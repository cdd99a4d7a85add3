"""Test helpers for distillation: the real tiny teacher trained for a few steps, and, for the cache's
own bookkeeping, a stand-in teacher that counts the windows it is asked for and a stand-in
checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def train_tiny_teacher(ws, alpha: float = 1.0, seed: int = 42, epochs: int = 1) -> Path:
    """Trains the tiny-backbone teacher on 6 train / 3 val windows (about a second); returns its
    best checkpoint. Another seed gives other weights, as a retrained teacher would."""
    from tsad.core import paths
    from tsad.training import vlm_teacher

    vlm_teacher.main(["--workspace", str(ws.root), "--model", "tiny", "--epochs", str(epochs),
                        "--limit-train", "6", "--limit-val", "3", "--batch-size", "3", "--warmup-steps", "0",
                        "--lr", "1e-3", "--device", "cpu", "--seed", str(seed)], run=paths.teacher_run_name(alpha))
    return ws.run_dir(paths.teacher_run_name(alpha)) / paths.TEACHER_CHECKPOINT


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
    """A loadable teacher checkpoint without weights: the cache hashes it (``content`` changes the
    hash) and kd_train reads only its header (kind and geometry); the stand-in teacher gives the logits."""
    import torch

    from tsad.core.geometry import WindowGeometry
    from tsad.models.kinds import VLM_TEACHER

    path = ws.run_dir(teacher) / "smolvlm_best.pth"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"kind": VLM_TEACHER, "model": {}, "geometry": WindowGeometry().to_dict(),
                "content": content.decode()}, path)
    return path
