"""Choosing a beat's class from the classifier's probabilities (tsad.models.decision): the plain most
likely class, log-odds offsets, EC57's ectopic F1 at the reference positions, and offsets chosen where
the plain decision loses ventricular beats to F."""

from __future__ import annotations

import numpy as np
import pytest

from tsad.models.decision import OFFSET_GRID, choose_offsets, decide, ectopic_f1

CLASSES = ("N", "S", "V", "F", "Q")


def test_decide_is_argmax_plus_offsets():
    probs = np.array([[0.5, 0.1, 0.3, 0.05, 0.05],
                      [0.1, 0.1, 0.35, 0.4, 0.05],
                      [0.2, 0.45, 0.3, 0.0, 0.05]])
    assert decide(probs, CLASSES).tolist() == ["N", "F", "S"]
    assert decide(probs, CLASSES, {}).tolist() == ["N", "F", "S"]
    assert decide(probs, CLASSES, {"F": -np.inf}).tolist() == ["N", "V", "S"]          # F never chosen
    assert decide(probs, CLASSES, {"V": np.log(2.0)}).tolist() == ["V", "V", "V"]       # 0.3 x 2 > 0.5
    assert decide(np.zeros((0, 5)), CLASSES).shape == (0,)


def test_ectopic_f1_by_hand():
    truth = np.array(["N", "N", "V", "V", "S", "F"], dtype=object)
    labels = np.array(["N", "V", "V", "F", "S", "S"], dtype=object)
    # VEB: TP 1, FN 1 (V called F), FP 1 (N called V) -> 2/4; SVEB: TP 1, FN 0, FP 1 (F called S) -> 2/3
    assert ectopic_f1(truth, labels) == pytest.approx((0.5 + 2 / 3) / 2)
    assert ectopic_f1(truth, truth) == 1.0


def test_offsets_are_chosen_where_they_pay_and_left_at_zero_where_they_do_not():
    rng = np.random.default_rng(0)
    n, v = 400, 100
    probs = np.zeros((n + v, 5))
    probs[:n] = [0.9, 0.04, 0.03, 0.02, 0.01]
    probs[n:] = [0.1, 0.05, 0.38, 0.42, 0.05]            # ventricular beats the plain decision calls F
    probs += rng.uniform(0, 0.01, probs.shape)
    truth = np.array(["N"] * n + ["V"] * v, dtype=object)
    assert ectopic_f1(truth, decide(probs, CLASSES)) == 0.0
    offsets, score = choose_offsets(probs, truth, CLASSES)
    assert score == 1.0 and (decide(probs, CLASSES, offsets) == truth).all()
    assert set(offsets) == set(OFFSET_GRID)
    # where the plain decision is right, the nearest offsets to it are kept: none
    right = probs.copy()
    right[n:] = [0.1, 0.05, 0.7, 0.1, 0.05]
    assert choose_offsets(right, truth, CLASSES) == ({"S": 0.0, "V": 0.0, "F": 0.0}, 1.0)
