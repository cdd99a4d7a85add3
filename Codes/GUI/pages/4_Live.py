"""Live page: upload a recording (WFDB .hea + .dat with an optional .atr, or a two-column CSV and
its sampling rate); it is resampled to the workspace's rate and cut into windows of its length, the student (and a
teacher where one is trained) marks the beats, and with an .atr the scores are shown.

    streamlit run Codes/GUI/0_Homepage.py   (then choose "Live" in the sidebar)
"""

from __future__ import annotations

from pathlib import Path

try:
    import tsad  # noqa: F401
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from tsad import app  # noqa: E402
from tsad.stages import commands, display_label, find_run, is_trained, student_runs, teacher_runs  # noqa: E402
from tsad.paths import STUDENT_RUN  # noqa: E402
from tsad.geometry import load_workspace_geometry  # noqa: E402
from tsad.upload import (MAX_FS, MAX_SECONDS, MAX_UPLOAD_MB, MIN_FS, read_csv_upload,  # noqa: E402
                         read_wfdb_upload, upload_windows)

FORMATS = ("WFDB record", "CSV, two columns")


@st.cache_data(show_spinner="Reading the record…", max_entries=4)
def _wfdb(files: tuple, fs: float, channels: tuple):
    return read_wfdb_upload(dict(files), fs=fs, channels=channels)


@st.cache_data(show_spinner="Reading the CSV…", max_entries=4)
def _csv(name: str, data: bytes, fs: float, target_fs: float, channels: tuple):
    return read_csv_upload(name, data, fs, fs=target_fs, channels=channels)


def uploaded_record(geometry):
    """(record, whether it has annotations), or None when nothing usable was uploaded; the record is
    resampled to the workspace's rate and keeps its leads."""
    kind = st.radio("Format", FORMATS, horizontal=True, key="tsad_live_format")
    if kind == FORMATS[0]:
        files = st.file_uploader("The record's .hea and .dat, and its .atr for the scores",
                                 type=["hea", "dat", "atr"], accept_multiple_files=True,
                                 max_upload_size=MAX_UPLOAD_MB, key="tsad_live_wfdb")
        if not files:
            st.info(f"Upload a WFDB record (at most {MAX_UPLOAD_MB} MB): its .hea and .dat files.")
            return None
        named = tuple((f.name, f.getvalue()) for f in files)
        return _wfdb(named, geometry.fs, geometry.channels), any(n.lower().endswith(".atr") for n, _ in named)
    upload = st.file_uploader("A CSV with two columns, one per lead (a header row is allowed)",
                              type=["csv", "txt"], max_upload_size=MAX_UPLOAD_MB, key="tsad_live_csv")
    fs = st.number_input("Sampling rate of the CSV (Hz)", min_value=MIN_FS, max_value=MAX_FS, value=360.0,
                         key="tsad_live_fs")
    if upload is None:
        st.info(f"Upload a CSV (at most {MAX_UPLOAD_MB} MB) and give its sampling rate.")
        return None
    return _csv(upload.name, upload.getvalue(), float(fs), geometry.fs, geometry.channels), False


@st.cache_data(show_spinner="The student marks the beats…", max_entries=4)
def _student_probs(root: str, run_name: str, version: tuple, series: np.ndarray) -> np.ndarray:
    from tsad.paths import Workspace
    return app.infer(Workspace(Path(root)), find_run(run_name), series)


def choose_models(ws):
    students = [r for r in student_runs() if is_trained(ws, r)]
    teachers = [r for r in teacher_runs() if is_trained(ws, r)]
    if not students:
        app.run_stage("No trained student in this workspace: train one first.", commands(ws)[STUDENT_RUN])
        return None, None
    cols = st.columns(2)
    student = cols[0].selectbox("Student", students, format_func=lambda r: display_label(ws, r),
                                key="tsad_live_student")
    teacher = cols[1].selectbox("Teacher (on the shown window)", [None, *teachers],
                                format_func=lambda r: "none" if r is None else display_label(ws, r),
                                key="tsad_live_teacher")
    if not teachers:
        cols[1].caption("No trained teacher in this workspace.")
    app.run_warnings(ws, student)
    return student, teacher


def summary(record, windows, cut: bool, annotated: bool) -> None:
    seconds = record.n_samples / record.fs
    st.success(f"**{record.name}**: {seconds:.1f} s, {record.source_fs:g} Hz resampled to {record.fs:g} Hz, "
               f"{len(windows.series)} windows of {windows.series.shape[1] / record.fs:g} s"
               + (f", {int(windows.labels.sum())} annotated beats" if annotated else ", no annotations"))
    if cut:
        st.warning(f"Only the first {MAX_SECONDS // 60} minutes are analysed.")


def scores(windows, probs, student, ws) -> None:
    from tsad.metrics import score_model

    row = score_model(windows.labels, probs).row()
    st.dataframe(pd.DataFrame([{"model": display_label(ws, student), **row}]), hide_index=True)


def main() -> None:
    ws = app.page("Live: your own recording", "📈")
    try:
        geometry = load_workspace_geometry(ws)
        got = uploaded_record(geometry)
        if got is None:
            return
        record, annotated = got
        windows, cut = upload_windows(record, seconds=geometry.seconds)
    except app.LOAD_ERRORS as err:
        st.error(f"This upload cannot be used: {err}")
        return
    summary(record, windows, cut, annotated)
    student, teacher = choose_models(ws)
    if student is None:
        return
    try:
        stamp = app.stamp(ws.run_dir(student.name) / student.checkpoint_name)
        probs = _student_probs(str(ws.root), student.name, stamp, windows.series)
    except app.LOAD_ERRORS as err:
        st.error(f"{student.name} cannot run: {err}")
        return
    if annotated:
        st.subheader("Scores of the student on the whole upload")
        scores(windows, probs, student, ws)
    count = len(windows.series)
    k = st.slider("Window", 0, count - 1, 0, key="tsad_live_window") if count > 1 else 0
    labels = windows.labels[k] if annotated else None
    start = windows.starts[k] / record.fs
    st.subheader(f"{display_label(ws, student)}, window {k} ({start:.0f} s)")
    app.window_result(windows.series[k], labels, probs[k], f"{record.name} · {start:.0f} s · {student.name}")
    if teacher is not None:
        st.subheader(f"{display_label(ws, teacher)}, window {k}")
        try:
            teacher_probs = app.infer(ws, teacher, windows.series[k:k + 1])[0]
        except app.LOAD_ERRORS as err:
            st.error(f"{teacher.name} cannot run: {err}")
            return
        app.window_result(windows.series[k], labels, teacher_probs,
                          f"{record.name} · {start:.0f} s · {teacher.name}")


if __name__ == "__main__":
    main()
