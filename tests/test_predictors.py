"""The one model loader (tsad.models.loader): every kind of checkpoint becomes a Predictor, detect.py
runs the teachers trained here on whole records, and a new kind registered in the table runs
through detect.py with no other file touched."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from conftest import run_script

from tsad.core.checkpoint import save_checkpoint, trainable_state_dict
from tsad.core.geometry import WindowGeometry, checkpoint_geometry
from tsad.core.paths import TEACHER_CHECKPOINT, Workspace
from tsad.models import loader, predictor, teachers
from tsad.models.kinds import TEACHER_HERE
from tsad.models.predictor import Predictor
from tsad.models.teachers import base

REPO = Path(__file__).resolve().parents[1]
DETECT = REPO / "Codes/Inference/detect.py"


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """One 1-minute synthetic record."""
    from tsad.data.demo_db import DemoConfig, write_demo_database

    folder = tmp_path_factory.mktemp("predictors") / "raw"
    write_demo_database(folder, DemoConfig(n_records=1, minutes=1))
    return folder


def _save_teacher(ws: Workspace, kind: str) -> Path:
    """An untrained teacher of ``kind`` saved as training saves it (kind "teacher", its config)."""
    import torch

    torch.manual_seed(0)
    config = base.TeacherConfig(type=kind, channels=8, width=16, depth=3)
    model = teachers.build(config)
    run_dir = ws.run_dir(f"{kind}_teacher")
    save_checkpoint(run_dir / TEACHER_CHECKPOINT, {"kind": TEACHER_HERE, "model_config": asdict(config),
                                                   "model": trainable_state_dict(model),
                                                   "geometry": WindowGeometry().to_dict()})
    return run_dir


@pytest.mark.parametrize("kind", ["picture", "context"])
def test_teachers_trained_here_detect_whole_records(kind, raw, tmp_path):
    ws = Workspace(tmp_path / "ws")
    _save_teacher(ws, kind)
    out = tmp_path / "out"
    result = run_script(DETECT, ["--workspace", str(ws.root), "--run", f"{kind}_teacher", "--input-dir", str(raw),
                                 "--out", str(out), "--device", "cpu", "--threshold", "0.0"])
    meta = json.loads((out / "detections.json").read_text())
    assert meta["kind"] == "teacher" and meta["teacher_type"] == kind and meta["run"] == f"{kind}_teacher"
    assert result["records"][0]["beats"] > 0                                # threshold 0: peaks everywhere
    assert np.load(out / "demo00_probs.npy").shape == (60 * 128,)


def test_context_stretch_is_the_record_around_each_window():
    from tsad.models.teachers.context import stretch

    signal = np.arange(20, dtype=np.float32).reshape(10, 2)
    out = stretch(signal, np.array([0, 4, 6]), length=4, context=1)
    assert out.shape == (3, 12, 3)
    np.testing.assert_array_equal(out[1, :, :2], signal[0:10][np.clip(np.arange(12), 0, 9)])   # 0..12 of the record
    assert out[1, :10, 2].min() == 1 and out[1, 10:, 2].max() == 0                          # past the end: masked
    np.testing.assert_array_equal(out[0, :4, :2], np.repeat(signal[:1], 4, 0))              # before the start
    assert out[0, :4, 2].max() == 0 and out[0, 4:, 2].min() == 1


def test_picture_teacher_sees_the_saved_plots_pixels(tmp_path):
    """Rendering on the fly (detection, the app) gives the teacher the pixels of the saved PNG."""
    from tsad.data.render import render_to_png, render_window

    ws = Workspace(tmp_path / "ws")
    run_dir = _save_teacher(ws, "picture")
    window = np.sin(np.linspace(0, 20, 512)).reshape(256, 2).astype(np.float32)
    render_to_png(window, tmp_path / "w.png")
    predictor = loader.load(run_dir, device="cpu")
    from_png = 1 / (1 + np.exp(-teachers.logits(run_dir, [tmp_path / "w.png"], device="cpu")))
    np.testing.assert_allclose(predictor.window_probs(window[None]), from_png, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(predictor.image_probs([render_window(window)]), from_png, rtol=1e-5, atol=1e-6)


def test_the_loader_refuses_what_is_not_a_model(tmp_path):
    ws = Workspace(tmp_path / "ws")
    save_checkpoint(ws.run_dir("odd") / "best.pth", {"kind": "nothing_known", "model": {}})
    with pytest.raises(predictor.DetectionError, match="best.pth: checkpoint of a 'nothing_known' model"):
        loader.load("odd", ws)
    with pytest.raises(predictor.DetectionError, match="no trained model"):
        loader.load("empty", ws)


# ---- a new model kind: one entry of the table ----------------------------------------------------

def _stand_in(run_dir: Path, state: dict, device: str, batch_size: int) -> Predictor:
    """A 'model' that marks the highest sample of lead 1 in every quarter window."""
    def window_probs(windows: np.ndarray) -> np.ndarray:
        x = windows[..., 0]
        quarter = x.shape[1] // 4
        probs = np.zeros(x.shape, np.float32)
        for q in range(4):
            best = q * quarter + x[:, q * quarter:(q + 1) * quarter].argmax(1)
            probs[np.arange(len(x)), best] = 1.0
        return probs

    return Predictor(run_dir.name, "stand_in", checkpoint_geometry(state), window_probs,
                     description="stand-in model", info={"scale": state["model_config"]["scale"]})


@pytest.fixture
def stand_in_kind():
    loader.register_kind(loader.ModelKind("stand_in", "student", "stand_in.pth", "a stand-in", _stand_in,
                                          logits=lambda run_dir, paths, **kw: np.zeros((len(paths), 256), np.float32)))
    yield
    loader.unregister_kind("stand_in")


def test_a_model_kind_registered_in_the_table_runs_through_detect_py(stand_in_kind, raw, tmp_path):
    ws = Workspace(tmp_path / "ws")
    save_checkpoint(ws.run_dir("mine") / "stand_in.pth", {"kind": "stand_in", "model": {},
                                                          "model_config": {"scale": 2},
                                                          "geometry": WindowGeometry().to_dict()})
    out = tmp_path / "out"
    result = run_script(DETECT, ["--workspace", str(ws.root), "--run", "mine", "--input-dir", str(raw),
                                 "--out", str(out)])
    meta = json.loads((out / "detections.json").read_text())
    assert meta["kind"] == "stand_in" and meta["description"] == "stand-in model" and meta["scale"] == 2
    assert result["records"][0]["beats"] > 30 and (out / "demo00.tsad").is_file()
    # a checkpoint given by its path loads alike, and the kind's logits serve distillation
    assert loader.load(ws.run_dir("mine") / "stand_in.pth").kind == "stand_in"
    assert loader.run_logits(ws.run_dir("mine"), ["a.png", "b.png"]).shape == (2, 256)
