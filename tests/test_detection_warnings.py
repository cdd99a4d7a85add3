"""A model that finds nothing says so: the threshold candidates reach below the fixed grid, a doubtful
tuned threshold is a warning (stderr and detection.json), and detect.py / evaluate_records.py warn
about records whose detections are implausible for a heart."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, run_script

from tsad.core import paths
from tsad.detection import folders, plausibility, thresholds

STUDENT = REPO / "Codes/Models/student_train.py"
DETECT = REPO / "Codes/Inference/detect.py"
EVALUATE = REPO / "Codes/Inference/evaluate_records.py"
FS = 128


# ---- the candidate thresholds and the choice ------------------------------------------------------

def test_candidates_extend_the_fixed_grid_down_to_the_floor():
    grid = thresholds.threshold_candidates()
    assert grid == thresholds.THRESHOLD_CANDIDATES
    assert grid[0] == pytest.approx(thresholds.THRESHOLD_FLOOR) and grid[-1] == pytest.approx(0.95)
    assert list(grid) == sorted(set(grid))                          # ascending, no repeat
    low = grid[:thresholds.THRESHOLD_LOW_STEPS]
    assert grid[thresholds.THRESHOLD_LOW_STEPS:] == tuple(thresholds.THRESHOLD_GRID)
    assert max(low) < 0.05 and len(low) == thresholds.THRESHOLD_LOW_STEPS
    ratios = np.array(low[1:] + (0.05,)) / np.array(low)
    assert np.allclose(ratios, ratios.mean(), rtol=0.01)           # geometric steps


def peaked_windows(peak: float, n: int = 12, seed: int = 0):
    """Labels with beats 80-110 samples apart, and probabilities of a badly calibrated model: bumps
    of height ``peak`` at the beats over a background 20 times lower."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((n, 256), np.float32)
    for row in labels:
        row[np.arange(rng.integers(5, 40), 256, rng.integers(80, 110))] = 1
    bumps = np.apply_along_axis(lambda r: np.convolve(r, [0.4, 0.8, 1, 0.8, 0.4], mode="same"), 1, labels)
    probs = peak / 20 * rng.uniform(0.5, 1.0, labels.shape) + peak * bumps
    return np.clip(probs, 0, peak).astype(np.float32), labels


def test_a_model_peaking_at_0_02_gets_a_threshold_that_finds_its_beats():
    probs, labels = peaked_windows(0.02)
    tuned = thresholds.tune_threshold_windows(probs, labels, FS)
    assert tuned["threshold"] < 0.02 and tuned["val_F1"] == pytest.approx(1.0)
    assert tuned["threshold"] in tuned["grid"] and len(tuned["F1"]) == len(tuned["grid"])
    assert len(tuned["warnings"]) == 1                              # found, but low: said so
    assert "under the fixed grid's lowest" in tuned["warnings"][0]
    assert "not learned" not in tuned["warnings"][0]
    well = thresholds.tune_threshold_windows(*peaked_windows(0.9), FS)  # the same model, calibrated
    assert well["val_F1"] == pytest.approx(1.0) and well["warnings"] == [] and well["threshold"] >= 0.05
    # the fixed grid alone finds none of its beats: the floor this replaces
    capped = thresholds.tune_threshold_windows(probs, labels, FS, grid=thresholds.THRESHOLD_GRID)
    assert capped["val_F1"] == 0 and "has not learned" in capped["warnings"][0]


def test_choose_threshold_takes_the_best_f1_and_the_middle_of_equal_ones():
    grid = (0.1, 0.2, 0.3, 0.4, 0.5)
    counts = np.array([[5, 5, 0], [8, 1, 2], [9, 1, 1], [8, 1, 2], [2, 0, 8]])
    index, scores = thresholds.choose_threshold(grid, counts)
    assert index == 2 and scores == pytest.approx([10 / 15, 16 / 19, 18 / 20, 16 / 19, 4 / 12])
    # equal best scores over 0.2-0.5: the middle of them (the lower middle), not the lowest
    flat = np.array([[5, 5, 0], [9, 0, 0], [9, 0, 0], [9, 0, 0], [9, 0, 0]])
    assert thresholds.choose_threshold(grid, flat)[0] == 2
    assert thresholds.choose_threshold(grid, np.zeros((5, 3)))[1].tolist() == [0.0] * 5


@pytest.mark.parametrize("scores, index, expected", [
    ([0.0, 0.0, 0.0], 1, ["has not learned"]),
    ([0.2, 0.4, 0.3], 1, ["F1 0.4000", "under 0.5"]),
    ([0.9, 0.8, 0.7], 0, ["the lowest tried (0.001)"]),
    ([0.7, 0.9, 0.8], 1, ["under the fixed grid's lowest, 0.05 (0.02)"]),
    ([0.7, 0.8, 0.9], 2, ["the highest tried (0.95)"]),
    ([0.3, 0.2, 0.1], 0, ["under 0.5", "the lowest tried"]),
    ([0.8, 0.9, 0.8], 1, []),
])
def test_threshold_warnings_say_what_is_doubtful(scores, index, expected):
    grid = (0.001, 0.02, 0.95) if "fixed grid" in "".join(expected) else (0.001, 0.5, 0.95)
    found = " | ".join(thresholds.threshold_warnings(grid, index, np.array(scores), "8 windows"))
    assert all(text in found for text in expected), found
    assert (found == "") == (not expected)
    if expected and "highest" not in expected[0]:
        assert "--preset recommended" in found and "--warmup-steps" in found


# ---- is a record's detection plausible? -----------------------------------------------------------

def beating_signal(seconds: float, fs: float = FS, period_s: float = 0.8, flat=None, seed: int = 0):
    """Two noisy leads with a spike every ``period_s``; ``flat`` = (start_s, end_s) is set to 0."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    signal = rng.normal(0, 0.05, (n, 2))
    beats = np.arange(int(0.3 * fs), n, int(period_s * fs))
    signal[beats] += 1.0
    if flat is not None:
        signal[int(flat[0] * fs):int(flat[1] * fs)] = 0.0
    return signal, beats


def test_plausible_detections_give_no_warning():
    signal, beats = beating_signal(60)
    assert plausibility.detection_warnings(beats, FS, len(signal), signal, FS) == []


def test_no_beat_a_slow_or_fast_rate_and_a_long_gap_are_implausible():
    signal, beats = beating_signal(60)
    assert plausibility.detection_warnings(beats[:0], FS, len(signal), signal, FS) == ["no beat detected in 60 s"]
    slow = beats[::8]                                   # 6.4 s apart: 9.4 per minute
    assert "outside 20-300" in plausibility.detection_warnings(slow, FS, len(signal), signal, FS)[0]
    fast = np.arange(0, len(signal), 19)                # every 148 ms: 405 per minute
    assert plausibility.detection_warnings(fast, FS, len(signal))[0] == \
        f"{len(fast):.1f} beats per minute over the record, outside 20-300"
    gap = beats[(beats < 20 * FS) | (beats > 35 * FS)]  # about 15 s without a beat in a beating signal
    found = plausibility.detection_warnings(gap, FS, len(signal), signal, FS)
    assert len(found) == 1 and "1 stretch(es) with over 10 s of signal but no beat" in found[0]


def test_a_gap_where_the_signal_is_flat_is_not_a_miss():
    signal, beats = beating_signal(60, flat=(20, 35))   # a lead-off: nothing to detect there
    detected = beats[(beats < 20 * FS) | (beats > 35 * FS)]
    assert plausibility.detection_warnings(detected, FS, len(signal), signal, FS) == []
    # the signal given at another rate (a model's 64 Hz) is mapped by time, not by sample number
    half = signal[::2]
    assert plausibility.detection_warnings(detected, FS, len(signal), half, FS / 2) == []
    assert plausibility.detection_warnings(detected, FS, len(signal)) != []       # without the signal: counted


def test_mark_implausible_flags_the_records_detect_py_warned_about():
    table = pd.DataFrame({"record": ["100", "101"], "F1": [0.0, 0.99]})
    meta = {"records": [{"record": "100", "warnings": ["no beat detected in 60 s"]},
                        {"record": "101", "warnings": []}]}
    assert folders.record_warnings(meta) == {"100": ["no beat detected in 60 s"], "101": []}
    marked = plausibility.mark_implausible(table, folders.record_warnings(meta))
    assert marked["implausible"].tolist() == [True, False]
    assert marked["warnings"].tolist() == ["no beat detected in 60 s", ""]
    assert plausibility.mark_implausible(table, {})["implausible"].tolist() == [False, False]
    assert folders.record_warnings({"records": [{"record": "100"}]}) == {}      # not checked: not listed


# ---- end to end: an under-trained student, detect.py, evaluate_records.py -------------------------

BASE_RATE = 0.01   # about 1 sample in 85 is a beat: what a student outputs before it learns where


def untrained_probs(model, series, **kwargs) -> np.ndarray:
    """A stand-in for a student whose steps all fell in the warm-up: the beats' base rate everywhere,
    as the measured seed-preset run whose probabilities never reached the grid's lowest threshold."""
    return np.full(np.asarray(series).shape[:2], BASE_RATE, np.float32)


@pytest.fixture
def demo_db(tmp_path):
    from tsad.data.demo_db import DemoConfig, write_demo_database

    write_demo_database(tmp_path / "db", DemoConfig(n_records=1, minutes=1))
    return tmp_path / "db"


def test_an_undertrained_student_is_reported_from_training_to_scoring(split_workspace, demo_db, monkeypatch,
                                                                     capsys, tmp_path):
    import tsad.models.student

    # every stage scores a student through the one loader (tsad.models.loader), which calls this
    monkeypatch.setattr(tsad.models.student, "student_probs", untrained_probs)
    ws = split_workspace
    # the seed preset's 1000-step warm-up, one step of training
    run_script(STUDENT, ["--workspace", str(ws.root), "--epochs", "1", "--limit-train", "8",
                         "--batch-size", "8", "--lr", "1e-3", "--device", "cpu"])
    err = capsys.readouterr().err
    tuned_path = ws.run_dir(paths.STUDENT_RUN) / paths.THRESHOLD_FILE
    tuned = json.loads(tuned_path.read_text())
    assert tuned["val_F1"] == 0 and tuned["training_steps"] == 1
    assert len(tuned["warnings"]) == 2 and "has not learned" in tuned["warnings"][0]
    assert tuned["warnings"][1].startswith("all 1 optimiser steps of this run fell inside its 1000-step "
                                           "warm-up")
    warning_lines = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warning_lines == [f"warning: {tuned_path}: {w}" for w in tuned["warnings"]]

    out = tmp_path / "det"
    result = run_script(DETECT, ["--workspace", str(ws.root), "--run", paths.STUDENT_RUN,
                                 "--input-dir", str(demo_db), "--out", str(out)])
    captured = capsys.readouterr()
    assert result["implausible_records"] == ["demo00"] and result["run_warnings"] == tuned["warnings"]
    assert f"warning: record {demo_db / 'demo00'}: implausible detection by LSTM_train: no beat detected" \
        in captured.err
    assert f"the model's probability peaks at {BASE_RATE:g}, under the threshold" in captured.err
    assert f"warning: {tuned_path}: " in captured.err                  # the training's verdict again
    assert "implausible detections in 1 of 1 record(s): demo00" in captured.out
    meta = json.loads((out / folders.DETECTIONS_META).read_text())
    assert meta["implausible_records"] == ["demo00"] and meta["run_warnings"] == tuned["warnings"]
    assert meta["records"][0]["beats"] == 0 and meta["records"][0]["warnings"][0].startswith("no beat")

    run_script(EVALUATE, ["--detections", str(out), "--input-dir", str(demo_db), "--bootstrap", "20"])
    captured = capsys.readouterr()
    table = pd.read_csv(out / "records.csv", dtype={"record": str}, keep_default_na=False)
    assert table["implausible"].tolist() == [True] and table["F1"].tolist() == [0.0]
    assert table["warnings"].iloc[0].startswith("no beat detected")
    assert f"warning: {out / 'demo00.tsad'}: implausible detection: no beat detected" in captured.err
    assert "implausible detections in 1 of 1 record(s): demo00" in captured.out


def test_evaluate_records_checks_a_folder_detect_py_did_not(demo_db, tmp_path, capsys):
    """A folder without the per-record check (written before it, or by cross-validation): evaluate_records.py
    judges its detections against the records' signals itself."""
    out = tmp_path / "old"
    run_script(DETECT, ["--run", "xqrs", "--input-dir", str(demo_db), "--out", str(out),
                        "--workspace", str(tmp_path / "ws")])
    meta = json.loads((out / folders.DETECTIONS_META).read_text())
    for row in meta["records"]:
        del row["warnings"]
    (out / folders.DETECTIONS_META).write_text(json.dumps(meta))
    assert folders.check_detections(out, demo_db, ["demo00"]) == {"demo00": []}
    (out / "demo00.tsad").write_bytes(folders.EMPTY_ANNOTATION_FILE)      # a detector that found nothing
    assert folders.check_detections(out, demo_db, ["demo00"]) == {"demo00": ["no beat detected in 60 s"]}
    capsys.readouterr()
    run_script(EVALUATE, ["--detections", str(out), "--input-dir", str(demo_db), "--bootstrap", "20"])
    assert pd.read_csv(out / "records.csv")["implausible"].tolist() == [True]
    assert f"warning: {out / 'demo00.tsad'}: implausible detection: no beat detected in 60 s" \
        in capsys.readouterr().err


def test_a_detector_that_works_gives_no_warning(demo_db, tmp_path, capsys):
    out = tmp_path / "xqrs"
    result = run_script(DETECT, ["--run", "xqrs", "--input-dir", str(demo_db), "--out", str(out),
                                 "--workspace", str(tmp_path / "ws")])
    assert result["implausible_records"] == [] and result["run_warnings"] == []
    assert "warning:" not in capsys.readouterr().err
    run_script(EVALUATE, ["--detections", str(out), "--input-dir", str(demo_db), "--bootstrap", "20"])
    assert pd.read_csv(out / "records.csv")["implausible"].tolist() == [False]
    assert "warning:" not in capsys.readouterr().err


def test_the_balanced_threshold_keeps_a_rare_class_the_pooled_f1_trades_away():
    """Two thresholds: the lower finds all 40 V beats and 980 of 1,000 N beats with 30 false beats;
    the higher finds no V beat, all N beats and no false beat. The pooled F1 prefers the higher
    (more beats overall), the class-balanced F1 the lower."""
    from tsad.data.ecg import BALANCED_CLASSES
    from tsad.detection.thresholds import MIN_CLASS_BEATS, balanced_f1, choose_threshold, pooled_f1

    grid = [0.2, 0.6]
    k_n, k_v = list(BALANCED_CLASSES).index("N"), list(BALANCED_CLASSES).index("V")
    counts = np.array([[1020, 30, 20], [1000, 0, 40]])
    classes = np.zeros((2, len(BALANCED_CLASSES), 2), np.int64)
    classes[:, k_n, 0], classes[:, k_v, 0] = 1000, 40
    classes[0, k_n, 1], classes[0, k_v, 1] = 980, 40
    classes[1, k_n, 1], classes[1, k_v, 1] = 1000, 0
    assert pooled_f1(counts)[1] > pooled_f1(counts)[0]
    assert choose_threshold(grid, counts)[0] == 1
    index, scores = choose_threshold(grid, counts, classes)
    assert index == 0 and scores[0] == pytest.approx(2 * 0.99 * (1020 / 1050) / (0.99 + 1020 / 1050))
    # a class with fewer than MIN_CLASS_BEATS beats does not enter the balance
    classes[:, k_v, 0] = MIN_CLASS_BEATS - 1
    classes[0, k_v, 1] = MIN_CLASS_BEATS - 1
    assert balanced_f1(counts, classes)[1] == pytest.approx(2 * 1.0 * 1.0 / 2.0)


def test_rhythm_warnings_name_fast_stretches_and_impossible_intervals():
    from tsad.detection.plausibility import MAX_STRETCH_RATE_BPM, fast_stretches, rhythm_warnings

    normal = np.arange(0, 60, 0.8)                                   # 75 per minute
    assert rhythm_warnings(normal) == [] and fast_stretches(normal) == []
    flutter = np.arange(20, 26, 0.2)                                 # 300 per minute for 6 s
    times = np.sort(np.concatenate([normal[normal < 19.5], flutter, normal[normal > 26.5]]))
    assert fast_stretches(times) == [(20.0, pytest.approx(25.8))]
    message = rhythm_warnings(times)[0]
    assert f"faster than {MAX_STRETCH_RATE_BPM:g} beats per minute (20.0-25.8 s)" in message
    brief = np.sort(np.concatenate([normal, [10.1, 10.3]]))           # two fast beats: not a stretch
    assert fast_stretches(brief) == []
    assert "under 150 ms" in rhythm_warnings(np.array([1.0, 1.1, 2.0]))[0]
    assert "the first at 1.0 s" in rhythm_warnings(np.array([1.0, 1.1, 2.0]))[0]
    # a detection's warnings carry them
    from tsad.detection.plausibility import detection_warnings

    warned = detection_warnings((times * 100).astype(int), 100.0, 6000)
    assert any("flutter, fibrillation or noise" in w for w in warned)
