"""RESULTS section V: the detections of cross-validated detectors (student_cv.py folders) scored again,
with the reference's ventricular flutter episodes left out as EC57 does and counted as before, per
database: gross Se, PPV, F1 and false beats, pooled over every fold's test records, and the records
with detections inside flutter.

    python docs/results/ec57_vf/rescore_cv.py --cv W/cv/g-a-t02 W/cv/g-a-s1-t02 --input-dir ../shared/data/svdb ../shared/data/mitdb
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "Codes"))

from tsad.scoring import ec57  # noqa: E402


def rescore(cv: Path, inputs: list[Path], count_vf: bool) -> pd.DataFrame:
    tables = []
    for fold in sorted(cv.glob("fold*/detections")):
        for folder in inputs:
            names = [p.stem for p in fold.glob("*.tsad") if (folder / f"{p.stem}.hea").is_file()]
            if names:
                t = ec57.score_folder(fold, folder, "tsad", records=sorted(names), count_vf=count_vf)
                tables.append(t.assign(database=folder.name, fold=fold.parent.name))
    return pd.concat(tables, ignore_index=True)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--cv", nargs="+", required=True, help="student_cv.py folders")
    p.add_argument("--input-dir", nargs="+", required=True, help="the record folders (one per database)")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent), help="where rescored.csv goes")
    args = p.parse_args(argv)
    rows, per_record = [], []
    for cv in map(Path, args.cv):
        for count_vf in (True, False):
            t = rescore(cv, [Path(d) for d in args.input_dir], count_vf)
            scoring = "VF counted (before)" if count_vf else "EC57 (VF left out)"
            for db, g in t.groupby("database"):
                tp, fp, fn = (int(g[c].sum()) for c in ("TP", "FP", "FN"))
                rows.append({"cv": cv.name, "scoring": scoring, "database": db, "records": len(g), "TP": tp,
                             "FP": fp, "FN": fn, "Se": tp / (tp + fn), "PPV": tp / (tp + fp),
                             "F1": 2 * tp / (2 * tp + fp + fn), "min record F1": g["F1"].min(),
                             "det_in_vf": int(g["det_in_vf"].sum()) if "det_in_vf" in g else 0})
            if not count_vf:
                per_record.append(t.assign(cv=cv.name))
    out = pd.DataFrame(rows)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    out.to_csv(Path(args.out) / "rescored.csv", index=False)
    records = pd.concat(per_record)
    records[["cv", "fold", "database", "record", "n_ref", "n_det", "TP", "FP", "FN", "F1", "det_in_vf"]].to_csv(
        Path(args.out) / "rescored_records.csv", index=False)
    print(out.to_string(index=False, float_format=lambda x: f"{x:.4f}"))


if __name__ == "__main__":
    main()
