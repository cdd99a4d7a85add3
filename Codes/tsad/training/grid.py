"""Every model kind and every run of the standard experiment grid, in one place.

A run's *kind* is one of ``tsad.models.loader.KINDS`` (the SmolVLM teacher, a teacher trained
here, a student of some architecture, a classical detector such as the XQRS baseline); a *run* is
one trained model of the grid: its folder name
in the workspace, its kind, its settings (alpha, lambda, the teacher it learns from, the student
architecture), the script that trains it and the one that scores the test split, and the runs it
needs first. ``run_pipeline.py`` (tsad.experiments.pipeline), the evaluation table (tsad.experiments.evaluate), the loss
figures, the app (tsad.app.stages) and ``--resume`` read the grid from here; the grid's alpha and lambda
values are written nowhere else.

Adding a run is one entry::

    from tsad.training import grid
    grid.register(grid.teacher_run(0.25))            # trained by python -m tsad.training.vlm_teacher
    grid.register(grid.student_run(0.25, "vlm_1"))   # kd_train.py --lam 0.25 --teacher vlm_1

A student architecture is a name here (``arch``); its class lives in ``tsad.models.student.ARCHITECTURES``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tsad.core.paths import REPO_ROOT, STUDENT_RUN, fmt_num, kd_run_name, teacher_run_name
from tsad.models import kinds
from tsad.models.loader import KINDS

CODES = REPO_ROOT / "Codes"

# what kind of model a run is, and its role and checkpoint, come from the one table
# (tsad.models.loader.KINDS); the grid only names runs of those kinds
DEFAULT_ARCH = "bilstm"


# ---- runs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One model of the grid; ``name`` is its run folder and its inference output tag.

    ``train_script`` and ``infer_script`` are paths under ``Codes/`` or, for a run that has no
    script of its own, a module (``tsad.training.vlm_teacher``) run with ``python -m``; ``train_args``
    and ``infer_args`` are the flags that select this run.
    """

    name: str
    model_kind: str
    label: str
    settings: dict = field(default_factory=dict, hash=False, compare=False)
    train_script: str | None = None
    train_args: tuple[str, ...] = ()
    infer_script: str | None = None
    infer_args: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()

    @property
    def role(self) -> str:
        """'teacher', 'student' or 'classical' (tsad.models.kinds.ROLES)."""
        return KINDS[self.model_kind].role

    @property
    def checkpoint_name(self) -> str | None:
        """The best checkpoint's file name in the run folder (None for a classical detector)."""
        return KINDS[self.model_kind].checkpoint

    @property
    def weight(self) -> float:
        """The teacher's alpha or the student's lambda."""
        return float(self.settings.get("alpha", self.settings.get("lam", 0.0)))

    @property
    def teacher(self) -> str | None:
        """The teacher run a distilled student learns from, else None."""
        return self.settings.get("teacher")

    @property
    def arch(self) -> str | None:
        """A student's architecture name (a key of tsad.models.student.ARCHITECTURES)."""
        return self.settings.get("arch")

    @property
    def infer_step(self) -> str:
        """The pipeline step that writes this run's inference outputs."""
        return f"{self.name}_infer"


def teacher_run(alpha: float, script: str | None = None, infer_script: str | None = None) -> Run:
    """The teacher fine-tuned with loss weight ``alpha`` (cosine; 1 - alpha on BCE).

    Without ``script``, it is trained with ``python -m tsad.training.vlm_teacher --run vlm_<alpha>`` and
    scored with ``python -m tsad.training.vlm_teacher_infer --run vlm_<alpha>``.
    """
    name = teacher_run_name(alpha)
    by_name = ("--run", name)
    return Run(name, kinds.VLM_TEACHER, f"Teacher α={fmt_num(alpha)}", {"alpha": float(alpha), "backbone": "smolvlm"},
               script or "tsad.training.vlm_teacher", () if script else by_name,
               infer_script or "tsad.training.vlm_teacher_infer", () if infer_script else by_name)


def student_run_name(lam: float = 0.0, teacher: str | None = None, arch: str = DEFAULT_ARCH) -> str:
    """A student run's folder: the seed's names for the BiLSTM (``LSTM_train``,
    ``KD_train_<lam>_<teacher>``, which the seed's commands use); a plain student of another
    architecture is ``<arch>_train`` (``tcn_train``: the name says what it is, not LSTM), a
    distilled one ``KD_train_<lam>_<teacher>_<arch>``."""
    if arch == DEFAULT_ARCH:
        return STUDENT_RUN if float(lam) == 0 else kd_run_name(lam, teacher)
    return f"{arch}_train" if float(lam) == 0 else f"{kd_run_name(lam, teacher)}_{arch}"


def student_run(lam: float = 0.0, teacher: str | None = None, arch: str = DEFAULT_ARCH,
                temperature: float = 2.0) -> Run:
    """A student of architecture ``arch`` (a key of tsad.models.student.ARCHITECTURES): plain (lam = 0,
    student_train.py) or distilled from ``teacher`` with weight ``lam`` (kd_train.py)."""
    lam = float(lam)
    if lam and not teacher:
        raise ValueError(f"a distilled student (lambda {fmt_num(lam)}) needs a teacher run")
    name = student_run_name(lam, teacher, arch)
    arch_args = () if arch == DEFAULT_ARCH else ("--arch", arch)
    suffix = "" if arch == DEFAULT_ARCH else f" ({arch})"
    infer = ("Inference/lstm/student_infer.py", ("--run", name))
    if lam == 0:
        return Run(name, kinds.STUDENT, "Student λ=0" + suffix, {"lam": 0.0, "teacher": None, "arch": arch},
                   "Models/student_train.py", arch_args, *infer)
    args = ("--lam", fmt_num(lam), "--teacher", teacher, *arch_args)
    if temperature != 2.0:
        args += ("--temperature", fmt_num(temperature))
    return Run(name, kinds.STUDENT, f"Student λ={fmt_num(lam)} from {teacher}" + suffix,
               {"lam": lam, "teacher": teacher, "arch": arch, "temperature": float(temperature)},
               "Models/kd_train.py", args, *infer, (teacher,))


XQRS_RUN = "xqrs"
XQRS = Run(XQRS_RUN, kinds.CLASSICAL, "XQRS (wfdb)", {"detector": "wfdb.processing.XQRS"})

# ---- the standard grid -------------------------------------------------------------------------

TEACHER_ALPHAS = (0.5, 1.0)
KD_LAMBDAS = (0.5, 1.0)           # lambda 0 is the plain student
DEFAULT_LAMBDA = 0.5              # kd_train.py's default --lam
DEFAULT_TEACHER_ALPHA = 1.0       # kd_train.py's default --teacher


def _existing(script: str) -> str | None:
    return script if (CODES / script).is_file() else None


def standard_grid() -> list[Run]:
    """The grid: the teachers, the plain student, and every (lambda, teacher) distillation.

    A teacher keeps its own scripts (``vlm_train_<alpha>.py``, ``vlm_<alpha>_infer.py``) where they
    exist; an alpha added to TEACHER_ALPHAS without them runs through ``python -m tsad.training.vlm_teacher``.
    """
    teachers = [teacher_run(a, _existing(f"Models/vlm_train_{fmt_num(a)}.py"),
                            _existing(f"Inference/vlm/vlm_{fmt_num(a)}_infer.py")) for a in TEACHER_ALPHAS]
    students = [student_run()] + [student_run(lam, t.name) for t in teachers for lam in KD_LAMBDAS]
    return teachers + students


_RUNS: dict[str, Run] = {run.name: run for run in standard_grid()}


def register(run: Run) -> Run:
    """Adds a run to the grid (after those already there); its dependencies must be registered."""
    if run.name in _RUNS or run.name == XQRS_RUN:
        raise ValueError(f"{run.name}: a run of that name is already registered")
    unknown = [d for d in run.depends_on if d not in _RUNS]
    if unknown:
        raise ValueError(f"{run.name}: depends on unregistered run(s) {unknown}")
    _RUNS[run.name] = run
    return run


def unregister(name: str) -> None:
    """Removes a run added with ``register`` (tests use it to restore the grid)."""
    _RUNS.pop(name, None)


def runs(role: str | None = None) -> list[Run]:
    """The grid's runs in pipeline order (teachers first), optionally of one role."""
    ordered = sorted(_RUNS.values(), key=lambda r: r.role != "teacher")
    return [r for r in ordered if role is None or r.role == role]


def get(name: str) -> Run:
    """The registered run called ``name`` (the XQRS baseline included); KeyError names the choices."""
    if name == XQRS_RUN:
        return XQRS
    if name not in _RUNS:
        raise KeyError(f"{name}: not a run of the grid ({', '.join(_RUNS)}); tsad/training/grid.py lists them")
    return _RUNS[name]


def _codes_relative(script) -> str:
    path = Path(script).resolve()
    try:
        return path.relative_to(CODES.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def runs_of_script(script, stage: str = "train") -> list[Run]:
    """The runs that ``script`` (a path) trains (``stage='train'``) or scores (``'infer'``)."""
    rel = _codes_relative(script)
    return [r for r in _RUNS.values() if (r.train_script if stage == "train" else r.infer_script) == rel]


def run_of_script(script, stage: str = "train") -> Run:
    """The one run a per-run script (vlm_train_0.5.py, vlm_1_infer.py) is registered for."""
    found = runs_of_script(script, stage)
    if len(found) != 1:
        raise ValueError(f"{script}: registered for {len(found)} runs in tsad/training/grid.py, expected one")
    return found[0]


def command(script: str, args=()) -> list[str]:
    """The shell command (as a list) that runs a script path under Codes/ or a ``tsad.`` module."""
    if script.startswith("tsad."):
        return ["python", "-m", script, *args]
    return ["python", f"Codes/{script}", *args]
