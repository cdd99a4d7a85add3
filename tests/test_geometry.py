"""The window geometry read from the workspace: the data stage records it, later stages take their
numbers from it, and a checkpoint trained on another geometry is refused with a clear message."""

from __future__ import annotations

import json
import runpy

import numpy as np
import pytest
from conftest import REPO

from tsad.core import paths
from tsad.core.geometry import GeometryError, WindowGeometry, load_workspace_geometry
from tsad.core.paths import DATA_MANIFEST
from tsad.models.vlm.settings import DEFAULT_PROMPT, TeacherSettings, prompt_for
from tsad.training.loop import TrainConfig
from tsad.training.students import infer_run, train_run

GENERATE = REPO / "Codes/Dataset/data_generate.py"


def test_data_stage_records_its_geometry(tmp_path):
    ws = paths.Workspace(tmp_path / "ws")
    runpy.run_path(str(GENERATE), run_name="test")["main"](
        ["--workspace", str(ws.root), "--demo-records", "1", "--demo-minutes", "0.5", "--seconds", "4",
         "--fs", "250", "--channels", "1", "--workers", "1"])
    geometry = load_workspace_geometry(ws)
    assert geometry == WindowGeometry(250, 1000, (1,), "beats")
    assert geometry.tolerance_samples() == 37
    assert np.load(ws.segments_npy).shape[1:] == (1000, 1)


def test_a_workspace_without_a_manifest_has_the_default_geometry(split_workspace):
    assert load_workspace_geometry(split_workspace) == WindowGeometry()


def test_the_teacher_prompt_and_output_follow_the_geometry():
    assert prompt_for(WindowGeometry()) == DEFAULT_PROMPT
    assert "two variable with 256 time stamps" in DEFAULT_PROMPT and "from 0 to 255" in DEFAULT_PROMPT
    settings = TeacherSettings.for_geometry(WindowGeometry(250, 1000, (0,)))
    assert settings.out_len == 1000
    assert "one variable with 1000 time stamps" in settings.prompt and "from 0 to 999" in settings.prompt
    custom = "<image>Where are the beats?"
    assert TeacherSettings.for_geometry(WindowGeometry(), prompt=custom).prompt == custom


def test_a_checkpoint_of_another_geometry_is_refused(split_workspace):
    ws = split_workspace
    train_run(ws, TrainConfig(epochs=1, batch_size=8, warmup_steps=0, device="cpu"), limit_train=8)
    checkpoint = ws.run_dir(paths.STUDENT_RUN) / paths.STUDENT_CHECKPOINT
    # the same windows, now said to be sampled at 250 Hz: the student's 128 Hz training does not fit
    (ws.root / DATA_MANIFEST).write_text(json.dumps({"geometry": WindowGeometry(fs=250).to_dict()}))
    with pytest.raises(GeometryError, match=rf"{checkpoint}: trained on 256 samples at 128 Hz .* but the data "
                                            r"has 256 samples at 250 Hz"):
        infer_run(ws, paths.STUDENT_RUN, device="cpu")
