"""The student model: size, normalisation, probabilities, checkpoint round trip, learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tsad.core.checkpoint import save_checkpoint, trainable_state_dict
from tsad.data.splits import load_split
from tsad.models.student import (
    KIND,
    RNNAnomalyDetector,
    StudentConfig,
    config_dict,
    count_parameters,
    load_student,
    student_probs,
)


def test_parameter_count_matches_the_seed():
    assert count_parameters(RNNAnomalyDetector()) == 530_689


def test_output_is_invariant_to_gain_and_offset_of_the_raw_series():
    torch.manual_seed(0)
    model = RNNAnomalyDetector().eval()
    x = torch.randn(3, 256, 2) * 0.3
    with torch.no_grad():
        a, b = model(x), model(x * 4.0 + 1.5)
    assert a.shape == (3, 256)
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_student_probs_scores_every_window_in_batches():
    torch.manual_seed(0)
    model = RNNAnomalyDetector()
    series = np.random.default_rng(0).normal(0, 0.2, (7, 256, 2)).astype(np.float32)
    probs = student_probs(model, series, batch_size=3)
    assert probs.shape == (7, 256) and probs.dtype == np.float32
    with torch.no_grad():  # one batch of all 7 through forward, in eval mode (no dropout)
        expected = torch.sigmoid(model.eval()(torch.from_numpy(series))).numpy()
    np.testing.assert_allclose(probs, expected, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match=r"\(N, L, 2\)"):
        student_probs(model, series[..., 0])


def test_load_student_rebuilds_from_the_checkpoint_alone(tmp_path):
    cfg = StudentConfig(hidden_size=16, num_layers=1)
    model = RNNAnomalyDetector(cfg)
    save_checkpoint(tmp_path / "best.pth", {"kind": KIND, "model_config": config_dict(model),
                                            "model": trainable_state_dict(model)})
    loaded = load_student(tmp_path, device="cpu")
    assert not loaded.training and loaded.config == cfg
    x = np.random.default_rng(1).normal(0, 0.2, (2, 256, 2)).astype(np.float32)
    np.testing.assert_allclose(student_probs(loaded, x), student_probs(model.eval(), x), atol=1e-6)


def test_load_student_refuses_another_kind(tmp_path):
    model = RNNAnomalyDetector(StudentConfig(hidden_size=8, num_layers=1))
    save_checkpoint(tmp_path / "best.pth", {"kind": "teacher", "model_config": config_dict(model),
                                            "model": trainable_state_dict(model)})
    with pytest.raises(ValueError, match="expected a 'student' model"):
        load_student(tmp_path, device="cpu")


def _train_steps(x, y, steps, lr=1e-2):
    """A fresh student trained on one batch: (loss before, loss after, probabilities after)."""
    torch.manual_seed(0)
    model = RNNAnomalyDetector()
    with torch.no_grad():
        before = F.binary_cross_entropy_with_logits(model(x), y).item()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        return before, F.binary_cross_entropy_with_logits(model(x), y).item(), torch.sigmoid(model(x))


def test_loss_goes_down_and_spikes_stand_out_on_a_small_batch(split_workspace):
    train = load_split(split_workspace, "train", check_images=False).subset(8)
    x, y = torch.from_numpy(train.series), torch.from_numpy(train.labels)
    before, after, probs = _train_steps(x, y, steps=25)
    assert after < 0.25 * before
    # Beyond learning the base rate: the labelled spikes score above the background.
    assert probs[y == 1].mean() > 3 * probs[y == 0].mean()


def _svdb_windows(svdb_dir, records=("800", "801"), per_record=4):
    """The first real svdb windows of two records, made the way the data stage makes them."""
    from tsad.data.ecg import make_windows, read_record

    xs, ys = [], []
    for name in records:
        windows = make_windows(read_record(svdb_dir / name), seconds=2, labels="beats")
        xs.append(windows.series[:per_record])
        ys.append(windows.labels[:per_record].astype(np.float32))
    return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))


def test_loss_goes_down_on_real_svdb_windows(svdb_dir):
    x, y = _svdb_windows(svdb_dir)
    assert x.shape == (8, 256, 2) and 5 <= y.sum() <= 40  # two to three beats a window at 128 Hz
    before, after, _ = _train_steps(x, y, steps=12)
    assert after < 0.25 * before
