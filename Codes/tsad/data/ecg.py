"""WFDB records -> fixed-rate signals -> non-overlapping windows with per-sample beat labels.

wfdb is imported inside the functions that read files, so the teacher and the metrics work on
machines that lack it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Beat annotation codes of the PhysioNet/WFDB annotation scheme; everything else (~ | + x [ ] ! "
# and friends) marks rhythm, signal quality or comments, not a heartbeat.
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
# The heartbeat classes of ANSI/AAMI EC57 (1998, R2008; the mapping of MIT-BIH symbols used by de
# Chazal et al., IEEE TBME 51(7), 2004): N normal, bundle branch block and escape beats, S
# supraventricular ectopic, V ventricular ectopic, F fusion, Q paced and unclassifiable. The one
# table of classes: every per-class figure, the class scoring (tsad.scoring.classes) and the
# "abnormal" label mode derive from it; every beat symbol (BEAT_SYMBOLS) is in exactly one class.
AAMI_CLASSES = {"N": frozenset("NLRejB"), "S": frozenset("AaJSn"), "V": frozenset("VEr"), "F": frozenset("F"),
                "Q": frozenset("/fQ?")}
# Reported beside the five AAMI classes (they lie within Q and N): paced beats, left and right
# bundle branch block beats, which detectors tuned on normal beats tend to miss.
REPORTED_CLASSES = {**AAMI_CLASSES, "paced": frozenset("/"), "L": frozenset("L"), "R": frozenset("R")}
# A partition of the beat classes for choosing a detection threshold (records.choose_threshold):
# the reported classes without overlap (L and R out of N), so that each morphology's sensitivity
# counts once and the misses of a rare one cannot hide among the normal beats.
BALANCED_CLASSES = {"N": AAMI_CLASSES["N"] - REPORTED_CLASSES["L"] - REPORTED_CLASSES["R"],
                    "L": REPORTED_CLASSES["L"], "R": REPORTED_CLASSES["R"], "S": AAMI_CLASSES["S"],
                    "V": AAMI_CLASSES["V"], "F": AAMI_CLASSES["F"], "Q": AAMI_CLASSES["Q"]}
# Per-sample class targets (``class_codes``): 0 where no beat is, else 1 + the class's place here.
CLASS_CODES = {name: k + 1 for k, name in enumerate(AAMI_CLASSES)}
# The AAMI normal class; every other beat counts as abnormal.
NORMAL_SYMBOLS = AAMI_CLASSES["N"]
LABEL_MODES = ("beats", "all", "abnormal")
# Bytes per sample of WFDB's storage formats, to spot a truncated signal file before reading it.
_FORMAT_BYTES = {"8": 1, "16": 2, "24": 3, "32": 4, "61": 2, "80": 1, "160": 2, "212": 1.5,
                 "310": 4 / 3, "311": 4 / 3}


class RecordError(ValueError):
    """A record that cannot be turned into windows; the message names the record."""


@dataclass
class Record:
    """One WFDB record's signal (resampled), its rates and its annotations."""
    name: str
    signal: np.ndarray                  # (n, C) float32, physical units, at ``fs``
    fs: float
    source_fs: float
    ann_samples: np.ndarray             # annotation positions at ``fs``
    ann_symbols: list[str] = field(default_factory=list)
    sig_names: list[str] = field(default_factory=list)
    # stretches without signal (NaN, or every lead flat), [start, end) at the record's own rate;
    # only read_record(allow_gaps=True) keeps such a record (NaN samples hold the last valid value)
    gaps: list[tuple[int, int]] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        """Samples in the (resampled) signal."""
        return len(self.signal)


@dataclass
class Windows:
    """A record cut into windows: series, per-sample labels, start samples and symbols."""
    series: np.ndarray                  # (W, L, C) float32
    labels: np.ndarray                  # (W, L) uint8
    starts: np.ndarray                  # (W,) first sample of each window at the record's fs
    symbols: list[str]                  # per window: "pos:symbol" items of every annotation in it


def label_mask(symbols, mode: str) -> np.ndarray:
    """Which annotations become a 1 in the label vector under ``mode``."""
    symbols = np.asarray(symbols, dtype=object)
    if mode == "all":
        return np.ones(len(symbols), bool)
    is_beat = np.array([s in BEAT_SYMBOLS for s in symbols], bool)
    if mode == "beats":
        return is_beat
    if mode == "abnormal":
        return is_beat & np.array([s not in NORMAL_SYMBOLS for s in symbols], bool)
    raise ValueError(f"unknown label mode {mode!r}; choose one of {LABEL_MODES}")


VF_ON, VF_OFF = "[", "]"          # the start and end of ventricular flutter or fibrillation


def vf_episodes(samples, symbols, end: int | None = None) -> np.ndarray:
    """(k, 2) [start, end] sample numbers of the ventricular flutter or fibrillation episodes that
    annotations mark (VF_ON ... VF_OFF), in the annotations' own samples. An episode left open runs
    to ``end`` (default: the last annotation); a VF_OFF without a VF_ON before it is ignored. EC57
    scores no beat inside them (PhysioNet ``bxb``: detections during reference-marked VF are not
    counted, and the reference has no beats there)."""
    episodes, start = [], None
    for at, sym in zip(np.asarray(samples, np.int64).tolist(), symbols):
        if sym == VF_ON and start is None:
            start = at
        elif sym == VF_OFF and start is not None:
            episodes.append((start, at))
            start = None
    if start is not None:
        last = int(np.max(samples)) if len(samples) else start
        episodes.append((start, end if end is not None else last))
    return np.asarray(episodes, np.int64).reshape(-1, 2)


def beat_annotations(record) -> tuple[np.ndarray, np.ndarray]:
    """(sample numbers, symbols) of the beat annotations of a ``Record`` (``read_record`` keeps every
    annotation: rhythm, noise and comment marks too)."""
    keep = label_mask(record.ann_symbols, "beats")
    return np.asarray(record.ann_samples, np.int64)[keep], np.asarray(record.ann_symbols, dtype=object)[keep]


def outside_episodes(positions, episodes: np.ndarray) -> np.ndarray:
    """Which of ``positions`` lie outside every [start, end] of ``episodes`` (``vf_episodes``)."""
    positions = np.asarray(positions, np.int64)
    keep = np.ones(len(positions), bool)
    for start, end in np.asarray(episodes, np.int64).reshape(-1, 2):
        keep &= (positions < start) | (positions > end)
    return keep


def beat_class(symbol: str) -> str:
    """The AAMI class (N, S, V, F or Q) of an annotation symbol; "-" for a symbol in no class."""
    for name, symbols in AAMI_CLASSES.items():
        if symbol in symbols:
            return name
    return "-"


def class_codes(annotations: str, length: int) -> np.ndarray:
    """(length,) uint8 per-sample class targets of one window from its ``windows.csv`` annotations
    (``"pos:symbol"`` items at the window's rate): CLASS_CODES of each beat's AAMI class at the
    beat's sample, 0 elsewhere (and for non-beat annotations)."""
    out = np.zeros(length, np.uint8)
    for item in str(annotations or "").split():
        pos, _, symbol = item.partition(":")
        name = beat_class(symbol)
        if name != "-" and 0 <= int(pos) < length:
            out[int(pos)] = CLASS_CODES[name]
    return out


def record_files(path) -> tuple[Path, str]:
    """Accepts 'dir/800', 'dir/800.hea' or 'dir/800.dat'; returns (folder, record name)."""
    path = Path(path)
    if path.suffix in (".hea", ".dat", ".atr"):
        path = path.with_suffix("")
    return path.parent, path.name


def check_signal_files(folder: Path, header, where: str) -> None:
    expected: dict[str, float] = {}
    for k, fname in enumerate(header.file_name or []):
        per_frame = (header.samps_per_frame or [1] * header.n_sig)[k] or 1
        width = _FORMAT_BYTES.get(str(header.fmt[k]), 0)
        offset = (header.byte_offset or [0] * header.n_sig)[k] or 0
        expected[fname] = expected.get(fname, offset) + width * per_frame * (header.sig_len or 0)
    for fname, need in expected.items():
        path = folder / fname
        if not path.is_file():
            raise RecordError(f"{where}: signal file {fname} not found")
        if path.stat().st_size < int(need):
            raise RecordError(f"{where}: signal file {fname} is truncated ({path.stat().st_size} bytes, "
                              f"the header announces {int(need)})")


# A stretch where every lead holds one value for this long is no ECG (a lead off, a lost signal).
MIN_FLAT_GAP_S = 1.0


def find_gaps(signal: np.ndarray, fs: float, min_flat_s: float = MIN_FLAT_GAP_S) -> list[tuple[int, int]]:
    """Stretches ``[start, end)`` of a (n, C) signal without ECG: any lead NaN or infinite, or every
    lead constant for at least ``min_flat_s`` seconds. Sorted and merged."""
    x = np.asarray(signal, np.float64)
    x = x[:, None] if x.ndim == 1 else x
    bad = ~np.isfinite(x).all(axis=1)
    if len(x) > 1:
        same = np.r_[False, (np.diff(x, axis=0) == 0).all(axis=1)]     # equal to the sample before
        flat = np.zeros(len(x), bool)
        for start, end in _runs(same):
            if end - start + 1 >= min_flat_s * fs:
                flat[start - 1:end] = True                             # the run's first value too
        bad |= flat
    return _runs(bad)


def hold_through_gaps(signal: np.ndarray) -> np.ndarray:
    """The signal with every NaN or infinite sample replaced by its lead's last valid value (the next
    one at the start), so that resampling and a model's windows see no step into the gap."""
    import pandas as pd

    x = np.asarray(signal, np.float64)
    one = x.ndim == 1
    frame = pd.DataFrame(x[:, None] if one else x).replace([np.inf, -np.inf], np.nan).ffill().bfill().fillna(0.0)
    out = frame.to_numpy()
    return out[:, 0] if one else out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` of every run of True in a boolean array."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def read_record(path, channels=(0, 1), fs: float = 128, annotator: str = "atr",
                require_annotations: bool = True, allow_gaps: bool = False) -> Record:
    """Reads a WFDB record and its annotations, resampled to ``fs`` with the annotations moved along.
    A record with NaN samples is refused, unless ``allow_gaps``: then its stretches without signal
    (``find_gaps``) are listed in ``Record.gaps`` (at the record's own rate) and its NaN samples hold
    the last valid value (``hold_through_gaps``)."""
    import wfdb
    import wfdb.processing

    folder, name = record_files(path)
    where = f"record {folder / name}"
    if not (folder / f"{name}.hea").is_file():
        raise RecordError(f"{where}: header file {name}.hea not found")
    try:
        header = wfdb.rdheader(str(folder / name))
    except Exception as err:  # wfdb raises ValueError, IndexError, ... on a malformed header
        raise RecordError(f"{where}: unreadable header ({err})") from err
    check_signal_files(folder, header, where)
    channels = list(channels)
    if header.n_sig < len(channels) or max(channels) >= header.n_sig:
        raise RecordError(f"{where}: has {header.n_sig} lead(s), channels {channels} were asked for")
    if require_annotations and not (folder / f"{name}.{annotator}").is_file():
        raise RecordError(f"{where}: annotation file {name}.{annotator} not found")
    try:
        rec = wfdb.rdrecord(str(folder / name), channels=channels)
    except Exception as err:
        raise RecordError(f"{where}: unreadable signal ({type(err).__name__}: {err})") from err
    signal = rec.p_signal
    if signal is None or len(signal) == 0:
        raise RecordError(f"{where}: no samples")
    bad = np.isnan(signal)
    gaps = []
    if allow_gaps:
        gaps = find_gaps(signal, float(rec.fs))
        signal = hold_through_gaps(signal)
        bad = np.zeros(signal.shape, bool)
    if bad.any():
        raise RecordError(f"{where}: {int(bad.sum())} NaN samples (invalid values) in leads "
                          f"{sorted(set(np.nonzero(bad)[1].tolist()))}")
    if require_annotations:
        try:
            ann = wfdb.rdann(str(folder / name), annotator)
        except Exception as err:
            raise RecordError(f"{where}: unreadable {annotator} annotations ({err})") from err
    else:
        ann = wfdb.Annotation(name, annotator, sample=np.array([], np.int64), symbol=[])
    source_fs = float(rec.fs)
    if source_fs != fs:
        signal, ann = wfdb.processing.resample_multichan(signal, ann, source_fs, fs)
    samples = np.asarray(ann.sample, np.int64)
    keep = (samples >= 0) & (samples < len(signal))
    return Record(name=name, signal=np.ascontiguousarray(signal, np.float32), fs=float(fs),
                  source_fs=source_fs, ann_samples=samples[keep],
                  ann_symbols=[s for s, k in zip(ann.symbol, keep) if k], sig_names=list(rec.sig_name),
                  gaps=gaps)


def make_windows(record: Record, seconds: float = 2, labels: str = "beats") -> Windows:
    """Non-overlapping windows; the last partial window is dropped."""
    length = int(round(seconds * record.fs))
    n_windows = record.n_samples // length
    if n_windows == 0:
        raise RecordError(f"record {record.name}: {record.n_samples} samples, shorter than one "
                          f"{seconds:g} s window ({length} samples)")
    series = record.signal[: n_windows * length].reshape(n_windows, length, -1)
    out = np.zeros((n_windows, length), np.uint8)
    samples = record.ann_samples
    inside = samples < n_windows * length
    mask = label_mask(record.ann_symbols, labels) & inside
    out[samples[mask] // length, samples[mask] % length] = 1
    per_window: list[list[str]] = [[] for _ in range(n_windows)]
    for s, sym in zip(samples[inside], np.asarray(record.ann_symbols, dtype=object)[inside]):
        per_window[s // length].append(f"{s % length}:{sym}")
    return Windows(series=np.ascontiguousarray(series), labels=out,
                   starts=np.arange(n_windows, dtype=np.int64) * length,
                   symbols=[" ".join(w) for w in per_window])


def resample_series(signal: np.ndarray, fs: float, fs_target: float = 128) -> np.ndarray:
    """Resamples an (n, C) array with wfdb's resampler (for uploads without annotations)."""
    import wfdb.processing

    if fs == fs_target:
        return np.asarray(signal, np.float32)
    cols = [wfdb.processing.resample_sig(np.asarray(signal[:, c], np.float64), fs, fs_target)[0]
            for c in range(signal.shape[1])]
    return np.stack(cols, axis=1).astype(np.float32)


def read_header(folder: Path, name: str):
    """The header of record ``folder/name`` (``wfdb.rdheader``); RecordError naming the file when it
    is missing or malformed."""
    import wfdb

    if not (folder / f"{name}.hea").is_file():
        raise RecordError(f"record {folder / name}: header file {name}.hea not found")
    try:
        return wfdb.rdheader(str(folder / name))
    except Exception as err:  # wfdb raises ValueError, IndexError, ... on a malformed header
        raise RecordError(f"record {folder / name}: unreadable header ({err})") from err
