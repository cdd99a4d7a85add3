"""Hard-negative mining (``tsad.training.hard_negatives``, ``--hard-negatives``/``--mine-from``): the
beats a detector invents on its training records are found on the records joined again, cut into
windows around them, and mixed into a new model's training windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import REPO, make_demo_record_workspace, run_script

from tsad.data.demo_db import DemoConfig, synth_record
from tsad.data.splits import SplitData
from tsad.models import loader
from tsad.training.hard_negatives import mine_false_beats, mix_in, record_stretches

FS = 128
L = 256


def _windows(records: dict[str, tuple[np.ndarray, np.ndarray]]):
    """The data stage's layout of whole records: non-overlapping windows, their table, beat labels."""
    series, labels, rows = [], [], []
    for name, (signal, beats) in records.items():
        n = len(signal) // L
        truth = np.zeros(n * L, np.float32)
        beats = np.asarray(beats, np.int64)
        truth[beats[beats < n * L]] = 1
        series.append(signal[:n * L].reshape(n, L, -1))
        labels.append(truth.reshape(n, L))
        rows += [(name, k * L) for k in range(n)]
    table = pd.DataFrame(rows, columns=["record", "start"]).rename_axis("id").reset_index()
    split = SplitData("train", table["id"].to_numpy(), np.concatenate(series).astype(np.float32),
                      np.concatenate(labels), Path("."))
    return split, table


def test_windows_are_joined_per_record_in_order_and_split_at_gaps():
    split, table = _windows({"a": (np.zeros((4 * L, 2)), np.array([])), "b": (np.zeros((3 * L, 2)), np.array([]))})
    order = np.array([5, 0, 3, 6, 1, 4])                 # drawn out of order, window 2 of "a" missing
    drawn = SplitData("train", split.ids[order], split.series[order], split.labels[order], Path("."))
    stretches = [(record, drawn.ids[rows].tolist()) for record, rows in record_stretches(drawn, table)]
    assert stretches == [("a", [0, 1]), ("a", [3]), ("b", [4, 5, 6])]


def test_windows_of_a_faster_record_are_contiguous_at_the_windows_rate():
    """windows.csv gives starts in the record's own samples: 2-s windows of a 360 Hz record start 720
    apart. Joined at the windows' rate they are contiguous (the bug this guards against: every
    window of a 360 Hz record taken alone)."""
    from tsad.data.splits import starts_at_rate, with_preceding

    split, table = _windows({"m": (np.zeros((3 * L, 2)), np.array([])), "s": (np.zeros((2 * L, 2)), np.array([]))})
    written = table.assign(start=[0, 720, 1440, 0, 256], fs=[360.0, 360.0, 360.0, 128.0, 128.0])
    at_rate = starts_at_rate(written, FS)
    assert at_rate["start"].tolist() == [0, 256, 512, 0, 256]
    assert [ids.tolist() for _, ids in record_stretches(split, at_rate)] == [[0, 1, 2], [3, 4]]
    assert len(record_stretches(split, written)) == 4           # read as written: 360 Hz windows fall apart
    split.series[:] = split.ids[:, None, None]
    joined = with_preceding(split, split, 2, at_rate)
    assert joined.series[:, ::L, 0].tolist() == [[0, 0], [0, 1], [1, 2], [3, 3], [3, 4]]


def test_the_beats_a_detector_finds_that_the_labels_lack_are_mined_around_them():
    rng = np.random.default_rng(3)
    records = {name: synth_record(60, rng, DemoConfig(), fs=FS)[:2] for name in ("r0", "r1")}
    hidden = {name: beats[[10, 40]] for name, (_, beats) in records.items()}     # beats the labels will lack
    labelled = {name: (signal, np.setdiff1d(beats, hidden[name])) for name, (signal, beats) in records.items()}
    split, table = _windows(labelled)
    mined = mine_false_beats(loader.load("xqrs"), split, table, FS, seed=0)
    assert mined.false_beats >= 4 and len(mined.windows) == mined.false_beats
    assert mined.reference_beats == sum(len(b) for _, b in labelled.values())
    # every hidden beat lies in the middle half of a mined window cut from its record, labels and all
    assert ((mined.offsets >= L // 4) & (mined.offsets <= 3 * L // 4)).all()
    for name, beats in hidden.items():
        signal, truth = records[name][0], labelled[name][1]
        for beat in beats:
            cut = [k for k in range(len(mined.windows)) if mined.records[k] == name
                   and np.allclose(mined.windows.series[k], signal[beat - mined.offsets[k]:][:L], atol=1e-6)]
            assert cut, f"hidden beat {beat} of {name} not mined"
            at = mined.positions[[r == name for r in mined.records]]
            assert np.abs(at - beat).min() <= 19                    # where in the record, within 150 ms
            start = beat - mined.offsets[cut[0]]
            assert np.array_equal(np.flatnonzero(mined.windows.labels[cut[0]]), truth[(truth >= start)
                                                                                      & (truth < start + L)] - start)
    assert (mined.windows.ids < 0).all()


def test_mixing_replaces_a_share_and_keeps_the_count():
    split, _ = _windows({"a": (np.random.default_rng(0).normal(size=(20 * L, 2)), np.array([5, 300]))})
    mined = SplitData("hard_negatives", -1 - np.arange(3), np.full((3, L, 2), 7.0, np.float32),
                      np.zeros((3, L), np.float32), Path("."))
    mixed = mix_in(split, mined, 0.25, seed=0)
    assert len(mixed) == len(split) and (mixed.ids < 0).sum() == 5
    assert np.all(mixed.series[mixed.ids < 0] == 7.0)
    assert mix_in(split, mined, 0.0, seed=0) is split
    with pytest.raises(ValueError, match="--hard-negatives"):
        mix_in(split, mined, 1.0, seed=0)


def test_a_student_trains_on_the_false_beats_of_an_earlier_one(tmp_path):
    ws = make_demo_record_workspace(tmp_path)
    common = ["--workspace", str(ws.root), "--arch", "fcn_1k", "--epochs", "3", "--lr", "3e-3", "--batch-size", "16",
              "--warmup-steps", "2"]
    run_script(REPO / "Codes/Models/student_train.py", [*common, "--epochs", "1", "--run-name", "first"])
    run_script(REPO / "Codes/Models/student_train.py", [*common, "--run-name", "second", "--hard-negatives", "0.3",
                                                        "--mine-from", "first"])
    state = torch.load(ws.run_dir("second") / "best.pth", weights_only=True)
    assert state["hard_negatives"] == 0.3 and state["mine_from"] == "first"
    assert isinstance(state["mined_false_beats"], int) and state["mined_false_beats"] >= 0
    losses = list(np.load(ws.run_dir("second") / "train_losses.npy"))
    assert losses[-1] < losses[0]
    with pytest.raises(ValueError, match="needs both"):
        run_script(REPO / "Codes/Models/student_train.py", [*common, "--run-name", "third", "--hard-negatives", "0.3"])
