"""The student: a bidirectional LSTM that gives one beat logit per time step.

Input is the raw two-lead series in mV, shape (N, 256, 2). The model standardises every
window per lead inside ``forward`` (zero mean, unit deviation over time), so training,
inference, the benchmark and the GUI all feed the same raw series and the normalisation
exists in exactly one place; a checkpoint therefore needs no separate scaler.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import paths
from .checkpoint import check_kind, load_checkpoint, load_trainable

KIND = "student"


@dataclass
class StudentConfig:
    input_size: int = 2
    hidden_size: int = 128
    num_layers: int = 2
    dropout: float = 0.3
    bidirectional: bool = True
    # Lower bound on a lead's deviation (mV): a flat, lead-off window stays near zero
    # instead of having its noise blown up to unit variance.
    std_floor: float = 0.01

    @classmethod
    def from_dict(cls, d: dict, source="checkpoint") -> "StudentConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"{source}: unknown student config keys {sorted(unknown)}")
        return cls(**d)


def standardise(x: torch.Tensor, std_floor: float) -> torch.Tensor:
    """Per window and per lead over time: (x - mean) / max(std, floor)."""
    mean = x.mean(dim=1, keepdim=True)
    std = x.std(dim=1, keepdim=True, unbiased=False).clamp_min(std_floor)
    return (x - mean) / std


class RNNAnomalyDetector(nn.Module):
    def __init__(self, config: StudentConfig | None = None):
        super().__init__()
        self.config = config or StudentConfig()
        c = self.config
        self.lstm = nn.LSTM(c.input_size, c.hidden_size, num_layers=c.num_layers, batch_first=True,
                            dropout=c.dropout if c.num_layers > 1 else 0.0, bidirectional=c.bidirectional)
        self.head = nn.Linear(c.hidden_size * (2 if c.bidirectional else 1), 1)

    def forward(self, series: torch.Tensor) -> torch.Tensor:
        """(B, L, C) raw mV -> (B, L) logits."""
        out, _ = self.lstm(standardise(series, self.config.std_floor))
        return self.head(out).squeeze(-1)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def load_student(run_dir, device=None) -> RNNAnomalyDetector:
    """Rebuilds the run's best student from its checkpoint alone; returned in eval mode."""
    path = Path(run_dir) / paths.STUDENT_CHECKPOINT
    state = load_checkpoint(path)
    check_kind(state, KIND, path)
    model = RNNAnomalyDetector(StudentConfig.from_dict(state.get("model_config") or {}, str(path)))
    load_trainable(model, state["model"], source=str(path))
    if device is None:
        from .common import get_device
        device = get_device()
    return model.to(device).eval()


@torch.no_grad()
def student_probs(model: RNNAnomalyDetector, series: np.ndarray, batch_size: int = 256,
                  progress: bool = False) -> np.ndarray:
    """Beat probabilities (N, L) float32 for raw series (N, L, C) in mV; every window scored."""
    series = np.asarray(series, dtype=np.float32)
    channels = model.config.input_size
    if series.ndim != 3 or series.shape[2] != channels:
        raise ValueError(f"student_probs: expected series of shape (N, L, {channels}), got {series.shape}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = np.empty(series.shape[:2], dtype=np.float32)
    starts = range(0, len(series), batch_size)
    for start in tqdm(starts, desc="student", disable=not progress, leave=False):
        chunk = torch.from_numpy(series[start:start + batch_size]).to(device)
        out[start:start + len(chunk)] = torch.sigmoid(model(chunk).float()).cpu().numpy()
    model.train(was_training)
    return out


def config_dict(model: RNNAnomalyDetector) -> dict:
    return asdict(model.config)
