"""Student architectures, the training recipe (augmentation, soft targets, pos-weight) and presets."""

import argparse
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tsad.core.checkpoint import load_checkpoint, save_checkpoint
from tsad.data.augment import AugmentConfig, augment_batch, soft_targets
from tsad.models.student import ARCHITECTURES, build_student, count_parameters, load_student, student_config
from tsad.training.flags import PRESETS, Recipe, parse_train_args, recipe_from_args, resolve_preset
from tsad.training.loop import TrainConfig
from tsad.training.students import make_loss, train_run


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_is_small_and_maps_steps_to_logits(arch):
    model = build_student(student_config(arch)).eval()
    assert count_parameters(model) <= 1_100_000
    with torch.no_grad():
        assert model(torch.randn(3, 256, 2)).shape == (3, 256)
        assert model(torch.randn(2, 1000, 2)).shape == (2, 1000)       # 4 s at 250 Hz
    one_lead = build_student(student_config(arch, input_size=1)).eval()
    with torch.no_grad():
        assert one_lead(torch.randn(2, 256, 1)).shape == (2, 256)


def test_original_bilstm_keeps_its_parameter_count():
    assert count_parameters(build_student(student_config("bilstm"))) == 530_689


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_learns_through_fit(arch, split_workspace):
    cfg = TrainConfig(epochs=6, batch_size=8, lr=1e-2, warmup_steps=2, patience=10, device="cpu")
    history = train_run(split_workspace, cfg, arch=arch, run_name=f"s_{arch}")
    losses = history["train_losses"]
    assert losses[-1] < 0.75 * losses[0], losses          # a quarter off in 6 short epochs
    model = load_student(split_workspace.run_dir(f"s_{arch}"), "cpu")
    assert type(model) is ARCHITECTURES[arch][0] and model.config.arch == arch
    tuned = json.loads((split_workspace.run_dir(f"s_{arch}") / "detection.json").read_text())
    assert tuned["threshold"] in tuned["grid"]


def test_batchnorm_statistics_survive_the_checkpoint(split_workspace):
    cfg = TrainConfig(epochs=1, batch_size=8, lr=3e-3, warmup_steps=2, device="cpu")
    train_run(split_workspace, cfg, arch="tcn", run_name="bn")
    state = load_checkpoint(split_workspace.run_dir("bn") / "best.pth")
    means = [k for k in state["model"] if k.endswith("running_mean")]
    assert means and any(state["model"][k].abs().sum() > 0 for k in means)
    model = load_student(split_workspace.run_dir("bn"), "cpu")
    assert torch.equal(model.state_dict()[means[0]], state["model"][means[0]])


def test_a_checkpoint_of_one_architecture_is_refused_as_another(split_workspace, tmp_path):
    cfg = TrainConfig(epochs=1, batch_size=8, lr=3e-3, warmup_steps=2, device="cpu")
    train_run(split_workspace, cfg, arch="unet", run_name="u")
    state = load_checkpoint(split_workspace.run_dir("u") / "best.pth")
    state["model_config"]["arch"] = "tcn"
    (tmp_path / "fake").mkdir()
    save_checkpoint(tmp_path / "fake" / "best.pth", state)
    with pytest.raises(ValueError, match="best.pth: weights for another model"):
        load_student(tmp_path / "fake", "cpu")


# ---- augmentation and targets -------------------------------------------------------------------

def _spiky_batch():
    x = torch.zeros(4, 256, 2)
    y = torch.zeros(4, 256)
    for b, pos in enumerate((40, 90, 128, 200)):
        x[b, pos] = torch.tensor([2.0, -1.0])
        y[b, pos] = 1
    return x, y


def test_time_shift_moves_the_labels_with_the_signal():
    x, y = _spiky_batch()
    torch.manual_seed(0)
    cfg = AugmentConfig(amplitude=0, wander_mv=0, noise_mv=0, shift=30, lead_dropout=0)
    xa, ya, ta = augment_batch(x, y, cfg, aligned=y.clone() * 7)
    assert not torch.equal(xa, x)
    for b in range(4):
        assert ya[b].sum() == 1 and xa[b, :, 0].argmax() == ya[b].argmax()
        assert abs(int(ya[b].argmax()) - int(y[b].argmax())) <= 30
        assert torch.equal(ta[b], ya[b] * 7)                       # teacher logits move alike


def test_amplitude_noise_wander_and_lead_dropout_each_do_what_they_say():
    x, y = _spiky_batch()
    off = AugmentConfig.off()
    torch.manual_seed(1)
    xa, ya, _ = augment_batch(x, y, AugmentConfig(**{**vars(off), "amplitude": 0.5}))
    ratio = xa[:, 40:41].sum(1) / x[:, 40:41].sum(1).clamp_min(1e-9)
    spike = xa.abs().amax(1) / x.abs().amax(1)                       # per window and lead
    assert torch.equal(ya, y) and ((spike >= np.exp(-0.5) - 1e-6) & (spike <= np.exp(0.5) + 1e-6)).all()
    del ratio
    xa, _, _ = augment_batch(x, y, AugmentConfig(**{**vars(off), "noise_mv": 0.1}))
    assert 0.07 < (xa - x).std() < 0.13
    xa, _, _ = augment_batch(x, y, AugmentConfig(**{**vars(off), "wander_mv": 0.3}))
    assert 0 < (xa - x).abs().max() <= 0.3 + 1e-6
    xa, _, _ = augment_batch(x.repeat(50, 1, 1), y.repeat(50, 1), AugmentConfig(**{**vars(off), "lead_dropout": 0.5}))
    zeroed = (xa.abs().sum(1) == 0)
    assert zeroed.any() and not zeroed.all(1).any()                 # one lead at most, never both
    assert 0.3 < zeroed.any(1).float().mean() < 0.7


def test_morphology_augmentations_invert_swap_and_stretch_with_the_labels():
    x, y = _spiky_batch()
    x[:, :, 1] = x[:, :, 0] * 0.5                                     # tell the leads apart
    off = AugmentConfig.off()
    torch.manual_seed(2)
    xa, ya, _ = augment_batch(x, y, AugmentConfig(**{**vars(off), "invert": 1.0}))
    assert torch.equal(xa, -x) and torch.equal(ya, y)
    xa, _, _ = augment_batch(x, y, AugmentConfig(**{**vars(off), "lead_swap": 1.0}))
    assert torch.equal(xa, x.flip(2))
    xa, ya, ta = augment_batch(x, y, AugmentConfig(**{**vars(off), "stretch": 0.3}), aligned=y.clone() * 5)
    moved = 0
    for b in range(4):                # each beat moves with its spike, and the teacher's logits with both
        assert ya[b].sum() == 1 and abs(int(xa[b, :, 0].argmax()) - int(ya[b].argmax())) <= 1
        assert abs(int(ta[b].argmax()) - int(ya[b].argmax())) <= 1
        moved += int(ya[b].argmax() != y[b].argmax())
    assert moved >= 2


def test_rarity_weights_draw_rare_beats_more_often():
    from tsad.data.sampling import parse_symbols, rarity_weights
    from tsad.data.splits import SplitData

    assert parse_symbols("3:N 40:+ 90:V 200:~") == ["N", "V"]
    symbols = [["N"]] * 90 + [["V"]] * 10 + [[]] * 100
    w = rarity_weights(symbols, power=1.0)
    assert w[0] == 1 and w[95] == 9 and w[150] == 1
    assert rarity_weights(symbols, power=0.0).tolist() == [1.0] * 200
    data = SplitData("train", np.arange(200), np.zeros((200, 4, 1), np.float32), np.zeros((200, 4), np.float32), None)
    uniform = data.sample(40, seed=0).ids
    weighted = data.sample(40, seed=0, weights=w).ids
    assert ((weighted >= 90) & (weighted < 100)).sum() > 2 * ((uniform >= 90) & (uniform < 100)).sum()


def test_soft_targets_by_hand():
    y = torch.zeros(1, 12)
    y[0, 5] = 1
    soft = soft_targets(y, sigma=1.0)
    assert soft[0, 5] == 1 and soft[0, 4] == pytest.approx(np.exp(-0.5)) and soft[0, 3] == pytest.approx(np.exp(-2))
    assert soft[0, 9] == pytest.approx(0.0, abs=1e-6) and torch.equal(soft_targets(y, 0), y)


def test_pos_weight_and_soft_targets_enter_the_loss_as_the_formula_says():
    torch.manual_seed(0)
    model = build_student(student_config("tcn")).eval()
    x, y = _spiky_batch()
    logits = model(x).float()
    loss = make_loss(recipe=Recipe(pos_weight=5.0))(model, {"x": x, "y": y})
    manual = -(5.0 * y * F.logsigmoid(logits) + (1 - y) * F.logsigmoid(-logits)).mean()
    assert loss.item() == pytest.approx(manual.item(), rel=1e-5)
    soft = make_loss(recipe=Recipe(soft_sigma=2.0))(model, {"x": x, "y": y})
    assert soft.item() == pytest.approx(F.binary_cross_entropy_with_logits(logits, soft_targets(y, 2.0)).item(),
                                        rel=1e-5)


def test_validation_batches_are_never_augmented():
    model = build_student(student_config("tcn")).eval()
    x, y = _spiky_batch()
    loss_fn = make_loss(recipe=Recipe(AugmentConfig(noise_mv=1.0)))
    assert loss_fn(model, {"x": x, "y": y}).item() == loss_fn(model, {"x": x, "y": y}).item()


# ---- presets ------------------------------------------------------------------------------------

def test_default_is_the_original_schedule():
    args = parse_train_args([])
    assert (args.preset, args.arch, args.lr, args.batch_size, args.epochs, args.patience) == \
        ("seed", "bilstm", 2e-5, 16, 15, 5)
    assert not recipe_from_args(args).augment.active
    assert parse_train_args([], distill=True).epochs == 10


def test_recommended_preset_and_an_explicit_flag_beside_it():
    args = parse_train_args(["--preset", "recommended"])
    for key, value in PRESETS["recommended"].items():
        assert getattr(args, key) == value, key
    assert parse_train_args(["--preset", "recommended", "--lr", str(PRESETS["recommended"]["lr"])]).lr == \
        PRESETS["recommended"]["lr"]
    # without an explicit preset, a flag simply overrides the original schedule
    assert parse_train_args(["--lr", "1e-3", "--arch", "unet"]).arch == "unet"


def test_fast_preset_is_the_recommended_recipe_with_the_small_student_and_wider_targets():
    fast, recommended = parse_train_args(["--preset", "fast"]), parse_train_args(["--preset", "recommended"])
    assert (fast.arch, fast.soft_sigma) == ("fcn_20k", 2.0)
    differ = {k for k in PRESETS["recommended"] if getattr(fast, k) != getattr(recommended, k)}
    assert differ == {"arch", "soft_sigma"}
    with pytest.raises(ValueError, match="--soft-sigma 1.0 contradicts --preset fast"):
        parse_train_args(["--preset", "fast", "--soft-sigma", "1"])


def test_a_flag_contradicting_an_explicit_preset_is_refused():
    with pytest.raises(ValueError, match="--arch unet contradicts --preset seed"):
        parse_train_args(["--preset", "seed", "--arch", "unet"])
    with pytest.raises(ValueError, match="--lr 0.1 contradicts --preset recommended"):
        resolve_preset(argparse.Namespace(preset="recommended", lr=0.1, **{
            k: None for k in PRESETS["recommended"] if k != "lr"}))


def test_unknown_architecture_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_train_args(["--arch", "transformer"])
    assert exit_info.value.code == 2 and "invalid choice: 'transformer'" in capsys.readouterr().err
