"""Distillation with the real tiny teacher (trained here for a few steps): the cache holds exactly
that checkpoint's teacher_logits, a retrained teacher gets fresh logits, and --temperature changes
the logged loss as kd_loss's formula says."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from kd_helpers import train_tiny_teacher
from test_student_scripts import QUICK, _script

from tsad.core import paths
from tsad.core.checkpoint import load_checkpoint
from tsad.data.splits import load_split
from tsad.models.student import load_student
from tsad.models.vlm.teacher import teacher_logits
from tsad.training.distill import cache_paths, kd_loss

N_TRAIN, N_VAL = 8, 4


def kd_train(ws, *extra):
    return _script("Models/kd_train.py").main(["--workspace", str(ws.root), "--lam", "0.5", "--teacher", "vlm_1",
                                               "--epochs", "1", "--limit-train", str(N_TRAIN), "--limit-val",
                                               str(N_VAL), *QUICK, *extra])


def cached(ws, checkpoint, split):
    sha = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    logits_path, ids_path = cache_paths(ws, "vlm_1", sha, split)
    return np.load(logits_path), np.load(ids_path)


def test_the_cache_holds_the_checkpoints_teacher_logits(split_workspace):
    ws = split_workspace
    checkpoint = train_tiny_teacher(ws)
    kd_train(ws)
    for split, n in (("train", N_TRAIN), ("val", N_VAL)):
        data = load_split(ws, split).subset(n)
        logits, ids = cached(ws, checkpoint, split)
        np.testing.assert_array_equal(ids, data.ids)
        expected = teacher_logits(ws.run_dir("vlm_1"), data.image_paths, device="cpu", progress=False)
        np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-6)
        assert logits.std() > 0  # the windows got their own logits
    ckpt = load_checkpoint(ws.run_dir(paths.kd_run_name(0.5, "vlm_1")) / paths.STUDENT_CHECKPOINT)
    assert ckpt["teacher_checkpoint_sha256"] == hashlib.sha256(checkpoint.read_bytes()).hexdigest()


def test_a_retrained_teacher_invalidates_the_cache(split_workspace):
    ws = split_workspace
    first = train_tiny_teacher(ws, seed=1)
    kd_train(ws)
    old, _ = cached(ws, first, "train")
    first_sha = hashlib.sha256(first.read_bytes()).hexdigest()

    second = train_tiny_teacher(ws, seed=2)  # same run folder, new weights
    assert hashlib.sha256(second.read_bytes()).hexdigest() != first_sha
    kd_train(ws)
    new, _ = cached(ws, second, "train")
    data = load_split(ws, "train").subset(N_TRAIN)
    expected = teacher_logits(ws.run_dir("vlm_1"), data.image_paths, device="cpu", progress=False)
    np.testing.assert_allclose(new, expected, rtol=0, atol=1e-6)
    assert np.abs(new - old).max() > 1e-3  # the old logits were not reused
    meta = json.loads((ws.run_dir(paths.kd_run_name(0.5, "vlm_1")) / paths.METADATA).read_text())
    assert meta["teacher_checkpoint_sha256"] != first_sha


def test_temperature_changes_the_loss_as_the_formula_says(split_workspace):
    """With lr 0 the student keeps its initial weights, so the logged validation loss is the KD
    formula of those weights on the val windows and the cached teacher logits, at the run's T."""
    ws = split_workspace
    checkpoint = train_tiny_teacher(ws)
    run = ws.run_dir(paths.kd_run_name(0.5, "vlm_1"))
    val = load_split(ws, "val").subset(N_VAL)
    losses = {}
    for temperature in (1.0, 4.0):
        kd_train(ws, "--temperature", str(temperature), "--lr", "0")
        meta = json.loads((run / paths.METADATA).read_text())
        assert meta["temperature"] == temperature
        teacher, _ = cached(ws, checkpoint, "val")
        with torch.no_grad():
            student = load_student(run, torch.device("cpu"))(torch.from_numpy(val.series)).float()
        y, t, T = torch.from_numpy(val.labels), torch.from_numpy(teacher), temperature
        # (1 - lam) * BCE(s, y) + lam * T^2 * BCE(s / T, sigmoid(t / T)), written out here
        hard = F.binary_cross_entropy_with_logits(student, y)
        soft = F.binary_cross_entropy_with_logits(student / T, torch.sigmoid(t / T))
        expected = 0.5 * hard + 0.5 * T * T * soft
        assert meta["val_losses"][0] == pytest.approx(expected.item(), rel=1e-5)
        assert kd_loss(student, y, t, 0.5, T).item() == pytest.approx(expected.item(), rel=1e-6)
        losses[temperature] = meta["val_losses"][0]
        run.rename(run.with_name(f"{run.name}_T{temperature:g}"))
    assert abs(losses[1.0] - losses[4.0]) > 1e-3
