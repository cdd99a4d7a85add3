"""Checkpoints that carry their config, saved atomically and loaded with weights_only=True.

torch is imported where a checkpoint is read or written, not with this module: the loader imports
it, and detection through onnxruntime never reads a checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tsad.core.fileio import atomic_path

if TYPE_CHECKING:
    from torch import nn


def save_checkpoint(path, state: dict) -> None:
    """Saves a checkpoint dict atomically (temporary file, then rename)."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path, map_location="cpu") -> dict:
    """Loads tensors and plain Python values only; a pickled payload is refused."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError or EOFError here
        raise ValueError(f"{path}: not a loadable checkpoint ({type(err).__name__}: {err})") from err
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"{path}: not a tsad checkpoint (no 'model' entry)")
    return state


def trainable_state_dict(model: nn.Module) -> dict:
    """Only the state that training changes: trainable parameters, and the buffers of every module
    that has one (a BatchNorm's running statistics); the frozen backbone is rebuilt from its source."""
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    for prefix, module in model.named_modules():
        if any(p.requires_grad for p in module.parameters(recurse=False)):
            names.update(f"{prefix}.{b}" if prefix else b for b, _ in module.named_buffers(recurse=False))
    return {k: v.detach().cpu() for k, v in model.state_dict().items() if k in names}


def load_trainable(model: nn.Module, weights: dict, source="checkpoint") -> None:
    """Loads a trainable-only state dict; every trainable parameter and its module's buffers must be
    present (a checkpoint of another architecture or without BatchNorm statistics is refused)."""
    try:
        result = model.load_state_dict(weights, strict=False)
    except RuntimeError as err:  # shapes that do not fit: another architecture or size
        first = str(err).strip().splitlines()[1].strip() if "\n" in str(err) else str(err)
        raise ValueError(f"{source}: weights for another model ({first})") from err
    if result.unexpected_keys:
        raise ValueError(f"{source}: weights for another model (unexpected keys, e.g. "
                         f"{result.unexpected_keys[:3]})")
    trainable = set(trainable_state_dict(model))
    missing = sorted(trainable.intersection(result.missing_keys))
    if missing:
        raise ValueError(f"{source}: weights for another model (missing trainable keys, e.g. {missing[:3]})")


def check_kind(state: dict, expected: str, path) -> None:
    """Raises ValueError naming ``path`` when the checkpoint holds another kind of model."""
    kind = state.get("kind")
    if kind != expected:
        raise ValueError(f"{path}: checkpoint of a {kind!r} model, expected a {expected!r} model")
