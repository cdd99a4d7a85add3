"""Score whole-record detections beat by beat at 150 ms, per record, gross and average (EC57 / bxb).

    python Codes/Inference/evaluate_records.py --detections W/detections/LSTM_train --input-dir PATH/svdb
    python Codes/Inference/evaluate_records.py --detections W/detections/LSTM_train W/detections/xqrs \
        --input-dir PATH/svdb --skip-learning --out W/detections/comparison

Every detection file <record>.<ext> of a folder is matched one-to-one to the record's reference
beats (<record>.atr, beat annotations only) within 150 ms, in the record's own sample numbers.
Writes into each detection folder records.csv (record, n_ref, n_det, TP, FP, FN, Se, PPV, F1,
median absolute timing error and signed offset in ms, share of matched beats within +-2 samples
at 128 Hz; the sensitivity per beat class: n_<c>, TP_<c>, Se_<c> for the AAMI classes N S V F Q
and for paced, L and R beats, Se_<c> empty (n/a) where the record has no beat of the class; and
`implausible` / `warnings`: the records whose detections are implausible for a heart, as detect.py
found them or, for a folder it did not check, as found here, also shown as `warning:` lines with
the run's own training warnings) and summary.csv / summary.md (gross = pooled counts, average =
mean over records, each with a 95% bootstrap interval over records; gross Se_<c> per class). With
several folders, --out gets comparison.csv, comparison.md and comparison.png (per-record F1,
timing-error histogram); only records that every folder detected are compared, and the per-class
gross Se is a column of the comparison too.

As EC57 (PhysioNet bxb), nothing inside a ventricular flutter or fibrillation episode of the reference
([ ... ]) is scored; records.csv's det_in_vf counts the detections there, and --count-vf scores them
as false beats (this project's tables before 2026-12-04: docs/RESULTS.md, section V).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tsad.core.common import make_parser, seed_everything, setup_logging
from tsad.core.errors import run_cli, warn
from tsad.core.fileio import save_text
from tsad.core.paths import Workspace
from tsad.detection import folders, plausibility
from tsad.detection.folders import DEFAULT_EXT, DETECTIONS_DIR, DETECTIONS_META
from tsad.detection.plausibility import IMPLAUSIBLE_COLUMN, WARNINGS_COLUMN
from tsad.experiments.crossval import t_interval
from tsad.experiments.evaluate import to_markdown
from tsad.scoring import beats, ec57
from tsad.scoring.classes import pooled_confusion, summarise_classes
from tsad.scoring.ec57 import EC57_LEARNING_PERIOD_S


def parse_args(argv=None):
    p = make_parser(__doc__)
    p.add_argument("--detections", nargs="+", required=True, metavar="DIR",
                   help="detection folder(s) written by detect.py, one per model: a path, or the run name it was "
                        "filed under in the workspace (pretrained: <workspace>/detections/pretrained)")
    p.add_argument("--input-dir", required=True, help="folder of the WFDB records with their reference annotations")
    p.add_argument("--ext", default=DEFAULT_EXT, help="extension of the detection annotation files")
    p.add_argument("--annotator", default="atr", help="extension of the reference annotation files")
    p.add_argument("--skip-learning", action="store_true",
                   help=f"leave out the first {EC57_LEARNING_PERIOD_S:g} s of each record (EC57's learning period)")
    p.add_argument("--count-vf", action="store_true",
                   help="score detections inside the reference's ventricular flutter or fibrillation episodes "
                        "([ ... ]) as false beats (EC57 does not score them)")
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples of the records for the intervals")
    p.add_argument("--as-folds", action="store_true",
                   help="the folders are one method's fold models (student_cv.py): add their mean and 95%% "
                        "t-interval to the comparison")
    p.add_argument("--out", default=None, help="folder for the comparison of several detection folders "
                                               "(default: <parent of the first>/comparison)")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    from tsad.scoring.plots import records_comparison_figure, save_figure

    args = parse_args(argv)
    setup_logging()
    seed_everything(args.seed)
    skip = ec57.EC57_LEARNING_PERIOD_S if args.skip_learning else 0.0
    tables, summaries, errors = {}, {}, {}
    ws = Workspace.from_arg(args.workspace)
    for folder in (find_detections(d, ws) for d in args.detections):
        errs: dict = {}
        table = ec57.score_folder(folder, args.input_dir, args.ext, skip_s=skip, annotator=args.annotator,
                                  errors=errs, count_vf=args.count_vf)
        meta = folders.read_detection_meta(folder)
        # detect.py checked its records for a heart's plausibility; another folder's are checked here
        warned = folders.record_warnings(meta)
        unchecked = [r for r in table["record"].astype(str) if r not in warned]
        warned.update(folders.check_detections(folder, args.input_dir, unchecked, args.ext))
        table = plausibility.mark_implausible(table, warned)
        _warn_about(folder, meta, table, args.ext)
        summary = ec57.summarise(table, n_boot=args.bootstrap, seed=args.seed)
        confusion = None
        if "paced" in table and not table["paced"].all():   # the classes, as EC57 scores them
            summary = pd.concat([summary, summarise_classes(table, n_boot=args.bootstrap, seed=args.seed)],
                                ignore_index=True)
            confusion = pooled_confusion(table)
            save_text(folder / "confusion.csv", confusion.to_csv(index_label="reference"))
        save_text(folder / "records.csv", table.to_csv(index=False))
        save_text(folder / "summary.csv", summary.to_csv(index=False))
        classes = "" if confusion is None else (
            f"Beat classes (paced records left out): reference class x detected class\n\n"
            f"{to_markdown(confusion.reset_index(names='reference'))}\n\n")
        save_text(folder / "summary.md", f"# {folder.name}: {len(table)} records at 150 ms"
                  f"{' (first 5 min left out)' if skip else ''}"
                  f"{', detections in VF episodes scored as false' if args.count_vf else ''}"
                  f"\n\n{to_markdown(summary)}\n\n{classes}"
                  f"{to_markdown(table)}\n")
        name = folder.name if folder.name not in tables else str(folder)
        tables[name], summaries[name], errors[name] = table, summary, errs
        written = [folder / n for n in ("records.csv", "summary.csv", "summary.md", "confusion.csv")
                   if n != "confusion.csv" or confusion is not None]
        print(f"\n## {folder}\n{to_markdown(compact(table))}\n\n{to_markdown(headline(summary))}\n"
              f"every column and the intervals: {', '.join(map(str, written))}")
        flagged = table.loc[table[plausibility.IMPLAUSIBLE_COLUMN], "record"].astype(str).tolist()
        if flagged:
            print(f"implausible detections in {len(flagged)} of {len(table)} record(s): "
                  f"{', '.join(flagged)}: their figures score a detector that failed there")
    result = {"tables": tables, "summaries": summaries}
    if len(tables) > 1:
        common = set.intersection(*(set(t["record"].astype(str)) for t in tables.values()))
        if not common:
            raise beats.ScoringError("the detection folders share no record: nothing to compare")
        out = Path(args.out) if args.out else find_detections(args.detections[0], ws).parent / "comparison"
        rows = []
        for name, table in tables.items():
            sub = table[table["record"].astype(str).isin(common)]
            s = ec57.summarise(sub, n_boot=args.bootstrap, seed=args.seed).set_index("figure")
            rows.append({"model": name, "records": len(sub),
                         **{f: s.loc[f, "value"] for f in s.index},
                         "gross F1 95% CI": f"{s.loc['gross F1', 'ci_low']:.4f}-{s.loc['gross F1', 'ci_high']:.4f}"})
        comparison = pd.DataFrame(rows)
        if args.as_folds:
            comparison = pd.concat([comparison, _mean_over_folds(comparison)], ignore_index=True)
        save_text(out / "comparison.csv", comparison.to_csv(index=False))
        save_text(out / "comparison.md", to_markdown(comparison) + "\n")
        sub_tables = {n: t[t["record"].astype(str).isin(common)] for n, t in tables.items()}
        sub_errors = {n: np.concatenate([e[r] for r in sorted(common)] or [np.zeros(0)])
                      for n, e in errors.items()}
        save_figure(records_comparison_figure(sub_tables, sub_errors), out / "comparison.png")
        print(f"\n## comparison ({len(common)} records)\n{to_markdown(comparison)}\n"
              f"written: {out / 'comparison.csv'}, {out / 'comparison.md'}, {out / 'comparison.png'}")
        result["comparison"] = comparison
    return result


COMPACT_COLUMNS = {"record": "record", "n_ref": "beats", "TP": "TP", "FP": "FP", "FN": "FN", "Se": "Se",
                   "PPV": "PPV", "F1": "F1"}
HEADLINE = ("gross Se", "gross PPV", "gross F1", "average Se", "average PPV", "average F1",
            "gross VEB Se", "gross VEB +P", "gross SVEB Se", "gross SVEB +P")


def compact(table):
    """The per-record table as the terminal shows it: record, beats, TP, FP, FN, Se, PPV, F1 (and
    which records are implausible); records.csv has every column."""
    shown = table[[c for c in COMPACT_COLUMNS if c in table]].rename(columns=COMPACT_COLUMNS)
    if table[IMPLAUSIBLE_COLUMN].any():
        shown = shown.assign(implausible=table[IMPLAUSIBLE_COLUMN].map({True: "yes", False: ""}))
    return shown


def headline(summary):
    """The gross and average Se, PPV and F1 of a summary with their 95% intervals."""
    return summary[summary["figure"].isin(HEADLINE)]


def find_detections(name, ws: Workspace) -> Path:
    """A detection folder named by path (from the current folder) or by run name: tried as given,
    then under the workspace's detections/ and the workspace itself, as ``detect.py`` files them.

    Raises
    ------
    ScoringError
        None of these is a folder; the message lists where it looked.
    """
    tried = [Path(name).expanduser(), ws.root / DETECTIONS_DIR / str(name), ws.root / str(name)]
    for folder in tried:
        if folder.is_dir():
            return folder
    raise beats.ScoringError(f"{name}: detection folder not found (looked in {', '.join(map(str, tried))}); "
                             f"give its path or the run name detect.py filed it under")


def _warn_about(folder: Path, meta: dict, table, ext: str) -> None:
    """``warning:`` lines for what detect.py found doubtful in the folder: the run's training
    warnings and each implausible record, so that a poor score never comes without its reason."""

    for message in meta.get("run_warnings") or []:
        warn(f"{folder / DETECTIONS_META}: the run {meta.get('run', folder.name)} was tuned with a warning: "
             f"{message}")
    for _, row in table[table[IMPLAUSIBLE_COLUMN]].iterrows():
        warn(f"{folder / (str(row['record']) + '.' + ext)}: implausible detection: {row[WARNINGS_COLUMN]}")


def _mean_over_folds(comparison):
    """A row with the mean and the 95% Student-t interval of each figure over the fold models."""
    row = {"model": f"mean [95% interval] over {len(comparison)} fold models", "records": comparison["records"].iloc[0]}
    for col in comparison.columns:
        if col in row or not pd.api.types.is_numeric_dtype(comparison[col]):
            continue
        m, lo, hi = t_interval(comparison[col])
        row[col] = f"{m:.4f} [{lo:.4f}, {hi:.4f}]"
    return pd.DataFrame([row])


if __name__ == "__main__":   # python -m tsad.cli.evaluate_records
    run_cli(main)
