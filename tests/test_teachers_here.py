"""Teachers that learn here (tsad.models.teachers): the context teacher's windows at record edges, both
teachers learning, and distillation from them through the teacher-logit cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import run_script

from tsad.core.checkpoint import load_checkpoint
from tsad.core.fileio import sha256_file
from tsad.core.paths import REPO_ROOT, TEACHER_CHECKPOINT, Workspace, plot_name, window_id_of_plot
from tsad.data.splits import load_split
from tsad.models import loader, teachers
from tsad.models.teachers import base, context
from tsad.training.distill import cache_paths, teacher_hash

CODES = REPO_ROOT / "Codes"


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """Four 1-minute synthetic records (30 windows each); demo00 tests, demo01 validates."""
    from tsad.data.demo_db import DemoConfig, write_demo_database

    root = tmp_path_factory.mktemp("teachers")
    write_demo_database(root / "raw", DemoConfig(n_records=4, minutes=1))
    ws = Workspace(root / "ws")
    run_script(CODES / "Dataset/data_generate.py", ["--workspace", str(ws.root), "--input-dir", str(root / "raw"),
                                                    "--workers", "1"])
    run_script(CODES / "Dataset/data_split.py", ["--workspace", str(ws.root), "--test-records", "demo00",
                                                 "--val-records", "demo01"])
    return ws


# ---- the context teacher's windows ---------------------------------------------------------------

def test_context_centre_is_the_window_and_neighbours_come_from_the_same_record(ws):
    signals = context.WorkspaceSignals(ws.root)
    series = np.load(ws.segments_npy)
    records = signals.records
    first = np.flatnonzero(records == "demo01")[0]   # first window of demo01: demo00's last lies before it
    last = np.flatnonzero(records == "demo01")[-1]   # last window of demo01: demo02's first lies after it
    middle = first + 5
    out = signals.context(signals.ids[[first, middle, last]], context=1)
    assert out.shape == (3, 768, 3)
    for k, row in enumerate((first, middle, last)):
        np.testing.assert_array_equal(out[k, 256:512, :2], series[row])  # the centre is the window itself
        assert out[k, 256:512, 2].min() == 1
    # middle: the adjacent windows of the record, all signal
    np.testing.assert_array_equal(out[1, :256, :2], series[middle - 1])
    np.testing.assert_array_equal(out[1, 512:, :2], series[middle + 1])
    assert out[1, :, 2].min() == 1
    # first window: no left neighbour (the row before is another record): the first sample repeated, masked
    assert out[0, :256, 2].max() == 0
    np.testing.assert_array_equal(out[0, :256, :2], np.repeat(series[first][:1], 256, axis=0))
    np.testing.assert_array_equal(out[0, 512:, :2], series[first + 1])
    # last window: no right neighbour: the last sample repeated, masked
    assert out[2, 512:, 2].max() == 0
    np.testing.assert_array_equal(out[2, 512:, :2], np.repeat(series[last][-1:], 256, axis=0))
    np.testing.assert_array_equal(out[2, :256, :2], series[last - 1])


def test_wider_context_and_unknown_window(ws):
    signals = context.WorkspaceSignals(ws.root)
    row = np.flatnonzero(signals.records == "demo02")[1]  # one window on its left, many on its right
    out = signals.context(signals.ids[[row]], context=2)[0]
    assert out.shape == (1280, 3)
    np.testing.assert_array_equal(out[:, 2], np.r_[np.zeros(256), np.ones(1024)])
    with pytest.raises(ValueError, match="no window with id 99999"):
        signals.context([99999], 1)


def test_plot_names_give_back_the_window_id(tmp_path):
    assert window_id_of_plot(tmp_path / plot_name(1234)) == 1234
    with pytest.raises(ValueError, match="not a window plot name"):
        window_id_of_plot(tmp_path / "picture.png")


# ---- learning ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["picture", "context"])
def test_teacher_learns(ws, kind):
    train = load_split(ws, "train").subset(16)
    config = base.TeacherConfig(type=kind, channels=16, width=32, depth=5)
    ds = teachers.dataset(config, train, ws.root)
    batch = {key: torch.stack([ds[i][key] for i in range(len(ds))]) for key in ("x", "y")}
    torch.manual_seed(0)
    model = teachers.build(config).train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        loss = F.binary_cross_entropy_with_logits(model(batch["x"]), batch["y"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize("kind", ["picture", "context"])
def test_trained_teacher_distils_through_the_cache(ws, kind):
    """The script writes a kind-"teacher" checkpoint with its config; kd_train.py --teacher RUN caches
    exactly that checkpoint's logits, keyed by its hash."""
    run = f"{kind}_teacher"
    small = ["--channels", "8"] if kind == "picture" else ["--width", "16", "--depth", "3"]
    history = run_script(CODES / f"Models/{kind}_teacher_train.py",
                         ["--workspace", str(ws.root), "--epochs", "1", "--batch-size", "16", "--device", "cpu",
                          *small])
    assert history["finished"]
    state = load_checkpoint(ws.run_dir(run) / TEACHER_CHECKPOINT)
    assert state["kind"] == "teacher" and state["model_config"]["type"] == kind
    assert state["note"] == base.TeacherConfig(type=kind).note
    run_script(CODES / "Models/kd_train.py", ["--workspace", str(ws.root), "--teacher", run, "--lam", "0.5",
                                              "--arch", "cnn_bilstm", "--epochs", "1", "--device", "cpu",
                                              "--run-name", f"kd_{kind}"])
    sha = sha256_file(ws.run_dir(run) / TEACHER_CHECKPOINT)
    assert teacher_hash(ws, run) == sha
    logits_path, ids_path = cache_paths(ws, run, sha, "train")
    cached, ids = np.load(logits_path), np.load(ids_path)
    train = load_split(ws, "train")
    assert np.array_equal(np.sort(ids), np.sort(train.ids))
    order = {int(i): k for k, i in enumerate(train.ids)}
    fresh = teachers.logits(ws.run_dir(run), [train.image_paths[order[int(i)]] for i in ids], device="cpu")
    np.testing.assert_allclose(cached, fresh, rtol=1e-5, atol=1e-5)
    assert load_checkpoint(ws.run_dir(f"kd_{kind}") / "best.pth")["teacher_checkpoint_sha256"] == sha


def test_not_a_teacher_is_refused(ws, tmp_path):
    from tsad.core.checkpoint import save_checkpoint

    run = tmp_path / "student_as_teacher"
    save_checkpoint(run / TEACHER_CHECKPOINT, {"kind": "student", "model": {}})
    with pytest.raises(ValueError, match="'student' model, not a teacher"):
        loader.run_logits(run, [])
