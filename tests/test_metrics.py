"""Every metric rule on hand-computed windows, plus property tests."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsad.scoring.beats import Positions, figures, pick_peaks, predict_positions
from tsad.scoring.metrics import (
    AAMI_TOLERANCE,
    auc_pr,
    match_positions,
    msp_msr,
    score_model,
    score_window,
    squeeze_counts,
    true_positions,
    window_precision_recall,
)


def match_counts(true, pred, tolerance=AAMI_TOLERANCE):
    m = match_positions(true, pred, tolerance)
    return m.tp, m.fn, m.fp

L = 256


def curve(*runs, length=L, level=0.9):
    """Probabilities of 0 with ``level`` on the given inclusive (start, end) runs."""
    p = np.zeros(length)
    for start, end in runs:
        p[start:end + 1] = level
    return p


def labels_at(*beats, length=L):
    y = np.zeros(length)
    y[list(beats)] = 1
    return y


# ---------------------------------------------------------------- peak picking

def test_threshold_is_strict_and_defaults_to_the_window_mean():
    p = np.full(20, 0.5)
    p[5:8] = [0.6, 0.8, 0.6]
    assert predict_positions(p, threshold=0.5).tolist() == [6]
    assert predict_positions(p, threshold=0.6).size == 0          # 0.8 alone: a single-sample run
    assert predict_positions(np.full(20, 0.5)).size == 0           # nothing strictly above the mean
    p = np.zeros(20)
    p[3:6] = 0.3                                                    # mean 0.045: the run is above it
    assert predict_positions(p).tolist() == [3]


def test_runs_merge_when_next_start_minus_previous_end_is_at_most_10():
    p = curve((10, 12), (22, 24))                                   # 22 - 12 = 10: merged
    p[23] = 1.0
    assert predict_positions(p, 0.5).tolist() == [23]
    p = curve((10, 12), (23, 25))                                   # 23 - 12 = 11: two beats
    assert predict_positions(p, 0.5).tolist() == [10, 23]


def test_merging_chains_through_several_runs():
    p = curve((10, 12), (20, 22), (30, 32), (40, 42))              # each gap 8: one group 10..42
    p[41] = 1.0
    assert predict_positions(p, 0.5).tolist() == [41]


def test_single_sample_runs_are_dropped_after_merging():
    assert predict_positions(curve((50, 50)), 0.5).size == 0       # alone: dropped
    p = curve((50, 50), (55, 57))                                   # joins a neighbour: kept
    p[50] = 1.0
    assert predict_positions(p, 0.5).tolist() == [50]
    p = curve((50, 50), (58, 58))                                   # two singles merge: 50..58
    assert predict_positions(p, 0.5).tolist() == [50]
    assert predict_positions(curve((50, 50), (70, 70)), 0.5).size == 0


def test_argmax_takes_the_first_maximum_and_runs_at_the_edges_count():
    p = curve((0, 3), (250, 255))
    p[[1, 2]] = 1.0
    p[255] = 0.95
    assert predict_positions(p, 0.5).tolist() == [1, 255]


def test_pick_peaks_keeps_windows_apart():
    probs = np.stack([curve((250, 255)), curve((0, 3)), np.zeros(L)])
    peaks = pick_peaks(probs, 0.5)                                  # 0 - 255 would be a gap of <= 10
    assert peaks.rows.tolist() == [0, 1] and peaks.pos.tolist() == [250, 0]
    assert [x.tolist() for x in peaks.split()] == [[250], [0], []]


def test_per_window_thresholds_differ():
    probs = np.stack([curve((10, 12), level=0.2), curve((10, 12), level=0.9) + 0.3])
    assert pick_peaks(probs).counts().tolist() == [1, 1]
    assert pick_peaks(probs, threshold=0.5).counts().tolist() == [0, 1]


# ---------------------------------------------------------------- squeezing

def counts(labels, preds, w=2):
    c = squeeze_counts(np.atleast_2d(labels), Positions.from_lists([preds]), w)
    return int(c.tp[0]), int(c.fn[0]), int(c.fp[0])


def test_squeezing_hand_computed():
    y = labels_at(50, 100, 200)
    assert counts(y, [52, 98, 150]) == (2, 1, 1)                   # 52 and 98 inside, 150 outside
    assert counts(y, [53]) == (0, 3, 1)                             # 53 - 50 = 3 > w
    assert score_window(y, [52, 98, 150]) == pytest.approx((2 / 3, 2 / 3))


def test_several_predictions_in_one_interval_count_once():
    assert counts(labels_at(50), [48, 50, 52]) == (1, 0, 0)
    assert score_window(labels_at(50), [48, 50, 52]) == (1.0, 1.0)


def test_overlapping_intervals_merge_touching_ones_do_not():
    assert counts(labels_at(50, 53), [50]) == (1, 0, 0)             # [48,52] and [51,55]: one interval
    assert counts(labels_at(50, 54), [50]) == (1, 0, 0)             # share sample 52
    assert counts(labels_at(50, 55), [50]) == (1, 1, 0)             # [48,52], [53,57]: two
    assert counts(labels_at(10, 13, 16), [16]) == (1, 0, 0)         # chain of overlaps: one


def test_beats_at_the_edges_clip_their_interval():
    assert counts(labels_at(0, 255), [2, 253]) == (2, 0, 0)
    assert counts(labels_at(0), [3]) == (0, 1, 1)


def test_window_without_beats_and_window_without_predictions():
    labels = np.stack([np.zeros(L), np.zeros(L), labels_at(100), labels_at(100)])
    preds = Positions.from_lists([[], [30], [], [100]])
    precision, recall = window_precision_recall(labels, preds)
    assert precision.tolist() == [1.0, 0.0, 0.0, 1.0]
    assert np.isnan(recall[:2]).all() and recall[2:].tolist() == [0.0, 1.0]
    assert msp_msr(precision, recall) == pytest.approx((0.5, 0.5))   # recall: beat windows only


def test_score_model_counts_windows_without_beats():
    labels = np.stack([np.zeros(L), labels_at(40, 140)])
    probs = np.stack([np.zeros(L), curve((39, 41), (139, 141))])
    s = score_model(labels, probs)
    assert (s.n_windows, s.n_windows_without_beats) == (2, 1)
    assert (s.MSP, s.MSR, s.Se, s.PPV, s.F1) == (1.0, 1.0, 1.0, 1.0, 1.0)


# ---------------------------------------------------------------- beat matching, AUC-PR

def test_beat_matching_is_one_to_one_within_150_ms():
    assert AAMI_TOLERANCE == 19
    true = Positions.from_lists([[50, 100], [10]])
    pred = Positions.from_lists([[60, 65, 119, 200], [30]])         # 60->50, 119->100; 30 - 10 = 20
    assert match_counts(true, pred) == (2, 1, 3)
    assert figures(TP=2, FP=3, FN=1) == pytest.approx({"Se": 2 / 3, "PPV": 2 / 5, "F1": 4 / 8})
    # one prediction between two beats serves only one of them
    assert match_counts(Positions.from_lists([[50, 80]]), Positions.from_lists([[65]])) == (1, 1, 0)
    # windows are scored apart: a prediction never reaches a beat of the next window
    assert match_counts(Positions.from_lists([[255], []]), Positions.from_lists([[], [0]])) == (0, 1, 1)


def test_beat_scores_edge_cases():
    # a denominator of 0 gives NaN (bxb's "-"), never 0: no prediction at all leaves PPV undefined
    assert np.isnan(figures(TP=0, FP=3, FN=0)["Se"]) and np.isnan(figures(TP=0, FP=0, FN=2)["PPV"])
    assert figures(TP=0, FP=0, FN=2)["F1"] == 0.0
    assert np.isnan(figures(0, 0, 0)["F1"])
    labels = np.stack([labels_at(40, 140)])
    s = score_model(labels, predicted=Positions.from_lists([[]]))
    assert s.Se == 0.0 and np.isnan(s.PPV) and s.F1 == 0.0


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 120), max_size=8), st.lists(st.integers(0, 120), max_size=8),
       st.integers(1, 25))
def test_matching_is_one_to_one_and_maximum_when_beats_are_apart(true_list, pred_list, tol):
    """Valid pairs, never more than a maximum matching, and a maximum matching when no detection can
    be contested (reference beats more than 2 tol apart, as real beats are at 150 ms)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    t, p = sorted(set(true_list)), sorted(set(pred_list))
    m = match_positions(Positions.from_lists([t]), Positions.from_lists([p]), tol)
    pairs_t, pairs_p = np.array(t)[m.ref_index], np.array(p)[m.det_index]
    assert np.all(np.abs(pairs_t - pairs_p) <= tol)
    assert len(set(m.ref_index.tolist())) == m.tp and len(set(m.det_index.tolist())) == m.tp
    if t and p:
        graph = csr_matrix((np.abs(np.subtract.outer(t, p)) <= tol).astype(int))
        best = int((maximum_bipartite_matching(graph, perm_type="column") >= 0).sum())
    else:
        best = 0
    assert m.tp <= best
    if np.all(np.diff(t) > 2 * tol):
        assert (m.tp, m.fn, m.fp) == (best, len(t) - best, len(p) - best)


def test_auc_pr_equals_scikit_learn():
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(3)
    labels = rng.random((50, L)) < 0.02
    probs = np.round(rng.random((50, L)) * 0.6 + labels * 0.3, 2).astype(np.float32)   # with ties
    assert auc_pr(labels, probs) == pytest.approx(average_precision_score(labels.ravel(), probs.ravel()))
    assert auc_pr(labels, labels.astype(np.float32)) == pytest.approx(1.0)
    assert np.isnan(auc_pr(np.zeros((2, L)), probs[:2]))


# ---------------------------------------------------------------- properties

windows_of_beats = st.lists(st.lists(st.integers(0, L - 1), max_size=4, unique=True), min_size=1, max_size=12)


def _labels(beat_lists):
    y = np.zeros((len(beat_lists), L))
    for k, beats in enumerate(beat_lists):
        y[k, beats] = 1
    return y


@settings(max_examples=60, deadline=None)
@given(windows_of_beats)
def test_perfect_predictions_score_one(beat_lists):
    labels = _labels(beat_lists)
    s = score_model(labels, predicted=true_positions(labels))
    assert s.MSP == 1.0
    assert s.MSR == 1.0 or (np.isnan(s.MSR) and not labels.any())


@settings(max_examples=60, deadline=None)
@given(windows_of_beats, st.integers(3, 30), st.integers(0, 4))
def test_predictions_shifted_beyond_w_have_zero_recall(beat_lists, shift, w):
    beat_lists = [sorted(b) for b in beat_lists]
    labels = _labels(beat_lists)
    shift += w                                                      # always more than w
    # predictions sit exactly `shift` after a beat and further than w from every other beat
    moved = [[b + shift for b in beats if 0 <= b + shift < L
              and np.min(np.abs(np.array(beats) - (b + shift))) > w] for beats in beat_lists]
    _, recall = window_precision_recall(labels, Positions.from_lists(moved), w)
    assert np.all((recall == 0) | np.isnan(recall))


@settings(max_examples=40, deadline=None)
@given(windows_of_beats, st.randoms(use_true_random=False))
def test_permuting_windows_leaves_msp_msr_unchanged(beat_lists, rnd):
    labels = _labels(beat_lists)
    rng = np.random.default_rng(rnd.randint(0, 2**32 - 1))
    probs = np.clip(labels + rng.random(labels.shape) * 0.8, 0, 1)
    order = rng.permutation(len(labels))
    a, b = score_model(labels, probs), score_model(labels[order], probs[order])
    assert a.MSP == pytest.approx(b.MSP) and (a.MSR == pytest.approx(b.MSR) or np.isnan(a.MSR))
    assert (a.Se, a.PPV, a.AUC_PR) == pytest.approx((b.Se, b.PPV, b.AUC_PR), nan_ok=True)


def test_positions_take_and_for_window():
    pos = Positions.from_lists([[5], [], [7, 9]])
    assert pos.for_window(2).tolist() == [7, 9] and pos.for_window(1).size == 0
    sub = pos.take([2, 0])
    assert sub.n_windows == 2 and [x.tolist() for x in sub.split()] == [[7, 9], [5]]
