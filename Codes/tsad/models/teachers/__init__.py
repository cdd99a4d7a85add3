"""Teachers that learn on this machine: one module per kind and one table of kinds (``TEACHER_KINDS``).

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
in ``tsad.models.loader.MODEL_LOADERS``.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from tsad.core import paths
from tsad.core.checkpoint import check_kind, load_checkpoint, load_trainable
from tsad.core.common import get_device, log
from tsad.models.predictor import Predictor
from tsad.training.grid import HERE_TEACHER_KIND
from tsad.models.teachers.base import TEACHER_KINDS, Arrays, TeacherConfig, TeacherKind, workspace_of  # noqa: F401
from tsad.models.teachers.context import CONTEXT, ContextTeacher, WorkspaceSignals  # noqa: F401
from tsad.models.teachers.ensemble import ENSEMBLE, StudentEnsemble, ensemble_from_runs  # noqa: F401
from tsad.models.teachers.picture import PICTURE, PictureTeacher, PlotImages  # noqa: F401

KIND = HERE_TEACHER_KIND   # the checkpoint kind of every teacher trained here
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


# the built-in kinds' notes under the names the app and the study's tests use
PICTURE_NOTE = PICTURE.note
CONTEXT_NOTE = CONTEXT.note


# ---- building, training, loading ----------------------------------------------------------------

def build(config: TeacherConfig) -> nn.Module:
    return config.kind.build(config)


def dataset(config: TeacherConfig, data, ws_root=None) -> Dataset:
    """The teacher's inputs for a SplitData (its ids, labels and image paths)."""
    return config.kind.dataset(config, data, ws_root)


def train_teacher(ws: paths.Workspace, run_name: str, config: TeacherConfig, train, val, cfg, *,
                  resume: bool = False, extra: dict | None = None) -> dict:
    """Trains a teacher of any kind from random initialisation on ``train`` (SplitData),
    early-stopped on ``val``, into ``ws/run_name``; BCE on the beat labels. Returns fit's history."""
    import torch.nn.functional as F

    from tsad.core.geometry import load_workspace_geometry
    from tsad.training.loop import fit

    if train.series.shape[1] != config.samples or train.series.shape[2] != config.leads:
        raise ValueError(f"{ws.root}: windows of shape {train.series.shape[1:]}, the teacher config says "
                         f"({config.samples}, {config.leads})")

    def loss_fn(model, batch):
        return F.binary_cross_entropy_with_logits(model(batch["x"]).float(), batch["y"])

    geometry = load_workspace_geometry(ws)  # stored with the weights: kd_train.py checks it against its data
    log.info("%s teacher %s: %d train / %d val windows (%s)", config.type, run_name, len(train), len(val),
             config.note)
    return fit(build(config), dataset(config, train, ws.root), dataset(config, val, ws.root), loss_fn, cfg,
               ws.run_dir(run_name), kind=KIND, model_config=asdict(config), best_name=paths.TEACHER_CHECKPOINT,
               resume=resume, extra={"note": config.note, "n_train": len(train), "n_val": len(val),
                                     "geometry": geometry.to_dict(), **(extra or {})})


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
    from tsad.core.geometry import checkpoint_geometry
    from tsad.models.predictor import DetectionError

    model, config = load(run_dir, device)
    if config.kind.predictor_parts is None:
        raise DetectionError(f"{Path(run_dir) / paths.TEACHER_CHECKPOINT}: a {config.type} teacher, which "
                             f"cannot run on whole records (its TeacherKind has no predictor_parts)")
    parts = config.kind.predictor_parts(model, config, Path(run_dir), min(batch_size, 64))
    return Predictor(Path(run_dir).name, "teacher", checkpoint_geometry(state), description=f"{config.type} teacher",
                     info={"teacher_type": config.type, "note": config.note}, **parts)


def run_logits(run_dir, image_paths, **kwargs) -> np.ndarray:
    """Logits of any teacher run (tsad.models.loader.run_logits: the checkpoint's kind picks the code)."""
    from tsad.models.loader import run_logits as _run_logits

    return _run_logits(run_dir, image_paths, **kwargs)


# ---- the training scripts (picture_teacher_train.py, context_teacher_train.py) ------------------

def default_run_name(kind: str) -> str:
    return f"{kind}_teacher"


def train_main(argv=None, kind: str = "picture", doc: str | None = None) -> dict:
    """The whole of a teacher's training script: flags, seed, train on the workspace's train split
    (validated on val)."""
    from tsad.core.common import make_parser, seed_everything, setup_logging
    from tsad.data.splits import load_split
    from tsad.training.loop import TrainConfig, add_train_args

    entry = TEACHER_KINDS[kind]
    parser = make_parser(doc)
    parser.add_argument("--run-name", default=default_run_name(kind), help="run folder in the workspace")
    parser.add_argument("--limit-train", type=int, default=None, help="use only the first N train windows")
    parser.add_argument("--limit-val", type=int, default=None, help="use only the first N val windows")
    entry.add_args(parser)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    add_train_args(parser, **entry.train_defaults)
    args = parser.parse_args(argv)
    setup_logging()
    seed_everything(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    ws = paths.Workspace.from_arg(args.workspace)
    train = load_split(ws, "train", check_images=entry.reads_plots).subset(args.limit_train)
    val = load_split(ws, "val", check_images=entry.reads_plots).subset(args.limit_val)
    settings = {k: getattr(args, k) for k in entry.settings}
    config = TeacherConfig(type=kind, samples=train.series.shape[1], leads=train.series.shape[2], **settings)
    return train_teacher(ws, args.run_name, config, train, val, TrainConfig.from_args(args), resume=args.resume)
