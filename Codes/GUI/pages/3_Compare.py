"""Compare page: every model with saved outputs on the same test window, the results table and
the loss curves.

    streamlit run Codes/GUI/0_Homepage.py   (then choose "Compare" in the sidebar)
"""

from __future__ import annotations

try:
    import tsad  # noqa: F401
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

import streamlit as st  # noqa: E402

from tsad.app import (
    shared,  # noqa: E402
    widgets,
)
from tsad.app.stages import all_runs, commands, display_label, find_run, is_inferred  # noqa: E402
from tsad.core.paths import STUDENT_RUN  # noqa: E402


def same_window(ws) -> None:
    runs = [r for r in all_runs() if is_inferred(ws, r)]
    if not runs:
        shared.run_stage("No model has saved inference outputs yet: run a model's inference, e.g.",
                      commands(ws)[find_run(STUDENT_RUN).infer_step])
        return
    data = shared.test_windows(ws)
    if data is None:
        return
    ids, series, labels, _ = data
    wid = widgets.choose_window(ws, ids)
    row = ids.tolist().index(wid)
    for run in runs:
        saved = shared.saved_probs(ws, run)
        if saved is None:
            continue
        st.subheader(display_label(ws, run))
        shared.run_warnings(ws, run)
        if wid not in saved[0]:
            st.warning(f"Window {wid} is not in the saved outputs of {run.name}: rerun its inference.")
            continue
        widgets.window_result(series[row], labels[row], saved[1][saved[0][wid]], f"{run.name} · window {wid}")


def main() -> None:
    ws = shared.page("Compare the models", "⚖️")
    st.header("The same window, every model")
    same_window(ws)
    st.header("Results on the test split")
    shared.results_table(ws)
    st.header("Loss curves")
    widgets.loss_curves(ws)


if __name__ == "__main__":
    main()
