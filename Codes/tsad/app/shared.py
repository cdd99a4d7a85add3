"""The Streamlit app's shared parts: workspace choice, cached loaders, the window chooser, the
result view and the teacher/student page. Only Codes/GUI imports this module (it needs streamlit).

Loaders are keyed by the files' modification times, so a stage that runs while the app is open
shows up on the next rerun. A missing artefact becomes a message naming the stage to run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from tsad.app.stages import (
    commands,
    data_ready,
    display_label,
    is_inferred,
    is_trained,
    pipeline_stages,
    student_runs,
    teacher_runs,
)
from tsad.app.widgets import (
    LOAD_ERRORS,
    choose_window,
    persistent_widget,
    stamp,
    window_result,
)
from tsad.core.geometry import WindowGeometry, check_checkpoint_geometry, load_workspace_geometry
from tsad.core.paths import THRESHOLD_FILE, Workspace, default_workspace, fmt_num, plot_name
from tsad.data.splits import load_split
from tsad.models.loader import find_checkpoint, load
from tsad.models.predictor import DetectionError
from tsad.models.tuned import tuned_warnings
from tsad.scoring.outputs import load_outputs, output_paths
from tsad.training.grid import Run

WS_KEY = "tsad_workspace"


# --- workspace and page frame -------------------------------------------------------------

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


def run_warnings(ws: Workspace, run: Run) -> None:
    """The warnings recorded when the run's detection threshold was tuned (``<run>/detection.json``:
    a model that has not learned, a doubtful threshold), one st.warning each, beside the model."""

    try:
        found = tuned_warnings(ws.run_dir(run.name))
    except DetectionError as err:
        st.error(str(err))
        return
    for message in found:
        st.warning(f"{run.name} ({THRESHOLD_FILE}): {message}")


# --- cached loaders -----------------------------------------------------------------------

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


def saved_probs(ws: Workspace, run: Run):
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
    predictor = load(run_dir, device="cpu")   # the one loader: any kind of tsad.models.loader.KINDS
    check_checkpoint_geometry(predictor.header, WindowGeometry.from_dict(dict(geometry)),
                              find_checkpoint(run_dir))
    return predictor


def load_model(ws: Workspace, run: Run):
    """The run's Predictor (``tsad.models.loader.load``; cached until its checkpoint changes); a
    checkpoint trained on another window geometry than the workspace's raises GeometryError."""

    run_dir = ws.run_dir(run.name)
    geometry = tuple((k, tuple(v) if isinstance(v, list) else v)
                     for k, v in load_workspace_geometry(ws).to_dict().items())
    return _model(str(run_dir), stamp(run_dir / run.checkpoint_name), geometry)


def infer(ws: Workspace, run: Run, series: np.ndarray, images=None) -> np.ndarray:
    """Probabilities (N, L) from the run's checkpoint; a model that reads plots sees ``images``
    (or renders them from ``series``)."""
    predictor = load_model(ws, run)
    if images is not None and predictor.image_probs is not None:
        return predictor.image_probs(images)
    return predictor.window_probs(series)


# --- the teacher and student pages ------------------------------------------------------------

def choose_run(kind: str) -> Run:
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
