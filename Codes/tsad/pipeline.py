"""Every stage in order, as run_pipeline.py runs them: the plan, the completeness checks behind
``--resume``, and a manifest per step.

Each step calls a stage script's ``main(argv)`` in this process, so a stage behaves exactly as
when it is run alone, and the interpreter (torch, transformers) is loaded once.
"""

from __future__ import annotations

import json
import runpy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import paths
from .common import log
from .manifest import write_manifest
from .paths import SPLITS, Workspace

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
    stage: str
    name: str
    script: Path
    argv: list[str]
    done: Callable[[], bool]
    outputs: list[Path] = field(default_factory=list)

    def run(self) -> object:
        return runpy.run_path(str(self.script), run_name="tsad_pipeline_step")["main"](self.argv)


# ---- completeness checks for --resume ------------------------------------------------------------

def _quietly(check: Callable[[], object]) -> bool:
    """A check passes when it raises nothing; any error means the step must run again."""
    try:
        return check() is not False
    except (OSError, ValueError, KeyError) as err:
        log.debug("not complete: %s", err)
        return False


def data_done(ws: Workspace) -> bool:
    from .data import DATA_MANIFEST, load_generated

    return (ws.root / DATA_MANIFEST).is_file() and _quietly(lambda: load_generated(ws))


def split_done(ws: Workspace) -> bool:
    from .data import SPLIT_MANIFEST
    from .splits import load_split

    return (ws.split_root / SPLIT_MANIFEST).is_file() and all(
        _quietly(lambda s=s: load_split(ws, s)) for s in SPLITS)


def run_done(ws: Workspace, run: str, checkpoint: str) -> bool:
    from .checkpoint import load_checkpoint

    def check():
        meta = json.loads((ws.run_dir(run) / paths.METADATA).read_text())
        load_checkpoint(ws.run_dir(run) / checkpoint)
        return bool(meta.get("finished"))

    return _quietly(check)


def infer_done(ws: Workspace, run: str) -> bool:
    import numpy as np

    from .outputs import load_outputs
    from .splits import read_split_csv

    def check():
        out = load_outputs(ws.run_dir(run), run)
        ids, _ = read_split_csv(ws.split_csv("test"))
        trained_after = (ws.run_dir(run) / paths.METADATA).stat().st_mtime
        return np.array_equal(out.ids, ids) and paths_newer(ws.run_dir(run), run, trained_after)

    return _quietly(check)


def paths_newer(run_dir: Path, run: str, than: float) -> bool:
    from .outputs import output_paths

    return all(p.stat().st_mtime >= than for p in output_paths(run_dir, run).values())


# ---- the plan ----------------------------------------------------------------------------------

def plan(ws: Workspace, *, schedule: str = "short", demo_size: str = "demo", input_dir: str | None = None,
         records: list[str] | None = None, download: str | None = None, model: str = "tiny",
         epochs: int | None = None, seed: int = 42) -> list[Step]:
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
        Step("data", "data_generate", CODES / "Dataset/data_generate.py", data_args, lambda: data_done(ws),
             [ws.labels_csv, ws.segments_npy, ws.windows_csv]),
        Step("split", "data_split", CODES / "Dataset/data_split.py", common, lambda: split_done(ws),
             [ws.split_root]),
    ]
    teachers = [paths.teacher_run_name(a) for a in paths.TEACHER_ALPHAS]
    for alpha, run in zip(paths.TEACHER_ALPHAS, teachers):
        script = CODES / f"Models/vlm_train_{paths.fmt_num(alpha)}.py"
        steps.append(Step("teacher", run, script, common + ["--model", model] + train_flags("teacher"),
                          lambda r=run: run_done(ws, r, paths.TEACHER_CHECKPOINT), [ws.run_dir(run)]))
    for alpha, run in zip(paths.TEACHER_ALPHAS, teachers):
        script = CODES / f"Inference/vlm/vlm_{paths.fmt_num(alpha)}_infer.py"
        steps.append(Step("teacher_infer", f"{run}_infer", script, common,
                          lambda r=run: infer_done(ws, r), [ws.run_dir(run)]))
    students = [paths.STUDENT_RUN]
    steps.append(Step("student", paths.STUDENT_RUN, CODES / "Models/student_train.py",
                      common + train_flags("student"),
                      lambda: run_done(ws, paths.STUDENT_RUN, paths.STUDENT_CHECKPOINT), [ws.run_dir(paths.STUDENT_RUN)]))
    for teacher in teachers:
        for lam in paths.STUDENT_LAMBDAS:
            if lam == 0:
                continue
            run = paths.kd_run_name(lam, teacher)
            students.append(run)
            steps.append(Step("kd", run, CODES / "Models/kd_train.py",
                              common + ["--lam", paths.fmt_num(lam), "--teacher", teacher] + train_flags("kd"),
                              lambda r=run: run_done(ws, r, paths.STUDENT_CHECKPOINT), [ws.run_dir(run)]))
    for run in students:
        steps.append(Step("student_infer", f"{run}_infer", CODES / "Inference/lstm/student_infer.py",
                          common + ["--run", run], lambda r=run: infer_done(ws, r), [ws.run_dir(run)]))
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
        log.info("[%d/%d] %s: python %s %s", k, len(chosen), step.name,
                 step.script.relative_to(paths.REPO_ROOT), " ".join(step.argv))
        started = time.time()
        step.run()
        seconds = time.time() - started
        write_manifest(ws.root / "manifests" / f"{step.name}.json", step.name,
                       {"script": str(step.script.relative_to(paths.REPO_ROOT)), "argv": step.argv},
                       outputs=step.outputs, started=started)
        report.append({"step": step.name, "status": "ran", "seconds": round(seconds, 1)})
    return report
