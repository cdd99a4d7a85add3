"""The app's Records page: one model's whole-record detections against the reference beats.

A detection folder is what ``Codes/Inference/detect.py`` writes (``<workspace>/detections/<run>/``
by default): ``<record>.<ext>`` annotation files, ``detections.json`` (the model, the settings and
the ``input_dir`` of the records), ``<record>_probs.npy`` for learned models, and, once
``Codes/Inference/evaluate_records.py`` has run, ``records.csv`` and ``summary.csv``. The page
scrolls through a record with its reference beats and the detections marked as matches, misses
and false detections (matched one-to-one within 150 ms, ``tsad.beats``), can jump from one error
to the next, shows the class of every missed beat (its ``.atr`` symbol and AAMI class) and jumps to
the next miss of a chosen class, and shows the folder's per-record table and summary (scored on the
fly when evaluate_records.py has not run). A record without ``.atr`` shows its detections only.

The first part is plain data (tests call it directly); the second draws the page. Only Codes/GUI
and the tests import this module (it needs streamlit). Every error the user can cause (no folder,
a folder without the record, an unreadable file) is one st.error line naming the file.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from . import beats, ec57, ecg
from .app import LOAD_ERRORS, figure_png, run_stage  # DetectionError, ScoringError, RecordError: ValueErrors
from .records import (DEFAULT_EXT, DETECTIONS_DIR, DETECTIONS_META, IMPLAUSIBLE_COLUMN, DetectionError,
                      mark_implausible, probs_npy_name, read_detection_meta, record_warnings)

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
    det = ec57.read_detections(folder.path, record, folder.ext)
    ref = match = symbols = None
    if (folder.input_dir / f"{record}.{annotator}").is_file():
        ref, symbols, _, _ = ec57.read_reference(folder.input_dir / record, annotator)
        match = beats.match_beats(ref, det, beats.tolerance_samples(rec.fs))
    prob = _read_probs(folder.path / probs_npy_name(record))
    prob_fs = None
    if prob is not None:
        geometry = folder.meta.get("geometry") or {}
        prob_fs = float(geometry.get("fs") or len(prob) * rec.fs / rec.n_samples)
    names = rec.sig_names or [f"lead {c + 1}" for c in range(rec.signal.shape[1])]
    return RecordView(record, rec.fs, rec.signal, list(names), ref, det, match, prob, prob_fs, symbols)


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


# --- the page (streamlit) ----------------------------------------------------------------------

FOLDER_KEY = "tsad_records_folder"
OTHER_KEY = "tsad_records_other"
RECORD_KEY = "tsad_records_record"
LENGTH_KEY = "tsad_records_length"
START_KEY = "tsad_records_start"          # the start second; the two widgets below follow it
SLIDER_KEY = "tsad_records_start_slider"
NUMBER_KEY = "tsad_records_start_number"
SHOWN_KEY = "tsad_records_shown"
MISS_CLASS_KEY = "tsad_records_miss_class"


def _stamp(*files: Path) -> tuple:
    return tuple(p.stat().st_mtime_ns if p.is_file() else None for p in files)


def _folder_version(path: Path) -> tuple:
    """Changes when a file of the folder is written or replaced (atomically, by rename)."""
    return (path.stat().st_mtime_ns if path.is_dir() else None,
            *_stamp(path / DETECTIONS_META, path / RECORDS_CSV, path / SUMMARY_CSV))


@st.cache_data(show_spinner=False, max_entries=32)
def _folder(path: str, version: tuple) -> DetectionFolder:
    return read_folder(path)


@st.cache_resource(show_spinner="Reading the record…", max_entries=4)
def _view(path: str, record: str, version: tuple) -> RecordView:
    return load_record_view(read_folder(path), record)


@st.cache_data(show_spinner="Scoring the records…", max_entries=8)
def _tables(path: str, version: tuple):
    return folder_table(read_folder(path))


@st.cache_data(show_spinner=False, max_entries=64)
def _segment_png(path: str, record: str, version: tuple, start: int, seconds: int) -> bytes:
    from .plots import record_segment_figure

    view = _view(path, record, version)
    m = view.match
    fig = record_segment_figure(view.signal, view.fs, start, seconds, ref=view.ref, det=view.det,
                                matched_ref=None if m is None else m.ref_index,
                                matched_det=None if m is None else m.det_index,
                                prob=view.prob, prob_fs=view.prob_fs, lead_names=view.lead_names,
                                ref_symbols=view.ref_symbols,
                                title=f"{record} · {Path(path).name} · {start}-{start + seconds} s")
    return figure_png(fig)


def choose_folder(ws) -> DetectionFolder | None:
    """The model: a detection folder of the workspace, or one typed in; None (with the commands
    that make one) when there is none."""
    paths = [str(p) for p in workspace_folders(ws)]
    typed = bool(st.session_state.get(OTHER_KEY))
    with st.expander("A detection folder outside the workspace", expanded=typed):
        other = st.text_input("Another detection folder (detect.py --out)", key=OTHER_KEY,
                              help=f"Folders under {Path(ws.root) / DETECTIONS_DIR} are listed without it.")
    other = other.strip()
    if other:
        paths.append(str(Path(other).expanduser()))
    if not paths:
        run_stage(f"No detection folder in this workspace ({Path(ws.root) / DETECTIONS_DIR}/<run>/): "
                  "detect the beats of some WFDB records, then score them:", detect_commands(ws))
        return None
    folders = {}
    for path in paths:
        try:
            folders[path] = _folder(path, _folder_version(Path(path)))
        except LOAD_ERRORS as err:
            st.error(str(err))
    if not folders:
        return None
    if st.session_state.get(FOLDER_KEY) not in folders:
        st.session_state[FOLDER_KEY] = next(iter(folders))
    chosen = st.selectbox("Model (detection folder)", list(folders), key=FOLDER_KEY,
                          format_func=lambda p: folders[p].label)
    return folders[chosen]


def choose_record(folder: DetectionFolder) -> str | None:
    """A record of the chosen folder (the choice stays when another model holds it too)."""
    if not folder.records:
        st.error(f"{folder.path}: no detection files *.{folder.ext}")
        return None
    if st.session_state.get(RECORD_KEY) not in folder.records:
        st.session_state[RECORD_KEY] = folder.records[0]
    return st.selectbox("Record", list(folder.records), key=RECORD_KEY)


def folder_summary(folder: DetectionFolder) -> None:
    """What made the folder (detections.json), with the folder's gross/average figures."""
    meta = folder.meta
    parts = [f"**{folder.run}** ({meta.get('kind', '?')})", meta.get("description") or ""]
    if meta.get("threshold") is not None and meta.get("kind") != "classical":
        parts.append(f"threshold {meta['threshold']}")
    if meta.get("real_time_factor"):
        parts.append(f"{meta['real_time_factor']}x real time")
    st.markdown(" · ".join(p for p in parts if p))
    st.caption(f"Detections: `{folder.path}` · records: `{folder.input_dir}` · "
               f"{len(folder.records)} record(s), "
               f"extension .{folder.ext}")
    for message in meta.get("run_warnings") or []:
        st.warning(f"{folder.run}: its detection threshold was tuned with a warning: {message}")
    implausible = sorted(r for r, found in record_warnings(meta).items() if found)
    if implausible:
        st.warning(f"Implausible detections (detect.py's warnings) in {len(implausible)} of "
                   f"{len(folder.records)} record(s): {', '.join(implausible)}; the table marks them.")


def _set_start(source_key: str) -> None:
    st.session_state[START_KEY] = int(st.session_state[source_key])


def _jump(target: int) -> None:
    st.session_state[START_KEY] = int(target)


def record_viewer(folder: DetectionFolder, record: str) -> RecordView | None:
    """The record scrolled through a window of chosen length, with the jumps between errors."""
    state = st.session_state
    version = _stamp(*folder_files(folder, record))
    try:
        view = _view(str(folder.path), record, version)
    except LOAD_ERRORS as err:
        st.error(str(err))
        return None
    for message in record_warnings(folder.meta).get(record, []):
        st.warning(f"{record}: implausible detection: {message}")
    if view.ref is None:
        st.info(f"{record} has no reference annotations ({folder.input_dir / record}.atr): detections only.")
    else:
        m = view.match
        cols = st.columns(5)
        for col, (label, value) in zip(cols, (("Reference beats", m.n_ref), ("Detected", m.n_det),
                                              ("Matched (TP)", m.tp), ("Missed (FN)", m.fn),
                                              ("False (FP)", m.fp))):
            col.metric(label, value)
    shown_record = (str(folder.input_dir), record)   # another model on the same record keeps the stretch
    if state.get(SHOWN_KEY) != shown_record:       # another record: back to its start
        state[SHOWN_KEY] = shown_record
        state[START_KEY] = 0
    state.setdefault(LENGTH_KEY, DEFAULT_WINDOW_S)
    cols = st.columns([4, 1, 1])
    seconds = int(cols[2].selectbox("Window (s)", WINDOW_LENGTHS_S, key=LENGTH_KEY))
    max_start = max(0, math.ceil(view.duration_s - seconds))
    start = int(min(max(int(state.get(START_KEY, 0)), 0), max_start))
    state[START_KEY] = state[SLIDER_KEY] = state[NUMBER_KEY] = start
    if max_start > 0:
        cols[0].slider("Start of the window (s)", 0, max_start, step=1, key=SLIDER_KEY,
                       on_change=_set_start, args=(SLIDER_KEY,))
        cols[1].number_input("Start (s)", 0, max_start, step=1, key=NUMBER_KEY,
                             on_change=_set_start, args=(NUMBER_KEY,))
    else:
        cols[0].caption(f"The record lasts {view.duration_s:.1f} s: it fits in one window.")
    errors = view.error_times()
    if view.ref is not None:
        back = previous_error_start(errors, start, max_start)
        ahead = next_error_start(errors, start, max_start)
        jump = st.columns([1, 1, 4])
        jump[0].button("◀ previous error", key="tsad_records_previous", disabled=back is None,
                       on_click=_jump, args=(back or 0,))
        jump[1].button("next error ▶", key="tsad_records_next", disabled=ahead is None,
                       on_click=_jump, args=(ahead or 0,))
        jump[2].caption(f"{len(errors)} error(s) in the record: {len(view.misses())} missed, "
                        f"{len(view.false_detections())} false detection(s)." if len(errors)
                        else "No miss and no false detection in this record.")
        miss_jumps(view, start, max_start)
    shown = view.in_view(start, seconds)
    end = min(start + seconds, view.duration_s)
    text = f"{start}–{end:g} s of {view.duration_s:g} s: {shown['detected']} detected"
    if view.ref is not None:
        text += (f", {shown['reference']} reference beat(s), {shown['missed']} missed, "
                 f"{shown['false']} false")
    st.subheader(f"{record}: {text}")
    st.image(_segment_png(str(folder.path), record, version, start, seconds))
    if view.ref is not None and shown["missed"]:
        st.markdown("**Missed beats in view** (symbol of the reference annotation and its AAMI class)")
        st.table(view.missed_beats(start, seconds).set_index("time_s"))
    if view.prob is None:
        st.caption("No combined probability saved for this record (classical detectors have none).")
    return view


def miss_jumps(view: RecordView, start: int, max_start: int) -> None:
    """The missed beats per class, and the jumps to the previous / next miss of a chosen class."""
    by_class = view.misses_by_class()
    if not by_class:
        return
    state = st.session_state
    if state.get(MISS_CLASS_KEY) not in by_class:
        state[MISS_CLASS_KEY] = next(iter(by_class))
    cols = st.columns([2, 1, 1, 3])
    chosen = cols[0].selectbox("Misses of class", list(by_class), key=MISS_CLASS_KEY,
                               format_func=lambda c: f"{c} ({by_class[c]} missed)",
                               help="AAMI classes N, S, V, F, Q (ANSI/AAMI EC57) and, within them, "
                                    "paced (/), L and R beats")
    times = view.miss_times(chosen)
    back = previous_error_start(times, start, max_start)
    ahead = next_error_start(times, start, max_start)
    cols[1].button("◀ previous miss", key="tsad_records_previous_miss", disabled=back is None,
                   on_click=_jump, args=(back or 0,))
    cols[2].button("next miss ▶", key="tsad_records_next_miss", disabled=ahead is None,
                   on_click=_jump, args=(ahead or 0,))
    cols[3].caption("Missed beats by class: " + ", ".join(f"{c} {n}" for c, n in by_class.items()))


def records_tables(folder: DetectionFolder) -> None:
    """The folder's per-record table and its gross / average summary."""
    try:
        table, summary, source = _tables(str(folder.path), _folder_version(folder.path))
    except LOAD_ERRORS as err:
        st.error(str(err))
        return
    if table.empty:
        st.info(f"Nothing to score: {source}.")
        return
    st.caption(f"From {source}; matched one-to-one within 150 ms.")
    saved = folder.path / RECORDS_CSV
    newest = max((p.stat().st_mtime for p in folder.path.glob(f"*.{folder.ext}")), default=0.0)
    if saved.is_file() and saved.stat().st_mtime < newest:
        st.warning(f"{saved} is older than the detections: score them again with "
                   f"evaluate_records.py --detections {folder.path} --input-dir {folder.input_dir}")
    st.dataframe(table, hide_index=True, width="stretch")
    st.markdown("**Over the records**: gross (pooled counts) and average (mean of the records), "
                "with 95% bootstrap intervals over records")
    st.dataframe(summary, hide_index=True, width="stretch")
