"""The beat verifier beside a detector (tsad.models.verifier, verifier.pth): its rule, the script that
trains it, and detection that drops what it rejects (in chunks, through onnxruntime, in detect.py),
on synthetic records (tsad.data.demo_db) with the shipped detector."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import REPO, run_script

from tsad.core.checkpoint import load_checkpoint
from tsad.core.paths import (
    CLASSIFIER_CHECKPOINT,
    CLASSIFIER_ONNX,
    PRETRAINED_DIR,
    VERIFIER_CHECKPOINT,
    VERIFIER_ONNX,
    Workspace,
)
from tsad.data.demo_db import FS as DEMO_FS
from tsad.data.demo_db import DemoConfig, synth_record, write_demo_database
from tsad.detection.streaming import array_source, detect_stream
from tsad.models import loader
from tsad.models.beat_classifier import CLASSES, BeatClassifier, ClassifierConfig, save_classifier
from tsad.models.predictor import DetectionError
from tsad.models.verifier import NOT_A_BEAT, VERIFIER_CLASSES, VerifierRule, beat_labels

TRAIN = REPO / "Codes/Models/verifier_train.py"
DETECT = REPO / "Codes/Inference/detect.py"


# ---- the rule -------------------------------------------------------------------------------------

def _probs(rows) -> np.ndarray:
    """(n, 6) probabilities from {class: probability} rows, the rest spread evenly."""
    out = np.zeros((len(rows), len(VERIFIER_CLASSES)))
    for k, row in enumerate(rows):
        rest = (1 - sum(row.values())) / (len(VERIFIER_CLASSES) - len(row))
        out[k] = [row.get(c, rest) for c in VERIFIER_CLASSES]
    return out


def test_the_rule_drops_by_argmax_or_threshold_and_keeps_the_classes_it_is_told_to():
    probs = _probs([{NOT_A_BEAT: 0.6, "N": 0.3},      # likely not a beat; else normal
                    {NOT_A_BEAT: 0.6, "V": 0.3},      # likely not a beat; else ventricular
                    {NOT_A_BEAT: 0.3, "N": 0.6},      # a normal beat
                    {NOT_A_BEAT: 0.96, "S": 0.03}])   # surely not a beat
    assert beat_labels(probs).tolist() == ["N", "V", "N", "S"]
    assert VerifierRule().keep(probs).tolist() == [False, False, True, False]
    assert VerifierRule(0.95).keep(probs).tolist() == [True, True, True, False]
    assert VerifierRule(0.5, ("V",)).keep(probs).tolist() == [False, True, True, False]
    assert VerifierRule(0.5, ("V",)).keep(np.zeros((0, 6))).tolist() == []
    guarded = VerifierRule(0.5, ("V",), keep_classified=True)        # the classifier may keep a beat too
    assert guarded.keep(probs, classified=np.array(["V", "N", "N", "V"])).tolist() == [True, True, True, True]
    assert guarded.keep(probs, classified=np.array(["N", "N", "N", "S"])).tolist() == [False, True, True, False]
    with pytest.raises(ValueError, match="give the classifier's classes"):
        guarded.keep(probs)
    rule = VerifierRule(0.9, ("V", "S"), keep_classified=True)
    assert VerifierRule.from_dict(rule.as_dict()) == rule
    assert VerifierRule.from_dict({"drop_above": 0.9}) == VerifierRule(0.9)     # a checkpoint of before the guard
    with pytest.raises(ValueError, match="x.pth: drop_above 1.5 is not a probability"):
        VerifierRule.from_dict({"drop_above": 1.5}, source="x.pth")
    with pytest.raises(ValueError, match="keep_classes \\['X'\\] are not AAMI classes"):
        VerifierRule.from_dict({"drop_above": 0.5, "keep_classes": ["X"]})
    with pytest.raises(ValueError, match="unknown verifier rule field"):
        VerifierRule.from_dict({"drop_above": 0.5, "keep": ["V"]})


# ---- detection with a verifier --------------------------------------------------------------------

@pytest.fixture(scope="module")
def detector_run(tmp_path_factory):
    """The shipped detector alone (no classifier, no verifier) in a run folder of its own."""
    if not any(PRETRAINED_DIR.glob("*/best.pth")):
        pytest.skip("the shipped model (pretrained/) is not in this checkout")
    source = next(PRETRAINED_DIR.glob("*/best.pth")).parent
    run = tmp_path_factory.mktemp("verifier") / "detector"
    shutil.copytree(source, run, ignore=shutil.ignore_patterns(CLASSIFIER_CHECKPOINT, CLASSIFIER_ONNX,
                                                                 VERIFIER_CHECKPOINT, VERIFIER_ONNX, "causal"))
    return run


def test_detection_drops_exactly_what_the_rule_rejects_in_chunks_and_through_onnx(detector_run, tmp_path):
    """An untrained verifier network, also placed as the run's classifier so that the unverified
    detection shows its probabilities for every beat: the verified detection is the unverified one
    less the beats its rule rejects, the same in chunks and through onnxruntime."""
    from tsad.models.export import export_onnx

    run = tmp_path / "run"
    shutil.copytree(detector_run, run)
    ws = Workspace(tmp_path / "ws")
    torch.manual_seed(0)   # an untrained net whose probabilities spread: not whatever tests ran before left
    model = BeatClassifier(ClassifierConfig(classes=VERIFIER_CLASSES))
    save_classifier(run / CLASSIFIER_CHECKPOINT, model)                   # shows the probabilities
    signal, beats, _ = synth_record(300, np.random.default_rng(3), DemoConfig(), fs=250)
    plain = detect_stream(loader.load(str(run), ws, backend="torch"), array_source(signal, 250), chunk_s=1e6)
    assert plain.dropped is None and len(plain.samples) > 250
    p_not = plain.class_probs[:, VERIFIER_CLASSES.index(NOT_A_BEAT)]
    labels = beat_labels(plain.class_probs)
    shared = [c for c in VERIFIER_CLASSES if 0 < (labels == c).sum() < len(labels)]   # an untrained net's
    rule = VerifierRule(float(np.median(p_not)), tuple(shared[:1]))      # about half may go, one class kept
    save_classifier(run / VERIFIER_CHECKPOINT, model, verifier=rule.as_dict())
    keep = rule.keep(plain.class_probs)
    assert 0 < (~keep).sum() < len(keep)

    detector = loader.load(str(run), ws, backend="torch")
    assert detector.verify is not None and detector.info["verifier"] == rule.as_dict()
    whole = detect_stream(detector, array_source(signal, 250), chunk_s=1e6)
    assert np.array_equal(whole.samples, plain.samples[keep]) and np.array_equal(whole.dropped, plain.samples[~keep])
    assert np.array_equal(whole.classes, plain.classes[keep]) and len(whole.scores) == len(whole.samples)
    assert not set(rule.keep_classes) & set(labels[~keep])              # a kept class is never dropped
    parts = detect_stream(detector, array_source(signal, 250), chunk_s=37)
    assert np.array_equal(parts.samples, whole.samples) and np.array_equal(parts.dropped, whole.dropped)
    bare = loader.load(str(run), ws, backend="torch", verify=False)
    assert bare.verify is None and np.array_equal(detect_stream(bare, array_source(signal, 250)).samples, plain.samples)

    export_onnx(run)
    assert (run / VERIFIER_ONNX).is_file()
    fast = loader.load(str(run), ws, backend="onnx")
    assert fast.model is None and fast.verify is not None
    by_onnx = detect_stream(fast, array_source(signal, 250), chunk_s=37)
    # the rule's threshold sits on one beat's probability: onnxruntime may round that one the other way
    assert len(np.setxor1d(by_onnx.samples, whole.samples)) <= 1

    # a rule guarded by the classifier: what the run's classifier (now another network) calls a kept
    # class stays as well, whether or not classes are asked for (the beats never depend on that)
    # (an untrained one, the first of a few seeds that calls some dropped beat what the verifier does not)
    for seed in range(1, 20):
        torch.manual_seed(seed)
        save_classifier(run / CLASSIFIER_CHECKPOINT, BeatClassifier())
        classified = detect_stream(loader.load(str(run), ws, backend="torch", verify=False),
                                   array_source(signal, 250)).classes
        # the class it would save most of: beats the rule drops, the classifier calls it, the verifier not
        saved = {c: int(((classified == c) & (labels != c) & ~keep).sum()) for c in CLASSES}
        kept_class = max(saved, key=saved.get)
        if saved[kept_class]:
            break
    assert saved[kept_class] > 0
    guard = VerifierRule(rule.drop_above, (kept_class,), keep_classified=True)
    save_classifier(run / VERIFIER_CHECKPOINT, model, verifier=guard.as_dict())
    guarded_keep = guard.keep(plain.class_probs, classified=classified)
    assert guarded_keep.sum() > VerifierRule(rule.drop_above, (kept_class,)).keep(plain.class_probs).sum()
    for classify in (True, False):
        guarded = detect_stream(loader.load(str(run), ws, backend="torch", classify=classify), array_source(signal, 250))
        assert np.array_equal(guarded.samples, plain.samples[guarded_keep]), classify
    (run / CLASSIFIER_CHECKPOINT).unlink()
    with pytest.raises(DetectionError, match="holds no classifier.pth"):
        loader.load(str(run), ws, backend="torch")

    # causal detection reads no further than its latency: a verifier (it reads the next beat) is refused
    with pytest.raises(DetectionError, match="verifier cannot be used with --latency-s"):
        detect_stream(replace(bare, classify=None, verify=detector.verify, lookahead=0), array_source(signal, 250),
                      latency_s=5.0)


def test_a_broken_verifier_is_named(detector_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(detector_run, run)
    ws = Workspace(tmp_path / "ws")
    save_classifier(run / VERIFIER_CHECKPOINT, BeatClassifier(), verifier={"drop_above": 0.5})
    with pytest.raises(DetectionError, match=f"{VERIFIER_CHECKPOINT}: a classifier of N, S, V, F, Q, not a verifier"):
        loader.load(str(run), ws, backend="torch")
    save_classifier(run / VERIFIER_CHECKPOINT, BeatClassifier(ClassifierConfig(classes=VERIFIER_CLASSES)))
    with pytest.raises(DetectionError, match="without its rule"):
        loader.load(str(run), ws, backend="torch")
    assert loader.load(str(run), ws, backend="torch", verify=False).verify is None


# ---- the script -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("verifier_demo") / "raw"
    write_demo_database(root, DemoConfig(n_records=4, minutes=3, p_ventricular=0.15, p_supraventricular=0.1))
    return root


def test_the_script_trains_a_verifier_that_detection_applies(detector_run, demo, tmp_path):
    """verifier_train.py beside a detector made to invent beats (its threshold lowered; --keep none, as
    the demo's invented beats sit on its wide T waves and are called V): the
    checkpoint holds the rule, the data and the recipe; the card gets its section; detect.py drops
    what the verifier rejects (and --no-verifier keeps it)."""
    run = tmp_path / "run"
    shutil.copytree(detector_run, run)
    tuned = json.loads((run / "detection.json").read_text())
    (run / "detection.json").write_text(json.dumps({**tuned, "threshold": 0.001}))     # a third more: T waves
    paired = tmp_path / "detection_paired.csv"
    pd.DataFrame([{"figure": "gross PPV", "records": 4, "reference": 0.99, "other": 0.995, "difference": 0.005,
                   "ci_low": 0.001, "ci_high": 0.009, "database": "demo", "reference_classifier": "unverified",
                   "classifier": "verifier"}]).to_csv(paired, index=False)
    ws = str(tmp_path / "ws")
    path = run_script(TRAIN, ["--run", str(run), "--input-dir", str(demo), "--noise-snr", "12", "--epochs", "10", "--keep",
                              "--cv-paired", str(paired), "--workspace", ws])
    assert path == run / VERIFIER_CHECKPOINT
    state = load_checkpoint(path)
    assert tuple(state["config"]["classes"]) == VERIFIER_CLASSES and state["trained_not_beats"] > 0
    assert state["verifier"]["keep_classes"] == [] and 0 < state["verifier"]["drop_above"] <= 1
    assert state["records"] == {"raw": ["demo00", "demo01", "demo02", "demo03"]}
    assert state["recipe"]["noise_snr"] == [12.0] and state["cv"][0]["difference"] == 0.005
    assert (run / VERIFIER_ONNX).is_file()                                # the detector runs through onnxruntime
    card = (run / "MODEL_CARD.md").read_text()
    assert card.count("## Beat verifier") == 1 and card.index("## Beat verifier") < card.index("## Limits")
    assert "| 0 | clean | demo | gross PPV | 0.9900 | 0.9950 | +0.0050 [+0.0010, +0.0090] |" in card

    out = run_script(DETECT, ["--run", str(run), "--input-dir", str(demo), "--out", str(tmp_path / "v"),
                              "--backend", "torch", "--workspace", ws])
    kept = run_script(DETECT, ["--run", str(run), "--input-dir", str(demo), "--out", str(tmp_path / "all"),
                               "--backend", "torch", "--no-verifier", "--workspace", ws])
    rows, all_rows = {r["record"]: r for r in out["records"]}, {r["record"]: r for r in kept["records"]}
    assert all("dropped_by_verifier" not in r for r in all_rows.values())
    for name, row in rows.items():
        assert row["beats"] + row["dropped_by_verifier"] == all_rows[name]["beats"]
    assert sum(r["dropped_by_verifier"] for r in rows.values()) > 0
    # what it dropped was mostly not beats: fewer false beats, hardly a beat more missed
    from tsad.scoring.beats import match_beats
    from tsad.scoring.ec57 import read_detections

    def errors(folder) -> np.ndarray:
        found = np.zeros(2, int)
        for name in rows:
            ref = wfdb.rdann(str(demo / name), "atr").sample
            det = read_detections(folder, name, "tsad")
            m = match_beats(ref, det, round(0.15 * DEMO_FS))
            found += [len(det) - len(m.det_index), len(ref) - len(m.ref_index)]   # false, missed
        return found

    import wfdb

    (false_v, missed_v), (false_all, missed_all) = errors(tmp_path / "v"), errors(tmp_path / "all")
    assert false_all > 100 and false_v < false_all / 2 and missed_v <= missed_all + 3
    assert json.loads(out["meta"].read_text())["verifier"] == state["verifier"]      # detections.json says so
    assert "verifier" not in json.loads(kept["meta"].read_text())
