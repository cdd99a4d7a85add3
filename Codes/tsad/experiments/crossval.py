"""Record-wise cross-validation: every record is a test patient exactly once, never a training one.

For each fold, the student is trained on the windows of the training records (a few records of
them validate), then run over the **whole** test records (``tsad.detection.records``) and scored beat by beat
at 150 ms (``tsad.scoring.ec57``); the window metrics of the original project (MSP/MSR at w = 2) are
computed on the same test records' windows too. A classical detector (``xqrs``, ``gqrs``) goes
through the same folds without training, so every row of a comparison is on the same records.

Outputs, in ``<workspace>/cv/<name>/``::

    fold<k>/                 the fold's run (best.pth, metadata.json, ...) and detections/
    fold<k>/fold.json        the fold's figures (written last: a fold with it is finished)
    folds.csv                one row per fold
    records.csv              one row per record (each record once: its test fold)
    summary.csv, summary.md  mean and 95% t-interval over folds; the per-record spread
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from tsad.core import paths
from tsad.core.common import log
from tsad.core.fileio import save_json, save_text
from tsad.core.geometry import load_workspace_geometry
from tsad.data.ecg import REPORTED_CLASSES
from tsad.data.folds import assign_record_parts
from tsad.data.split import load_generated
from tsad.data.splits import SplitData
from tsad.detection import folders, records, thresholds
from tsad.models import classical, loader
from tsad.models.loader import find_checkpoint
from tsad.scoring import beats, ec57, metrics

FOLD_FIGURES = ("gross_Se", "gross_PPV", "gross_F1", "average_F1", "within_2_samples", "median_abs_error_ms",
                "MSP", "MSR", "window_F1", "MSP_rec", "MSR_rec")


@dataclass
class CVData:
    """Every window of the workspace with its record and database, loaded once for all folds."""

    ids: np.ndarray
    series: np.ndarray
    labels: np.ndarray
    records: np.ndarray
    databases: np.ndarray | None = None     # the folder each window's record came from
    source_fs: np.ndarray | None = None     # each window's record's own sampling rate

    @property
    def groups(self) -> dict[str, str]:
        """Record -> database (one database "data" for a workspace written before databases were kept)."""
        if self.databases is None:
            return {str(r): "data" for r in pd.unique(self.records)}
        return dict(zip(map(str, self.records), map(str, self.databases)))

    def subset(self, names, name: str, ws: paths.Workspace) -> SplitData:
        """The windows of the records ``names``, in workspace order, as a split."""
        rows = np.flatnonzero(np.isin(self.records, list(names)))
        return SplitData(name, self.ids[rows], self.series[rows], self.labels[rows].astype(np.float32),
                         ws.plots_ecg)


def load_cv_data(ws: paths.Workspace) -> CVData:
    ids, labels, series, windows = load_generated(ws)
    databases = windows["database"].astype(str).to_numpy() if "database" in windows else None
    source_fs = windows["fs"].to_numpy(float) if "fs" in windows else None
    return CVData(ids, series.astype(np.float32, copy=False), labels, windows["record"].astype(str).to_numpy(),
                  databases, source_fs)


def source_map(sources, names) -> dict[str, Path]:
    """Record -> folder of its files: ``sources`` is one folder for every record or a mapping
    (``tsad.data.generate.record_sources``). Raises FileNotFoundError naming a record with no folder."""
    if isinstance(sources, (str, Path)):
        return {str(n): Path(sources) for n in names}
    missing = [str(n) for n in names if str(n) not in sources]
    if missing:
        raise FileNotFoundError(f"no folder known for record(s) {', '.join(missing[:5])}; pass --input-dir")
    return {str(n): Path(sources[str(n)]) for n in names}


def score_records(det_dir: Path, sources: dict[str, Path], names, groups: dict | None = None) -> pd.DataFrame:
    """EC57 table of the detections of ``names`` in ``det_dir``, each record scored against the
    reference annotations in its own folder; a ``database`` column when ``groups`` is given."""
    tables = []
    by_folder: dict[Path, list[str]] = {}
    for n in names:
        by_folder.setdefault(sources[str(n)], []).append(str(n))
    for folder, recs in by_folder.items():
        tables.append(ec57.score_folder(det_dir, folder, folders.DEFAULT_EXT, records=recs))
    table = pd.concat(tables, ignore_index=True)
    order = {str(n): k for k, n in enumerate(names)}
    table = table.sort_values("record", key=lambda c: c.astype(str).map(order)).reset_index(drop=True)
    if groups is not None:
        table.insert(1, "database", [groups.get(str(r), "") for r in table["record"]])
    return table


def cv_dir(ws: paths.Workspace, name: str) -> Path:
    return ws.root / "cv" / name


def fold_run_name(name: str, fold: int) -> str:
    return f"cv/{name}/fold{fold}"


def window_scores(labels: np.ndarray, probs: np.ndarray) -> dict:
    """MSP/MSR at w = 2 and the window-pooled F1 at 150 ms of window-by-window inference."""
    s = metrics.score_model(labels, probs)
    return {"MSP": s.MSP, "MSR": s.MSR, "window_F1": s.F1}


def positions_in_windows(samples: np.ndarray, n_windows: int, length: int) -> beats.Positions:
    """Whole-record detections (at the windows' rate) cut into the record's non-overlapping windows."""
    samples = samples[samples < n_windows * length]
    return beats.Positions(samples // length, samples % length, n_windows)


def run_fold(ws: paths.Workspace, data: CVData, sources, name: str, fold: int, folds: int, *,
             seed: int, train_fn=None, detector_name: str | None = None, val: float = 0.05,
             hop: int | None = None, threshold: float | None = None, train_windows: int | None = None,
             parts: dict | None = None, reuse_model: bool = False, models_from: str | None = None,
             leads=None, latency_s: float | None = None, causal_wait_s: float | None = None) -> dict:
    """One fold: train (unless ``detector_name`` is classical), tune the beat threshold on the
    fold's validation records (unless ``threshold`` is given), detect the test records whole, score.

    ``sources`` is the records' folder, or record -> folder for records of several databases.
    ``parts`` (train/val/test record names) replaces fold ``fold`` of ``folds`` (leave one
    database out: ``tsad.data.folds.database_test_parts``). ``reuse_model`` keeps a fold model trained
    before (its training time is taken from the fold's previous fold.json) and only tunes, detects
    and scores again. ``models_from`` names another cross-validation (same folds) whose fold models
    and tuned thresholds are used as they are, nothing trained or tuned: the same models scored
    another way, e.g. with ``leads`` (the records' leads the models may read; the others are zero)
    or ``latency_s`` (causal detection, tsad.detection.streaming; the threshold is tuned offline),
    with ``causal_wait_s`` replacing the models' causal picking wait.
    ``train_fn(ws, run_name, train, val)``
    trains a student into ``run_name`` (drawing its ``train_windows`` itself, as student_train.py
    does); the count is only recorded here."""
    groups = data.groups
    parts = parts or assign_record_parts(data.records, folds=folds, fold=fold, val=val, seed=seed, groups=groups)
    where = source_map(sources, [*parts["val"], *parts["test"]])
    fold_dir = cv_dir(ws, name) / f"fold{fold}"
    started = time.perf_counter()
    train_s = 0.0
    if detector_name in classical.CLASSICAL_DETECTORS:
        detector = classical.classical_detector(detector_name)
    else:
        run_name = fold_run_name(models_from or name, fold)
        previous = (cv_dir(ws, models_from) / f"fold{fold}" if models_from else fold_dir) / "fold.json"
        if models_from:

            if find_checkpoint(ws.run_dir(run_name)) is None:
                raise FileNotFoundError(f"{ws.run_dir(run_name)}: no fold model of cross-validation {models_from!r}")
            train_s = float(json.loads(previous.read_text()).get("train_s", 0.0)) if previous.is_file() else 0.0
        elif reuse_model and (ws.run_dir(run_name) / paths.STUDENT_CHECKPOINT).is_file():
            train_s = float(json.loads(previous.read_text()).get("train_s", 0.0)) if previous.is_file() else 0.0
        else:
            train = data.subset(parts["train"], "train", ws)
            valid = data.subset(parts["val"], "val", ws)
            t0 = time.perf_counter()
            train_fn(ws, run_name, train, valid)
            train_s = time.perf_counter() - t0
        detector = loader.load(run_name, ws)
        # models taken from elsewhere keep their tuned threshold (a teacher made there gets one here)
        if threshold is None and not (models_from and (ws.run_dir(run_name) / paths.THRESHOLD_FILE).is_file()):
            tuned = thresholds.tune_threshold(detector, [where[r] / r for r in parts["val"]], hop=hop)
            thresholds.save_tuned_threshold(ws.run_dir(run_name), tuned)
            detector.threshold = tuned["threshold"]
    if causal_wait_s is not None:     # a study of causal picking's wait (the run's own detection.json is not changed)
        detector = replace(detector, causal_wait_s=causal_wait_s)
    det_dir = fold_dir / "detections"
    per_record = []
    for rec in parts["test"]:
        det = records.detect_record(detector, where[rec] / rec, hop=hop, threshold=threshold, leads=leads,
                                    latency_s=latency_s)
        folders.write_detection(det, det_dir)
        per_record.append({"record": rec, "compute_s": det.seconds, "duration_s": det.duration_s})
    folders.write_detection_meta(det_dir, detector, {"hop": hop, "threshold": detector.threshold, "leads": leads,
                                                     "models_from": models_from, "latency_s": latency_s,
                                                     "causal_wait_s": detector.causal_wait_s if latency_s else None},
                              per_record)
    table = score_records(det_dir, where, parts["test"], groups)
    table.insert(0, "fold", fold)
    # the original window metrics on the same test records: window-by-window inference for a model
    # (MSP, MSR), and the whole-record detections cut into the same windows (MSP_rec, MSR_rec)
    test = data.subset(parts["test"], "test", ws)
    cut = _detections_window_scores(test, data, parts["test"], det_dir, load_workspace_geometry(ws).fs)
    if detector.window_probs is not None:
        series = test.series
        if leads is not None:   # the window figures read the same leads as the whole-record ones
            series = series * np.array([c in leads for c in detector.geometry.channels], series.dtype)
        win = window_scores(test.labels, detector.window_probs(series))
    else:
        win = cut
    win.update(MSP_rec=cut["MSP"], MSR_rec=cut["MSR"])
    counts = table[["TP", "FP", "FN"]].sum()
    gross = beats.figures(int(counts.TP), int(counts.FP), int(counts.FN))
    matched = table["TP"].to_numpy(float)
    row = {"fold": fold, "test_records": " ".join(parts["test"]), "n_train_windows": int(
        (np.isin(data.records, parts["train"])).sum() if train_windows is None else train_windows),
        "gross_Se": gross["Se"], "gross_PPV": gross["PPV"], "gross_F1": gross["F1"],
        "average_F1": float(table["F1"].mean()),
        "within_2_samples": float(np.average(table["within_2_samples"], weights=matched)),
        "median_abs_error_ms": float(np.median(table["median_abs_error_ms"])), **win,
        "threshold": detector.threshold, "train_s": round(train_s, 1), "total_s": round(time.perf_counter() - started, 1)}
    row.update(per_database_figures(table))
    save_text(fold_dir / "records.csv", table.to_csv(index=False))
    save_json(fold_dir / "fold.json", row)
    log.info("%s fold %d: gross F1 %.4f, MSP %.3f, MSR %.3f (%.0f s)", name, fold, row["gross_F1"], row["MSP"],
             row["MSR"], row["total_s"])
    return row


def _detections_window_scores(test: SplitData, data: CVData, test_records, det_dir: Path, model_fs: float) -> dict:
    """MSP/MSR of the whole-record detections cut into the test records' windows. Detections are in
    the record's own sample numbers: a record at another rate than the windows (mitdb at 360 Hz) is
    mapped to the windows' rate ``model_fs`` first."""
    pos_rows, pos_pos, offset = [], [], 0
    length = test.series.shape[1]
    in_test = np.isin(data.records, list(test_records))
    # test.labels are in workspace order, and a record's windows are contiguous and ordered there
    for rec in pd.unique(data.records[in_test]):
        rows = data.records == rec
        n = int(rows.sum())
        samples = ec57.read_detections(det_dir, rec, folders.DEFAULT_EXT)
        source_fs = float(data.source_fs[rows][0]) if data.source_fs is not None else model_fs
        if source_fs != model_fs:
            samples = np.unique(np.round(samples * model_fs / source_fs).astype(np.int64))
        p = positions_in_windows(samples, n, length)
        pos_rows.append(p.rows + offset)
        pos_pos.append(p.pos)
        offset += n
    pred = beats.Positions(np.concatenate(pos_rows), np.concatenate(pos_pos), offset)
    s = metrics.score_model(test.labels, predicted=pred)
    return {"MSP": s.MSP, "MSR": s.MSR, "window_F1": s.F1}


def class_figures(table: pd.DataFrame, suffix: str = "") -> dict:
    """Gross sensitivity of each reported beat class (``ecg.REPORTED_CLASSES``) over an EC57 table's
    records (``"gross_Se_V"``); NaN for a class none of them has."""

    out = {}
    for c in REPORTED_CLASSES:
        if f"n_{c}" in table:
            n, tp = table[f"n_{c}"].sum(), table[f"TP_{c}"].sum()
            out[f"gross_Se_{c}{suffix}"] = float(tp / n) if n else float("nan")
    return out


def per_database_figures(table: pd.DataFrame) -> dict:
    """Gross Se/PPV/F1 and per-class sensitivity of each database's records in an EC57 table
    (``"gross_F1 [svdb]"``, ``"gross_Se_V [mitdb]"``, ...), and the per-class sensitivity over
    all: a detector is judged on each database and by the beats it misses, never only pooled."""
    out = class_figures(table)
    if "database" not in table:
        return out
    for db, sub in table.groupby("database"):
        c = sub[["TP", "FP", "FN"]].sum()
        for fig, value in beats.figures(int(c.TP), int(c.FP), int(c.FN)).items():
            out[f"gross_{fig} [{db}]"] = value
        out.update(class_figures(sub, f" [{db}]"))
    return out


def t_interval(values) -> tuple[float, float, float]:
    """Mean and 95% Student-t interval of ``values`` (NaN interval for fewer than 2)."""
    from scipy import stats

    v = np.asarray(values, float)
    v = v[~np.isnan(v)]
    mean = float(v.mean()) if len(v) else float("nan")
    if len(v) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return mean, mean - half, mean + half


def _clip_rates(summary: pd.DataFrame) -> pd.DataFrame:
    """Rates live in [0, 1]: a t-interval over few folds can pass 1, so it is clipped there."""
    rates = ~summary["figure"].str.contains("_ms")
    summary.loc[rates, ["ci_low", "ci_high"]] = summary.loc[rates, ["ci_low", "ci_high"]].clip(0, 1)
    return summary


def summarise(name: str, folds_table: pd.DataFrame, records_table: pd.DataFrame) -> pd.DataFrame:
    """One row per figure: mean and 95% t-interval over folds (rates clipped to [0, 1]), and the
    per-record spread of F1."""
    rows = []
    extra = [c for c in folds_table.columns if c.startswith("gross_Se_") or (c.startswith("gross_") and c.endswith("]"))]
    for fig in (*FOLD_FIGURES, *extra):
        mean, lo, hi = t_interval(folds_table[fig])
        rows.append({"model": name, "figure": fig, "mean_over_folds": mean, "ci_low": lo, "ci_high": hi,
                     "folds": len(folds_table)})
    per_rec = records_table["F1"].to_numpy(float)
    q = np.nanpercentile(per_rec, [0, 25, 50, 75]) if len(per_rec) else [np.nan] * 4
    rows.append({"model": name, "figure": "per-record F1: min / 25% / median / 75%",
                 "mean_over_folds": float(np.nanmean(per_rec)), "ci_low": np.nan, "ci_high": np.nan,
                 "folds": len(folds_table), "spread": " / ".join(f"{x:.4f}" for x in q)})
    if "database" in records_table and records_table["database"].nunique() > 1:
        for db, sub in records_table.groupby("database"):
            f1 = sub["F1"].to_numpy(float)
            q = np.nanpercentile(f1, [0, 25, 50, 75])
            rows.append({"model": name, "figure": f"per-record F1 [{db}]: min / 25% / median / 75%",
                         "mean_over_folds": float(np.nanmean(f1)), "ci_low": np.nan, "ci_high": np.nan,
                         "folds": len(folds_table), "spread": " / ".join(f"{x:.4f}" for x in q)})
    return _clip_rates(pd.DataFrame(rows))


def collect(ws: paths.Workspace, name: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Gathers every finished fold of ``cv/<name>`` into folds.csv, records.csv and summary files."""
    root = cv_dir(ws, name)
    done = sorted(root.glob("fold*/fold.json"), key=lambda p: int(p.parent.name[4:]))
    if not done:
        raise FileNotFoundError(f"{root}: no finished fold")
    folds_table = pd.DataFrame([json.loads(p.read_text()) for p in done])
    records_table = pd.concat([pd.read_csv(p.parent / "records.csv", dtype={"record": str}) for p in done],
                              ignore_index=True)
    summary = summarise(name, folds_table, records_table)
    save_text(root / "folds.csv", folds_table.to_csv(index=False))
    save_text(root / "records.csv", records_table.to_csv(index=False))
    save_text(root / "summary.csv", summary.to_csv(index=False))
    return folds_table, records_table, summary
