"""RESULTS section V: the shipped pair's cross-validation (section T's runs: detector at 0.2 and fold
verifiers) scored as EC57 (flutter left out) beside section T's tables (flutter counted): gross Se, PPV,
F1, false and missed beats per database, per seed, and the records with the most false beats.

    python docs/results/ec57_vf/verify_summary.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "Codes"))

from tsad.scoring.classes import detection_counts  # noqa: E402

HERE = Path(__file__).resolve().parent
RUNS = {"EC57 (VF left out)": (HERE / "verify" / "verify_t02_ec57", HERE / "verify" / "verify_t02_ec57_s1"),
        "VF counted (section T)": (HERE.parent / "verifier_t02" / "verify_t02", HERE.parent / "verifier_t02" / "verify_t02_s1")}
def counts(table: pd.DataFrame) -> dict:
    """Gross TP, FP, FN (tsad.scoring.classes.detection_counts) and Se, PPV, F1 of a class table's rows."""
    tp, fp, fn = (int(v) for v in detection_counts(table)[:, :3].sum(axis=0))
    return {"TP": tp, "FP": fp, "FN": fn, "Se": tp / (tp + fn), "PPV": tp / (tp + fp),
            "F1": 2 * tp / (2 * tp + fp + fn)}


def main(argv=None) -> None:
    rows, worst = [], []
    for scoring, folders in RUNS.items():
        for seed, folder in zip(("42", "1"), folders):
            t = pd.read_csv(folder / "records.csv", dtype={"record": str})
            for label in ("unverified", "verifier"):
                for db, g in t[t["classifier"] == label].groupby("database"):
                    c = counts(g)
                    per = g.apply(lambda r: counts(pd.DataFrame([r]))["F1"], axis=1)
                    rows.append({"scoring": scoring, "seed": seed, "detections": label, "database": db,
                                 "records": len(g), **c, "min record F1": per.min(),
                                 "worst record": g.loc[per.idxmin(), "record"]})
                    if scoring.startswith("EC57") and label == "verifier":
                        g = g.assign(extra=detection_counts(g)[:, 1].astype(int), F1=per)
                        worst += [g.nlargest(6, "extra")[["database", "record", "extra", "F1"]].assign(seed=seed)]
    out = pd.DataFrame(rows)
    out.to_csv(HERE / "verify_summary.csv", index=False)
    mean = out.groupby(["scoring", "detections", "database"])[["FP", "FN", "Se", "PPV", "F1", "min record F1"]].mean()
    text = (out.to_string(index=False, float_format=lambda x: f"{x:.4f}") + "\n\nmean over the seeds:\n"
            + mean.to_string(float_format=lambda x: f"{x:.4f}") + "\n\nmost false beats (EC57, with the verifier):\n"
            + pd.concat(worst).to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    (HERE / "verify_summary.txt").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
