"""RESULTS Q: the shipped model with and without its verifier on the shared records, from the detection
folders that commands.sh step 2 writes (evaluate_records.py's records.csv in each, detect.py's
detections.json). Prints a markdown summary: gross counts and figures per database, the per-class
sensitivity, the records where the verifier dropped most, and the detection speed.

    python docs/results/verifier_shipped/summarise.py W/det > docs/results/verifier_shipped/in_sample.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from tsad.experiments.evaluate import to_markdown

CLASSES = ("N", "S", "V", "F", "Q", "paced", "L", "R")


def gross(table: pd.DataFrame) -> dict:
    tp, fp, fn = (int(table[c].sum()) for c in ("TP", "FP", "FN"))
    se, ppv = tp / (tp + fn), tp / (tp + fp)
    row = {"beats": int(table["n_ref"].sum()), "TP": tp, "FP (false beats)": fp, "FN (missed)": fn,
           "Se": se, "PPV": ppv, "F1": 2 * se * ppv / (se + ppv)}
    for c in CLASSES:
        if f"n_{c}" in table and table[f"n_{c}"].sum() > 0:
            row[f"Se_{c}"] = table[f"TP_{c}"].sum() / table[f"n_{c}"].sum()
    return {k: f"{v:,}" if isinstance(v, int) else f"{v:.4f}" for k, v in row.items()}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("det", type=Path, help="the folder holding <db>-verified and <db>-unverified")
    args = p.parse_args(argv)
    print("# The shipped model with and without its verifier, on the shared records (its training records)\n")
    for db in ("mitdb", "svdb"):
        tables = {arm: pd.read_csv(args.det / f"{db}-{arm}" / "records.csv", dtype={"record": str})
                  for arm in ("unverified", "verified")}
        metas = {arm: json.loads((args.det / f"{db}-{arm}" / "detections.json").read_text())
                 for arm in tables}
        rows = pd.DataFrame({arm: gross(t) for arm, t in tables.items()})
        print(f"## {db} ({len(tables['verified'])} records)\n")
        print(to_markdown(rows.reset_index(names="figure")) + "\n")
        merged = tables["unverified"][["record", "FP", "FN", "F1"]].merge(
            tables["verified"][["record", "FP", "FN", "F1"]], on="record", suffixes=("", "_verified"))
        dropped = {r["record"]: r.get("dropped_by_verifier", 0) for r in metas["verified"]["records"]}
        merged["dropped"] = merged["record"].map(dropped)
        top = merged.sort_values("dropped", ascending=False).head(8)
        print("Records where it dropped most (false beats and missed beats without -> with):\n")
        print(to_markdown(top) + "\n")
        print(f"Records below F1 0.99: without {int((merged['F1'] < 0.99).sum())}, "
              f"with {int((merged['F1_verified'] < 0.99).sum())}; "
              f"speed: {metas['unverified']['real_time_factor']:,}x real time without, "
              f"{metas['verified']['real_time_factor']:,}x with (classes given in both)\n")


if __name__ == "__main__":
    main()
