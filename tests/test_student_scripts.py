"""The student scripts end to end on the small split workspace: train, resume, distil, infer, plot."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys

import numpy as np
import pytest
from kd_helpers import train_tiny_teacher

from tsad.core import paths
from tsad.core.checkpoint import load_checkpoint
from tsad.scoring.outputs import load_outputs
from tsad.training import distill

CODES = paths.REPO_ROOT / "Codes"
QUICK = ["--batch-size", "8", "--warmup-steps", "0", "--lr", "1e-3", "--device", "cpu"]


def _script(relpath: str):
    path = CODES / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_student_train_writes_the_run_and_resumes_from_the_last_epoch(split_workspace):
    ws = split_workspace
    train = _script("Models/student_train.py")
    train.main(["--workspace", str(ws.root), "--epochs", "1", "--limit-train", "8", *QUICK])
    run = ws.run_dir(paths.STUDENT_RUN)
    first = np.load(run / paths.TRAIN_LOSSES)
    assert first.shape == (1,)
    state = train.main(["--workspace", str(ws.root), "--epochs", "2", "--limit-train", "8", "--resume", *QUICK])
    losses = np.load(run / paths.TRAIN_LOSSES)
    assert losses.shape == (2,) and losses[0] == first[0] and state["epoch"] == 1
    assert np.load(run / paths.VAL_LOSSES).shape == (2,)
    ckpt = load_checkpoint(run / paths.STUDENT_CHECKPOINT)
    assert ckpt["kind"] == "student" and ckpt["lam"] == 0.0 and ckpt["model_config"]["hidden_size"] == 128
    meta = json.loads((run / paths.METADATA).read_text())
    assert meta["epochs_run"] == 2 and meta["n_train"] == 8 and meta["train_config"]["epochs"] == 2


def test_kd_train_then_infer_scores_every_test_window(split_workspace):
    ws = split_workspace
    checkpoint = train_tiny_teacher(ws, alpha=0.5)
    _script("Models/kd_train.py").main(["--workspace", str(ws.root), "--lam", "0.5", "--teacher", "vlm_0.5",
                                        "--epochs", "1", "--limit-train", "8", *QUICK])
    name = paths.kd_run_name(0.5, "vlm_0.5")
    ckpt = load_checkpoint(ws.run_dir(name) / paths.STUDENT_CHECKPOINT)
    assert (ckpt["lam"], ckpt["teacher"], ckpt["temperature"]) == (0.5, "vlm_0.5", 2.0)
    sha = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert ckpt["teacher_checkpoint_sha256"] == sha
    # the teacher scored the 8 train windows used and all 8 val windows, once
    for split, ids in (("train", range(8)), ("val", range(24, 32))):
        assert np.load(distill.cache_paths(ws, "vlm_0.5", sha, split)[1]).tolist() == list(ids)

    _script("Inference/lstm/student_infer.py").main(["--workspace", str(ws.root), "--run", name,
                                                     "--batch-size", "3", "--device", "cpu"])
    out = load_outputs(ws.run_dir(name), name)
    test_ids = np.load(ws.split_npy("test")).shape[0]
    assert out.probs.shape == (test_ids, 256) and out.ts.shape == (test_ids, 256, 2)
    assert out.ids.tolist() == list(range(32, 40))


def test_kd_train_refuses_a_missing_teacher(split_workspace):
    with pytest.raises(FileNotFoundError, match="vlm_1.*smolvlm_best.pth"):
        _script("Models/kd_train.py").main(["--workspace", str(split_workspace.root), "--lam", "1",
                                            "--teacher", "vlm_1", "--epochs", "1", *QUICK])


def test_plot_losses_writes_one_png_per_run_and_a_comparison(split_workspace):
    ws = split_workspace
    for run, scale in (("LSTM_train", 1.0), ("vlm_1", 2.0)):
        ws.run_dir(run).mkdir(parents=True)
        np.save(ws.run_dir(run) / paths.TRAIN_LOSSES, np.array([0.6, 0.4, 0.3], np.float32) * scale)
        np.save(ws.run_dir(run) / paths.VAL_LOSSES, np.array([0.7, 0.5, 0.45], np.float32) * scale)
    written = _script("Models/plot_losses.py").main(["--workspace", str(ws.root)])
    names = sorted(p.name for p in written)
    assert names == ["losses_LSTM_train.png", "losses_all.png", "losses_vlm_1.png"]
    for p in written:
        assert p.parent == ws.plots and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_losses_without_runs_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="no run folder"):
        _script("Models/plot_losses.py").main(["--workspace", str(tmp_path)])


def test_scripts_run_as_files_show_help(monkeypatch, capsys):
    import runpy
    for rel in ("Models/student_train.py", "Models/kd_train.py", "Inference/lstm/student_infer.py",
                "Models/plot_losses.py"):
        monkeypatch.setattr(sys, "argv", [rel, "--help"])
        with pytest.raises(SystemExit) as stop:
            runpy.run_path(str(CODES / rel), run_name="__main__")
        assert stop.value.code == 0
        assert "python Codes/" in capsys.readouterr().out
