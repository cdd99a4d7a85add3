"""Whole-record detection in chunks: memory bounded whatever the record's length, time linear in it.

A learned model reads a record through a ``SignalSource`` (a WFDB record on disk, read piece by piece,
or an array in memory) one chunk at a time (``DEFAULT_CHUNK_S`` of ECG). Each chunk is read with
margins wide enough that what is kept of it equals what a pass over the whole record would give:

- resampling to the model's rate with a polyphase filter (``scipy.signal.resample_poly``) on a
  stretch whose first sample falls on the model's sample grid, with the filter's half-length as
  margin;
- the model's windows on one grid for the whole record (``detection.window_starts``): a chunk runs
  every window that touches its probability range, so each kept sample is stitched from the same
  windows as in one pass; a fully convolutional model (``Predictor.full_probs``, tsad.models.fast_student)
  has no windows: it runs once over the chunk with its receptive field (``Predictor.reach``) as margin;
- beats picked on the probability with a margin of the window plus four refractory periods, and kept
  only in the chunk's own range;
- stretches without signal (``ecg.find_gaps``) found with at least a window (2 s) of margin, so that a
  flat stretch of 1 s across a chunk border is found whole.

**Causal detection** (``latency_s``): every beat decided from at most ``latency_s`` seconds of
signal after it, so that detecting the first T seconds of a record gives exactly the beats of the
whole record before T - latency_s (tested). It needs a detector of bounded look-ahead
(``Predictor.lookahead``: a student trained with ``--lookahead-s``), and picks its beats with
``pick_beats_causal``; ``latency_needed_s`` adds up what each step reads ahead. Stretches without
signal are the exception: a flat stretch counts once it has lasted 1 s, so one that crosses the cut
may be found in the whole record and not in its beginning.

**Classes and the verifier.** A detector with a beat classifier (``Predictor.classify``) or a beat
verifier (``Predictor.verify``, tsad.models.verifier) reads each chunk's beats in their context
(``beat_context``: the next beat from the margin, the patient's recent beats carried over in a
``BeatHistory``), so both see what one pass would. The beats the verifier rejects are dropped at the
end (``RecordDetection.dropped``); the classes of the others were read with every detection as a
neighbour, as the verifier's cross-validation (docs/RESULTS.md, section P) scored them.

Only the beats, the gaps, one deviation per second and lead (for the plausibility check) and, when
asked for, the probability (in memory, or written piece by piece by ``prob_sink``) outlive a chunk.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from tsad.data import ecg
from tsad.data.beat_context import MAX_RR_S, BeatHistory, beat_context
from tsad.detection.plausibility import FLAT_PIECE_S, PieceSpread, detection_warnings
from tsad.models.predictor import DetectionError, Predictor, RecordDetection
from tsad.scoring.beats import (
    DEFAULT_REFRACTORY_S,
    causal_pick_lookahead,
    pick_beats,
    pick_beats_causal,
)

DEFAULT_CHUNK_S = 1800.0     # 30 min of ECG per chunk: ~1 MB of windows at 128 Hz, 2 leads


# ---- the windows of a record ----------------------------------------------------------------------

def window_starts(n_samples: int, length: int, hop: int) -> np.ndarray:
    """First samples of the windows that cover ``[0, n_samples)``: every ``hop`` samples, plus one
    window flush with the record's end so the last samples are seen too.

    Raises DetectionError when the record is shorter than one window."""
    if hop <= 0 or hop > length:
        raise DetectionError(f"--hop must lie in 1..{length} samples, got {hop}")
    if n_samples < length:
        raise DetectionError(f"{n_samples} samples, shorter than one window of {length}")
    starts = np.arange(0, n_samples - length + 1, hop, dtype=np.int64)
    if starts[-1] != n_samples - length:
        starts = np.r_[starts, n_samples - length]
    return starts


def taper(length: int, floor: float = 0.05) -> np.ndarray:
    """Weights of a window's samples when overlapping windows are averaged: a Hann shape lifted by
    ``floor`` so a record's first and last samples, which only one window sees, still get a value."""
    return (floor + (1 - floor) * np.hanning(length + 2)[1:-1]).astype(np.float64)


def stitch(probs: np.ndarray, starts: np.ndarray, n_samples: int) -> np.ndarray:
    """Weighted average of overlapping window probabilities (W, L) placed at ``starts``."""
    probs = np.asarray(probs, np.float64)
    length = probs.shape[1]
    w = taper(length)
    total = np.zeros(n_samples)
    weight = np.zeros(n_samples)
    idx = starts[:, None] + np.arange(length)[None, :]
    np.add.at(total, idx.ravel(), (probs * w).ravel())
    np.add.at(weight, idx.ravel(), np.broadcast_to(w, probs.shape).ravel())
    return (total / np.maximum(weight, 1e-12)).astype(np.float32)



@dataclass
class SignalSource:
    """A record to detect in, read a stretch at a time.

    ``read(start, stop)`` returns samples ``[start, stop)`` of every lead of the source, float64 in
    mV, NaN where a sample is invalid; ``lead_names`` are the source's leads in that order."""

    name: str
    fs: float
    n_samples: int
    lead_names: list[str]
    read: Callable[[int, int], np.ndarray]

    @property
    def n_leads(self) -> int:
        return len(self.lead_names)


def array_source(signal, fs: float, name: str = "signal") -> SignalSource:
    """A ``SignalSource`` over an array (n,) or (n, leads) in memory."""
    x = np.asarray(signal, np.float64)
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or not len(x):
        raise DetectionError(f"{name}: expected an array of shape (n,) or (n, leads), got {np.shape(signal)}")
    if not fs or fs <= 0:
        raise DetectionError(f"{name}: the sampling rate must be positive, got {fs}")
    return SignalSource(name, float(fs), len(x), [f"lead {k}" for k in range(x.shape[1])],
                        lambda start, stop: x[start:stop])


def wfdb_source(path) -> SignalSource:
    """A ``SignalSource`` over a WFDB record on disk: only the header is read here, the signal a
    stretch at a time (``wfdb.rdrecord(sampfrom=, sampto=)``)."""
    import wfdb

    folder, name = ecg.record_files(path)
    header = ecg.read_header(folder, name)
    ecg.check_signal_files(folder, header, f"record {folder / name}")
    if not header.sig_len:
        raise ecg.RecordError(f"record {folder / name}: no samples")

    def read(start: int, stop: int) -> np.ndarray:
        try:
            rec = wfdb.rdrecord(str(folder / name), sampfrom=int(start), sampto=int(stop))
        except Exception as err:   # wfdb raises ValueError, OSError, ... on a damaged signal file
            raise ecg.RecordError(f"record {folder / name}: unreadable signal ({type(err).__name__}: {err})") from err
        return np.asarray(rec.p_signal, np.float64)

    return SignalSource(name, float(header.fs), int(header.sig_len), list(header.sig_name), read)


def input_leads(source: SignalSource, channels, leads=None) -> list[int | None]:
    """Which of the source's leads feeds each model input: input ``i`` reads lead ``channels[i]``
    when the source has it (and ``leads``, if given, allows it), else it is zero, as the model saw a
    lead dropped out in training (``--aug-lead-dropout``). A one-lead record feeds the model's first
    input. Raises DetectionError when no input would get a lead."""
    allowed = range(source.n_leads) if leads is None else [int(k) for k in leads]
    bad = [k for k in allowed if not 0 <= k < source.n_leads]
    if bad:
        raise DetectionError(f"{source.name}: has {source.n_leads} lead(s), lead(s) {bad} were asked for")
    inputs = [int(c) if int(c) in allowed else None for c in channels]
    if all(i is None for i in inputs):
        raise DetectionError(f"{source.name}: none of the leads the model reads ({list(channels)}) among "
                             f"the leads given ({list(allowed)})")
    return inputs


def rate_ratio(source_fs: float, model_fs: float) -> Fraction:
    """model_fs / source_fs as a fraction up/down (denominator at most 1000) for the polyphase filter."""
    return Fraction(model_fs / source_fs).limit_denominator(1000)


def model_length(n_samples: int, source_fs: float, model_fs: float) -> int:
    """Samples at the model's rate of a record of ``n_samples`` at ``source_fs``."""
    ratio = rate_ratio(source_fs, model_fs)
    return n_samples * ratio.numerator // ratio.denominator


class _Resampler:
    """Stretches of the source at the model's rate, identical to resampling the whole record at once."""

    def __init__(self, source: SignalSource, model_fs: float, inputs: list[int | None]):
        self.source, self.inputs = source, inputs
        ratio = rate_ratio(source.fs, model_fs)
        self.up, self.down = ratio.numerator, ratio.denominator
        self.n = model_length(source.n_samples, source.fs, model_fs)
        # the polyphase filter's half-length in source samples, and a margin past it
        self.margin = 0 if self.up == self.down else math.ceil(10 * max(self.up, self.down) / self.up) + 2

    def source_range(self, start: int, stop: int) -> tuple[int, int]:
        """The source samples under model samples ``[start, stop)``."""
        return start * self.down // self.up, min(self.source.n_samples, -(-stop * self.down // self.up))

    def read(self, start: int, stop: int, min_margin_s: float) -> tuple[np.ndarray, list, np.ndarray]:
        """Model-rate samples ``[start, stop)`` of the model's inputs, the gaps of the source found in
        that stretch (source sample numbers) and the stretch of the leads read (model rate, before the
        model's inputs are laid out: what the plausibility check measures)."""
        lo, hi = self.source_range(start, stop)
        pad = max(self.margin, math.ceil(min_margin_s * self.source.fs))
        first = max(0, (lo - pad) // self.down * self.down)             # on the model's grid
        last = min(self.source.n_samples, hi + pad)
        raw = self.source.read(first, last)
        used = [k for k in self.inputs if k is not None]
        gaps = [(a + first, b + first) for a, b in ecg.find_gaps(raw[:, used], self.source.fs)]
        held = raw[:, used]
        if not np.isfinite(held).all():
            held = ecg.hold_through_gaps(held)
        if self.up != self.down:
            from scipy.signal import resample_poly  # only a record at another rate than the model's

            held = resample_poly(held, self.up, self.down, axis=0, padtype="line")
        offset = first * self.up // self.down
        held = held[start - offset:stop - offset]
        out = np.zeros((len(held), len(self.inputs)), np.float32)
        for j, k in enumerate(self.inputs):
            if k is not None:
                out[:, j] = held[:, used.index(k)]
        return out, gaps, held


def latency_needed_s(detector: Predictor, source_fs: float) -> float:
    """The least ``latency_s`` that ``detector`` can detect a record at ``source_fs`` with: what its
    probability reads after a sample (``Predictor.lookahead``), what picking a beat reads after its
    peak (``Predictor.causal_wait_s``, by default ``CAUSAL_WAIT_S``) and, at another rate than the model's, the resampling filter's
    half-length. Raises DetectionError for a detector without a bounded look-ahead."""
    fs = detector.geometry.fs
    if detector.lookahead is None:
        reads = f"reads {detector.reach / fs:.2f} s after each sample" if detector.reach else "reads whole windows"
        raise DetectionError(f"{detector.name}: {reads}; causal detection (--latency-s) needs a model of bounded "
                             f"look-ahead, trained with --lookahead-s (the shipped model's causal/ folder is one)")
    samples = int(detector.lookahead) + causal_pick_lookahead(fs, detector.causal_wait_s)
    ratio = rate_ratio(source_fs, fs)
    if ratio.numerator != ratio.denominator:
        # scipy's resample_poly filter: 10 x max(up, down) taps on each side at the upsampled rate,
        # that is 10 x max(up, down) / down model samples, and one for the source grid's offset
        samples += math.ceil(10 * max(ratio.numerator, ratio.denominator) / ratio.denominator) + 1
    return samples / fs


def merge_gaps(gaps) -> list[tuple[int, int]]:
    """Sorted ``[start, end)`` stretches, overlapping or touching ones joined."""
    out: list[list[int]] = []
    for a, b in sorted(gaps):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def detect_stream(detector: Predictor, source: SignalSource, *, leads=None, hop: int | None = None,
                  threshold: float | None = None, refractory_s: float = DEFAULT_REFRACTORY_S,
                  chunk_s: float = DEFAULT_CHUNK_S, keep_prob: bool = True,
                  prob_sink: Callable[[np.ndarray], None] | None = None, progress: bool = False,
                  latency_s: float | None = None):
    """Every beat of ``source`` by a learned ``detector``, a chunk at a time (module docstring).

    Parameters
    ----------
    detector : Predictor
        A learned model (``tsad.models.loader.load``).
    source : SignalSource
        ``wfdb_source(path)`` or ``array_source(signal, fs)``.
    leads : sequence of int, optional
        The source's leads the model may read (default all); a model input whose lead is missing
        gets zeros (``input_leads``).
    hop, threshold, refractory_s
        As ``tsad.detection.records.detect_record``.
    chunk_s : float
        Seconds of ECG per chunk; memory grows with it, not with the record.
    keep_prob : bool
        Keep the whole probability at the model's rate in the result (4 bytes per model sample);
        False for long records.
    prob_sink : callable, optional
        Called with each chunk's probability (float32, in order), e.g. to write it to a file.
    progress : bool
        A progress bar in hours of ECG.
    latency_s : float, optional
        Causal detection (module docstring): every beat decided from at most this many seconds of
        signal after it. Needs a detector of bounded look-ahead and at least ``latency_needed_s``;
        beats are not classified (the classifier reads the next beat, up to MAX_RR_S ahead).

    Returns
    -------
    tsad.detection.records.RecordDetection
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    threshold = detector.threshold if threshold is None else threshold
    g = detector.geometry
    causal = latency_s is not None
    if causal:
        needed = latency_needed_s(detector, source.fs)
        if latency_s + 1e-9 < needed:
            raise DetectionError(f"{source.name}: --latency-s {latency_s:g} is under what {detector.name} needs at "
                                 f"{source.fs:g} Hz: {needed:.3f} s (its look-ahead {detector.lookahead / g.fs:.3f} s, "
                                 f"the beat rule's wait {detector.causal_wait_s:g} s and any resampling)")
        if detector.classify is not None or detector.verify is not None:
            raise DetectionError(f"{detector.name}: classes and the verifier cannot be used with --latency-s (they "
                                 f"read the next beat, up to {MAX_RR_S:g} s ahead); load it without them")
    inputs = input_leads(source, g.channels, leads)
    resampler = _Resampler(source, g.fs, inputs)
    n, length = resampler.n, g.samples
    whole = detector.full_probs is not None          # fully convolutional: no windows, one pass a chunk
    try:   # (a fully convolutional model is held to the same shortest record)
        starts = window_starts(n, length, hop or length // 2)
    except DetectionError as err:
        raise DetectionError(f"{source.name}: {err}") from err
    reach = int(detector.reach)                                         # what it reads past its window
    distance = max(1, round(refractory_s * g.fs))
    margin = length + 4 * distance
    if detector.classify is not None or detector.verify is not None:   # the next beat, up to the cap, is in it
        margin = max(margin, math.ceil(MAX_RR_S * g.fs) + 1)
    piece = max(1, round(FLAT_PIECE_S * g.fs))
    chunk = max(piece, int(chunk_s * g.fs) // piece * piece)          # whole pieces per chunk
    beats, scores, probs_kept, gaps, peak, last_beat = [], [], [], [], 0.0, None
    class_probs, kept, history = [], [], BeatHistory()
    in_context = detector.classify is not None or detector.verify is not None   # beats read in their context
    spread = PieceSpread(piece, len([k for k in inputs if k is not None]))
    bar = tqdm(total=source.n_samples / source.fs / 3600, unit="h", desc=f"{source.name} (h of ECG)",
               disable=None if progress else True, leave=False,
               bar_format="{l_bar}{bar}| {n:.2f}/{total:.2f} h [{elapsed}<{remaining}]")
    for c0 in range(0, n, chunk):
        c1 = min(n, c0 + chunk)
        p0, p1 = max(0, c0 - margin), min(n, c1 + margin)               # probability range
        if whole:
            x0, x1 = max(0, p0 - reach) // detector.unit * detector.unit, min(n, p1 + reach)
            signal, found, held = resampler.read(x0, x1, min_margin_s=length / g.fs)
            prob = detector.full_probs(signal)[p0 - x0:p1 - x0]
        else:
            sel = starts[np.searchsorted(starts, p0 - length, "right"):np.searchsorted(starts, p1)]   # touching it
            x0, x1 = max(0, int(sel[0]) - reach), min(n, int(sel[-1]) + length + reach)
            signal, found, held = resampler.read(x0, x1, min_margin_s=length / g.fs)
            prob = stitch(detector.signal_probs(signal, sel - x0), sel - x0, x1 - x0)[p0 - x0:p1 - x0]
        for a, b in found:                                              # no beat where there is no signal
            a_m, b_m = math.floor(a * g.fs / source.fs), math.ceil(b * g.fs / source.fs)
            prob[max(a_m - p0, 0):max(b_m - p0, 0)] = 0.0
        core = prob[c0 - p0:c1 - p0]
        if causal:   # decided in time order from the last beat of the chunk before: as in one pass
            picked = pick_beats_causal(prob, g.fs, threshold, refractory_s, detector.causal_wait_s, start=c0 - p0,
                                       last_beat=None if last_beat is None else last_beat - p0)
        else:
            picked = pick_beats(prob, g.fs, threshold, refractory_s)
        after = picked[picked >= c1 - p0]                              # the next chunk's first beat
        picked = picked[(picked >= c0 - p0) & (picked < c1 - p0)]
        beats.append(picked + p0)
        if len(picked):
            last_beat = int(picked[-1]) + p0
        if in_context and len(picked):
            # the next beat: in the margin (which reaches past the cap), else the interval is longer
            # than the cap, unless the record ends within the cap (the last beat: no next). The same in
            # one pass and in chunks (whether a chunk ends before the record does must not matter)
            capped = int(picked[-1]) + p0 + math.ceil(MAX_RR_S * g.fs)
            following = int(after[0]) + p0 if len(after) else (capped if capped < n else None)
            waves, rhythm, history = beat_context(signal, picked + p0, offset=x0, next_sample=following,
                                                  history=history, groups=detector.wave_groups)
            if detector.classify is not None:
                class_probs.append(detector.classify(waves, rhythm))
            if detector.verify is not None:
                kept.append(np.asarray(detector.verify(waves, rhythm), bool))
        scores.append(prob[picked])
        peak = max(peak, float(core.max(initial=0.0)))
        s0, s1 = resampler.source_range(c0, c1)
        s1 = s1 if c1 < n else source.n_samples                          # the last chunk: to the very end
        gaps += [(max(a, s0), min(b, s1)) for a, b in found if a < s1 and b > s0]
        spread.add(held[c0 - x0:c1 - x0])
        if keep_prob:
            probs_kept.append(core.copy())
        if prob_sink is not None:
            prob_sink(core)
        bar.update((s1 - s0) / source.fs / 3600)
    bar.close()
    picked = np.concatenate(beats).astype(np.int64)
    prob_all = np.concatenate(probs_kept) if keep_prob else None
    samples = np.clip(np.round(picked * source.fs / g.fs).astype(np.int64), 0, max(source.n_samples - 1, 0))
    scores = np.concatenate(scores).astype(np.float32)
    class_probs = [np.concatenate(class_probs)] if class_probs else []
    dropped = None
    if detector.verify is not None:   # the verifier read every detection in its context; those it rejects go
        keep = np.concatenate(kept) if kept else np.zeros(0, bool)
        dropped, samples, scores = samples[~keep], samples[keep], scores[keep]
        class_probs = [p[keep] for p in class_probs]
    gaps = merge_gaps(gaps)
    warnings = detection_warnings(samples, source.fs, source.n_samples, spread=spread.finish(), signal_fs=g.fs)
    if not len(samples) and dropped is not None and len(dropped):
        warnings[0] += f" (its verifier dropped all {len(dropped)} detections: detect.py --no-verifier keeps them)"
    elif not len(samples):   # why: the model's probability never rose above the threshold
        warnings[0] += (f" (the model's probability peaks at {peak:.3g}, under the threshold {threshold:g}: a model "
                        f"that has not learned, see its detection.json, or a threshold too high for it)")
    classes = probs = None
    if detector.classify is not None:
        probs = (np.concatenate(class_probs) if class_probs else np.zeros((0, len(detector.classes)))).astype(np.float32)
        classes = np.asarray(detector.classes, dtype=object)[probs.argmax(axis=1)] if len(probs) else \
            np.zeros(0, dtype=object)
    return RecordDetection(source.name, source.fs, source.n_samples, samples, scores, prob_all, g.fs,
                           time.perf_counter() - started, warnings, gaps, leads=inputs, classes=classes,
                           class_probs=probs, class_names=tuple(detector.classes) if classes is not None else (),
                           dropped=dropped)
