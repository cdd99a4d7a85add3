"""The learned beat classifier: its inputs (tsad.data.beat_context), its training, and detection that
gives every beat its class (annotation symbols, beats.csv, chunks, onnxruntime), on synthetic records
whose ventricular beats are early and wide (tsad.data.demo_db)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, run_script

from tsad.core.paths import CLASSIFIER_CHECKPOINT, CLASSIFIER_ONNX, PRETRAINED_DIR, Workspace
from tsad.data import beat_context as context
from tsad.data.beat_context import (
    FS,
    HISTORY,
    MAX_RR_S,
    RHYTHM_CONTEXTS,
    RHYTHM_FEATURES,
    RHYTHM_NAMES,
    WAVE_CONTEXTS,
    WAVE_GROUPS,
    WAVE_SAMPLES,
    beat_context,
)
from tsad.data.demo_db import DemoConfig, synth_record, write_demo_database
from tsad.detection.streaming import array_source, detect_stream
from tsad.experiments.beat_classes import cross_validate, read_beats
from tsad.models import loader
from tsad.models.beat_classifier import (
    CLASSES,
    BeatClassifier,
    ClassifierConfig,
    class_probs,
    load_classifier,
    save_classifier,
)
from tsad.models.predictor import DetectionError
from tsad.scoring.beats import ScoringError
from tsad.scoring.classes import paired_class_difference, paired_detection_difference
from tsad.training.beat_classifier import class_weights, train_classifier

TRAIN = REPO / "Codes/Models/beat_classifier_train.py"


# ---- inputs ---------------------------------------------------------------------------------------

def test_rhythm_by_hand():
    samples = np.array([0, 128, 256, 320, 512, 640])      # 1 s, 1 s, an early beat (0.5 s), 1.5 s, 1 s
    signal = np.zeros((800, 2))
    waves, rhythm, history = beat_context(signal, samples)
    assert waves.shape == (6, 4, WAVE_SAMPLES) and rhythm.shape == (6, RHYTHM_FEATURES)
    prev, nxt, usual = rhythm[:, 0], rhythm[:, 1], rhythm[:, 2]
    assert prev.tolist() == [1.0, 1.0, 1.0, 0.5, 1.5, 1.0]      # the first beat's previous is its next
    assert nxt.tolist() == [1.0, 1.0, 0.5, 1.5, 1.0, 1.0]       # the last beat's next is its previous
    assert usual[3] == 1.0 and rhythm[3, 3] == 0.5               # early against the beats before it
    assert rhythm[3, 6] == pytest.approx((1.5 - 0.5) / 1.0)      # the compensatory pause
    assert history.last == 640 and len(history.rr) == 6


def _rhythm_of(intervals_s) -> np.ndarray:
    """The rhythm features of beats whose successive intervals are ``intervals_s`` (seconds)."""
    samples = np.concatenate([[0], np.cumsum(np.round(np.asarray(intervals_s) * FS))]).astype(np.int64)
    return beat_context(np.zeros((int(samples[-1]) + 200, 1)), samples)[1]


def test_the_steady_rr_does_not_follow_a_run_but_follows_a_gradual_change():
    col = {name: k for k, name in enumerate(RHYTHM_NAMES)}
    # 40 beats at 1 s, a run of 300 beats at 0.5 s (an ectopic tachycardia), 40 beats at 1 s again
    rhythm = _rhythm_of([1.0] * 40 + [0.5] * 300 + [1.0] * 40)
    run = slice(41 + 40, 41 + 300)                        # the run's beats once its own rate is the usual one
    assert np.allclose(rhythm[run, col["rr_usual"]], 0.5)                        # the recent rhythm is the run's
    assert np.allclose(rhythm[run, col["rr_steady"]], 1.0)                       # the steady one is the heart's
    assert np.allclose(rhythm[run, col["usual/steady"]], 0.5)
    stale = rhythm[41:341, col["steady stale"]]
    assert (np.diff(stale) > 0).all() and stale[-1] > 0.85                     # ever staler during the run
    assert rhythm[-1, col["steady stale"]] == 0 and rhythm[-1, col["rr_steady"]] == pytest.approx(1.0)
    # the rate rising by 2% a beat (sinus tachycardia coming on) is followed
    gradual = _rhythm_of([1.0] * 20 + list(0.98 ** np.arange(1, 36)))
    assert (gradual[:, col["steady stale"]] == 0).all()                         # every interval fits it
    assert (gradual[:, col["prev/steady"]] > 0.85).all()                        # so no beat is early against it


def test_a_steady_rr_that_nothing_fits_for_long_starts_again(monkeypatch):
    monkeypatch.setattr(context, "STEADY_RESET", 50)      # instead of 1,000 beats, so that the record is short
    col = {name: k for k, name in enumerate(RHYTHM_NAMES)}
    rhythm = _rhythm_of([1.0] * 40 + [0.5] * 120)
    assert rhythm[40 + 49, col["rr_steady"]] == pytest.approx(1.0)             # the 50th beat without a fit
    assert np.allclose(rhythm[40 + 52:, col["rr_steady"]], 0.5) and rhythm[-1, col["steady stale"]] == 0


def test_jitter_marks_a_rhythm_whose_successive_intervals_differ():
    jitter = RHYTHM_NAMES.index("jitter")
    assert np.allclose(_rhythm_of([0.8] * 50)[40:, jitter], 0)
    alternating = _rhythm_of([0.8, 1.2] * 25)              # every interval 0.4 s from the one before
    assert np.allclose(alternating[40:, jitter], 0.4 / 1.0, atol=0.01)


def test_a_classifier_reads_the_rhythm_features_of_its_context():
    rng = np.random.default_rng(0)
    waves = rng.normal(size=(8, 4, WAVE_SAMPLES)).astype(np.float32)
    rhythm = rng.uniform(0.5, 1.5, size=(8, RHYTHM_FEATURES)).astype(np.float32)
    for name, width in RHYTHM_CONTEXTS.items():
        model = BeatClassifier(ClassifierConfig(rhythm_features=width))
        changed = rhythm.copy()
        changed[:, width:] += 1.0                          # features it does not read
        assert np.allclose(class_probs(model, waves, rhythm), class_probs(model, waves, changed)), name
        changed[:, width - 1] += 1.0                       # the last one it does
        assert not np.allclose(class_probs(model, waves, rhythm), class_probs(model, waves, changed)), name


def test_pauses_are_capped_and_the_template_is_the_past():
    signal = np.zeros((2000, 1))
    samples = np.array([100, 228, 1000])                         # a 6 s pause
    signal[samples[:2], 0] = 1.0                                 # two spikes, then a beat of another shape
    signal[samples[2] + np.arange(-5, 6), 0] = -1.0
    waves, rhythm, _ = beat_context(signal, samples)
    assert rhythm[2, 0] == MAX_RR_S
    centre = -round(-0.25 * FS)
    assert np.abs(waves[1, 1]).max() == pytest.approx(0.0)                  # like the beat before it
    assert np.abs(waves[2, 1, centre]) > 0.5                                # unlike the template


@pytest.mark.parametrize("groups", [2, 3])
def test_chunks_with_history_give_the_inputs_of_one_pass(groups):
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(128 * 120, 2)).astype(np.float32)
    samples = np.cumsum(rng.integers(60, 200, size=80)) + 40
    samples = samples[samples < len(signal) - 100]
    whole_w, whole_r, _ = beat_context(signal, samples, groups=groups)
    assert whole_w.shape[1] == groups * 2
    parts_w, parts_r, history = [], [], None
    for part in np.array_split(np.arange(len(samples)), 5):
        following = int(samples[part[-1] + 1]) if part[-1] + 1 < len(samples) else None
        lo = max(0, int(samples[part[0]]) - 64)
        w, r, history = beat_context(signal[lo:], samples[part], offset=lo, next_sample=following, history=history,
                                     groups=groups)
        parts_w.append(w)
        parts_r.append(r)
    assert np.array_equal(np.concatenate(parts_w), whole_w) and np.array_equal(np.concatenate(parts_r), whole_r)
    assert len(history.waves) == HISTORY and 0 < len(history.on_time) <= HISTORY


def test_in_bigeminy_the_on_time_template_is_the_normal_beat():
    # 20 normal beats at 1 s, then bigeminy: an early wide beat (0.6 s) and a normal one after its pause
    intervals = [1.0] * 20 + [0.6, 1.4] * 30
    samples = np.concatenate([[64], 64 + np.cumsum(np.round(np.asarray(intervals) * FS))]).astype(np.int64)
    signal = np.zeros((int(samples[-1]) + 200, 1))
    normal, wide = np.arange(-2, 3), np.arange(-12, 13)
    ectopic = np.zeros(len(samples), bool)
    ectopic[21::2] = True
    for at, early in zip(samples, ectopic):
        signal[at + (wide if early else normal), 0] = -1.0 if early else 1.0
    waves, _, _ = beat_context(signal, samples, groups=3)
    beat, minus_recent, minus_on_time = waves[:, 0], waves[:, 1], waves[:, 2]
    late = np.arange(len(samples)) >= 21 + HISTORY                       # bigeminy has filled the template
    # the recent template (the median of 8 normal and 8 wide beats) is like neither; the on-time one is
    # the normal beat: a normal beat minus it is flat, an ectopic one differs by all its shape
    assert np.abs(minus_on_time[late & ~ectopic]).max() == pytest.approx(0.0)
    assert np.allclose(minus_on_time[late & ectopic], beat[late & ectopic] - beat[~ectopic][-1], atol=1e-6)
    assert np.abs(minus_recent[late & ~ectopic]).max() > 0.1
    # the first two groups are those of groups=2, unchanged
    assert np.array_equal(beat_context(signal, samples)[0], waves[:, :2])
    with pytest.raises(ValueError, match="groups must be 2 or 3"):
        beat_context(signal, samples, groups=4)


def test_a_classifier_reads_the_waveform_groups_of_its_context():
    rng = np.random.default_rng(0)
    waves = rng.normal(size=(8, 2 * len(WAVE_GROUPS), WAVE_SAMPLES)).astype(np.float32)
    rhythm = rng.uniform(0.5, 1.5, size=(8, RHYTHM_FEATURES)).astype(np.float32)
    for name, groups in WAVE_CONTEXTS.items():
        model = BeatClassifier(ClassifierConfig(wave_groups=groups))
        changed = waves.copy()
        changed[:, 2 * groups:] += 1.0                     # groups it does not read
        assert np.allclose(class_probs(model, waves, rhythm), class_probs(model, changed, rhythm)), name
        changed[:, 2 * groups - 1] += 1.0                  # the last channel it does
        assert not np.allclose(class_probs(model, waves, rhythm), class_probs(model, changed, rhythm)), name


# ---- training -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("classifier") / "raw"
    # more ectopic beats than the default, so that a few epochs on two records learn them
    write_demo_database(root, DemoConfig(n_records=4, minutes=3, p_ventricular=0.15, p_supraventricular=0.1))
    return root


@pytest.fixture(scope="module")
def beats(demo):
    return [read_beats(demo / f"demo0{k}", "demo") for k in range(4)]


def test_class_weights():
    w = class_weights(np.array([0] * 90 + [2] * 10), 5, power=1.0)
    assert w[1] == w[3] == w[4] == 0 and w[2] == pytest.approx(9 * w[0]) and (w[w > 0].mean()) == pytest.approx(1)
    assert class_weights(np.array([0, 0, 2]), 5, power=0.0)[[0, 2]].tolist() == [1.0, 1.0]


def test_training_lowers_the_loss_and_finds_unseen_ventricular_beats(beats):
    train = beats[:2]
    waves = np.concatenate([r.waves for r in train])
    rhythm = np.concatenate([r.rhythm for r in train])
    targets = np.array([CLASSES.index(c) for r in train for c in r.classes])
    assert {CLASSES[k] for k in targets} >= {"N", "V"}
    _, losses = train_classifier(waves, rhythm, targets, epochs=10, batch_size=64, seed=0)
    assert losses[-1] < 0.7 * losses[0]
    table = cross_validate(beats, [["demo00", "demo01"], ["demo02", "demo03"]], "learned", seed=0,
                           learned={"epochs": 10, "batch_size": 64, "rhythm_context": "steady"})
    assert (table[[c for c in table if c.endswith("_missed")]].to_numpy() == 0).all()
    assert table["VEB_TP"].sum() / (table["VEB_TP"] + table["VEB_FN"]).sum() > 0.8
    # the decision offsets chosen on a held-out part of each fold's training records: in the rows
    tuned = cross_validate(beats, [["demo00", "demo01"], ["demo02", "demo03"]], "learned", seed=0,
                           learned={"epochs": 10, "batch_size": 64, "decision": "tuned"})
    assert {"offset_S", "offset_V", "offset_F", "validation_ectopic_f1"} <= set(tuned.columns)
    assert tuned["validation_ectopic_f1"].between(0, 1).all() and len(tuned) == len(table)


def test_a_classifier_distilled_from_an_ensemble_learns_from_its_soft_targets(beats):
    from tsad.experiments.beat_classes import learned_arrays
    from tsad.training.beat_classifier import teacher_soft_targets

    waves, rhythm, targets = learned_arrays(beats[:2])
    members = [train_classifier(waves, rhythm, targets, epochs=4, batch_size=64, seed=s)[0] for s in (1, 2)]
    soft = teacher_soft_targets(members, waves, rhythm, temperature=2.0)
    assert soft.shape == (len(targets), len(CLASSES)) and np.allclose(soft.sum(axis=1), 1, atol=1e-5)
    # the teacher term alone (lam 1): the student learns the labels through the ensemble's probabilities
    student, losses = train_classifier(waves, rhythm, targets, epochs=6, batch_size=64, seed=0, soft_targets=soft,
                                       lam=1.0)
    assert losses[-1] < 0.7 * losses[0]
    agree = (class_probs(student, waves, rhythm).argmax(1) == soft.argmax(1)).mean()
    assert agree > 0.9
    # the teacher term weighted by class, as the labels are: another student, still learning
    weighted, weighted_losses = train_classifier(waves, rhythm, targets, epochs=6, batch_size=64, seed=0,
                                                 soft_targets=soft, lam=1.0, weighted_kd=True)
    assert weighted_losses[-1] < 0.7 * weighted_losses[0]
    assert not np.allclose(class_probs(weighted, waves, rhythm), class_probs(student, waves, rhythm))
    with pytest.raises(ValueError, match="needs soft targets"):
        train_classifier(waves, rhythm, targets, lam=0.5)
    with pytest.raises(ValueError, match="soft targets of shape"):
        train_classifier(waves, rhythm, targets, soft_targets=soft[:5], lam=0.5)
    table = cross_validate(beats, [["demo00", "demo01"], ["demo02", "demo03"]], "learned", seed=0,
                           learned={"epochs": 4, "batch_size": 64, "members": 2, "lam": 0.5})
    # the student and its teacher (the members' mean) each score every test record
    assert sorted(table["classifier"].value_counts().items()) == [("learned", 4), ("learned_ensemble", 4)]
    student_rows, teacher_rows = (table[table["classifier"] == c] for c in ("learned", "learned_ensemble"))
    assert list(student_rows["record"]) == list(teacher_rows["record"])
    assert student_rows["VEB_TP"].sum() > 0 and teacher_rows["VEB_TP"].sum() > 0


def test_the_classifier_size_and_rhythm_context_reach_the_model(beats):
    from tsad.experiments.beat_classes import fit_learned

    model, teacher = fit_learned(beats[:1], seed=0, epochs=1, batch_size=256, widths=[8, 12, 12], hidden=10,
                                 rhythm_context="steady")
    c = model.config
    assert teacher is None and c.widths == (8, 12, 12) and c.hidden == 10
    assert c.rhythm_features == RHYTHM_CONTEXTS["steady"] and model.head[-1].in_features == 10


def test_paired_difference_is_other_minus_reference(beats):
    folds = [["demo00", "demo01"], ["demo02", "demo03"]]
    a = cross_validate(beats, folds, "lda", seed=0)
    b = a.copy()
    b["VEB_TP"], b["VEB_FN"] = b["VEB_TP"] + b["VEB_FN"], 0          # every V beat found
    diff = paired_class_difference(a, b, n_boot=200).set_index("figure")
    se = diff.loc["gross VEB Se"]
    assert se["other"] == 1.0 and se["difference"] == pytest.approx(1.0 - se["reference"])
    assert se["ci_low"] <= se["difference"] <= se["ci_high"]
    assert diff.loc["gross SVEB Se", "difference"] == 0 or np.isnan(diff.loc["gross SVEB Se", "difference"])
    with pytest.raises(ValueError, match="same"):
        paired_class_difference(a, b.iloc[:2])


# ---- detection with classes -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def run_with_classifier(demo, tmp_path_factory):
    """The shipped detector copied with a classifier trained on the demo records (the script), reading
    the steady rhythm and the on-time template too (the shipped classifier, in the last test, reads the
    recent ones alone)."""
    if not any(PRETRAINED_DIR.glob("*/best.pth")):
        pytest.skip("the shipped model (pretrained/) is not in this checkout")
    source = next(PRETRAINED_DIR.glob("*/best.pth")).parent
    run = tmp_path_factory.mktemp("run") / "detector"
    shutil.copytree(source, run, ignore=shutil.ignore_patterns(CLASSIFIER_CHECKPOINT, CLASSIFIER_ONNX))
    run_script(TRAIN, ["--run", str(run), "--input-dir", str(demo), "--epochs", "10", "--batch-size", "64",
                       "--rhythm-context", "steady", "--wave-context", "on-time", "--workspace", str(run.parent / "ws")])
    return run


def test_the_script_saves_a_classifier_with_its_config(run_with_classifier):
    from tsad.core.checkpoint import load_checkpoint

    state = load_checkpoint(run_with_classifier / CLASSIFIER_CHECKPOINT)
    assert state["kind"] == "beat_classifier" and tuple(state["config"]["classes"]) == CLASSES
    assert state["records"] == {"raw": ["demo00", "demo01", "demo02", "demo03"]} and state["losses"]
    assert state["config"]["rhythm_features"] == RHYTHM_CONTEXTS["steady"] == RHYTHM_FEATURES
    assert state["recipe"]["rhythm_context"] == "steady"
    assert state["config"]["wave_groups"] == WAVE_CONTEXTS["on-time"] == 3 and state["recipe"]["wave_context"] == "on-time"
    assert isinstance(load_classifier(run_with_classifier / CLASSIFIER_CHECKPOINT), BeatClassifier)
    assert (run_with_classifier / CLASSIFIER_ONNX).is_file()          # the detector runs through onnxruntime
    from tsad.cli.model_card import update_card_classes

    update_card_classes(run_with_classifier)                          # again: the section is replaced
    card = (run_with_classifier / "MODEL_CARD.md").read_text()
    assert card.count("## Beat classes") == 1 and card.index("## Beat classes") < card.index("## Limits")
    assert "raw: 4 records" in card and "## Licence of the training data" in card


def test_detection_classifies_every_beat_in_chunks_and_through_onnx(run_with_classifier):
    from tsad.models.export import export_onnx

    signal, beats, symbols = synth_record(300, np.random.default_rng(3), DemoConfig(), fs=250)
    torch_run = loader.load(str(run_with_classifier), Workspace(run_with_classifier.parent / "ws"), backend="torch")
    assert torch_run.classify is not None and torch_run.classes == CLASSES and torch_run.wave_groups == 3
    whole = detect_stream(torch_run, array_source(signal, 250), chunk_s=1e6)
    parts = detect_stream(torch_run, array_source(signal, 250), chunk_s=37)
    assert np.array_equal(whole.samples, parts.samples) and np.array_equal(whole.classes, parts.classes)
    assert np.allclose(whole.class_probs, parts.class_probs, atol=1e-4)
    assert whole.class_probs.shape == (len(whole.samples), 5) and set(whole.classes) <= set(CLASSES)
    # the demo's V beats are found as V
    v_ref = beats[np.asarray(symbols) == "V"]
    near = np.abs(whole.samples[:, None] - v_ref[None, :]).argmin(axis=0)
    assert len(v_ref) > 5 and (whole.classes[near] == "V").mean() > 0.8
    export_onnx(run_with_classifier)
    fast = loader.load(str(run_with_classifier), Workspace(run_with_classifier.parent / "ws"), backend="onnx")
    by_onnx = detect_stream(fast, array_source(signal, 250), chunk_s=37)
    assert fast.model is None and fast.wave_groups == 3 and np.array_equal(by_onnx.classes, whole.classes)
    assert np.allclose(by_onnx.class_probs, whole.class_probs, atol=1e-4)


def test_detect_writes_class_symbols_and_probabilities(run_with_classifier, demo, tmp_path):
    import wfdb

    result = run_script(REPO / "Codes/Inference/detect.py",
                        ["--run", str(run_with_classifier), "--input-dir", str(demo), "--records", "demo03",
                         "--out", str(tmp_path / "out"), "--backend", "torch"])
    row = result["records"][0]
    assert row["beats"] > 100 and sum(row["classes"].values()) == row["beats"] and row["classes"]["V"] > 0
    ann = wfdb.rdann(str(tmp_path / "out" / "demo03"), "tsad")
    table = pd.read_csv(tmp_path / "out" / "demo03_beats.csv")
    assert set(ann.symbol) <= set(CLASSES) | {"~"} and "V" in ann.symbol
    assert list(table.columns) == ["sample", "time_s", "probability", "class", *[f"p_{c}" for c in CLASSES]]
    assert table["class"].tolist() == [s for s in ann.symbol if s != "~"]
    assert np.allclose(table[[f"p_{c}" for c in CLASSES]].sum(axis=1), 1.0, atol=1e-3)
    plain = run_script(REPO / "Codes/Inference/detect.py",
                       ["--run", str(run_with_classifier), "--input-dir", str(demo), "--records", "demo03",
                        "--out", str(tmp_path / "plain"), "--backend", "torch", "--no-classes"])
    assert plain["records"][0]["beats"] == row["beats"] and "classes" not in plain["records"][0]
    assert set(wfdb.rdann(str(tmp_path / "plain" / "demo03"), "tsad").symbol) <= {"N", "~"}
    assert "class" not in pd.read_csv(tmp_path / "plain" / "demo03_beats.csv").columns


def test_a_broken_classifier_is_named(run_with_classifier, tmp_path):
    run = tmp_path / "broken"
    shutil.copytree(run_with_classifier, run)
    (run / CLASSIFIER_CHECKPOINT).write_bytes(b"not a checkpoint")
    with pytest.raises(DetectionError, match=f"{CLASSIFIER_CHECKPOINT}: not a loadable checkpoint"):
        loader.load(str(run), Workspace(tmp_path / "ws"), backend="torch")
    from tsad.data.record_context import TEACHER_VIEW

    save_classifier(run / CLASSIFIER_CHECKPOINT, BeatClassifier(ClassifierConfig(**TEACHER_VIEW)))
    with pytest.raises(DetectionError, match=f"{CLASSIFIER_CHECKPOINT}: a classifier that reads the whole record"):
        loader.load(str(run), Workspace(tmp_path / "ws"), backend="torch")     # a teacher's: no stream has that
    model = BeatClassifier()
    save_classifier(run / CLASSIFIER_CHECKPOINT, model)
    assert loader.load(str(run), Workspace(tmp_path / "ws"), backend="torch").classify is not None


def test_the_api_returns_classes(run_with_classifier):
    import tsad

    signal, _, _ = synth_record(120, np.random.default_rng(5), DemoConfig(), fs=360)
    beats, probs, classes = tsad.detect_beats(signal, 360, model=str(run_with_classifier), return_probabilities=True,
                                              return_classes=True)
    assert len(beats) == len(probs) == len(classes) > 100 and set(classes) <= set(CLASSES)
    xqrs_beats, xqrs_classes = tsad.detect_beats(signal, 360, model="xqrs", return_classes=True)
    assert set(xqrs_classes) == {"N"} and len(xqrs_classes) == len(xqrs_beats)


def test_the_shipped_model_classifies_through_onnxruntime_without_torch():
    """What a user gets with no flag: the shipped detector and classifier through onnxruntime, and
    torch never imported (a fresh process)."""
    import subprocess
    import sys

    if not any(PRETRAINED_DIR.glob(f"*/{CLASSIFIER_ONNX}")):
        pytest.skip("the shipped classifier (pretrained/*/classifier.onnx) is not in this checkout")
    code = ("import sys, numpy as np, tsad; from tsad.data.demo_db import DemoConfig, synth_record; "
            "sig, beats, symbols = synth_record(120, np.random.default_rng(0), DemoConfig(), fs=360); "
            "b, c = tsad.detect_beats(sig, 360, return_classes=True); "
            "print(len(b), len(beats), sorted(set(c)), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    found, annotated, torch_imported = int(out[0]), int(out[1]), out[-1]
    assert abs(found - annotated) <= 3 and torch_imported == "False"
    assert "'N'" in " ".join(out) and "'V'" in " ".join(out)      # the demo's ventricular beats are found


# ---- the verifier: a classifier that may say "not a beat" -----------------------------------------

def test_a_verifier_never_drops_the_classes_it_is_told_to_keep():
    """``droppable``: a detection the verifier would call V (its most likely class other than "not a
    beat") is kept when V is kept, however likely "not a beat" is; the others are not protected."""
    from tsad.experiments.beat_classes import VERIFIER_CLASSES, beat_labels, droppable

    probs = np.zeros((3, len(VERIFIER_CLASSES)))
    probs[:, -1] = 0.97                                  # "not a beat" most likely for all three
    for row, cls in enumerate(("V", "N", "S")):
        probs[row, VERIFIER_CLASSES.index(cls)] = 0.03
    labels = beat_labels(probs)
    assert labels.tolist() == ["V", "N", "S"]
    assert droppable(labels).tolist() == [True, True, True]
    assert droppable(labels, ("V",)).tolist() == [False, True, True]
    assert droppable(labels, ("V", "S")).tolist() == [False, True, False]


def test_the_verifier_learns_to_drop_what_is_not_a_beat(demo):
    """A stand-in detector that finds every beat and, after every third, a false one in the middle
    of the RR interval (on the T wave or the baseline): the verifier, trained on the training
    records' such beats, drops the test records' false beats and keeps their beats."""
    from tsad.experiments.beat_classes import NOT_A_BEAT, RecordBeats, labelled_detections
    from tsad.scoring.classes import paired_detection_difference

    def find(record: RecordBeats) -> np.ndarray:
        middles = (record.samples[:-1:3] + record.samples[1::3][:len(record.samples[:-1:3])]) // 2
        return np.unique(np.concatenate([record.samples, middles]))

    records = [read_beats(demo / f"demo0{k}", "demo", keep_signal=True) for k in range(4)]
    labelled = labelled_detections(records[0], find(records[0]))
    false = labelled.symbols == NOT_A_BEAT
    assert false.sum() == len(records[0].samples[:-1:3]) and np.array_equal(labelled.samples[~false], records[0].samples)
    for r in records:                                  # the test beats: the stand-in's
        r.detected = labelled_detections(r, find(r))
    folds = [["demo00", "demo01"], ["demo02", "demo03"]]
    settings = {"epochs": 10, "batch_size": 64}
    table = pd.concat([cross_validate(records, folds, c, seed=0, learned=settings, fold_finders=[find, find])
                       for c in ("learned", "verifier")], ignore_index=True)
    verifier = table[table["classifier"] == "verifier"]
    assert (verifier["trained_not_beats"] > 0).all()
    diff = paired_detection_difference(table[table["classifier"] == "learned"], verifier, n_boot=200).set_index("figure")
    assert diff.loc["gross PPV", "reference"] < 0.8                            # a third of the beats invented
    assert diff.loc["gross PPV", "other"] > 0.95 and diff.loc["gross Se", "other"] > 0.98
    assert diff.loc["gross F1", "difference"] > 0.1
    with pytest.raises(ValueError, match="detectors of the folds"):
        cross_validate(records, folds, "verifier", seed=0, learned=settings)
    # at an operating point chosen on a quarter of each fold's training records: one of the grid's
    from tsad.experiments.beat_classes import DROP_GRID

    single = [[f"demo0{k}"] for k in range(4)]
    tuned = cross_validate(records, single, "verifier", seed=0, learned={**settings, "verifier_drop": "tuned"},
                           fold_finders=[find] * 4)
    assert set(tuned["classifier"]) == {"verifier", "unverified"}      # the same verifier dropping nothing
    assert set(tuned["drop_above"]) <= set(DROP_GRID)
    diff = paired_detection_difference(tuned[tuned["classifier"] == "unverified"],
                                       tuned[tuned["classifier"] == "verifier"], n_boot=200).set_index("figure")
    assert diff.loc["gross PPV", "reference"] < 0.8
    assert diff.loc["gross PPV", "other"] > 0.95 and diff.loc["gross Se", "other"] > 0.98
    # told to keep every beat class, it drops nothing: its rows are its unverified twin's
    keep_all = cross_validate(records, folds, "verifier", seed=0,
                              learned={**settings, "verifier_keep": ["N", "S", "V", "F", "Q"]}, fold_finders=[find, find])
    counted = [c for c in keep_all if c.endswith("_missed") or c.startswith("extra_")]   # the confusion matrix's
    assert counted
    by = {name: part.set_index("record").drop(columns=["classifier", "drop_above"]) for name, part in
          keep_all.groupby("classifier")}
    assert by["unverified"][counted].to_numpy().sum() > 0                     # the invented beats are there to drop
    pd.testing.assert_frame_equal(by["verifier"], by["unverified"])
    # guarded by the fold's classifier too: the same verifier (seeded), so it keeps a superset of the beats
    kept = {}
    for guard in (False, True):
        table = cross_validate(records, folds, "verifier", seed=0, fold_finders=[find, find],
                               learned={**settings, "verifier_keep": ["V"], "verifier_keep_classified": guard})
        rows = table[table["classifier"] == "verifier"].set_index("record")
        cells = [c for c in rows.columns if c.startswith("extra_") or
                 (len(c) == 3 and c[1] == "_" and c[0] in CLASSES and c[2] in CLASSES)]   # every detection kept
        kept[guard] = rows[cells].sum(axis=1)
    assert (kept[True] >= kept[False]).all()     # (that it keeps more where it should: tests/test_verifier.py)
    # trained on noisy copies too, and scored on a noisy copy of each test record
    noisy = cross_validate(records, folds, "verifier", seed=0,
                           learned={**settings, "epochs": 2, "noise_snr": [12], "test_snr": [6]},
                           fold_finders=[find, find])
    assert set(noisy["classifier"]) == {"verifier", "unverified", "verifier@6dB", "unverified@6dB"}
    assert (noisy["trained_not_beats"] > verifier["trained_not_beats"].to_numpy()[0]).all()   # twice the records


def test_a_second_opinion_keeps_sure_beats_and_those_another_detector_confirms():
    """``confirmed``: a beat at or above ``sure_above`` stays; one below it stays only where the other
    detector has a beat within 150 ms (inclusive), on either side."""
    from tsad.detection.second_opinion import confirmed

    fs = 100.0                                       # 150 ms = 15 samples
    samples = np.array([100, 200, 300, 400, 500])
    scores = np.array([0.9, 0.3, 0.3, 0.3, 0.5])
    other = np.array([215, 384, 900])                # 200: 15 after (in); 400: 16 before (out)
    assert confirmed(samples, scores, other, fs, sure_above=0.5).tolist() == [True, True, False, False, True]
    assert confirmed(samples, scores, [], fs, sure_above=0.5).tolist() == [True, False, False, False, True]
    assert confirmed(samples, scores, other, fs, sure_above=0.0).all()
    with pytest.raises(ValueError, match="5 beats but 4 scores"):
        confirmed(samples, scores[:4], other, fs, sure_above=0.5)


def test_a_second_opinion_is_asked_only_where_it_confirms_the_sure_beats_around():
    """With ``trust_window_s``: an uncertain beat goes only where the other detector confirmed at least
    90% of the sure beats within the window (and there are at least 3); where it missed them (noise),
    or where there are too few sure beats, its silence does not count."""
    from tsad.detection.second_opinion import confirmed

    fs = 100.0
    samples = np.arange(100, 6100, 100)                # 60 beats, 1 s apart
    scores = np.full(60, 0.9)
    scores[[10, 45]] = 0.3                             # two uncertain beats, neither confirmed
    other = np.setdiff1d(samples, samples[[10, 45]])
    other = np.setdiff1d(other, samples[40:51:2])      # around beat 45 it misses 6 of 11 beats
    everywhere = confirmed(samples, scores, other, fs, sure_above=0.5)
    assert np.flatnonzero(~everywhere).tolist() == [10, 45]
    trusted = confirmed(samples, scores, other, fs, sure_above=0.5, trust_window_s=5)
    assert np.flatnonzero(~trusted).tolist() == [10]   # beat 45: 4 of its 10 sure neighbours confirmed
    sparse = confirmed(samples, scores, other, fs, sure_above=0.5, trust_window_s=1.5)   # 2 sure neighbours
    assert sparse.all()
    assert confirmed(samples, scores, [], fs, sure_above=0.5, trust_window_s=5).all()   # it found nothing


def test_local_snr_reads_the_noise_between_the_qrs_complexes():
    """``local_snr_db``: sharp beats with noise 4 times stronger in the second half read 12 dB (20
    log10 4) less clean there; a beat with no sure beat around reads -inf; the order of the beats
    does not change the answer."""
    from tsad.detection.second_opinion import local_snr_db

    fs, rng = 128.0, np.random.default_rng(0)
    beats = np.arange(64, 128 * 120, 100)              # 0.78 s apart for 2 minutes
    lead = np.zeros(128 * 120)
    lead[beats] = 1.0                                  # a QRS of one sample: its difference is +1, -1
    noise = rng.standard_normal(len(lead)) * 0.01
    noise[len(lead) // 2:] *= 4
    snr = local_snr_db(lead + noise, beats, np.ones(len(beats), bool), fs)
    first = beats < len(lead) // 2 - 128 * 6           # windows wholly inside one half
    second = beats > len(lead) // 2 + 128 * 6
    assert np.median(snr[first]) - np.median(snr[second]) == pytest.approx(12.0, abs=1.0)
    assert np.median(snr[first]) > 30                  # 0.5 / (2 * 0.01^2): about 34 dB
    sure = np.ones(len(beats), bool)
    sure[:20] = False                                  # no sure beat within 5 s of the first beat
    assert local_snr_db(lead, beats, sure, fs)[0] == -np.inf
    shuffled = rng.permutation(len(beats))
    assert np.allclose(local_snr_db(lead + noise, beats[shuffled], np.ones(len(beats), bool), fs), snr[shuffled])
    with pytest.raises(ValueError, match="beats but 3 sure"):
        local_snr_db(lead, beats, np.ones(3, bool), fs)


def test_a_second_opinion_is_not_asked_where_a_beat_is_not_askable():
    """``askable``: an uncertain beat that may not be asked about stays, confirmed or not."""
    from tsad.detection.second_opinion import confirmed

    samples, scores = np.array([100, 200, 300]), np.array([0.3, 0.3, 0.9])
    assert confirmed(samples, scores, [], 100.0, 0.5).tolist() == [False, False, True]
    assert confirmed(samples, scores, [], 100.0, 0.5, askable=[True, False, True]).tolist() == [False, True, True]
    with pytest.raises(ValueError, match="3 beats but 2 askable"):
        confirmed(samples, scores, [], 100.0, 0.5, askable=[True, False])


def test_the_verifier_is_scored_again_after_a_second_opinion(demo):
    """With a second detector and ``sure_above``, every verifier row comes again with the beats below
    it that the second detector does not confirm dropped first, clean and on noisy copies: a stand-in
    detector's false beats (score 0.3, mid-interval) go where the second (the reference beats) does
    not confirm them, and its beats (0.9) stay."""
    from tsad.experiments.beat_classes import RecordBeats, labelled_detections

    def find(record: RecordBeats) -> np.ndarray:
        middles = (record.samples[:-1:3] + record.samples[1::3][:len(record.samples[:-1:3])]) // 2
        return np.unique(np.concatenate([record.samples, middles]))

    def scored(record: RecordBeats):
        found = find(record)
        return found, np.where(np.isin(found, record.samples), 0.9, 0.3)

    records = [read_beats(demo / f"demo0{k}", "demo", keep_signal=True) for k in range(4)]
    truth = {r.name: r.samples for r in records}
    for r in records:
        r.detected = labelled_detections(r, *scored(r))
    folds = [["demo00", "demo01"], ["demo02", "demo03"]]
    settings = {"epochs": 2, "batch_size": 64, "test_snr": (12,), "second_opinion": "truth", "sure_above": (0.5, 0.2)}
    table = cross_validate(records, folds, "verifier", seed=0, learned=settings, fold_finders=[find, find],
                           scored_finders=[scored, scored], second=lambda signal, name: truth[name.split("@")[0]])
    assert {"unverified+truth0.5", "verifier+truth0.2@12dB", "unverified@12dB"} <= set(table["classifier"])
    extra = table.filter(like="extra_").sum(axis=1).groupby(table["classifier"]).sum()
    missed = table.filter(regex="_missed$").sum(axis=1).groupby(table["classifier"]).sum()
    for suffix in ("", "@12dB"):
        assert extra[f"unverified{suffix}"] > 20 and extra[f"unverified+truth0.2{suffix}"] == extra[f"unverified{suffix}"]
        assert extra[f"unverified+truth0.5{suffix}"] == 0 and missed[f"unverified+truth0.5{suffix}"] == 0
    # asked only where the signal reads cleaner than no signal can, or never of a class the verifier keeps
    # (here every class): nothing is dropped, the rows are those without a second opinion
    for gate in ({"ask_above_db": 1e9}, {"spare_kept": True, "verifier_keep": ("N", "S", "V", "F", "Q")}):
        gated = cross_validate(records, folds, "verifier", seed=0, learned={**settings, **gate},
                               fold_finders=[find, find], scored_finders=[scored, scored],
                               second=lambda signal, name: truth[name.split("@")[0]])
        extra = gated.filter(like="extra_").sum(axis=1).groupby(gated["classifier"]).sum()
        assert extra["unverified+truth0.5"] == extra["unverified"] > 20
    with pytest.raises(ValueError, match="needs the detector's scores"):
        for r in records:
            r.detected = labelled_detections(r, find(r))
        cross_validate(records, folds, "verifier", seed=0, learned=settings, fold_finders=[find, find],
                       scored_finders=[scored, scored], second=lambda signal, name: truth[name.split("@")[0]])


def test_paired_detection_difference_counts_missed_and_extra_beats(beats):
    table = cross_validate(beats, [["demo00", "demo01"], ["demo02", "demo03"]], "lda", seed=0)
    other = table.copy()
    other["extra_N"] += 10                                   # ten invented beats a record
    other["N_N"], other["N_missed"] = other["N_N"] - 5, other["N_missed"] + 5     # five N beats lost
    diff = paired_detection_difference(table, other, n_boot=200).set_index("figure")
    n_beats = sum(len(r.samples) for r in beats)
    assert diff.loc["gross PPV", "reference"] == 1.0 and diff.loc["gross Se", "reference"] == 1.0
    assert diff.loc["gross PPV", "other"] == pytest.approx((n_beats - 20) / (n_beats - 20 + 40))
    assert diff.loc["gross Se_N", "difference"] < 0 and diff.loc["gross Se_V", "difference"] == 0
    with pytest.raises(ScoringError, match="same records"):
        paired_detection_difference(table, other.iloc[:2])


# ---- the beat-sequence classifier (tsad.models.beat_sequence) -----------------------------------------

def _flag_sequences(n_records: int, beats: int, rng: np.random.Generator) -> list:
    """Records whose beats are alike but for one rhythm feature, set in 30% of the beats at random; a
    beat is S when the beat *before* it was set: what no classifier of one beat can know."""
    from tsad.data.beat_context import RHYTHM_CONTEXTS

    out = []
    for _ in range(n_records):
        waves = np.broadcast_to(np.sin(np.linspace(0, 6, WAVE_SAMPLES, dtype=np.float32)),
                                (beats, 2 * WAVE_CONTEXTS["recent"], WAVE_SAMPLES)).copy()
        rhythm = np.ones((beats, RHYTHM_CONTEXTS["recent"]), np.float32)
        flag = rng.random(beats) < 0.3
        rhythm[:, 0] = np.where(flag, 2.0, 1.0)
        targets = np.zeros(beats, np.int64)
        targets[1:] = np.where(flag[:-1], CLASSES.index("S"), CLASSES.index("N"))
        out.append((waves, rhythm, targets))
    return out


def test_the_sequence_classifier_reads_the_beats_before_and_streams():
    import torch

    from tsad.models.beat_sequence import BeatSequenceClassifier, sequence_probs

    torch.manual_seed(0)
    model = BeatSequenceClassifier().eval()
    (waves, rhythm, _), = _flag_sequences(1, 60, np.random.default_rng(0))
    waves = waves + np.random.default_rng(1).normal(0, 0.1, waves.shape).astype(np.float32)
    whole, state = sequence_probs(model, waves, rhythm)
    assert whole.shape == (60, len(CLASSES)) and np.allclose(whole.sum(1), 1, atol=1e-5)
    # chunks of 7 beats, and two calls with the state carried: the probabilities of one pass
    assert np.allclose(sequence_probs(model, waves, rhythm, chunk=7)[0], whole, atol=1e-6)
    first, carried = sequence_probs(model, waves[:25], rhythm[:25])
    second, last = sequence_probs(model, waves[25:], rhythm[25:], state=carried)
    assert np.allclose(np.concatenate([first, second]), whole, atol=1e-6) and torch.allclose(last, state, atol=1e-6)
    # beat 30 changed: nothing before it moves, the beats after it do (the past is read)
    moved = rhythm.copy()
    moved[30, 0] = 5.0
    other, _ = sequence_probs(model, waves, moved)
    assert np.array_equal(other[:30], whole[:30]) and np.abs(other[31:] - whole[31:]).max() > 1e-4


def test_the_sequence_classifier_learns_what_the_beat_before_says():
    from tsad.models.beat_sequence import sequence_probs
    from tsad.training.beat_classifier import train_sequence_classifier

    rng = np.random.default_rng(0)
    train, test = _flag_sequences(30, 300, rng), _flag_sequences(2, 300, rng)
    model, losses = train_sequence_classifier(train, epochs=8, batch_size=16, stretch=16, warm_up=2, seed=0,
                                              lead_dropout=0.0)
    assert losses[-1] < 0.2 * losses[0]
    for waves, rhythm, targets in test:
        assert (sequence_probs(model, waves, rhythm)[0].argmax(1)[1:] == targets[1:]).mean() > 0.95
    # a classifier of one beat at a time, on the same beats, cannot
    waves, rhythm, targets = (np.concatenate(parts) for parts in zip(*train))
    alone, _ = train_classifier(waves, rhythm, targets, epochs=3, batch_size=256, seed=0, lead_dropout=0.0)
    waves, rhythm, targets = test[0]
    assert (class_probs(alone, waves, rhythm).argmax(1) == targets).mean() < 0.85
    with pytest.raises(ValueError, match="warm-up"):
        train_sequence_classifier(train, stretch=8, warm_up=8)


def test_the_sequence_classifier_is_cross_validated_and_saved(beats, tmp_path):
    from tsad.models.beat_sequence import (
        BeatSequenceClassifier,
        load_sequence_classifier,
        save_sequence_classifier,
        sequence_probs,
    )

    table = cross_validate(beats, [["demo00", "demo01"], ["demo02", "demo03"]], "sequence", seed=0,
                           learned={"epochs": 6})
    assert sorted(table["record"]) == ["demo00", "demo01", "demo02", "demo03"]
    assert set(table["classifier"]) == {"sequence"}
    assert (table[[c for c in table if c.endswith("_missed")]].to_numpy() == 0).all()
    assert table["VEB_TP"].sum() / (table["VEB_TP"] + table["VEB_FN"]).sum() > 0.8
    model = BeatSequenceClassifier()
    save_sequence_classifier(tmp_path / "seq.pth", model, trained_on="nothing")
    back = load_sequence_classifier(tmp_path / "seq.pth")
    r = beats[0]
    assert np.allclose(sequence_probs(back, r.waves, r.rhythm)[0], sequence_probs(model.eval(), r.waves, r.rhythm)[0])
    save_classifier(tmp_path / "one.pth", BeatClassifier())
    with pytest.raises(ValueError, match="beat_sequence"):
        load_sequence_classifier(tmp_path / "one.pth")
