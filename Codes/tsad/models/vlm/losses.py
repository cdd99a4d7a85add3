"""The teacher's loss: cosine similarity to Gaussian-smoothed labels plus binary cross-entropy.

The knowledge-distillation loss lives with the student (tsad.training.distill).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

SMOOTH_HALF_WIDTH = 15
SMOOTH_SIGMA = 5.0


def gaussian_kernel(half_width: int = SMOOTH_HALF_WIDTH, sigma: float = SMOOTH_SIGMA,
                    device=None, dtype=torch.float32) -> torch.Tensor:
    """2*half_width+1 taps with a peak of 1, so an isolated label keeps its height.

    The cosine term does not depend on the kernel's scale; the peak-1 choice only makes the
    smoothed labels readable as "closeness to an annotated sample".
    """
    k = torch.arange(-half_width, half_width + 1, device=device, dtype=dtype)
    return torch.exp(-0.5 * (k / sigma) ** 2)


def smooth_labels(labels: torch.Tensor, half_width: int = SMOOTH_HALF_WIDTH,
                  sigma: float = SMOOTH_SIGMA) -> torch.Tensor:
    """(B, L) labels convolved with the Gaussian, zero beyond the window's ends, same length L."""
    if labels.ndim != 2:
        raise ValueError(f"smooth_labels: expected (batch, length) labels, got shape {tuple(labels.shape)}")
    y = labels.float()
    kernel = gaussian_kernel(half_width, sigma, device=y.device).view(1, 1, -1)
    return F.conv1d(y.unsqueeze(1), kernel, padding=half_width).squeeze(1)


def teacher_loss(logits: torch.Tensor, labels: torch.Tensor, alpha: float) -> torch.Tensor:
    """alpha * (1 - cos(sigmoid(logits), smooth(y))) + (1 - alpha) * BCE(sigmoid(logits), y), batch mean.

    Computed in float32 outside autocast; the BCE is taken from the logits, which equals the BCE of the
    probabilities without its log(0) clamp.
    """
    if logits.shape != labels.shape:
        raise ValueError(f"teacher_loss: logits {tuple(logits.shape)} and labels {tuple(labels.shape)} differ")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"teacher_loss: alpha must lie in [0, 1], got {alpha}")
    with torch.autocast(logits.device.type, enabled=False):
        logits = logits.float()
        y = labels.float()
        loss = logits.new_zeros(())
        if alpha > 0:
            cos = F.cosine_similarity(torch.sigmoid(logits), smooth_labels(y), dim=1, eps=1e-8)
            loss = loss + alpha * (1.0 - cos).mean()
        if alpha < 1:
            loss = loss + (1.0 - alpha) * F.binary_cross_entropy_with_logits(logits, y)
    return loss
