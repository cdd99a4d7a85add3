"""The Streamlit app's shared parts: workspace choice, cached loaders, the window chooser, the
result view and the teacher/student page. Only Codes/GUI imports this module (it needs streamlit).

Loaders are keyed by the files' modification times, so a stage that runs while the app is open
shows up on the next rerun. A missing artefact becomes a message naming the stage to run.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from .errors import EXPECTED_ERRORS
from .outputs import load_outputs, output_paths
from .paths import Workspace, default_workspace, fmt_num
from .splits import load_split
from .stages import (ModelRun, all_runs, commands, data_ready, display_label, is_inferred, is_trained,
                     pipeline_stages, student_runs, teacher_runs, window_times)

WS_KEY = "tsad_workspace"
WINDOW_KEY = "tsad_window"
LOAD_ERRORS = EXPECTED_ERRORS  # the messages scripts print as one line


# --- workspace and page frame -------------------------------------------------------------

def _keep(key: str) -> None:
    st.session_state[key] = st.session_state["_" + key]


def persistent_widget(widget, key: str, default, label: str, **kwargs):
    """A widget whose value survives page switches (Streamlit drops widget keys between pages)."""
    state = st.session_state
    state.setdefault(key, default)
    state["_" + key] = state[key]
    return widget(label, key="_" + key, on_change=_keep, args=(key,), **kwargs)


def sidebar_workspace() -> Workspace:
    """The workspace chosen in the sidebar (default: $TSAD_WORKSPACE), kept across pages."""
    with st.sidebar:
        text = persistent_widget(st.text_input, WS_KEY, str(default_workspace()), "Workspace folder",
                                 help="Defaults to $TSAD_WORKSPACE; every stage writes here.")
        ws = Workspace.from_arg(text.strip() or None)
        if not ws.root.is_dir():
            st.warning(f"{ws.root} does not exist yet: the data stage creates it.")
    return ws


def page(title: str, icon: str) -> Workspace:
    """Sets up a page (title, icon, sidebar) and returns the workspace it shows."""
    st.set_page_config(page_title=f"{title} · tsad", page_icon=icon, layout="wide")
    ws = sidebar_workspace()
    st.title(title)
    return ws


def run_stage(message: str, cmd: str) -> None:
    """A message with the command that produces what is missing."""
    st.info(message)
    st.code(cmd, language="bash")


def run_warnings(ws: Workspace, run: ModelRun) -> None:
    """The warnings recorded when the run's detection threshold was tuned (``<run>/detection.json``:
    a model that has not learned, a doubtful threshold), one st.warning each, beside the model."""
    from .records import THRESHOLD_FILE, DetectionError, tuned_warnings

    try:
        found = tuned_warnings(ws.run_dir(run.name))
    except DetectionError as err:
        st.error(str(err))
        return
    for message in found:
        st.warning(f"{run.name} ({THRESHOLD_FILE}): {message}")


# --- cached loaders -----------------------------------------------------------------------

def stamp(*files: Path) -> tuple:
    """A cache key for files: their modification times (None for a missing file)."""
    return tuple(p.stat().st_mtime_ns if p.is_file() else None for p in files)


@st.cache_data(show_spinner=False, max_entries=8)
def _split(root: str, split: str, version: tuple):
    data = load_split(Workspace(Path(root)), split, check_images=False)
    return data.ids, data.series, data.labels, str(data.image_dir)


def test_windows(ws: Workspace):
    """(ids, series, labels, image_dir) of the test split, or None with the stage to run."""
    if not data_ready(ws):
        run_stage("No test split in this workspace: generate the windows, then split them.",
                  f"{commands(ws)['data_generate']}\n{commands(ws)['data_split']}")
        return None
    try:
        return _split(str(ws.root), "test", stamp(ws.split_csv("test"), ws.split_npy("test")))
    except LOAD_ERRORS as err:
        st.error(f"The test split cannot be read: {err}")
        return None


@st.cache_data(show_spinner=False, max_entries=32)
def _outputs(run_dir: str, tag: str, version: tuple):
    out = load_outputs(run_dir, tag)
    return out.ids, out.probs


def saved_probs(ws: Workspace, run: ModelRun):
    """{window id: row index} and the probabilities of a run's saved inference, or None."""
    run_dir = ws.run_dir(run.name)
    try:
        ids, probs = _outputs(str(run_dir), run.name, stamp(*output_paths(run_dir, run.name).values()))
    except LOAD_ERRORS as err:
        st.error(f"Inference outputs of {run.name} cannot be read: {err}")
        return None
    return {int(i): k for k, i in enumerate(ids)}, probs


def workspace_version(ws: Workspace) -> tuple:
    """Modification times of the workspace's folders: a stage that writes or replaces a file
    (atomically, by rename) changes its folder's time."""
    if not ws.root.is_dir():
        return ()
    folders = [ws.root, *sorted(p for p in ws.root.iterdir() if p.is_dir())]
    if ws.split_root.is_dir():
        folders += sorted(p for p in ws.split_root.iterdir() if p.is_dir())
    return tuple((str(p), p.stat().st_mtime_ns) for p in folders)


@st.cache_data(show_spinner="Checking the stages…", max_entries=4)
def _stages(root: str, version: tuple):
    return pipeline_stages(Workspace(Path(root)))


def stages(ws: Workspace):
    """The pipeline's stages for the workspace, cached until a file of the workspace changes."""
    return _stages(str(ws.root), workspace_version(ws))


@st.cache_data(show_spinner=False, max_entries=4)
def _csv(path: str, version: tuple) -> pd.DataFrame:
    return pd.read_csv(path)


def read_table(path: Path) -> pd.DataFrame | None:
    """A CSV as a DataFrame, or None (with a message) when it is unreadable."""
    if not path.is_file():
        return None
    try:
        return _csv(str(path), stamp(path))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        st.error(f"{path}: not a readable table ({err})")
        return None


def results_table(ws: Workspace) -> None:
    """The evaluation table of the workspace, or the command that writes it."""
    table = read_table(ws.results_csv)
    if table is None:
        run_stage("No results table yet: score the inference outputs.", commands(ws)["plot_inference"])
        return
    if "note" in table:
        table = table.assign(note=table["note"].fillna(""))
    st.dataframe(table, hide_index=True, width="stretch")


@st.cache_resource(show_spinner="Loading the checkpoint…", max_entries=4)
def _model(run_dir: str, version: tuple, geometry: tuple):
    from .geometry import WindowGeometry, check_checkpoint_geometry
    from .predictors import find_checkpoint, load

    predictor = load(run_dir, device="cpu")   # the one loader: any kind of tsad.predictors.MODEL_LOADERS
    check_checkpoint_geometry(predictor.header, WindowGeometry.from_dict(dict(geometry)),
                              find_checkpoint(run_dir))
    return predictor


def load_model(ws: Workspace, run: ModelRun):
    """The run's Predictor (``tsad.predictors.load``; cached until its checkpoint changes); a
    checkpoint trained on another window geometry than the workspace's raises GeometryError."""
    from .geometry import load_workspace_geometry

    run_dir = ws.run_dir(run.name)
    geometry = tuple((k, tuple(v) if isinstance(v, list) else v)
                     for k, v in load_workspace_geometry(ws).to_dict().items())
    return _model(str(run_dir), stamp(run_dir / run.checkpoint_name), geometry)


def infer(ws: Workspace, run: ModelRun, series: np.ndarray, images=None) -> np.ndarray:
    """Probabilities (N, L) from the run's checkpoint; a model that reads plots sees ``images``
    (or renders them from ``series``)."""
    predictor = load_model(ws, run)
    if images is not None and predictor.image_probs is not None:
        return predictor.image_probs(images)
    return predictor.window_probs(series)


# --- window choice --------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=4)
def _provenance(path: str, version: tuple, ids: tuple) -> pd.DataFrame:
    return window_times(pd.read_csv(path), np.asarray(ids))


def choose_window(ws: Workspace, ids: np.ndarray) -> int:
    """A test window id, by id or by record and start time; the choice is kept across pages."""
    ids = [int(i) for i in ids]
    state = st.session_state
    if state.get(WINDOW_KEY) not in ids:
        state[WINDOW_KEY] = ids[0]
    times = None
    if ws.windows_csv.is_file():
        try:
            times = _provenance(str(ws.windows_csv), stamp(ws.windows_csv), tuple(ids))
        except (ValueError, KeyError, pd.errors.ParserError) as err:
            st.caption(f"{ws.windows_csv} cannot be used to choose by record: {err}")
    else:
        st.caption("windows.csv is missing (written by data_generate.py): choose by id.")
    by_record = times is not None and len(times) and st.radio(
        "Choose the test window", ["by id", "by record and time"], horizontal=True,
        key="tsad_window_mode") == "by record and time"
    if by_record:
        current = times[times["id"] == state[WINDOW_KEY]]
        records = sorted(times["record"].unique())
        record = st.selectbox("Record", records, index=records.index(current["record"].iloc[0])
                              if len(current) else 0)
        rows = times[times["record"] == record].sort_values("start_s")
        options = rows["id"].tolist()
        seconds = dict(zip(rows["id"], rows["start_s"]))
        index = options.index(state[WINDOW_KEY]) if state[WINDOW_KEY] in options else 0
        state[WINDOW_KEY] = st.selectbox("Start time", options, index=index,
                                         format_func=lambda i: f"{seconds[i]:.1f} s (window {i})")
    else:
        persistent_widget(st.selectbox, WINDOW_KEY, ids[0], "Test window id", options=ids)
    return int(state[WINDOW_KEY])


# --- result views -----------------------------------------------------------------------------

FIGURE_DPI = 110  # streamlit's 200 triples the drawing time for no visible gain here


def figure_png(fig) -> bytes:
    """A matplotlib figure as PNG bytes; the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=FIGURE_DPI, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


@st.cache_data(show_spinner=False, max_entries=64)
def _window_png(series, labels, probs, predicted, threshold: float, title: str) -> bytes:
    from .plots import plot_window

    return figure_png(plot_window(series, labels, probs=probs, pred_positions=predicted, threshold=threshold,
                                  title=title))


def window_result(series, labels, probs, title: str) -> dict | None:
    """One window: both leads, true and predicted beats, probabilities with the threshold, and
    (with labels; None for an unannotated upload) the window's precision and recall."""
    from . import metrics

    threshold = float(metrics.window_thresholds(probs)[0])
    predicted = np.asarray(metrics.predict_positions(probs), dtype=int)
    shown_labels = np.zeros(len(probs), np.float32) if labels is None else np.asarray(labels)
    st.image(_window_png(series, shown_labels, probs, predicted, threshold, title))
    shown = {"threshold": threshold, "predicted": predicted.tolist()}
    cols = st.columns(3)
    cols[0].metric("Threshold (window mean)", f"{threshold:.3f}")
    if labels is not None:
        true = np.flatnonzero(shown_labels > 0.5)
        precision, recall = metrics.score_window(shown_labels, predicted)
        cols[1].metric("Precision", f"{precision:.3f}")
        cols[2].metric("Recall", "— (no beat)" if np.isnan(recall) else f"{recall:.3f}")
        shown.update(true=true.tolist(), precision=precision, recall=recall)
        st.markdown(f"**True beats** at samples {true.tolist()}")
    st.markdown(f"**Predicted beats** at samples {predicted.tolist()}")
    return shown


def loss_curves(ws: Workspace) -> None:
    """Training and validation loss of every run that saved them (tsad.curves finds them)."""
    from . import curves

    try:
        runs = curves.find_loss_curves(ws)
    except LOAD_ERRORS as err:
        st.error(f"Loss files cannot be read: {err}")
        return
    if not runs:
        st.info("No loss curves yet: train a model (see the stages on the home page).")
        return
    import matplotlib.pyplot as plt

    labels = {r.name: display_label(ws, r) for r in all_runs()}
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5), sharex=True)
    for run in runs:
        for ax, values in zip(axes, (run.train, run.val)):
            ax.plot(np.arange(1, len(values) + 1), values, marker="o", label=labels.get(run.run, run.run))
    for ax, what in zip(axes, ("training", "validation")):
        ax.set(title=f"{what} loss", xlabel="epoch", ylabel="loss")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize="small")
    fig.tight_layout()
    st.image(figure_png(fig))


# --- the teacher and student pages ------------------------------------------------------------

def choose_run(kind: str) -> ModelRun:
    """Teacher by alpha; student by lambda and, when distilled, the teacher it learned from."""
    runs = {r.name: r for r in (teacher_runs() if kind == "teacher" else student_runs())}
    if kind == "teacher":
        name = persistent_widget(st.radio, "tsad_teacher", next(iter(runs)), "Teacher (loss weight α)",
                                 options=list(runs), format_func=lambda n: runs[n].label, horizontal=True)
        return runs[name]
    weights = sorted({fmt_num(r.weight) for r in runs.values()}, key=float)
    lam = persistent_widget(st.radio, "tsad_lambda", weights[0], "Distillation weight λ", options=weights,
                            horizontal=True)
    matching = [n for n, r in runs.items() if fmt_num(r.weight) == lam]
    if len(matching) == 1:
        return runs[matching[0]]
    name = persistent_widget(st.radio, f"tsad_teacher_of_{lam}", matching[0], "Learned from teacher",
                             options=matching, format_func=lambda n: runs[n].teacher, horizontal=True)
    return runs[name]


def model_page(kind: str) -> None:
    """The Teacher or Student page: choose a run and a window, see its saved or live result."""
    ws = page("Teacher" if kind == "teacher" else "Student", "🧠" if kind == "teacher" else "🎓")
    run = choose_run(kind)
    st.subheader(display_label(ws, run))
    run_warnings(ws, run)
    data = test_windows(ws)
    if data is None:
        return
    trained, inferred = is_trained(ws, run), is_inferred(ws, run)
    if not trained and not inferred:
        run_stage(f"{run.label} has not been trained in this workspace: train it, then run its inference.",
                  commands(ws)[run.name])
        return
    ids, series, labels, image_dir = data
    wid = choose_window(ws, ids)
    row = ids.tolist().index(wid)
    saved = saved_probs(ws, run) if inferred else None
    if saved is not None and wid in saved[0]:
        st.markdown("#### From the saved inference outputs")
        window_result(series[row], labels[row], saved[1][saved[0][wid]], f"{run.name} · window {wid}")
    elif saved is not None:
        st.warning(f"Window {wid} is not in the saved outputs of {run.name}: rerun its inference.")
    else:
        run_stage("No saved inference outputs for this model: run its inference.",
                  commands(ws)[run.infer_step])
    if not trained:
        return
    live_key = "tsad_live_result"
    if st.button("Run live on this window", help="Loads the checkpoint once and infers this window."):
        images = None
        if run.role == "teacher":
            from PIL import Image
            from .paths import plot_name
            path = Path(image_dir) / plot_name(wid)
            images = [np.asarray(Image.open(path).convert("RGB"))] if path.is_file() else None
        try:
            st.session_state[live_key] = (run.name, wid, infer(ws, run, series[row:row + 1], images)[0])
        except LOAD_ERRORS as err:
            st.error(f"{run.name} cannot run: {err}")
    result = st.session_state.get(live_key)
    if result is not None and result[:2] == (run.name, wid):
        st.markdown("#### Live, from the checkpoint")
        window_result(series[row], labels[row], result[2], f"{run.name} · window {wid} · live")
