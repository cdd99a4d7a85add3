"""tsad.training.loop.fit itself: it learns, keeps the best epoch, stops early, follows its learning-rate
schedule, refuses a non-finite loss, and resumes to the same weights and optimiser state as a run
that was never stopped (the plain fit, the student script and the tiny teacher)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from tsad.core import checkpoint, paths
from tsad.core.checkpoint import load_checkpoint
from tsad.training import loop
from tsad.training.loop import TrainConfig, fit, linear_warmup_decay

CPU = dict(device="cpu", num_workers=0, seed=0)


def _mse(model, batch):
    x, y = batch
    return ((model(x).squeeze(-1) - y) ** 2).mean()


def _scalar_model() -> nn.Module:
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.zero_()
    return model


def _constant_data(target: float, n: int = 4) -> TensorDataset:
    return TensorDataset(torch.ones(n, 1), torch.full((n,), float(target)))


def _regression_data(n: int, seed: int) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0, -1.0]) + 0.5
    return TensorDataset(x, y)


def _fit(model, train_ds, val_ds, run_dir, loss_fn=_mse, resume=False, **cfg):
    config = TrainConfig(**{**dict(batch_size=4, warmup_steps=0, weight_decay=0.0, patience=100), **CPU, **cfg})
    return fit(model, train_ds, val_ds, loss_fn, config, run_dir, kind="test", model_config={}, resume=resume)


def test_fit_learns_a_linear_regression(tmp_path):
    """Five epochs of fit take the training loss below a fifth of its first epoch's value."""
    torch.manual_seed(0)
    state = _fit(nn.Linear(6, 1), _regression_data(64, 0), _regression_data(16, 1), tmp_path / "run",
                 epochs=5, lr=0.3, batch_size=8)
    losses = state["train_losses"]
    assert len(losses) == 5 and losses[-1] < 0.2 * losses[0], losses
    assert state["val_losses"][-1] < 0.2 * state["val_losses"][0]
    assert np.load(tmp_path / "run" / paths.TRAIN_LOSSES).tolist() == pytest.approx(losses)


# One weight w, starting at 0, trained towards 1; the validation target 0.45 is passed on the way,
# so the validation loss falls, then rises: its minimum is an inner epoch.
def _overshooting_run(run_dir, **cfg):
    return _fit(_scalar_model(), _constant_data(1.0), _constant_data(0.45), run_dir,
                **{**dict(epochs=6, lr=0.2), **cfg})


def test_best_checkpoint_is_the_epoch_of_the_lowest_validation_loss(tmp_path):
    run = tmp_path / "run"
    state = _overshooting_run(run)
    val = state["val_losses"]
    best = int(np.argmin(val))
    assert 0 < best < len(val) - 1  # an inner minimum, so "the last" or "the first" would be wrong
    ckpt = load_checkpoint(run / paths.STUDENT_CHECKPOINT)
    assert ckpt["epoch"] == best and ckpt["val_loss"] == pytest.approx(val[best])
    w = ckpt["model"]["weight"].item()
    assert (w - 0.45) ** 2 == pytest.approx(val[best], rel=1e-5)  # best.pth holds that epoch's weights
    meta = json.loads((run / paths.METADATA).read_text())
    assert meta["best_epoch"] == best and meta["epochs_run"] == 6 and meta["finished"]
    assert load_checkpoint(run / paths.LAST_CHECKPOINT)["epoch"] == 5


def test_early_stopping_after_patience_epochs_without_improvement(tmp_path):
    full = _overshooting_run(tmp_path / "full")
    best = int(np.argmin(full["val_losses"]))
    state = _overshooting_run(tmp_path / "stopped", patience=2)
    assert state["early_stopped"] and len(state["val_losses"]) == best + 1 + 2
    assert state["val_losses"] == pytest.approx(full["val_losses"][: best + 3])
    meta = json.loads((tmp_path / "stopped" / paths.METADATA).read_text())
    assert meta["epochs_run"] == best + 3 and meta["finished"]


def test_schedule_values_at_chosen_steps():
    """lr(step) = peak * (step + 1) / warmup during warm-up, then peak * (total - step) / (total - warmup)."""
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=2.0)
    sched = linear_warmup_decay(opt, warmup_steps=4, total_steps=12)
    seen = {}
    for step in range(13):
        seen[step] = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
    assert [seen[s] for s in (0, 1, 3, 4, 6, 8, 11, 12)] == pytest.approx(
        [0.5, 1.0, 2.0, 2.0, 1.5, 1.0, 0.25, 0.0])


def test_fit_follows_the_schedule(tmp_path, monkeypatch):
    """One step per epoch, warm-up 3 of 6 steps: the lr saved after each epoch is the next step's."""
    saved = []
    real_save = checkpoint.save_checkpoint

    def recording_save(path, state):
        if "optimizer" in state:
            saved.append(state["optimizer"]["param_groups"][0]["lr"])
        real_save(path, state)

    monkeypatch.setattr(loop, "save_checkpoint", recording_save)
    _fit(_scalar_model(), _constant_data(1.0), _constant_data(1.0), tmp_path / "run", epochs=6, lr=0.3,
         warmup_steps=3)
    # factor(step) for steps 1..6: 2/3, 3/3, then (6 - step) / 3
    assert saved == pytest.approx([0.2, 0.3, 0.3, 0.2, 0.1, 0.0])


def test_non_finite_loss_stops_with_a_clear_error(tmp_path):
    def exploding(model, batch):
        return _mse(model, batch) * float("nan")

    with pytest.raises(FloatingPointError, match="epoch 1/2 train: the loss became nan; lower --lr"):
        _fit(_scalar_model(), _constant_data(1.0), _constant_data(1.0), tmp_path / "run", loss_fn=exploding,
             epochs=2, lr=0.1)
    assert not (tmp_path / "run" / paths.LAST_CHECKPOINT).exists()


# ---- resume ------------------------------------------------------------------------------------

class Stop(Exception):
    """Stands for a run killed right after an epoch's files were written."""


def stop_after_first_epoch(monkeypatch):
    real_write = loop._write_run_files

    def write_then_stop(run_dir, header, state, best_name):
        real_write(run_dir, header, state, best_name)
        if state["epoch"] == 0:
            raise Stop

    monkeypatch.setattr(loop, "_write_run_files", write_then_stop)


def assert_same_training_state(straight_dir, resumed_dir):
    """Weights, optimiser moments and step counts, scheduler and losses: bitwise equal (one thread)."""
    a, b = load_checkpoint(straight_dir / paths.LAST_CHECKPOINT), load_checkpoint(resumed_dir / paths.LAST_CHECKPOINT)
    assert a["epoch"] == b["epoch"] == 1
    assert a["model"].keys() == b["model"].keys()
    for name in a["model"]:
        assert torch.equal(a["model"][name], b["model"][name]), name
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    assert sa.keys() == sb.keys() and len(sa) > 0
    for key in sa:
        for field in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(sa[key][field], sb[key][field]), (key, field)
    assert a["optimizer"]["param_groups"] == b["optimizer"]["param_groups"]
    assert a["scheduler"] == b["scheduler"]
    assert a["progress"]["train_losses"] == b["progress"]["train_losses"]
    assert a["progress"]["val_losses"] == b["progress"]["val_losses"]


class DropoutNet(nn.Module):
    """Dropout makes the result depend on the random state at the start of the second epoch."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))

    def forward(self, x):
        return self.net(x)


def _dropout_run(run_dir, resume=False):
    torch.manual_seed(0)
    return _fit(DropoutNet(), _regression_data(24, 0), _regression_data(8, 1), run_dir, resume=resume,
                epochs=2, lr=0.01, warmup_steps=2)


def test_resume_equals_a_straight_run(tmp_path, monkeypatch):
    _dropout_run(tmp_path / "straight")
    with monkeypatch.context() as m:
        stop_after_first_epoch(m)
        with pytest.raises(Stop):
            _dropout_run(tmp_path / "resumed")
    torch.manual_seed(123)  # a resumed process does not start from the same random state
    _dropout_run(tmp_path / "resumed", resume=True)
    assert_same_training_state(tmp_path / "straight", tmp_path / "resumed")


@pytest.mark.parametrize("recipe", [[], ["--aug-noise-mv", "0.05", "--aug-shift", "3"]],
                         ids=["plain", "augmented"])
def test_student_script_resume_equals_a_straight_run(split_workspace, monkeypatch, tmp_path, recipe):
    from test_student_scripts import QUICK, _script

    student_train = _script("Models/student_train.py")
    ws = split_workspace
    args = ["--workspace", str(ws.root), "--epochs", "2", "--limit-train", "8", *QUICK, *recipe]
    student_train.main([*args, "--seed", "3"])
    straight = tmp_path / "straight"
    ws.run_dir(paths.STUDENT_RUN).rename(straight)
    with monkeypatch.context() as m:
        stop_after_first_epoch(m)
        with pytest.raises(Stop):
            student_train.main([*args, "--seed", "3"])
    student_train.main([*args, "--seed", "3", "--resume"])
    assert_same_training_state(straight, ws.run_dir(paths.STUDENT_RUN))


def test_teacher_resume_equals_a_straight_run(split_workspace, monkeypatch, tmp_path):
    from tsad.training import vlm_teacher

    ws = split_workspace
    args = ["--workspace", str(ws.root), "--model", "tiny", "--epochs", "2", "--limit-train", "6",
            "--limit-val", "3", "--batch-size", "3", "--warmup-steps", "1", "--lr", "1e-3", "--device", "cpu"]
    vlm_teacher.main(args, run="vlm_0.5")
    run = ws.run_dir(paths.teacher_run_name(0.5))
    straight = tmp_path / "straight"
    run.rename(straight)
    with monkeypatch.context() as m:
        stop_after_first_epoch(m)
        with pytest.raises(Stop):
            vlm_teacher.main(args, run="vlm_0.5")
    vlm_teacher.main([*args, "--resume"], run="vlm_0.5")
    assert_same_training_state(straight, run)


def test_stress_noise_has_its_snr_and_beatless_windows_lose_their_beats():
    import torch

    from tsad.data.augment import STRESS_SNR_DB, AugmentConfig, augment_batch, noise_bank

    bank = noise_bank(256, 128.0)
    assert bank.shape == (192, 256) and torch.allclose((bank ** 2).mean(1), torch.ones(192), atol=1e-4)
    x = torch.zeros(200, 256, 2)
    x[:, 100, 0], x[:, 100, 1] = 2.0, 1.0            # one beat of 2 and 1 mV peak to peak
    y = torch.zeros(200, 256)
    y[:, 100] = 1
    off = AugmentConfig.off()
    g = torch.Generator().manual_seed(0)
    noisy, y2, _ = augment_batch(x, y, AugmentConfig(**{**off.__dict__, "stress": 1.0}), generator=g)
    assert torch.equal(y2, y)                        # beats stay beats
    noise = noisy - x
    snr = 10 * torch.log10(torch.tensor([4.0, 1.0]) / 8 / (noise ** 2).mean(1))   # per window and lead
    assert STRESS_SNR_DB[0] - 1 <= snr.min() and snr.max() <= STRESS_SNR_DB[1] + 1
    empty, y3, t3 = augment_batch(x, y, AugmentConfig(**{**off.__dict__, "beatless": 1.0}), generator=g,
                                  aligned=torch.zeros(200, 256))
    assert y3.sum() == 0 and (t3 == -10).all() and not torch.allclose(empty, x)
    same, y4, _ = augment_batch(x, y, AugmentConfig(**{**off.__dict__, "beatless": 0.0, "stress": 0.0}), generator=g)
    assert torch.equal(same, x) and torch.equal(y4, y)


def test_pause_cuts_one_beats_qrs_and_t_keeps_its_p_wave_and_the_next_beat():
    import torch

    from tsad.data.augment import AugmentConfig, augment_batch

    fs = 128.0
    x = torch.zeros(4, 256, 2)
    y = torch.zeros(4, 256)
    for beat in (60, 160):                           # two beats 0.78 s apart, each with a P wave
        x[:, beat - 20, :] = 0.2                     # P wave, 156 ms before
        x[:, beat, :] = 1.5                          # R
        x[:, beat + 35, :] = 0.3                     # T wave, 273 ms after
        y[:, beat] = 1
    cfg = AugmentConfig(**{**AugmentConfig.off().__dict__, "pause": 1.0})
    out, y2, t2 = augment_batch(x, y, cfg, fs=fs, generator=torch.Generator().manual_seed(0),
                                aligned=torch.zeros(4, 256))
    assert (y2.sum(1) == 1).all()                    # one beat of two lost, in every window
    for i in range(4):
        lost = 60 if y2[i, 160] == 1 else 160
        kept = 220 - lost
        assert out[i, lost, 0] == 0 and out[i, lost + 35, 0] == 0 and out[i, lost - 20, 0] == 0.2   # P stays
        assert out[i, kept, 0] == 1.5 and out[i, kept - 20, 0] == 0.2        # the other beat and its P wave
        assert (t2[i, lost - 5:lost + 50] == -10).all() and t2[i, kept] == 0
    same, y3, _ = augment_batch(x, y, AugmentConfig(**{**cfg.__dict__, "pause": 0.0}), fs=fs)
    assert torch.equal(same, x) and torch.equal(y3, y)


def test_delay_opens_a_pause_after_a_beats_t_wave_and_moves_the_rest_later():
    import torch

    from tsad.data.augment import DELAY_AFTER_S, DELAY_GAP_S, AugmentConfig, augment_batch

    fs = 128.0
    x = torch.zeros(16, 256, 2)
    y = torch.zeros(16, 256)
    for beat in (40, 200):                           # two beats 1.25 s apart, each with a P and a T wave
        x[:, beat - 20, :] = 0.2
        x[:, beat, :] = 1.5
        x[:, beat + 35, :] = 0.3
        y[:, beat] = 1
    cfg = AugmentConfig(**{**AugmentConfig.off().__dict__, "delay": 1.0})
    out, y2, t2 = augment_batch(x, y, cfg, fs=fs, generator=torch.Generator().manual_seed(0),
                                aligned=torch.zeros(16, 256))
    at = 40 + round(DELAY_AFTER_S * fs)              # the only place (the second beat's T wave ends past the window)
    lo, hi = round(DELAY_GAP_S[0] * fs), round(DELAY_GAP_S[1] * fs)
    gaps = []
    for i in range(16):
        assert y2[i, 40] == 1 and out[i, 40, 0] == 1.5 and out[i, 75, 0] == 0.3       # the first beat whole
        moved = torch.nonzero(y2[i]).flatten().tolist()[1:]
        gap = moved[0] - 200 if moved else None
        if gap is not None:                          # the second beat, its P and T waves, moved alike
            assert lo <= gap <= hi and out[i, 200 + gap, 0] == 1.5 and out[i, 180 + gap, 0] == 0.2
            assert (t2[i, at:at + gap] == -10).all() and (out[i, at:at + gap] == 0).all()
            gaps.append(gap)
        else:                                        # moved past the window's end: no beat after the pause
            assert (t2[i, at:at + lo] == -10).all()
        assert y2[i].sum() <= y[i].sum()             # no beat is made, none is cut inside the window
    assert len(set(gaps)) > 3 and len(gaps) < 16     # pauses of several lengths; some push the beat out
    same, y3, _ = augment_batch(x, y, AugmentConfig(**{**cfg.__dict__, "delay": 0.0}), fs=fs)
    assert torch.equal(same, x) and torch.equal(y3, y)
