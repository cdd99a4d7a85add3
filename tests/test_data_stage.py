"""data_generate.py and data_split.py, called through main() as a user would."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_script

from tsad.core.fileio import sha256_file
from tsad.core.paths import Workspace, plot_name

REPO = Path(__file__).resolve().parents[1]
GENERATE = REPO / "Codes/Dataset/data_generate.py"
SPLIT = REPO / "Codes/Dataset/data_split.py"


@pytest.fixture
def demo_ws(tmp_path):
    ws = Workspace(tmp_path / "ws")
    summary = run_script(GENERATE, ["--workspace", str(ws.root), "--demo", "--demo-records", "3",
                                    "--demo-minutes", "1", "--workers", "2"])
    return ws, summary


def test_generate_demo_outputs(demo_ws):
    ws, summary = demo_ws
    assert summary.n_windows == 3 * 30 and summary.records == ["demo00", "demo01", "demo02"]
    labels = pd.read_csv(ws.labels_csv, header=None).to_numpy()
    series = np.load(ws.segments_npy)
    windows = pd.read_csv(ws.windows_csv)
    assert labels.shape == (90, 257) and series.shape == (90, 256, 2) and series.dtype == np.float32
    assert (labels[:, 0] == np.arange(90)).all() and set(np.unique(labels[:, 1:])) <= {0, 1}
    assert windows["record"].tolist()[:31][-1] == "demo01" and windows["start"].iloc[1] == 256
    assert (windows["n_beats"].to_numpy() == labels[:, 1:].sum(1)).all()
    assert len(list(ws.plots_ecg.glob("ecg_plot_*.png"))) == 90
    manifest = json.loads((ws.root / "data_manifest.json").read_text())
    assert manifest["stage"] == "data_generate" and manifest["config"]["demo"] is True
    assert manifest["config"]["labels"] == "beats" and manifest["config"]["channels"] == [0, 1]
    assert manifest["summary"]["n_windows"] == 90 and manifest["summary"]["n_beats"] == labels[:, 1:].sum()
    outputs = {Path(o["path"]).name: o for o in manifest["outputs"]}
    assert outputs["ECG_segments.npy"]["sha256"] == sha256_file(ws.segments_npy)
    assert outputs["Plots_ECG"]["kind"] == "folder" and outputs["Plots_ECG"]["files"] == 90
    assert [Path(i["path"]).name for i in manifest["inputs"]] == ["demo00.hea", "demo01.hea", "demo02.hea"]


def test_rerun_replaces_without_duplicates(demo_ws):
    ws, _ = demo_ws
    (ws.plots_ecg / "ecg_plot_999.png").write_bytes(b"stale")
    before = ws.labels_csv.read_bytes()
    run_script(GENERATE, ["--workspace", str(ws.root), "--workers", "1"])  # reads raw/demo again
    assert ws.labels_csv.read_bytes() == before
    assert len(list(ws.plots_ecg.glob("*.png"))) == 90
    assert not list(ws.root.glob(".*tmp*"))


def test_no_input_uses_demo_and_says_so(tmp_path, caplog):
    ws = tmp_path / "ws"
    with caplog.at_level("INFO"):
        summary = run_script(GENERATE, ["--workspace", str(ws), "--demo-records", "1", "--demo-minutes", "0.5",
                                        "--workers", "1"])
    assert summary.n_windows == 15 and "demo database" in caplog.text


def test_bad_record_fail_and_skip(tmp_path, demo_ws):
    ws, _ = demo_ws
    src = ws.raw("demo")
    bad = tmp_path / "in"
    bad.mkdir()
    for f in src.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    (bad / "demo01.atr").unlink()
    out = tmp_path / "ws2"
    with pytest.raises(ValueError, match="demo01: annotation file demo01.atr not found"):
        run_script(GENERATE, ["--workspace", str(out), "--input-dir", str(bad), "--workers", "1"])
    assert not (out / "labels_ECG.csv").exists()
    summary = run_script(GENERATE, ["--workspace", str(out), "--input-dir", str(bad), "--workers", "1",
                                    "--on-error", "skip"])
    assert summary.records == ["demo00", "demo02"] and "demo01" in summary.skipped
    with pytest.raises(FileNotFoundError, match="no header for record"):
        run_script(GENERATE, ["--workspace", str(out), "--input-dir", str(bad), "--records", "nope"])


def test_download_offline_is_a_clear_error(tmp_path, monkeypatch):
    import wfdb

    def offline(*a, **k):
        raise ConnectionError("network unreachable")

    monkeypatch.setattr(wfdb, "dl_database", offline)
    with pytest.raises(RuntimeError, match="could not download 'svdb'.*Offline"):
        run_script(GENERATE, ["--workspace", str(tmp_path), "--download", "svdb"])


def test_split_window_wise(demo_ws):
    ws, _ = demo_ws
    counts = run_script(SPLIT, ["--workspace", str(ws.root)])
    assert counts == {"train": 81, "val": 4, "test": 5}
    seen = []
    for split, n in counts.items():
        frame = pd.read_csv(ws.split_csv(split))
        assert list(frame.columns) == [str(i) for i in range(257)] and len(frame) == n
        arr = np.load(ws.split_npy(split))
        ids = frame["0"].to_numpy()
        np.testing.assert_array_equal(arr, np.load(ws.segments_npy)[ids])
        img = ws.split_images(split) / plot_name(ids[0])
        assert os.path.samefile(img, ws.plots_ecg / plot_name(ids[0]))  # hard link, not a copy
        seen.extend(ids)
    assert sorted(seen) == list(range(90))
    again = run_script(SPLIT, ["--workspace", str(ws.root)])
    assert again == counts
    assert pd.read_csv(ws.split_csv("test"))["0"].tolist() == ids.tolist()  # same seed, same split


def test_split_by_record_and_copy(demo_ws):
    ws, _ = demo_ws
    run_script(SPLIT, ["--workspace", str(ws.root), "--by", "record", "--copy"])
    windows = pd.read_csv(ws.windows_csv)
    records = [set(windows.loc[pd.read_csv(ws.split_csv(s))["0"], "record"]) for s in ("train", "val", "test")]
    assert all(records) and not (records[0] & records[1] or records[0] & records[2] or records[1] & records[2])
    img = next(ws.split_images("test").iterdir())
    assert not os.path.samefile(img, ws.plots_ecg / img.name)


def test_split_checks_counts(demo_ws):
    ws, _ = demo_ws
    (ws.plots_ecg / plot_name(7)).unlink()
    with pytest.raises(FileNotFoundError, match="ecg_plot_7.png: image missing"):
        run_script(SPLIT, ["--workspace", str(ws.root)])
    np.save(ws.segments_npy, np.zeros((10, 256, 2), np.float32))
    with pytest.raises(ValueError, match="ECG_segments.npy: 10 windows, but .*labels_ECG.csv has 90"):
        run_script(SPLIT, ["--workspace", str(ws.root)])


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        run_script(GENERATE, ["--help"])
    out = capsys.readouterr().out
    assert "--on-error" in out and "(default: fail)" in out


def test_class_targets_follow_the_beats_of_every_window(tmp_path):
    """Per-sample AAMI class targets from the symbols the data stage keeps: a beat's class where its
    label is 1, nothing where it is 0, and the classes the demo writes (N, S, V)."""
    from conftest import REPO, run_script

    from tsad.core.paths import Workspace
    from tsad.data.demo_db import DemoConfig, write_demo_database
    from tsad.data.ecg import CLASS_CODES, class_codes
    from tsad.data.splits import class_targets, load_split

    assert class_codes("3:N 7:V 9:+ 12:A", 10).tolist() == [0, 0, 0, 1, 0, 0, 0, 3, 0, 0]
    write_demo_database(tmp_path / "raw", DemoConfig(n_records=2, minutes=1))
    ws = Workspace(tmp_path / "ws")
    run_script(REPO / "Codes/Dataset/data_generate.py", ["--workspace", str(ws.root), "--input-dir",
                                                         str(tmp_path / "raw"), "--workers", "1"])
    run_script(REPO / "Codes/Dataset/data_split.py", ["--workspace", str(ws.root)])
    train = load_split(ws, "train", check_images=False)
    codes = class_targets(ws, train.ids, train.labels.shape[1])
    assert codes.shape == train.labels.shape and np.array_equal(codes > 0, train.labels > 0.5)
    present = set(np.unique(codes[codes > 0]).tolist())
    assert present <= set(CLASS_CODES.values()) and CLASS_CODES["N"] in present and len(present) >= 2
    with pytest.raises(ValueError, match="no row for window"):
        class_targets(ws, [10**9], 256)
