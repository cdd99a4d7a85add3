"""A second opinion on uncertain beats: a learned detector's beat below a sure probability is kept only
where another detector (a classical one, ``tsad.models.classical``) also finds a beat within the
match window (150 ms, as EC57 matches).

Why: the learned detector's false beats on the shared records lie mostly at moderate probability
(0.2-0.6) in pauses, after ventricular beats and in noise, where a detector built on other principles
(GQRS's QRS template and adaptive thresholds) seldom marks anything, while its true beats there are
mostly confirmed (docs/RESULTS.md, section AE, measures whether that holds on unseen patients).

Under noise the other detector misses beats, and its silence stops meaning "no beat" (section AE:
at 0 dB GQRS's second opinion cost more true beats than false ones). With ``trust_window_s`` its
silence counts only where it has been right about the sure beats around: a beat under ``sure_above``
is dropped only if, among the sure beats within ``trust_window_s`` of it (at least ``trust_min``),
the other detector confirms at least ``trust_above`` (section AF).
"""

from __future__ import annotations

import numpy as np

MATCH_WINDOW_S = 0.15       # EC57's match window: a beat within it of another is the same beat
TRUST_ABOVE = 0.9           # the share of the sure beats around that the other detector must confirm
TRUST_MIN = 3               # fewer sure beats around than this: no evidence, the other detector is not trusted


def confirmed(samples, scores, other, fs: float, sure_above: float, window_s: float = MATCH_WINDOW_S,
              trust_window_s: float | None = None, trust_above: float = TRUST_ABOVE,
              trust_min: int = TRUST_MIN) -> np.ndarray:
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
    trust_window_s : float, optional
        Ask the second opinion only where it is trusted: where ``other`` confirms at least
        ``trust_above`` of the sure beats within this many seconds of the beat (and there are at
        least ``trust_min``); elsewhere an uncertain beat is kept. None (default): trusted everywhere.

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
    if len(other):
        right = np.clip(np.searchsorted(other, samples), 0, len(other) - 1)
        left = np.clip(right - 1, 0, len(other) - 1)
        nearest = np.minimum(np.abs(samples - other[left]), np.abs(samples - other[right]))
        near = nearest <= window_s * fs + 1e-9
    else:
        near = np.zeros(len(samples), bool)
    if trust_window_s is None:
        return sure | near
    return sure | near | ~_trusted(samples, sure, near, fs, trust_window_s, trust_above, trust_min)


def _trusted(samples, sure, near, fs: float, window_s: float, above: float, at_least: int) -> np.ndarray:
    """Per beat: whether the other detector confirmed at least ``above`` of the ``sure`` beats within
    ``window_s`` of it (at least ``at_least`` of them)."""
    order = np.argsort(samples, kind="stable")
    ordered = samples[order]
    lo = np.searchsorted(ordered, ordered - window_s * fs, "left")
    hi = np.searchsorted(ordered, ordered + window_s * fs, "right")
    n_sure = np.concatenate([[0], np.cumsum(sure[order])])
    n_confirmed = np.concatenate([[0], np.cumsum((sure & near)[order])])
    around, agreed = n_sure[hi] - n_sure[lo], n_confirmed[hi] - n_confirmed[lo]
    trusted = np.empty(len(samples), bool)
    trusted[order] = (around >= at_least) & (agreed >= above * around)
    return trusted
