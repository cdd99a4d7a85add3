"""The teacher's view of the record around a beat (tsad.data.record_context): its rhythm features by
hand, that it reads the beats after a beat (the causal inputs do not), a teacher trained on it and
distilled from in the class study, and that detection refuses a classifier that reads it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, run_script

from tsad.data.beat_context import FS, RHYTHM_FEATURES, WAVE_GROUPS, beat_context
from tsad.data.demo_db import DemoConfig, write_demo_database
from tsad.data.record_context import (
    LONG_BEATS,
    RECORD_FEATURES,
    RECORD_NAMES,
    TEACHER_VIEW,
    record_context,
    record_rhythm,
    record_waves,
)
from tsad.models.beat_classifier import BeatClassifier, ClassifierConfig, check_streamable

COLUMN = {name: k for k, name in enumerate(RECORD_NAMES)}


def test_record_rhythm_by_hand():
    samples = np.arange(40) * 128                       # 1 s apart ...
    samples[20] -= 64                                    # ... but beat 20 comes 0.5 s early, then 1.5 s
    f = record_rhythm(samples)
    assert f.shape == (40, RECORD_FEATURES) and f.dtype == np.float32
    assert f[20, COLUMN["rr_local centred"]] == pytest.approx(1.0)          # the median ignores the ectopic
    assert f[20, COLUMN["prev/local c"]] == pytest.approx(0.5)
    assert f[19, COLUMN["next/local c"]] == pytest.approx(0.5)
    assert f[19, COLUMN["next2/local c"]] == pytest.approx(1.5)
    assert f[0, COLUMN["prev/local c"]] == pytest.approx(1.0)               # the first beat: its next RR
    assert record_rhythm(samples[:1]).shape == (1, RECORD_FEATURES)


def test_a_run_is_early_against_the_long_rhythm_where_the_recent_one_has_followed_it():
    """After 40 beats of a tachycardia the causal usual RR is the run's; the record's long RR, centred
    on minutes of sinus rhythm before and after, is still the sinus one."""
    rr = np.concatenate([np.full(200, 1.0), np.full(60, 0.5), np.full(200, 1.0)])
    samples = np.round(np.cumsum(rr) * FS).astype(np.int64)
    inside = 200 + 50                                    # a beat late in the run
    teacher = record_rhythm(samples)
    assert teacher[inside, COLUMN["prev/long c"]] == pytest.approx(0.5, abs=0.01)
    signal = np.zeros((samples[-1] + 200, 2), np.float32)
    _, causal, _ = beat_context(signal, samples)
    assert causal[inside, 3] == pytest.approx(1.0, abs=0.01)           # previous / usual: not early any more


def test_the_record_view_reads_the_beats_after_a_beat_and_the_causal_inputs_do_not():
    rng = np.random.default_rng(0)
    samples = np.cumsum(rng.integers(100, 140, 2 * LONG_BEATS)).astype(np.int64)
    changed = samples.copy()
    changed[LONG_BEATS + 20:] += 30                      # a later stretch moves
    k = LONG_BEATS                                      # a beat before it (and not its next beat)
    assert not np.allclose(record_rhythm(samples)[k], record_rhythm(changed)[k])
    signal = rng.normal(0, 0.05, (int(changed[-1]) + 200, 2)).astype(np.float32)
    a = beat_context(signal, samples)[1][k]
    b = beat_context(signal, changed)[1][k]
    assert np.allclose(a, b)


def test_the_centred_template_is_the_usual_beat():
    samples = np.arange(1, 60) * 128
    signal = np.zeros((60 * 128 + 200, 2), np.float32)
    for s in samples:
        signal[s - 3:s + 4, 0] += np.hanning(7)              # narrow beats ...
    wide = samples[30]
    signal[wide - 12:wide + 13, 0] += np.hanning(25)         # ... and one wide one
    waves = record_waves(signal, samples)
    assert waves.shape == (len(samples), 2, waves.shape[2]) and waves.dtype == np.float32
    assert np.abs(waves[10]).max() < 1e-6                    # a usual beat minus the usual beat
    assert np.abs(waves[30, 0]).max() > 0.5
    waves2, rhythm2 = record_context(signal, samples)
    assert np.array_equal(waves2, waves) and np.array_equal(rhythm2, record_rhythm(samples))


def test_a_classifier_that_reads_the_record_is_a_teacher_only():
    check_streamable(ClassifierConfig(), "plain.pth")
    teacher = ClassifierConfig(**TEACHER_VIEW)
    with pytest.raises(ValueError, match=r"teacher\.pth: a classifier that reads the whole record"):
        check_streamable(teacher, "teacher.pth")
    model = BeatClassifier(teacher)          # it reads the stream's inputs with the record's after them
    import torch

    out = model(torch.zeros(3, (len(WAVE_GROUPS) + 1) * 2, 96), torch.ones(3, RHYTHM_FEATURES + RECORD_FEATURES))
    assert out.shape == (3, 5)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("record_view")
    write_demo_database(root / "raw", DemoConfig(n_records=4, minutes=2))
    return root / "raw"


def test_a_student_is_distilled_from_a_teacher_that_reads_the_record(demo, tmp_path):
    from tsad.experiments.beat_classes import fit_learned, mean_probs, read_beats

    records = [read_beats(demo / f"demo0{k}", "demo", record_view=True) for k in range(4)]
    assert records[0].record_waves.shape[1] == 2 and records[0].record_rhythm.shape[1] == RECORD_FEATURES
    student, teachers = fit_learned(records[:3], seed=0, members=1, teacher_view="record", epochs=2)
    assert teachers[0].config.wave_groups == TEACHER_VIEW["wave_groups"]
    assert teachers[0].config.rhythm_features == TEACHER_VIEW["rhythm_features"]
    assert student.config.wave_groups == 2 and student.config.rhythm_features == 9
    for model in (student, teachers):
        probs = mean_probs(model, records[3])
        assert probs.shape == (len(records[3].samples), 5) and np.allclose(probs.sum(axis=1), 1, atol=1e-4)
    plain = read_beats(demo / "demo03", "demo")
    with pytest.raises(ValueError, match="demo03: read without the record's view"):
        mean_probs(teachers, plain)
    with pytest.raises(ValueError, match="unknown teacher view"):
        fit_learned(records[:3], seed=0, members=1, teacher_view="future")


def test_the_study_scores_the_record_teacher_beside_its_student(demo, tmp_path):
    common = ["--workspace", str(tmp_path / "ws"), "--input-dir", str(demo), "--folds", "2", "--classifiers",
              "learned", "--bootstrap", "50", "--epochs", "2"]
    run_script(REPO / "Codes/Models/beat_classes_cv.py", [*common, "--name", "rec", "--distil-members", "1",
                                                          "--teacher-view", "record"])
    out = tmp_path / "ws" / "beat_classes" / "rec"
    assert set(pd.read_csv(out / "summary.csv")["classifier"]) == {"learned", "learned_ensemble"}
    with pytest.raises((SystemExit, ValueError), match="needs --distil-members"):
        run_script(REPO / "Codes/Models/beat_classes_cv.py", [*common, "--name", "bad", "--teacher-view", "record"])
