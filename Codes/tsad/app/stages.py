"""What the app knows about a workspace: the models of the pipeline, which of them are trained or
have inference outputs, the stages run_pipeline.py would run with their commands and whether each
is complete, and where each test window came from. No streamlit here.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from tsad.core.paths import Workspace
from tsad.experiments.evaluate import read_metadata, run_note
from tsad.experiments.pipeline import plan
from tsad.scoring.outputs import has_outputs, output_paths
from tsad.training import grid
from tsad.training.grid import Run as ModelRun

LOSS_FIGURE = "losses_all.png"  # written last by plot_losses.py


def teacher_runs() -> list[ModelRun]:
    """The registry's teacher runs."""
    return grid.runs("teacher")


def student_runs() -> list[ModelRun]:
    """The registry's student runs: the plain student, then the distilled ones."""
    return grid.runs("student")


def all_runs() -> list[ModelRun]:
    """Every run of the registry's grid, teachers first."""
    return grid.runs()


def find_run(name: str) -> ModelRun:
    """The registry's run called ``name``; KeyError lists the runs."""
    return grid.get(name)


def tiny_note(ws: Workspace, run: ModelRun) -> str:
    """The evaluation's note on a run (an untrained tiny backbone in it or in its teacher), or ''."""

    teacher_meta = read_metadata(ws.run_dir(run.teacher)) if run.teacher else None
    return run_note(run.name, read_metadata(ws.run_dir(run.name)), teacher_meta)


def display_label(ws: Workspace, run: ModelRun) -> str:
    """The run's label, with a note wherever an untrained tiny backbone lies behind its results."""
    note = tiny_note(ws, run)
    return f"{run.label} ({note})" if note else run.label


def is_trained(ws: Workspace, run: ModelRun) -> bool:
    """The run's best checkpoint is in the workspace."""
    return (ws.run_dir(run.name) / run.checkpoint_name).is_file()


def is_inferred(ws: Workspace, run: ModelRun) -> bool:
    """The run's inference outputs are complete in the workspace."""
    return has_outputs(ws.run_dir(run.name), run.name)


# ---- the stages, as run_pipeline.py plans them -----------------------------------------------------

@dataclass(frozen=True)
class Stage:
    """A step of the plan as the home page shows it: its command and whether it is complete."""

    name: str
    command: str
    done: bool
    note: str = ""


def _command(step) -> str:
    return " ".join(map(shlex.quote, step.command()))


def commands(ws: Workspace) -> dict[str, str]:
    """Step name (data_generate, vlm_0.5, vlm_0.5_infer, LSTM_train, ...) -> its command."""

    return {step.name: _command(step) for step in plan(ws, schedule="seed")}


def _newest_output_mtime(ws: Workspace) -> float:
    times = [p.stat().st_mtime for run in all_runs() if is_inferred(ws, run)
             for p in output_paths(ws.run_dir(run.name), run.name).values()]
    return max(times, default=0.0)


def pipeline_stages(ws: Workspace) -> list[Stage]:
    """Every step of run_pipeline.py in order, complete or not by its own --resume check (those
    read the files, so callers cache the answer); losses and evaluation by their outputs' age."""

    stages = []
    newest = _newest_output_mtime(ws)
    for step in plan(ws, schedule="seed"):
        note = ""
        if step.stage == "evaluate":
            done = ws.results_csv.is_file() and ws.results_csv.stat().st_mtime >= newest
            note = "older than an inference output" if ws.results_csv.is_file() and not done else ""
        elif step.stage == "losses":
            done = (ws.plots / LOSS_FIGURE).is_file()
        else:
            done = bool(ws.root.is_dir() and step.done())
        stages.append(Stage(step.name, _command(step), done, note))
    return stages


def next_stage(stages: list[Stage]) -> Stage | None:
    """The first stage not done: what to run now."""
    return next((s for s in stages if not s.done), None)


def resume_command(ws: Workspace) -> str:
    """The command that runs every remaining stage of this workspace."""
    return f"python Codes/run_pipeline.py --workspace {shlex.quote(str(ws.root))} --resume"


def data_ready(ws: Workspace) -> bool:
    """The test split is there (the app's pages need it)."""
    return ws.split_csv("test").is_file() and ws.split_npy("test").is_file()


def window_times(table, ids):
    """id, record and start time in seconds of the given windows, from windows.csv's table."""
    import pandas as pd

    start = next((c for c in ("start", "start_sample", "start_samples") if c in table.columns), None)
    missing = [c for c in ("id", "record", "fs") if c not in table.columns] + ([] if start else ["start"])
    if missing:
        raise ValueError(f"windows.csv lacks the columns {missing}")
    rows = table[table["id"].isin(list(ids))]
    return pd.DataFrame({"id": rows["id"].astype(int), "record": rows["record"].astype(str),
                         "start_s": rows[start] / rows["fs"]}).reset_index(drop=True)
