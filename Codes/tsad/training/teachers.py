"""Training the teachers that learn on this machine (``tsad.models.teachers``): any kind of
``TEACHER_KINDS`` from random initialisation on the workspace's train split (``train_teacher``, the
scripts picture_teacher_train.py and context_teacher_train.py through ``train_main``), and the
ensemble teacher made from students already trained (``ensemble_from_runs``).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F

from tsad.core import paths
from tsad.core.checkpoint import save_checkpoint, trainable_state_dict
from tsad.core.common import log, make_parser, seed_everything, setup_logging
from tsad.core.fileio import sha256_file
from tsad.core.geometry import load_workspace_geometry
from tsad.data.splits import load_split
from tsad.models import loader
from tsad.models.kinds import TEACHER_HERE
from tsad.models.teachers import build, dataset
from tsad.models.teachers.base import TEACHER_KINDS, TeacherConfig
from tsad.models.teachers.ensemble import NOTE as ENSEMBLE_NOTE
from tsad.models.teachers.ensemble import StudentEnsemble
from tsad.training.loop import TrainConfig, add_train_args, fit


def train_teacher(ws: paths.Workspace, run_name: str, config: TeacherConfig, train, val, cfg, *,
                  resume: bool = False, extra: dict | None = None) -> dict:
    """Trains a teacher of any kind from random initialisation on ``train`` (SplitData),
    early-stopped on ``val``, into ``ws/run_name``; BCE on the beat labels. Returns fit's history."""
    if train.series.shape[1] != config.samples or train.series.shape[2] != config.leads:
        raise ValueError(f"{ws.root}: windows of shape {train.series.shape[1:]}, the teacher config says "
                         f"({config.samples}, {config.leads})")

    def loss_fn(model, batch):
        return F.binary_cross_entropy_with_logits(model(batch["x"]).float(), batch["y"])

    geometry = load_workspace_geometry(ws)  # stored with the weights: kd_train.py checks it against its data
    log.info("%s teacher %s: %d train / %d val windows (%s)", config.type, run_name, len(train), len(val),
             config.note)
    return fit(build(config), dataset(config, train, ws.root), dataset(config, val, ws.root), loss_fn, cfg,
               ws.run_dir(run_name), kind=TEACHER_HERE, model_config=asdict(config), best_name=paths.TEACHER_CHECKPOINT,
               resume=resume, extra={"note": config.note, "n_train": len(train), "n_val": len(val),
                                     "geometry": geometry.to_dict(), **(extra or {})})


def ensemble_from_runs(ws: paths.Workspace, run_name: str, members) -> Path:
    """Writes the teacher run ``run_name`` of ``ws``: the ensemble of the student runs ``members``
    (run names of ``ws`` or run folders, loaded through ``tsad.models.loader``), which must share one
    configuration and geometry. Returns its checkpoint; the members and their checkpoints' hashes
    are recorded in it."""
    students = [loader.load(str(m), ws, device="cpu", backend="torch") for m in members]
    for student in students:
        if not student.exportable:   # the members are students of the raw series, nothing else
            raise ValueError(f"{student.run_dir}: a {student.kind}, not a student; an ensemble teacher's "
                             f"members are students")
    configs = [s.header.get("model_config") for s in students]
    geometries = [s.header.get("geometry") for s in students]
    for student, cfg, geo in zip(students[1:], configs[1:], geometries[1:]):
        if cfg != configs[0] or geo != geometries[0]:
            raise ValueError(f"{student.run_dir}: another student configuration or geometry than "
                             f"{students[0].run_dir}; an ensemble teacher's members must share them")
    config = TeacherConfig(type="ensemble", samples=int(geometries[0]["samples"]), leads=len(geometries[0]["channels"]),
                           members=len(students), member=configs[0])
    model = StudentEnsemble(config)
    for slot, student in zip(model.members, students):
        slot.load_state_dict(student.model.state_dict())
    target = ws.run_dir(run_name) / paths.TEACHER_CHECKPOINT
    save_checkpoint(target, {"kind": TEACHER_HERE, "model_config": asdict(config), "model": trainable_state_dict(model),
                             "geometry": geometries[0], "note": ENSEMBLE_NOTE,
                             "members": [{"run": str(s.run_dir),
                                          "checkpoint_sha256": sha256_file(s.run_dir / paths.STUDENT_CHECKPOINT)}
                                         for s in students]})
    return target


def default_run_name(kind: str) -> str:
    return f"{kind}_teacher"


def train_main(argv=None, kind: str = "picture", doc: str | None = None) -> dict:
    """The whole of a teacher's training script: flags, seed, train on the workspace's train split
    (validated on val)."""
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
