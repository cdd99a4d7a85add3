"""What every teacher trained here shares: its settings (``TeacherConfig``, stored in its checkpoint),
the entry a kind has in the table (``TeacherKind``; the table ``TEACHER_KINDS`` is filled in
``tsad.models.teachers``), and small helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset


@dataclass(frozen=True)
class TeacherKind:
    """An entry of ``TEACHER_KINDS``: everything that differs between teacher kinds.

    build(config) -> nn.Module                         the untrained model
    dataset(config, split_data, ws_root) -> Dataset    training inputs ("x") with labels ("y")
    inputs(run_dir, config, image_paths, ids) -> Dataset   inputs of the windows whose plots are given
    add_args(parser)                                   the training script's own flags, named in ``settings``
    predictor_parts(model, config, run_dir, batch_size) -> dict   the Predictor's window_probs, or
        stretch_probs (a model reading beyond its window), and image_probs (a model reading plots)
    """

    name: str
    note: str                      # what its rows say in tables
    build: Callable[..., nn.Module]
    dataset: Callable[..., Dataset]
    inputs: Callable[..., Dataset]
    add_args: Callable
    settings: tuple[str, ...]
    reads_plots: bool              # training needs the plot PNGs
    train_defaults: dict = field(default_factory=dict)
    predictor_parts: Callable[..., dict] | None = None


# name -> TeacherKind; its entries are listed in tsad/teachers/__init__.py
TEACHER_KINDS: dict[str, TeacherKind] = {}


@dataclass
class TeacherConfig:
    """Every setting of a teacher trained here; stored in its checkpoint."""

    type: str = "picture"
    samples: int = 256          # window length (the logits' length)
    leads: int = 2
    # picture
    image_size: int = 512
    pool: int = 4               # average the image down this much at once
    channels: int = 32
    # context
    context: int = 1            # windows on each side (1: 6 s around a 2-s window)
    width: int = 64
    depth: int = 7
    kernel_size: int = 5
    dropout: float = 0.1
    # ensemble
    members: int = 0            # students averaged
    member: dict | None = None  # their StudentConfig

    def __post_init__(self):
        if self.type not in TEACHER_KINDS:
            raise ValueError(f"teacher type must be one of {tuple(TEACHER_KINDS)}, got {self.type!r}")

    @classmethod
    def from_dict(cls, d: dict, source="checkpoint") -> TeacherConfig:
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{source}: unknown teacher config keys {sorted(unknown)}")
        return cls(**d)

    @property
    def kind(self) -> TeacherKind:
        return TEACHER_KINDS[self.type]

    @property
    def note(self) -> str:
        return self.kind.note


class Arrays(Dataset):
    def __init__(self, x: np.ndarray, labels: np.ndarray | None = None):
        self.x = torch.from_numpy(np.ascontiguousarray(x, np.float32))
        self.labels = None if labels is None else torch.from_numpy(np.ascontiguousarray(labels, np.float32))

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        item = {"x": self.x[i]}
        if self.labels is not None:
            item["y"] = self.labels[i]
        return item


def workspace_of(run_dir) -> Path:
    """The workspace a run folder lies in (runs may sit in sub-folders, e.g. a study's folds)."""
    for folder in Path(run_dir).resolve().parents:
        if (folder / "windows.csv").is_file():
            return folder
    raise FileNotFoundError(f"{run_dir}: no workspace (windows.csv) above this run folder")


@torch.inference_mode()
def sigmoid_batches(model: nn.Module, x: np.ndarray, batch_size: int) -> np.ndarray:
    """(N, L) float32 probabilities of ``model`` for the inputs ``x``, ``batch_size`` at a time."""
    device = next(model.parameters()).device
    out = [torch.sigmoid(model(torch.from_numpy(np.ascontiguousarray(x[i:i + batch_size])).to(device)).float())
           .cpu().numpy() for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, model.config.samples), np.float32)
