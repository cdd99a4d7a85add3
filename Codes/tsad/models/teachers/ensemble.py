"""The ensemble teacher: the mean logit of several students trained on the same records (other seeds,
other recipes). An ensemble of accurate models is the usual way to get a teacher that knows more than
any one student; here it is made from students already trained
(``tsad.training.teachers.ensemble_from_runs``, ``Codes/Models/ensemble_teacher.py``), e.g. the fold
models of two cross-validations, so that it
costs no training. It reads the raw windows (the workspace's ``ECG_segments.npy``), as students do.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tsad.core import paths
from tsad.models.student import StudentConfig, build_student
from tsad.models.teachers.base import Arrays, TeacherConfig, TeacherKind, sigmoid_batches, workspace_of
from tsad.models.teachers.context import WorkspaceSignals

NOTE = "ensemble of students trained here: the mean logit of its members"


class StudentEnsemble(nn.Module):
    """``config.members`` students of the configuration ``config.member``; the mean of their logits."""

    def __init__(self, config: TeacherConfig):
        super().__init__()
        if config.members < 1 or not config.member:
            raise ValueError("an ensemble teacher needs members >= 1 and the members' student config")
        self.config = config
        member = StudentConfig.from_dict(config.member, "ensemble teacher")
        self.members = nn.ModuleList(build_student(member) for _ in range(config.members))

    def forward(self, series: torch.Tensor) -> torch.Tensor:
        """(B, L, C) raw mV -> (B, L) the members' mean logit."""
        return torch.stack([m(series) for m in self.members]).mean(dim=0)


def _inputs(run_dir, config: TeacherConfig, image_paths, ids) -> Arrays:
    ids = [paths.window_id_of_plot(p) for p in image_paths] if ids is None else ids
    signals = WorkspaceSignals(workspace_of(run_dir))
    return Arrays(signals.series[signals.rows(ids)])


def _predictor_parts(model: nn.Module, config: TeacherConfig, run_dir, batch_size: int) -> dict:
    return {"window_probs": lambda windows: sigmoid_batches(model, np.asarray(windows, np.float32), batch_size)}


ENSEMBLE = TeacherKind(
    name="ensemble", note=NOTE, build=StudentEnsemble,
    dataset=lambda config, data, ws_root: Arrays(data.series, data.labels),
    inputs=_inputs, add_args=lambda parser: None, settings=(), reads_plots=False,
    train_defaults={"epochs": 4, "batch_size": 64, "lr": 3e-3, "weight_decay": 0.01, "warmup_steps": 200,
                    "patience": 3},
    predictor_parts=_predictor_parts)
