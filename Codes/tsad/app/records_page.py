"""The app's Records page: one model's whole-record detections against the reference beats.

A detection folder is what ``Codes/Inference/detect.py`` writes (``<workspace>/detections/<run>/``
by default): ``<record>.<ext>`` annotation files, ``detections.json`` (the model, the settings and
the ``input_dir`` of the records), ``<record>_probs.npy`` for learned models, and, once
``Codes/Inference/evaluate_records.py`` has run, ``records.csv`` and ``summary.csv``. The page
scrolls through a record with its reference beats and the detections marked as matches, misses
and false detections (matched one-to-one within 150 ms, ``tsad.scoring.beats``), can jump from one error
to the next, shows the class of every missed beat (its ``.atr`` symbol and AAMI class) and jumps to
the next miss of a chosen class, and shows the folder's per-record table and summary (scored on the
fly when evaluate_records.py has not run). A folder of a detector that classifies beats (its
detections.json lists ``classes``) shows each abnormal beat's class letter, the counts per class, the
jumps to the next V, the next S and the next misclassified beat, and the misclassified beats in view. A record without ``.atr`` shows its detections only.

The plain data lives in ``tsad.app.records_view`` (re-exported here); this module draws the page. Only Codes/GUI
and the tests import this module (it needs streamlit). Every error the user can cause (no folder,
a folder without the record, an unreadable file) is one st.error line naming the file.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import streamlit as st

from tsad.app.records_view import (
    DEFAULT_WINDOW_S,
    RECORDS_CSV,
    SUMMARY_CSV,
    WINDOW_LENGTHS_S,
    DetectionFolder,
    RecordView,
    detect_commands,
    folder_files,
    folder_table,
    load_record_view,
    next_error_start,
    previous_error_start,
    read_folder,
    workspace_folders,
)
from tsad.app.shared import run_stage  # DetectionError, ScoringError, RecordError: ValueErrors
from tsad.app.widgets import LOAD_ERRORS, figure_png
from tsad.detection.folders import DETECTIONS_DIR, DETECTIONS_META, record_warnings
from tsad.scoring.plots import record_segment_figure

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
    view = _view(path, record, version)
    m = view.match
    fig = record_segment_figure(view.signal, view.fs, start, seconds, ref=view.ref, det=view.det,
                                matched_ref=None if m is None else m.ref_index,
                                matched_det=None if m is None else m.det_index,
                                prob=view.prob, prob_fs=view.prob_fs, lead_names=view.lead_names,
                                ref_symbols=view.ref_symbols, det_symbols=view.det_symbols,
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
    if view.classified:
        class_jumps(view, start, max_start)
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
    if view.classified and view.ref is not None:
        wrong = view.misclassified()
        wrong = wrong[(wrong["time_s"] >= start) & (wrong["time_s"] < start + seconds)]
        if len(wrong):
            st.markdown("**Misclassified beats in view** (the reference's symbol and class, the detector's class)")
            st.table(wrong.set_index("time_s"))
    if view.prob is None:
        st.caption("No combined probability saved for this record (classical detectors have none).")
    return view


def class_jumps(view: RecordView, start: int, max_start: int) -> None:
    """A classifying detector's beats per class, and jumps to the next V, the next S and the next
    misclassified beat (a matched beat whose class is not the reference's)."""
    counts = view.class_counts()
    cols = st.columns(len(counts))
    for col, (name, n) in zip(cols, counts.items()):
        col.metric(f"Detected {name}", n)
    wrong = view.misclassified()["time_s"].to_numpy() if view.ref is not None else np.zeros(0)
    jumps = [("V", view.class_times("V")), ("S", view.class_times("S"))]
    if view.ref is not None:
        jumps.append(("misclassified", wrong))
    cols = st.columns([1] * len(jumps) + [3])
    for col, (name, times) in zip(cols, jumps):
        ahead = next_error_start(times, start, max_start)
        col.button(f"next {name} ▶", key=f"tsad_records_next_{name}", disabled=ahead is None,
                   on_click=_jump, args=(ahead or 0,))
    text = f"VEB (V) {counts.get('V', 0)}, SVEB (S) {counts.get('S', 0)} detected"
    if view.ref is not None:
        text += f"; {len(wrong)} matched beat(s) of another class than the reference's"
    cols[-1].caption(text + ".")


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
