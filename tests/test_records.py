"""Whole records: record-wise splits, sliding-window detection, annotation files, EC57 scoring."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_script

from tsad.core.geometry import tolerance_samples
from tsad.core.paths import Workspace
from tsad.data import ecg
from tsad.data.folds import assign_record_parts, record_folds
from tsad.detection import folders, records, streaming, thresholds
from tsad.models import classical, predictor
from tsad.scoring import beats, ec57

REPO = Path(__file__).resolve().parents[1]
GENERATE = REPO / "Codes/Dataset/data_generate.py"
SPLIT = REPO / "Codes/Dataset/data_split.py"
STUDENT = REPO / "Codes/Models/student_train.py"
DETECT = REPO / "Codes/Inference/detect.py"
EVALUATE = REPO / "Codes/Inference/evaluate_records.py"
STUDENT_CV = REPO / "Codes/Models/student_cv.py"


# ---- stitching and peaks ------------------------------------------------------------------------

def test_window_starts_cover_the_record_and_end_flush():
    starts = streaming.window_starts(1000, 256, 128)
    assert starts.tolist() == [0, 128, 256, 384, 512, 640, 744]
    covered = np.zeros(1000, bool)
    for s in starts:
        covered[s:s + 256] = True
    assert covered.all()
    assert streaming.window_starts(512, 256, 256).tolist() == [0, 256]
    with pytest.raises(predictor.DetectionError, match="shorter than one window"):
        streaming.window_starts(200, 256, 128)
    with pytest.raises(predictor.DetectionError, match="--hop"):
        streaming.window_starts(1000, 256, 0)


def test_stitch_is_the_tapered_weighted_mean():
    starts = np.array([0, 2])
    probs = np.array([[0.2, 0.2, 0.2, 0.2], [0.8, 0.8, 0.8, 0.8]])
    out = streaming.stitch(probs, starts, 6)
    w = streaming.taper(4)
    assert w[0] == w[3] and w[1] == w[2] and w[1] > w[0] > 0        # the middle counts most
    assert out[:2] == pytest.approx([0.2, 0.2]) and out[4:] == pytest.approx([0.8, 0.8])
    # sample 2: third sample of window 0 (weight w[2]) and first of window 1 (weight w[0])
    assert out[2] == pytest.approx((0.2 * w[2] + 0.8 * w[0]) / (w[2] + w[0]), rel=1e-6)
    assert out[3] == pytest.approx((0.2 * w[3] + 0.8 * w[1]) / (w[3] + w[1]), rel=1e-6)


def test_pick_beats_keeps_the_higher_of_two_close_peaks():
    prob = np.zeros(400)
    prob[[50, 60, 200, 390]] = [0.7, 0.9, 0.6, 0.3]
    # 50 and 60 are 78 ms apart at 128 Hz: one beat (the higher); 390 is below the threshold
    assert beats.pick_beats(prob, 128, threshold=0.5).tolist() == [60, 200]
    assert beats.pick_beats(prob, 128, threshold=0.5, refractory_s=0.05).tolist() == [50, 60, 200]


# ---- matching -----------------------------------------------------------------------------------

def test_match_beats_hand_cases():
    m = beats.match_beats(np.array([100, 200, 300]), np.array([95, 205, 330, 480]), 19)
    assert (m.tp, m.fn, m.fp) == (2, 1, 2)
    assert m.ref_index.tolist() == [0, 1] and m.det_index.tolist() == [0, 1]
    # the tolerance is inclusive: 19 samples away matches, 20 does not
    assert beats.match_beats(np.array([100]), np.array([119]), 19).tp == 1
    assert beats.match_beats(np.array([100]), np.array([120]), 19).tp == 0
    # a detection nearer the next reference beat is left to it
    m = beats.match_beats(np.array([100, 120]), np.array([115]), 19)
    assert (m.ref_index.tolist(), m.det_index.tolist()) == ([1], [0])
    # the nearest detection is paired, not the first one in reach
    m = beats.match_beats(np.array([100]), np.array([85, 101]), 19)
    assert m.det_index.tolist() == [1] and m.fp == 1


def test_score_record_figures_by_hand():
    ref = np.array([128, 256, 384, 512])
    det = np.array([129, 259, 400, 700])            # errors +1, +3, +16 samples; 700 false; 512 missed
    row = ec57.score_record("r", ref, det, fs=128)
    assert (row["TP"], row["FP"], row["FN"]) == (3, 1, 1)
    assert row["Se"] == pytest.approx(0.75) and row["PPV"] == pytest.approx(0.75)
    assert row["F1"] == pytest.approx(0.75)
    assert row["median_abs_error_ms"] == pytest.approx(3 / 128 * 1000)
    assert row["within_2_samples"] == pytest.approx(1 / 3)
    skipped = ec57.score_record("r", ref, det, fs=128, skip_s=3.0)     # keeps samples >= 384
    assert (skipped["n_ref"], skipped["n_det"], skipped["TP"]) == (2, 2, 1)


def test_vf_episodes_and_what_ec57_leaves_unscored_in_them():
    samples = np.array([100, 200, 300, 400, 500, 600])
    symbols = ["N", "[", "!", "]", "[", "N"]                          # the second episode is left open
    episodes = ecg.vf_episodes(samples, symbols, end=900)
    assert episodes.tolist() == [[200, 400], [500, 900]]
    assert ecg.vf_episodes(samples, ["N", "]", "N", "[", "]", "N"]).tolist() == [[400, 500]]   # a stray ] ignored
    assert ecg.vf_episodes(samples, ["N"] * 6).shape == (0, 2)
    assert ecg.outside_episodes([150, 200, 350, 450, 950], episodes).tolist() == [True, False, False, True, True]
    # flutter waves detected as beats inside the episode: false beats when counted, unscored as EC57 says
    ref = np.array([128, 256, 384, 1280, 1408])
    det = np.array([128, 256, 384, 600, 700, 800, 900, 1000, 1280, 1408])
    vf = np.array([[500, 1100]])
    counted = ec57.score_record("r", ref, det, fs=128)
    scored = ec57.score_record("r", ref, det, fs=128, vf=vf)
    assert (counted["FP"], scored["FP"], scored["TP"], scored["det_in_vf"]) == (5, 0, 5, 5)
    assert scored["PPV"] == 1.0 and counted["PPV"] == pytest.approx(0.5) and "det_in_vf" not in counted
    # and so are a classifier's figures: an extra beat called V inside VF is not a false VEB
    row = ec57.score_record("r", ref, det, fs=128, vf=vf, symbols=["N"] * 5, det_symbols=["N"] * 3 + ["V"] * 5 + ["N"] * 2)
    assert row["VEB_FP"] == 0


def test_a_record_with_flutter_is_scored_without_it(mitdb_dir, tmp_path):
    import wfdb

    if not (mitdb_dir / "207.atr").is_file():
        pytest.skip("mitdb 207 (ventricular flutter) is not among the shared records")
    ref, _, fs, n = ec57.read_reference(mitdb_dir / "207")
    vf = ec57.read_vf_episodes(mitdb_dir / "207")
    assert len(vf) >= 5 and (vf[:, 1] > vf[:, 0]).all()
    assert ecg.outside_episodes(ref, vf).all()                         # the reference has no beat there
    waves = np.concatenate([np.arange(a + 50, b - 50, int(0.25 * fs)) for a, b in vf])   # flutter waves as beats
    det = np.sort(np.concatenate([ref, waves]))
    wfdb.wrann("207", "tsad", det, ["N"] * len(det), fs=fs, write_dir=str(tmp_path))
    scored = ec57.score_folder(tmp_path, mitdb_dir, "tsad").iloc[0]
    counted = ec57.score_folder(tmp_path, mitdb_dir, "tsad", count_vf=True).iloc[0]
    assert (scored["FP"], scored["det_in_vf"], scored["TP"]) == (0, len(waves), len(ref))
    assert counted["FP"] == len(waves) and "det_in_vf" not in counted
    # the class study scores alike: flutter waves called V are no false VEB, nor extra beats
    from tsad.experiments.beat_classes import read_beats, score_record_classes

    record = read_beats(mitdb_dir / "207", "mitdb")
    assert len(record.vf) == len(vf)
    found = np.sort(np.concatenate([record.samples, np.round(waves * 128 / fs).astype(np.int64)]))
    detected = type(record)(record.name, "mitdb", found, np.full(len(found), "", object), np.zeros((len(found), 0)),
                            False)
    labels = np.where(np.isin(found, record.samples), "N", "V")
    row = score_record_classes(record, labels, detected)
    assert row["VEB_FP"] == row["N_V"] + row["S_V"] and sum(row[f"extra_{c}"] for c in "NSVFQ") == 0


def test_summary_gross_and_average():
    table = pd.DataFrame([
        {"record": "a", "TP": 90, "FP": 10, "FN": 0, **beats.figures(90, 10, 0),
         "median_abs_error_ms": 5.0, "within_2_samples": 1.0},
        {"record": "b", "TP": 10, "FP": 0, "FN": 10, **beats.figures(10, 0, 10),
         "median_abs_error_ms": 10.0, "within_2_samples": 0.0},
    ])
    s = ec57.summarise(table, n_boot=200).set_index("figure")
    assert s.loc["gross Se", "value"] == pytest.approx(100 / 110)
    assert s.loc["average Se", "value"] == pytest.approx((1.0 + 0.5) / 2)
    assert s.loc["gross PPV", "value"] == pytest.approx(100 / 110)
    assert s.loc["within_2_samples (beat-weighted mean over records)", "value"] == pytest.approx(0.9)
    assert s.loc["gross F1", "ci_low"] <= s.loc["gross F1", "value"] <= s.loc["gross F1", "ci_high"]


def test_sensitivity_per_beat_class_by_hand():
    ref = np.array([100, 300, 500, 700, 900, 1100])
    symbols = ["N", "V", "N", "/", "L", "A"]
    det = np.array([101, 505, 702, 1090])            # matches N@100, N@500, /@700, A@1100; V and L missed
    row = ec57.score_record("r", ref, det, fs=128, symbols=symbols)
    # AAMI N holds N and L (3 beats, 2 matched); Q holds the paced beat; S the A beat
    assert (row["n_N"], row["TP_N"], row["Se_N"]) == (3, 2, pytest.approx(2 / 3))
    assert (row["n_V"], row["TP_V"], row["Se_V"]) == (1, 0, 0.0)
    assert (row["n_S"], row["TP_S"], row["Se_S"]) == (1, 1, 1.0)
    assert (row["n_Q"], row["TP_Q"], row["n_paced"], row["TP_paced"]) == (1, 1, 1, 1)
    assert (row["n_L"], row["TP_L"], row["Se_L"]) == (1, 0, 0.0)
    for absent in ("F", "R"):                         # no beat of the class: n/a, not 0
        assert (row[f"n_{absent}"], row[f"TP_{absent}"]) == (0, 0) and np.isnan(row[f"Se_{absent}"])
    # the symbols are cut with the beats: after 5 s (sample 640) only /, L and A remain
    late = ec57.score_record("r", ref, det, fs=128, skip_s=5.0, symbols=symbols)
    assert (late["n_N"], late["n_V"], late["n_Q"], late["n_S"]) == (1, 0, 1, 1) and np.isnan(late["Se_V"])
    assert "n_V" not in ec57.score_record("r", ref, det, fs=128)      # no symbols, no classes
    with pytest.raises(beats.ScoringError, match="5 beat symbols for 6 reference beats"):
        ec57.class_sensitivity(symbols[:5], np.ones(6, bool))


def test_summary_gross_sensitivity_per_class():
    a = ec57.score_record("a", np.array([100, 300, 500, 700]), np.array([100, 500]), 128,
                          symbols=["N", "V", "N", "V"])
    b = ec57.score_record("b", np.array([100, 300, 500]), np.array([100, 300, 500]), 128,
                          symbols=["S", "S", "V"])
    s = ec57.summarise(pd.DataFrame([a, b]), n_boot=300).set_index("figure")
    assert s.loc["gross Se_V", "value"] == pytest.approx(1 / 3)       # 0 of 2 in a, 1 of 1 in b
    assert s.loc["gross Se_N", "value"] == 1.0 and s.loc["gross Se_S", "value"] == 1.0
    assert s.loc["gross Se_V", "ci_low"] <= 1 / 3 <= s.loc["gross Se_V", "ci_high"]
    # S only in b: resamples without b have no S beat and are left out, not counted as 0
    assert s.loc["gross Se_S", "ci_low"] == 1.0
    assert np.isnan(s.loc["gross Se_F", "value"]) and np.isnan(s.loc["gross Se_F", "ci_low"])
    # a table scored without classes (an older records.csv) has no per-class rows
    per_class = {f"{kind}_{c}" for c in ecg.REPORTED_CLASSES for kind in ("n", "TP", "Se")}
    plain = pd.DataFrame([{k: v for k, v in a.items() if k not in per_class}])
    assert "n_V" not in plain and "TP" in plain
    assert not any(f.startswith("gross Se_") for f in ec57.summarise(plain, n_boot=10)["figure"])


@pytest.mark.shared
def test_matching_agrees_with_wfdb_compare_annotations(svdb_dir):
    import wfdb.processing

    rng = np.random.default_rng(0)
    for name in ("800", "805"):
        ref, fs, _ = ec57.reference_beats(svdb_dir / name)
        det = records.detect_record(classical.classical_detector("xqrs"), svdb_dir / name).samples
        jittered = np.unique(np.r_[det + rng.integers(-25, 26, len(det)), rng.integers(0, ref[-1], 40)])
        for d in (det, jittered):
            ours = beats.match_beats(ref, d, tolerance_samples(fs))
            # wfdb's window is exclusive (|difference| < width): 150 ms inclusive is width 19 + 1
            theirs = wfdb.processing.compare_annotations(ref, d, tolerance_samples(fs) + 1)
            assert (ours.tp, ours.fp, ours.fn) == (theirs.tp, theirs.fp, theirs.fn), name


# ---- classical detectors ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_record(tmp_path_factory):
    """One 2-minute synthetic record (N, S and V beats)."""
    from tsad.data.demo_db import DemoConfig, write_demo_database

    raw = tmp_path_factory.mktemp("classical") / "raw"
    write_demo_database(raw, DemoConfig(n_records=1, minutes=2))
    return raw


@pytest.mark.parametrize("name", list(classical.CLASSICAL_DETECTORS))
def test_every_classical_detector_runs_through_detect_py_and_finds_the_beats(name, demo_record, tmp_path):
    out = tmp_path / name
    run_script(DETECT, ["--workspace", str(tmp_path / "ws"), "--run", name, "--input-dir", str(demo_record),
                        "--out", str(out)])
    meta = json.loads((out / "detections.json").read_text())
    assert meta["kind"] == "classical" and meta["run"] == name
    described = classical.CLASSICAL_DETECTORS[name].description
    assert meta["description"] == f"{described} on one lead of the whole record (lead 0 unless --leads names another)"
    row = ec57.score_folder(out, demo_record, folders.DEFAULT_EXT).iloc[0]
    assert row["n_ref"] > 150 and row["F1"] > 0.9, row.to_dict()


@pytest.mark.shared
@pytest.mark.parametrize("name", ["neurokit", "sleepecg"])
def test_neurokit_and_sleepecg_on_a_real_record(name, svdb_dir):
    det = records.detect_record(classical.classical_detector(name), svdb_dir / "800")
    ref, fs, n_samples = ec57.reference_beats(svdb_dir / "800")
    assert det.fs == fs == 128 and det.n_samples == n_samples and det.prob is None
    row = ec57.score_record("800", ref, det.samples, fs)
    assert row["F1"] > 0.9, row                       # measured: neurokit 0.985, sleepecg 0.9997


def test_classical_detector_errors_name_the_problem(demo_record, monkeypatch):
    import sys

    with pytest.raises(predictor.DetectionError,
                       match="unknown classical detector 'pt'; choose one of xqrs, gqrs, neurokit, sleepecg"):
        classical.classical_detector("pt")
    monkeypatch.setitem(sys.modules, "sleepecg", None)          # as if it were not installed
    with pytest.raises(predictor.DetectionError, match="sleepecg needs the package sleepecg"):
        records.detect_record(classical.classical_detector("sleepecg"), demo_record / "demo00")


def test_student_cv_accepts_every_classical_detector():

    from tsad.cli.student_cv import add_cv_args
    from tsad.training.flags import parse_train_args

    for name in classical.CLASSICAL_DETECTORS:
        args = parse_train_args(["--detector", name, "--name", "x"], "doc", add_extra=add_cv_args)
        assert args.detector == name
    with pytest.raises(SystemExit):
        parse_train_args(["--detector", "pantompkins"], "doc", add_extra=add_cv_args)


# ---- record-wise splits -------------------------------------------------------------------------

NAMES = [f"r{i:02d}" for i in range(11)]


def test_record_folds_cover_every_record_once_and_are_seeded():
    folds = record_folds(NAMES, 5, seed=3)
    flat = [r for part in folds for r in part]
    assert sorted(flat) == NAMES and len(flat) == len(set(flat))
    assert [len(p) for p in folds] == [3, 2, 2, 2, 2]
    assert record_folds(NAMES, 5, seed=3) == folds and record_folds(NAMES, 5, seed=4) != folds


def test_assign_record_parts_by_fold_and_by_name():
    parts = assign_record_parts(NAMES * 3, folds=5, fold=2, val=0.2, seed=3)
    assert parts["test"] == record_folds(NAMES, 5, 3)[2]
    assert len(parts["val"]) == 2 and not set(parts["val"]) & set(parts["test"])
    assert sorted(parts["train"] + parts["val"] + parts["test"]) == NAMES
    named = assign_record_parts(NAMES, test_records=["r01", "r02"], val_records=["r03"])
    assert named == {"train": [r for r in NAMES if r not in ("r01", "r02", "r03")], "val": ["r03"],
                     "test": ["r01", "r02"]}


@pytest.mark.parametrize("kwargs, message", [
    ({"test_records": ["r99"]}, "r99 not in the workspace"),
    ({"test_records": ["r01"], "val_records": ["r01"]}, "r01 named twice"),
    ({"test_records": ["r01", "r01"]}, "r01 named twice"),
    ({}, "test part is empty"),
    ({"folds": 5, "fold": 5}, "--fold must lie in 0..4"),
    ({"folds": 12, "fold": 0}, "--folds must lie in 2..11"),
    ({"test_records": NAMES[:10], "val_records": ["r10"]}, "train part is empty"),
])
def test_assign_record_parts_errors_name_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        assign_record_parts(NAMES, **kwargs)


# ---- end to end on a synthetic database -----------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Five 2-minute synthetic records, their windows, and a cnn_bilstm student trained briefly on
    records demo02..demo04 (demo00 and demo01 are the test patients)."""
    from tsad.data.demo_db import DemoConfig, write_demo_database

    root = tmp_path_factory.mktemp("records")
    raw = root / "raw"
    write_demo_database(raw, DemoConfig(n_records=5, minutes=2))
    ws = Workspace(root / "ws")
    run_script(GENERATE, ["--workspace", str(ws.root), "--input-dir", str(raw), "--workers", "1"])
    run_script(SPLIT, ["--workspace", str(ws.root), "--test-records", "demo00", "demo01",
                       "--val-records", "demo02"])
    run_script(STUDENT, ["--workspace", str(ws.root), "--arch", "cnn_bilstm", "--epochs", "4", "--lr", "3e-3",
                         "--batch-size", "16", "--warmup-steps", "10", "--soft-sigma", "1"])
    return ws, raw


def test_split_json_lists_the_named_records(demo):
    ws, _ = demo
    split = json.loads((ws.split_root / "split.json").read_text())
    assert split["by"] == "record"
    assert split["records"] == {"train": ["demo03", "demo04"], "val": ["demo02"], "test": ["demo00", "demo01"]}
    assert split["counts"] == {"train": 120, "val": 60, "test": 120}
    # a record-wise split: the student's threshold is tuned on its whole validation record
    tuned = json.loads((ws.run_dir("cnn_bilstm_train") / "detection.json").read_text())
    assert tuned["tuned_on"] == "whole validation records" and tuned["records"] == ["demo02"]
    assert tuned["objective"].startswith("class-balanced F1") and tuned["class_beats"]["N"] > 0


def _resampled_copy(raw: Path, name: str, out: Path, fs_new: int) -> None:
    """The record at another rate, written without annotations (nothing to score it against)."""
    import wfdb
    import wfdb.processing

    rec = wfdb.rdrecord(str(raw / name))
    sig = np.stack([wfdb.processing.resample_sig(rec.p_signal[:, c], rec.fs, fs_new)[0]
                    for c in range(rec.n_sig)], axis=1)
    out.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(name, fs=fs_new, units=rec.units, sig_name=rec.sig_name, p_signal=sig, fmt=["16", "16"],
                write_dir=str(out))


def test_detect_writes_readable_annotations_at_the_records_own_rate(demo, tmp_path):
    import wfdb

    ws, raw = demo
    out = tmp_path / "det128"
    run_script(DETECT, ["--workspace", str(ws.root), "--run", "cnn_bilstm_train", "--input-dir", str(raw),
                        "--records", "demo00", "demo01", "--out", str(out), "--threshold", "0.3"])
    meta = json.loads((out / "detections.json").read_text())
    assert meta["kind"] == "student" and meta["arch"] == "cnn_bilstm" and meta["real_time_factor"] > 0
    assert meta["implausible_records"] == [] and [r["warnings"] for r in meta["records"]] == [[], []]
    beats128 = wfdb.rdann(str(out / "demo00"), "tsad").sample
    csv = pd.read_csv(out / "demo00_beats.csv")
    assert csv["sample"].tolist() == beats128.tolist()
    assert np.allclose(csv["time_s"], beats128 / 128, atol=1e-4)
    assert np.load(out / "demo00_probs.npy").shape == (2 * 60 * 128,)
    # the same record at 360 Hz, without its .atr: detected all the same, in 360 Hz sample numbers
    hi = tmp_path / "raw360"
    _resampled_copy(raw, "demo00", hi, 360)
    out360 = tmp_path / "det360"
    run_script(DETECT, ["--workspace", str(ws.root), "--run", "cnn_bilstm_train", "--input-dir", str(hi),
                        "--out", str(out360), "--threshold", "0.3"])
    beats360 = wfdb.rdann(str(out360 / "demo00"), "tsad").sample
    assert len(beats128) > 100 and beats360.max() < 2 * 60 * 360
    same = beats.match_beats(np.sort(beats128 * 360 / 128).astype(np.int64), beats360, tolerance_samples(360))
    assert same.tp >= 0.95 * len(beats128)


def test_evaluate_records_counts_and_comparison(demo, tmp_path):
    ws, raw = demo
    student_out, xqrs_out = tmp_path / "student", tmp_path / "xqrs"
    for run, out in (("cnn_bilstm_train", student_out), ("xqrs", xqrs_out)):
        run_script(DETECT, ["--workspace", str(ws.root), "--run", run, "--input-dir", str(raw),
                            "--records", "demo00", "demo01", "--out", str(out)])
    result = run_script(EVALUATE, ["--detections", str(student_out), str(xqrs_out), "--input-dir", str(raw),
                                   "--bootstrap", "100", "--out", str(tmp_path / "cmp")])
    table = pd.read_csv(student_out / "records.csv", dtype={"record": str})
    assert table["record"].tolist() == ["demo00", "demo01"]
    assert (table["TP"] + table["FN"] == table["n_ref"]).all() and (table["TP"] + table["FP"] == table["n_det"]).all()
    ref, _, _ = ec57.reference_beats(raw / "demo00")
    assert table.loc[0, "n_ref"] == len(ref)
    assert result["tables"]["xqrs"]["F1"].min() > 0.95          # clean synthetic beats: XQRS finds them
    # per beat class: the demo writes N, S and V beats only; the other classes are n/a, never 0
    assert {"n_V", "TP_V", "Se_V", "n_paced", "Se_R"} <= set(table.columns)
    assert (table["n_N"] + table["n_S"] + table["n_V"] == table["n_ref"]).all()
    assert (table["TP_N"] + table["TP_S"] + table["TP_V"] == table["TP"]).all()
    assert table["Se_F"].isna().all() and table["Se_paced"].isna().all() and table["Se_V"].notna().all()
    assert "| gross Se_F | 2 | n/a | n/a | n/a |" in (student_out / "summary.md").read_text()
    compared = pd.read_csv(tmp_path / "cmp" / "comparison.csv").set_index("model")
    assert compared.loc["xqrs", "gross Se_V"] == pytest.approx(
        result["tables"]["xqrs"]["TP_V"].sum() / result["tables"]["xqrs"]["n_V"].sum())
    assert (tmp_path / "cmp" / "comparison.png").stat().st_size > 10_000
    assert set(pd.read_csv(tmp_path / "cmp" / "comparison.csv")["model"]) == {"student", "xqrs"}


def test_detect_and_evaluate_bad_input(demo, tmp_path):
    ws, raw = demo
    with pytest.raises(predictor.DetectionError, match="no trained model"):
        run_script(DETECT, ["--workspace", str(ws.root), "--run", "nothing_here", "--input-dir", str(raw)])
    with pytest.raises(predictor.DetectionError, match="demo99"):
        run_script(DETECT, ["--workspace", str(ws.root), "--run", "xqrs", "--input-dir", str(raw),
                            "--records", "demo99"])
    with pytest.raises(beats.ScoringError, match=r"no detection files \*\.nope"):
        run_script(EVALUATE, ["--detections", str(tmp_path), "--input-dir", str(raw), "--ext", "nope"])
    orphan = tmp_path / "orphan"
    orphan.mkdir()
    (orphan / "zz9.tsad").write_bytes(folders.EMPTY_ANNOTATION_FILE)
    with pytest.raises(beats.ScoringError, match="zz9.tsad: no matching record zz9.hea"):
        run_script(EVALUATE, ["--detections", str(orphan), "--input-dir", str(raw)])


def test_student_cv_scores_every_record_once(demo):
    ws, raw = demo
    summary = run_script(STUDENT_CV, ["--workspace", str(ws.root), "--input-dir", str(raw), "--name", "tiny",
                                      "--folds", "5", "--only-folds", "0", "1", "--arch", "tcn", "--epochs", "1",
                                      "--batch-size", "16", "--lr", "3e-3", "--warmup-steps", "5",
                                      "--val", "0.25", "--threads", "1"])
    root = ws.root / "cv" / "tiny"
    folds = pd.read_csv(root / "folds.csv")
    per_record = pd.read_csv(root / "records.csv", dtype={"record": str})
    assert folds["fold"].tolist() == [0, 1]
    assert sorted(per_record["record"]) == sorted(" ".join(folds["test_records"]).split())
    assert per_record["record"].is_unique
    assert set(summary["figure"]) >= {"gross_F1", "MSP", "MSR", "within_2_samples"}
    tuned = json.loads((root / "fold0" / "detection.json").read_text())
    assert tuned["threshold"] in tuned["grid"] and not set(tuned["records"]) & set(folds["test_records"][0].split())
    assert tuned["grid"] == list(thresholds.THRESHOLD_CANDIDATES) and isinstance(tuned["warnings"], list)
    assert "student_cv.py" in (root / "command.txt").read_text()


def test_evaluate_records_as_folds_adds_the_mean_over_fold_models(demo, tmp_path):
    ws, raw = demo
    outs = []
    for k, hop in enumerate((128, 64)):            # two "fold models": the same run at two hops
        out = tmp_path / f"fold{k}"
        run_script(DETECT, ["--workspace", str(ws.root), "--run", "cnn_bilstm_train", "--input-dir", str(raw),
                            "--records", "demo00", "demo01", "--out", str(out), "--hop", str(hop),
                            "--threshold", "0.3"])
        outs.append(str(out))
    result = run_script(EVALUATE, ["--detections", *outs, "--input-dir", str(raw), "--bootstrap", "50",
                                   "--as-folds", "--out", str(tmp_path / "cmp")])
    table = result["comparison"]
    values = [float(v) for v in table["gross F1"].iloc[:2]]
    mean_cell = table["gross F1"].iloc[2]
    assert table["model"].iloc[2].startswith("mean [95% interval] over 2 fold models")
    assert mean_cell.startswith(f"{np.mean(values):.4f} [")
