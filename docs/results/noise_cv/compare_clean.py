"""RESULTS section Y: the noise-stress pair on clean records (its cross-validation, both seeds, scored as
EC57) against the shipped pair it replaces (section V) and the detectors people use (section V's runs
on the same folds): gross Se, PPV, F1 per database, records under F1 0.99, and each one's gross F1
minus the noise-stress pair's, paired over records (95% bootstrap, 2,000 resamples).

    python docs/results/noise_cv/compare_clean.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))   # compare_noise, which finds Codes/

from compare_noise import f1, gross_row, pair_counts, paired_f1  # noqa: E402  (beside this script)

HERE = Path(__file__).resolve().parent
V = HERE.parent / "ec57_vf"
PAIRS = {"noise-stress pair (seed 42)": HERE / "verify_s_t02", "noise-stress pair (seed 1)": HERE / "verify_s_t02_s1",
         "shipped pair before (seed 42)": V / "verify/verify_t02_ec57",
         "shipped pair before (seed 1)": V / "verify/verify_t02_ec57_s1"}
DETECTORS = {"XQRS": "ec57-xqrs", "GQRS": "ec57-gqrs", "neurokit2": "ec57-neurokit", "sleepecg": "ec57-sleepecg"}


def main() -> None:
    records = pd.read_csv(V / "rescored_records.csv", dtype={"record": str})
    tables = {label: pair_counts(folder, "verifier") for label, folder in PAIRS.items()}
    tables.update({label: records[records["cv"] == cv][["database", "record", "TP", "FP", "FN"]]
                   for label, cv in DETECTORS.items()})
    rng = np.random.default_rng(0)
    rows = []
    for db in ("mitdb", "svdb"):
        names = sorted(tables["noise-stress pair (seed 42)"].query("database == @db")["record"])
        boot = rng.integers(0, len(names), size=(2000, len(names)))
        counts = {k: t[t["database"] == db].set_index("record").loc[names, ["TP", "FP", "FN"]].to_numpy(float)
                  for k, t in tables.items()}
        for label, c in counts.items():
            row = {"database": db, "detector": label, **gross_row(c, names), "records F1 < 0.99": int((f1(c) < 0.99).sum())}
            for seed in ("42", "1"):
                row[f"F1 minus noise-stress pair (seed {seed})"] = paired_f1(c, counts[f"noise-stress pair (seed {seed})"], boot)
            rows.append(row)
    table = pd.DataFrame(rows)
    table.to_csv(HERE / "compare_clean.csv", index=False, float_format="%.4f")
    text = table.to_string(index=False, float_format=lambda v: f"{v:.4f}")
    print(text)
    (HERE / "compare_clean.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
