"""Every stage in order, as run_pipeline.py runs them: the plan, the completeness checks behind
``--resume``, and a manifest per step.

Each step calls the function a stage script runs (``tsad.core.scripts.SCRIPTS``) with the script's
flags in this process, so a stage behaves exactly as when it is run alone, and the interpreter
(torch, transformers) is loaded once.
"""

from __future__ import annotations

import importlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tsad.core import paths
from tsad.core.checkpoint import load_checkpoint
from tsad.core.common import log
from tsad.core.manifest import write_manifest
from tsad.core.paths import DATA_MANIFEST, SPLIT_MANIFEST, SPLITS, Workspace
from tsad.core.scripts import entry
from tsad.data.split import load_generated
from tsad.data.splits import load_split, read_split_csv
from tsad.scoring.outputs import load_outputs, output_paths
from tsad.training import grid

CODES = paths.REPO_ROOT / "Codes"
STAGES = ("data", "split", "teacher", "teacher_infer", "student", "kd", "student_infer", "losses", "evaluate")

# Data sizes of the synthetic database, and training schedules. The embedded default runs the whole
# chain on a laptop CPU in minutes: a small demo database and a short schedule (few epochs, a
# higher learning rate, a short warm-up). Real data (--input-dir / --download) keeps the scripts'
# own defaults, the seed's schedule, unless --schedule short asks for the CPU-sized one.
DEMO_SIZES = {"demo": None, "quick": (2, 1.0)}  # None: data_generate.py's own demo size
SCHEDULES = {
    "short": {"teacher": ["--epochs", "3", "--lr", "1e-3", "--warmup-steps", "10"],
              "student": ["--epochs", "6", "--lr", "3e-3", "--warmup-steps", "20"],
              "kd": ["--epochs", "6", "--lr", "3e-3", "--warmup-steps", "20"]},
    "quick": {"teacher": ["--epochs", "1", "--lr", "1e-3", "--warmup-steps", "2", "--batch-size", "8"],
              "student": ["--epochs", "2", "--lr", "3e-3", "--warmup-steps", "2"],
              "kd": ["--epochs", "2", "--lr", "3e-3", "--warmup-steps", "2"]},
    "seed": {"teacher": [], "student": [], "kd": []},
}


@dataclass
class Step:
    """One command of the plan: a script under Codes/ (a Path) or a ``tsad.`` module, and its flags."""

    stage: str
    name: str
    script: Path | str
    argv: list[str]
    done: Callable[[], bool]
    outputs: list[Path] = field(default_factory=list)

    @property
    def is_module(self) -> bool:
        """True when the step runs a module (``python -m tsad.training.vlm_teacher``), not a script file."""
        return isinstance(self.script, str)

    def command(self) -> list[str]:
        """The step as a shell command, relative to the repository root."""
        if self.is_module:
            return ["python", "-m", self.script, *self.argv]
        return ["python", str(Path(self.script).relative_to(paths.REPO_ROOT)), *self.argv]

    def run(self) -> object:
        """Calls the step's ``main(argv)`` in this process: a module's, or the package function a
        script runs (``tsad.core.scripts.SCRIPTS``); the script file itself is never run."""
        if self.is_module:
            return importlib.import_module(self.script).main(self.argv)
        function, bound = entry(Path(self.script).relative_to(CODES).as_posix())
        return function(self.argv, **bound)


def _entry(script: str) -> Path | str:
    """A registry script (a path under Codes/ or a ``tsad.`` module) as a Step's script."""
    return script if script.startswith("tsad.") else CODES / script


# ---- completeness checks for --resume ------------------------------------------------------------

def _quietly(check: Callable[[], object]) -> bool:
    """A check passes when it raises nothing; any error means the step must run again."""
    try:
        return check() is not False
    except (OSError, ValueError, KeyError) as err:
        log.debug("not complete: %s", err)
        return False


def data_done(ws: Workspace) -> bool:
    """The data stage's outputs are all there and consistent."""

    return (ws.root / DATA_MANIFEST).is_file() and _quietly(lambda: load_generated(ws))


def split_done(ws: Workspace) -> bool:
    """Every split is there and readable."""

    return (ws.split_root / SPLIT_MANIFEST).is_file() and all(
        _quietly(lambda s=s: load_split(ws, s)) for s in SPLITS)


def run_done(ws: Workspace, run: str, checkpoint: str) -> bool:
    """A run finished training and its best checkpoint loads."""

    def check():
        meta = json.loads((ws.run_dir(run) / paths.METADATA).read_text())
        load_checkpoint(ws.run_dir(run) / checkpoint)
        return bool(meta.get("finished"))

    return _quietly(check)


def infer_done(ws: Workspace, run: str) -> bool:
    """A run's inference outputs cover the test split and are newer than its training."""
    import numpy as np

    def check():
        out = load_outputs(ws.run_dir(run), run)
        ids, _ = read_split_csv(ws.split_csv("test"))
        trained_after = (ws.run_dir(run) / paths.METADATA).stat().st_mtime
        return np.array_equal(out.ids, ids) and paths_newer(ws.run_dir(run), run, trained_after)

    return _quietly(check)


def paths_newer(run_dir: Path, run: str, than: float) -> bool:
    """Every output file of ``run`` was written at or after ``than`` (a modification time)."""

    return all(p.stat().st_mtime >= than for p in output_paths(run_dir, run).values())


# ---- the plan ----------------------------------------------------------------------------------

def data_flags(seconds: float | None = None, fs: float | None = None, channels: list[int] | None = None,
               labels: str | None = None) -> list[str]:
    """data_generate.py's geometry flags for the values given (None: the script's default)."""
    flags = []
    for flag, value in (("--seconds", seconds), ("--fs", fs), ("--labels", labels)):
        if value is not None:
            flags += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    if channels is not None:
        flags += ["--channels", *map(str, channels)]
    return flags


def plan(ws: Workspace, *, schedule: str = "short", demo_size: str = "demo", input_dir: str | None = None,
         records: list[str] | None = None, download: str | None = None, model: str = "tiny",
         epochs: int | None = None, seed: int = 42, geometry_flags: list[str] | None = None) -> list[Step]:
    """Every step of the pipeline in order, for the runs of tsad.training.grid.

    ``geometry_flags`` are passed to the data stage (``--seconds``, ``--fs``, ``--channels``,
    ``--labels``); every later stage reads the geometry from the workspace.
    """
    flags_of = SCHEDULES[schedule]
    common = ["--workspace", str(ws.root), "--seed", str(seed)]

    def train_flags(kind: str) -> list[str]:
        flags = list(flags_of[kind])
        if epochs:
            if "--epochs" in flags:
                flags[flags.index("--epochs") + 1] = str(epochs)
            else:
                flags += ["--epochs", str(epochs)]
        return flags

    if input_dir or download:
        data_args = common + (["--input-dir", input_dir] if input_dir else []) + \
            (["--download", download] if download else []) + (["--records", *records] if records else [])
    elif DEMO_SIZES[demo_size]:
        n_records, minutes = DEMO_SIZES[demo_size]
        data_args = common + ["--demo-records", str(n_records), "--demo-minutes", str(minutes)]
    else:
        data_args = common
    steps = [
        Step("data", "data_generate", CODES / "Dataset/data_generate.py", data_args + list(geometry_flags or []),
             lambda: data_done(ws), [ws.labels_csv, ws.segments_npy, ws.windows_csv]),
        Step("split", "data_split", CODES / "Dataset/data_split.py", common, lambda: split_done(ws),
             [ws.split_root]),
    ]
    teachers = grid.runs("teacher")
    for run in teachers:
        steps.append(Step("teacher", run.name, _entry(run.train_script),
                          common + list(run.train_args) + ["--model", model] + train_flags("teacher"),
                          lambda r=run: run_done(ws, r.name, r.checkpoint_name), [ws.run_dir(run.name)]))
    for run in teachers:
        steps.append(Step("teacher_infer", run.infer_step, _entry(run.infer_script), common + list(run.infer_args),
                          lambda r=run: infer_done(ws, r.name), [ws.run_dir(run.name)]))
    students = grid.runs("student")
    for run in students:
        stage = "kd" if run.teacher else "student"
        steps.append(Step(stage, run.name, _entry(run.train_script),
                          common + list(run.train_args) + train_flags(stage),
                          lambda r=run: run_done(ws, r.name, r.checkpoint_name), [ws.run_dir(run.name)]))
    for run in students:
        steps.append(Step("student_infer", run.infer_step, _entry(run.infer_script), common + list(run.infer_args),
                          lambda r=run: infer_done(ws, r.name), [ws.run_dir(run.name)]))
    steps.append(Step("losses", "plot_losses", CODES / "Models/plot_losses.py", common, lambda: False, [ws.plots]))
    steps.append(Step("evaluate", "plot_inference", CODES / "Inference/plot_inference.py", common, lambda: False,
                      [ws.results_csv, ws.results_md, ws.plots]))
    return steps


def run_steps(ws: Workspace, steps: list[Step], stages, resume: bool) -> list[dict]:
    """Runs the chosen stages in order; returns one record per step (ran, skipped, seconds)."""
    report = []
    chosen = [s for s in steps if s.stage in stages]
    for k, step in enumerate(chosen, 1):
        if resume and step.done():
            log.info("[%d/%d] %s: complete, skipped (--resume)", k, len(chosen), step.name)
            report.append({"step": step.name, "status": "skipped", "seconds": 0.0})
            continue
        log.info("[%d/%d] %s: %s", k, len(chosen), step.name, " ".join(step.command()))
        started = time.time()
        step.run()
        seconds = time.time() - started
        write_manifest(ws.root / "manifests" / f"{step.name}.json", step.name,
                       {"script": step.script if step.is_module else step.command()[1], "argv": step.argv},
                       outputs=step.outputs, started=started)
        report.append({"step": step.name, "status": "ran", "seconds": round(seconds, 1)})
    return report
