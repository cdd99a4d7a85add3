"""run_pipeline.py end to end on the quick profile: every stage, --resume, a kill midway,
reproducibility, and clear errors for mixed-up inputs."""

import os
import runpy
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsad.core import paths
from tsad.core.checkpoint import load_checkpoint
from tsad.core.paths import Workspace

REPO = Path(__file__).resolve().parents[1]
PIPELINE = REPO / "Codes/run_pipeline.py"
MODELS = ["vlm_0.5", "vlm_1", "LSTM_train", "KD_train_0.5_vlm_0.5", "KD_train_1_vlm_0.5",
          "KD_train_0.5_vlm_1", "KD_train_1_vlm_1", "xqrs"]

pytestmark = pytest.mark.slow


def run_main(script, argv):
    return runpy.run_path(str(script), run_name="test")["main"](argv)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The quick pipeline, with what it printed."""
    import contextlib
    import io

    ws = Workspace(tmp_path_factory.mktemp("pipeline") / "ws")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        report = run_main(PIPELINE, ["--workspace", str(ws.root), "--quick"])
    return ws, report, printed.getvalue()


@pytest.fixture(scope="module")
def quick_ws(quick_run):
    ws, report, _ = quick_run
    return ws, report


def test_the_main_job_prints_one_results_table(quick_run):
    ws, _, printed = quick_run
    header = ws.results_md.read_text().splitlines()[-1 - len(MODELS) - 1]   # the table's header line
    assert header.startswith("| model") and printed.count(header) == 1
    assert f"results: {ws.results_md}" in printed


def test_quick_pipeline_runs_every_stage(quick_ws):
    ws, report = quick_ws
    assert all(r["status"] == "ran" for r in report) and len(report) == 18
    table = pd.read_csv(ws.results_csv)
    assert sorted(table["model"]) == sorted(MODELS)
    # every model scored all 3 test windows: its AUC-PR is scikit-learn's average precision of its outputs
    from sklearn.metrics import average_precision_score

    from tsad.scoring.outputs import load_outputs

    for run in MODELS[:-1]:
        out = load_outputs(ws.run_dir(run), run)
        expected = average_precision_score(out.labels.ravel() > 0.5, out.probs.ravel())
        assert table.set_index("model").loc[run, "AUC_PR"] == pytest.approx(expected, rel=1e-6), run
    assert table["n_windows"].nunique() == 1 and table["n_windows"].iloc[0] == 3
    notes = table.set_index("model")["note"]
    assert notes["vlm_1"].startswith("tiny backbone")
    assert notes["KD_train_1_vlm_1"].startswith("teacher: tiny backbone")  # distilled from the tiny teacher
    import json
    for step in ("data_generate", "vlm_0.5", "KD_train_1_vlm_1_infer", "plot_inference"):
        manifest = json.loads((ws.root / "manifests" / f"{step}.json").read_text())
        assert manifest["stage"] == step and "--quick" not in manifest["config"]["argv"]
        assert manifest["config"]["argv"][:2] == ["--workspace", str(ws.root)]
        assert all(o["kind"] != "missing" for o in manifest["outputs"]), step
    teacher_flags = json.loads((ws.root / "manifests" / "vlm_0.5.json").read_text())["config"]["argv"]
    assert teacher_flags[teacher_flags.index("--epochs") + 1] == "1"  # the quick schedule
    for run in MODELS[:-1]:
        meta = json.loads((ws.run_dir(run) / paths.METADATA).read_text())
        assert meta["finished"] and meta["world_size"] == 1 and len(meta["val_losses"]) == meta["epochs_run"]
    assert list(ws.plots.glob("*.png"))


def test_resume_skips_complete_steps(quick_ws):
    ws, _ = quick_ws
    report = run_main(PIPELINE, ["--workspace", str(ws.root), "--quick", "--resume"])
    status = {r["step"]: r["status"] for r in report}
    assert status["plot_inference"] == "ran" and status["plot_losses"] == "ran"
    assert all(v == "skipped" for k, v in status.items() if k not in ("plot_inference", "plot_losses"))


def test_same_seed_same_results(quick_ws, tmp_path):
    ws, _ = quick_ws
    other = tmp_path / "again"
    run_main(PIPELINE, ["--workspace", str(other), "--quick"])
    pd.testing.assert_frame_equal(pd.read_csv(ws.results_csv), pd.read_csv(Workspace(other).results_csv))


def test_killed_pipeline_resumes(tmp_path):
    ws = Workspace(tmp_path / "ws")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, str(PIPELINE), "--workspace", str(ws.root), "--quick"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    marker = ws.run_dir("LSTM_train")
    deadline = time.time() + 300
    while time.time() < deadline and not marker.exists() and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert marker.exists(), "the pipeline ended before it reached the student"
    # whatever was written under a final name is whole
    for pth in ws.root.rglob("*.pth"):
        load_checkpoint(pth)
    for npy in ws.root.rglob("*.npy"):
        if not npy.name.startswith("."):
            np.load(npy)
    report = run_main(PIPELINE, ["--workspace", str(ws.root), "--quick", "--resume"])
    status = {r["step"]: r["status"] for r in report}
    assert status["data_generate"] == status["vlm_0.5"] == status["vlm_1_infer"] == "skipped"
    assert status["KD_train_1_vlm_1"] == "ran"
    assert sorted(pd.read_csv(ws.results_csv)["model"]) == sorted(MODELS)


def test_checkpoint_of_another_model_is_named(quick_ws, tmp_path):
    ws, _ = quick_ws
    copy = Workspace(tmp_path / "ws")
    shutil.copytree(ws.root, copy.root, symlinks=True)
    shutil.copyfile(copy.run_dir("LSTM_train") / "best.pth", copy.run_dir("vlm_1") / paths.TEACHER_CHECKPOINT)
    with pytest.raises(ValueError, match=r"vlm_1/smolvlm_best.pth: checkpoint of a 'student' model"):
        run_main(REPO / "Codes/Inference/vlm/vlm_1_infer.py", ["--workspace", str(copy.root)])
    with pytest.raises(FileNotFoundError, match=r"vlm_0.5/best.pth: checkpoint not found"):
        run_main(REPO / "Codes/Inference/lstm/student_infer.py", ["--workspace", str(copy.root), "--run", "vlm_0.5"])


@pytest.mark.parametrize("geometry_flags, tolerance_note, samples, leads", [
    (["--seconds", "4", "--fs", "250"], "150 ms window (= 37 samples at 250 Hz)", 1000, 2),
    (["--channels", "0"], "150 ms window (= 19 samples at 128 Hz)", 256, 1),
])
def test_quick_pipeline_on_another_geometry(tmp_path, geometry_flags, tolerance_note, samples, leads):
    """The data stage's geometry reaches every later stage: the teacher's output length and prompt,
    the student's input size, XQRS's rate and the tolerance of the results table."""
    ws = Workspace(tmp_path / "ws")
    run_main(PIPELINE, ["--workspace", str(ws.root), "--quick", *geometry_flags])
    assert tolerance_note in ws.results_md.read_text()
    assert sorted(pd.read_csv(ws.results_csv)["model"]) == sorted(MODELS)
    assert np.load(ws.segments_npy, mmap_mode="r").shape[1:] == (samples, leads)
    teacher = load_checkpoint(ws.run_dir("vlm_1") / paths.TEACHER_CHECKPOINT)
    assert teacher["model_config"]["out_len"] == samples and f"{samples} time stamps" in teacher["model_config"]["prompt"]
    student = load_checkpoint(ws.run_dir("KD_train_1_vlm_1") / paths.STUDENT_CHECKPOINT)
    assert student["model_config"]["input_size"] == leads
    assert student["geometry"]["samples"] == teacher["geometry"]["samples"] == samples
    assert np.load(ws.run_dir("LSTM_train") / "all_probs_LSTM_train.npy").shape[1] == samples
