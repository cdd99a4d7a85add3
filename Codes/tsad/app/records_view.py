"""Detection folders and whole records as plain data, for the app's Records page (``tsad.app.records_page``)
and the tests: a folder's files and metadata (``DetectionFolder``), one record with its reference
beats, detections and matches (``RecordView``), moving from error to error, the folder's per-record
table (scored on the fly when evaluate_records.py has not run). No streamlit here."""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tsad.core.geometry import tolerance_samples
from tsad.data import ecg
from tsad.detection.folders import (
    DEFAULT_EXT,
    DETECTIONS_DIR,
    DETECTIONS_META,
    probs_npy_name,
    read_detection_meta,
    record_warnings,
)
from tsad.detection.plausibility import IMPLAUSIBLE_COLUMN, mark_implausible
from tsad.models.predictor import DetectionError
from tsad.scoring import beats, ec57

RECORDS_CSV = "records.csv"    # evaluate_records.py's per-record table in the detection folder
SUMMARY_CSV = "summary.csv"    # and its gross / average summary
SHOWN_LEADS = 2
WINDOW_LENGTHS_S = (5, 10, 20, 30, 60)
DEFAULT_WINDOW_S = 10
# a jump puts the error this far from the left edge of the view, so the beats before it show too
ERROR_LEAD_S = 1.0


# --- detection folders and records (no streamlit) ---------------------------------------------

@dataclass(frozen=True)
class DetectionFolder:
    """A folder written by detect.py: which model, where its records are, which records it holds."""

    path: Path
    run: str
    input_dir: Path
    ext: str
    meta: dict
    records: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.run} ({self.path.name})" if self.path.name != self.run else self.run


def workspace_folders(ws) -> list[Path]:
    """Every ``<workspace>/detections/<name>/`` that holds a detections.json, by name."""
    root = Path(ws.root) / DETECTIONS_DIR
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / DETECTIONS_META).is_file())


def read_folder(path) -> DetectionFolder:
    """The folder's detections.json and detection files.

    Raises
    ------
    DetectionError
        The folder or its detections.json is missing or unreadable, or names no input_dir.
    """
    path = Path(path)
    if not path.is_dir():
        raise DetectionError(f"{path}: detection folder not found")
    meta = read_detection_meta(path)
    if not meta:
        raise DetectionError(f"{path}: no {DETECTIONS_META} (not a folder written by detect.py)")
    if not meta.get("input_dir"):
        raise DetectionError(f"{path / DETECTIONS_META}: names no input_dir (the records' folder)")
    ext = str(meta.get("ext") or DEFAULT_EXT)
    records = tuple(sorted(p.name[: -len(ext) - 1] for p in path.glob(f"*.{ext}")))
    run = str(meta.get("run") or path.name)
    return DetectionFolder(path, run, Path(meta["input_dir"]), ext, meta, records)


def folder_files(folder: DetectionFolder, record: str) -> list[Path]:
    """Every file the view of ``record`` reads: its modification times key the caches."""
    return [folder.path / DETECTIONS_META, folder.path / f"{record}.{folder.ext}",
            folder.path / probs_npy_name(record),
            *(folder.input_dir / f"{record}.{suffix}" for suffix in ("hea", "dat", "atr"))]


@dataclass
class RecordView:
    """One record with its detections, in the record's own sample numbers at ``fs``."""

    record: str
    fs: float
    signal: np.ndarray               # (n, leads) in physical units
    lead_names: list[str]
    ref: np.ndarray | None           # reference beats; None without an .atr
    det: np.ndarray
    match: beats.Match | None
    prob: np.ndarray | None          # the model's combined probability at ``prob_fs``
    prob_fs: float | None
    ref_symbols: np.ndarray | None = None   # the .atr symbol of each reference beat
    det_symbols: np.ndarray | None = None   # each detected beat's class, when the detector classifies

    @property
    def classified(self) -> bool:
        return self.det_symbols is not None

    def class_counts(self) -> dict[str, int]:
        """Detected beats per AAMI class (a classifying detector's), in the classes' order."""
        if self.det_symbols is None:
            return {}
        return {c: int(np.count_nonzero(self.det_symbols == c)) for c in ecg.AAMI_CLASSES}

    def class_times(self, beat_class: str) -> np.ndarray:
        """Seconds of the detected beats the detector called ``beat_class``, in order."""
        if self.det_symbols is None:
            return np.zeros(0)
        return self.det[self.det_symbols == beat_class] / self.fs

    def misclassified(self) -> pd.DataFrame:
        """The matched beats whose detected class is not the reference's AAMI class: time, sample,
        reference symbol, reference class, detected class."""
        columns = ["time_s", "sample", "symbol", "class", "detected"]
        if self.det_symbols is None or self.match is None or self.ref_symbols is None:
            return pd.DataFrame(columns=columns)
        ref_i, det_i = np.asarray(self.match.ref_index, int), np.asarray(self.match.det_index, int)
        symbols = np.asarray(self.ref_symbols, dtype=object)[ref_i]
        truth = np.array([ecg.beat_class(x) for x in symbols], dtype=object)
        said = self.det_symbols[det_i]
        wrong = truth != said
        samples = self.ref[ref_i][wrong]
        order = np.argsort(samples, kind="stable")
        return pd.DataFrame({"time_s": np.round(samples / self.fs, 3), "sample": samples,
                             "symbol": symbols[wrong].astype(str), "class": truth[wrong].astype(str),
                             "detected": said[wrong].astype(str)}).iloc[order].reset_index(drop=True)

    @property
    def duration_s(self) -> float:
        return len(self.signal) / self.fs

    def misses(self) -> np.ndarray:
        """Sample numbers of the reference beats no detection matched."""
        if self.match is None:
            return np.zeros(0, np.int64)
        return np.delete(self.ref, self.match.ref_index)

    def missed_symbols(self) -> np.ndarray:
        """The .atr symbol of each missed beat, in the order of ``misses()`` ("" when unknown)."""
        if self.match is None:
            return np.zeros(0, dtype=object)
        if self.ref_symbols is None:
            return np.full(self.match.fn, "", dtype=object)
        return np.delete(np.asarray(self.ref_symbols, dtype=object), self.match.ref_index)

    def missed_beats(self, start_s: float = 0.0, seconds: float = math.inf) -> pd.DataFrame:
        """The missed beats in ``[start_s, start_s + seconds)``: time, sample, symbol, AAMI class."""
        samples, symbols = self.misses(), self.missed_symbols()
        inside = (samples >= start_s * self.fs) & (samples < (start_s + seconds) * self.fs)
        return pd.DataFrame({"time_s": np.round(samples[inside] / self.fs, 3), "sample": samples[inside],
                             "symbol": symbols[inside].astype(str),
                             "class": [ecg.beat_class(x) for x in symbols[inside]]})

    def misses_by_class(self) -> dict[str, int]:
        """Missed beats per reported class (``ecg.REPORTED_CLASSES``), classes without a miss left out."""
        symbols = self.missed_symbols()
        counts = {name: int(sum(x in members for x in symbols))
                  for name, members in ecg.REPORTED_CLASSES.items()}
        return {name: n for name, n in counts.items() if n}

    def miss_times(self, beat_class: str) -> np.ndarray:
        """Seconds of the missed beats of ``beat_class`` (a key of ``ecg.REPORTED_CLASSES``), in order."""
        members = ecg.REPORTED_CLASSES[beat_class]
        symbols = self.missed_symbols()
        keep = np.fromiter((x in members for x in symbols), bool, len(symbols))
        return self.misses()[keep] / self.fs

    def false_detections(self) -> np.ndarray:
        if self.match is None:
            return np.zeros(0, np.int64)
        return np.delete(self.det, self.match.det_index)

    def error_times(self) -> np.ndarray:
        """Seconds of every miss and false detection, in order."""
        return np.sort(np.concatenate([self.misses(), self.false_detections()])) / self.fs

    def in_view(self, start_s: float, seconds: float) -> dict:
        """Counts of the beats in ``[start_s, start_s + seconds)``."""
        lo, hi = start_s * self.fs, (start_s + seconds) * self.fs

        def count(samples):
            return int(np.count_nonzero((samples >= lo) & (samples < hi)))

        shown = {"detected": count(self.det)}
        if self.ref is not None:
            shown.update(reference=count(self.ref), missed=count(self.misses()),
                         false=count(self.false_detections()))
        return shown


def _read_signal(folder: Path, name: str):
    import wfdb

    where = f"record {folder / name}"
    if not (folder / f"{name}.hea").is_file():
        raise ecg.RecordError(f"{where}: header file {name}.hea not found")
    try:
        header = wfdb.rdheader(str(folder / name))
    except Exception as err:  # wfdb raises ValueError, IndexError, ... on a malformed header
        raise ecg.RecordError(f"{where}: unreadable header ({err})") from err
    channels = tuple(range(min(SHOWN_LEADS, header.n_sig)))
    return ecg.read_record(folder / name, channels=channels, fs=float(header.fs), require_annotations=False)


def _read_probs(path: Path) -> np.ndarray | None:
    if not path.is_file():
        return None
    try:
        prob = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise DetectionError(f"{path}: unreadable probabilities ({err})") from err
    if prob.ndim != 1:
        raise DetectionError(f"{path}: expected one probability per sample, got shape {prob.shape}")
    return prob.astype(np.float32)


def load_record_view(folder: DetectionFolder, record: str, annotator: str = "atr") -> RecordView:
    """The record's signal, reference beats (when it has ``<record>.<annotator>``), the folder's
    detections of it matched within 150 ms, and the model's probability when saved.

    Raises
    ------
    DetectionError, ec57.ScoringError, ecg.RecordError
        One line naming the file: the folder lacks the record, or a file is missing or unreadable.
    """
    if record not in folder.records:
        raise DetectionError(f"{folder.path}: no detections of record {record} ({record}.{folder.ext}); "
                             f"run detect.py on it")
    if not folder.input_dir.is_dir():
        raise DetectionError(f"{folder.path / DETECTIONS_META}: its input_dir {folder.input_dir} "
                             "is not a folder")
    rec = _read_signal(folder.input_dir, record)
    det, det_symbols = ec57.read_detections(folder.path, record, folder.ext, symbols=True)
    # a folder of a classifying detector says so (detections.json "classes"); others write N for all
    det_symbols = det_symbols if folder.meta.get("classes") else None
    ref = match = symbols = None
    if (folder.input_dir / f"{record}.{annotator}").is_file():
        ref, symbols, _, _ = ec57.read_reference(folder.input_dir / record, annotator)
        match = beats.match_beats(ref, det, tolerance_samples(rec.fs))
    prob = _read_probs(folder.path / probs_npy_name(record))
    prob_fs = None
    if prob is not None:
        geometry = folder.meta.get("geometry") or {}
        prob_fs = float(geometry.get("fs") or len(prob) * rec.fs / rec.n_samples)
    names = rec.sig_names or [f"lead {c + 1}" for c in range(rec.signal.shape[1])]
    return RecordView(record, rec.fs, rec.signal, list(names), ref, det, match, prob, prob_fs, symbols, det_symbols)


def error_start(time_s: float, max_start: int) -> int:
    """The whole-second start of a view that shows an error at ``time_s`` near its left edge."""
    return int(min(max_start, max(0, math.floor(time_s - ERROR_LEAD_S))))


def next_error_start(error_times: np.ndarray, start: int, max_start: int) -> int | None:
    """Start of the view of the first error that would move the view forwards; None when none."""
    for t in error_times:
        target = error_start(float(t), max_start)
        if target > start:
            return target
    return None


def previous_error_start(error_times: np.ndarray, start: int, max_start: int) -> int | None:
    """Start of the view of the last error that would move the view backwards; None when none."""
    for t in error_times[::-1]:
        target = error_start(float(t), max_start)
        if target < start:
            return target
    return None


def folder_table(folder: DetectionFolder, annotator: str = "atr") -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(per-record table, summary, where they come from): evaluate_records.py's records.csv and
    summary.csv when present, else scored now over the whole records that have reference beats."""
    saved, summary_path = folder.path / RECORDS_CSV, folder.path / SUMMARY_CSV
    if saved.is_file():
        table = _read_csv(saved)
        summary = _read_csv(summary_path) if summary_path.is_file() else ec57.summarise(table)
        if IMPLAUSIBLE_COLUMN not in table:   # written before evaluate_records.py flagged records
            table = mark_implausible(table, record_warnings(folder.meta))
        return table, summary, f"{saved.name} and {summary_path.name} (evaluate_records.py)"
    annotated = [r for r in folder.records if (folder.input_dir / f"{r}.{annotator}").is_file()]
    if not annotated:
        return pd.DataFrame(), pd.DataFrame(), "no record of this folder has reference beats"
    table = ec57.score_folder(folder.path, folder.input_dir, folder.ext, records=annotated,
                              annotator=annotator)
    return mark_implausible(table, record_warnings(folder.meta)), ec57.summarise(table), (
        f"scored now over the whole records ({len(annotated)} of {len(folder.records)} have reference beats)")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DetectionError(f"{path}: not a readable table ({err})") from err


def detect_commands(ws, input_dir: str = "PATH/TO/RECORDS", run: str = "xqrs") -> str:
    """The two commands that make and score a detection folder of the workspace."""
    root = Path(ws.root)
    out = root / DETECTIONS_DIR / run
    return (f"python Codes/Inference/detect.py --run {run} --input-dir {shlex.quote(str(input_dir))} "
            f"--workspace {shlex.quote(str(root))}\n"
            f"python Codes/Inference/evaluate_records.py --detections {shlex.quote(str(out))} "
            f"--input-dir {shlex.quote(str(input_dir))}")
