"""Which pipeline stages a workspace has run, the command that runs each, and the models it holds.

Read from the files alone (no streamlit, no torch), so the app and its tests share one answer.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from .outputs import has_outputs, output_paths
from .paths import (METADATA, SPLITS, STUDENT_CHECKPOINT, STUDENT_RUN, STUDENT_LAMBDAS, TEACHER_ALPHAS,
                    TEACHER_CHECKPOINT, Workspace, fmt_num, kd_run_name, teacher_run_name)

TINY_BACKBONE = "tiny"
TINY_NOTE = "untrained tiny backbone"


@dataclass(frozen=True)
class ModelRun:
    """One trainable model of the pipeline; ``name`` is its run folder and its output tag."""

    name: str
    kind: str                 # "teacher" or "student"
    weight: float             # the teacher's alpha or the student's lambda
    label: str
    train_script: str
    train_args: tuple[str, ...] = ()
    infer_script: str = ""
    infer_args: tuple[str, ...] = ()
    teacher: str | None = None  # the teacher a distilled student learned from

    @property
    def checkpoint_name(self) -> str:
        return TEACHER_CHECKPOINT if self.kind == "teacher" else STUDENT_CHECKPOINT


def teacher_runs() -> list[ModelRun]:
    return [ModelRun(teacher_run_name(a), "teacher", a, f"Teacher α={fmt_num(a)}",
                     f"Codes/Models/vlm_train_{fmt_num(a)}.py",
                     infer_script=f"Codes/Inference/vlm/vlm_{fmt_num(a)}_infer.py")
            for a in TEACHER_ALPHAS]


def student_runs() -> list[ModelRun]:
    infer = "Codes/Inference/lstm/student_infer.py"
    runs = [ModelRun(STUDENT_RUN, "student", 0.0, "Student λ=0", "Codes/Models/student_train.py",
                     infer_script=infer, infer_args=("--run", STUDENT_RUN))]
    for lam in STUDENT_LAMBDAS:
        if lam == 0:
            continue
        for teacher in (t.name for t in teacher_runs()):
            name = kd_run_name(lam, teacher)
            runs.append(ModelRun(name, "student", lam, f"Student λ={fmt_num(lam)} from {teacher}",
                                 "Codes/Models/kd_train.py", ("--lam", fmt_num(lam), "--teacher", teacher),
                                 infer, ("--run", name), teacher=teacher))
    return runs


def all_runs() -> list[ModelRun]:
    return teacher_runs() + student_runs()


def find_run(name: str) -> ModelRun:
    for run in all_runs():
        if run.name == name:
            return run
    raise KeyError(f"{name}: not a run of this pipeline ({', '.join(r.name for r in all_runs())})")


def command(script: str, ws: Workspace, args=()) -> str:
    return " ".join(["python", script, "--workspace", shlex.quote(str(ws.root)), *map(shlex.quote, args)])


def read_metadata(run_dir: Path) -> dict:
    path = Path(run_dir) / METADATA
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    return data if isinstance(data, dict) else {}


def is_tiny(ws: Workspace, run_name: str) -> bool:
    return read_metadata(ws.run_dir(run_name)).get("backbone") == TINY_BACKBONE


def display_label(ws: Workspace, run: ModelRun) -> str:
    """The run's label, marked wherever an untrained tiny teacher lies behind its results."""
    if run.kind == "teacher" and is_tiny(ws, run.name):
        return f"{run.label} ({TINY_NOTE})"
    if run.teacher and is_tiny(ws, run.teacher):
        return f"{run.label} (teacher: {TINY_NOTE})"
    return run.label


def is_trained(ws: Workspace, run: ModelRun) -> bool:
    return (ws.run_dir(run.name) / run.checkpoint_name).is_file()


def is_inferred(ws: Workspace, run: ModelRun) -> bool:
    return has_outputs(ws.run_dir(run.name), run.name)


@dataclass(frozen=True)
class Stage:
    name: str
    command: str
    done: bool
    note: str = ""


def _newest_output_mtime(ws: Workspace) -> float:
    times = [p.stat().st_mtime for run in all_runs() if is_inferred(ws, run)
             for p in output_paths(ws.run_dir(run.name), run.name).values()]
    return max(times, default=0.0)


def pipeline_stages(ws: Workspace) -> list[Stage]:
    """Every stage in the order it runs; ``done`` from the files it writes."""
    stages = [
        Stage("Generate windows", command("Codes/Dataset/data_generate.py", ws),
              ws.segments_npy.is_file() and ws.windows_csv.is_file()),
        Stage("Split train/val/test", command("Codes/Dataset/data_split.py", ws),
              all(ws.split_csv(s).is_file() and ws.split_npy(s).is_file() for s in SPLITS)),
    ]
    for run in teacher_runs() + student_runs():
        stages.append(Stage(f"Train {run.label}", command(run.train_script, ws, run.train_args),
                            is_trained(ws, run)))
        stages.append(Stage(f"Inference {run.label}", command(run.infer_script, ws, run.infer_args),
                            is_inferred(ws, run)))
    results = ws.results_csv
    stale = results.is_file() and results.stat().st_mtime < _newest_output_mtime(ws)
    stages.append(Stage("Evaluate (results.csv, Plots/)", command("Codes/Inference/plot_inference.py", ws),
                        results.is_file() and not stale,
                        "older than an inference output: rerun" if stale else ""))
    return stages


def next_stage(stages: list[Stage]) -> Stage | None:
    """The first stage not done: what to run now."""
    return next((s for s in stages if not s.done), None)


def data_ready(ws: Workspace) -> bool:
    return ws.split_csv("test").is_file() and ws.split_npy("test").is_file()


def window_times(table, ids) -> "pd.DataFrame":
    """id, record and start time in seconds of the given windows, from windows.csv's table."""
    import pandas as pd

    start = next((c for c in ("start", "start_sample", "start_samples") if c in table.columns), None)
    missing = [c for c in ("id", "record", "fs") if c not in table.columns] + ([] if start else ["start"])
    if missing:
        raise ValueError(f"windows.csv lacks the columns {missing}")
    rows = table[table["id"].isin(list(ids))]
    return pd.DataFrame({"id": rows["id"].astype(int), "record": rows["record"].astype(str),
                         "start_s": rows[start] / rows["fs"]}).reset_index(drop=True)
