"""Study page: the distillation study's summary (mean and 95% interval per teacher and lambda, paired
difference against lambda 0), its figure and its table of runs (Codes/Models/kd_study.py).

    streamlit run Codes/GUI/0_Homepage.py   (then choose "Study" in the sidebar)
"""

from __future__ import annotations

from pathlib import Path

try:
    import tsad  # noqa: F401
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

import pandas as pd
import streamlit as st

from tsad.app import shared
from tsad.models.teachers.picture import PICTURE


def studies(ws) -> list[Path]:
    """Study folders that hold a summary, newest first."""
    root = ws.root / "study"
    found = [p.parent for p in root.glob("*/summary.csv")] if root.is_dir() else []
    return sorted(found, key=lambda p: (p / "summary.csv").stat().st_mtime, reverse=True)


def main() -> None:
    ws = shared.page("Distillation study", "🧪")
    found = studies(ws)
    if not found:
        shared.run_stage("No distillation study in this workspace yet: run one (teachers per record-wise fold, "
                      "students at lambda 0, 0.5 and 1 over seeds), e.g.",
                      f"python Codes/Models/kd_study.py --workspace {ws.root} --input-dir PATH/TO/RECORDS --jobs 2")
        return
    folder = found[0] if len(found) == 1 else \
        found[[p.name for p in found].index(st.selectbox("Study", [p.name for p in found]))]
    st.caption("Teachers here are trained on this machine from random initialisation: the picture teacher "
               f"({PICTURE.note}) and the context teacher; none of them is SmolVLM.")
    summary = pd.read_csv(folder / "summary.csv")
    st.header("F1 at 150 ms, MSP, MSR, beats within 2 samples")
    st.dataframe(summary, hide_index=True)
    if (folder / "kd_study.png").is_file():
        st.image(str(folder / "kd_study.png"))
    st.header("Every run")
    st.dataframe(pd.read_csv(folder / "kd_study.csv"), hide_index=True)


main()
