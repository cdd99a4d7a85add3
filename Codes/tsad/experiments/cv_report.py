"""Comparing finished cross-validations (``student_cv.py --compare``): the headline figures of each
as mean [95% interval] over folds with paired differences against the first, and a table per
database and beat class pooled over every test record.

A name ``A+B`` stands for the cross-validations A and B taken together (the same folds trained with
other seeds: ``--seed 1 --fold-seed 42``): their folds are pooled, so intervals and paired
differences run over every (seed, fold), and the records of both count in the pooled figures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsad.core import paths
from tsad.data.ecg import REPORTED_CLASSES
from tsad.experiments.crossval import collect, cv_dir, summarise, t_interval
from tsad.scoring import beats


def collect_pooled(ws: paths.Workspace, name: str):
    """``crossval.collect`` of one cross-validation, or of several joined by ``+`` (their folds one
    after the other, each run's in fold order, and all their records)."""
    parts = [collect(ws, part) for part in name.split("+")]
    folds = pd.concat([f.sort_values("fold") for f, _, _ in parts], ignore_index=True)
    records = pd.concat([r for _, r, _ in parts], ignore_index=True)
    if len(parts) == 1:
        return folds, records, parts[0][2]
    return folds, records, summarise(name, folds, records)


def comparison(ws: paths.Workspace, names) -> pd.DataFrame:
    """One row per cross-validation of ``names`` (each finished): the headline figures as
    "mean [95% interval]" over folds, the per-record F1 spread, and the paired difference of gross F1
    and of the share within +-2 samples against the first name, fold by fold. The folds' test
    records must be the same (else nothing is paired): raises ValueError when they differ."""
    rows, reference = [], None
    for name in names:
        folds_table, records_table, summary = collect_pooled(ws, name)
        tests = tuple(folds_table["test_records"])
        if reference is None:
            reference = (name, tests, folds_table)
        elif tests != reference[1]:
            raise ValueError(
                f"{cv_dir(ws, name)}: its folds test other records than {reference[0]}'s; "
                "a comparison needs the same folds (same --folds and --seed)"
            )
        s = summary.set_index("figure")

        def cell(fig, digits=4):
            m, lo, hi = s.loc[fig, ["mean_over_folds", "ci_low", "ci_high"]]
            return (
                f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
                if not np.isnan(lo)
                else f"{m:.{digits}f}"
            )

        q = records_table["F1"].to_numpy(float)
        worst = records_table.loc[records_table["F1"].idxmin(), "record"] if len(q) else ""
        paired = {}
        if name != reference[0]:
            for fig in ("gross_F1", "within_2_samples"):
                m, lo, hi = t_interval(folds_table[fig] - reference[2][fig])
                paired[f"{fig} - {reference[0]} (paired over folds)"] = f"{m:+.4f} [{lo:+.4f}, {hi:+.4f}]"
        rows.append(
            {
                "model": name,
                "folds": len(folds_table),
                "records": len(records_table),
                "gross Se": cell("gross_Se"),
                "gross PPV": cell("gross_PPV"),
                "gross F1": cell("gross_F1"),
                "average F1": cell("average_F1"),
                "within +-2 samples": cell("within_2_samples", 3),
                "median abs error (ms)": cell("median_abs_error_ms", 1),
                "MSP": cell("MSP", 3),
                "MSR": cell("MSR", 3),
                "MSP_rec": cell("MSP_rec", 3),
                "MSR_rec": cell("MSR_rec", 3),
                "per-record F1 min / median": f"{np.nanmin(q):.4f} ({worst}) / {np.nanmedian(q):.4f}",
                "train min per fold": f"{folds_table['train_s'].mean() / 60:.1f}",
                **paired,
            }
        )
    return pd.DataFrame(rows)


def database_class_table(ws: paths.Workspace, names) -> pd.DataFrame:
    """One row per cross-validation of ``names`` and database: gross Se/PPV/F1 pooled over every test
    record of that database (each record was tested once), the mean and 95% t-interval of the fold's
    gross F1 on that database, the paired differences of the fold's F1, PPV and Se against the first name, the
    worst record, and the gross sensitivity of each beat class (n/a where the database has none)."""

    rows, reference = [], None
    for name in names:
        folds_table, records_table, _ = collect_pooled(ws, name)
        if "database" not in records_table:
            records_table = records_table.assign(database="all")
        for db, sub in records_table.groupby("database"):
            c = sub[["TP", "FP", "FN"]].sum()
            g = beats.figures(int(c.TP), int(c.FP), int(c.FN))
            col = f"gross_F1 [{db}]" if f"gross_F1 [{db}]" in folds_table else "gross_F1"
            m, lo, hi = t_interval(folds_table[col])
            worst = sub.loc[sub["F1"].idxmin()]
            row = {
                "model": name,
                "database": db,
                "records": len(sub),
                "beats": int(sub["n_ref"].sum()),
                "gross Se": g["Se"],
                "gross PPV": g["PPV"],
                "gross F1": g["F1"],
                "fold F1 mean [95% CI]": f"{m:.4f} [{max(lo, 0):.4f}, {min(hi, 1):.4f}]",
                "worst record F1": f"{worst['F1']:.4f} ({worst['record']})",
                "records F1 < 0.99": int((sub["F1"] < 0.99).sum()),
            }
            if reference is not None and name != reference[0]:
                for figure in ("F1", "PPV", "Se"):   # what a change gains or gives up, fold by fold
                    fold_col = f"gross_{figure} [{db}]" if f"gross_{figure} [{db}]" in folds_table else f"gross_{figure}"
                    if fold_col in reference[1] and fold_col in folds_table:
                        d, dlo, dhi = t_interval(folds_table[fold_col] - reference[1][fold_col])
                        row[f"{figure} - {reference[0]} (paired over folds)"] = f"{d:+.4f} [{dlo:+.4f}, {dhi:+.4f}]"
            for cls in REPORTED_CLASSES:
                if f"n_{cls}" in sub:
                    n = int(sub[f"n_{cls}"].sum())
                    row[f"Se_{cls}"] = float(sub[f"TP_{cls}"].sum() / n) if n else float("nan")
                    row[f"n_{cls}"] = n
            rows.append(row)
        if reference is None:
            reference = (name, folds_table)
    return pd.DataFrame(rows)
