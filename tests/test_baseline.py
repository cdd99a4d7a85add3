"""The wfdb XQRS baseline on synthetic ECG windows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tsad.experiments import baseline
from tsad.scoring.beats import Positions
from tsad.scoring.metrics import match_positions

FS = 128


def synthetic_ecg(beats, length=256, noise=0.01, seed=0):
    """A beat train at 128 Hz: narrow Gaussian R waves (about 25 ms wide) with a small S dip, a
    P wave 160 ms before and a T wave 300 ms after each R peak, plus a little noise."""
    t = np.arange(length, dtype=float)
    x = np.random.default_rng(seed).normal(0, noise, length)
    for r in beats:
        x += 1.2 * np.exp(-0.5 * ((t - r) / 1.5) ** 2)            # R
        x -= 0.2 * np.exp(-0.5 * ((t - r - 4) / 1.5) ** 2)        # S
        x += 0.12 * np.exp(-0.5 * ((t - r + 20) / 4) ** 2)       # P
        x += 0.25 * np.exp(-0.5 * ((t - r - 38) / 7) ** 2)       # T
    return x


def test_xqrs_finds_the_beats_of_a_clean_window():
    beats = [28, 130, 232]                                        # 75 bpm: 102 samples apart
    found = baseline.detect_window(synthetic_ecg(beats))
    assert len(found) == 3
    assert np.all(np.abs(found - beats) <= 2)


def test_flat_and_failing_windows_give_no_detection_and_keep_their_row(monkeypatch):
    series = np.stack([np.stack([synthetic_ecg([40, 142]), np.zeros(256)], axis=1),
                       np.zeros((256, 2))])
    positions, failures = baseline.detect_windows(series, progress=False)
    assert len(positions) == 2 and positions[1].size == 0 and failures == 0
    m = match_positions(Positions.from_lists([[40, 142]]), Positions.from_lists(positions[:1]), 3)
    assert (m.tp, m.fn, m.fp) == (2, 0, 0)

    def broken(signal_1d, fs=FS):
        raise ValueError("too short to filter")

    monkeypatch.setattr(baseline, "detect_window", broken)
    positions, failures = baseline.detect_windows(series, progress=False)
    assert failures == 2 and [p.size for p in positions] == [0, 0]


def test_detect_window_rejects_bad_input():
    with pytest.raises(ValueError, match="one lead"):
        baseline.detect_window(np.zeros((256, 2)))
    with pytest.raises(ValueError, match="NaN"):
        baseline.detect_window(np.full(256, np.nan))


def test_outputs_are_cached_and_refreshed_when_the_split_changes(split_workspace, monkeypatch):
    ws = split_workspace
    out = baseline.ensure_xqrs_outputs(ws, progress=False)
    meta = json.loads((ws.run_dir("xqrs") / "metadata.json").read_text())
    assert meta["scoring"] == "positions" and meta["windows"] == len(out.ids) == 8
    assert set(np.unique(out.probs)) <= {0.0, 1.0}
    calls = []
    monkeypatch.setattr(baseline, "detect_windows", lambda s, **k: calls.append(1) or ([[]] * len(s), 0))
    baseline.ensure_xqrs_outputs(ws, progress=False)
    assert calls == []                                            # cached
    series = np.load(ws.split_npy("test"))
    np.save(ws.split_npy("test"), series * 2)
    refreshed = baseline.ensure_xqrs_outputs(ws, progress=False)
    assert calls == [1] and refreshed.probs.sum() == 0


@pytest.mark.shared
def test_xqrs_on_real_svdb_windows(svdb_dir):
    from tsad.data.ecg import make_windows, read_record
    from tsad.scoring.metrics import score_model

    windows = make_windows(read_record(svdb_dir / "800"), labels="beats")
    series, labels = windows.series[:150], windows.labels[:150]
    positions, failures = baseline.detect_windows(series, progress=False)
    scores = score_model(labels, predicted=Positions.from_lists(positions))
    assert failures == 0 and scores.n_windows == 150
    assert scores.Se > 0.7 and scores.PPV > 0.6          # measured 0.84 / 0.71 on records 800-802
