"""Distillation under a deployment constraint: a teacher with privileged inputs, students as deployed
(``kd_study.py --constraint``; docs/RESULTS.md, sections H and I).

Each constraint names what the deployed student may not have, and how its fold models are read:

- ``one-lead``: the student sees one lead in every training window, in either input; its fold models
  are read on lead 0 alone and on lead 1 alone (``--leads K``). The teacher saw both leads.
- ``causal``: the student reads at most 0.3 s after each sample (``--lookahead-s``); its fold models
  detect with ``--latency-s 0.5``. The teacher saw 3.1 s on each side.

The plan is a list of phases of commands of the stage scripts (``student_cv.py``,
``ensemble_teacher.py``), each phase's commands independent of one another:

1. the teacher's members: the shipped recipe (``--preset fast``'s values), offline and on both leads,
   one cross-validation per seed;
2. the teacher of each fold: the mean logit of that fold's members (``ensemble_teacher.py --folds``);
3. the students: the same recipe with the constraint, on labels (lambda 0) and distilled from their
   fold's teacher, one cross-validation per seed and lambda, on the same folds;
4. the readings of every student (and, for one lead, of the members: the shipped recipe read the
   same way);
5. the comparisons, pooled over the seeds and paired over (seed, fold): the shipped recipe, the
   students on labels, the distilled students.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tsad.training.flags import PRESETS

TEACHER_RECIPE = "fast"     # the preset whose values every run of a constraint study starts from


@dataclass(frozen=True)
class Constraint:
    """What the deployed student may not have: its extra training flags, and each reading of its fold
    models (name -> student_cv flags)."""

    name: str
    student_flags: tuple[str, ...]
    readings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    read_members: bool = False        # read the teacher's members the same way (the shipped recipe's baseline)


CONSTRAINTS: dict[str, Constraint] = {
    "one-lead": Constraint("one-lead", ("--aug-lead-dropout", "1.0", "--aug-lead-swap", "0.5"),
                           {"lead0": ("--leads", "0"), "lead1": ("--leads", "1")}, read_members=True),
    "causal": Constraint("causal", ("--lookahead-s", "0.3"), {"latency05": ("--latency-s", "0.5")}),
}


def recipe_flags(preset: str = TEACHER_RECIPE, **overrides) -> list[str]:
    """The preset's values as explicit flags (a constraint's flags may then change some of them,
    which ``--preset`` itself would refuse)."""
    values = {**PRESETS[preset], **overrides}
    flags = []
    for key, value in values.items():
        if value is None:
            continue
        flags += [f"--{key.replace('_', '-')}", str(value)]
    return flags


def _with(flags: list[str], extra: tuple[str, ...]) -> list[str]:
    """``flags`` with the flags of ``extra`` (--name value pairs) replacing any given before."""
    out = list(flags)
    for k in range(0, len(extra), 2):
        name, value = extra[k], extra[k + 1]
        if name in out:
            out[out.index(name) + 1] = value
        else:
            out += [name, value]
    return out


def seed_flags(seed: int, fold_seed: int) -> list[str]:
    return ["--seed", str(seed), "--fold-seed", str(fold_seed)]


def plan(constraint: str, name: str, workspace: str, *, seeds=(42, 1), folds: int = 5, fold_seed: int = 42,
         lam: float = 0.5, temperature: float = 2.0, threads: int = 1, **recipe_overrides) -> list[list[list[str]]]:
    """The study's phases, each a list of commands (argv lists, script path first, relative to the
    repository root); the last phase compares and writes nothing but the comparisons' output.
    ``recipe_overrides`` change the teacher recipe's values (``train_windows``, ``epochs``: a small
    study)."""
    if constraint not in CONSTRAINTS:
        raise ValueError(f"unknown constraint {constraint!r}; choose one of {sorted(CONSTRAINTS)}")
    if not seeds:
        raise ValueError("a constraint study needs at least one seed")
    c = CONSTRAINTS[constraint]
    cv = ["Codes/Models/student_cv.py", "--workspace", workspace, "--folds", str(folds), "--threads", str(threads)]
    recipe = recipe_flags(**recipe_overrides)

    def run(kind: str, seed: int) -> str:
        return f"{name}-{kind}-s{seed}"

    members = [[*cv, "--name", run("teacher", s), *recipe, *seed_flags(s, fold_seed)] for s in seeds]
    teacher = f"cv/{name}-teacher/fold{{fold}}"
    ensemble = [["Codes/Models/ensemble_teacher.py", "--workspace", workspace, "--name", teacher, "--folds", str(folds),
                 "--members", *[f"cv/{run('teacher', s)}/fold{{fold}}" for s in seeds]]]
    constrained = _with(recipe, c.student_flags)
    students = []
    for s in seeds:
        students.append([*cv, "--name", run("labels", s), *constrained, *seed_flags(s, fold_seed)])
        students.append([*cv, "--name", run("kd", s), *constrained, *seed_flags(s, fold_seed), "--lam", str(lam),
                         "--temperature", str(temperature), "--fold-teacher", teacher])
    kinds = ["labels", "kd"] + (["teacher"] if c.read_members else [])
    readings = [[*cv, "--name", f"{run(kind, s)}-{reading}", "--models-from", run(kind, s), *flags,
                 *seed_flags(s, fold_seed)]
                for reading, flags in c.readings.items() for kind in kinds for s in seeds]

    def pooled(kind: str, reading: str | None = None) -> str:
        return "+".join(run(kind, s) + (f"-{reading}" if reading else "") for s in seeds)

    compare = ["Codes/Models/student_cv.py", "--workspace", workspace, "--compare"]
    comparisons = [[*compare, pooled("teacher"), pooled("labels"), pooled("kd")]]
    for reading in c.readings:
        base = pooled("teacher", reading) if c.read_members else pooled("teacher")
        comparisons.append([*compare, base, pooled("labels", reading), pooled("kd", reading)])
        comparisons.append([*compare, pooled("labels", reading), pooled("kd", reading)])
    return [members, ensemble, students, readings, comparisons]
