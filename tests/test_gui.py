"""The Streamlit app, page by page, with streamlit's AppTest on a workspace made by a tiny run:
the synthetic split, fabricated inference outputs for three models, loss files, a results table
scored by tsad.scoring.metrics, and a real student checkpoint trained for one epoch (for "run live")."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, make_split_workspace

from tsad.app.stages import all_runs, display_label, find_run, next_stage, pipeline_stages, window_times
from tsad.core.fileio import save_json
from tsad.core.paths import METADATA, TRAIN_LOSSES, VAL_LOSSES, Workspace
from tsad.data.splits import load_split
from tsad.detection import thresholds
from tsad.scoring.outputs import save_outputs

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

GUI = REPO / "Codes" / "GUI"
PAGES = ("pages/1_Teacher.py", "pages/2_Student.py", "pages/3_Compare.py", "pages/4_Live.py",
         "pages/5_Records.py")
FABRICATED = ("vlm_0.5", "LSTM_train", "KD_train_0.5_vlm_1")
TIMEOUT = 60
TEACHER_SCRIPT = REPO / "Codes" / "Models" / "vlm_train_1.py"


def fabricated_probs(labels: np.ndarray, seed: int) -> np.ndarray:
    """Probabilities that peak near the true beats, with noise, as a half-trained model gives."""
    rng = np.random.default_rng(seed)
    bumps = np.apply_along_axis(lambda r: np.convolve(r, [0.3, 0.7, 1, 0.7, 0.3], mode="same"), 1, labels)
    return np.clip(0.05 + 0.85 * bumps + rng.uniform(0, 0.04, labels.shape), 0, 1).astype(np.float32)


def write_results(ws: Workspace) -> None:
    from tsad.experiments.evaluate import evaluate_workspace
    from tsad.experiments.evaluate import write_results as write
    from tsad.scoring.metrics import DEFAULT_TOLERANCE

    write(ws, evaluate_workspace(ws, with_xqrs=False, progress=False), None, DEFAULT_TOLERANCE)


def train_student(ws: Workspace) -> None:
    """One epoch of a narrow student: the checkpoint carries its config, so the app loads it as is."""
    from tsad.models.student import StudentConfig
    from tsad.training.loop import TrainConfig
    from tsad.training.students import train_run

    train_run(ws, TrainConfig(epochs=1, batch_size=8, warmup_steps=1, device="cpu"),
              model_config=StudentConfig(hidden_size=16, num_layers=1))


def train_tiny_teacher(ws: Workspace) -> None:
    """One epoch of the alpha-1 teacher on the untrained tiny backbone, through its script's main."""
    import runpy

    runpy.run_path(str(TEACHER_SCRIPT), run_name="gui_fixture")["main"](
        ["--workspace", str(ws.root), "--model", "tiny", "--epochs", "1", "--limit-train", "8", "--limit-val", "4",
         "--batch-size", "4", "--warmup-steps", "1", "--device", "cpu"])


def _hand_made_row() -> np.ndarray:
    """vlm_0.5's probabilities for test window 35 (true beats at 38, 145 and 252): three-sample
    bumps peaking at 38 (on a beat), 90 (no beat) and 150 (5 samples off, outside w = 2)."""
    row = np.zeros(256, np.float32)
    for peak in (38, 90, 150):
        row[peak - 1:peak + 2] = (0.45, 0.9, 0.45)
    return row


HAND_MADE_ROW = _hand_made_row()


@functools.cache
def build_tiny_workspace(root: Path) -> Workspace:
    """The workspace of a tiny run: split, windows.csv, three models' outputs, losses, results,
    the vlm_0.5 teacher marked as the untrained tiny backbone, real one-epoch checkpoints of the
    student and of the vlm_1 teacher (tiny backbone). Built once per session (the app only reads it)."""
    ws = make_split_workspace(root)
    ids = np.arange(40)
    pd.DataFrame({"id": ids, "record": [f"rec{i % 2}" for i in ids], "start": (ids // 2) * 720,
                  "fs": 360.0}).to_csv(ws.windows_csv, index=False)
    train_student(ws)
    train_tiny_teacher(ws)
    test = load_split(ws, "test", check_images=False)
    save_json(ws.run_dir("vlm_0.5") / METADATA, {"backbone": "tiny"})
    for seed, name in enumerate(FABRICATED):
        probs = fabricated_probs(test.labels, seed)
        if name == "vlm_0.5":
            probs[list(test.ids).index(35)] = HAND_MADE_ROW
        save_outputs(ws.run_dir(name), name, probs, test.labels, test.series, test.ids)
        if name != "LSTM_train":
            np.save(ws.run_dir(name) / TRAIN_LOSSES, np.array([0.9, 0.6, 0.5]))
            np.save(ws.run_dir(name) / VAL_LOSSES, np.array([0.8, 0.7, 0.65]))
    write_results(ws)
    return ws


@pytest.fixture(scope="module")
def tiny_ws(tmp_path_factory) -> Workspace:
    return build_tiny_workspace(tmp_path_factory.getbasetemp() / "gui_ws")


@pytest.fixture
def empty_ws(tmp_path) -> Workspace:
    return Workspace(tmp_path / "empty")


def app_on(ws: Workspace, monkeypatch, page: str | None = None) -> AppTest:
    monkeypatch.setenv("TSAD_WORKSPACE", str(ws.root))
    at = AppTest.from_file(str(GUI / "0_Homepage.py"), default_timeout=TIMEOUT).run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [e.value for e in at.info] + [e.value for e in at.warning]
    return "\n".join(parts + [c.value for c in at.code] + [c.value for c in at.caption])


def figures(at: AppTest) -> int:
    return len(at.image)


def metric_values(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


# --- stage status (no streamlit) -----------------------------------------------------------------

def test_stages_of_an_empty_workspace(empty_ws):
    stages = pipeline_stages(empty_ws)
    assert not any(s.done for s in stages)
    first = next_stage(stages)
    assert first.name == "data_generate"
    assert first.command == f"python Codes/Dataset/data_generate.py --workspace {empty_ws.root} --seed 42"
    assert [s.name for s in stages][-1] == "plot_inference"


def test_stages_of_the_tiny_run(tiny_ws):
    stages = {s.name: s.done for s in pipeline_stages(tiny_ws)}
    assert not stages["data_generate"]  # the fixture never generated windows
    assert stages["LSTM_train"] and stages["LSTM_train_infer"] and stages["vlm_0.5_infer"]
    assert not stages["vlm_0.5"] and not stages["KD_train_0.5_vlm_1"] and not stages["plot_losses"]
    assert stages["plot_inference"]
    tiny = display_label(tiny_ws, find_run("vlm_0.5"))
    assert tiny.startswith("Teacher α=0.5 (tiny backbone")
    assert display_label(tiny_ws, find_run("KD_train_0.5_vlm_0.5")).startswith("Student λ=0.5 from vlm_0.5 "
                                                                                "(teacher: tiny backbone")
    assert display_label(tiny_ws, find_run("LSTM_train")) == "Student λ=0"


def test_every_command_names_a_script_of_the_repository(empty_ws):
    for stage in pipeline_stages(empty_ws):
        script = stage.command.split()[1]
        assert (REPO / script).is_file(), f"{stage.name}: {script} does not exist"


def test_window_times_from_windows_csv(tiny_ws):
    times = window_times(pd.read_csv(tiny_ws.windows_csv), [32, 21])
    assert times.to_dict("records") == [{"id": 21, "record": "rec1", "start_s": 20.0},
                                        {"id": 32, "record": "rec0", "start_s": 32.0}]
    with pytest.raises(ValueError, match="start"):
        window_times(pd.DataFrame({"id": [1], "record": ["a"], "fs": [1.0]}), [1])


# --- pages on an empty workspace -----------------------------------------------------------------

@pytest.mark.parametrize("page", [None, *PAGES])
def test_every_page_on_an_empty_workspace_names_a_stage(empty_ws, monkeypatch, page):
    at = app_on(empty_ws, monkeypatch, page)
    assert not at.error
    shown = texts(at)
    if page == "pages/4_Live.py":
        assert "Upload a WFDB record" in shown
    else:
        assert "--workspace" in shown and str(empty_ws.root) in shown
    if page is None:
        assert "data_generate.py" in shown
    assert figures(at) == 0


# --- pages on the tiny run -----------------------------------------------------------------------

def test_home_shows_results_next_stage_and_an_example(tiny_ws, monkeypatch):
    at = app_on(tiny_ws, monkeypatch)
    assert not at.error
    table = at.dataframe[-1].value.set_index("model")
    assert set(table.index) == set(FABRICATED)
    assert "tiny backbone" in table.loc["vlm_0.5", "note"]
    assert "Next stage: **data_generate**" in texts(at)  # the fixture never generated windows
    assert "run_pipeline.py" in texts(at)
    assert figures(at) == 1
    assert {"Precision", "Recall"} <= set(metric_values(at))


def test_teacher_page_scores_the_chosen_window(tiny_ws, monkeypatch):
    at = app_on(tiny_ws, monkeypatch, "pages/1_Teacher.py")
    at.radio(key="_tsad_teacher").set_value("vlm_0.5").run()
    assert at.subheader[0].value == display_label(tiny_ws, find_run("vlm_0.5"))
    at.selectbox(key="_tsad_window").set_value(35).run()
    assert not at.exception and not at.error
    # by hand (HAND_MADE_ROW): predictions 38, 90, 150; only 38 lies in a true beat's [i - 2, i + 2]
    values = metric_values(at)
    assert values["Precision"] == "0.333" and values["Recall"] == "0.333"
    assert "**Predicted beats** at samples [38, 90, 150]" in texts(at)
    assert figures(at) == 1
    assert not at.button  # no checkpoint for this teacher: no live button


def test_teacher_page_runs_the_tiny_teacher_live(tiny_ws, monkeypatch):
    from PIL import Image

    from tsad.models.vlm.teacher import load_teacher, predict_images
    from tsad.scoring.beats import window_thresholds

    stages = {s.name: s.done for s in pipeline_stages(tiny_ws)}
    assert stages["vlm_1"] and not stages["vlm_1_infer"]
    assert "(teacher: tiny backbone" in display_label(tiny_ws, find_run("KD_train_0.5_vlm_1"))
    at = app_on(tiny_ws, monkeypatch, "pages/1_Teacher.py")
    at.radio(key="_tsad_teacher").set_value("vlm_1").run()
    assert "tiny backbone" in at.subheader[0].value
    assert "vlm_1_infer.py" in texts(at) and figures(at) == 0  # trained, never inferred
    at.button[0].click().run()
    assert not at.exception and not at.error and figures(at) == 1
    image = np.asarray(Image.open(tiny_ws.split_images("test") / "ecg_plot_32.png").convert("RGB"))
    logits = predict_images(load_teacher(tiny_ws.run_dir("vlm_1"), "cpu"), [image])[0]
    probs = 1 / (1 + np.exp(-logits.astype(np.float64)))
    assert metric_values(at)["Beat threshold"] == f"{window_thresholds(probs)[0]:.3f}"


def test_window_by_record_and_time(tiny_ws, monkeypatch):
    at = app_on(tiny_ws, monkeypatch, "pages/2_Student.py")
    at.radio(key="tsad_window_mode").set_value("by record and time").run()
    at.selectbox[0].set_value("rec1").run()
    start = at.selectbox[1]
    assert start.options == [f"{i - 1:.1f} s (window {i})" for i in (33, 35, 37, 39)]
    start.set_value(39).run()
    assert not at.exception and figures(at) == 1
    assert at.session_state["tsad_window"] == 39


def test_student_page_runs_the_checkpoint_live(tiny_ws, monkeypatch):
    from tsad.models.student import load_student, student_probs

    at = app_on(tiny_ws, monkeypatch, "pages/2_Student.py")
    at.selectbox(key="_tsad_window").set_value(33).run()
    assert figures(at) == 1
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert figures(at) == 2
    assert "Live, from the checkpoint" in texts(at)
    test = load_split(tiny_ws, "test", check_images=False)
    row = list(test.ids).index(33)
    probs = student_probs(load_student(tiny_ws.run_dir("LSTM_train"), "cpu"), test.series[row:row + 1])[0]
    from tsad.scoring.beats import window_thresholds
    thresholds = [m.value for m in at.metric if m.label in ("Beat threshold", "Threshold (tuned)")]
    assert thresholds[-1] == f"{window_thresholds(probs)[0]:.3f}"


def test_student_page_kd_choice_and_missing_run(tiny_ws, monkeypatch):
    at = app_on(tiny_ws, monkeypatch, "pages/2_Student.py")
    at.radio(key="_tsad_lambda").set_value("0.5").run()
    at.radio(key="_tsad_teacher_of_0.5").set_value("KD_train_0.5_vlm_1").run()
    assert figures(at) == 1 and not at.button  # outputs, but no checkpoint
    at.radio(key="_tsad_lambda").set_value("1").run()
    assert "kd_train.py" in texts(at) and "--lam 1" in texts(at)
    assert not at.exception and figures(at) == 0


def test_compare_page_shows_every_model_and_the_losses(tiny_ws, monkeypatch):
    at = app_on(tiny_ws, monkeypatch, "pages/3_Compare.py")
    assert not at.exception and not at.error
    headers = [s.value for s in at.subheader]
    assert headers == [display_label(tiny_ws, r) for r in all_runs() if r.name in FABRICATED]
    assert figures(at) == len(FABRICATED) + 1  # one per model and the loss curves
    assert len(at.dataframe) == 1


def test_a_run_that_has_not_learned_is_flagged_beside_it(split_workspace, monkeypatch):

    ws = split_workspace
    val = load_split(ws, "val", check_images=False)
    # what tuning makes of a model whose probability is the beats' base rate everywhere
    tuned = thresholds.tune_threshold_windows(np.full(val.labels.shape, 0.01, np.float32), val.labels, 128)
    thresholds.save_tuned_threshold(ws.run_dir("LSTM_train"), tuned)
    test = load_split(ws, "test", check_images=False)
    save_outputs(ws.run_dir("LSTM_train"), "LSTM_train", fabricated_probs(test.labels, 0), test.labels,
                 test.series, test.ids)
    expected = f"LSTM_train (detection.json): {tuned['warnings'][0]}"
    assert "has not learned" in expected
    for page in ("pages/2_Student.py", "pages/3_Compare.py"):
        at = app_on(ws, monkeypatch, page)
        assert not at.error, [e.value for e in at.error]
        assert [w.value for w in at.warning] == [expected], page
    at = app_on(ws, monkeypatch, "pages/2_Student.py")
    at.radio(key="_tsad_lambda").set_value("0.5").run()          # another run: its own (no) warnings
    assert not at.warning, [w.value for w in at.warning]


def test_switching_pages_keeps_workspace_and_window(tiny_ws, monkeypatch):
    at = app_on(tiny_ws, monkeypatch, "pages/3_Compare.py")
    at.selectbox(key="_tsad_window").set_value(38).run()
    at.switch_page("pages/1_Teacher.py").run()
    at.radio(key="_tsad_teacher").set_value("vlm_0.5").run()
    assert at.selectbox(key="_tsad_window").value == 38
    at.switch_page("0_Homepage.py").run()
    assert at.text_input(key="_tsad_workspace").value == str(tiny_ws.root)
    assert not at.exception


def test_workspace_from_the_sidebar(tiny_ws, empty_ws, monkeypatch):
    at = app_on(empty_ws, monkeypatch)
    at.text_input(key="_tsad_workspace").set_value(str(tiny_ws.root)).run()
    assert figures(at) == 1 and not at.exception


# --- the live page -------------------------------------------------------------------------------

def wfdb_upload(tmp_path: Path, fs: int = 360, seconds: int = 10, annotations: bool = True, marks: bool = False):
    import wfdb

    t = np.arange(fs * seconds)
    beats = np.arange(fs // 4, len(t), int(0.8 * fs))
    signal = np.zeros((len(t), 2))
    for b in beats:
        signal[:, 0] += 1.2 * np.exp(-0.5 * ((t - b) / (0.01 * fs)) ** 2)
        signal[:, 1] += 0.8 * np.exp(-0.5 * ((t - b) / (0.012 * fs)) ** 2)
    wfdb.wrsamp("up", fs=fs, units=["mV", "mV"], sig_name=["I", "II"], p_signal=signal, fmt=["16", "16"],
                write_dir=str(tmp_path))
    files = [("up.hea", (tmp_path / "up.hea").read_bytes(), "text/plain"),
             ("up.dat", (tmp_path / "up.dat").read_bytes(), "application/octet-stream")]
    if annotations:
        at, symbols = list(beats), ["N"] * len(beats)
        if marks:   # a rhythm mark and a noise mark, as real annotation files have: not beats
            at, symbols = [fs // 10, *at, int(5.05 * fs)], ["+", *symbols, "~"]
        order = np.argsort(at, kind="stable")
        wfdb.wrann("up", "atr", np.asarray(at)[order], symbol=[symbols[k] for k in order], write_dir=str(tmp_path))
        files.append(("up.atr", (tmp_path / "up.atr").read_bytes(), "application/octet-stream"))
    return files, signal, beats


def workspace_models(at: AppTest) -> None:
    """Chooses the workspace's models on the Live page (it opens on the shipped model)."""
    for source in [r for r in at.radio if r.key == "tsad_live_source"]:   # none without a shipped model
        source.set_value(source.options[1]).run()


def test_live_page_with_a_wfdb_record_and_its_annotations(tiny_ws, monkeypatch, tmp_path):
    files, _, beats = wfdb_upload(tmp_path)
    at = app_on(tiny_ws, monkeypatch, "pages/4_Live.py")
    workspace_models(at)
    at.file_uploader(key="tsad_live_wfdb").set_value(files).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "5 windows of 2 s" in at.success[0].value and f"{len(beats)} annotated beats" in at.success[0].value
    scores = at.dataframe[0].value
    # beats every 288 samples from 90 at 360 Hz: 3, 2, 3, 2, 3 in the five 720-sample windows
    assert scores["n_windows"].iloc[0] == 5 and scores["n_windows_without_beats"].iloc[0] == 0
    assert figures(at) == 1 and {"Precision", "Recall"} <= set(metric_values(at))
    at.slider(key="tsad_live_window").set_value(3).run()
    assert "window 3 (6 s)" in [s.value for s in at.subheader][-1]


def test_live_page_with_the_teacher_on_the_shown_window(tiny_ws, monkeypatch, tmp_path):
    files, _, _ = wfdb_upload(tmp_path)
    at = app_on(tiny_ws, monkeypatch, "pages/4_Live.py")
    workspace_models(at)
    at.file_uploader(key="tsad_live_wfdb").set_value(files).run()
    at.selectbox(key="tsad_live_teacher").set_value(find_run("vlm_1")).run()
    assert not at.exception and not at.error and figures(at) == 2
    assert "tiny backbone" in at.subheader[-1].value


def test_live_page_with_a_csv(tiny_ws, monkeypatch, tmp_path):
    _, signal, _ = wfdb_upload(tmp_path, fs=250, seconds=6, annotations=False)
    text = "lead1,lead2\n" + "\n".join(f"{a:.4f},{b:.4f}" for a, b in signal)
    at = app_on(tiny_ws, monkeypatch, "pages/4_Live.py")
    workspace_models(at)
    at.radio(key="tsad_live_format").set_value("CSV, one or two columns").run()
    at.number_input(key="tsad_live_fs").set_value(250.0)
    at.file_uploader(key="tsad_live_csv").set_value(("beats.csv", text.encode(), "text/csv")).run()
    assert not at.exception and not at.error
    assert "250 Hz resampled to 128 Hz, 3 windows" in at.success[0].value
    assert not at.dataframe and "Precision" not in metric_values(at)  # no annotations: no scores
    assert figures(at) == 1


@pytest.mark.parametrize("upload, message", [
    ([("up.dat", b"\0\0", "application/octet-stream")], "no .hea header"),
    ([("up.hea", b"up 2 360 100\n", "text/plain"), ("up.dat", b"\0" * 8, "application/octet-stream")],
     "up"),
])
def test_live_page_explains_a_bad_wfdb_upload(tiny_ws, monkeypatch, upload, message):
    at = app_on(tiny_ws, monkeypatch, "pages/4_Live.py")
    workspace_models(at)
    at.file_uploader(key="tsad_live_wfdb").set_value(upload).run()
    assert not at.exception
    assert at.error and at.error[0].value.startswith("This upload cannot be used:")
    assert message in at.error[0].value and figures(at) == 0


def test_live_page_explains_a_bad_csv(tiny_ws, monkeypatch):
    at = app_on(tiny_ws, monkeypatch, "pages/4_Live.py")
    workspace_models(at)
    at.radio(key="tsad_live_format").set_value("CSV, one or two columns").run()
    at.file_uploader(key="tsad_live_csv").set_value(("x.csv", b"1,2,3\n4,5,6\n", "text/csv")).run()
    assert not at.exception and "3 column(s); expected one or two" in at.error[0].value


def shipped_model(tiny_ws, monkeypatch, tmp_path) -> Path:
    """A stand-in for pretrained/: the tiny workspace's student run, shipped in tmp_path."""
    import shutil

    from tsad.core import paths

    folder = tmp_path / "pretrained" / paths.PRETRAINED_MODELS["pretrained"]
    folder.mkdir(parents=True)
    for name in ("best.pth", "metadata.json"):
        shutil.copyfile(tiny_ws.run_dir("LSTM_train") / name, folder / name)
    (folder / "detection.json").write_text(json.dumps({"threshold": 0.3}))
    monkeypatch.setattr(paths, "PRETRAINED_DIR", tmp_path / "pretrained")
    return folder


def test_live_page_detects_a_whole_upload_with_the_shipped_model(tiny_ws, monkeypatch, tmp_path):
    shipped_model(tiny_ws, monkeypatch, tmp_path)
    files, _, beats = wfdb_upload(tmp_path, fs=360, seconds=10, marks=True)   # its marks are not beats
    at = app_on(tiny_ws, monkeypatch, "pages/4_Live.py")
    at.file_uploader(key="tsad_live_wfdb").set_value(files).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "360 Hz" in at.success[0].value and f"{len(beats)} annotated beats" in at.success[0].value
    found = int(metric_values(at)["Beats"])
    scores = at.dataframe[0].value
    assert scores["n_ref"].iloc[0] == len(beats) and scores["n_det"].iloc[0] == found
    assert metric_values(at)["Threshold (tuned)"] == "0.3" and figures(at) == 1


def test_live_page_offers_the_example_with_the_shipped_model_at_first_sight(tiny_ws, monkeypatch, tmp_path):
    """A workspace where the main job has run (it has a trained student) still opens on the shipped
    model with its one-click example; the workspace's models are one click away."""
    shipped_model(tiny_ws, monkeypatch, tmp_path)
    at = app_on(tiny_ws, monkeypatch, "pages/4_Live.py")
    assert at.radio(key="tsad_live_source").value.startswith("The shipped model")
    assert "synthetic example" in at.toggle(key="tsad_live_example").label


def test_live_page_example_record_with_one_click(tiny_ws, monkeypatch, tmp_path):
    shipped_model(tiny_ws, monkeypatch, tmp_path)
    at = app_on(tiny_ws, monkeypatch, "pages/4_Live.py")
    at.toggle(key="tsad_live_example").set_value(True).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success[0].value.startswith("**example**: 120.0 s, 360 Hz") and "annotated beats" in at.success[0].value
    scores = at.dataframe[0].value
    assert scores["n_ref"].iloc[0] > 100 and scores["n_det"].iloc[0] == int(metric_values(at)["Beats"])


def test_live_page_follows_an_upload_as_it_arrives_with_the_causal_detector(tiny_ws, monkeypatch, tmp_path):
    """With a causal detector beside the shipped model (untrained, threshold 0: any beats will do), the
    page shows the beats of the first T seconds decided with 0.5 s of latency (their equality with the
    whole record's: tests/test_causal.py)."""
    import torch

    from tsad.core.checkpoint import save_checkpoint, trainable_state_dict
    from tsad.core.paths import CAUSAL_DIR
    from tsad.models.student import build_student, student_config

    folder = shipped_model(tiny_ws, monkeypatch, tmp_path)
    torch.manual_seed(0)
    model = build_student(student_config("fcn_1k", lookahead=38)).eval()
    save_checkpoint(folder / CAUSAL_DIR / "best.pth", {"kind": "student", "model_config": model.config.__dict__,
                                                       "model": trainable_state_dict(model),
                                                       "geometry": {"fs": 128.0, "samples": 256, "channels": [0, 1],
                                                                    "labels": "beats"}})
    (folder / CAUSAL_DIR / "detection.json").write_text(json.dumps({"threshold": 0.0}))
    at = app_on(tiny_ws, monkeypatch, "pages/4_Live.py")
    at.toggle(key="tsad_live_example").set_value(True).run()
    at.toggle(key="tsad_live_follow").set_value(True).run()
    at.slider(key="tsad_live_follow_t").set_value(40.0).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    early = int(metric_values(at)["Beats decided"])
    assert early > 30 and "will not change as more arrives" in texts(at) and figures(at) == 1
    assert float(metric_values(at)["Last beat"].split()[0]) < 39.5
    at.slider(key="tsad_live_follow_t").set_value(80.0).run()
    assert int(metric_values(at)["Beats decided"]) > early


def test_live_page_without_a_student_names_the_training(split_workspace, monkeypatch, tmp_path):
    from tsad.core import paths

    monkeypatch.setattr(paths, "PRETRAINED_DIR", tmp_path / "no_shipped_model")
    files, _, _ = wfdb_upload(tmp_path, annotations=False)
    at = app_on(split_workspace, monkeypatch, "pages/4_Live.py")
    at.file_uploader(key="tsad_live_wfdb").set_value(files).run()
    assert not at.exception and "student_train.py" in texts(at)


def test_live_page_counts_and_lists_abnormal_beats_with_a_classifying_model(tiny_ws, monkeypatch, tmp_path):
    """The shipped stand-in with a beat classifier (untrained: any classes will do) gives each beat a
    class: the counts of V and S beats, the class figures beside the scores, and the abnormal beats."""
    from tsad.core.paths import CLASSIFIER_CHECKPOINT
    from tsad.models.beat_classifier import BeatClassifier, save_classifier

    folder = shipped_model(tiny_ws, monkeypatch, tmp_path)
    save_classifier(folder / CLASSIFIER_CHECKPOINT, BeatClassifier())
    at = app_on(tiny_ws, monkeypatch, "pages/4_Live.py")
    at.toggle(key="tsad_live_example").set_value(True).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    values = metric_values(at)
    assert {"Ventricular (V)", "Supraventricular (S)", "Beats"} <= set(values)
    counts = " ".join(c.value for c in at.caption if c.value.startswith("Beats by class"))
    total = sum(int(part.split()[1]) for part in counts.removeprefix("Beats by class (AAMI): ").split(", "))
    assert total == int(values["Beats"])
    assert {"VEB_Se", "SVEB_Se"} <= set(at.dataframe[0].value.columns)
