"""Is a record's detection plausible for a heart? The warnings a detection carries (no beat, a rate
no heart has, long stretches of signal without a beat) and the flag a per-record table gets."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

MIN_RATE_BPM = 20.0
MAX_RATE_BPM = 300.0
# A stretch longer than this without a beat, where the signal is not flat, is a detector missing beats.
MAX_GAP_S = 10.0
# A piece of FLAT_PIECE_S is flat (a lead off, the signal lost: no beat to find there) when every
# lead's standard deviation over it is at most this share of the lead's over the whole record; only
# the pieces that are not flat count towards a stretch without a beat.
FLAT_FRACTION = 0.05
FLAT_PIECE_S = 1.0
# A stretch of beats faster than this, lasting at least FAST_STRETCH_S, is flutter, fibrillation or
# noise taken for beats more often than a heart's rhythm (ventricular tachycardia stays below it).
MAX_STRETCH_RATE_BPM = 250.0
FAST_STRETCH_S = 3.0
# No heart makes an interval between two beats shorter than this (400 per minute).
MIN_RR_S = 0.15


class PieceSpread:
    """The deviation of each lead over each FLAT_PIECE_S piece of a signal, gathered a stretch at a
    time (the stretches in order, each a whole number of pieces but the last), and the deviation of
    each lead over the whole signal: what ``detection_warnings`` needs to tell flat from live."""

    def __init__(self, piece: int, leads: int):
        self.piece = piece
        self.pieces: list[np.ndarray] = []
        self.count, self.total, self.squares = 0, np.zeros(leads), np.zeros(leads)

    def add(self, signal: np.ndarray) -> None:
        x = np.asarray(signal, np.float64).reshape(len(signal), -1)
        if not len(x):
            return
        full = len(x) // self.piece * self.piece
        parts = []
        if full:   # deviations from sums: a few times faster than ndarray.std on many short pieces
            pieces = x[:full].reshape(-1, self.piece, x.shape[1])
            mean = pieces.mean(axis=1)
            parts.append(np.sqrt(np.maximum(np.einsum("kpc,kpc->kc", pieces, pieces) / self.piece - mean ** 2, 0)))
        if full < len(x):
            parts.append(x[full:].std(axis=0, keepdims=True))
        self.pieces += parts
        self.count += len(x)
        self.total += x.sum(axis=0)
        self.squares += (x ** 2).sum(axis=0)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """(pieces, leads) deviations and the whole signal's deviation per lead."""
        if not self.count:
            return np.zeros((0, len(self.total))), np.zeros(len(self.total))
        mean = self.total / self.count
        return np.concatenate(self.pieces), np.sqrt(np.maximum(self.squares / self.count - mean ** 2, 0.0))


def live_pieces(spread: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """One flag per piece: the signal is not flat there (some lead's deviation over the piece is above
    FLAT_FRACTION of its deviation over the whole signal)."""
    pieces, whole = spread
    return ~np.all(pieces <= FLAT_FRACTION * whole, axis=1)


def detection_warnings(samples: np.ndarray, fs: float, n_samples: int, signal: np.ndarray | None = None,
                       signal_fs: float | None = None, spread: tuple | None = None) -> list[str]:
    """Why a record's detected beats are implausible for a heart (empty when they are plausible).

    Parameters
    ----------
    samples : ndarray
        Detected beats, in sample numbers at ``fs``.
    fs, n_samples : float, int
        The rate and the length of the record the samples refer to.
    signal : ndarray (n, leads), optional
        The record's signal at ``signal_fs``: of a stretch without a beat, only the pieces where the
        signal is not flat count (FLAT_FRACTION, FLAT_PIECE_S). Without it, the whole stretch counts.
    spread : tuple, optional
        Instead of ``signal``: ``PieceSpread.finish()`` of the signal at ``signal_fs`` (what streamed
        detection gathers chunk by chunk).

    Returns
    -------
    list of str
        No beat at all; a mean rate under MIN_RATE_BPM or over MAX_RATE_BPM; stretches between beats
        (or the record's ends) with more than MAX_GAP_S of signal that is not flat; stretches of at
        least FAST_STRETCH_S faster than MAX_STRETCH_RATE_BPM, and intervals under MIN_RR_S, each
        named by where it is.
    """
    duration = n_samples / fs
    if not len(samples):
        return [f"no beat detected in {duration:.0f} s"]
    out = []
    rate = 60.0 * len(samples) / duration
    if rate < MIN_RATE_BPM or rate > MAX_RATE_BPM:
        out.append(f"{rate:.1f} beats per minute over the record, outside {MIN_RATE_BPM:g}-{MAX_RATE_BPM:g}")
    edges = np.r_[0.0, np.sort(samples) / fs, duration]
    gaps = [(a, b, b - a) for a, b in itertools.pairwise(edges) if b - a > MAX_GAP_S]
    if signal is not None and spread is None:
        piece = max(1, round(FLAT_PIECE_S * signal_fs))
        gathered = PieceSpread(piece, np.asarray(signal).reshape(len(signal), -1).shape[1])
        gathered.add(signal)
        spread = gathered.finish()
    if spread is not None and gaps:
        live = live_pieces(spread)
        gaps = [(a, b, _live_seconds(live, FLAT_PIECE_S, a, b)) for a, b, _ in gaps]
        gaps = [g for g in gaps if g[2] > MAX_GAP_S]
    if gaps:
        a, b, live_s = max(gaps, key=lambda g: g[2])
        out.append(f"{len(gaps)} stretch(es) with over {MAX_GAP_S:g} s of signal but no beat (the longest "
                   f"{b - a:.1f} s from {a:.1f} s, {live_s:.0f} s of it not flat)")
    out += rhythm_warnings(np.sort(samples) / fs)
    return out


def fast_stretches(times: np.ndarray) -> list[tuple[float, float]]:
    """``(start s, end s)`` of the runs of consecutive intervals shorter than 60 / MAX_STRETCH_RATE_BPM
    that last at least FAST_STRETCH_S, in order."""
    fast = np.diff(times) < 60.0 / MAX_STRETCH_RATE_BPM
    out = []
    for value, run in itertools.groupby(range(len(fast)), key=lambda k: fast[k]):
        run = list(run)
        if value and times[run[-1] + 1] - times[run[0]] >= FAST_STRETCH_S:
            out.append((float(times[run[0]]), float(times[run[-1] + 1])))
    return out


def rhythm_warnings(times: np.ndarray) -> list[str]:
    """Where the detected rhythm is one no heart keeps: stretches over MAX_STRETCH_RATE_BPM of at
    least FAST_STRETCH_S (``fast_stretches``), and intervals under MIN_RR_S; ``times`` sorted, in s."""
    out = []
    stretches = fast_stretches(times)
    if stretches:
        shown = ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in stretches[:5]) + (" ..." if len(stretches) > 5 else "")
        out.append(f"{len(stretches)} stretch(es) of {FAST_STRETCH_S:g} s or more faster than "
                   f"{MAX_STRETCH_RATE_BPM:g} beats per minute ({shown}): flutter, fibrillation or noise "
                   f"taken for beats?")
    short = np.flatnonzero(np.diff(times) < MIN_RR_S)
    if len(short):
        out.append(f"{len(short)} interval(s) between beats under {MIN_RR_S * 1000:g} ms, which no heart makes "
                   f"(the first at {times[short[0]]:.1f} s)")
    return out


def _live_seconds(live: np.ndarray, piece_s: float, start_s: float, end_s: float) -> float:
    """Seconds of ``[start_s, end_s)`` in pieces (of ``piece_s``, from the record's start) that are live."""
    first, last = int(start_s // piece_s), min(len(live), int(np.ceil(end_s / piece_s)))
    seconds = 0.0
    for k in np.flatnonzero(live[first:last]) + first:
        seconds += max(0.0, min(end_s, (k + 1) * piece_s) - max(start_s, k * piece_s))
    return seconds



IMPLAUSIBLE_COLUMN = "implausible"   # the flag evaluate_records.py and the app add to a per-record table
WARNINGS_COLUMN = "warnings"


def mark_implausible(table: pd.DataFrame, warned: dict[str, list[str]]) -> pd.DataFrame:
    """The per-record table with IMPLAUSIBLE_COLUMN (True where a record has warnings in ``warned``,
    as ``record_warnings`` or ``check_detections`` give them) and WARNINGS_COLUMN ('; '-joined)."""
    names = table["record"].astype(str) if "record" in table else pd.Series([], dtype=str)
    return table.assign(**{IMPLAUSIBLE_COLUMN: names.map(lambda r: bool(warned.get(r))).astype(bool),
                           WARNINGS_COLUMN: names.map(lambda r: "; ".join(warned.get(r, [])))})
