"""Beat classes scored as EC57 does (tsad.scoring.classes): the confusion matrix with missed and
extra beats, VEB and SVEB Se, +P and FPR by hand, gross and average, paced records left out, and
evaluate_records.py writing them for a detection folder whose beats carry their class."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, run_script

from tsad.data.demo_db import DemoConfig, write_demo_database
from tsad.data.ecg import AAMI_CLASSES, BEAT_SYMBOLS, beat_class
from tsad.scoring.beats import ScoringError
from tsad.scoring.classes import confusion, ectopic_counts, pooled_confusion, score_classes, summarise_classes


def test_every_beat_symbol_is_in_exactly_one_aami_class():
    members = [s for symbols in AAMI_CLASSES.values() for s in symbols]
    assert sorted(members) == sorted(BEAT_SYMBOLS)
    assert [beat_class(s) for s in "BnrE?"] == ["N", "S", "V", "V", "Q"]


def _record():
    # reference: N N S V V F N Q at 100, 200, ...; detections at the same places (within 150 ms at
    # 100 Hz: 15 samples) with their labels, one V beat missed and one extra detection labelled V
    ref = np.array([100, 200, 300, 400, 500, 600, 700, 800])
    ref_sym = ["N", "N", "A", "V", "V", "F", "N", "Q"]
    det = np.array([102, 198, 303, 401, 598, 703, 801, 950])
    det_sym = ["N", "S", "N", "V", "V", "V", "V", "V"]
    return ref, ref_sym, det, det_sym


def test_confusion_matrix_with_missed_and_extra_beats():
    table = confusion(*_record(), tolerance=15)
    assert table.loc["N", "N"] == 1 and table.loc["N", "S"] == 1 and table.loc["N", "V"] == 1
    assert table.loc["S", "N"] == 1 and table.loc["V", "V"] == 1 and table.loc["V", "missed"] == 1
    assert table.loc["F", "V"] == 1 and table.loc["Q", "V"] == 1 and table.loc["extra", "V"] == 1
    assert table.drop(index="extra").to_numpy().sum() == 8 and table.loc["extra"].sum() == 1


def test_veb_and_sveb_by_hand():
    counts = ectopic_counts(confusion(*_record(), tolerance=15))
    # VEB: TP Vv = 1; FN = V missed 1; FP = Nv 1 + Qv 1 + extra V 1 (Fv not counted); TN = N, S, Q not V = 3
    assert (counts["VEB_TP"], counts["VEB_FN"], counts["VEB_FP"], counts["VEB_TN"]) == (1, 1, 3, 3)
    # SVEB: TP Ss = 0; FN = Sn 1; FP = Ns 1; TN = N, V, F not labelled S: N 2, V 1, F 1 = 4
    assert (counts["SVEB_TP"], counts["SVEB_FN"], counts["SVEB_FP"], counts["SVEB_TN"]) == (0, 1, 1, 4)
    row = score_classes(*_record(), tolerance=15)
    assert row["VEB_Se"] == 0.5 and row["VEB_+P"] == 0.25 and row["VEB_FPR"] == 0.5
    assert row["SVEB_Se"] == 0.0 and row["SVEB_+P"] == 0.0 and row["SVEB_FPR"] == 0.2
    assert not row["paced"] and row["V_missed"] == 1 and row["extra_V"] == 1


def test_a_detector_that_does_not_classify_finds_no_ectopic_beat():
    ref, ref_sym, det, _ = _record()
    row = score_classes(ref, ref_sym, det, ["N"] * len(det), tolerance=15)
    assert row["VEB_TP"] == 0 and row["VEB_Se"] == 0.0 and math.isnan(row["VEB_+P"])


def test_summary_pools_counts_leaves_paced_records_out_and_averages_records():
    a = score_classes(*_record(), tolerance=15)
    ref, ref_sym, det, det_sym = _record()
    b = score_classes(ref, ref_sym, det, ["N", "N", "S", "V", "V", "N", "N", "N"], tolerance=15)
    paced = score_classes(ref, ["/"] * 8, det, ["V"] * 8, tolerance=15)
    table = pd.DataFrame([{"record": "a", **a}, {"record": "b", **b}, {"record": "p", **paced}])
    assert paced["paced"] and pooled_confusion(table).loc["Q", "V"] == 1       # record a's only
    summary = summarise_classes(table, n_boot=200, seed=1).set_index("figure")
    assert summary.loc["gross VEB Se", "records"] == 2
    assert summary.loc["gross VEB Se", "value"] == pytest.approx(2 / 4)            # TP 1 + 1, FN 1 + 1
    assert summary.loc["gross VEB +P", "value"] == pytest.approx(2 / 5)            # FP 3 + 0 (b: Fv only)
    assert summary.loc["average VEB +P", "value"] == pytest.approx((0.25 + 1.0) / 2)
    assert summary.loc["gross SVEB Se", "value"] == pytest.approx(1 / 2)           # Ss 0 + 1 over S 2
    lo, hi = summary.loc["gross VEB +P", ["ci_low", "ci_high"]]
    assert lo <= 0.4 <= hi
    with pytest.raises(ScoringError, match="every record is paced"):
        summarise_classes(table[table["record"] == "p"])


def test_evaluate_records_writes_the_class_figures_of_a_classifying_folder(tmp_path):
    import wfdb

    raw = tmp_path / "raw"
    write_demo_database(raw, DemoConfig(n_records=1, minutes=1))
    ref = wfdb.rdann(str(raw / "demo00"), "atr")
    keep = [k for k, s in enumerate(ref.symbol) if s in BEAT_SYMBOLS]
    samples = np.asarray(ref.sample)[keep]
    symbols = [beat_class(ref.symbol[k]) for k in keep]          # a perfect classifier
    det = tmp_path / "det"
    det.mkdir()
    wfdb.wrann("demo00", "tsad", samples, symbol=symbols, write_dir=str(det), fs=ref.fs)
    run_script(REPO / "Codes/Inference/evaluate_records.py", ["--detections", str(det), "--input-dir", str(raw),
                                                              "--bootstrap", "20"])
    summary = pd.read_csv(det / "summary.csv").set_index("figure")
    n_v = sum(s == "V" for s in symbols)
    assert n_v > 0 and summary.loc["gross VEB Se", "value"] == 1.0 and summary.loc["gross VEB +P", "value"] == 1.0
    matrix = pd.read_csv(det / "confusion.csv", index_col="reference")
    assert matrix.loc["V", "V"] == n_v and matrix["missed"].sum() == 0 and matrix.loc["extra"].sum() == 0
    assert "Beat classes" in (det / "summary.md").read_text()
