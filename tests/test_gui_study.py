"""The Study page (Codes/GUI/pages/6_Study.py) with streamlit's AppTest: the command on a workspace
without a study, the summary, figure and runs of a study's files."""

from __future__ import annotations

import pandas as pd
import pytest

from tsad.core.fileio import save_text
from tsad.core.paths import REPO_ROOT, Workspace
from tsad.experiments import kd_study

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest
PAGE = REPO_ROOT / "Codes" / "GUI" / "pages" / "6_Study.py"


def open_page(ws, monkeypatch):
    monkeypatch.setenv("TSAD_WORKSPACE", str(ws.root))
    at = AppTest.from_file(str(PAGE), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_without_a_study_the_page_gives_the_command(tmp_path, monkeypatch):
    ws = Workspace(tmp_path / "ws")
    at = open_page(ws, monkeypatch)
    assert "kd_study.py" in at.code[0].value and str(ws.root) in at.code[0].value
    assert len(at.dataframe) == 0


def test_the_page_shows_a_studys_summary_figure_and_runs(tmp_path, monkeypatch):
    ws = Workspace(tmp_path / "ws")
    grid = kd_study.Grid(teachers=["context"], lams=[0, 1], folds=2, seeds=[0, 1])
    table = pd.DataFrame([{"teacher": t, "lam": lam, "fold": f, "seed": s, "gross_F1": 0.9 + 0.01 * f + 0.02 * lam,
                           "MSP": 0.6, "MSR": 0.6 + 0.01 * s, "within_2_samples": 0.5}
                          for t, lam in (("none", 0.0), ("context", 1.0)) for f in (0, 1) for s in (0, 1)])
    folder = kd_study.study_dir(ws, "demo")
    save_text(folder / "kd_study.csv", table.to_csv(index=False))
    summary = kd_study.summarise(table, grid)
    save_text(folder / "summary.csv", summary.to_csv(index=False))
    kd_study.figure(summary, folder / "kd_study.png")
    at = open_page(ws, monkeypatch)
    assert len(at.dataframe) == 2
    shown = at.dataframe[0].value
    row = shown[(shown.teacher == "context") & (shown.figure == "gross_F1")].iloc[0]
    assert row["diff_vs_lam0"] == pytest.approx(0.02)
    assert len(at.dataframe[1].value) == 8
    assert len(at.image) == 1
