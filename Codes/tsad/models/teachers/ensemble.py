"""The ensemble teacher: the mean logit of several students trained on the same records (other seeds,
other recipes). An ensemble of accurate models is the usual way to get a teacher that knows more than
any one student; here it is made from students already trained (``ensemble_from_runs``,
``Codes/Models/ensemble_teacher.py``), e.g. the fold models of two cross-validations, so that it
costs no training. It reads the raw windows (the workspace's ``ECG_segments.npy``), as students do.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tsad.core import paths
from tsad.models.teachers.base import Arrays, TeacherConfig, TeacherKind, sigmoid_batches, workspace_of

NOTE = "ensemble of students trained here: the mean logit of its members"


class StudentEnsemble(nn.Module):
    """``config.members`` students of the configuration ``config.member``; the mean of their logits."""

    def __init__(self, config: TeacherConfig):
        super().__init__()
        from tsad.models.student import StudentConfig, build_student

        if config.members < 1 or not config.member:
            raise ValueError("an ensemble teacher needs members >= 1 and the members' student config")
        self.config = config
        member = StudentConfig.from_dict(config.member, "ensemble teacher")
        self.members = nn.ModuleList(build_student(member) for _ in range(config.members))

    def forward(self, series: torch.Tensor) -> torch.Tensor:
        """(B, L, C) raw mV -> (B, L) the members' mean logit."""
        return torch.stack([m(series) for m in self.members]).mean(dim=0)


def _inputs(run_dir, config: TeacherConfig, image_paths, ids) -> Arrays:
    from tsad.models.teachers.context import WorkspaceSignals

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


def ensemble_from_runs(ws: paths.Workspace, run_name: str, members) -> Path:
    """Writes the teacher run ``run_name`` of ``ws``: the ensemble of the student runs ``members``
    (run names of ``ws`` or run folders), which must share one configuration and geometry. Returns
    its checkpoint; the members and their checkpoints' hashes are recorded in it."""
    from tsad.core.checkpoint import load_checkpoint, save_checkpoint, trainable_state_dict
    from tsad.core.fileio import sha256_file
    from tsad.models.student import load_student
    from tsad.models.teachers import KIND

    folders = [ws.resolve_run_dir(str(m)) for m in members]
    states = [load_checkpoint(f / paths.STUDENT_CHECKPOINT) for f in folders]
    configs = [s.get("model_config") for s in states]
    geometries = [s.get("geometry") for s in states]
    for folder, cfg, geo in zip(folders[1:], configs[1:], geometries[1:]):
        if cfg != configs[0] or geo != geometries[0]:
            raise ValueError(f"{folder}: another student configuration or geometry than {folders[0]}; an ensemble "
                             f"teacher's members must share them")
    config = TeacherConfig(type="ensemble", samples=int(geometries[0]["samples"]), leads=len(geometries[0]["channels"]),
                           members=len(folders), member=configs[0])
    model = StudentEnsemble(config)
    for slot, folder in zip(model.members, folders):
        slot.load_state_dict(load_student(folder, "cpu").state_dict())
    target = ws.run_dir(run_name) / paths.TEACHER_CHECKPOINT
    save_checkpoint(target, {"kind": KIND, "model_config": asdict(config), "model": trainable_state_dict(model),
                             "geometry": geometries[0], "note": NOTE,
                             "members": [{"run": str(f), "checkpoint_sha256": sha256_file(f / paths.STUDENT_CHECKPOINT)}
                                         for f in folders]})
    return target
