"""The distillation study: students at lambda 0, 0.5 and 1 for each teacher, over seeds and
record-wise folds, scored on whole test records; a table, a summary with 95% intervals and a figure.

    python Codes/Models/kd_study.py --workspace W --input-dir PATH/svdb [--teachers picture context] [--jobs 2]
    python Codes/Models/kd_study.py --workspace W --input-dir PATH/svdb --print-commands   (for a scheduler)
    python Codes/Models/kd_study.py --workspace W --input-dir PATH/svdb --resume           (skip finished runs)

The workspace holds the windows of every record (data_generate.py on the whole database). For each
fold, each teacher (picture: a small CNN on the plots, trained here, standing in for a pretrained
VLM; context: a wide TCN reading 6 s around each window) is trained on that fold's training
records only, then cnn_bilstm students with the recommended recipe at each lambda and seed on the
same training windows; the lambda-0 students are every teacher's paired baseline. Each student is
run over the whole test records and scored at 150 ms (student_cv.py's procedure).

Default grid: 3 folds, seeds 0 1 2, 2,000 training windows per run, 3 student epochs, 2 teacher
epochs. --full: 5 folds, 5 seeds, every training window, 6 student and 3 teacher epochs.

Writes W/study/<name>/: grid.json, fold<k>/<teacher>_teacher/ (the fold's teachers), kd_study.csv
(one row per student run), summary.csv/summary.md (mean and 95% interval per teacher and lambda;
paired difference against lambda 0 on the same fold and seed, with its 95% interval), kd_study.png.
Student runs live in W/cv/study-<name>/. A study resumed with another grid is refused (exit 2).

Distillation under a deployment constraint (tsad.experiments.constraints; docs/RESULTS.md, H and I):

    python Codes/Models/kd_study.py --workspace W --constraint one-lead [--seeds 42 1] [--folds 5] [--jobs 2]
    python Codes/Models/kd_study.py --workspace W --constraint causal --print-commands

The teacher of each fold is the mean logit of the shipped recipe's fold models (one per seed: both
leads, 3.1 s on each side); the students have the constraint (one lead in every training window; a
0.3-s look-ahead), on labels and distilled (--lams' non-zero value, default 0.5) on the same folds;
every student is read as deployed (lead 0 and lead 1 alone; --latency-s 0.5) and compared, pooled
over the seeds and paired over (seed, fold), with the shipped recipe. The runs are student_cv.py and
ensemble_teacher.py commands, a phase at a time (--jobs at once); a cross-validation finished before
is skipped fold by fold. The comparisons go to W/study/<name>/compare_*.md (--name defaults to the
constraint).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tsad.core.common import make_parser, setup_logging
from tsad.core.errors import run_cli
from tsad.core.paths import REPO_ROOT, Workspace
from tsad.experiments import constraints, crossval, kd_study
from tsad.experiments.kd_study import Grid, StudyError

SCRIPT = Path(__file__).resolve()


def parse_args(argv=None):
    parser = make_parser(__doc__)
    d = Grid()
    parser.add_argument("--input-dir", default=None,
                        help="folder of the WFDB records the workspace was made from (the teacher study: required)")
    parser.add_argument("--constraint", choices=sorted(constraints.CONSTRAINTS), default=None,
                        help="distillation under a deployment constraint instead of the teacher study (docstring)")
    parser.add_argument("--name", default=None, help="name of this study: W/study/<name>/ (default: kd, or the "
                                                     "constraint's name)")
    parser.add_argument("--teachers", nargs="+", default=d.teachers, help="teacher types: picture, context")
    parser.add_argument("--lams", type=float, nargs="+", default=d.lams, help="distillation weights (0 included)")
    parser.add_argument("--temperature", type=float, default=d.temperature, help="distillation temperature T")
    parser.add_argument("--folds", type=int, default=None, help=f"record-wise folds (default {d.folds}; --full 5)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help=f"student seeds (default {d.seeds}; --full 0..4)")
    parser.add_argument("--train-windows", type=int, default=None,
                        help=f"training windows per student, drawn per fold (default {d.train_windows}; --full all)")
    parser.add_argument("--student-epochs", type=int, default=None, help=f"default {d.student_epochs}; --full 6")
    parser.add_argument("--teacher-epochs", type=int, default=None, help=f"default {d.teacher_epochs}; --full 3")
    parser.add_argument("--full", action="store_true", help="the full-size grid")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once, each in its own process (1 thread each)")
    parser.add_argument("--print-commands", action="store_true",
                        help="print every run's command (teachers first: students need their fold's teachers) "
                             "and the final collecting command, and exit")
    parser.add_argument("--resume", action="store_true", help="continue the study: skip finished runs")
    parser.add_argument("--one", default=None, metavar="KEY", help="run only this run of the grid (as printed)")
    parser.add_argument("--device", default="cpu", help="device of every run")
    return parser.parse_args(argv)


def grid_from_args(args) -> Grid:
    given = {"folds": args.folds, "seeds": args.seeds, "train_windows": args.train_windows,
             "student_epochs": args.student_epochs, "teacher_epochs": args.teacher_epochs}
    given = {k: v for k, v in given.items() if v is not None}
    if "train_windows" in given:
        given["teacher_train_windows"] = given["train_windows"]
    common = dict(teachers=args.teachers, lams=args.lams, temperature=args.temperature, fold_seed=args.seed, **given)
    return Grid.full(**common) if args.full else Grid(**common)


def _run_command(argv: list[str], key: str) -> list[str]:
    keep, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in ("--jobs", "--one"):
            skip = True
            continue
        if a.startswith(("--jobs=", "--one=")) or a in ("--print-commands", "--resume"):
            continue
        keep.append(a)
    return [sys.executable, str(SCRIPT), *keep, "--resume", "--one", key]


def constraint_study(args) -> list[Path]:
    """``--constraint``: the study's phases of stage-script commands, run a phase at a time (or
    printed); returns the comparison files written."""
    ws = Workspace.from_arg(args.workspace)
    name = args.name or args.constraint
    lams = [0.5] if list(args.lams) == list(Grid().lams) else [x for x in args.lams if x > 0]   # unset: 0.5
    if len(lams) != 1:
        raise ValueError(f"--constraint distils at one lambda besides 0; --lams gave {args.lams}")
    small = {k: v for k, v in {"train_windows": args.train_windows, "epochs": args.student_epochs}.items() if v}
    phases = constraints.plan(args.constraint, name, str(ws.root), seeds=args.seeds or (42, 1),
                              folds=args.folds or 5, fold_seed=args.seed, lam=lams[0], temperature=args.temperature,
                              **small)
    *work, comparisons = phases
    if args.print_commands:
        for phase in phases:
            for cmd in phase:
                print(shlex.join(["python", *cmd]))
        return []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def one(cmd: list[str]) -> str:
        res = subprocess.run([sys.executable, *cmd], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
        if res.returncode:
            raise RuntimeError(f"{shlex.join(cmd)} failed (exit {res.returncode}): {res.stderr.strip()[-2000:]}")
        return res.stdout

    started = time.perf_counter()
    for k, phase in enumerate(work, 1):
        print(f"phase {k} of {len(work)}: {len(phase)} command(s)", flush=True)
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            list(pool.map(one, phase))
    out = kd_study.study_dir(ws, name)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for cmd in comparisons:
        table = one(cmd)
        path = out / f"compare_{'_vs_'.join(c.replace('+', '_') for c in cmd[cmd.index('--compare') + 1:])}.md"
        path.write_text(f"`python {shlex.join(cmd)}`\n\n{table}")
        written.append(path)
        print(table)
    print(f"{args.constraint}: {sum(len(p) for p in work)} commands in {time.perf_counter() - started:.0f} s; "
          f"comparisons in {out}")
    return written


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    setup_logging()
    if args.constraint:
        return constraint_study(args)
    if not args.input_dir:
        raise ValueError("the teacher study needs --input-dir (the folder of the records the workspace was made from)")
    args.name = args.name or "kd"
    grid = grid_from_args(args)
    ws = Workspace.from_arg(args.workspace)
    all_runs = kd_study.runs(grid)
    if args.print_commands:
        kd_study.check_grid(ws, args.name, grid, resume=True)
        for run in all_runs:
            print(shlex.join(_run_command(argv, run.key)))
        print(shlex.join(_run_command(argv, "collect")[:-2]))
        return None
    kd_study.check_grid(ws, args.name, grid, resume=args.resume or args.one is not None)
    data = crossval.load_cv_data(ws)
    input_dir = Path(args.input_dir)
    if args.one and args.one != "collect":
        run = kd_study.StudyRun.parse(args.one)
        if run not in all_runs:
            raise StudyError(f"--one {args.one}: not a run of this study's grid")
        if not kd_study.is_done(ws, args.name, run):
            kd_study.execute(ws, data, input_dir, args.name, grid, run, args.device)
        return None
    todo = [r for r in all_runs if not kd_study.is_done(ws, args.name, r)]
    print(f"{len(all_runs) - len(todo)} of {len(all_runs)} runs finished before; {len(todo)} to run")
    started = time.perf_counter()
    for phase in ("teacher", "student"):
        batch = [r for r in todo if r.what == phase]
        if args.jobs <= 1:
            for run in batch:
                kd_study.execute(ws, data, input_dir, args.name, grid, run, args.device)
        else:
            env = {**os.environ, "OMP_NUM_THREADS": "1"}

            def one(run, env=env):
                res = subprocess.run(_run_command(argv, run.key), env=env, capture_output=True, text=True, check=False)
                if res.returncode:
                    raise RuntimeError(f"{run.key} failed (exit {res.returncode}): {res.stderr.strip()[-2000:]}")
            with ThreadPoolExecutor(args.jobs) as pool:
                list(pool.map(one, batch))
    log_line = f"{len(todo)} runs in {time.perf_counter() - started:.0f} s"
    command = "python Codes/Models/kd_study.py " + shlex.join(argv)
    summary = kd_study.write_results(ws, args.name, grid, command)
    print(log_line)
    print((kd_study.study_dir(ws, args.name) / "summary.md").read_text())
    return summary


if __name__ == "__main__":   # python -m tsad.cli.kd_study
    run_cli(main)
