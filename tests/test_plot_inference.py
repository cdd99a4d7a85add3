"""plot_inference.py end to end on a workspace with fabricated run folders."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsad.data.splits import load_split
from tsad.experiments.evaluate import evaluate_workspace, find_scored_runs, to_markdown
from tsad.scoring import beats, metrics
from tsad.scoring.outputs import save_outputs

SCRIPT = Path(__file__).resolve().parents[1] / "Codes" / "Inference" / "plot_inference.py"


def _probs_from_beats(labels, shift=0, spread=2.0, rng=None):
    """A probability curve with a bump at every (shifted) true beat, plus noise."""
    t = np.arange(labels.shape[1])
    probs = np.zeros(labels.shape)
    for k, row in enumerate(labels):
        for b in np.flatnonzero(row > 0.5):
            probs[k] += np.exp(-0.5 * ((t - b - shift) / spread) ** 2)
    if rng is not None:
        probs += rng.uniform(0, 0.05, probs.shape)
    return np.clip(probs, 0, 1).astype(np.float32)


@pytest.fixture
def scored_workspace(split_workspace):
    ws = split_workspace
    test = load_split(ws, "test", check_images=False)
    rng = np.random.default_rng(1)
    save_outputs(ws.run_dir("vlm_0.5"), "vlm_0.5", _probs_from_beats(test.labels, rng=rng), test.labels,
                 test.series, test.ids)
    (ws.run_dir("vlm_0.5") / "metadata.json").write_text(json.dumps({"backbone": "tiny-idefics3"}))
    # the student saw its windows in another order and one window fewer: rows matched by id
    order = rng.permutation(len(test))[:-1]
    save_outputs(ws.run_dir("LSTM_train"), "LSTM_train", _probs_from_beats(test.labels, shift=6)[order],
                 test.labels[order], test.series[order], test.ids[order])
    ws.run_dir("KD_train_0.5_vlm_1").mkdir()           # trained, never inferred
    return ws, test, order


def test_main_writes_table_and_figures_matching_direct_metrics(scored_workspace):
    ws, test, order = scored_workspace
    evaluation = runpy_main(["--workspace", str(ws.root), "--n-examples", "3"])
    table = pd.read_csv(ws.results_csv)
    assert list(table["model"]) == ["vlm_0.5", "LSTM_train", "xqrs"]
    assert {"n_windows", "n_windows_without_beats", "MSP", "MSR", "Se", "PPV", "F1", "AUC_PR",
            "note"} <= set(table.columns)
    common = np.sort(test.ids[order])
    keep = np.isin(test.ids, common)
    labels = test.labels[keep]
    teacher = metrics.score_model(labels, _probs_from_beats(test.labels, rng=np.random.default_rng(1))[keep])
    row = table.iloc[0]
    assert row["n_windows"] == len(common) == 7
    for key in ("MSP", "MSR", "Se", "PPV", "F1", "AUC_PR"):
        assert row[key] == pytest.approx(getattr(teacher, key))
    assert row["MSP"] == pytest.approx(1.0) and row["MSR"] == pytest.approx(1.0)
    assert "tiny backbone" in row["note"] and "scored 7 of its 8 windows" in row["note"]
    student = table.iloc[1]
    assert student["MSR"] == pytest.approx(0.0)               # shifted by 6 > w = 2
    assert student["Se"] == pytest.approx(1.0)                # but inside the 150 ms window
    assert isinstance(student["note"], float) or "scored" not in student["note"]   # all its windows
    assert np.isnan(table.iloc[2]["AUC_PR"]) and "XQRS" in table.iloc[2]["note"]
    assert any(m.startswith("KD_train_0.5_vlm_1") for m in evaluation.missing)
    assert any(m.startswith("vlm_1:") for m in evaluation.missing)
    assert "| vlm_0.5 |" in ws.results_md.read_text()
    for name in ("inference_examples.png", "inference_precision_recall_hist.png", "inference_pr_curves.png"):
        assert (ws.plots / name).stat().st_size > 1000
    assert (ws.run_dir("xqrs") / "all_probs_xqrs.npy").is_file()


def runpy_main(argv):
    old = sys.argv
    sys.argv = [str(SCRIPT), *argv]
    try:
        namespace = runpy.run_path(str(SCRIPT), run_name="not_main")
        return namespace["main"](argv)
    finally:
        sys.argv = old


def test_no_output_names_the_stages(split_workspace):
    with pytest.raises(FileNotFoundError) as err:
        runpy_main(["--workspace", str(split_workspace.root)])
    message = str(err.value)
    assert "vlm_train_0.5.py" in message and "vlm_0.5_infer.py" in message
    assert "student_train.py" in message and "student_infer.py --workspace W --run LSTM_train" in message


def test_threshold_flag_and_without_split(tmp_path):
    from tsad.core.paths import Workspace

    ws = Workspace(tmp_path / "ws")
    labels = np.zeros((3, 256), np.float32)
    labels[:2, [40, 140]] = 1
    probs = _probs_from_beats(labels)
    save_outputs(ws.run_dir("LSTM_train"), "LSTM_train", probs, labels, np.zeros((3, 256, 2)), [5, 6, 7])
    evaluation = evaluate_workspace(ws, threshold=0.5)
    assert [m.name for m in evaluation.models] == ["LSTM_train"]
    assert any(m.startswith("xqrs: no test split") for m in evaluation.missing)
    row = evaluation.table.iloc[0]
    assert row["n_windows_without_beats"] == 1
    assert row["MSP"] == pytest.approx(1.0)                    # empty window, no prediction: 1
    assert "n/a" not in to_markdown(evaluation.table).splitlines()[2]


def test_partial_outputs_are_reported_not_scored(split_workspace):
    ws = split_workspace
    test = load_split(ws, "test", check_images=False)
    save_outputs(ws.run_dir("vlm_1"), "vlm_1", _probs_from_beats(test.labels), test.labels, test.series, test.ids)
    (ws.run_dir("vlm_1") / "ids_vlm_1.npy").unlink()
    runs, missing = find_scored_runs(ws)
    assert runs == [] and any("vlm_1: incomplete outputs, missing ids_vlm_1.npy" in m for m in missing)


def test_plot_window_for_the_gui(tmp_path):
    from tsad.scoring import plots

    labels = np.zeros(256)
    labels[[40, 140]] = 1
    probs = _probs_from_beats(labels[None, :])[0]
    series = np.random.default_rng(0).normal(0, 0.1, (256, 2))
    fig = plots.plot_window(series, labels, probs, title="window 7")
    assert len(fig.axes) == 3 and fig.axes[0].get_title() == "window 7"
    marked = fig.axes[2].collections[0].get_offsets()[:, 0]      # predicted beats on the curve
    assert marked.tolist() == beats.predict_positions(probs).tolist() == [40, 140]
    assert fig.axes[2].lines[1].get_ydata()[0] == pytest.approx(probs.mean())
    plots.save_figure(fig, tmp_path / "w.png")
    assert (tmp_path / "w.png").read_bytes()[:4] == b"\x89PNG"
    assert len(plots.plot_window(series[:, 0], labels).axes) == 1
