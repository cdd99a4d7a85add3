"""A fully convolutional student built for one CPU core: ``FastFCN``.

The other students standardise each 2-s window as a whole, so a record must be cut into overlapping
windows and their outputs stitched: each sample is computed twice. ``FastFCN`` has no window: every
operation is local, so it runs over a chunk of any length in one pass (``full_logits``), with its
receptive field (``reach``) of real signal as margin on each side, and gives the same logits as over
the whole record:

- **local standardisation**: each lead minus its mean over a window's length (``norm_window``
  samples) centred on the sample, divided by its deviation there (at least ``std_floor``); the
  statistics are taken every ``NORM_STEP`` samples and interpolated, which costs little;
- a **strided stem** (``stride`` samples per step: at 128 Hz and stride 4, 32 steps a second),
- ``depth`` residual **depthwise-separable dilated blocks** of ``width`` channels (dilations
  1, 2, 4, 8, then again), ReLU,
- a 1x1 **head** with ``stride`` logits per step, laid out back to one logit per input sample.

Sizes in ``tsad.models.student.ARCHITECTURES``: ``fcn_1k``, ``fcn_5k``, ``fcn_20k``, ``fcn_80k`` (parameters).

**Bounded look-ahead** (``StudentConfig.lookahead``, samples; ``--lookahead-s`` when training): the
same layers made causal (each sample standardised by the window *before* its block of NORM_STEP
samples, convolutions padded on the left only), and every output read ``lookahead - stride`` samples
late. The output for sample ``t`` then depends on no input after ``t + lookahead`` (``lookahead``
property; tested), which is what causal detection (``detect.py --latency-s``) needs. ``None``: the
symmetric network above, which reads ``reach`` samples on each side.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

NORM_STEP = 16         # the local mean and deviation are taken every this many samples
DILATIONS = (1, 2, 4, 8)


def local_standardise(x: torch.Tensor, window: int, floor: float, causal: bool = False) -> torch.Tensor:
    """(B, C, T) -> (B, C, T): each sample minus the mean of its lead over ``window`` samples centred
    on it (``causal``: the ``window`` samples before its block of NORM_STEP), over their deviation
    (>= ``floor``); ``T`` and ``window`` multiples of NORM_STEP."""
    length = x.shape[-1]
    half = window // 2
    padded = F.pad(x, (window, 0) if causal else (half, half), mode="replicate")
    # sums over blocks of NORM_STEP samples, then over window / NORM_STEP blocks: the same as pooling
    # over the window every NORM_STEP samples, at a fraction of the additions
    blocks = padded.unflatten(-1, (-1, NORM_STEP))
    span = window // NORM_STEP
    mean = F.avg_pool1d(blocks.mean(dim=-1), span, stride=1)
    square = F.avg_pool1d((blocks * blocks).mean(dim=-1), span, stride=1)
    std = (square - mean * mean).clamp_min(0).sqrt().clamp_min(floor)
    # statistic k is centred on sample k * NORM_STEP; repeat it over its step (cheap, and the same
    # wherever a chunk starts as long as chunks start on the NORM_STEP grid)
    mean = mean.repeat_interleave(NORM_STEP, dim=-1)[..., :length]
    std = std.repeat_interleave(NORM_STEP, dim=-1)[..., :length]
    return (x - mean) / std


class _SeparableBlock(nn.Module):
    def __init__(self, width: int, kernel: int, dilation: int, dropout: float, causal: bool = False):
        super().__init__()
        # causal: the whole kernel on the past (padded on the left in forward)
        self.left = dilation * (kernel - 1) if causal else 0
        self.depthwise = nn.Conv1d(width, width, kernel, padding=0 if causal else dilation * (kernel // 2),
                                   dilation=dilation, groups=width, bias=False)
        self.pointwise = nn.Conv1d(width, width, 1, bias=False)
        self.norm = nn.BatchNorm1d(width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.pad(x, (self.left, 0)) if self.left else x
        return x + self.dropout(F.relu(self.norm(self.pointwise(self.depthwise(y)))))


class FastFCN(nn.Module):
    """Fully convolutional student (module docstring): (B, L, C) raw mV -> (B, L) logits for any L."""

    fully_convolutional = True

    def __init__(self, config):
        super().__init__()
        self.config = c = config
        s = c.stride
        self.causal = c.lookahead is not None
        if self.causal and c.lookahead < s:
            raise ValueError(f"a look-ahead of {c.lookahead} samples is under the stem's stride ({s}): "
                             f"the smallest this network can have is {s} samples")
        # the stem reads ``stride`` samples on each side of its step; causal, the outputs are read
        # ``delay`` samples late, so that an output reads ``lookahead`` samples past its own
        self.delay = c.lookahead - s if self.causal else 0
        self.stem = nn.Sequential(nn.Conv1d(c.input_size, c.width, 2 * s + 1, stride=s, padding=s),
                                  nn.BatchNorm1d(c.width), nn.ReLU())
        self.blocks = nn.Sequential(*[_SeparableBlock(c.width, c.kernel_size, DILATIONS[d % len(DILATIONS)],
                                                      c.dropout, self.causal) for d in range(c.depth)])
        self.head = nn.Conv1d(c.width, s, 1)

    @property
    def unit(self) -> int:
        """Input lengths are padded to a multiple of this (and chunks start on its grid)."""
        return math.lcm(NORM_STEP, self.config.stride)

    @property
    def reach(self) -> int:
        """Samples on each side that an output may depend on (rounded up to ``unit``): chunked
        detection reads this much real signal past each end of what it keeps."""
        c = self.config
        dilations = sum(DILATIONS[d % len(DILATIONS)] for d in range(c.depth))
        if self.causal:   # all of it on the past: the window before a block, the kernels' whole width
            raw = max(c.norm_window + NORM_STEP + (dilations * (c.kernel_size - 1) + 2) * c.stride - self.delay,
                      c.lookahead)
        else:
            raw = c.norm_window // 2 + NORM_STEP + (dilations * (c.kernel_size // 2) + 2) * c.stride
        return -(-raw // self.unit) * self.unit

    @property
    def lookahead(self) -> int | None:
        """Samples after its own that an output depends on at most (None: the symmetric network,
        which reads ``reach``)."""
        return self.config.lookahead

    def forward(self, series: torch.Tensor) -> torch.Tensor:
        length = series.shape[1]
        pad = self.delay + (-(length + self.delay)) % self.unit
        x = series.transpose(1, 2)
        if self.delay or pad:   # causal: always (and no tensor-to-bool when traced for onnx)
            x = F.pad(x, (0, pad), mode="replicate")
        x = local_standardise(x, self.config.norm_window, self.config.std_floor, self.causal)
        steps = self.head(self.blocks(self.stem(x)))                       # (B, stride, T / stride)
        return steps.transpose(1, 2).flatten(1)[:, self.delay:self.delay + length]
