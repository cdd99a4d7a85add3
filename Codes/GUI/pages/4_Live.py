"""Live page: upload a recording (WFDB .hea + .dat with an optional .atr, or a CSV of one or two leads and
its sampling rate). With the shipped model (pretrained/, no training needed) every beat of the whole
upload is detected as detect.py does, the beats can be downloaded as a WFDB annotation file and a
csv, and with an .atr the beat-by-beat scores at 150 ms are shown; where the shipped model has a
causal detector (pretrained/<name>/causal/), the upload can be followed as it arrives: the beats of
its first T seconds decided with 0.5 s of latency, the beats the whole upload gives there (detect.py
--latency-s). With a model of the workspace the
upload is resampled to the workspace's rate and cut into windows of its length, the student (and a
teacher where one is trained) marks the beats, and with an .atr the window scores are shown.

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

from tsad.app import (
    shared,
    widgets,  # noqa: E402
)
from tsad.app.stages import commands, display_label, find_run, is_trained, student_runs, teacher_runs  # noqa: E402
from tsad.app.upload import (
    MAX_FS,
    MAX_SECONDS,
    MAX_UPLOAD_MB,
    MIN_FS,
    read_csv_upload,
    read_wfdb_upload,
    upload_windows,
)
from tsad.core.geometry import load_workspace_geometry  # noqa: E402
from tsad.core.paths import STUDENT_RUN  # noqa: E402
from tsad.detection import folders, records
from tsad.models import predictor

FORMATS = ("WFDB record", "CSV, one or two columns")


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
    upload = st.file_uploader("A CSV with one or two columns, one per lead (a header row is allowed)",
                              type=["csv", "txt"], max_upload_size=MAX_UPLOAD_MB, key="tsad_live_csv")
    fs = st.number_input("Sampling rate of the CSV (Hz)", min_value=MIN_FS, max_value=MAX_FS, value=360.0,
                         key="tsad_live_fs")
    if upload is None:
        st.info(f"Upload a CSV (at most {MAX_UPLOAD_MB} MB) and give its sampling rate.")
        return None
    return _csv(upload.name, upload.getvalue(), float(fs), geometry.fs, geometry.channels), False


@st.cache_data(show_spinner="The student marks the beats…", max_entries=4)
def _student_probs(root: str, run_name: str, version: tuple, series: np.ndarray) -> np.ndarray:
    from tsad.core.paths import Workspace
    return shared.infer(Workspace(Path(root)), find_run(run_name), series)


def choose_models(ws):
    students = [r for r in student_runs() if is_trained(ws, r)]
    teachers = [r for r in teacher_runs() if is_trained(ws, r)]
    if not students:
        shared.run_stage("No trained student in this workspace: train one first.", commands(ws)[STUDENT_RUN])
        return None, None
    cols = st.columns(2)
    student = cols[0].selectbox("Student", students, format_func=lambda r: display_label(ws, r),
                                key="tsad_live_student")
    teacher = cols[1].selectbox("Teacher (on the shown window)", [None, *teachers],
                                format_func=lambda r: "none" if r is None else display_label(ws, r),
                                key="tsad_live_teacher")
    if not teachers:
        cols[1].caption("No trained teacher in this workspace.")
    shared.run_warnings(ws, student)
    return student, teacher


def summary(record, windows, cut: bool, annotated: bool) -> None:
    seconds = record.n_samples / record.fs
    st.success(f"**{record.name}**: {seconds:.1f} s, {record.source_fs:g} Hz resampled to {record.fs:g} Hz, "
               f"{len(windows.series)} windows of {windows.series.shape[1] / record.fs:g} s"
               + (f", {int(windows.labels.sum())} annotated beats" if annotated else ", no annotations"))
    if cut:
        st.warning(f"Only the first {MAX_SECONDS // 60} minutes are analysed.")


def scores(windows, probs, student, ws) -> None:
    from tsad.scoring.metrics import score_model

    row = score_model(windows.labels, probs).row()
    st.dataframe(pd.DataFrame([{"model": display_label(ws, student), **row}]), hide_index=True)


SOURCES = ("The shipped model (pretrained/, no training needed)", "A model of this workspace")


@st.cache_resource(show_spinner="Loading the shipped model…", max_entries=2)
def _shipped_detector(folder: str, version: tuple):
    from tsad.core.paths import Workspace
    from tsad.models import loader

    # onnxruntime where the folder holds a current model.onnx (the shipped one does), as detect.py
    return loader.load(folder, Workspace(Path(folder)), device="cpu", backend="auto")


FOLLOW_LATENCY_S = 0.5    # the latency the page follows an upload with (detect.py --latency-s)


@st.cache_resource(show_spinner="Loading the shipped causal detector…", max_entries=2)
def _causal_detector(folder: str, version: tuple):
    from tsad.core.paths import Workspace
    from tsad.models import loader

    return loader.load(folder, Workspace(Path(folder)), device="cpu", backend="auto", causal=True)


def follow_as_it_arrives(record, causal) -> None:
    """The upload as a monitor sees it: the beats of its first T seconds, each decided from at most
    FOLLOW_LATENCY_S of signal after it, and the last seconds received."""
    seconds = record.n_samples / record.fs
    length = causal.geometry.samples
    if seconds * record.fs < 2 * length:
        st.info("The upload is too short to follow (under two windows).")
        return
    shown = st.slider("Seconds received so far", float(2 * length / record.fs), float(seconds), float(seconds) / 2,
                      step=1.0, key="tsad_live_follow_t")
    n = int(shown * record.fs)
    det = records.detect_signal(causal, record.signal[:n], record.fs, name=record.name, latency_s=FOLLOW_LATENCY_S)
    final = det.samples[det.samples < n - FOLLOW_LATENCY_S * record.fs]
    recent = final[final >= n - 10 * record.fs]
    cols = st.columns(3)
    cols[0].metric("Beats decided", f"{len(final)}")
    cols[1].metric("Rate, last 10 s", f"{len(recent) * 6} /min" if shown >= 10 else "—")
    cols[2].metric("Last beat", f"{final[-1] / record.fs:.2f} s" if len(final) else "—")
    st.caption(f"Each beat is decided from at most {FOLLOW_LATENCY_S:g} s of signal after it, by the shipped model's "
               f"causal detector: the beats before {shown - FOLLOW_LATENCY_S:.1f} s are those the whole upload gives "
               "there, and will not change as more arrives (detect.py --latency-s; its cost in F1: the model card).")
    lo = max(0, n - length)
    predicted = final[final >= lo] - lo
    st.image(widgets.window_png(record.signal[lo:n], np.zeros(n - lo, np.float32), det.prob[lo:n], predicted,
                                causal.threshold, f"{record.name} · the last {(n - lo) / record.fs:.0f} s received "
                                f"· causal"))


def shipped_model_available() -> bool:
    from tsad.core import paths

    return (paths.PRETRAINED_DIR / paths.PRETRAINED_MODELS["pretrained"] / paths.STUDENT_CHECKPOINT).is_file()


def shipped_detection(record, annotated: bool, detector) -> None:
    """Whole-upload detection with the shipped model: counts, warnings, the scores against the
    upload's annotations, a window to look at, and the beats to download."""
    from tsad.data import ecg
    from tsad.scoring import ec57

    det = records.detect_signal(detector, record.signal, record.fs, name=record.name)
    scale = record.source_fs / record.fs              # back to the upload's own sample numbers
    samples = np.round(det.samples * scale).astype(np.int64)
    minutes = record.n_samples / record.fs / 60
    classified = det.classes is not None
    cols = st.columns(5 if classified else 3)
    cols[0].metric("Beats", f"{len(samples)}")
    cols[1].metric("Mean rate", f"{len(samples) / minutes:.0f} /min" if minutes else "—")
    cols[-1].metric("Threshold (tuned)", f"{detector.threshold:g}")
    if classified:   # the abnormal beats: ventricular and supraventricular ectopic
        counts = det.class_counts()
        cols[2].metric("Ventricular (V)", counts.get("V", 0))
        cols[3].metric("Supraventricular (S)", counts.get("S", 0))
        st.caption("Beats by class (AAMI): " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    for message in det.warnings:
        st.warning(f"{record.name}: implausible detection: {message}")
    beats, symbols = ecg.beat_annotations(record)       # not the rhythm, noise or comment marks
    if annotated:   # scored as EC57: nothing inside the flutter the annotations mark
        vf = ecg.vf_episodes(record.ann_samples, record.ann_symbols, end=record.n_samples)
        score = ec57.score_record(record.name, beats, det.samples, record.fs, symbols=symbols,
                                  det_symbols=det.classes, vf=vf)
        st.subheader("Scores on the whole upload (150 ms, beat by beat)")
        shown = {k: score[k] for k in ("n_ref", "n_det", "TP", "FP", "FN", "Se", "PPV", "F1")}
        shown.update({f"Se_{c}": score[f"Se_{c}"] for c in ("N", "S", "V", "paced", "L", "R")
                      if score.get(f"n_{c}")})
        if classified:
            shown.update({k: score[k] for k in ("VEB_Se", "VEB_+P", "SVEB_Se", "SVEB_+P") if k in score})
        st.dataframe(pd.DataFrame([shown]), hide_index=True)
    length = detector.geometry.samples
    count = max(1, record.n_samples // length)
    k = st.slider("Window", 0, count - 1, 0, key="tsad_live_shipped_window") if count > 1 else 0
    lo, hi = k * length, min((k + 1) * length, record.n_samples)
    labels = np.zeros(hi - lo, np.float32)
    if annotated:
        labels[beats[(beats >= lo) & (beats < hi)] - lo] = 1
    predicted = det.samples[(det.samples >= lo) & (det.samples < hi)] - lo
    st.image(widgets.window_png(record.signal[lo:hi], labels, det.prob[lo:hi], predicted, detector.threshold,
                             f"{record.name} · {lo / record.fs:.0f} s · shipped model"))
    table = pd.DataFrame({"sample": samples, "time_s": np.round(samples / record.source_fs, 4),
                          "probability": np.round(det.scores.astype(float), 4)})
    if classified:
        table["class"] = det.classes
        for k, name in enumerate(det.class_names):
            table[f"p_{name}"] = np.round(det.class_probs[:, k].astype(float), 4)
        inside = (det.samples >= lo) & (det.samples < hi)
        abnormal = table[inside & (det.classes != "N")]
        if len(abnormal):   # the abnormal beats of the window shown
            st.markdown("**Abnormal beats in this window**")
            st.dataframe(abnormal[["time_s", "class", *[f"p_{c}" for c in det.class_names]]], hide_index=True)
        else:
            st.caption("No abnormal beat (S, V, F, Q) in this window.")
    cols = st.columns(2)
    cols[0].download_button("Beats (.csv)", table.to_csv(index=False).encode(), f"{record.name}_beats.csv",
                            "text/csv", key="tsad_live_download_csv")
    cols[1].download_button(f"Annotations ({record.name}.{folders.DEFAULT_EXT}, WFDB)",
                            _annotation_bytes(record.name, samples, record.source_fs, det.classes),
                            f"{record.name}.{folders.DEFAULT_EXT}", "application/octet-stream",
                            key="tsad_live_download_ann")


def _annotation_bytes(name: str, samples: np.ndarray, fs: float, classes=None) -> bytes:
    """The WFDB annotation file of the detected beats (what detect.py writes: each beat's class
    letter when the model classifies), as bytes."""
    import tempfile

    det = predictor.RecordDetection(name, fs, int(samples[-1]) + 1 if len(samples) else 1, samples,
                                  np.ones(len(samples), np.float32), None, fs, 0.0, classes=classes)
    with tempfile.TemporaryDirectory() as tmp:
        files = folders.write_detection(det, tmp)
        return files["annotations"].read_bytes()


def main() -> None:
    ws = shared.page("Live: your own recording", "📈")
    shipped = shipped_model_available()
    if shipped:   # the shipped model first, with its one-click example, whatever the workspace holds
        source = st.radio("Model", SOURCES, index=0, horizontal=True, key="tsad_live_source")
        if source == SOURCES[0]:
            return shipped_main()
    return workspace_main(ws)


@st.cache_data(show_spinner="Writing the example record…", max_entries=1)
def _example_record(fs: float, channels: tuple):
    """A synthetic record (tsad.data.demo_db, written with wfdb at 360 Hz) read as an upload would be: no
    data ships with the repository, and any machine can make this one."""
    import tempfile

    import wfdb
    import wfdb.processing

    from tsad.data.demo_db import DemoConfig, write_demo_database
    from tsad.data.ecg import read_record

    with tempfile.TemporaryDirectory() as tmp:
        write_demo_database(Path(tmp) / "demo", DemoConfig(n_records=1, minutes=2, seed=7))
        rec = wfdb.rdrecord(str(Path(tmp) / "demo" / "demo00"))
        ann = wfdb.rdann(str(Path(tmp) / "demo" / "demo00"), "atr")
        sig, moved = wfdb.processing.resample_multichan(rec.p_signal, ann, rec.fs, 360)
        wfdb.wrsamp("example", fs=360, units=rec.units, sig_name=rec.sig_name, p_signal=sig, fmt=["16", "16"],
                    write_dir=tmp)
        wfdb.wrann("example", "atr", moved.sample, symbol=moved.symbol, write_dir=tmp)
        return read_record(Path(tmp) / "example", channels=channels, fs=fs), True


def shipped_main() -> None:
    from tsad.core import paths
    from tsad.data import ecg

    folder = paths.PRETRAINED_DIR / paths.PRETRAINED_MODELS["pretrained"]
    try:
        detector = _shipped_detector(str(folder), widgets.stamp(folder / paths.STUDENT_CHECKPOINT))
        st.caption(f"{folder.name}: {detector.description}, trained on the shared svdb and mitdb records "
                   f"(model card: pretrained/{folder.name}/{paths.MODEL_CARD}); not SmolVLM.")
        example = st.toggle("Try a synthetic example record instead of an upload (2 minutes at 360 Hz, "
                            "with normal, supraventricular and ventricular beats annotated)", key="tsad_live_example")
        got = _example_record(detector.geometry.fs, tuple(detector.geometry.channels)) if example \
            else uploaded_record(detector.geometry)
        if got is None:
            return
        record, annotated = got
        st.success(f"**{record.name}**: {record.n_samples / record.fs:.1f} s, {record.source_fs:g} Hz"
                   + (f", {len(ecg.beat_annotations(record)[0])} annotated beats" if annotated
                      else ", no annotations"))
        causal = folder / paths.CAUSAL_DIR / paths.STUDENT_CHECKPOINT
        if causal.is_file() and st.toggle(f"Follow it as it arrives (causal, {FOLLOW_LATENCY_S:g} s latency)",
                                          key="tsad_live_follow"):
            return follow_as_it_arrives(record, _causal_detector(str(folder), widgets.stamp(causal)))
        shipped_detection(record, annotated, detector)
    except widgets.LOAD_ERRORS as err:
        st.error(f"This upload cannot be used: {err}")


def workspace_main(ws) -> None:
    try:
        geometry = load_workspace_geometry(ws)
        got = uploaded_record(geometry)
        if got is None:
            return
        record, annotated = got
        windows, cut = upload_windows(record, seconds=geometry.seconds)
    except widgets.LOAD_ERRORS as err:
        st.error(f"This upload cannot be used: {err}")
        return
    summary(record, windows, cut, annotated)
    student, teacher = choose_models(ws)
    if student is None:
        return
    try:
        stamp = widgets.stamp(ws.run_dir(student.name) / student.checkpoint_name)
        probs = _student_probs(str(ws.root), student.name, stamp, windows.series)
    except widgets.LOAD_ERRORS as err:
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
    widgets.window_result(windows.series[k], labels, probs[k], f"{record.name} · {start:.0f} s · {student.name}")
    if teacher is not None:
        st.subheader(f"{display_label(ws, teacher)}, window {k}")
        try:
            teacher_probs = shared.infer(ws, teacher, windows.series[k:k + 1])[0]
        except widgets.LOAD_ERRORS as err:
            st.error(f"{teacher.name} cannot run: {err}")
            return
        widgets.window_result(windows.series[k], labels, teacher_probs,
                          f"{record.name} · {start:.0f} s · {teacher.name}")


if __name__ == "__main__":
    main()
