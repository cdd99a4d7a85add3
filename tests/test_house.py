"""The house rules: one way to start a script, no import cycle in tsad, and the tables that a new
model kind, teacher kind or classical detector is registered in (each a stand-in here, no other
file touched)."""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest

from tsad.models.teachers import context
from tsad.models.teachers.base import TeacherConfig
from tsad.training.teachers import train_teacher

REPO = Path(__file__).resolve().parents[1]
CODES = REPO / "Codes"
TSAD = CODES / "tsad"
SCRIPTS = sorted([*CODES.glob("Dataset/*.py"), *CODES.glob("Models/*.py"), *CODES.glob("Inference/**/*.py"),
                  CODES / "run_pipeline.py"])
SCRIPTS_ON_DISK = SCRIPTS
GUARD = ('try:\n    from tsad.cli import script\nexcept ModuleNotFoundError as err:   # tsad itself is not installed\n'
         '    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")\n')


# ---- one way to start a script ---------------------------------------------------------------------

@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(CODES)))
def test_every_script_is_a_shim_over_its_entry(path):
    """A stage script is its docstring, the guard, and ``main = script(__name__, __file__[, __doc__])``;
    its entry in tsad.core.scripts.SCRIPTS names the function it runs, and that function imports."""
    from tsad.core.scripts import SCRIPTS, entry

    text = path.read_text()
    assert text.count(GUARD) == 1, f"{path}: not the one guard around `from tsad.cli import script`"
    tree = ast.parse(text)
    assert ast.get_docstring(tree), f"{path}: no docstring with its command"
    body = tree.body[1:]
    assert len(body) == 2 and isinstance(body[0], ast.Try), f"{path}: more than the guard and main"
    last = body[-1]
    assert isinstance(last, ast.Assign) and [t.id for t in last.targets] == ["main"], f"{path}: last line"
    assert isinstance(last.value, ast.Call) and last.value.func.id == "script"
    assert [a.id for a in last.value.args[:2]] == ["__name__", "__file__"]
    rel = path.relative_to(CODES).as_posix()
    function, _ = entry(rel)
    assert callable(function) and rel in SCRIPTS


def test_every_entry_of_the_table_is_a_script():
    from tsad.core.scripts import SCRIPTS

    assert sorted(SCRIPTS) == sorted(p.relative_to(CODES).as_posix() for p in SCRIPTS_ON_DISK)


def test_nothing_in_the_package_runs_a_script_file():
    for path in TSAD.rglob("*.py"):
        text = path.read_text()
        assert "runpy" not in text and "run_path" not in text, path


def test_no_parser_internals_are_rewritten():
    for path in TSAD.rglob("*.py"):
        assert "._actions" not in path.read_text(), path


# ---- the layers: which package may import which, no circle, few imports inside functions -----------

# From the ground up; a module imports only from its own layer and those below it, counting the
# imports inside functions too (docs/ARCHITECTURE.md). ``tsad`` itself, the package's face, is above all.
LAYERS = ("core", "data", "scoring", "models", "detection", "api", "training", "experiments", "app", "cli")

# The imports of the project's own modules that sit inside a function, each with its reason: a heavy
# third-party dependency that must wait until it is used, or a module that must stay light itself.
INNER_IMPORTS = {
    ("tsad", "tsad.api"): "the package's face: every tsad.x import passes through tsad/__init__, which "
                          "must not import the detection stack for it",
    ("tsad.cli", "tsad.core.scripts"): "the scripts' guard imports the standard library only",
    ("tsad.cli", "tsad.core.errors"): "the scripts' guard imports the standard library only",
    ("tsad.models.loader", "tsad.models.student"): "torch, only for a student run through torch",
    ("tsad.models.loader", "tsad.models.vlm.teacher"): "torch and transformers, only for the VLM teacher",
    ("tsad.models.loader", "tsad.models.teachers"): "torch, only for a teacher trained here",
    ("tsad.models.loader", "tsad.models.beat_classifier"): "torch, only for a run folder with a beat classifier",
    ("tsad.models.export", "tsad.models.beat_classifier"): "torch, only when a classifier is exported",
    ("tsad.experiments.evaluate", "tsad.scoring.plots"): "matplotlib, only when figures are drawn",
    ("tsad.cli.evaluate_records", "tsad.scoring.plots"): "matplotlib, only for a comparison of folders",
}
MAX_INNER_IMPORTS = 15


def tsad_modules() -> dict[str, Path]:
    out = {}
    for path in sorted(TSAD.rglob("*.py")):
        parts = path.relative_to(CODES).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def project_imports(name: str, path: Path, known) -> list[tuple[str, bool, int]]:
    """(imported tsad module, inside a function?, line) for every import statement of ``name``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []

    def resolve(target: str):
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target if target and target != name else None

    def visit(node, inside: bool):
        for child in ast.iter_child_nodes(node):
            nested = inside or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    up = package.split(".")[:len(package.split(".")) - child.level + 1]
                    base = ".".join(up + ([child.module] if child.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in child.names]
            else:
                visit(child, nested)
                continue
            for target in dict.fromkeys(t for t in map(resolve, targets) if t and t.split(".")[0] == "tsad"):
                found.append((target, inside, child.lineno))
    visit(ast.parse(path.read_text()), False)
    return found


@pytest.fixture(scope="module")
def imports():
    modules = tsad_modules()
    return {name: project_imports(name, path, modules) for name, path in modules.items()}


def test_no_import_cycle_counting_imports_inside_functions(imports):
    graph = {name: {t for t, _, _ in found} for name, found in imports.items()}
    graph["tsad"] = set()     # the parent package: imported with every module, it imports none at load
    done, stack = set(), []

    def walk(node):
        if node in stack:
            raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(node):] + [node]))
        if node in done:
            return
        stack.append(node)
        for nxt in sorted(graph[node]):
            walk(nxt)
        stack.pop()
        done.add(node)

    for name in graph:
        walk(name)


def test_each_layer_imports_only_from_below(imports):
    def layer(module: str) -> int:
        parts = module.split(".")
        return LAYERS.index(parts[1]) if len(parts) > 1 else len(LAYERS)

    assert all(name == "tsad" or name.split(".")[1] in LAYERS for name in imports), "a package outside LAYERS"
    upward = [f"{name} -> {target} (line {line})" for name, found in imports.items()
              for target, _, line in found if layer(target) > layer(name)]
    assert upward == []


def test_imports_inside_functions_are_few_and_each_has_its_reason(imports):
    inner = [(name, target) for name, found in imports.items() for target, inside, _ in found if inside]
    assert len(inner) <= MAX_INNER_IMPORTS, inner
    assert set(inner) <= set(INNER_IMPORTS), f"an import inside a function without a reason: {set(inner) - set(INNER_IMPORTS)}"
    assert all(INNER_IMPORTS.values())


def test_there_are_subpackages_by_job():
    packages = {p.parent.name for p in TSAD.glob("*/__init__.py")}
    assert packages == set(LAYERS) - {"api"}


@pytest.mark.parametrize("name", [n for n in tsad_modules() if n not in ("tsad.app.shared",)])
def test_every_tsad_module_imports_on_its_own(name):
    importlib.import_module(name)


# ---- where to add a model: a stand-in of each, registered in its table alone ----------------------

DETECT = CODES / "Inference/detect.py"


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """Three 1-minute synthetic records: demo00 tests, demo01 validates, demo02 trains."""
    from conftest import run_script

    from tsad.core.paths import Workspace
    from tsad.data.demo_db import DemoConfig, write_demo_database

    root = tmp_path_factory.mktemp("house")
    write_demo_database(root / "raw", DemoConfig(n_records=3, minutes=1))
    ws = Workspace(root / "ws")
    run_script(CODES / "Dataset/data_generate.py", ["--workspace", str(ws.root), "--input-dir", str(root / "raw"),
                                                    "--workers", "1"])
    run_script(CODES / "Dataset/data_split.py", ["--workspace", str(ws.root), "--test-records", "demo00",
                                                 "--val-records", "demo01"])
    return ws, root / "raw"


def _conv(channels: int):
    from torch import nn

    class Conv(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(channels, 1, 9, padding=4)

        def forward(self, x):
            return self.conv(x.float().transpose(1, 2))[:, 0]

    return Conv()


def test_a_stand_in_student_architecture(ws, monkeypatch, tmp_path):
    from conftest import run_script
    from torch import nn

    from tsad.models import student

    class StandIn(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config
            self.net = _conv(config.input_size)

        def forward(self, x):
            return self.net(x)

    monkeypatch.setitem(student.ARCHITECTURES, "stand_in", (StandIn, {}))
    ws, raw = ws
    run_script(CODES / "Models/student_train.py", ["--workspace", str(ws.root), "--arch", "stand_in", "--epochs", "1",
                                                   "--device", "cpu", "--lr", "1e-2", "--warmup-steps", "0"])
    result = run_script(DETECT, ["--workspace", str(ws.root), "--run", "stand_in_train", "--input-dir", str(raw),
                                 "--records", "demo00", "--out", str(tmp_path / "det"), "--device", "cpu"])
    meta = json.loads((tmp_path / "det" / "detections.json").read_text())
    assert meta["kind"] == "student" and meta["arch"] == "stand_in" and len(result["records"]) == 1


def test_a_stand_in_teacher_kind(ws, tmp_path):
    import numpy as np
    from conftest import run_script

    from tsad.core import paths
    from tsad.data.splits import load_split
    from tsad.models import loader, teachers
    from tsad.models.teachers.base import Arrays, TeacherKind, sigmoid_batches, workspace_of
    from tsad.training.loop import TrainConfig

    def inputs(run_dir, config, image_paths, ids):
        signals = context.WorkspaceSignals(workspace_of(run_dir))
        ids = [paths.window_id_of_plot(p) for p in image_paths] if ids is None else ids
        return Arrays(signals.series[signals.rows(ids)])

    def build(config):
        model = _conv(config.leads)
        model.config = config
        return model

    kind = TeacherKind(name="stand_in", note="a stand-in teacher", build=build,
                       dataset=lambda config, data, ws_root: Arrays(data.series, data.labels), inputs=inputs,
                       add_args=lambda parser: None, settings=(), reads_plots=False,
                       predictor_parts=lambda model, config, run_dir, batch_size: {
                           "window_probs": lambda w: sigmoid_batches(model, np.asarray(w, np.float32), batch_size)})
    teachers.register_teacher(kind)
    try:
        ws, raw = ws
        train, val = load_split(ws, "train", check_images=False), load_split(ws, "val", check_images=False)
        config = TeacherConfig(type="stand_in", samples=train.series.shape[1], leads=train.series.shape[2])
        train_teacher(ws, "stand_in_teacher", config, train, val,
                               TrainConfig(epochs=1, lr=1e-2, warmup_steps=0, device="cpu"))
        # distillation reads its logits through the cache, detection runs it on whole records
        run_script(CODES / "Models/kd_train.py", ["--workspace", str(ws.root), "--teacher", "stand_in_teacher",
                                                  "--lam", "0.5", "--arch", "tcn", "--epochs", "1", "--device", "cpu",
                                                  "--run-name", "kd_stand_in"])
        assert (ws.run_dir("kd_stand_in") / "best.pth").is_file()
        run_script(DETECT, ["--workspace", str(ws.root), "--run", "stand_in_teacher", "--input-dir", str(raw),
                            "--records", "demo00", "--out", str(tmp_path / "det"), "--device", "cpu"])
        meta = json.loads((tmp_path / "det" / "detections.json").read_text())
        assert meta["kind"] == "teacher" and meta["teacher_type"] == "stand_in"
        assert loader.load(ws.run_dir("stand_in_teacher"), device="cpu").info["note"] == "a stand-in teacher"
    finally:
        teachers.unregister_teacher("stand_in")


def test_a_stand_in_classical_detector(ws, monkeypatch, tmp_path):
    import numpy as np
    from conftest import run_script

    from tsad.models import classical

    def every_second(signal, fs):
        return np.arange(0, len(signal), int(fs))

    monkeypatch.setitem(classical.CLASSICAL_DETECTORS, "stand_in",
                        classical.ClassicalDetector(every_second, "numpy", "a beat every second"))
    _, raw = ws
    result = run_script(DETECT, ["--workspace", str(tmp_path / "w"), "--run", "stand_in", "--input-dir", str(raw),
                                 "--records", "demo00", "--out", str(tmp_path / "det")])
    assert result["records"][0]["beats"] == 60
    assert json.loads((tmp_path / "det" / "detections.json").read_text())["description"].startswith("a beat")

