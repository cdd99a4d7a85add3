"""The teacher loss and its label smoothing, against values computed by hand in numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tsad.models.vlm.losses import gaussian_kernel, smooth_labels, teacher_loss


def np_smooth(y):
    k = np.exp(-0.5 * (np.arange(-15, 16) / 5.0) ** 2)
    return np.convolve(y, k, mode="same")


def np_loss(logits, y, alpha):
    p = 1 / (1 + np.exp(-logits))
    s = np.stack([np_smooth(row) for row in y])
    cos = (p * s).sum(1) / np.maximum(np.linalg.norm(p, axis=1) * np.linalg.norm(s, axis=1), 1e-8)
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
    return alpha * (1 - cos).mean() + (1 - alpha) * bce


def test_kernel_values():
    k = gaussian_kernel()
    assert k.shape == (31,)
    assert k[15] == pytest.approx(1.0)
    assert k[20] == pytest.approx(np.exp(-0.5)) and k[10] == pytest.approx(np.exp(-0.5))
    assert k[0] == pytest.approx(np.exp(-4.5)) and k[30] == pytest.approx(np.exp(-4.5))
    assert torch.equal(k, k.flip(0))


def test_smoothing_same_length_zero_beyond_ends():
    y = torch.zeros(2, 256)
    y[0, 100] = 1
    y[1, 0] = 1
    s = smooth_labels(y)
    assert s.shape == (2, 256)
    assert torch.allclose(s[0, 85:116], gaussian_kernel())
    assert s[0, :85].abs().max() == 0 and s[0, 116:].abs().max() == 0
    assert torch.allclose(s[1, :16], gaussian_kernel()[15:])  # the left half falls off the window
    np.testing.assert_allclose(s.numpy(), np.stack([np_smooth(r) for r in y.numpy()]), atol=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_loss_matches_hand_computation(alpha):
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, (3, 256))
    y = (rng.random((3, 256)) < 0.02).astype(np.float64)
    y[2] = 0  # a window without any label: cosine with a zero vector is 0
    got = teacher_loss(torch.tensor(logits, dtype=torch.float32), torch.tensor(y, dtype=torch.float32), alpha)
    assert got.item() == pytest.approx(np_loss(logits, y, alpha), rel=1e-5)


def test_perfect_prediction_scores_lower():
    y = torch.zeros(4, 256)
    y[:, ::80] = 1
    good = teacher_loss(torch.where(y > 0, 8.0, -8.0), y, 0.5)
    bad = teacher_loss(torch.where(y > 0, -8.0, 8.0), y, 0.5)
    assert good < bad


def test_loss_under_autocast_is_float32():
    logits = torch.randn(2, 256, dtype=torch.bfloat16, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = teacher_loss(logits, torch.zeros(2, 256), 0.5)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert logits.grad is not None


def test_bad_input():
    with pytest.raises(ValueError, match="differ"):
        teacher_loss(torch.zeros(2, 256), torch.zeros(2, 255), 0.5)
    with pytest.raises(ValueError, match="alpha"):
        teacher_loss(torch.zeros(2, 256), torch.zeros(2, 256), 1.5)
    with pytest.raises(ValueError, match="batch, length"):
        smooth_labels(torch.zeros(256))
