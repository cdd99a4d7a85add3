"""Teachers that learn on this machine: one module per kind and one table of kinds (``TEACHER_KINDS``),
and what every kind shares: building one from its config, loading a run, its logits and Predictor.

- ``picture`` (tsad.models.teachers.picture): a small CNN reading the same 512x512 plots as the VLM teacher,
  trained from random initialisation; it stands in for what a pretrained VLM would bring.
- ``context`` (tsad.models.teachers.context): a wide TCN that sees the neighbouring seconds of the record.
- ``ensemble`` (tsad.models.teachers.ensemble): the mean logit of several students already trained on the
  same records (``Codes/Models/ensemble_teacher.py``).

Both are checkpoints of kind ``teacher`` (``model_config["type"]`` names the entry of
``TEACHER_KINDS``) in ``<run>/smolvlm_best.pth``, the file the distillation cache hashes
(``tsad.training.distill``), so ``kd_train.py --teacher RUN`` distils from them through the same cache as from
the VLM teacher; ``tsad.models.loader`` loads them for detection and the app.

Adding a teacher kind is one module that builds a ``TeacherKind`` and one entry below (or
``register_teacher`` from anywhere); the VLM teacher (tsad.models.vlm.teacher) is a checkpoint kind of its own
in ``tsad.models.loader.KINDS``. Training them is ``tsad.training.teachers``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from tsad.core import paths
from tsad.core.checkpoint import check_kind, load_checkpoint, load_trainable
from tsad.core.common import get_device
from tsad.core.geometry import checkpoint_geometry
from tsad.models.kinds import TEACHER_HERE as KIND  # the checkpoint kind of every teacher trained here
from tsad.models.predictor import DetectionError, Predictor
from tsad.models.teachers.base import TEACHER_KINDS, TeacherConfig, TeacherKind
from tsad.models.teachers.context import CONTEXT
from tsad.models.teachers.ensemble import ENSEMBLE
from tsad.models.teachers.picture import PICTURE

TEACHER_KINDS.update({"picture": PICTURE, "context": CONTEXT, "ensemble": ENSEMBLE})   # the table of kinds


def register_teacher(kind: TeacherKind) -> TeacherKind:
    """Adds a teacher kind to the table; its training, logits, detection and studies follow."""
    if kind.name in TEACHER_KINDS:
        raise ValueError(f"teacher kind {kind.name!r} is already in tsad.models.teachers.TEACHER_KINDS")
    TEACHER_KINDS[kind.name] = kind
    return kind


def unregister_teacher(name: str) -> None:
    """Removes a kind added with ``register_teacher`` (tests restore the table with it)."""
    TEACHER_KINDS.pop(name, None)


# ---- building, loading, running ----------------------------------------------------------------

def build(config: TeacherConfig) -> nn.Module:
    return config.kind.build(config)


def dataset(config: TeacherConfig, data, ws_root=None) -> Dataset:
    """The teacher's inputs for a SplitData (its ids, labels and image paths)."""
    return config.kind.dataset(config, data, ws_root)


def load(run_dir, device=None) -> tuple[nn.Module, TeacherConfig]:
    path = Path(run_dir) / paths.TEACHER_CHECKPOINT
    state = load_checkpoint(path)
    check_kind(state, KIND, path)
    config = TeacherConfig.from_dict(state.get("model_config") or {}, str(path))
    model = build(config)
    load_trainable(model, state["model"], source=str(path))
    device = get_device(device) if isinstance(device, str) else device
    return model.to(device or get_device()).eval(), config


@torch.inference_mode()
def logits(run_dir, image_paths, batch_size: int = 32, device=None, progress: bool = False, ids=None) -> np.ndarray:
    """(N, samples) float32 logits of a teacher trained here for the windows whose plots are
    ``image_paths`` (the window ids are read from the plots' names unless ``ids`` gives them)."""
    device = get_device(device or "auto") if not isinstance(device, torch.device) else device
    model, config = load(run_dir, device)
    ds = config.kind.inputs(run_dir, config, [Path(p) for p in image_paths], ids)
    out = [model(batch["x"].to(device)).float().cpu().numpy()
           for batch in DataLoader(ds, batch_size=batch_size, shuffle=False)]
    return np.concatenate(out) if out else np.empty((0, config.samples), np.float32)


def predictor(run_dir, state: dict, device="auto", batch_size: int = 256) -> Predictor:
    """The Predictor of a teacher run of any kind (tsad.models.loader' entry for checkpoints of kind
    ``teacher``): the kind's ``predictor_parts`` give its window or stretch probabilities."""
    model, config = load(run_dir, device)
    if config.kind.predictor_parts is None:
        raise DetectionError(f"{Path(run_dir) / paths.TEACHER_CHECKPOINT}: a {config.type} teacher, which "
                             f"cannot run on whole records (its TeacherKind has no predictor_parts)")
    parts = config.kind.predictor_parts(model, config, Path(run_dir), min(batch_size, 64))
    return Predictor(Path(run_dir).name, "teacher", checkpoint_geometry(state), description=f"{config.type} teacher",
                     info={"teacher_type": config.type, "note": config.note}, **parts)
