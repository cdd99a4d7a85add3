"""The classical beat classifiers (tsad.experiments.beat_classes): rhythm features by hand, and
record-wise cross-validation on synthetic records whose ectopic beats differ in timing and shape."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, run_script

from tsad.data.demo_db import DemoConfig, write_demo_database
from tsad.experiments.beat_classes import OFFSETS_S, beat_features, cross_validate, read_beats, rr_features


def test_rr_features_by_hand():
    samples = np.array([0, 128, 256, 320, 512])           # 1 s, 1 s, an early beat (0.5 s), then 1.5 s
    f = rr_features(samples, fs=128.0)
    assert f[3, 0] == 0.5 and f[3, 1] == 1.5 and f[0, 0] == 1.0 and f[-1, 1] == 1.5   # edges repeat
    assert f[:, 3] == pytest.approx(np.full(5, 1.0))                                  # the record's mean RR
    assert f[3, 6] == pytest.approx(0.5 / 1.5)                                        # previous / next


def test_features_have_their_shape_and_scale():
    fs, n = 128.0, 128 * 20
    signal = np.zeros(n)
    samples = np.arange(200, n - 200, 128)
    signal[samples] = 2.0                                    # R peaks of 2 mV
    f = beat_features(signal, samples, fs)
    assert f.shape == (len(samples), 7 + 2 * len(OFFSETS_S))
    r = 7 + int(np.argmin(np.abs(OFFSETS_S)))
    assert f[:, r] == pytest.approx(1.0)                     # scaled by the record's median R amplitude
    assert np.abs(f[:, 7 + len(OFFSETS_S):]).max() == pytest.approx(0.0)   # every beat is the usual one


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("beat_classes")
    write_demo_database(root / "raw", DemoConfig(n_records=4, minutes=2))
    return root / "raw"


def test_cross_validation_classifies_unseen_records(demo):
    records = [read_beats(demo / f"demo0{k}", "demo") for k in range(4)]
    assert not any(r.paced for r in records)
    table = cross_validate(records, [["demo00", "demo01"], ["demo02", "demo03"]], "boosting", seed=0)
    assert sorted(table["record"]) == ["demo00", "demo01", "demo02", "demo03"]
    assert set(table.loc[table["record"].isin(["demo00", "demo01"]), "fold"]) == {0}
    # classified at the reference positions: no beat missed or invented
    assert (table[[c for c in table if c.endswith("_missed")]].to_numpy() == 0).all()
    v = table["VEB_TP"].sum() / (table["VEB_TP"] + table["VEB_FN"]).sum()
    assert v > 0.8                                             # the demo's V beats are wide and early


def test_the_script_writes_its_tables(demo, tmp_path):
    result = run_script(REPO / "Codes/Models/beat_classes_cv.py",
                        ["--workspace", str(tmp_path / "ws"), "--input-dir", str(demo), "--folds", "2",
                         "--classifiers", "lda", "--bootstrap", "50"])
    out = tmp_path / "ws" / "beat_classes" / "classical"
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["figure"]) >= {"gross VEB Se", "gross SVEB +P", "average VEB FPR"}
    assert (out / "confusion_lda_raw.csv").is_file() and (out / "command.txt").is_file()
    assert len(result["table"]) == 4
    again = run_script(REPO / "Codes/Models/beat_classes_cv.py",
                       ["--workspace", str(tmp_path / "ws"), "--input-dir", str(demo), "--folds", "2",
                        "--classifiers", "lda", "--bootstrap", "50", "--name", "again", "--against", "classical"])
    versus = pd.read_csv(tmp_path / "ws" / "beat_classes" / "again" / "paired_against_classical.csv")
    assert (versus["difference"].fillna(0) == 0).all()        # the same classifier, folds and seed: no change
    assert len(again["table"]) == 4


def test_a_distilled_classifier_is_scored_beside_its_teacher_and_against_labels(demo, tmp_path):
    common = ["--workspace", str(tmp_path / "ws"), "--input-dir", str(demo), "--folds", "2", "--classifiers",
              "learned", "--bootstrap", "50", "--epochs", "2"]
    run_script(REPO / "Codes/Models/beat_classes_cv.py", [*common, "--name", "labels"])
    run_script(REPO / "Codes/Models/beat_classes_cv.py", [*common, "--name", "kd", "--distil-members", "2",
                                                          "--weighted-kd", "--against", "labels"])
    out = tmp_path / "ws" / "beat_classes" / "kd"
    assert set(pd.read_csv(out / "summary.csv")["classifier"]) == {"learned", "learned_ensemble"}
    paired = pd.read_csv(out / "paired.csv")                          # the teacher minus its student
    assert set(paired["reference_classifier"]) == {"learned"} and set(paired["classifier"]) == {"learned_ensemble"}
    versus = pd.read_csv(out / "paired_against_labels.csv")
    assert set(zip(versus["classifier"], versus["against"])) == {("learned", "labels: learned"),
                                                                 ("learned_ensemble", "labels: learned")}


def test_end_to_end_scores_a_detectors_beats_missed_and_extra(demo, tmp_path):
    """--detections-cv: a stand-in cross-validation folder whose fold "detector" found every reference
    beat of demo00 but one V beat, plus one extra beat: that V counts as missed, the extra as extra."""
    import wfdb

    cv = tmp_path / "cv"
    folds = [["demo00", "demo01"], ["demo02", "demo03"]]
    cv.mkdir()
    pd.DataFrame({"fold": [0, 1], "test_records": [" ".join(f) for f in folds]}).to_csv(cv / "folds.csv", index=False)
    dropped = None
    for k, test in enumerate(folds):
        out = cv / f"fold{k}" / "detections"
        out.mkdir(parents=True)
        for name in test:
            ann = wfdb.rdann(str(demo / name), "atr")
            beats = [int(s) for s, sym in zip(ann.sample, ann.symbol) if sym in "NSV"]
            if name == "demo00":
                dropped = next(s for s, sym in zip(ann.sample, ann.symbol) if sym == "V")
                beats = [b for b in beats if b != dropped] + [beats[-1] + 40]       # 0.31 s after the last
            beats = sorted(beats)
            wfdb.wrann(name, "tsad", np.array(beats), symbol=["N"] * len(beats), fs=128, write_dir=str(out))
    result = run_script(REPO / "Codes/Models/beat_classes_cv.py",
                        ["--workspace", str(tmp_path / "ws"), "--input-dir", str(demo), "--classifiers", "lda",
                         "--bootstrap", "50", "--detections-cv", str(cv), "--name", "e2e"])
    table = result["table"].set_index("record")
    assert table.loc["demo00", "V_missed"] == 1 and table.loc["demo00", "fold"] == 0
    assert table.loc["demo00", [f"extra_{c}" for c in "NSVFQ"]].sum() == 1
    assert (table.drop(index="demo00")[[c for c in table if c.endswith("_missed")]].to_numpy() == 0).all()
    assert result["folds"] == folds


def test_the_eight_figure_rule_by_hand():
    from tsad.experiments.beat_classes import RULE_FIGURES, eight_figure_rule

    def table(diffs, low):
        rows = [{"database": db, "figure": fig, "difference": d, "ci_low": lo, "ci_high": d + 0.05}
                for (db, fig), d, lo in zip([(db, f) for db in ("mitdb", "svdb") for f in RULE_FIGURES], diffs, low)]
        return pd.DataFrame(rows + [{"database": "mitdb", "figure": "gross VEB FPR", "difference": -1.0,
                                     "ci_low": -1.0, "ci_high": -1.0}])      # not one of the eight

    good = [0.02, 0.01, 0.0, -0.01, 0.01, 0.0, 0.02, 0.01]             # 7 of 8 >= 0, worst -0.01
    low = [0.001] + [-0.01] * 7                                        # mitdb VEB Se above 0
    lines, kept = eight_figure_rule({"42": table(good, low), "1": table(good, low)})
    assert kept and "(1) means >= 0: 7 of 8 (six needed)" in lines
    assert not eight_figure_rule({"42": table(good, low), "1": table(good, [-0.01] * 8)})[1]   # not with both seeds
    worse = good[:3] + [-0.03] + good[4:]                              # a mean falls by 0.03
    assert not eight_figure_rule({"42": table(worse, low), "1": table(worse, low)})[1]


def test_where_the_second_opinion_is_asked_needs_a_second_opinion(demo, tmp_path):
    """--ask-above-db and --spare-kept say where a second opinion is asked: without one they are refused
    in one line, before anything is read."""
    common = ["--workspace", str(tmp_path / "ws"), "--input-dir", str(demo), "--classifiers", "verifier",
              "--name", "bad"]
    for extra in (["--ask-above-db", "12"], ["--spare-kept"]):
        with pytest.raises((SystemExit, ValueError), match="need --second-opinion"):
            run_script(REPO / "Codes/Models/beat_classes_cv.py", [*common, *extra])
