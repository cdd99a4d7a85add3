"""Training and inference runs of the student, shared by student_train.py, kd_train.py and
student_infer.py (the scripts only parse flags). lam = 0 is the plain student."""

from __future__ import annotations

import argparse
from dataclasses import asdict

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from . import paths
from .common import get_device, log
from .distill import LogitsFn, cached_teacher_logits, kd_loss, teacher_hash
from .outputs import save_outputs
from .splits import SplitData, load_split
from .student import KIND, RNNAnomalyDetector, StudentConfig, load_student, student_probs
from .train import TrainConfig, fit


class WindowDataset(Dataset):
    """Series (L, C), labels (L,) and, for distillation, the teacher's logits (L,)."""

    def __init__(self, series: np.ndarray, labels: np.ndarray, teacher_logits: np.ndarray | None = None):
        if teacher_logits is not None and teacher_logits.shape != labels.shape:
            raise ValueError(f"teacher logits {teacher_logits.shape} do not match labels {labels.shape}")
        self.series = torch.from_numpy(np.ascontiguousarray(series, dtype=np.float32))
        self.labels = torch.from_numpy(np.ascontiguousarray(labels, dtype=np.float32))
        self.teacher = None if teacher_logits is None else torch.from_numpy(
            np.ascontiguousarray(teacher_logits, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        item = {"x": self.series[i], "y": self.labels[i]}
        if self.teacher is not None:
            item["t"] = self.teacher[i]
        return item


def bce_loss(model, batch) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(model(batch["x"]).float(), batch["y"])


def make_kd_loss(lam: float, temperature: float):
    def loss_fn(model, batch) -> torch.Tensor:
        return kd_loss(model(batch["x"]).float(), batch["y"], batch["t"], lam, temperature)
    return loss_fn


def add_data_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("data")
    g.add_argument("--limit-train", type=int, default=None, help="use only the first N train windows")
    g.add_argument("--limit-val", type=int, default=None, help="use only the first N val windows")


def add_kd_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("distillation")
    g.add_argument("--lam", type=float, default=0.5, help="weight of the teacher term (0 = plain student)")
    g.add_argument("--teacher", default=paths.teacher_run_name(1.0),
                   help="teacher run folder in the workspace (vlm_0.5, vlm_1)")
    g.add_argument("--temperature", type=float, default=2.0, help="distillation temperature T")
    g.add_argument("--teacher-batch-size", type=int, default=32, help="windows per teacher batch (cache build)")


def train_run(ws: paths.Workspace, cfg: TrainConfig, *, lam: float = 0.0, teacher: str | None = None,
              temperature: float = 2.0, limit_train: int | None = None, limit_val: int | None = None,
              resume: bool = False, run_name: str | None = None, teacher_batch_size: int = 32,
              logits_fn: LogitsFn | None = None, model_config: StudentConfig | None = None) -> dict:
    """Trains a student (lam = 0) or a distilled student into its run folder; returns fit's history."""
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"--lam must lie in [0, 1], got {lam}")
    if lam > 0 and not teacher:
        raise ValueError("distillation (lam > 0) needs --teacher")
    if temperature <= 0:
        raise ValueError(f"--temperature must be positive, got {temperature}")
    run_name = run_name or (paths.STUDENT_RUN if lam == 0 else paths.kd_run_name(lam, teacher))
    train = load_split(ws, "train", check_images=False).subset(limit_train)
    val = load_split(ws, "val", check_images=False).subset(limit_val)
    extra = {"lam": float(lam), "teacher": None, "temperature": None, "teacher_checkpoint_sha256": None,
             "limit_train": limit_train, "limit_val": limit_val, "n_train": len(train), "n_val": len(val)}
    if lam == 0:
        datasets = [WindowDataset(d.series, d.labels) for d in (train, val)]
        loss_fn = bce_loss
    else:
        sha = teacher_hash(ws, teacher)
        device = None if cfg.device == "auto" else cfg.device
        datasets = [WindowDataset(d.series, d.labels, _teacher_logits(ws, teacher, d, sha, logits_fn,
                                                                      teacher_batch_size, device))
                    for d in (train, val)]
        loss_fn = make_kd_loss(lam, temperature)
        extra.update(teacher=teacher, temperature=float(temperature), teacher_checkpoint_sha256=sha)
    model_config = model_config or StudentConfig()
    log.info("%s: %d train and %d val windows, lam %g", run_name, len(train), len(val), lam)
    return fit(RNNAnomalyDetector(model_config), *datasets, loss_fn, cfg, ws.run_dir(run_name), kind=KIND,
               model_config=asdict(model_config), best_name=paths.STUDENT_CHECKPOINT, resume=resume,
               extra=extra)


def _teacher_logits(ws, teacher, data: SplitData, sha, logits_fn, batch_size, device) -> np.ndarray:
    return cached_teacher_logits(ws, teacher, data.name, data.ids, data.image_paths, logits_fn=logits_fn,
                                 batch_size=batch_size, device=device, checkpoint_sha256=sha)


def infer_run(ws: paths.Workspace, run: str, *, batch_size: int = 256, device: str = "auto",
              limit: int | None = None) -> dict:
    """Scores every test window with the run's best student and writes the output files."""
    model = load_student(ws.run_dir(run), get_device(device))
    test = load_split(ws, "test", check_images=False).subset(limit)
    probs = student_probs(model, test.series, batch_size=batch_size, progress=True)
    files = save_outputs(ws.run_dir(run), run, probs, test.labels, test.series, test.ids)
    log.info("%s: scored %d test windows -> %s", run, len(test), files["probs"])
    return files
