"""Several databases in one workspace: the data stage keeps each record's database and folder,
folds and validation records are drawn per database, cross-validation scores each record against
its own folder and reports each database, and one database can be left out."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_script

from tsad.core.paths import Workspace
from tsad.data.folds import assign_record_parts, database_test_parts, record_folds
from tsad.data.generate import record_sources
from tsad.detection import folders, records
from tsad.models import loader, predictor

REPO = Path(__file__).resolve().parents[1]
GENERATE = REPO / "Codes/Dataset/data_generate.py"
STUDENT_CV = REPO / "Codes/Models/student_cv.py"


def _two_databases(root: Path) -> tuple[Path, Path]:
    """Folders 'alpha' (demo00-demo03) and 'beta' (demo04, demo05, the latter at 256 Hz)."""
    import wfdb
    import wfdb.processing

    from tsad.data.demo_db import DemoConfig, write_demo_database

    alpha, beta = root / "alpha", root / "beta"
    write_demo_database(alpha, DemoConfig(n_records=6, minutes=1))
    beta.mkdir()
    for name in ("demo04", "demo05"):
        for f in alpha.glob(f"{name}.*"):
            shutil.move(str(f), beta / f.name)
    # demo05 at another rate, with its annotations moved alike
    rec, ann = wfdb.rdrecord(str(beta / "demo05")), wfdb.rdann(str(beta / "demo05"), "atr")
    sig = np.stack([wfdb.processing.resample_sig(rec.p_signal[:, c], rec.fs, 256)[0] for c in range(2)], axis=1)
    for f in beta.glob("demo05.*"):
        f.unlink()
    wfdb.wrsamp("demo05", fs=256, units=rec.units, sig_name=rec.sig_name, p_signal=sig, fmt=["16", "16"],
                write_dir=str(beta))
    wfdb.wrann("demo05", "atr", np.round(ann.sample * 2).astype(int), symbol=ann.symbol, write_dir=str(beta))
    return alpha, beta


@pytest.fixture(scope="module")
def two_db(tmp_path_factory):
    root = tmp_path_factory.mktemp("dbs")
    alpha, beta = _two_databases(root)
    ws = Workspace(root / "ws")
    summary = run_script(GENERATE, ["--workspace", str(ws.root), "--input-dir", str(alpha), str(beta),
                                    "--workers", "1"])
    return ws, alpha, beta, summary


def test_data_stage_keeps_each_records_database_and_folder(two_db):
    ws, alpha, beta, summary = two_db
    assert summary.records == [f"demo0{k}" for k in range(6)]
    windows = pd.read_csv(ws.windows_csv)
    per_db = windows.groupby("database")["record"].unique().to_dict()
    assert sorted(per_db["alpha"]) == ["demo00", "demo01", "demo02", "demo03"]
    assert sorted(per_db["beta"]) == ["demo04", "demo05"]
    assert set(windows.loc[windows["record"] == "demo05", "fs"]) == {256}
    # 1 minute of each record at 128 Hz: 30 windows each, whatever the record's own rate
    assert (windows.groupby("record").size() == 30).all()
    sources = record_sources(ws)
    assert sources["demo01"] == alpha.resolve() and sources["demo05"] == beta.resolve()
    assert record_sources(ws, alpha)["demo05"] == alpha            # --input-dir overrides every folder


def test_a_record_name_in_two_folders_is_one_clear_error(tmp_path):
    from tsad.data.demo_db import DemoConfig, write_demo_database

    for name in ("a", "b"):
        write_demo_database(tmp_path / name, DemoConfig(n_records=1, minutes=1))
    with pytest.raises(ValueError, match=r"record demo00 is in .*a and in .*b"):
        run_script(GENERATE, ["--workspace", str(tmp_path / "ws"), "--input-dir", str(tmp_path / "a"),
                              str(tmp_path / "b"), "--workers", "1"])


def test_folds_spread_every_database_and_match_the_plain_folds_for_one():
    names = [f"s{k:02d}" for k in range(20)] + [f"m{k:02d}" for k in range(5)]
    groups = {n: ("svdb" if n.startswith("s") else "mitdb") for n in names}
    folds = record_folds(names, 5, seed=1, groups=groups)
    assert sorted(sum(folds, [])) == sorted(names)
    for fold in folds:                                   # 4 svdb and 1 mitdb record in each fold
        assert sum(groups[r] == "svdb" for r in fold) == 4 and sum(groups[r] == "mitdb" for r in fold) == 1
    one_db = [n for n in names if n.startswith("s")]
    assert record_folds(one_db, 5, 1, {n: "svdb" for n in one_db}) == record_folds(one_db, 5, 1)
    parts = assign_record_parts(names, folds=5, fold=0, val=0.1, seed=1, groups=groups)
    assert {groups[r] for r in parts["val"]} == {"svdb", "mitdb"}   # the threshold sees both databases


def test_leave_one_database_out_parts():
    groups = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B"}
    parts = database_test_parts(groups, "B", val=0.3, seed=0)
    assert parts["test"] == ["b1", "b2"] and set(parts["train"] + parts["val"]) == {"a1", "a2", "a3"}
    with pytest.raises(ValueError, match="database 'C' not in the workspace"):
        database_test_parts(groups, "C")


def test_student_cv_over_two_databases_reports_each(two_db):
    ws, *_ = two_db
    common = ["--workspace", str(ws.root), "--arch", "tcn", "--epochs", "1", "--batch-size", "16", "--lr", "3e-3",
              "--warmup-steps", "5", "--val", "0.25", "--threads", "1"]
    summary = run_script(STUDENT_CV, [*common, "--name", "both", "--folds", "2", "--only-folds", "0"])
    root = ws.root / "cv" / "both"
    per_record = pd.read_csv(root / "records.csv", dtype={"record": str})
    assert set(per_record["database"]) == {"alpha", "beta"}
    figures = set(summary["figure"])
    assert {"gross_F1 [alpha]", "gross_F1 [beta]", "gross_Se_N", "gross_Se_V [beta]"} <= figures
    # classes the demo records lack are n/a, never 0 (the demo has N, S and V beats only)
    fold = json.loads((root / "fold0" / "fold.json").read_text())
    assert np.isnan(fold["gross_Se_paced"]) and fold["gross_Se_N"] > 0
    # each record is scored at its own rate (demo05 at 256 Hz) against its own folder's annotations
    own_rate = {"demo04": 128, "demo05": 256}
    for _, row in per_record[per_record["database"] == "beta"].iterrows():
        assert row["fs"] == own_rate[row["record"]] and row["n_ref"] > 50
    # --rescore keeps the fold's model and its training time, and scores again
    from tsad.core.fileio import sha256_file

    weights = sha256_file(root / "fold0" / "best.pth")
    (root / "fold0" / "records.csv").write_text("stale")
    run_script(STUDENT_CV, [*common, "--name", "both", "--folds", "2", "--only-folds", "0", "--rescore"])
    assert sha256_file(root / "fold0" / "best.pth") == weights
    assert json.loads((root / "fold0" / "fold.json").read_text())["train_s"] == fold["train_s"] > 0
    assert pd.read_csv(root / "fold0" / "records.csv").shape[0] == len(per_record)
    lodo = run_script(STUDENT_CV, [*common, "--name", "lodo-beta", "--test-database", "beta"])
    lodo_records = pd.read_csv(ws.root / "cv" / "lodo-beta" / "records.csv", dtype={"record": str})
    assert sorted(lodo_records["record"]) == ["demo04", "demo05"]
    fold = json.loads((ws.root / "cv" / "lodo-beta" / "fold0" / "fold.json").read_text())
    assert fold["test_records"] == "demo04 demo05" and "gross_F1" in set(lodo["figure"])


def test_train_pretrained_ships_a_run_folder_that_detect_loads_by_path(two_db, tmp_path):
    ws, alpha, beta, _ = two_db
    from tsad.core.checkpoint import load_checkpoint

    out = run_script(REPO / "Codes/Models/train_pretrained.py",
                     ["--workspace", str(ws.root), "--arch", "tcn", "--epochs", "1", "--batch-size", "16",
                      "--lr", "3e-3", "--warmup-steps", "5", "--train-windows", "60", "--val", "0.2",
                      "--threads", "1", "--out-dir", str(tmp_path / "pretrained"), "--name", "tiny"])
    assert out == tmp_path / "pretrained" / "tiny"
    assert sorted(p.name for p in out.iterdir()) == ["MODEL_CARD.md", "best.pth", "detection.json", "metadata.json",
                                                     "model.onnx"]
    card = (out / "MODEL_CARD.md").read_text()
    assert "alpha: " in card and "beta: " in card and "not** SmolVLM" in card
    tuned = json.loads((out / "detection.json").read_text())
    val = tuned["records"]
    assert {("alpha" if r in ("demo00", "demo01", "demo02", "demo03") else "beta") for r in val} == {"alpha", "beta"}
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["preset"] == "seed" and meta["n_train"] == 60
    assert load_checkpoint(out / "best.pth")["model_config"]["arch"] == "tcn"
    det = run_script(REPO / "Codes/Inference/detect.py", ["--workspace", str(ws.root), "--run", str(out),
                                                         "--input-dir", str(beta), "--threads", "1"])
    assert det["out"] == ws.root / "detections" / "tiny"
    assert json.loads(Path(det["meta"]).read_text())["backend"] == "onnx"     # the shipped export, by default
    assert [r["record"] for r in det["records"]] == ["demo04", "demo05"]
    # a small fast student distilled from a teacher made of the shipped run: the card says from what
    run_script(REPO / "Codes/Models/ensemble_teacher.py", ["--workspace", str(ws.root), "--name", "ens_tiny",
                                                           "--members", "pretrained_build/tiny"])
    fast = run_script(REPO / "Codes/Models/train_pretrained.py",
                      ["--workspace", str(ws.root), "--arch", "fcn_1k", "--epochs", "1", "--batch-size", "16",
                       "--lr", "3e-3", "--warmup-steps", "5", "--train-windows", "60", "--val", "0.2",
                       "--threads", "1", "--out-dir", str(tmp_path / "pretrained"), "--name", "fast",
                       "--teacher", "ens_tiny", "--lam", "0.5"])
    card = (fast / "MODEL_CARD.md").read_text()
    assert "distilled (lambda 0.5, temperature 2.0) from the teacher `ens_tiny`" in card
    assert "one pass (fully convolutional" in card
    with pytest.raises(ValueError, match="needs both --teacher RUN and --lam > 0"):
        run_script(REPO / "Codes/Models/train_pretrained.py", ["--workspace", str(ws.root), "--lam", "0.5",
                                                               "--out-dir", str(tmp_path / "pretrained")])
    # its causal detector (--lookahead-s) goes into causal/ beside it, with its own card and a section
    # in the parent's; retraining the offline detector keeps it
    small = ["--arch", "fcn_1k", "--epochs", "1", "--batch-size", "16", "--lr", "3e-3", "--warmup-steps", "5",
             "--train-windows", "60", "--val", "0.2", "--threads", "1", "--out-dir", str(tmp_path / "pretrained")]
    with pytest.raises(FileNotFoundError, match="ship the offline detector first"):
        run_script(REPO / "Codes/Models/train_pretrained.py", ["--workspace", str(ws.root), *small, "--name", "none",
                                                               "--lookahead-s", "0.3"])
    causal = run_script(REPO / "Codes/Models/train_pretrained.py", ["--workspace", str(ws.root), *small,
                                                                    "--name", "fast", "--lookahead-s", "0.3"])
    assert causal == fast / "causal" and (causal / "model.onnx").is_file()
    assert load_checkpoint(causal / "best.pth")["model_config"]["lookahead"] == 38
    assert "--latency-s 0.5" in (causal / "MODEL_CARD.md").read_text()
    section = (fast / "MODEL_CARD.md").read_text()
    assert "## Causal detection" in section and "0.297 s" in section and section.index("## Causal") < section.index(
        "## Limits")
    run_script(REPO / "Codes/Models/train_pretrained.py", ["--workspace", str(ws.root), *small, "--name", "fast"])
    assert (fast / "causal" / "best.pth").read_bytes() == (causal / "best.pth").read_bytes()
    assert (fast / "MODEL_CARD.md").read_text().count("## Causal detection") == 1
    det = run_script(REPO / "Codes/Inference/detect.py", ["--workspace", str(ws.root), "--run", str(fast),
                                                         "--input-dir", str(beta), "--threads", "1",
                                                         "--latency-s", "0.5", "--out", str(tmp_path / "causal_det")])
    assert json.loads(Path(det["meta"]).read_text())["run"] == f"{fast}/causal"


def test_the_shipped_model_missing_is_one_clear_error(tmp_path, monkeypatch):
    from tsad.core import paths
    from tsad.models import loader

    monkeypatch.setattr(paths, "PRETRAINED_DIR", tmp_path / "nowhere")
    with pytest.raises(predictor.DetectionError, match="shipped model's weights are missing"):
        loader.load("pretrained", Workspace(tmp_path / "ws"))


def test_detect_signal_in_memory_equals_detect_record(two_db, tmp_path):
    """The same beats from an array at another rate as from the record's file (demo05 is at 256 Hz)."""
    import wfdb


    ws, alpha, beta, _ = two_db
    run = ws.root / "cv" / "both" / "fold0"
    if not (run / "best.pth").is_file():
        pytest.skip("needs the fold model of test_student_cv_over_two_databases_reports_each")
    detector = loader.load(str(run), ws)
    from_file = records.detect_record(detector, beta / "demo05")
    signal = wfdb.rdrecord(str(beta / "demo05")).p_signal
    in_memory = records.detect_signal(detector, signal, 256.0, name="demo05")
    assert from_file.fs == in_memory.fs == 256 and len(from_file.samples) > 50
    assert np.array_equal(from_file.samples, in_memory.samples)
    for classical in ("gqrs", "xqrs"):
        det = loader.load(classical, ws)
        assert np.array_equal(records.detect_record(det, beta / "demo05").samples,
                              records.detect_signal(det, signal, 256.0).samples)
    assert records.detect_signal(detector, signal[:, 0], 256.0).leads == [0, None]   # one lead: the other is 0
    with pytest.raises(predictor.DetectionError, match="lead"):
        records.detect_signal(detector, signal, 256.0, leads=[5])
    bad = signal.copy()
    bad[100:120] = np.nan
    gappy = records.detect_signal(detector, bad[:, :1].repeat(2, 1), 256.0)     # NaN: a gap, not an error
    assert gappy.gaps == [(100, 120)] and not ((gappy.samples >= 100) & (gappy.samples < 120)).any()


def test_detect_beats_api_equals_detect_py(two_db, tmp_path):
    """tsad.detect_beats on an array and tsad.detect_record on the file give detect.py's beats."""
    import wfdb

    import tsad
    from tsad.scoring import ec57

    ws, alpha, beta, _ = two_db
    run = ws.root / "cv" / "both" / "fold0"
    if not (run / "best.pth").is_file():
        pytest.skip("needs the fold model of test_student_cv_over_two_databases_reports_each")
    out = tmp_path / "det"
    run_script(REPO / "Codes/Inference/detect.py", ["--workspace", str(ws.root), "--run", str(run),
                                                   "--input-dir", str(beta), "--records", "demo05", "--out", str(out)])
    written = ec57.read_detections(out, "demo05", "tsad")
    rec = wfdb.rdrecord(str(beta / "demo05"))
    beats, probs = tsad.detect_beats(rec.p_signal, rec.fs, model=str(run / "best.pth"), return_probabilities=True)
    assert np.array_equal(beats, written) and len(probs) == len(beats) and (probs > 0).all()
    assert np.array_equal(tsad.detect_record(beta / "demo05", model=str(run)).samples, written)
    assert np.array_equal(tsad.detect_beats(rec.p_signal[:, 0], rec.fs, model="gqrs"),
                          tsad.detect_record(beta / "demo05", model="gqrs").samples)


def test_the_tsad_command_runs_the_scripts(two_db, tmp_path, capsys):
    from tsad.cli import command

    ws, alpha, beta, _ = two_db
    assert command.main(["--help"]) == 0 and "detect" in capsys.readouterr().out
    assert command.main(["nonsense"]) == 2 and "unknown command" in capsys.readouterr().err
    status = command.main(["detect", "--workspace", str(ws.root), "--run", "gqrs", "--input-dir", str(beta),
                           "--out", str(tmp_path / "g")])
    assert status == 0 and (tmp_path / "g" / "demo04.tsad").is_file() and (tmp_path / "g" / "demo05.tsad").is_file()
    status = command.main(["evaluate", "--detections", str(tmp_path / "g"), "--input-dir", str(beta)])
    assert status == 0 and (tmp_path / "g" / "records.csv").is_file()
    assert command.main(["detect", "--workspace", str(ws.root), "--run", "gqrs", "--input-dir",
                         str(tmp_path / "missing")]) == 2


def test_a_record_with_gaps_is_detected_outside_them_and_the_gaps_annotated(two_db, tmp_path):
    """demo04 with 10 s of NaN (lead off) and 5 s of a flat line: exit 0, no beat in the gaps, the
    beats elsewhere as in the intact record, each gap marked '~' in the annotation file."""
    import wfdb

    ws, alpha, beta, _ = two_db
    rec = wfdb.rdrecord(str(beta / "demo04"))
    sig = rec.p_signal.copy()
    fs = int(rec.fs)
    nan_gap, flat_gap = (20 * fs, 30 * fs), (40 * fs, 45 * fs)
    sig[nan_gap[0]:nan_gap[1]] = np.nan
    sig[flat_gap[0]:flat_gap[1]] = 0.25
    folder = tmp_path / "gappy"
    folder.mkdir()
    wfdb.wrsamp("demo04", fs=fs, units=rec.units, sig_name=rec.sig_name, p_signal=sig, fmt=["16", "16"],
                write_dir=str(folder))
    for detector in ("gqrs", str(ws.root / "cv" / "both" / "fold0")):
        if detector != "gqrs" and not (Path(detector) / "best.pth").is_file():
            continue
        out = tmp_path / ("det_" + Path(detector).name)
        result = run_script(REPO / "Codes/Inference/detect.py", ["--workspace", str(ws.root), "--run", detector,
                                                                "--input-dir", str(folder), "--out", str(out)])
        row = result["records"][0]
        assert row["gaps"] == [list(nan_gap), list(flat_gap)] and row["gap_s"] == 15.0
        ann = wfdb.rdann(str(out / "demo04"), "tsad")
        beats = np.array([s for s, sym in zip(ann.sample, ann.symbol) if sym == "N"])
        marks = [(s, a) for s, sym, a in zip(ann.sample, ann.symbol, ann.aux_note) if sym == "~"]
        assert marks == [(nan_gap[0], "gap"), (nan_gap[1], "signal"), (flat_gap[0], "gap"), (flat_gap[1], "signal")]
        for start, end in (nan_gap, flat_gap):
            assert not ((beats >= start) & (beats < end)).any()
        assert len(beats) > 30
        from tsad.scoring import ec57

        assert np.array_equal(ec57.read_detections(out, "demo04", "tsad"), beats)   # '~' is no beat


def test_the_onnx_backend_finds_the_torch_backends_beats(two_db, tmp_path):
    ws, alpha, beta, _ = two_db
    run = ws.root / "cv" / "both" / "fold0"
    if not (run / "best.pth").is_file():
        pytest.skip("needs the fold model of test_student_cv_over_two_databases_reports_each")
    from tsad.core.paths import ONNX_FILE
    from tsad.models.export import export_onnx
    from tsad.scoring import ec57

    outs = {}
    for backend in ("torch", "onnx"):
        outs[backend] = tmp_path / backend
        run_script(REPO / "Codes/Inference/detect.py", ["--workspace", str(ws.root), "--run", str(run), "--input-dir",
                                                       str(beta), "--out", str(outs[backend]), "--backend", backend,
                                                       "--threads", "1"])
    for rec in ("demo04", "demo05"):
        torch_beats = ec57.read_detections(outs["torch"], rec, "tsad")
        assert len(torch_beats) > 30 and np.array_equal(ec57.read_detections(outs["onnx"], rec, "tsad"), torch_beats)
    assert folders.read_detection_meta(outs["onnx"])["backend"] == "onnx"
    # exported once, and again only when the checkpoint changes
    stamp = (run / ONNX_FILE).stat().st_mtime_ns
    assert export_onnx(run).stat().st_mtime_ns == stamp
    with pytest.raises(predictor.DetectionError, match="no student checkpoint"):
        export_onnx(ws.root)
