"""Home page of the tsad app: the project, the pipeline, which stages have run, the results.

    streamlit run Codes/GUI/0_Homepage.py          (or from Codes/GUI: streamlit run 0_Homepage.py)

The workspace comes from $TSAD_WORKSPACE or the sidebar.
"""

from __future__ import annotations

try:
    import tsad  # noqa: F401
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from tsad.app import (
    shared,  # noqa: E402
    widgets,
)
from tsad.app.stages import (
    all_runs,
    display_label,
    is_inferred,
    next_stage,
    resume_command,
    student_runs,
    teacher_runs,
)
from tsad.core.geometry import load_workspace_geometry  # noqa: E402
from tsad.core.paths import fmt_num  # noqa: E402

ABOUT = """
**tsad** finds the heartbeats in ECG windows (here: {geometry}). A vision-language
model (SmolVLM) looks at a plot of each window and learns to mark the beat positions: that is the
*teacher*. A small bidirectional LSTM reads the raw signal: that is the *student*. Knowledge
distillation trains the student on the labels and on the teacher's soft predictions (weight λ),
so that a model small enough for a bedside monitor inherits what the large one learned.
"""

FLOW = """digraph {{
  rankdir=LR; node [shape=box, style=rounded, fontsize=11];
  raw [label="WFDB records\\n(svdb, mitdb)"]; win [label="windows\\n+ beat labels + plots"];
  split [label="train / val / test"]; teacher [label="teacher\\nSmolVLM, α = {alphas}"];
  student [label="student\\nBiLSTM, λ = 0"]; kd [label="distilled student\\nλ = {lambdas}"];
  eval [label="scores\\nMSP, MSR, Se, PPV, F1"];
  raw -> win -> split; split -> teacher; split -> student; teacher -> kd [label="logits"];
  split -> kd; teacher -> eval; student -> eval; kd -> eval;
}}"""


def _values(runs) -> str:
    return ", ".join(sorted({fmt_num(r.weight) for r in runs}, key=float))


def flow_chart() -> str:
    """The pipeline's graph, with the alphas and lambdas of the registry's runs."""
    return FLOW.format(alphas=_values(teacher_runs()), lambdas=_values(r for r in student_runs() if r.teacher))


def about(ws) -> str:
    """The project in a paragraph, with the workspace's window geometry."""
    try:
        geometry = load_workspace_geometry(ws).describe()
    except widgets.LOAD_ERRORS as err:
        st.error(str(err))
        geometry = "geometry unreadable"
    return ABOUT.format(geometry=geometry)


def stage_table(ws) -> None:
    stages = shared.stages(ws)
    todo = next_stage(stages)
    if todo is None:
        st.success("Every stage has run in this workspace.")
    else:
        shared.run_stage(f"Next stage: **{todo.name}**", todo.command)
        st.caption("Or every remaining stage in order (add --input-dir and --model for real data and the "
                   "real teacher):")
        st.code(resume_command(ws), language="bash")
    with st.expander(f"Stages ({sum(s.done for s in stages)} of {len(stages)} done)", expanded=todo is not None):
        st.dataframe(pd.DataFrame({"stage": [s.name for s in stages],
                                   "done": ["yes" if s.done else "no" for s in stages],
                                   "note": [s.note for s in stages],
                                   "command": [s.command for s in stages]}),
                     hide_index=True, width="stretch")


def example_window(ws) -> None:
    runs = [r for r in all_runs() if is_inferred(ws, r)]
    if not runs:
        st.info("No model has written inference outputs yet: see the next stage above.")
        return
    run = next((r for r in runs if r.role == "student"), runs[0])
    data = shared.test_windows(ws)
    saved = shared.saved_probs(ws, run) if data is not None else None
    if saved is None:
        return
    ids, series, labels, _ = data
    rows = [k for k, i in enumerate(ids) if int(i) in saved[0]]
    if not rows:
        st.warning(f"The outputs of {run.name} match no test window: rerun its inference.")
        return
    wid = int(ids[rows[0]])
    st.caption(f"{display_label(ws, run)}, test window {wid}")
    widgets.window_result(series[rows[0]], labels[rows[0]], saved[1][saved[0][wid]], f"{run.name} · window {wid}")


def main() -> None:
    ws = shared.page("ECG beat detection with a distilled student", "🫀")
    st.markdown(about(ws))
    st.graphviz_chart(flow_chart())
    st.caption(f"Workspace: `{ws.root}`")
    st.header("Pipeline")
    stage_table(ws)
    st.header("Results")
    shared.results_table(ws)
    st.header("An example window")
    example_window(ws)


if __name__ == "__main__":
    main()
