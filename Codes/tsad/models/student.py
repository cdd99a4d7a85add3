"""The students: small raw-signal models that give one beat logit per time step.

``bilstm`` is the original RNNAnomalyDetector (a 2-layer bidirectional LSTM, 530,689 parameters).
The others were added to hold up on new patients and to train fast on a CPU: ``unet``, a 1-D
convolutional encoder-decoder; ``tcn``, a stack of dilated residual convolutions; ``cnn_bilstm``, a
convolutional front end before one small BiLSTM layer. ``ARCHITECTURES`` is the one table of them;
``StudentConfig.arch`` names one and the checkpoint stores the whole config.

Input is the raw series in mV, shape (N, L, C). Every model standardises each window per lead
inside ``forward`` (zero mean, unit deviation over time), so training, inference, the benchmark and
the GUI all feed the same raw series and the normalisation exists in exactly one place; a checkpoint
therefore needs no separate scaler.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from tsad.core import paths
from tsad.core.checkpoint import check_kind, load_checkpoint, load_trainable
from tsad.core.common import get_device
from tsad.core.geometry import checkpoint_geometry
from tsad.models.fast_student import FastFCN
from tsad.models.kinds import STUDENT
from tsad.models.predictor import Predictor

KIND = STUDENT   # the kind its checkpoints record (tsad.models.kinds)


@dataclass
class StudentConfig:
    """Every setting of a student. ``arch`` picks the model; each uses the fields that concern it
    (the BiLSTM: hidden_size, num_layers, bidirectional; the convolutional ones: width, depth,
    kernel_size; cnn_bilstm: width, kernel_size and hidden_size)."""

    input_size: int = 2
    hidden_size: int = 128
    num_layers: int = 2
    dropout: float = 0.3
    bidirectional: bool = True
    # Lower bound on a lead's deviation (mV): a flat, lead-off window stays near zero
    # instead of having its noise blown up to unit variance.
    std_floor: float = 0.01
    arch: str = "bilstm"
    width: int = 32
    depth: int = 4
    kernel_size: int = 7
    stride: int = 4            # fcn: input samples per step of the network
    norm_window: int = 256     # fcn: samples over which each sample is standardised
    # fcn: at most this many samples after its own read by an output (causal detection,
    # ``--lookahead-s``); None: the symmetric network
    lookahead: int | None = None

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
    """The original student: a bidirectional LSTM over the standardised series, one logit per step."""

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


def _conv_block(c_in: int, c_out: int, kernel: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(c_in, c_out, kernel, padding=dilation * (kernel // 2), dilation=dilation),
                         nn.BatchNorm1d(c_out), nn.GELU())


class UNet1D(nn.Module):
    """1-D U-Net: ``depth`` levels of two convolutions, halving the length and doubling the width
    (``width`` at the top) on the way down, and back up with skip connections; one logit per step.
    Inputs of any length are padded to a multiple of 2**depth and the output cropped back."""

    def __init__(self, config: StudentConfig | None = None):
        super().__init__()
        self.config = c = config or StudentConfig(arch="unet")
        k = c.kernel_size
        widths = [c.width * 2 ** d for d in range(c.depth + 1)]
        self.down = nn.ModuleList()
        c_in = c.input_size
        for w in widths[:-1]:
            self.down.append(nn.Sequential(_conv_block(c_in, w, k), _conv_block(w, w, k)))
            c_in = w
        self.bottom = nn.Sequential(_conv_block(c_in, widths[-1], k), nn.Dropout(c.dropout),
                                    _conv_block(widths[-1], widths[-1], k))
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for w_low, w in zip(widths[:0:-1], widths[-2::-1]):
            self.up.append(nn.ConvTranspose1d(w_low, w, 2, stride=2))
            self.merge.append(nn.Sequential(_conv_block(2 * w, w, k), _conv_block(w, w, k)))
        self.head = nn.Conv1d(widths[0], 1, 1)

    def forward(self, series: torch.Tensor) -> torch.Tensor:
        """(B, L, C) raw mV -> (B, L) logits."""
        x = standardise(series, self.config.std_floor).transpose(1, 2)
        length = x.shape[-1]
        unit = 2 ** self.config.depth
        pad = (-length) % unit
        if pad:
            x = nn.functional.pad(x, (0, pad), mode="replicate")
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = nn.functional.max_pool1d(x, 2)
        x = self.bottom(x)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips)):
            x = merge(torch.cat([up(x), skip], dim=1))
        return self.head(x)[:, 0, :length]


class TCN(nn.Module):
    """Non-causal temporal convolution network: an input projection, then ``depth`` residual blocks
    of two dilated convolutions (dilation 1, 2, 4, ...: the receptive field doubles per block) of
    ``width`` channels; one logit per step."""

    def __init__(self, config: StudentConfig | None = None):
        super().__init__()
        self.config = c = config or StudentConfig(arch="tcn")
        self.stem = nn.Conv1d(c.input_size, c.width, 1)
        self.blocks = nn.ModuleList(
            nn.Sequential(_conv_block(c.width, c.width, c.kernel_size, 2 ** d), nn.Dropout(c.dropout),
                          _conv_block(c.width, c.width, c.kernel_size, 2 ** d))
            for d in range(c.depth))
        self.head = nn.Conv1d(c.width, 1, 1)

    def forward(self, series: torch.Tensor) -> torch.Tensor:
        """(B, L, C) raw mV -> (B, L) logits."""
        x = self.stem(standardise(series, self.config.std_floor).transpose(1, 2))
        for block in self.blocks:
            x = x + block(x)
        return self.head(x)[:, 0]


class ConvBiLSTM(nn.Module):
    """Two convolutions (``width`` channels) that see the QRS shape, then one bidirectional LSTM
    layer of ``hidden_size`` that sees the rhythm; one logit per step."""

    def __init__(self, config: StudentConfig | None = None):
        super().__init__()
        self.config = c = config or StudentConfig(arch="cnn_bilstm", hidden_size=64)
        self.front = nn.Sequential(_conv_block(c.input_size, c.width, c.kernel_size),
                                   _conv_block(c.width, c.width, c.kernel_size))
        self.lstm = nn.LSTM(c.width, c.hidden_size, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(c.dropout)
        self.head = nn.Linear(2 * c.hidden_size, 1)

    def forward(self, series: torch.Tensor) -> torch.Tensor:
        """(B, L, C) raw mV -> (B, L) logits."""
        x = self.front(standardise(series, self.config.std_floor).transpose(1, 2)).transpose(1, 2)
        out, _ = self.lstm(x)
        return self.head(self.dropout(out)).squeeze(-1)


# The one table of student architectures: name -> (class, the settings that differ from
# StudentConfig's defaults). ``--arch NAME`` and checkpoints refer to these names.
ARCHITECTURES: dict[str, tuple[type[nn.Module], dict]] = {
    "bilstm": (RNNAnomalyDetector, {}),
    "unet": (UNet1D, {"width": 16, "depth": 4, "kernel_size": 5, "dropout": 0.1}),
    "tcn": (TCN, {"width": 48, "depth": 6, "kernel_size": 5, "dropout": 0.1}),
    "cnn_bilstm": (ConvBiLSTM, {"width": 32, "kernel_size": 7, "hidden_size": 64, "dropout": 0.1}),
    # fully convolutional, for one-core speed (tsad.models.fast_student); the name says the parameter count
    "fcn_1k": (FastFCN, {"width": 8, "depth": 6, "kernel_size": 5, "dropout": 0.0}),
    "fcn_5k": (FastFCN, {"width": 24, "depth": 6, "kernel_size": 5, "dropout": 0.05}),
    "fcn_20k": (FastFCN, {"width": 48, "depth": 8, "kernel_size": 5, "dropout": 0.1}),
    "fcn_80k": (FastFCN, {"width": 96, "depth": 8, "kernel_size": 5, "dropout": 0.1}),
}


def student_config(arch: str = "bilstm", **overrides) -> StudentConfig:
    """The default config of architecture ``arch`` (its table settings), with ``overrides``."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown student architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}")
    return StudentConfig(**{**ARCHITECTURES[arch][1], **overrides, "arch": arch})


def build_student(config: StudentConfig) -> nn.Module:
    """The (untrained) model that ``config`` describes."""
    if config.arch not in ARCHITECTURES:
        raise ValueError(f"unknown student architecture {config.arch!r}; choose one of {sorted(ARCHITECTURES)}")
    model_class = ARCHITECTURES[config.arch][0]
    if config.lookahead is not None and model_class is not FastFCN:
        raise ValueError(f"a bounded look-ahead needs a fully convolutional student (fcn_*), not {config.arch!r}")
    return model_class(config)


def count_parameters(model: nn.Module) -> int:
    """All parameters of ``model``, trainable or not."""
    return sum(p.numel() for p in model.parameters())


def load_student(run_dir, device=None) -> nn.Module:
    """Rebuilds the run's best student from its checkpoint alone; returned in eval mode."""
    path = Path(run_dir) / paths.STUDENT_CHECKPOINT
    state = load_checkpoint(path)
    check_kind(state, KIND, path)
    model = build_student(StudentConfig.from_dict(state.get("model_config") or {}, str(path)))
    load_trainable(model, state["model"], source=str(path))
    return model.to(get_device() if device is None else device).eval()


def predictor(run_dir, state: dict, device: str = "auto", batch_size: int = 64) -> Predictor:
    """The Predictor of a student run through torch (``tsad.models.loader.KINDS``' entry for
    checkpoints of kind ``student``); a fully convolutional one also gives ``full_probs``."""
    model = load_student(run_dir, get_device(device))
    arch = (state.get("model_config") or {}).get("arch", "bilstm")
    whole = {}
    if getattr(model, "fully_convolutional", False):   # a record in one pass per chunk, no windows
        whole = {"full_probs": lambda x: full_probs(model, x), "reach": model.reach, "unit": model.unit,
                 "lookahead": model.lookahead}
    return Predictor(Path(run_dir).name, "student", checkpoint_geometry(state),
                     lambda x: student_probs(model, x, batch_size=batch_size), description=f"student {arch}",
                     info={"arch": arch, "lam": state.get("lam"), "backend": "torch"}, model=model,
                     exportable=True, **whole)


@torch.no_grad()
def student_probs(model: nn.Module, series: np.ndarray, batch_size: int = 256,
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
    for start in tqdm(starts, desc="student", disable=None if progress else True, leave=False):
        chunk = torch.from_numpy(series[start:start + batch_size]).to(device)
        out[start:start + len(chunk)] = torch.sigmoid(model(chunk).float()).cpu().numpy()
    model.train(was_training)
    return out


@torch.no_grad()
def full_probs(model: nn.Module, signal: np.ndarray) -> np.ndarray:
    """Beat probabilities (n,) of a fully convolutional student over a whole stretch (n, C) in mV."""
    x = torch.from_numpy(np.ascontiguousarray(signal, np.float32))[None].to(next(model.parameters()).device)
    return torch.sigmoid(model(x)[0].float()).cpu().numpy()


def config_dict(model: nn.Module) -> dict:
    """The model's StudentConfig as a plain dict (what checkpoints store)."""
    return asdict(model.config)
