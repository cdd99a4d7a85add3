"""The teacher's scripts end to end on the tiny backbone: training through runpy with patched argv,
inference of every test window, and a two-process DDP run on the CPU."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tsad.core import paths
from tsad.data.splits import load_split
from tsad.models.vlm.teacher import load_teacher, predict_images
from tsad.scoring.outputs import load_outputs

REPO = paths.REPO_ROOT
TRAIN = {a: REPO / "Codes" / "Models" / f"vlm_train_{a}.py" for a in ("0.5", "1")}
INFER = {a: REPO / "Codes" / "Inference" / "vlm" / f"vlm_{a}_infer.py" for a in ("0.5", "1")}
QUICK = ["--limit-train", "6", "--limit-val", "3", "--batch-size", "3", "--warmup-steps", "0", "--lr", "1e-3",
         "--device", "cpu"]


def run_script(path, monkeypatch, *args):
    monkeypatch.setattr(sys, "argv", [str(path), *map(str, args)])
    runpy.run_path(str(path), run_name="__main__")


@pytest.mark.parametrize("alpha", ["0.5", "1"])
def test_train_then_infer_scores_every_test_window(alpha, split_workspace, monkeypatch):
    ws = split_workspace
    run_script(TRAIN[alpha], monkeypatch, "--workspace", ws.root, "--epochs", "2", *QUICK)
    run = ws.run_dir(f"vlm_{alpha}")
    for name in (paths.TEACHER_CHECKPOINT, paths.LAST_CHECKPOINT, paths.TRAIN_LOSSES, paths.VAL_LOSSES,
                 paths.METADATA):
        assert (run / name).is_file(), name
    meta = json.loads((run / paths.METADATA).read_text())
    assert meta["backbone"] == "tiny" and meta["backbone_untrained"] is True
    assert meta["backbone_path"].endswith("smolvlm-tiny") and meta["alpha"] == float(alpha)
    assert meta["train_config"]["epochs"] == 2 and meta["image_tokens"] == 16
    assert np.load(run / paths.TRAIN_LOSSES).shape == (2,)
    assert (ws.models_dir / "smolvlm-tiny" / "model.safetensors").is_file()

    # 8 test windows in batches of 3: the last, short batch is scored too
    run_script(INFER[alpha], monkeypatch, "--workspace", ws.root, "--batch-size", "3", "--device", "cpu")
    out = load_outputs(run, f"vlm_{alpha}")
    test = load_split(ws, "test")
    assert out.probs.shape == (8, 256) and out.ts.shape == (8, 256, 2)
    np.testing.assert_array_equal(out.ids, test.ids)
    np.testing.assert_array_equal(out.labels, test.labels)
    # every row is the sigmoid of the teacher's logits for that window's image, scored alone in memory
    bundle = load_teacher(run, "cpu")
    for row in (0, 7):  # the first batch and the short last one
        image = np.asarray(Image.open(test.image_paths[row]).convert("RGB"))
        expected = 1 / (1 + np.exp(-predict_images(bundle, [image])[0].astype(np.float64)))
        np.testing.assert_allclose(out.probs[row], expected, rtol=0, atol=1e-5)
    assert len(np.unique(out.probs.round(6), axis=0)) > 1  # the windows got their own scores


def test_train_defaults_are_the_seeds():
    from tsad.training.vlm_teacher import parse_args

    args = parse_args([], run="vlm_0.5")
    assert (args.epochs, args.batch_size, args.lr, args.weight_decay, args.warmup_steps, args.grad_clip) == \
        (5, 16, 2e-5, 0.01, 1000, 1.0)
    assert args.model == "tiny" and not args.image_splitting


def test_inference_without_a_trained_teacher_fails_clearly(split_workspace, monkeypatch, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_script(INFER["1"], monkeypatch, "--workspace", split_workspace.root, "--device", "cpu")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "smolvlm_best.pth: checkpoint not found" in err[0]


def test_two_process_ddp_on_cpu(split_workspace):
    ws = split_workspace
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "Codes")}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(TRAIN["0.5"]), "--workspace", str(ws.root), "--epochs", "2", *QUICK]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    run = ws.run_dir("vlm_0.5")
    meta = json.loads((run / paths.METADATA).read_text())
    losses = np.load(run / paths.TRAIN_LOSSES)
    assert losses.shape == (2,) and np.isfinite(losses).all()
    assert np.isfinite(np.load(run / paths.VAL_LOSSES)).all()
    assert meta["backbone"] == "tiny" and (run / paths.TEACHER_CHECKPOINT).is_file()
    # 6 train windows shared by 2 processes (tests/test_ddp.py checks the shards themselves)
    assert (meta["world_size"], meta["train_windows_per_process"]) == (2, 3)
    assert not list(run.glob("*.tmp*"))
