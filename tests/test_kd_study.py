"""A tiny distillation study end to end (synthetic records, seconds): per-fold teachers trained on
the fold's training records only, students at each lambda and seed, the table, the paired summary,
the figure, --resume, --print-commands and the refusal of another grid."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import run_script

from tsad.core.checkpoint import load_checkpoint
from tsad.core.paths import REPO_ROOT, TEACHER_CHECKPOINT, Workspace
from tsad.data.folds import assign_record_parts
from tsad.experiments import kd_study
from tsad.models.teachers.context import CONTEXT

SCRIPT = REPO_ROOT / "Codes/Models/kd_study.py"
GRID = ["--name", "tiny", "--teachers", "context", "--lams", "0", "1", "--folds", "2", "--seeds", "0", "1",
        "--train-windows", "40", "--student-epochs", "1", "--teacher-epochs", "1"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    from tsad.data.demo_db import DemoConfig, write_demo_database

    root = tmp_path_factory.mktemp("study")
    write_demo_database(root / "raw", DemoConfig(n_records=4, minutes=1))
    ws = Workspace(root / "ws")
    run_script(REPO_ROOT / "Codes/Dataset/data_generate.py",
               ["--workspace", str(ws.root), "--input-dir", str(root / "raw"), "--workers", "1"])
    base = ["--workspace", str(ws.root), "--input-dir", str(root / "raw"), "--device", "cpu", *GRID]
    summary = run_script(SCRIPT, base)
    return ws, base, summary


def test_table_summary_and_figure(study):
    ws, _, summary = study
    root = kd_study.study_dir(ws, "tiny")
    table = pd.read_csv(root / "kd_study.csv")
    # lambda 0 (no teacher) and lambda 1 (context), 2 folds x 2 seeds each
    assert len(table) == 8
    assert sorted(table.groupby(["teacher", "lam"]).size().items()) == [(("context", 1.0), 4), (("none", 0.0), 4)]
    for fig in kd_study.FIGURES:
        assert table[fig].between(0, 1).all()
    assert (table.loc[table.teacher == "context", "note"] == CONTEXT.note).all()
    # the paired difference is the mean of (distilled - lambda 0) on the same fold and seed
    base = table[table.teacher == "none"].set_index(["fold", "seed"])["gross_F1"]
    kd = table[table.teacher == "context"].set_index(["fold", "seed"])["gross_F1"]
    row = summary[(summary.teacher == "context") & (summary.figure == "gross_F1")].iloc[0]
    assert row["diff_vs_lam0"] == pytest.approx(float((kd - base.loc[kd.index]).mean()))
    assert row["pairs"] == 4 and row["diff_ci_low"] <= row["diff_vs_lam0"] <= row["diff_ci_high"]
    assert row["mean"] == pytest.approx(kd.mean())
    assert (root / "kd_study.png").stat().st_size > 5000
    assert "8 of 8 student runs finished" in (root / "summary.md").read_text()


def test_teachers_see_only_their_folds_training_records(study):
    ws, _, _ = study
    from tsad.experiments.crossval import load_cv_data

    data = load_cv_data(ws)
    for fold in range(2):
        parts = assign_record_parts(data.records, folds=2, fold=fold, val=0.05, seed=42)
        run = ws.run_dir(kd_study.teacher_run_name("tiny", fold, "context"))
        done = json.loads((run / "done.json").read_text())
        assert done["train_records"] == parts["train"]
        assert not set(done["train_records"]) & set(parts["test"])
        state = load_checkpoint(run / TEACHER_CHECKPOINT)
        in_train = int(np.isin(data.records, parts["train"]).sum())
        assert state["kind"] == "teacher" and state["n_train"] == min(40, in_train)
        # the distilled students of this fold used this fold's teacher
        student = ws.root / "cv" / "study-tiny" / "context_lam1_seed0" / f"fold{fold}" / "best.pth"
        assert load_checkpoint(student)["teacher"] == kd_study.teacher_run_name("tiny", fold, "context")


def test_resume_skips_finished_runs_and_refuses_another_grid(study, capsys):
    ws, base, _ = study
    csv = kd_study.study_dir(ws, "tiny") / "kd_study.csv"
    before = csv.read_text()
    run_script(SCRIPT, [*base, "--resume"])
    assert "10 of 10 runs finished before; 0 to run" in capsys.readouterr().out
    assert csv.read_text() == before
    with pytest.raises(kd_study.StudyError, match="pass --resume"):
        run_script(SCRIPT, base)
    other = [*base, "--resume", "--temperature", "4"]
    with pytest.raises(kd_study.StudyError, match="another grid.*temperature"):
        run_script(SCRIPT, other)
    res = subprocess.run([sys.executable, str(SCRIPT), *other], capture_output=True, text=True, check=False)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and res.stderr.startswith("error: ") and "grid.json" in res.stderr


def test_print_commands_lists_every_run(study, capsys):
    _, base, _ = study
    run_script(SCRIPT, [*base, "--print-commands"])
    lines = capsys.readouterr().out.strip().splitlines()
    keys = [line.split("--one ")[1] for line in lines[:-1]]
    assert keys[:2] == ["teacher:context:fold0", "teacher:context:fold1"]  # teachers first
    assert len(keys) == 10 and len(set(keys)) == 10
    assert "student:context:lam1:seed1:fold1" in keys and "student:none:lam0:seed0:fold0" in keys
    assert all("--resume" in line and "--print-commands" not in line for line in lines)
    assert "--one" not in lines[-1]  # the collecting command
    # a printed command runs its one run (finished here: nothing to do) without error
    run_script(SCRIPT, [*base, "--resume", "--one", keys[-1]])
    with pytest.raises(kd_study.StudyError, match="not a run of this study"):
        run_script(SCRIPT, [*base, "--resume", "--one", "student:context:lam0.5:seed0:fold0"])


def test_grid_checks():
    with pytest.raises(kd_study.StudyError, match="must include 0"):
        kd_study.Grid(lams=[0.5, 1])
    with pytest.raises(kd_study.StudyError, match="unknown teacher"):
        kd_study.Grid(teachers=["vlm"])
    run = kd_study.StudyRun("student", 3, "picture", 0.5, 2)
    assert kd_study.StudyRun.parse(run.key) == run
    assert np.isclose(kd_study.Grid.full().folds, 5)


# ---- distillation under a deployment constraint (tsad.experiments.constraints) -----------------------------

def test_a_constraint_study_plans_teacher_students_readings_and_comparisons():
    from tsad.experiments import constraints

    phases = constraints.plan("one-lead", "ol", "W", seeds=(42, 1), folds=5)
    members, ensemble, students, readings, comparisons = phases
    assert [c[c.index("--name") + 1] for c in members] == ["ol-teacher-s42", "ol-teacher-s1"]
    for cmd in members:   # the shipped recipe, explicit: a constraint may change some of its values
        assert cmd[cmd.index("--arch") + 1] == "fcn_20k" and cmd[cmd.index("--soft-sigma") + 1] == "2.0"
        assert cmd[cmd.index("--aug-lead-dropout") + 1] == "0.5"
    assert ensemble[0][ensemble[0].index("--members") + 1:] == ["cv/ol-teacher-s42/fold{fold}", "cv/ol-teacher-s1/fold{fold}"]
    kd = [c for c in students if "--lam" in c]
    assert len(kd) == 2 and all(c[c.index("--fold-teacher") + 1] == "cv/ol-teacher/fold{fold}" for c in kd)
    for cmd in students:   # one lead in every window, in either input; the recipe's other values kept
        assert cmd.count("--aug-lead-dropout") == 1 and cmd[cmd.index("--aug-lead-dropout") + 1] == "1.0"
        assert cmd[cmd.index("--aug-lead-swap") + 1] == "0.5" and cmd[cmd.index("--fold-seed") + 1] == "42"
    read = {c[c.index("--name") + 1]: c for c in readings}
    assert len(read) == 12 and read["ol-teacher-s1-lead1"][-6:-4] == ["--leads", "1"]
    assert comparisons[1][-3:] == ["ol-teacher-s42-lead0+ol-teacher-s1-lead0", "ol-labels-s42-lead0+ol-labels-s1-lead0",
                                   "ol-kd-s42-lead0+ol-kd-s1-lead0"]
    causal = constraints.plan("causal", "c", "W", seeds=(42,), folds=2, train_windows=40)
    assert all(c[c.index("--lookahead-s") + 1] == "0.3" for c in causal[2])
    assert all("--latency-s" in c for c in causal[3]) and len(causal[3]) == 2     # the students only
    assert causal[2][0][causal[2][0].index("--train-windows") + 1] == "40"
    with pytest.raises(ValueError, match="unknown constraint"):
        constraints.plan("wearable", "x", "W")


def test_a_small_causal_study_runs_end_to_end(study):
    """Two folds, one seed, 40 windows: the teacher, the students on labels and distilled, their
    causal readings and the comparisons against the offline teacher members, written in the study."""
    ws, _, _ = study
    written = run_script(SCRIPT, ["--workspace", str(ws.root), "--constraint", "causal", "--name", "tiny-causal",
                                  "--folds", "2", "--seeds", "42", "--train-windows", "40", "--student-epochs", "1",
                                  "--jobs", "2"])
    assert [p.name.split("_vs_")[0] for p in written] == ["compare_tiny-causal-teacher-s42"] + \
        ["compare_tiny-causal-teacher-s42", "compare_tiny-causal-labels-s42-latency05"]
    for run in ("tiny-causal-labels-s42", "tiny-causal-kd-s42"):
        state = load_checkpoint(ws.root / "cv" / run / "fold0" / "best.pth")
        assert state["model_config"]["lookahead"] == 38 and state["train_windows"] == 40
    assert load_checkpoint(ws.root / "cv" / "tiny-causal-kd-s42" / "fold1" / "best.pth")["lam"] == 0.5
    meta = json.loads((ws.root / "cv" / "tiny-causal-kd-s42-latency05" / "fold0" / "detections" /
                       "detections.json").read_text())
    assert meta["latency_s"] == 0.5 and meta["models_from"] == "tiny-causal-kd-s42"
    assert "paired over folds" in written[1].read_text()
