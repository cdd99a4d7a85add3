"""One training loop for every model in the project.

AdamW, linear warm-up then linear decay, gradient clipping, early stopping on the
validation loss, ``best`` and ``last`` checkpoints, ``--resume``, loss curves saved as
.npy, a metadata JSON beside the checkpoints, and distributed data parallel when the
script is started with ``torchrun``. The model-specific part is a ``loss_fn(model, batch)``.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from tqdm.auto import tqdm

from tsad.core import paths
from tsad.core.checkpoint import load_checkpoint, load_trainable, save_checkpoint, trainable_state_dict
from tsad.core.common import autocast_dtype, get_device, git_commit, log, package_versions
from tsad.core.fileio import save_json, save_npy
from tsad.core.locks import holds_run_folder


@dataclass
class TrainConfig:
    """Optimisation settings of a training run (stored in every checkpoint)."""
    epochs: int = 15
    batch_size: int = 16
    lr: float = 2e-5
    weight_decay: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    warmup_steps: int = 1000
    grad_clip: float = 1.0
    patience: int = 5
    num_workers: int = 0
    seed: int = 42
    device: str = "auto"

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "TrainConfig":
        """The config from parsed flags (add_train_args)."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})


def add_train_args(parser: argparse.ArgumentParser, **defaults) -> None:
    """The optimisation flags, with the project's defaults unless a script overrides them."""
    d = asdict(TrainConfig())
    d.update(defaults)
    g = parser.add_argument_group("training")
    g.add_argument("--epochs", type=int, default=d["epochs"], help="maximum number of epochs")
    g.add_argument("--batch-size", type=int, default=d["batch_size"], help="windows per batch (per process)")
    g.add_argument("--lr", type=float, default=d["lr"], help="AdamW peak learning rate")
    g.add_argument("--weight-decay", type=float, default=d["weight_decay"], help="AdamW weight decay")
    g.add_argument("--beta1", type=float, default=d["beta1"], help="AdamW beta1")
    g.add_argument("--beta2", type=float, default=d["beta2"], help="AdamW beta2")
    g.add_argument("--warmup-steps", type=int, default=d["warmup_steps"],
                   help="linear warm-up steps, then linear decay to 0 at the last step")
    g.add_argument("--grad-clip", type=float, default=d["grad_clip"], help="gradient norm clipping")
    g.add_argument("--patience", type=int, default=d["patience"],
                   help="stop after this many epochs without a better validation loss")
    g.add_argument("--num-workers", type=int, default=d["num_workers"], help="DataLoader worker processes")
    g.add_argument("--device", default=d["device"], help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, ...")
    g.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")


def linear_warmup_decay(optimizer, warmup_steps: int, total_steps: int):
    """A LambdaLR scheduler: linear warm-up to the full rate, then linear decay to 0 at ``total_steps``."""
    def factor(step: int) -> float:
        if warmup_steps > 0 and step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def to_device(batch, device):
    """A batch (dict of tensors) moved to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


# ---- distributed ------------------------------------------------------------------------------

def init_distributed(device_pref: str = "auto"):
    """Joins the process group when started by torchrun; returns (rank, world_size, device)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, get_device(device_pref)
    if not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and device_pref in ("auto", "cuda")
        dist.init_process_group("nccl" if use_cuda else "gloo")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available() and device_pref in ("auto", "cuda"):
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    return dist.get_rank(), dist.get_world_size(), device


def close_distributed() -> None:
    """Leaves the process group ``init_distributed`` joined, if any: once per process, after its last
    collective, on a run that finished. PyTorch asks for it before exit (its distributed docs,
    "Shutdown"); a gloo group left to the interpreter's teardown can abort the process as it exits."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _rng_states(world: int) -> list[dict]:
    """Every rank's torch random state (dropout draws from it), in rank order."""
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if world == 1:
        return [state]
    states = [None] * world
    dist.all_gather_object(states, state)
    return states


def _restore_rng_state(states: list[dict] | None, rank: int, world: int, source: Path) -> None:
    if not states or len(states) != world:
        log.warning("%s holds no random state for %d process(es): dropout after resuming will differ "
                    "from an uninterrupted run", source, world)
        return
    torch.set_rng_state(states[rank]["cpu"])
    if "cuda" in states[rank] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states[rank]["cuda"])


def is_main_process() -> bool:
    """True outside distributed runs and on rank 0."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def _all_sum(values: list[float], device) -> list[float]:
    if not (dist.is_available() and dist.is_initialized()):
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


# ---- the loop ---------------------------------------------------------------------------------

LossFn = Callable[[nn.Module, object], torch.Tensor]


def _make_loader(ds, cfg: TrainConfig, shuffle: bool, collate_fn, world: int):
    sampler = DistributedSampler(ds, shuffle=shuffle, seed=cfg.seed) if world > 1 else None
    generator = torch.Generator().manual_seed(cfg.seed)
    return DataLoader(ds, batch_size=cfg.batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
                      num_workers=cfg.num_workers, collate_fn=collate_fn, generator=generator,
                      pin_memory=torch.cuda.is_available(), persistent_workers=cfg.num_workers > 0)


def _run_epoch(model, loader, loss_fn, device, optimizer=None, scheduler=None, grad_clip=1.0,
               desc="", amp_dtype=None) -> float:
    training = optimizer is not None
    model.train(training)
    total, count = 0.0, 0
    bar = tqdm(loader, desc=desc, leave=False, disable=None if is_main_process() else True)
    for batch in bar:
        batch = to_device(batch, device)
        with torch.set_grad_enabled(training), torch.autocast(
                device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            loss = loss_fn(model, batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{desc}: the loss became {loss.item()}; lower --lr or check the data")
        if training:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip and grad_clip > 0:
                torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], grad_clip)
            optimizer.step()
            scheduler.step()
        n = _batch_size(batch)
        total += loss.item() * n
        count += n
        bar.set_postfix(loss=f"{total / max(count, 1):.4f}")
    total, count = _all_sum([total, float(count)], device)
    return total / max(count, 1.0)


def _batch_size(batch) -> int:
    if isinstance(batch, torch.Tensor):
        return batch.shape[0]
    if isinstance(batch, dict):
        return _batch_size(next(iter(batch.values())))
    return _batch_size(batch[0])


@holds_run_folder
def fit(model: nn.Module, train_ds: Dataset, val_ds: Dataset, loss_fn: LossFn, cfg: TrainConfig,
        run_dir, *, kind: str, model_config: dict, best_name: str = paths.STUDENT_CHECKPOINT,
        collate_fn=None, resume: bool = False, extra: dict | None = None, device=None) -> dict:
    """Trains ``model`` and writes the run folder. Returns the history.

    ``kind`` and ``model_config`` go into every checkpoint so that inference rebuilds the model
    from the checkpoint alone; ``extra`` is stored too (backbone name, alpha, lambda, ...).
    Rank 0 holds the run folder's lock throughout (``tsad.core.locks``): one writer per run folder.
    """
    run_dir = Path(run_dir)
    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    device = device or get_device(cfg.device)
    amp_dtype = autocast_dtype(device)
    model.to(device)
    core = model
    if world > 1:
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    train_loader = _make_loader(train_ds, cfg, True, collate_fn, world)
    val_loader = _make_loader(val_ds, cfg, False, collate_fn, world)
    params = [p for p in core.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                  betas=(cfg.beta1, cfg.beta2))
    total_steps = max(1, cfg.epochs * len(train_loader))
    scheduler = linear_warmup_decay(optimizer, cfg.warmup_steps, total_steps)

    state = {"epoch": -1, "best_val_loss": math.inf, "stale_epochs": 0, "train_losses": [],
             "val_losses": [], "epoch_seconds": [], "early_stopped": False, "finished": False}
    last_path = run_dir / paths.LAST_CHECKPOINT
    if resume and last_path.is_file():
        ckpt = load_checkpoint(last_path)
        load_trainable(core, ckpt["model"], source=str(last_path))
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        state.update(ckpt["progress"])
        # Without the random state, the resumed epochs draw other dropout masks than an uninterrupted run.
        _restore_rng_state(ckpt.get("rng"), rank, world, last_path)
        log.info("resuming %s after epoch %d", run_dir.name, state["epoch"] + 1)
    elif resume:
        log.info("--resume: no %s yet, starting %s from scratch", last_path, run_dir.name)

    # Each process trains on its own shard (DistributedSampler): the record says how the work was split.
    shard = len(train_loader.sampler)
    header = {"kind": kind, "model_config": model_config, "train_config": asdict(cfg), "world_size": world,
              "train_windows_per_process": shard, **(extra or {})}
    first = state["epoch"] + 1
    if state["early_stopped"]:
        log.info("%s stopped early before; nothing to resume", run_dir.name)
    for epoch in range(first, 0 if state["early_stopped"] else cfg.epochs):
        if world > 1:
            train_loader.sampler.set_epoch(epoch)
        train_loader.generator.manual_seed(cfg.seed + epoch)
        start = time.perf_counter()
        tag = f"{run_dir.name} epoch {epoch + 1}/{cfg.epochs}"
        train_loss = _run_epoch(model, train_loader, loss_fn, device, optimizer, scheduler, cfg.grad_clip,
                                f"{tag} train", amp_dtype)
        with torch.no_grad():
            val_loss = _run_epoch(model, val_loader, loss_fn, device, desc=f"{tag} val", amp_dtype=amp_dtype)
        state["epoch_seconds"].append(time.perf_counter() - start)
        state["train_losses"].append(train_loss)
        state["val_losses"].append(val_loss)
        state["epoch"] = epoch
        improved = val_loss < state["best_val_loss"]
        if improved:
            state["best_val_loss"], state["stale_epochs"] = val_loss, 0
        else:
            state["stale_epochs"] += 1
        stop = state["stale_epochs"] >= cfg.patience
        state["early_stopped"] = stop
        state["finished"] = stop or epoch + 1 >= cfg.epochs
        rng_states = _rng_states(world)
        if is_main_process():
            log.info("%s: train %.5f  val %.5f%s", tag, train_loss, val_loss, "  (best)" if improved else "")
            weights = trainable_state_dict(core)
            if improved:
                save_checkpoint(run_dir / best_name, {**header, "model": weights, "epoch": epoch,
                                                      "val_loss": val_loss})
            save_checkpoint(last_path, {**header, "model": weights, "epoch": epoch, "val_loss": val_loss,
                                        "optimizer": optimizer.state_dict(),
                                        "scheduler": scheduler.state_dict(), "progress": dict(state),
                                        "rng": rng_states})
            _write_run_files(run_dir, header, state, best_name)
        if stop:
            log.info("%s: early stop, no better validation loss for %d epochs", run_dir.name, cfg.patience)
            break
    if world > 1:
        dist.barrier()
    return state


def _write_run_files(run_dir: Path, header: dict, state: dict, best_name: str) -> None:
    save_npy(run_dir / paths.TRAIN_LOSSES, np.asarray(state["train_losses"], dtype=np.float32))
    save_npy(run_dir / paths.VAL_LOSSES, np.asarray(state["val_losses"], dtype=np.float32))
    best_epoch = int(np.argmin(state["val_losses"])) if state["val_losses"] else None
    save_json(run_dir / paths.METADATA, {
        **header, "best_checkpoint": best_name, "best_epoch": best_epoch,
        "best_val_loss": state["best_val_loss"], "epochs_run": state["epoch"] + 1,
        "finished": state["finished"], "train_losses": state["train_losses"],
        "val_losses": state["val_losses"], "epoch_seconds": state["epoch_seconds"],
        "versions": package_versions(), "git_commit": git_commit(),
    })
