"""Scoring every inference output of a workspace into one results table.

A run is any folder ``W/<run>`` holding ``all_probs_<run>.npy`` (the runs of tsad.training.grid, the xqrs
baseline, or any other). Rows are matched by window id: every model is scored on the windows all
of them share, against the test split's labels when the split is there. The 150 ms beat-matching
tolerance is counted in samples at the workspace's rate (tsad.core.geometry).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tsad.core import paths
from tsad.core.common import log
from tsad.core.fileio import atomic_path, save_text
from tsad.core.geometry import EC57_TOLERANCE_S, WindowGeometry, load_workspace_geometry
from tsad.data.splits import read_split_csv
from tsad.experiments.baseline import XQRS_RUN, ensure_xqrs_outputs
from tsad.scoring.beats import Positions
from tsad.scoring.metrics import DEFAULT_TOLERANCE, ModelScores, score_model
from tsad.scoring.outputs import InferenceOutputs, has_outputs, load_outputs, output_paths
from tsad.training import grid

COLUMNS = ["model", "n_windows", "n_windows_without_beats", "MSP", "MSR", "Se", "PPV", "F1", "AUC_PR", "note"]


def _with_workspace(script: str, args) -> str:
    return " ".join(grid.command(script, ("--workspace", "W", *args)))


def _infer_command(run: str) -> str:
    """How to produce a run's inference outputs, from the registry (a run it does not know: student_infer)."""
    try:
        entry = grid.get(run)
    except KeyError:
        return _with_workspace("Inference/lstm/student_infer.py", ("--run", run))
    return (f"{_with_workspace(entry.train_script, entry.train_args)}, then "
            f"{_with_workspace(entry.infer_script, entry.infer_args)}")


def stages_help() -> str:
    """How to produce the outputs this module scores: the first teacher and the plain student."""
    first = [grid.runs(role)[0] for role in ("teacher", "student") if grid.runs(role)]
    return "; ".join(f"{r.role}: {_infer_command(r.name)}" for r in first) + \
        " (and likewise for the other runs; python Codes/run_pipeline.py runs them all)"


def _run_order(name: str):
    order = [r.name for r in grid.runs()]
    if name in order:
        return (0, order.index(name), name)
    return (2 if name == XQRS_RUN else 1, 0, name)


def find_scored_runs(ws: paths.Workspace) -> tuple[list[str], list[str]]:
    """(runs with complete outputs in display order, messages about expected or partial ones)."""
    found, missing = [], []
    folders = sorted(p for p in ws.root.iterdir() if p.is_dir()) if ws.root.is_dir() else []
    for folder in folders:
        run = folder.name
        if not output_paths(folder, run)["probs"].is_file():
            if (folder / paths.METADATA).is_file() and run in {r.name for r in grid.runs()}:
                missing.append(f"{run}: trained but no inference output ({_infer_command(run)})")
            continue
        if has_outputs(folder, run):
            found.append(run)
        else:
            absent = [p.name for p in output_paths(folder, run).values() if not p.is_file()]
            missing.append(f"{run}: incomplete outputs, missing {', '.join(absent)}")
    for run in (r.name for r in grid.runs()):
        if run not in found and not any(m.startswith(f"{run}:") for m in missing):
            missing.append(f"{run}: no inference output ({_infer_command(run)})")
    return sorted(found, key=_run_order), missing


def read_metadata(run_dir: Path) -> dict:
    """A run's metadata.json, or {} when it is missing or unreadable (with a warning)."""
    path = Path(run_dir) / paths.METADATA
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        log.warning("%s: unreadable (%s); scoring without it", path, err)
        return {}
    return meta if isinstance(meta, dict) else {}


TINY_NOTE = "tiny backbone (test-size random model, not SmolVLM-256M)"


def _is_tiny(meta: dict) -> bool:
    if meta.get("backbone_untrained") is True:
        return True
    config = meta.get("model_config") if isinstance(meta.get("model_config"), dict) else {}
    for source in (meta, config):
        if source.get("tiny") is True:
            return True
        for key in ("backbone", "backbone_name", "backbone_kind"):
            if "tiny" in str(source.get(key, "")).lower():
                return True
    return False


def run_note(run: str, meta: dict, teacher_meta: dict | None = None) -> str:
    """What a reader must know about a run's numbers: an untrained tiny backbone behind them, in
    the run itself or in the teacher it was distilled from; how a detector was scored."""
    notes = []
    if _is_tiny(meta):
        notes.append(TINY_NOTE)
    if teacher_meta and _is_tiny(teacher_meta):
        notes.append(f"teacher: {TINY_NOTE}")
    if meta.get("scoring") == "positions":
        notes.append(f"{meta.get('detector', 'detector')} on lead {int(meta.get('lead', 0)) + 1}, "
                     f"window by window; no probabilities, AUC-PR n/a")
        if meta.get("windows_failed"):
            notes.append(f"{meta['windows_failed']} windows where it failed (scored as no detection)")
    return "; ".join(notes)


@dataclass
class ModelResult:
    """One model's aligned outputs, scores and note."""
    name: str
    outputs: InferenceOutputs          # rows aligned with Evaluation.ids
    scores: ModelScores
    note: str


@dataclass
class Evaluation:
    """Every model scored on the same windows, with the workspace's geometry."""
    ids: np.ndarray
    labels: np.ndarray
    models: list[ModelResult]
    missing: list[str] = field(default_factory=list)
    geometry: WindowGeometry = field(default_factory=WindowGeometry)

    @property
    def table(self) -> pd.DataFrame:
        """One row per model: the scores and the note."""
        rows = [{"model": m.name, **m.scores.row(), "note": m.note} for m in self.models]
        return pd.DataFrame(rows, columns=COLUMNS)


def _align(out: InferenceOutputs, ids: np.ndarray) -> InferenceOutputs:
    index = {int(i): k for k, i in enumerate(out.ids)}
    take = np.array([index[int(i)] for i in ids], np.int64)
    return InferenceOutputs(out.tag, out.probs[take], out.labels[take], out.ts[take], out.ids[take])


def _load_all(ws, runs, missing):
    loaded = {}
    for run in runs:
        try:
            out = load_outputs(ws.run_dir(run), run)
        except (ValueError, FileNotFoundError) as err:
            missing.append(f"{run}: unreadable outputs ({err})")
            continue
        if len(np.unique(out.ids)) != len(out.ids):
            missing.append(f"{run}: repeated window ids in ids_{run}.npy")
            continue
        loaded[run] = out
    return loaded


def _reference_labels(ws, loaded, ids):
    """Labels to score against: the test split's where it exists, else the first run's."""
    if ws.split_csv("test").is_file():

        split_ids, split_labels = read_split_csv(ws.split_csv("test"))
        index = {int(i): k for k, i in enumerate(split_ids)}
        if all(int(i) in index for i in ids):
            return split_labels[[index[int(i)] for i in ids]], "test split"
    first = next(iter(loaded))
    return _align(loaded[first], ids).labels, first


def evaluate_workspace(ws: paths.Workspace, threshold: float | None = None,
                       tolerance: int = DEFAULT_TOLERANCE, with_xqrs: bool = True,
                       progress: bool = True) -> Evaluation:
    """Scores every run with inference outputs on the windows they share (and XQRS beside them)."""
    geometry = load_workspace_geometry(ws)
    beat_tolerance = geometry.tolerance_samples(EC57_TOLERANCE_S)
    runs, missing = find_scored_runs(ws)
    models = [r for r in runs if r != XQRS_RUN]
    if not models:
        raise FileNotFoundError(f"{ws.root}: no inference output found (no <run>/all_probs_<run>.npy). "
                                f"Run the stages first: {stages_help()}")
    runs = models
    if with_xqrs:
        if ws.split_npy("test").is_file():
            ensure_xqrs_outputs(ws, progress=progress)
            runs = models + [XQRS_RUN]
        else:
            missing.append(f"{XQRS_RUN}: no test split at {ws.split_dir('test')} to run the detector on")
    loaded = _load_all(ws, runs, missing)
    if not any(r != XQRS_RUN for r in loaded):
        raise FileNotFoundError(f"{ws.root}: no readable inference output. Problems: {'; '.join(missing)}")
    id_sets = [set(map(int, out.ids)) for out in loaded.values()]
    common = np.array(sorted(set.intersection(*id_sets)), np.int64)
    if len(common) == 0:
        raise ValueError(f"{ws.root}: the runs {sorted(loaded)} share no window id; rerun inference "
                         "on the same test split")
    labels, source = _reference_labels(ws, loaded, common)
    results = []
    for run, out in loaded.items():
        aligned = _align(out, common)
        if not np.array_equal(aligned.labels > 0.5, labels > 0.5):
            missing.append(f"{run}: its labels differ from the {source}'s for the same window ids "
                           f"(stale outputs? rerun its inference); skipped")
            continue
        meta = read_metadata(ws.run_dir(run))
        if meta.get("scoring") == "positions":
            scores = score_model(labels, predicted=Positions.from_mask(aligned.probs > 0.5),
                                 tolerance=tolerance, beat_tolerance=beat_tolerance)
        else:
            scores = score_model(labels, aligned.probs, threshold=threshold, tolerance=tolerance,
                                 beat_tolerance=beat_tolerance)
        teacher_meta = read_metadata(ws.run_dir(meta["teacher"])) if meta.get("teacher") else None
        note = run_note(run, meta, teacher_meta)
        if len(out.ids) != len(common):
            note = "; ".join(filter(None, [note, f"scored {len(common)} of its {len(out.ids)} windows "
                                                 "(ids shared by every run)"]))
        results.append(ModelResult(run, aligned, scores, note))
    return Evaluation(common, labels, results, missing, geometry)


def to_markdown(table: pd.DataFrame, digits: int = 4) -> str:
    """The table as Markdown; NaN shows as n/a."""
    def cell(v):
        if isinstance(v, float):
            return "n/a" if np.isnan(v) else f"{v:.{digits}f}"
        return str(v).replace("|", "/")

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def write_results(ws: paths.Workspace, evaluation: Evaluation, threshold, tolerance) -> None:
    """Writes results.csv and results.md (the table under a note on how it was scored)."""
    table = evaluation.table
    with atomic_path(ws.results_csv) as tmp:
        table.to_csv(tmp, index=False)
    rule = ("a beat is a peak above the window's average probability" if threshold is None
            else f"a beat is a peak above {threshold:g}")
    geometry = evaluation.geometry
    beat_window = (f"{EC57_TOLERANCE_S * 1000:g} ms window (= {geometry.tolerance_samples(EC57_TOLERANCE_S)} "
                   f"samples at {geometry.fs:g} Hz)")
    header = (f"# Results\n\n{len(evaluation.ids)} test windows shared by every model. Beat threshold: {rule}; "
              f"squeezing tolerance w = {tolerance}; Se/PPV/F1 pooled with a {beat_window}. "
              "Definitions: docs/METRICS.md.\n\n")
    save_text(ws.results_md, header + to_markdown(table))


def example_windows(evaluation: Evaluation, n_examples: int, seed: int) -> np.ndarray:
    """Row indices of windows to draw: random windows with beats, the same for every model."""
    with_beats = np.flatnonzero((evaluation.labels > 0.5).any(axis=1))
    pool = with_beats if len(with_beats) >= n_examples else np.arange(len(evaluation.ids))
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(pool, size=min(n_examples, len(pool)), replace=False))


def write_figures(ws: paths.Workspace, evaluation: Evaluation, n_examples: int = 4, seed: int = 42) -> list[Path]:
    """Writes the example windows, the precision/recall histograms and the PR curves into Plots/."""
    from tsad.scoring import plots

    models = evaluation.models
    names = [m.name for m in models]
    rows = example_windows(evaluation, n_examples, seed)
    out = []
    figures = {
        "inference_examples.png": plots.examples_figure(
            [(m.name, m.outputs.ts, evaluation.labels, m.scores.predicted.split()) for m in models],
            rows, evaluation.ids, fs=evaluation.geometry.fs),
        "inference_precision_recall_hist.png": plots.histograms_figure(
            names, [m.scores.precision for m in models], [m.scores.recall for m in models]),
    }
    with_probs = [m for m in models if not np.isnan(m.scores.AUC_PR)]
    if with_probs:
        figures["inference_pr_curves.png"] = plots.pr_curves_figure(
            [m.name for m in with_probs], [evaluation.labels] * len(with_probs),
            [m.outputs.probs for m in with_probs], [m.scores.AUC_PR for m in with_probs])
    for name, fig in figures.items():
        plots.save_figure(fig, ws.plots / name)
        out.append(ws.plots / name)
    return out
