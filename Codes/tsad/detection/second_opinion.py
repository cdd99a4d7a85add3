"""A second opinion on uncertain beats: a learned detector's beat below a sure probability is kept only
where another detector (a classical one, ``tsad.models.classical``) also finds a beat within the
match window (150 ms, as EC57 matches).

Why: the learned detector's false beats on the shared records lie mostly at moderate probability
(0.2-0.6) in pauses, after ventricular beats and in noise, where a detector built on other principles
(GQRS's QRS template and adaptive thresholds) seldom marks anything, while its true beats there are
mostly confirmed (docs/RESULTS.md, section AE, measures whether that holds on unseen patients).
"""

from __future__ import annotations

import numpy as np

MATCH_WINDOW_S = 0.15       # EC57's match window: a beat within it of another is the same beat


def confirmed(samples, scores, other, fs: float, sure_above: float, window_s: float = MATCH_WINDOW_S) -> np.ndarray:
    """Which of a detector's beats survive a second opinion.

    Parameters
    ----------
    samples : array_like of int
        The detector's beat positions (sample numbers at ``fs``).
    scores : array_like of float
        Its probability at each beat (``RecordDetection.scores``).
    other : array_like of int
        The second detector's beat positions in the same signal, at ``fs``.
    fs : float
        Sampling rate of ``samples`` and ``other`` in Hz.
    sure_above : float
        A beat whose score is at least this is kept without a second opinion.
    window_s : float
        How near (seconds, inclusive) a beat of ``other`` must be to confirm one.

    Returns
    -------
    array of bool
        One per beat of ``samples``: True where it is kept.
    """
    samples = np.asarray(samples, np.int64)
    scores = np.asarray(scores, float)
    if samples.shape != scores.shape:
        raise ValueError(f"{len(samples)} beats but {len(scores)} scores")
    other = np.sort(np.asarray(other, np.int64))
    sure = scores >= sure_above
    if not len(other):
        return sure
    right = np.clip(np.searchsorted(other, samples), 0, len(other) - 1)
    left = np.clip(right - 1, 0, len(other) - 1)
    nearest = np.minimum(np.abs(samples - other[left]), np.abs(samples - other[right]))
    return sure | (nearest <= window_s * fs + 1e-9)
