"""Distil to deploy: the ensemble teacher (tsad.models.teachers.ensemble), distilling the fast students from
it, and cross-validation with each fold's own teacher (student_cv.py --fold-teacher)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO, run_script

from tsad.core.checkpoint import save_checkpoint, trainable_state_dict
from tsad.core.paths import Workspace
from tsad.models import loader
from tsad.models.student import build_student, student_config

GENERATE = REPO / "Codes/Dataset/data_generate.py"
SPLIT = REPO / "Codes/Dataset/data_split.py"
ENSEMBLE = REPO / "Codes/Models/ensemble_teacher.py"
KD = REPO / "Codes/Models/kd_train.py"
STUDENT_CV = REPO / "Codes/Models/student_cv.py"
GEOMETRY = {"fs": 128.0, "samples": 256, "channels": [0, 1], "labels": "beats"}


def _save_student(run: Path, arch: str, seed: int) -> None:
    torch.manual_seed(seed)
    model = build_student(student_config(arch))
    model.train()
    with torch.no_grad():
        model(torch.randn(8, 256, 2))
    save_checkpoint(run / "best.pth", {"kind": "student", "model_config": asdict(model.config),
                                       "model": trainable_state_dict(model), "geometry": GEOMETRY})


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Four one-minute synthetic records, their windows and plots, split record-wise."""
    from tsad.data.demo_db import DemoConfig, write_demo_database

    root = tmp_path_factory.mktemp("kd")
    raw = root / "raw"
    write_demo_database(raw, DemoConfig(n_records=4, minutes=1))
    ws = Workspace(root / "ws")
    run_script(GENERATE, ["--workspace", str(ws.root), "--input-dir", str(raw), "--workers", "1"])
    run_script(SPLIT, ["--workspace", str(ws.root), "--test-records", "demo00", "--val-records", "demo01"])
    return ws, raw


def test_the_ensemble_teacher_is_its_members_mean_logit(demo):
    ws, _ = demo
    for k in range(2):
        _save_student(ws.run_dir(f"member{k}"), "tcn", k)
    run_script(ENSEMBLE, ["--workspace", str(ws.root), "--name", "ens", "--members", "member0", "member1"])
    teacher = loader.load("ens", ws, device="cpu")
    assert teacher.kind == "teacher" and teacher.info["teacher_type"] == "ensemble"
    windows = np.random.default_rng(0).normal(size=(5, 256, 2)).astype(np.float32)
    members = [loader.load(f"member{k}", ws, device="cpu") for k in range(2)]
    logit = np.mean([np.log(m.window_probs(windows)) - np.log1p(-m.window_probs(windows)) for m in members], axis=0)
    assert np.allclose(teacher.window_probs(windows), 1 / (1 + np.exp(-logit)), atol=1e-4)
    state = torch.load(ws.run_dir("ens") / "smolvlm_best.pth", weights_only=True)
    assert [m["run"] for m in state["members"]] == [str(ws.run_dir(f"member{k}")) for k in range(2)]
    _save_student(ws.run_dir("other"), "fcn_1k", 0)
    with pytest.raises(ValueError, match="another student configuration"):
        run_script(ENSEMBLE, ["--workspace", str(ws.root), "--name", "bad", "--members", "member0", "other"])


def test_a_fast_student_distils_from_the_ensemble_and_its_loss_falls(demo):
    ws, _ = demo
    if not (ws.run_dir("ens") / "smolvlm_best.pth").is_file():
        for k in range(2):
            _save_student(ws.run_dir(f"member{k}"), "tcn", k)
        run_script(ENSEMBLE, ["--workspace", str(ws.root), "--name", "ens", "--members", "member0", "member1"])
    run_script(KD, ["--workspace", str(ws.root), "--teacher", "ens", "--lam", "0.5", "--arch", "fcn_1k",
                    "--epochs", "4", "--lr", "3e-3", "--batch-size", "8", "--warmup-steps", "2",
                    "--run-name", "fast_kd"])
    state = torch.load(ws.run_dir("fast_kd") / "best.pth", weights_only=True)
    assert state["teacher"] == "ens" and state["lam"] == 0.5 and state["model_config"]["arch"] == "fcn_1k"
    losses = np.load(ws.run_dir("fast_kd") / "train_losses.npy")      # one mean per epoch
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert list(ws.cache_dir.glob("teacher_logits/ens_*_train.npy"))


def test_cross_validation_distils_each_fold_from_its_own_teacher(demo):
    ws, raw = demo
    for fold in range(2):
        for k in range(2):
            _save_student(ws.run_dir(f"cv/m{k}/fold{fold}"), "tcn", 10 * fold + k)
    run_script(ENSEMBLE, ["--workspace", str(ws.root), "--name", "cv/ens/fold{fold}", "--folds", "2",
                          "--members", "cv/m0/fold{fold}", "cv/m1/fold{fold}"])
    recipe = ["--arch", "fcn_1k", "--epochs", "1", "--lr", "3e-3", "--batch-size", "16", "--warmup-steps", "2"]
    with pytest.raises(ValueError, match="needs both --lam > 0 and --fold-teacher"):
        run_script(STUDENT_CV, ["--workspace", str(ws.root), "--name", "x", "--folds", "2", "--lam", "0.5", *recipe])
    run_script(STUDENT_CV, ["--workspace", str(ws.root), "--name", "kd", "--folds", "2", "--lam", "0.5",
                            "--fold-teacher", "cv/ens/fold{fold}", *recipe])
    for fold in range(2):
        state = torch.load(ws.run_dir(f"cv/kd/fold{fold}") / "best.pth", weights_only=True)
        assert state["teacher"] == f"cv/ens/fold{fold}" and state["lam"] == 0.5
    # the teachers scored on the same folds as the students, tuned on each fold's validation records
    summary = run_script(STUDENT_CV, ["--workspace", str(ws.root), "--name", "ens-scored", "--folds", "2",
                                      "--models-from", "ens"])
    assert len(summary) > 0 and (ws.run_dir("cv/ens/fold0") / "detection.json").is_file()
    # two runs on the same folds pooled (as two seeds would be): intervals over every (run, fold)
    one, twice = (run_script(STUDENT_CV, ["--workspace", str(ws.root), "--compare", name]) for name in ("kd", "kd+kd"))
    assert (one["folds"].item(), twice["folds"].item()) == (2, 4)
    assert twice["records"].item() == 2 * one["records"].item()
    assert twice["gross F1"].item().split()[0] == one["gross F1"].item().split()[0]      # the same mean
    # the same fold models with one lead: nothing trained or tuned, the records read with lead 0 only
    tuned = (ws.run_dir("cv/kd/fold0") / "detection.json").read_bytes()
    run_script(STUDENT_CV, ["--workspace", str(ws.root), "--name", "kd-lead0", "--folds", "2",
                            "--models-from", "kd", "--leads", "0"])
    meta = json.loads((ws.root / "cv" / "kd-lead0" / "fold0" / "detections" / "detections.json").read_text())
    assert meta["leads"] == [0] and meta["models_from"] == "kd"
    assert (ws.run_dir("cv/kd/fold0") / "detection.json").read_bytes() == tuned
    assert not (ws.run_dir("cv/kd-lead0/fold0") / "best.pth").exists()      # nothing trained
