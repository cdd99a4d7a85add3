"""What a beat classifier reads of each beat: its waveform beside the patient's own recent beats, and
its timing against the patient's own recent rhythm.

Inter-patient beat classification turns on two things (de Chazal et al., IEEE TBME 51(7), 2004, and
most work since): RR intervals, and features made relative to the patient. A supraventricular
ectopic beat looks like a normal one and is told apart by coming early *for this heart*; a
ventricular one by its shape *against this heart's usual beat*. Both are measured here against the
beats that came before, never after, with one beat of look-ahead (the next RR interval), so that the
features of a record read in chunks equal those of one pass (``BeatHistory`` carries the past from
one chunk to the next) and a beat is classified within one RR interval of its arrival.

Per beat (``beat_context``):

- ``waves`` (n, 2 * leads, WAVE_SAMPLES): the beat from -250 ms to +500 ms on each lead, its own
  median removed, over the patient's usual amplitude (the peak-to-peak of the template, per lead);
  then the same minus the template, where the **template** is the median of the HISTORY beats before
  it (the beat itself for a record's first beat); with ``groups=3`` (WAVE_CONTEXTS; docs/RESULTS.md,
  section U), then the beat minus its **on-time template**, the median of the HISTORY beats before it
  that came on time (previous RR at least ON_TIME of the steady RR, below): in bigeminy or a run of
  ectopic beats half or more of the recent beats are ectopic and the plain template looks like them,
  while the beats that come on time are, nearly always, the patient's normal ones (the plain template
  until a beat has come on time);
- ``rhythm`` (n, RHYTHM_FEATURES): previous and next RR interval, the **usual** RR (the median of
  the RR_HISTORY intervals before it), previous / usual, next / usual, previous / next, (next -
  previous) / usual (a compensatory pause), the **irregularity** of the recent rhythm (the median
  absolute deviation of those intervals over the usual: an early beat in atrial fibrillation, whose
  beats are N, is not early the way an ectopic beat is) and the previous beat's previous / usual.
  (A long-term RR, the median of the last 300 intervals, was tried and did not help: docs/RESULTS.md,
  section F.) Then, for ``rhythm_context="steady"`` (RHYTHM_CONTEXTS; docs/RESULTS.md, section M), five
  more: the **steady RR** (the mean of the last STEADY_BEATS intervals that each lay within STEADY_BAND
  of the steady RR of their time, after Pan and Tompkins' "RR average 2": it follows a rhythm that
  changes gradually, as sinus rhythm does, but not the sudden run of an ectopic tachycardia, however
  long), previous / steady, usual / steady (a run: the recent rhythm faster than the steady one), how
  stale the steady RR is (beats since an interval last fitted it, as b / (b + RR_HISTORY); after
  STEADY_RESET such beats it starts again from the usual RR), and the **jitter** of the recent rhythm
  (the median absolute difference of successive intervals over the usual RR: large in atrial
  fibrillation, whose beats are N however early).
  Intervals are capped at MAX_RR_S, so that a pause longer than a chunk's margin reads the same in
  a chunk and in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FS = 128.0                      # the rate the features are taken at (the detectors' rate)
WAVE_S = (-0.25, 0.5)           # a beat's waveform, seconds around its position
WAVE_SAMPLES = round((WAVE_S[1] - WAVE_S[0]) * FS)
HISTORY = 16                    # beats of the patient's recent past: the template
RR_HISTORY = 32                 # RR intervals of the patient's recent past: the usual RR, its irregularity
MAX_RR_S = 2.5                  # RR intervals are capped here (module docstring)
MIN_SCALE_MV = 0.05             # a lead flatter than this (a missing lead) is not blown up
STEADY_BEATS = 8                # intervals averaged into the steady RR
STEADY_BAND = (0.85, 1.2)       # an interval fits the steady RR within these ratios of it
STEADY_RESET = 1000             # beats without a fitting interval after which the steady RR starts again
RHYTHM_NAMES = ("rr_prev", "rr_next", "rr_usual", "prev/usual", "next/usual", "prev/next", "pause/usual",
                "irregularity", "last prev/usual",
                "rr_steady", "prev/steady", "usual/steady", "steady stale", "jitter")
RHYTHM_FEATURES = len(RHYTHM_NAMES)
# the rhythm features a classifier reads: the first RHYTHM_CONTEXTS[name] of RHYTHM_NAMES
RHYTHM_CONTEXTS = {"recent": 9, "steady": RHYTHM_FEATURES}
# the waveform groups (each ``leads`` channels, in this order) and how many of them a classifier reads
WAVE_GROUPS = ("beat", "beat - template", "beat - on-time template")
WAVE_CONTEXTS = {"recent": 2, "on-time": 3}
ON_TIME = 0.9                   # a beat came on time: its previous RR is at least this share of the steady RR


@dataclass
class SteadyRhythm:
    """The steady RR's state (module docstring): the intervals it averages (none yet: it starts as
    the usual RR once STEADY_BEATS intervals are known) and the beats since one last fitted it."""

    fitted: tuple = ()
    stale: int = 0


@dataclass
class BeatHistory:
    """The past a chunk's beats are measured against: the last HISTORY raw waveforms and RR intervals,
    the last beat's position (at FS, in the record's samples), the steady RR's state and how many
    beats came before."""

    waves: np.ndarray | None = None                       # (<= HISTORY, leads, WAVE_SAMPLES)
    rr: np.ndarray = field(default_factory=lambda: np.zeros(0))
    last: int | None = None
    steady: SteadyRhythm = field(default_factory=SteadyRhythm)
    seen: int = 0                                          # beats measured before
    on_time: np.ndarray | None = None                     # the last HISTORY raw waveforms of beats on time


def _steady_context(state: SteadyRhythm, prev: np.ndarray, usual: np.ndarray,
                    seen: int) -> tuple[np.ndarray, np.ndarray, SteadyRhythm]:
    """For each beat's previous interval ``prev[i]`` (``seen`` intervals came before ``prev[0]``): the
    steady RR before it (its usual RR while there is none) and its staleness, and the state after them."""
    fitted, stale = list(state.fitted), state.stale
    steady, staleness = np.empty(len(prev)), np.empty(len(prev))
    lo, hi = STEADY_BAND
    # plain floats: a beat at a time, as a stream is, and a record's 100,000 beats in well under a second
    for i, (rr, now) in enumerate(zip(prev.tolist(), usual.tolist())):
        ref = sum(fitted) / len(fitted) if fitted else None
        steady[i] = now if ref is None else ref
        staleness[i] = stale
        if ref is None:                     # waiting for STEADY_BEATS intervals: start from their median
            if seen + i + 1 >= STEADY_BEATS:
                fitted = [now]
        elif lo * ref <= rr <= hi * ref:
            fitted = (fitted + [rr])[-STEADY_BEATS:]
            stale = 0
        else:
            stale += 1
            if stale >= STEADY_RESET:         # a rhythm this long is the heart's own now
                fitted, stale = [now], 0
    return steady, staleness / (staleness + RR_HISTORY), SteadyRhythm(tuple(fitted), stale)


def _jitter(past: np.ndarray, prev: np.ndarray, usual: np.ndarray) -> np.ndarray:
    """For each beat's previous interval ``prev[i]``: the median absolute difference of successive
    intervals among the RR_HISTORY before it (0 with fewer than two), over its usual RR."""
    allrr = np.concatenate([past, prev])
    p = len(past)
    steps = np.abs(np.diff(allrr))                  # steps[k]: between intervals k and k + 1
    out = np.zeros(len(prev))
    short = min(len(prev), max(0, RR_HISTORY - p))  # beats with fewer than RR_HISTORY intervals before them
    for i in range(short):
        window = steps[:max(0, p + i - 1)]
        if len(window):
            out[i] = np.median(window)
    if short < len(prev):   # the others: RR_HISTORY - 1 steps each, as a strided view, a block at a time
        windows = np.lib.stride_tricks.sliding_window_view(steps, RR_HISTORY - 1)
        for a in range(short, len(prev), 8192):
            b = min(len(prev), a + 8192)
            out[a:b] = np.median(windows[p + a - RR_HISTORY:p + b - RR_HISTORY], axis=1)
    return out / usual


def raw_waves(signal: np.ndarray, samples: np.ndarray, offset: int = 0) -> np.ndarray:
    """(n, leads, WAVE_SAMPLES) waveforms of the beats at ``samples`` (record samples at FS) from
    ``signal`` (T, leads), whose first row is record sample ``offset``; each minus its own median.
    Samples outside ``signal`` take its nearest edge."""
    start = round(WAVE_S[0] * FS)
    idx = np.asarray(samples, np.int64)[:, None] - offset + start + np.arange(WAVE_SAMPLES)[None, :]
    waves = signal[np.clip(idx, 0, len(signal) - 1)].transpose(0, 2, 1).astype(np.float32)
    return waves - np.median(waves, axis=2, keepdims=True)


def _past_medians(past: np.ndarray, current: np.ndarray, history: int, block: int = 512) -> np.ndarray:
    """For each row i of ``current``, the median over axis 0 of the ``history`` rows before it in
    ``concat(past, current)`` (the row itself where nothing came before)."""
    allrows = np.concatenate([past, current]) if len(past) else current
    p, n = len(past), len(current)
    out = np.empty_like(current)
    short = min(n, max(0, history - p))          # rows with fewer than ``history`` rows before them
    for i in range(short):
        out[i] = np.median(allrows[:p + i], axis=0) if p + i else current[i]
    if short == n:
        return out
    # the others: a full window each, taken as a strided view, a block of rows at a time
    windows = np.lib.stride_tricks.sliding_window_view(allrows, history, axis=0)   # (m, ..., history)
    lo, hi = (history - 1) // 2, history // 2                # the median: the mean of the middle two
    for a in range(short, n, block):
        b = min(n, a + block)
        # sorted along a contiguous first axis: about twice as fast as np.median on the strided view
        ranked = np.sort(np.moveaxis(windows[p + a - history:p + b - history], -1, 0), axis=0)
        out[a:b] = (ranked[lo] + ranked[hi]) / 2
    return out


def _on_time_templates(past: np.ndarray, raw: np.ndarray, on_time: np.ndarray,
                       fallback: np.ndarray) -> np.ndarray:
    """For each beat of ``raw``, the median of the HISTORY beats before it that came on time
    (``on_time``; ``past``: the last such beats before ``raw``), or ``fallback``'s row where none did."""
    current = raw[on_time]
    # medians[j]: of the HISTORY on-time rows before row j of concat(past, current, one more): what a beat
    # with j of this chunk's on-time beats before it is measured against
    medians = _past_medians(past, np.concatenate([current, raw[:1]]), HISTORY)
    before = np.cumsum(on_time) - on_time
    out = medians[before]
    none = len(past) + before == 0
    out[none] = fallback[none]
    return out


def _rr_context(past: np.ndarray, prev: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each beat's previous interval ``prev[i]``: the median of the RR_HISTORY intervals before it
    (itself when none), their median absolute deviation, and the interval before it (itself when none)."""
    allrr = np.concatenate([past, prev])
    p, n = len(past), len(prev)
    usual, spread = np.empty(n), np.empty(n)
    before = np.where(p + np.arange(n) > 0, allrr[np.maximum(p + np.arange(n) - 1, 0)], prev)
    short = min(n, max(0, RR_HISTORY - p))      # beats with fewer than RR_HISTORY intervals before them
    for i in range(short):
        window = allrr[:p + i] if p + i else prev[i:i + 1]
        usual[i] = np.median(window)
        spread[i] = np.median(np.abs(window - usual[i]))
    if short < n:
        lo, hi = (RR_HISTORY - 1) // 2, RR_HISTORY // 2
        windows = np.lib.stride_tricks.sliding_window_view(allrr, RR_HISTORY)[p + short - RR_HISTORY:p + n - RR_HISTORY]
        ranked = np.sort(windows, axis=1)
        usual[short:] = (ranked[:, lo] + ranked[:, hi]) / 2
        deviation = np.sort(np.abs(windows - usual[short:, None]), axis=1)
        spread[short:] = (deviation[:, lo] + deviation[:, hi]) / 2
    return usual, spread, before


def beat_context(signal: np.ndarray, samples: np.ndarray, *, offset: int = 0, next_sample: int | None = None,
                 history: BeatHistory | None = None,
                 groups: int = 2) -> tuple[np.ndarray, np.ndarray, BeatHistory]:
    """The classifier's inputs for the beats at ``samples`` (module docstring).

    Parameters
    ----------
    signal : ndarray, shape (T, leads)
        The ECG at FS (mV), rows from record sample ``offset``; it should reach WAVE_S around every beat.
    samples : ndarray of int
        Sorted beat positions, record samples at FS.
    next_sample : int, optional
        The first beat after ``samples`` (None: there is none; the last beat's next RR is its previous).
    history : BeatHistory, optional
        The beats before ``samples`` (None: the record starts here).
    groups : int
        How many of WAVE_GROUPS to return (2 or 3; a classifier reads WAVE_CONTEXTS[its context]).

    Returns
    -------
    waves : ndarray, shape (n, groups * leads, WAVE_SAMPLES), float32
    rhythm : ndarray, shape (n, RHYTHM_FEATURES), float32
    history : BeatHistory
        The past for the beats after these.
    """
    if groups not in (2, 3):
        raise ValueError(f"groups must be 2 or 3 (of {', '.join(WAVE_GROUPS)}), not {groups}")
    history = history or BeatHistory()
    samples = np.asarray(samples, np.int64)
    n, leads = len(samples), signal.shape[1]
    if n == 0:
        return (np.zeros((0, groups * leads, WAVE_SAMPLES), np.float32),
                np.zeros((0, RHYTHM_FEATURES), np.float32), history)
    edges = np.concatenate([[history.last] if history.last is not None else [], samples,
                            [next_sample] if next_sample is not None else []]).astype(np.int64)
    rr = np.minimum(np.diff(edges) / FS, MAX_RR_S)
    first = 1 if history.last is not None else 0            # rr[k]: interval ending at edges[k + 1]
    prev = rr[:n] if first else np.concatenate([rr[:1], rr[:n - 1]]) if len(rr) else np.full(n, MAX_RR_S)
    nxt = rr[first:first + n]
    if len(nxt) < n:                                        # no next beat: the last one's next is its previous
        nxt = np.concatenate([nxt, prev[len(nxt):]])
    usual, spread, before = _rr_context(history.rr, prev)
    steady, stale, steady_state = _steady_context(history.steady, prev, usual, history.seen)
    rhythm = np.stack([prev, nxt, usual, prev / usual, nxt / usual, prev / nxt, (nxt - prev) / usual,
                       spread / usual, before / usual,
                       steady, prev / steady, usual / steady, stale, _jitter(history.rr, prev, usual)], axis=1)

    raw = raw_waves(signal, samples, offset)
    past = history.waves if history.waves is not None else raw[:0]
    template = _past_medians(past, raw, HISTORY)
    scale = np.maximum(template.max(axis=2) - template.min(axis=2), MIN_SCALE_MV)[:, :, None]
    parts = [raw / scale, (raw - template) / scale]
    on_time = prev >= ON_TIME * steady
    past_on = history.on_time if history.on_time is not None else raw[:0]
    if groups == 3:
        parts.append((raw - _on_time_templates(past_on, raw, on_time, template)) / scale)
    waves = np.concatenate(parts, axis=1).astype(np.float32)
    return waves, rhythm.astype(np.float32), BeatHistory(
        np.concatenate([past, raw])[-HISTORY:], np.concatenate([history.rr, prev])[-RR_HISTORY:],
        int(samples[-1]), steady_state, history.seen + n, np.concatenate([past_on, raw[on_time]])[-HISTORY:])
