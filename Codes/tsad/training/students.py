"""Training and inference runs of the student, shared by student_train.py, kd_train.py and
student_infer.py (the scripts are entries over ``train_main`` and ``infer_main``). lam = 0 is the
plain student. Every checkpoint records the window geometry it was trained on; inference and
distillation refuse a checkpoint of another geometry than the workspace's."""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from tsad.core import paths
from tsad.core.checkpoint import load_checkpoint
from tsad.core.common import log, seed_everything, setup_logging
from tsad.core.geometry import GeometryError, check_checkpoint_geometry, load_workspace_geometry
from tsad.data.augment import augment_batch, soft_targets
from tsad.data.generate import record_sources
from tsad.data.sampling import rarity_weights, window_symbols
from tsad.data.splits import SplitData, load_split, window_table, with_preceding
from tsad.detection.thresholds import (
    TRAINING_HINT,
    save_tuned_threshold,
    tune_threshold,
    tune_threshold_windows,
)
from tsad.models import loader
from tsad.models.loader import load
from tsad.models.student import KIND, StudentConfig, build_student, student_config
from tsad.scoring.outputs import save_outputs
from tsad.training import grid
from tsad.training.distill import LogitsFn, cached_teacher_logits, kd_loss, teacher_hash
from tsad.training.flags import (
    Recipe,
    parse_infer_args,
    parse_train_args,
    recipe_from_args,
)
from tsad.training.hard_negatives import mine_false_beats, mix_in
from tsad.training.loop import TrainConfig, fit, is_main_process


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


def make_loss(lam: float = 0.0, temperature: float = 2.0, recipe: Recipe | None = None, fs: float = 128.0):
    """The student's ``loss_fn(model, batch)`` for fit: BCE on the (soft) labels, or the KD loss when
    ``lam > 0``; training batches are augmented when the recipe says so (never validation ones)."""
    recipe = recipe or Recipe()
    pos_weight = torch.tensor(recipe.pos_weight) if recipe.pos_weight != 1.0 else None

    def loss_fn(model, batch) -> torch.Tensor:
        x, y, t = batch["x"], batch["y"], batch.get("t")
        if model.training and recipe.augment.active:
            x, y, t = augment_batch(x, y, recipe.augment, fs, aligned=t)
        y = soft_targets(y, recipe.soft_sigma)
        logits = model(x).float()
        if lam == 0:
            weight = None if pos_weight is None else pos_weight.to(logits.device)
            return F.binary_cross_entropy_with_logits(logits, y, pos_weight=weight)
        return kd_loss(logits, y, t, lam, temperature)
    return loss_fn


def bce_loss(model, batch) -> torch.Tensor:
    """BCE of the student's logits against the labels (no augmentation): the original loss."""
    return F.binary_cross_entropy_with_logits(model(batch["x"]).float(), batch["y"])


def make_kd_loss(lam: float, temperature: float):
    """The original KD loss (no augmentation, hard labels)."""
    return make_loss(lam, temperature)


def train_run(ws: paths.Workspace, cfg: TrainConfig, *, lam: float = 0.0, teacher: str | None = None,
              temperature: float = 2.0, limit_train: int | None = None, limit_val: int | None = None,
              resume: bool = False, run_name: str | None = None, teacher_batch_size: int = 32,
              logits_fn: LogitsFn | None = None, model_config: StudentConfig | None = None,
              recipe: Recipe | None = None, preset: str | None = None, arch: str = "bilstm",
              data: tuple[SplitData, SplitData] | None = None, train_windows: int | None = None,
              seed: int = 42, lookahead_s: float | None = None, train_span: int = 1,
              hard_negatives: float = 0.0, mine_from: str | None = None) -> dict:
    """Trains a student (lam = 0) or a distilled student into its run folder; returns fit's history.

    ``train_windows`` trains on that many windows drawn with ``seed`` (the same every epoch).
    ``data`` gives the (train, val) windows in memory (cross-validation) instead of the workspace's
    split. ``model_config`` (default: ``arch``'s table settings, the input size from the data) chooses the
    model; ``recipe`` the augmentation and loss (default: none, as the original). ``lookahead_s``
    bounds what a fully convolutional student reads after each sample (causal detection);
    ``train_span`` joins each training and validation window after the ones before it in its record
    (``tsad.data.splits.with_preceding``). ``hard_negatives`` replaces that share of the drawn
    training windows by windows around the false beats that the detector ``mine_from`` (a run
    trained on the same training records) finds on them (``tsad.training.hard_negatives``)."""
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"--lam must lie in [0, 1], got {lam}")
    if lam > 0 and not teacher:
        raise ValueError("distillation (lam > 0) needs --teacher")
    if temperature <= 0:
        raise ValueError(f"--temperature must be positive, got {temperature}")
    run_name = run_name or default_run_name(lam, teacher, arch)
    from_workspace_split = data is None
    if from_workspace_split:
        data = (load_split(ws, "train", check_images=False), load_split(ws, "val", check_images=False))
    train, val = data[0].subset(limit_train), data[1].subset(limit_val)
    recipe = recipe or Recipe()
    weights = None
    if recipe.balance:
        if train_windows is None:
            raise ValueError("--balance draws --train-windows windows: give --train-windows too")
        weights = rarity_weights(window_symbols(ws, train.ids), recipe.balance)
    pool = train
    train = train.sample(train_windows, seed, weights)
    geometry = _workspace_geometry(ws, train)
    mined = None
    if hard_negatives or mine_from:
        if not (hard_negatives and mine_from):
            raise ValueError("hard-negative mining needs both --hard-negatives SHARE and --mine-from RUN")
        if lam > 0 or train_span > 1:
            raise ValueError("--hard-negatives with distillation or --train-span: the mined windows have no "
                             "teacher logits or preceding windows; not supported")
        table = window_table(ws)
        miner = loader.load(mine_from, ws, device=cfg.device, classify=False)
        mined = mine_false_beats(miner, pool, table, geometry.fs, seed)
        log.info("%s: %d false beats of %s on %d training beats mined", run_name or "run", mined.false_beats,
                 mine_from, mined.reference_beats)
        train = mix_in(train, mined.windows, hard_negatives, seed)
    if train_span > 1:
        if lam > 0:
            raise ValueError("--train-span with distillation: the teacher's cached logits are per window; not "
                             "supported yet")
        table = window_table(ws)
        train, val = with_preceding(train, pool, train_span, table), with_preceding(val, val, train_span, table)
    if model_config is None:
        ahead = None if lookahead_s is None else lookahead_samples(lookahead_s, geometry.fs)
        model_config = student_config(arch, input_size=train.series.shape[2], lookahead=ahead)
    elif lookahead_s is not None:
        raise ValueError("give the look-ahead in model_config or as lookahead_s, not both")
    if model_config.input_size != train.series.shape[2]:
        raise ValueError(f"{ws.split_npy('train')}: windows of {train.series.shape[2]} lead(s), the student "
                         f"config expects input_size {model_config.input_size}")
    extra = {"lam": float(lam), "teacher": None, "temperature": None, "teacher_checkpoint_sha256": None,
             "limit_train": limit_train, "limit_val": limit_val, "train_windows": train_windows,
             "train_span": train_span, "hard_negatives": float(hard_negatives), "mine_from": mine_from,
             "mined_false_beats": None if mined is None else mined.false_beats,
             "n_train": len(train), "n_val": len(val),
             "recipe": recipe.as_dict(), "preset": preset,
             "split_records": _split_records(ws) if from_workspace_split else None}
    extra["geometry"] = geometry.to_dict()
    fs = geometry.fs
    if lam == 0:
        datasets = [WindowDataset(d.series, d.labels) for d in (train, val)]
        loss_fn = make_loss(0.0, recipe=recipe, fs=fs)
    else:
        sha = teacher_hash(ws, teacher)
        teacher_path = ws.run_dir(teacher) / paths.TEACHER_CHECKPOINT
        check_checkpoint_geometry(load_checkpoint(teacher_path), geometry, teacher_path)
        device = None if cfg.device == "auto" else cfg.device
        datasets = [WindowDataset(d.series, d.labels, _teacher_logits(ws, teacher, d, sha, logits_fn,
                                                                      teacher_batch_size, device))
                    for d in (train, val)]
        loss_fn = make_loss(lam, temperature, recipe, fs)
        extra.update(teacher=teacher, temperature=float(temperature), teacher_checkpoint_sha256=sha)
    log.info("%s: %s student, %d train and %d val windows, lam %g", run_name, model_config.arch, len(train),
             len(val), lam)
    history = fit(build_student(model_config), *datasets, loss_fn, cfg, ws.run_dir(run_name), kind=KIND,
                  model_config=asdict(model_config), best_name=paths.STUDENT_CHECKPOINT, resume=resume,
                  extra=extra)

    if is_main_process():
        steps = (history["epoch"] + 1) * _steps_per_epoch(len(train), cfg.batch_size)
        _tune_detection_threshold(ws.run_dir(run_name), val, geometry.fs, cfg.device,
                                  steps=steps, warmup_steps=cfg.warmup_steps,
                                  val_records=_whole_val_records(ws) if from_workspace_split else None,
                                  ws=ws, run_name=run_name)
    return history


def lookahead_samples(seconds: float, fs: float) -> int:
    """``--lookahead-s`` in samples at the model's rate: rounded down, so the bound holds."""
    if seconds <= 0:
        raise ValueError(f"--lookahead-s must be positive, got {seconds}")
    return int(math.floor(seconds * fs + 1e-9))


def _whole_val_records(ws: paths.Workspace) -> list | None:
    """The files of the split's validation records when the split is record-wise and the data stage
    says where each record lies (with its annotations), else None (tune on the windows)."""
    import json

    path = ws.split_root / "split.json"
    split = json.loads(path.read_text()) if path.is_file() else {}
    names = (split.get("records") or {}).get("val")
    if split.get("by") != "record" or not names:
        return None
    try:
        sources = record_sources(ws)
    except FileNotFoundError:
        return None
    files = [sources[n] / n for n in names if n in sources]
    if len(files) != len(names) or not all(f.with_suffix(".atr").is_file() and f.with_suffix(".hea").is_file()
                                           for f in files):
        return None
    return files


def _steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Optimiser steps per epoch (each process of a torchrun run sees its share of the windows)."""
    import math

    import torch.distributed as dist

    world = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
    return math.ceil(math.ceil(n_train / world) / batch_size)


def _tune_detection_threshold(run_dir, val: SplitData, fs: float, device: str, steps: int | None = None,
                              warmup_steps: int = 0, val_records: list | None = None,
                              ws: paths.Workspace | None = None, run_name: str | None = None) -> dict:
    """Whole-record detection needs a fixed threshold, saved as the run's detection.json: tuned on the
    whole validation records (``records.tune_threshold``, the class-balanced F1) when ``val_records``
    gives their files, else the best F1 on the validation windows (a window-wise split has no whole
    validation record; cross-validation retunes on whole records). A doubtful one
    (``records.threshold_warnings``) is a ``warning:`` line on stderr and stays in the file, and so is
    a run whose ``steps`` all fell inside the warm-up (its learning rate never peaked)."""

    if val_records:
        tuned = tune_threshold(loader.load(run_name, ws, device=device), val_records)
    else:
        tuned = tune_threshold_windows(loader.load(run_dir, device=device).window_probs(val.series), val.labels, fs)
    if steps is not None and warmup_steps >= steps:
        tuned["warnings"].append(f"all {steps} optimiser steps of this run fell inside its "
                                 f"{warmup_steps}-step warm-up: the learning rate never reached --lr, so the "
                                 f"model is likely under-trained; {TRAINING_HINT}")
    tuned["training_steps"] = steps
    save_tuned_threshold(run_dir, tuned)
    log.info("%s: detection threshold %g (F1 %.4f on the %s)", run_dir.name, tuned["threshold"], tuned["val_F1"],
             tuned["tuned_on"])
    return tuned


def _split_records(ws: paths.Workspace) -> dict | None:
    """The records of each split (from split.json), so a run says which patients it trained on."""
    import json

    path = ws.split_root / "split.json"
    return json.loads(path.read_text()).get("records") if path.is_file() else None


def _workspace_geometry(ws: paths.Workspace, train: SplitData):
    """The data stage's geometry (geometry.load_workspace_geometry), checked against the windows
    actually loaded."""

    geometry = load_workspace_geometry(ws)
    if (geometry.samples, geometry.n_leads) != train.series.shape[1:]:
        raise GeometryError(f"{ws.root}: the data stage recorded {geometry.describe()}, but the training "
                            f"windows have shape {train.series.shape[1:]}")
    return geometry


def _teacher_logits(ws, teacher, data: SplitData, sha, logits_fn, batch_size, device) -> np.ndarray:
    return cached_teacher_logits(ws, teacher, data.name, data.ids, data.image_paths, logits_fn=logits_fn,
                                 batch_size=batch_size, device=device, checkpoint_sha256=sha)


def infer_run(ws: paths.Workspace, run: str, *, batch_size: int = 256, device: str = "auto",
              limit: int | None = None) -> dict:
    """Scores every test window with the run's best student and writes the output files."""
    checkpoint = ws.run_dir(run) / paths.STUDENT_CHECKPOINT
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{checkpoint}: checkpoint not found (no trained student {run!r} here); train it "
                                f"first (python Codes/Models/student_train.py, or kd_train.py for a distilled one)")

    geometry = load_workspace_geometry(ws)
    predictor = load(ws.run_dir(run), device=device, batch_size=batch_size)   # the one loader
    check_checkpoint_geometry(predictor.header, geometry, checkpoint)
    test = load_split(ws, "test", check_images=False).subset(limit)
    probs = predictor.window_probs(test.series)
    files = save_outputs(ws.run_dir(run), run, probs, test.labels, test.series, test.ids)
    log.info("%s: scored %d test windows -> %s", run, len(test), files["probs"])
    return files


# ---- the two training scripts (student_train.py: lam 0; kd_train.py: distillation) --------------

def default_run_name(lam: float, teacher: str | None, arch: str) -> str:
    """The user's names for the original BiLSTM; other architectures are named after theirs (tsad.training.grid)."""
    return grid.student_run_name(lam, teacher, arch)


def train_main(argv=None, doc: str | None = None, distill: bool = False) -> dict:
    """The whole of student_train.py / kd_train.py: parse, seed, train."""

    args = parse_train_args(argv, doc, distill)
    setup_logging()
    seed_everything(args.seed)
    lam = args.lam if distill else 0.0
    teacher = args.teacher if distill and lam > 0 else None
    return train_run(paths.Workspace.from_arg(args.workspace), TrainConfig.from_args(args), lam=lam,
                     teacher=teacher, temperature=args.temperature if distill else 2.0,
                     limit_train=args.limit_train, limit_val=args.limit_val, resume=args.resume,
                     train_windows=args.train_windows, seed=args.seed,
                     run_name=args.run_name or default_run_name(lam, teacher, args.arch),
                     teacher_batch_size=args.teacher_batch_size if distill else 32,
                     recipe=recipe_from_args(args), preset=args.preset, arch=args.arch,
                     lookahead_s=args.lookahead_s, train_span=args.train_span,
                     hard_negatives=args.hard_negatives, mine_from=args.mine_from)


# ---- the inference script (student_infer.py) ------------------------------------------------------

def infer_main(argv=None, doc: str | None = None) -> dict:
    """student_infer.py: scores the test split with a trained student run; returns the files."""

    args = parse_infer_args(argv, doc or __doc__)
    setup_logging()
    seed_everything(args.seed)
    return infer_run(paths.Workspace.from_arg(args.workspace), args.run, batch_size=args.batch_size,
                     device=args.device, limit=args.limit)
