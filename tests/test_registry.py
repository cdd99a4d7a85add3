"""The registry of runs: the standard grid as the seed had it, and a run added by one entry that goes
through the pipeline's plan (trained and scored by its steps), the results table and the app."""

from __future__ import annotations

import pytest
from conftest import REPO, make_split_workspace

from tsad.app.stages import display_label, pipeline_stages
from tsad.core.paths import Workspace
from tsad.experiments.evaluate import evaluate_workspace
from tsad.experiments.pipeline import plan
from tsad.models.student import ARCHITECTURES
from tsad.training import grid

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

EXTRA_TEACHER = "vlm_0.25"
EXTRA_STUDENT = "KD_train_0.25_vlm_0.25"
EXTRA_STEPS = (EXTRA_TEACHER, f"{EXTRA_TEACHER}_infer", EXTRA_STUDENT, f"{EXTRA_STUDENT}_infer")


def test_the_standard_grid_is_the_seeds():
    names = [r.name for r in grid.runs()]
    assert names == ["vlm_0.5", "vlm_1", "LSTM_train", "KD_train_0.5_vlm_0.5", "KD_train_1_vlm_0.5",
                     "KD_train_0.5_vlm_1", "KD_train_1_vlm_1"]
    assert grid.get("vlm_1").train_script == "Models/vlm_train_1.py"
    assert grid.get("KD_train_1_vlm_0.5").train_args == ("--lam", "1", "--teacher", "vlm_0.5")
    assert grid.get("KD_train_1_vlm_0.5").depends_on == ("vlm_0.5",)
    assert grid.get("LSTM_train").arch == grid.DEFAULT_ARCH
    with pytest.raises(KeyError, match="not a run of the grid"):
        grid.get("vlm_7")
    with pytest.raises(ValueError, match="already registered"):
        grid.register(grid.teacher_run(0.5))


def test_each_per_run_script_finds_its_run():
    assert grid.run_of_script(REPO / "Codes/Models/vlm_train_0.5.py").name == "vlm_0.5"
    assert grid.run_of_script(REPO / "Codes/Inference/vlm/vlm_1_infer.py", "infer").name == "vlm_1"


def test_another_architecture_is_a_name():
    run = grid.student_run(0.5, "vlm_1", arch="tcn")
    assert run.name == "KD_train_0.5_vlm_1_tcn" and run.train_args[-2:] == ("--arch", "tcn")
    assert grid.student_run(arch="tcn").name == "tcn_train"
    assert {"bilstm", "tcn"} <= set(ARCHITECTURES)


@pytest.fixture(scope="module")
def extra_runs():
    grid.register(grid.teacher_run(0.25))
    grid.register(grid.student_run(0.25, EXTRA_TEACHER))
    yield
    grid.unregister(EXTRA_STUDENT)
    grid.unregister(EXTRA_TEACHER)


@pytest.fixture(scope="module")
def extra_ws(extra_runs, tmp_path_factory) -> Workspace:
    """The split workspace with the added teacher and student trained and scored by their plan steps."""
    ws = make_split_workspace(tmp_path_factory.mktemp("registry") / "ws")
    steps = {s.name: s for s in plan(ws, schedule="quick", model="tiny")}
    for name in EXTRA_STEPS:
        steps[name].run()
    return ws


def test_an_added_run_is_planned_with_its_command(extra_runs, tmp_path):
    steps = {s.name: s for s in plan(Workspace(tmp_path), schedule="quick")}
    assert steps[EXTRA_TEACHER].command()[:3] == ["python", "-m", "tsad.training.vlm_teacher"]
    assert "--run" in steps[EXTRA_TEACHER].argv and EXTRA_TEACHER in steps[EXTRA_TEACHER].argv
    kd = steps[EXTRA_STUDENT]
    assert kd.stage == "kd" and kd.command()[1] == "Codes/Models/kd_train.py"
    assert kd.argv[kd.argv.index("--lam") + 1] == "0.25" and kd.argv[kd.argv.index("--teacher") + 1] == EXTRA_TEACHER
    order = list(steps)
    assert order.index(EXTRA_TEACHER) < order.index(EXTRA_STUDENT)


def test_an_added_run_reaches_the_results_table(extra_ws):
    evaluation = evaluate_workspace(extra_ws, with_xqrs=False, progress=False)
    table = evaluation.table.set_index("model")
    assert list(table.index) == [EXTRA_TEACHER, EXTRA_STUDENT]
    assert table.loc[EXTRA_STUDENT, "note"].startswith("teacher: tiny backbone")
    assert table.loc[EXTRA_TEACHER, "AUC_PR"] >= 0
    assert any(m.startswith("LSTM_train: no inference output") for m in evaluation.missing)
    done = {s.name: s.done for s in pipeline_stages(extra_ws)}
    assert all(done[name] for name in EXTRA_STEPS) and not done["vlm_1"]


def test_an_added_run_is_in_the_app(extra_ws, monkeypatch):
    monkeypatch.setenv("TSAD_WORKSPACE", str(extra_ws.root))
    at = AppTest.from_file(str(REPO / "Codes/GUI/0_Homepage.py"), default_timeout=60).run()
    at.switch_page("pages/1_Teacher.py").run()
    at.radio(key="_tsad_teacher").set_value(EXTRA_TEACHER).run()
    assert not at.exception and not at.error
    assert at.subheader[0].value == display_label(extra_ws, grid.get(EXTRA_TEACHER))
    at.switch_page("pages/2_Student.py").run()
    at.radio(key="_tsad_lambda").set_value("0.25").run()
    assert not at.exception and not at.error
    assert at.subheader[0].value == display_label(extra_ws, grid.get(EXTRA_STUDENT))
