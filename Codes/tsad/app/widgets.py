"""The app's building blocks below the pages: widgets that keep their value across pages, the cache
key of files, the window chooser and the result views (one window, the loss curves). Only Codes/GUI
imports these, through ``tsad.app.shared`` (it needs streamlit)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from tsad.app.stages import all_runs, display_label, window_times
from tsad.core.errors import EXPECTED_ERRORS
from tsad.core.paths import Workspace
from tsad.experiments import curves
from tsad.scoring import beats, metrics
from tsad.scoring.plots import plot_window

WINDOW_KEY = "tsad_window"
LOAD_ERRORS = EXPECTED_ERRORS  # the messages scripts print as one line


def _keep(key: str) -> None:
    st.session_state[key] = st.session_state["_" + key]


def persistent_widget(widget, key: str, default, label: str, **kwargs):
    """A widget whose value survives page switches (Streamlit drops widget keys between pages)."""
    state = st.session_state
    state.setdefault(key, default)
    state["_" + key] = state[key]
    return widget(label, key="_" + key, on_change=_keep, args=(key,), **kwargs)


def stamp(*files: Path) -> tuple:
    """A cache key for files: their modification times (None for a missing file)."""
    return tuple(p.stat().st_mtime_ns if p.is_file() else None for p in files)


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
def window_png(series, labels, probs, predicted, threshold: float, title: str) -> bytes:
    return figure_png(plot_window(series, labels, probs=probs, pred_positions=predicted, threshold=threshold,
                                  title=title))


def window_result(series, labels, probs, title: str) -> dict | None:
    """One window: both leads, true and predicted beats, probabilities with the threshold, and
    (with labels; None for an unannotated upload) the window's precision and recall."""

    threshold = float(beats.window_thresholds(probs)[0])
    predicted = np.asarray(beats.predict_positions(probs), dtype=int)
    shown_labels = np.zeros(len(probs), np.float32) if labels is None else np.asarray(labels)
    st.image(window_png(series, shown_labels, probs, predicted, threshold, title))
    shown = {"threshold": threshold, "predicted": predicted.tolist()}
    cols = st.columns(3)
    cols[0].metric("Beat threshold", f"{threshold:.3f}",
                   help="A peak of the probability curve counts as a beat when it is above this line. "
                        "Here it is the window's average probability, so it adapts to each window.")
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
    """Training and validation loss of every run that saved them (tsad.experiments.curves finds them)."""
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
