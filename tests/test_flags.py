"""Flags that had no test, each with an assertion on what it changes: data_generate's --labels,
--channels, --seconds, --fs; run_pipeline's --input-dir, --records, --stages, --epochs, --schedule
(planned and dispatched, the steps themselves not run); plot_inference's --tolerance, --threshold,
--no-xqrs; student_infer's --limit. (kd_train --temperature: tests/test_distill_teacher.py.)"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsad.core import paths
from tsad.core.fileio import sha256_file
from tsad.core.paths import Workspace
from tsad.scoring.outputs import load_outputs, save_outputs

CODES = paths.REPO_ROOT / "Codes"
GENERATE = CODES / "Dataset/data_generate.py"


def run_main(script: Path, argv):
    old = sys.argv
    sys.argv = [str(script), *map(str, argv)]
    try:
        return runpy.run_path(str(script), run_name="not_main")["main"]([str(a) for a in argv])
    finally:
        sys.argv = old


# ---- data_generate ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_records(tmp_path_factory) -> tuple[Path, Workspace]:
    """Two one-minute demo records (N, S and V beats and a '+' rhythm mark at sample 0), and the
    default generation from them."""
    root = tmp_path_factory.mktemp("flags")
    ws = Workspace(root / "default")
    run_main(GENERATE, ["--workspace", ws.root, "--demo", "--demo-records", "2", "--demo-minutes", "1",
                        "--workers", "1"])
    return ws.raw("demo"), ws


def generate(tmp_path, records: Path, *flags) -> Workspace:
    ws = Workspace(tmp_path / "ws")
    run_main(GENERATE, ["--workspace", ws.root, "--input-dir", records, "--workers", "1", *flags])
    return ws


def outputs(ws: Workspace):
    labels = pd.read_csv(ws.labels_csv, header=None).to_numpy()[:, 1:]
    return np.load(ws.segments_npy), labels, pd.read_csv(ws.windows_csv, keep_default_na=False)


def annotated(windows: pd.DataFrame, symbols: str, length: int = 256) -> np.ndarray:
    """The label matrix that marks exactly the annotations in ``symbols``, read from windows.csv."""
    out = np.zeros((len(windows), length), np.int64)
    for row, items in enumerate(windows["annotations"]):
        for item in str(items).split():
            pos, sym = item.split(":")
            if sym in symbols:
                out[row, int(pos)] = 1
    return out


def test_labels_flag_marks_beats_abnormal_beats_or_every_annotation(tmp_path, demo_records):
    records, default_ws = demo_records
    _, beats, windows = outputs(default_ws)
    symbols = set("".join(item.split(":")[1] for items in windows["annotations"] for item in str(items).split()))
    assert {"N", "S", "V", "+"} <= symbols  # the demo has what the three modes tell apart
    np.testing.assert_array_equal(beats, annotated(windows, "NLRBAaJSVrFejnE/fQ?"))

    _, abnormal, windows_a = outputs(generate(tmp_path / "abnormal", records, "--labels", "abnormal"))
    assert windows_a["annotations"].tolist() == windows["annotations"].tolist()
    np.testing.assert_array_equal(abnormal, annotated(windows, "SVF"))
    assert 0 < abnormal.sum() < beats.sum()

    _, every, _ = outputs(generate(tmp_path / "all", records, "--labels", "all"))
    np.testing.assert_array_equal(every, annotated(windows, "".join(symbols)))
    assert every.sum() == beats.sum() + 2 and every[0, 0] == 1 and beats[0, 0] == 0  # '+' of each record

    manifest = json.loads((tmp_path / "abnormal" / "ws" / "data_manifest.json").read_text())
    assert manifest["stage"] == "data_generate" and manifest["config"]["labels"] == "abnormal"
    assert manifest["summary"]["n_beats"] == abnormal.sum() and manifest["summary"]["n_windows"] == 60
    described = {Path(o["path"]).name: o for o in manifest["outputs"]}
    ws_a = Workspace(tmp_path / "abnormal" / "ws")
    assert described["labels_ECG.csv"]["sha256"] == sha256_file(ws_a.labels_csv)
    assert described["Plots_ECG"]["files"] == 60
    assert sorted(Path(i["path"]).name for i in manifest["inputs"]) == ["demo00.hea", "demo01.hea"]


def test_channels_flag_picks_and_orders_leads(tmp_path, demo_records):
    records, default_ws = demo_records
    series, labels, _ = outputs(default_ws)
    swapped, swapped_labels, _ = outputs(generate(tmp_path, records, "--channels", "1", "0"))
    np.testing.assert_array_equal(swapped, series[..., ::-1])
    np.testing.assert_array_equal(swapped_labels, labels)


def test_seconds_flag_sets_the_window_length(tmp_path, demo_records):
    records, default_ws = demo_records
    series, labels, windows = outputs(default_ws)
    short, short_labels, short_windows = outputs(generate(tmp_path, records, "--seconds", "1"))
    assert series.shape == (60, 256, 2) and short.shape == (120, 128, 2)
    # a minute per record divides into whole windows of either length: the same samples, cut finer
    np.testing.assert_array_equal(short.reshape(-1, 2), series.reshape(-1, 2))
    np.testing.assert_array_equal(short_labels.reshape(-1), labels.reshape(-1))
    assert short_windows["start"].tolist()[:3] == [0, 128, 256]


def test_fs_flag_resamples_the_records(tmp_path, demo_records):
    records, default_ws = demo_records
    series, labels, windows = outputs(default_ws)
    low, low_labels, low_windows = outputs(generate(tmp_path, records, "--fs", "64"))
    assert low.shape == (60, 128, 2)  # 2 s at 64 Hz
    assert low_windows["start"].tolist() == windows["start"].tolist()  # starts stay at the record's rate
    assert (low_windows["fs"] == 128).all()
    # the same signal at half the rate: close to every other sample of the 128 Hz windows
    corr = np.corrcoef(low[..., 0].ravel(), series[:, ::2, 0].ravel())[0, 1]
    assert corr > 0.95
    # every beat moves along to half its sample index (rounding may cross a window border)
    assert abs(int(low_labels.sum()) - int(labels.sum())) <= 2
    beat_rows, beat_pos = np.nonzero(labels)
    low_rows, low_pos = np.nonzero(low_labels)
    moved = np.abs((low_rows * 128 + low_pos)[:, None] - (beat_rows * 128 + beat_pos // 2)[None, :]).min(1)
    assert moved.max() <= 1


# ---- run_pipeline --------------------------------------------------------------------------------

PIPELINE = CODES / "run_pipeline.py"


@pytest.fixture
def dispatched(monkeypatch):
    """Records the steps run_pipeline would run instead of running them."""
    from tsad.experiments import pipeline

    ran = []
    monkeypatch.setattr(pipeline.Step, "run", lambda step: ran.append(step))
    return ran


def flags_of(argv, name):
    return argv[argv.index(name) + 1] if name in argv else None


def test_pipeline_input_dir_records_and_the_seed_schedule(tmp_path, dispatched):
    ws = tmp_path / "ws"
    run_main(PIPELINE, ["--workspace", ws, "--input-dir", "/data/svdb", "--records", "800", "801",
                        "--stages", "data", "teacher"])
    assert [s.name for s in dispatched] == ["data_generate", "vlm_0.5", "vlm_1"]
    data = dispatched[0].argv
    assert flags_of(data, "--input-dir") == "/data/svdb"
    assert data[data.index("--records") + 1:][:2] == ["800", "801"]
    # real data: the scripts' own (the seed's) schedule, so no training flag is passed
    assert all(flags_of(s.argv, "--epochs") is None and flags_of(s.argv, "--lr") is None for s in dispatched[1:])
    manifest = json.loads((ws / "manifests" / "data_generate.json").read_text())
    assert manifest["config"]["argv"] == data
    assert manifest["config"]["script"] == "Codes/Dataset/data_generate.py"


def test_pipeline_stages_epochs_and_schedule(tmp_path, dispatched):
    from tsad.experiments.pipeline import SCHEDULES

    run_main(PIPELINE, ["--workspace", tmp_path / "ws", "--stages", "student", "kd", "--epochs", "4",
                        "--schedule", "short"])
    names = [s.name for s in dispatched]
    assert names == ["LSTM_train", "KD_train_0.5_vlm_0.5", "KD_train_1_vlm_0.5", "KD_train_0.5_vlm_1",
                     "KD_train_1_vlm_1"]
    for step in dispatched:
        assert step.argv.count("--epochs") == 1 and flags_of(step.argv, "--epochs") == "4"
        kind = "student" if step.name == "LSTM_train" else "kd"
        assert flags_of(step.argv, "--lr") == flags_of(SCHEDULES["short"][kind], "--lr") == "3e-3"
    assert flags_of(dispatched[1].argv, "--lam") == "0.5" and flags_of(dispatched[1].argv, "--teacher") == "vlm_0.5"

    dispatched.clear()
    run_main(PIPELINE, ["--workspace", tmp_path / "ws2", "--stages", "teacher", "--schedule", "seed",
                        "--epochs", "2"])
    assert [s.name for s in dispatched] == ["vlm_0.5", "vlm_1"]
    assert all(flags_of(s.argv, "--epochs") == "2" and "--lr" not in s.argv for s in dispatched)


# ---- plot_inference --------------------------------------------------------------------------

INFERENCE = CODES / "Inference/plot_inference.py"


def scored_by_hand(root: Path) -> Workspace:
    """Window 0: true beats at 40 and 140; three-sample bumps peaking at 43 (0.9), 140 (0.8) and
    200 (0.3). Window 1: no beat, no bump."""
    ws = Workspace(root)
    labels = np.zeros((2, 256), np.float32)
    labels[0, [40, 140]] = 1
    probs = np.zeros((2, 256), np.float32)
    for peak, height in ((43, 0.9), (140, 0.8), (200, 0.3)):
        probs[0, peak - 1:peak + 2] = (height / 2, height, height / 2)
    save_outputs(ws.run_dir("LSTM_train"), "LSTM_train", probs, labels, np.zeros((2, 256, 2)), [5, 6])
    return ws


@pytest.mark.parametrize("flags, msp, msr", [
    # default threshold (the window's mean): 43, 140, 200 predicted; w = 2 covers 38-42 and 138-142
    ([], (1 / 3 + 1) / 2, 1 / 2),
    # threshold 0.35 drops the bump at 200
    (["--threshold", "0.35"], (1 / 2 + 1) / 2, 1 / 2),
    # and w = 3 reaches 43
    (["--threshold", "0.35", "--tolerance", "3"], 1.0, 1.0),
])
def test_plot_inference_threshold_and_tolerance(tmp_path, flags, msp, msr):
    ws = scored_by_hand(tmp_path / "ws")
    run_main(INFERENCE, ["--workspace", ws.root, "--n-examples", "1", *flags])
    row = pd.read_csv(ws.results_csv).set_index("model").loc["LSTM_train"]
    assert (row["MSP"], row["MSR"]) == pytest.approx((msp, msr))
    header = ws.results_md.read_text().splitlines()[2]
    assert f"squeezing tolerance w = {flags_of(flags, '--tolerance') or 2}" in header
    assert ("a beat is a peak above 0.35" if "--threshold" in flags else
            "a beat is a peak above the window's average probability") in header


def test_plot_inference_no_xqrs_leaves_out_the_baseline(split_workspace):
    ws = split_workspace
    from tsad.data.splits import load_split

    test = load_split(ws, "test", check_images=False)
    save_outputs(ws.run_dir("LSTM_train"), "LSTM_train", test.labels, test.labels, test.series, test.ids)
    run_main(INFERENCE, ["--workspace", ws.root, "--n-examples", "1", "--no-xqrs"])
    assert pd.read_csv(ws.results_csv)["model"].tolist() == ["LSTM_train"]
    assert not ws.run_dir("xqrs").exists()
    run_main(INFERENCE, ["--workspace", ws.root, "--n-examples", "1"])
    assert pd.read_csv(ws.results_csv)["model"].tolist() == ["LSTM_train", "xqrs"]


# ---- student_infer --------------------------------------------------------------------------------

def test_student_infer_limit_scores_the_first_windows(split_workspace):
    from test_student_scripts import QUICK, _script

    ws = split_workspace
    _script("Models/student_train.py").main(["--workspace", str(ws.root), "--epochs", "1", "--limit-train", "8",
                                             *QUICK])
    infer = _script("Inference/lstm/student_infer.py")
    infer.main(["--workspace", str(ws.root), "--run", paths.STUDENT_RUN, "--device", "cpu"])
    full = load_outputs(ws.run_dir(paths.STUDENT_RUN), paths.STUDENT_RUN)
    infer.main(["--workspace", str(ws.root), "--run", paths.STUDENT_RUN, "--device", "cpu", "--limit", "3"])
    limited = load_outputs(ws.run_dir(paths.STUDENT_RUN), paths.STUDENT_RUN)
    assert len(full.ids) == 8 and limited.ids.tolist() == full.ids[:3].tolist()
    np.testing.assert_allclose(limited.probs, full.probs[:3], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(limited.labels, full.labels[:3])
