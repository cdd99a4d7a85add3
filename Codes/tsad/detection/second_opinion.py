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

``local_snr_db`` judges the noise from the signal itself instead (section AG): around each beat,
nstdb's signal-to-noise ratio read on the signal's first difference (the sure beats' QRS against
what lies between the QRS complexes), so that the second opinion can be asked only where the
signal is clean (``confirmed(..., askable=...)``).
"""

from __future__ import annotations

import numpy as np

from tsad.data.noise import QRS_HALF_WIDTH_S  # nstdb's QRS: within 50 ms of the beat

MATCH_WINDOW_S = 0.15       # EC57's match window: a beat within it of another is the same beat
TRUST_ABOVE = 0.9           # the share of the sure beats around that the other detector must confirm
TRUST_MIN = 3               # fewer sure beats around than this: no evidence, the other detector is not trusted
QRS_AWAY_S = 0.1            # samples farther than this from every beat are "between the QRS complexes"
SNR_WINDOW_S = 5.0          # the stretch (each side of a beat) whose noise is read


def confirmed(samples, scores, other, fs: float, sure_above: float, window_s: float = MATCH_WINDOW_S,
              trust_window_s: float | None = None, trust_above: float = TRUST_ABOVE,
              trust_min: int = TRUST_MIN, askable=None) -> np.ndarray:
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
    askable : array_like of bool, optional
        One per beat: where False the beat is kept without a second opinion (for instance where the
        signal is noisy, ``local_snr_db``, or where a verifier keeps the beat's class). None: every beat.

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
    if askable is not None:
        askable = np.asarray(askable, bool)
        if askable.shape != samples.shape:
            raise ValueError(f"{len(samples)} beats but {len(askable)} askable flags")
        sure = sure | ~askable
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


def local_snr_db(lead, beats, sure, fs: float, window_s: float = SNR_WINDOW_S) -> np.ndarray:
    """Per beat, how clean the signal is around it: nstdb's signal-to-noise ratio (dB) read on the
    first difference of ``lead`` within ``window_s`` of the beat.

    S is the mean over the ``sure`` beats in the window of the squared peak-to-peak of the difference
    within 50 ms of the beat, over 8 (nstdb's S, ``tsad.data.noise.signal_power``); N is the mean square
    of the difference over the window's samples farther than 100 ms from every beat. The difference
    keeps the QRS and muscle and electrode-motion noise and leaves out most of the P and T waves and
    baseline wander, so clean signal reads high. It is an estimate in its own units, not the SNR at
    which noise was added: docs/RESULTS.md, section AG, reads it on clean records and on noisy copies.

    Parameters
    ----------
    lead : array_like of float
        One lead of the signal, at ``fs``.
    beats : array_like of int
        A detector's beat positions in it (sample numbers).
    sure : array_like of bool
        One per beat: the beats whose QRS is the signal (for instance the detector's sure beats).
    fs : float
        Sampling rate in Hz.
    window_s : float
        How far each side of a beat (seconds) the noise and the QRS complexes are read.

    Returns
    -------
    array of float
        One per beat; -inf where no sure beat lies in the window.
    """
    lead = np.asarray(lead, float)
    beats = np.asarray(beats, np.int64)
    sure = np.asarray(sure, bool)
    if beats.shape != sure.shape:
        raise ValueError(f"{len(beats)} beats but {len(sure)} sure flags")
    if np.any(np.diff(beats) < 0):      # in order; the answer in the caller's order
        order = np.argsort(beats, kind="stable")
        snr = np.empty(len(beats))
        snr[order] = local_snr_db(lead, beats[order], sure[order], fs, window_s)
        return snr
    n = len(lead)
    if not len(beats) or n < 2:
        return np.full(len(beats), -np.inf)
    diff = np.diff(lead, prepend=lead[0])
    away = int(round(QRS_AWAY_S * fs))
    near_qrs = np.zeros(n + 1, int)     # +1 at each QRS stretch's start, -1 after its end
    np.add.at(near_qrs, np.clip(beats - away, 0, n), 1)
    np.add.at(near_qrs, np.clip(beats + away + 1, 0, n), -1)
    between = np.cumsum(near_qrs[:n]) == 0
    noise_sum = np.concatenate([[0.0], np.cumsum(np.where(between, diff * diff, 0.0))])
    noise_count = np.concatenate([[0], np.cumsum(between)])
    half = max(1, int(round(QRS_HALF_WIDTH_S * fs)))
    qrs = diff[np.clip(beats[:, None] + np.arange(-half, half + 1)[None, :], 0, n - 1)]
    power = np.where(sure, (qrs.max(axis=1) - qrs.min(axis=1)) ** 2 / 8.0, 0.0)
    power_sum = np.concatenate([[0.0], np.cumsum(power)])
    sure_count = np.concatenate([[0], np.cumsum(sure)])
    width = int(round(window_s * fs))
    lo, hi = np.clip(beats - width, 0, n), np.clip(beats + width + 1, 0, n)
    noise = (noise_sum[hi] - noise_sum[lo]) / np.maximum(noise_count[hi] - noise_count[lo], 1)
    first, last = np.searchsorted(beats, beats - width, "left"), np.searchsorted(beats, beats + width, "right")
    counted = sure_count[last] - sure_count[first]
    signal = (power_sum[last] - power_sum[first]) / np.maximum(counted, 1)
    with np.errstate(divide="ignore"):
        snr = 10 * np.log10(signal / np.maximum(noise, np.finfo(float).tiny))
    snr[counted == 0] = -np.inf
    return snr
