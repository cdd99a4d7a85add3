"""RESULTS S: the detection threshold chosen by record-wise cross-validation. Every fold's detector of
the given student_cv.py folders runs once over its own test records (patients it never saw), its beats
picked at every threshold of the tuning grid (tsad.detection.thresholds.threshold_counts); the counts
are pooled over folds, databases and folders, and the threshold is chosen on them by the objective
and tie rule every tuning here uses (class-balanced F1, ``choose_threshold``).

    python docs/results/threshold_cv/threshold_cv.py --cv W/cv/g-a W/cv/g-a-s1 \
        --input-dir ../shared/data/svdb ../shared/data/mitdb --out docs/results/threshold_cv

Writes counts.csv (cv, fold, database, threshold, TP, FP, FN and each class's beats and found) and
prints the choice with the pooled figures at it and at --compare (the shipped model's threshold).
--from-counts reads an earlier counts.csv instead of detecting; --apply RUN writes the choice into
that run's detection.json (the tuning's usual record, its earlier tuning kept under
"validation_tuning"), as section S decided for the shipped model:

    python docs/results/threshold_cv/threshold_cv.py --cv W/cv/g-a W/cv/g-a-s1 --input-dir ... \
        --out docs/results/threshold_cv --from-counts --apply pretrained/fcn20k_svdb_mitdb

--leads K reads the test records on those leads only (detect.py --leads), for a one-lead operating
point (section Z). --nested also writes nested.csv and prints its summary: every fold's figures at the
threshold chosen on the *other* folds' counts (all folders pooled; the folders must share their folds),
beside --compare, so that the choice is scored on records it was not chosen on.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from tsad.core.paths import THRESHOLD_FILE
from tsad.data.ecg import BALANCED_CLASSES
from tsad.data.generate import list_records
from tsad.detection.thresholds import (
    THRESHOLD_CANDIDATES,
    _tuned,
    balanced_f1,
    choose_threshold,
    save_tuned_threshold,
    threshold_counts,
)
from tsad.experiments.crossval import t_interval
from tsad.models import loader
from tsad.models.tuned import read_tuned


def figures(group: pd.DataFrame) -> pd.DataFrame:
    """Pooled Se, PPV, F1, class-balanced F1 and each class's Se per threshold of a counts table."""
    g = group.groupby("threshold").sum(numeric_only=True)
    out = pd.DataFrame({"Se": g.TP / (g.TP + g.FN), "PPV": g.TP / (g.TP + g.FP), "FP": g.FP, "FN": g.FN})
    out["F1"] = 2 * out.Se * out.PPV / (out.Se + out.PPV)
    counts = g[["TP", "FP", "FN"]].to_numpy()
    class_counts = np.stack([g[[f"n_{c}", f"found_{c}"]].to_numpy() for c in BALANCED_CLASSES], axis=1)
    out["balanced_F1"] = balanced_f1(counts, class_counts)
    for c in BALANCED_CLASSES:
        out[f"Se_{c}"] = g[f"found_{c}"] / g[f"n_{c}"].replace(0, np.nan)
    return out


def chosen_threshold(table: pd.DataFrame, grid: np.ndarray) -> float:
    """The threshold the pooled class-balanced F1 of a counts table chooses (``choose_threshold``)."""
    pooled = table.groupby("threshold").sum(numeric_only=True).reindex(grid)
    counts = pooled[["TP", "FP", "FN"]].to_numpy()
    class_counts = np.stack([pooled[[f"n_{c}", f"found_{c}"]].to_numpy() for c in BALANCED_CLASSES], axis=1)
    return float(grid[choose_threshold(grid, counts, class_counts)[0]])


def nested(table: pd.DataFrame, grid: np.ndarray, compare: float) -> pd.DataFrame:
    """Per (folder, fold, database): the gross F1, Se and PPV at the threshold chosen on the other
    folds' counts (every folder pooled) and at ``compare``."""
    rows = []
    for fold in sorted(table["fold"].unique()):
        chosen = chosen_threshold(table[table["fold"] != fold], grid)
        held = table[table["fold"] == fold]
        for (cv, database), part in held.groupby(["cv", "database"]):
            row = {"cv": cv, "fold": int(fold), "database": database, "chosen": chosen}
            for label, thr in [("chosen", chosen), ("compare", compare)]:
                at = part[np.isclose(part["threshold"], thr)][["TP", "FP", "FN"]].sum()
                row[f"Se_{label}"] = at.TP / (at.TP + at.FN)
                row[f"PPV_{label}"] = at.TP / (at.TP + at.FP)
                row[f"F1_{label}"] = 2 * at.TP / (2 * at.TP + at.FP + at.FN)
            rows.append(row)
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cv", nargs="+", type=Path, required=True, help="student_cv.py folders (cv/<name>)")
    p.add_argument("--input-dir", nargs="+", type=Path, required=True, help="the records' folders, one per database")
    p.add_argument("--out", type=Path, required=True, help="folder for counts.csv")
    p.add_argument("--compare", type=float, default=0.1, help="a threshold to show beside the choice (the shipped)")
    p.add_argument("--from-counts", action="store_true", help="read --out/counts.csv instead of detecting again")
    p.add_argument("--leads", type=int, nargs="+", default=None, metavar="K",
                   help="the leads the detectors read (the others are zero; default every lead)")
    p.add_argument("--nested", action="store_true",
                   help="also score each fold at the threshold chosen on the other folds (nested.csv)")
    p.add_argument("--apply", type=Path, default=None, metavar="RUN",
                   help="write the choice into this run folder's detection.json")
    args = p.parse_args(argv)
    started = time.perf_counter()
    where = {name: folder for folder in args.input_dir for name in list_records(folder)}
    grid = np.asarray(THRESHOLD_CANDIDATES)
    rows = []
    for cv in [] if args.from_counts else args.cv:
        folds = pd.read_csv(cv / "folds.csv", dtype={"test_records": str})
        for _, fold in tqdm(list(folds.iterrows()), desc=cv.name, unit="fold"):
            detector = loader.load(str(cv / f"fold{fold['fold']}"), backend="torch", threads=1, classify=False,
                                   verify=False)
            names = str(fold["test_records"]).split()
            for folder in args.input_dir:
                paths = [folder / n for n in names if where.get(n) == folder]
                if not paths:
                    continue
                counts, class_counts = threshold_counts(detector, paths, grid, leads=args.leads)
                for k, thr in enumerate(grid):
                    row = {"cv": cv.name, "fold": int(fold["fold"]), "database": folder.name, "threshold": float(thr),
                           "TP": counts[k, 0], "FP": counts[k, 1], "FN": counts[k, 2]}
                    for j, c in enumerate(BALANCED_CLASSES):
                        row[f"n_{c}"], row[f"found_{c}"] = class_counts[k, j]
                    rows.append(row)
    if args.from_counts:
        table = pd.read_csv(args.out / "counts.csv")
    else:
        table = pd.DataFrame(rows)
        args.out.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out / "counts.csv", index=False)
    pooled = table.groupby("threshold").sum(numeric_only=True)
    counts = pooled[["TP", "FP", "FN"]].to_numpy()
    class_counts = np.stack([pooled[[f"n_{c}", f"found_{c}"]].to_numpy() for c in BALANCED_CLASSES], axis=1)
    index, _ = choose_threshold(grid, counts, class_counts)
    chosen = float(grid[index])
    print(f"chosen by the pooled class-balanced F1 of {len(args.cv)} cross-validation(s): {chosen:g} "
          f"({(time.perf_counter() - started) / 60:.1f} min)\n")
    show = sorted({args.compare, chosen} | {t for t in grid if 0.05 <= t <= 0.5})
    for name, part in [("pooled", table), *table.groupby("database")]:
        print(f"## {name}\n")
        print(figures(part).loc[show].round(5).to_string() + "\n")
    if args.nested:
        table_nested = nested(table, grid, args.compare)
        table_nested.to_csv(args.out / "nested.csv", index=False)
        print(f"## nested: each fold at the threshold chosen on the other folds (chosen: "
              f"{', '.join(f'{t:g}' for t in sorted(table_nested['chosen'].unique()))}), against {args.compare:g}; mean [95% t-interval] over "
              f"(folder, fold)\n")
        for database, part in table_nested.groupby("database"):
            diff = t_interval(part["F1_chosen"] - part["F1_compare"])
            print(f"{database}: fold F1 {part['F1_chosen'].mean():.4f} against {part['F1_compare'].mean():.4f}, "
                  f"paired {diff[0]:+.4f} [{diff[1]:+.4f}, {diff[2]:+.4f}]")
        print()
    if args.apply is not None:
        earlier = read_tuned(args.apply)
        tuned = _tuned(grid, counts, "record-wise cross-validation of the same recipe (docs/RESULTS.md section S: "
                       "every fold's test records, pooled)", class_counts,
                       records=sorted(table["cv"].unique()), validation_tuning=earlier.get("validation_tuning", earlier))
        save_tuned_threshold(args.apply, tuned)
        print(f"written: {args.apply / THRESHOLD_FILE} (threshold {tuned['threshold']:g}, was {earlier.get('threshold')})")


if __name__ == "__main__":
    main()
