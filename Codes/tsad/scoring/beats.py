"""Beat scoring, defined once: the 150 ms tolerance, the one-to-one matcher, Se/PPV/F1 and the
peak pickers. The window metrics (``tsad.scoring.metrics``: MSP/MSR, pooled Se/PPV/F1) and the whole-record
scoring (``tsad.scoring.ec57``, ``tsad.detection.records``) both use these; definitions and edge cases: docs/METRICS.md.

Only numpy is imported here, so every other module can import this one without a cycle, and
detection needs no scipy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class ScoringError(ValueError):
    """Detections or references that cannot be scored; the message names the file."""


# ---- matching ----------------------------------------------------------------------------------

@dataclass
class Match:
    """Result of matching: index pairs into the reference and detection arrays."""

    ref_index: np.ndarray
    det_index: np.ndarray
    n_ref: int
    n_det: int

    @property
    def tp(self) -> int:
        """Matched reference beats."""
        return len(self.ref_index)

    @property
    def fn(self) -> int:
        """Reference beats left unmatched (missed)."""
        return self.n_ref - self.tp

    @property
    def fp(self) -> int:
        """Detections left unmatched (false detections)."""
        return self.n_det - self.tp

    def matched_ref(self) -> np.ndarray:
        """A boolean per reference beat: True where it was matched."""
        out = np.zeros(self.n_ref, bool)
        out[self.ref_index] = True
        return out


def match_beats(ref: np.ndarray, det: np.ndarray, tolerance: int) -> Match:
    """One-to-one matching of sorted detections to sorted reference beats with ``|d - r| <= tolerance``.

    Each reference beat, in order, takes the nearest unused detection in reach; a detection that is
    nearer to the next reference beat is left to it and the previous unused one is taken instead.
    This is the rule of wfdb's ``compare_annotations`` (PhysioNet's bxb; tests check the counts
    agree on real records), written for an inclusive tolerance. When reference beats are more than
    ``2 * tolerance`` apart no detection is contested and the matching is a maximum one.

    Parameters
    ----------
    ref, det : array of int
        Sorted sample numbers of the reference beats and of the detections.
    tolerance : int
        Largest allowed distance in samples (see ``tolerance_samples``).

    Returns
    -------
    Match
        The matched pairs and the counts.

    Raises
    ------
    ScoringError
        When either array is not sorted.
    """
    ref = np.asarray(ref, np.int64)
    det = np.asarray(det, np.int64)
    if np.any(np.diff(ref) < 0) or np.any(np.diff(det) < 0):
        raise ScoringError("match_beats needs sorted sample numbers")
    pairs_r, pairs_d = [], []
    j = 0                                  # first detection not yet used or passed over
    n_det = len(det)
    ref_list, det_list = ref.tolist(), det.tolist()
    for i, r in enumerate(ref_list):
        while j < n_det and det_list[j] < r - tolerance:
            j += 1
        if j >= n_det:
            break
        # nearest detection at or after j
        k = j
        while k + 1 < n_det and abs(det_list[k + 1] - r) <= abs(det_list[k] - r):
            k += 1
        if abs(det_list[k] - r) > tolerance:
            continue
        if i + 1 < len(ref_list) and abs(det_list[k] - ref_list[i + 1]) < abs(det_list[k] - r):
            # contested: the next beat is nearer; take the previous unused detection if in reach
            if k > j and abs(det_list[k - 1] - r) <= tolerance:
                k -= 1
            else:
                continue
        pairs_r.append(i)
        pairs_d.append(k)
        j = k + 1
    return Match(np.asarray(pairs_r, np.int64), np.asarray(pairs_d, np.int64), len(ref), n_det)


def figures(TP: int, FP: int, FN: int) -> dict:
    """Se, PPV and F1 from the counts.

    Se = TP/(TP+FN), PPV = TP/(TP+FP), F1 = 2TP/(2TP+FP+FN). A figure whose denominator is 0 is
    NaN (undefined: bxb prints "-"), never 0: no detection at all gives PPV NaN and F1 0 (when
    there are beats); no beat at all gives Se NaN.

    Returns
    -------
    dict
        ``{"Se": ..., "PPV": ..., "F1": ...}`` as floats.
    """
    se = TP / (TP + FN) if TP + FN else float("nan")
    ppv = TP / (TP + FP) if TP + FP else float("nan")
    f1 = 2 * TP / (2 * TP + FP + FN) if TP + FP + FN else float("nan")
    return {"Se": se, "PPV": ppv, "F1": f1}


# ---- peak picking ------------------------------------------------------------------------------
# Two rules, each defined here once, because two protocols rest on them: the window metrics
# (MSP/MSR, the seed's protocol) pick one beat per merged run above a threshold in each 2-s window
# (``pick_peaks``); whole-record detection picks the local maxima of the stitched probability at
# least a refractory period apart (``pick_beats``), the rule the tuned thresholds were chosen with.
# Folding one into the other would change either every MSP/MSR or every tuned threshold.

MERGE_GAP = 10               # a run starting <= 10 samples after the previous run's end joins it
DEFAULT_THRESHOLD = 0.5
# Two beats closer than this cannot both be real (300 beats per minute); the higher peak wins.
DEFAULT_REFRACTORY_S = 0.2


@dataclass
class Positions:
    """Beat positions of many windows, flat: ``pos[k]`` is a sample index in window ``rows[k]``."""

    rows: np.ndarray
    pos: np.ndarray
    n_windows: int

    def __post_init__(self):
        self.rows = np.asarray(self.rows, np.int64)
        self.pos = np.asarray(self.pos, np.int64)
        order = np.lexsort((self.pos, self.rows))
        if not np.all(order == np.arange(len(order))):
            self.rows, self.pos = self.rows[order], self.pos[order]

    @classmethod
    def from_mask(cls, mask: np.ndarray) -> Positions:
        """Positions of the True samples of a (N, L) mask."""
        rows, pos = np.nonzero(np.asarray(mask))
        return cls(rows, pos, len(mask))

    @classmethod
    def from_lists(cls, per_window) -> Positions:
        """Positions from one list of sample indices per window."""
        per_window = [np.asarray(p, np.int64).ravel() for p in per_window]
        rows = np.repeat(np.arange(len(per_window)), [len(p) for p in per_window])
        pos = np.concatenate(per_window) if per_window else np.zeros(0, np.int64)
        return cls(rows, pos, len(per_window))

    def counts(self) -> np.ndarray:
        """Number of positions in each window."""
        return np.bincount(self.rows, minlength=self.n_windows)

    def for_window(self, i: int) -> np.ndarray:
        """The positions of window ``row``."""
        lo, hi = np.searchsorted(self.rows, [i, i + 1])
        return self.pos[lo:hi]

    def split(self) -> list[np.ndarray]:
        """One array of positions per window."""
        return np.split(self.pos, np.cumsum(self.counts())[:-1])

    def take(self, windows) -> Positions:
        """The positions of the given window indices, renumbered 0..len(windows)-1."""
        windows = np.asarray(windows, np.int64)
        new_index = np.full(self.n_windows, -1, np.int64)
        new_index[windows] = np.arange(len(windows))
        rows = new_index[self.rows]
        keep = rows >= 0
        return Positions(rows[keep], self.pos[keep], len(windows))


def window_thresholds(probs: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """One threshold per window: the window's mean probability (in float64), or ``threshold``."""
    probs = np.atleast_2d(probs)
    if threshold is None:
        return probs.mean(axis=1, dtype=np.float64)
    return np.full(len(probs), float(threshold), np.float64)


def _runs(mask: np.ndarray):
    """Maximal runs of True per row: (rows, first sample, last sample), row-major order."""
    pad = np.zeros((len(mask), 1), np.int8)
    edges = np.diff(np.concatenate([pad, mask.astype(np.int8), pad], axis=1), axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    return rows, starts, ends - 1


def _segment_argmax(values: np.ndarray, flat_starts: np.ndarray, flat_ends: np.ndarray) -> np.ndarray:
    """Flat index of the first maximum of ``values`` in each disjoint, sorted [start, end]."""
    if len(flat_starts) == 0:
        return np.zeros(0, np.int64)
    opened = np.zeros(len(values) + 1, np.int64)
    closed = np.zeros(len(values) + 1, np.int64)
    opened[flat_starts] = 1
    closed[flat_ends + 1] = 1
    opened_so_far = np.cumsum(opened)
    inside = np.flatnonzero((opened_so_far - np.cumsum(closed))[:-1] > 0)
    segment = opened_so_far[inside] - 1
    vals = values[inside]
    first = np.searchsorted(segment, np.arange(len(flat_starts)))
    is_max = vals == np.maximum.reduceat(vals, first)[segment]
    cand = np.flatnonzero(is_max)
    firsts = cand[np.r_[True, segment[cand][1:] != segment[cand][:-1]]]
    return inside[firsts]


def pick_peaks(probs: np.ndarray, threshold: float | None = None, merge_gap: int = MERGE_GAP) -> Positions:
    """Predicted beats of every window (the seed's cut_and_infer, with chaining):

    runs of samples strictly above the window's threshold; a run starting at most ``merge_gap``
    samples after the end of the previous (possibly already merged) run joins it; after merging,
    a group that is one sample long is dropped; each group predicts the position of its largest
    probability (the first one on ties).
    """
    probs = np.atleast_2d(np.asarray(probs))
    n, length = probs.shape
    above = probs > window_thresholds(probs, threshold)[:, None]
    rows, starts, ends = _runs(above)
    if len(rows) == 0:
        return Positions(np.zeros(0), np.zeros(0), n)
    opens_group = np.ones(len(rows), bool)
    opens_group[1:] = (rows[1:] != rows[:-1]) | (starts[1:] - ends[:-1] > merge_gap)
    first = np.flatnonzero(opens_group)
    last = np.r_[first[1:] - 1, len(rows) - 1]
    g_rows, g_starts, g_ends = rows[first], starts[first], ends[last]
    keep = g_ends > g_starts
    g_rows, g_starts, g_ends = g_rows[keep], g_starts[keep], g_ends[keep]
    flat = _segment_argmax(probs.ravel(), g_rows * length + g_starts, g_rows * length + g_ends)
    return Positions(g_rows, flat - g_rows * length, n)


def predict_positions(probs_row: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Predicted beat positions of one window (what the GUI marks)."""
    return pick_peaks(np.asarray(probs_row)[None, :], threshold).pos


def _local_maxima(x: np.ndarray) -> np.ndarray:
    """The middle of every local maximum of ``x`` (a flat top counts once, at its middle; a top
    that runs into either end of ``x`` does not count): what scipy's ``find_peaks`` starts from."""
    n = len(x)
    if n < 3:
        return np.zeros(0, np.int64)
    bounds = np.flatnonzero(x[1:] != x[:-1]) + 1            # where a run of equal values starts
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [n])) - 1                 # inclusive
    inner = (starts >= 1) & (ends <= n - 2)
    starts, ends = starts[inner], ends[inner]
    top = x[starts]
    peak = (x[starts - 1] < top) & (x[ends + 1] < top)
    return ((starts[peak] + ends[peak]) // 2).astype(np.int64)


# How long causal picking waits after a peak for a higher one before it decides: a budget taken from
# the latency (--latency-s), so kept short; the refractory period after a beat still holds in full.
CAUSAL_WAIT_S = 0.1


def pick_beats_causal(prob: np.ndarray, fs: float, threshold: float = DEFAULT_THRESHOLD,
                      refractory_s: float = DEFAULT_REFRACTORY_S, wait_s: float = CAUSAL_WAIT_S, *,
                      start: int = 0, last_beat: int | None = None) -> np.ndarray:
    """Beat positions, each decided from at most ``wait_s`` of probability after it (causal
    detection, ``detect.py --latency-s``), as a monitor decides as the signal arrives.

    A peak is a sample above the one before it and not below the one after it (a flat top counts at
    its first sample), at least ``threshold``. It is a beat when no peak within ``wait_s`` after it is
    higher, none within ``wait_s`` before it is as high, and the last beat lies at least
    ``refractory_s`` before it. Unlike ``pick_beats`` (scipy's rule: of two peaks closer than the
    refractory period the higher wins), a peak that comes later than ``wait_s`` but within the
    refractory period loses to the beat before it, however high. Whether sample ``t`` is a beat
    depends on ``prob[: t + causal_pick_lookahead(fs, wait_s) + 1]`` and nothing later.

    Parameters and returns as ``pick_beats``; ``wait_s`` at most ``refractory_s``. A stream decided
    in pieces passes ``start`` (the first sample of ``prob`` still to decide; what lies before it is
    context) and ``last_beat`` (the last beat already decided, an index of ``prob``, maybe negative),
    and gets the beats from ``start`` on: the same as in one pass.
    """
    if not 0 < wait_s <= refractory_s:
        raise ValueError(f"the causal wait must lie in (0, refractory period {refractory_s:g} s], got {wait_s:g}")
    x = np.asarray(prob, np.float64)
    if len(x) < 3:
        return np.zeros(0, np.int64)
    wait = max(1, round(wait_s * fs))
    mid = x[1:-1]
    peaks = (np.flatnonzero((mid > x[:-2]) & (mid >= x[2:]) & (mid >= threshold)) + 1).astype(np.int64)
    height = x[peaks]
    keep = np.ones(len(peaks), bool)
    k = 1
    while k < len(peaks):   # pairs (i, i + k) within the wait; k grows until none is
        near = np.flatnonzero(peaks[k:] - peaks[:-k] <= wait)
        if not len(near):
            break
        keep[near + k] &= height[near] < height[near + k]          # the later one loses ties
        keep[near] &= height[near] >= height[near + k]
        k += 1
    peaks = peaks[keep & (peaks >= start)]
    distance = max(1, round(refractory_s * fs))
    if np.all(np.diff(peaks) >= distance) and (last_beat is None or not len(peaks) or peaks[0] - last_beat >= distance):
        return peaks
    beats, last = [], last_beat
    for p in peaks.tolist():       # in time order: a beat opens its refractory period
        if last is None or p - last >= distance:
            beats.append(p)
            last = p
    return np.asarray(beats, np.int64)


def causal_pick_lookahead(fs: float, wait_s: float = CAUSAL_WAIT_S) -> int:
    """Samples of probability after a beat that ``pick_beats_causal`` reads to decide it."""
    return max(1, round(wait_s * fs)) + 1


CROWDED_PEAKS = 5_000   # more peaks with a neighbour in reach than this: scipy's compiled loop is faster


def _apart(peaks: np.ndarray, priority: np.ndarray, distance: int) -> np.ndarray | None:
    """Which ``peaks`` to keep so that no two are closer than ``distance`` samples: the highest
    first, each removing its lower neighbours within reach (scipy's rule and order, ties included).
    None when more than ``CROWDED_PEAKS`` are in reach of another (the caller asks scipy)."""
    keep = np.ones(len(peaks), bool)
    close = np.flatnonzero(np.diff(peaks) < distance)
    if not len(close):
        return keep
    crowded = np.zeros(len(peaks), bool)       # a peak with a neighbour in reach; the others stay
    crowded[close] = crowded[close + 1] = True
    if crowded.sum() > CROWDED_PEAKS:          # noise or an untrained model: a peak every few samples
        return None
    lower = np.searchsorted(peaks, peaks - distance, side="right")   # the first peak in reach on the left
    upper = np.searchsorted(peaks, peaks + distance, side="left")    # one past the last on the right
    for j in np.argsort(priority)[::-1]:       # the same order as scipy's (numpy's default sort)
        if crowded[j] and keep[j]:
            keep[lower[j]:j] = False
            keep[j + 1:upper[j]] = False
    return keep


def pick_beats(prob: np.ndarray, fs: float, threshold: float = DEFAULT_THRESHOLD,
               refractory_s: float = DEFAULT_REFRACTORY_S) -> np.ndarray:
    """Beat positions on a whole record's combined probability.

    The peaks ``scipy.signal.find_peaks(prob, height=threshold, distance=...)`` finds (tested to
    agree), in numpy alone: detection does not import scipy for it.

    Parameters
    ----------
    prob : array of float
        One probability per sample, at ``fs``.
    fs : float
        Rate of ``prob`` in Hz.
    threshold : float
        A peak counts when its probability is at least this.
    refractory_s : float
        Peaks closer than this are one beat: the higher one is kept.

    Returns
    -------
    array of int
        Sample numbers of the beats (local maxima), sorted.
    """
    x = np.asarray(prob, np.float64)
    distance = max(1, round(refractory_s * fs))
    peaks = _local_maxima(x)
    peaks = peaks[x[peaks] >= threshold]
    keep = _apart(peaks, x[peaks], distance)
    if keep is None:
        from scipy.signal import find_peaks  # its compiled loop, for the crowded case only

        return find_peaks(x, height=threshold, distance=distance)[0].astype(np.int64)
    return peaks[keep]
