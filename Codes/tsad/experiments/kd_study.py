"""The distillation study: does a teacher make the student better on patients it has never seen?

For every record-wise fold (``tsad.data.folds.assign_record_parts``, the folds of ``tsad.experiments.crossval``), each
teacher is trained on that fold's training records only (a teacher that saw the test patients would
leak them into the student), then students are trained at each lambda and seed on the same training
windows, run over the whole test records and scored beat by beat at 150 ms (``crossval.run_fold``).
The lambda-0 students do not depend on a teacher: they are trained once per fold and seed and are
every teacher's paired baseline.

Layout, in ``<workspace>/study/<name>/``::

    grid.json                         the grid (a resume with another grid is refused)
    fold<k>/<teacher>_teacher/        the fold's teacher run (done.json when finished)
    kd_study.csv                      one row per student run
    summary.csv, summary.md           mean and 95% interval per teacher and lambda; paired difference
                                      against lambda 0 on the same fold and seed, with its 95% interval
    kd_study.png                      the figure

and every student run in ``<workspace>/cv/study-<name>/<teacher>_lam<lam>_seed<s>/fold<k>/``
(``fold.json`` when finished), as ``student_cv.py`` writes them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tsad.core import paths
from tsad.core.common import log, seed_everything
from tsad.core.fileio import save_json, save_text
from tsad.data.folds import assign_record_parts
from tsad.experiments import crossval
from tsad.experiments.evaluate import to_markdown
from tsad.models.teachers.base import TEACHER_KINDS, TeacherConfig
from tsad.training.flags import parse_train_args, recipe_from_args
from tsad.training.loop import TrainConfig
from tsad.training.students import train_run
from tsad.training.teachers import train_teacher

FIGURES = ("gross_F1", "MSP", "MSR", "within_2_samples")
NO_TEACHER = "none"


class StudyError(ValueError):
    """A study that cannot run as asked (another grid, an unknown run); one line, exit status 2."""


@dataclass
class Grid:
    """Everything that decides the study's runs; stored in grid.json."""

    teachers: list[str] = field(default_factory=lambda: ["picture", "context"])
    lams: list[float] = field(default_factory=lambda: [0.0, 0.5, 1.0])
    temperature: float = 2.0
    folds: int = 3
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    fold_seed: int = 42
    arch: str = "cnn_bilstm"
    student_epochs: int = 3
    train_windows: int | None = 2000
    teacher_epochs: int = 2
    teacher_train_windows: int | None = 2000
    val: float = 0.05

    @classmethod
    def full(cls, **overrides) -> Grid:
        """The full-size grid: 5 folds, 5 seeds, every training window, the recommended schedules."""
        return cls(**{"folds": 5, "seeds": [0, 1, 2, 3, 4], "student_epochs": 6, "train_windows": None,
                      "teacher_epochs": 3, "teacher_train_windows": None, **overrides})

    def __post_init__(self):
        unknown = [t for t in self.teachers if t not in TEACHER_KINDS]
        if unknown:
            raise StudyError(f"unknown teacher(s) {unknown}; choose from {list(TEACHER_KINDS)}")
        self.lams = [float(x) for x in self.lams]
        if 0.0 not in self.lams:
            raise StudyError("--lams must include 0: lambda 0 is every teacher's paired baseline")
        if len(self.seeds) < 1 or self.folds < 2:
            raise StudyError("a study needs at least one seed and two folds")


@dataclass(frozen=True)
class StudyRun:
    """One run of the grid: a fold's teacher, or a student (``teacher`` is NO_TEACHER at lambda 0)."""

    what: str           # "teacher" or "student"
    fold: int
    teacher: str
    lam: float = 0.0
    seed: int = 0

    @property
    def key(self) -> str:
        if self.what == "teacher":
            return f"teacher:{self.teacher}:fold{self.fold}"
        return f"student:{self.teacher}:lam{paths.fmt_num(self.lam)}:seed{self.seed}:fold{self.fold}"

    @classmethod
    def parse(cls, key: str) -> StudyRun:
        parts = key.split(":")
        message = (f"--one {key}: not a run key (teacher:<type>:fold<k> or "
                   "student:<teacher>:lam<x>:seed<s>:fold<k>)")
        try:
            if parts[0] == "teacher" and len(parts) == 3:
                return cls("teacher", int(parts[2].removeprefix("fold")), parts[1])
            if parts[0] == "student" and len(parts) == 5:
                return cls("student", int(parts[4].removeprefix("fold")), parts[1],
                           float(parts[2].removeprefix("lam")), int(parts[3].removeprefix("seed")))
        except ValueError as err:  # a fold, lambda or seed that is not a number
            raise StudyError(message) from err
        raise StudyError(message)


def study_dir(ws: paths.Workspace, name: str) -> Path:
    return ws.root / "study" / name


def teacher_run_name(name: str, fold: int, teacher: str) -> str:
    return f"study/{name}/fold{fold}/{teacher}_teacher"


def student_cv_name(name: str, run: StudyRun) -> str:
    return f"study-{name}/{run.teacher}_lam{paths.fmt_num(run.lam)}_seed{run.seed}"


def runs(grid: Grid) -> list[StudyRun]:
    """Teachers first (students need them), then students fold by fold."""
    out = [StudyRun("teacher", k, t) for k in range(grid.folds) for t in grid.teachers]
    for k in range(grid.folds):
        for seed in grid.seeds:
            out.append(StudyRun("student", k, NO_TEACHER, 0.0, seed))
            out += [StudyRun("student", k, t, lam, seed) for t in grid.teachers for lam in grid.lams if lam > 0]
    return out


def check_grid(ws: paths.Workspace, name: str, grid: Grid, resume: bool) -> None:
    """Writes grid.json for a new study; refuses to mix grids or to restart a study without --resume."""
    path = study_dir(ws, name) / "grid.json"
    if path.is_file():
        old = json.loads(path.read_text())
        if old != json.loads(json.dumps(asdict(grid))):
            diff = sorted(k for k in set(old) | set(asdict(grid)) if old.get(k) != asdict(grid).get(k))
            raise StudyError(f"{path}: the study {name!r} was started with another grid (differs in "
                             f"{', '.join(diff)}); rerun with its flags or choose another --name")
        if not resume:
            raise StudyError(f"{path}: the study {name!r} exists; pass --resume to continue it or choose another --name")
        return
    save_json(path, asdict(grid))


def is_done(ws: paths.Workspace, name: str, run: StudyRun) -> bool:
    if run.what == "teacher":
        return (ws.run_dir(teacher_run_name(name, run.fold, run.teacher)) / "done.json").is_file()
    return (crossval.cv_dir(ws, student_cv_name(name, run)) / f"fold{run.fold}" / "fold.json").is_file()


def _student_args(grid: Grid, seed: int, device: str):
    """The recommended recipe (augmentation, soft targets, schedule) for the grid's student architecture,
    with the grid's epochs and training windows."""

    args = parse_train_args(["--preset", "recommended", "--seed", str(seed),
                             "--device", device], distill=True)
    args.arch = grid.arch  # the study's (fast) student, which may differ from the preset's
    args.epochs = grid.student_epochs  # the study's budget, not the preset's
    args.train_windows = grid.train_windows
    return args


def execute(ws: paths.Workspace, data: crossval.CVData, input_dir: Path, name: str, grid: Grid, run: StudyRun,
            device: str = "cpu") -> None:
    """Runs one run of the grid (its results land where ``is_done`` looks)."""

    parts = assign_record_parts(data.records, folds=grid.folds, fold=run.fold, val=grid.val, seed=grid.fold_seed,
                                groups=data.groups)
    if run.what == "teacher":
        seed_everything(grid.fold_seed)
        # the windows the fold's students train on when the counts agree (same draw, same seed)
        train = data.subset(parts["train"], "train", ws).sample(grid.teacher_train_windows, grid.fold_seed)
        val = data.subset(parts["val"], "val", ws)
        config = TeacherConfig(type=run.teacher, samples=data.series.shape[1], leads=data.series.shape[2])
        cfg = TrainConfig(**{**TEACHER_KINDS[run.teacher].train_defaults, "epochs": grid.teacher_epochs,
                             "seed": grid.fold_seed, "device": device})
        run_name = teacher_run_name(name, run.fold, run.teacher)
        history = train_teacher(ws, run_name, config, train, val, cfg, resume=True,
                                         extra={"study": name, "fold": run.fold, "train_records": parts["train"]})
        save_json(ws.run_dir(run_name) / "done.json", {"best_val_loss": history["best_val_loss"],
                                                       "train_records": parts["train"]})
        return
    args = _student_args(grid, run.seed, device)
    teacher = None if run.lam == 0 else teacher_run_name(name, run.fold, run.teacher)
    if teacher and not is_done(ws, name, StudyRun("teacher", run.fold, run.teacher)):
        raise StudyError(f"{run.key}: its teacher {teacher} is not trained yet (run the teacher runs first)")

    def train_fn(ws_, run_name, train, val):
        seed_everything(run.seed)
        train_run(ws_, TrainConfig.from_args(args), lam=run.lam, teacher=teacher, temperature=grid.temperature,
                  run_name=run_name, recipe=recipe_from_args(args), preset=args.preset, arch=args.arch,
                  data=(train, val), resume=True, train_windows=grid.train_windows, seed=grid.fold_seed)

    crossval.run_fold(ws, data, input_dir, student_cv_name(name, run), run.fold, grid.folds, seed=grid.fold_seed,
                      train_fn=train_fn, val=grid.val, train_windows=grid.train_windows)


# ---- results --------------------------------------------------------------------------------------

def collect(ws: paths.Workspace, name: str, grid: Grid) -> pd.DataFrame:
    """kd_study.csv: one row per finished student run."""
    rows = []
    for run in runs(grid):
        if run.what != "student" or not is_done(ws, name, run):
            continue
        fold = json.loads((crossval.cv_dir(ws, student_cv_name(name, run)) / f"fold{run.fold}" / "fold.json").read_text())
        note = "" if run.teacher == NO_TEACHER else TeacherConfig(type=run.teacher).note
        rows.append({"teacher": run.teacher, "lam": run.lam, "temperature": grid.temperature if run.lam else None,
                     "fold": run.fold, "seed": run.seed, **{f: fold[f] for f in FIGURES},
                     "test_records": fold["test_records"], "train_s": fold["train_s"], "total_s": fold["total_s"],
                     "note": note})
    table = pd.DataFrame(rows)
    save_text(study_dir(ws, name) / "kd_study.csv", table.to_csv(index=False))
    return table


def summarise(table: pd.DataFrame, grid: Grid) -> pd.DataFrame:
    """Per teacher and lambda: mean and 95% t-interval of each figure over its runs (folds x seeds),
    and the paired difference against the lambda-0 student of the same fold and seed."""
    base = table[table["teacher"] == NO_TEACHER].set_index(["fold", "seed"])
    out = []
    groups = [(NO_TEACHER, 0.0)] + [(t, lam) for t in grid.teachers for lam in grid.lams if lam > 0]
    for teacher, lam in groups:
        part = table[(table["teacher"] == teacher) & (table["lam"] == lam)]
        if part.empty:
            continue
        for fig in FIGURES:
            mean, lo, hi = crossval.t_interval(part[fig])
            lo, hi = max(lo, 0.0), min(hi, 1.0)  # every figure here is a rate; a t-interval can pass 0 or 1
            row = {"teacher": teacher, "lam": lam, "figure": fig, "runs": len(part), "mean": mean,
                   "ci_low": lo, "ci_high": hi}
            if teacher != NO_TEACHER:
                paired = part.set_index(["fold", "seed"])[fig] - base[fig].reindex(part.set_index(["fold", "seed"]).index)
                d_mean, d_lo, d_hi = crossval.t_interval(paired.to_numpy(float))
                row.update(diff_vs_lam0=d_mean, diff_ci_low=d_lo, diff_ci_high=d_hi,
                           pairs=int(paired.notna().sum()))
            out.append(row)
    return pd.DataFrame(out)


def figure(summary: pd.DataFrame, path: Path) -> None:
    """F1 at 150 ms per teacher and lambda (mean, 95% interval), and the paired difference to lambda 0."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f1 = summary[summary["figure"] == "gross_F1"].reset_index(drop=True)
    labels = [f"{t}\nλ={paths.fmt_num(l)}" for t, l in zip(f1["teacher"], f1["lam"])]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    x = np.arange(len(f1))
    axes[0].errorbar(x, f1["mean"], yerr=[f1["mean"] - f1["ci_low"], f1["ci_high"] - f1["mean"]], fmt="o", capsize=4)
    axes[0].set_title("F1 at 150 ms on whole test records (mean, 95% CI)")
    d = f1[f1["teacher"] != NO_TEACHER]
    xd = np.arange(len(d))
    if len(d):
        axes[1].errorbar(xd, d["diff_vs_lam0"], yerr=[d["diff_vs_lam0"] - d["diff_ci_low"],
                                                       d["diff_ci_high"] - d["diff_vs_lam0"]], fmt="o", capsize=4)
    axes[1].axhline(0, color="grey", lw=1)
    axes[1].set_title("paired difference vs λ = 0 (same fold and seed)")
    axes[0].set_xticks(x, labels, fontsize=8)
    axes[1].set_xticks(xd, [labels[i] for i in d.index], fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_results(ws: paths.Workspace, name: str, grid: Grid, command: str) -> pd.DataFrame:
    table = collect(ws, name, grid)
    if table.empty:
        raise StudyError(f"{study_dir(ws, name)}: no finished student run to summarise")
    summary = summarise(table, grid)
    root = study_dir(ws, name)
    save_text(root / "summary.csv", summary.to_csv(index=False))
    expected = sum(r.what == "student" for r in runs(grid))
    notes = "\n".join(f"- {t}: {TeacherConfig(type=t).note}" for t in grid.teachers)
    save_text(root / "summary.md", f"# Distillation study `{name}`\n\n`{command}`\n\n{len(table)} of {expected} "
              f"student runs finished.\n\n{notes}\n\n" + to_markdown(summary) + "\n")
    figure(summary, root / "kd_study.png")
    log.info("%s: %d runs -> %s", name, len(table), root / "summary.md")
    return summary
