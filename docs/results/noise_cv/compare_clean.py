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

from compare_noise import against_references, pair_counts  # noqa: E402  (beside this script)

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
    references = {f"F1 minus noise-stress pair (seed {seed})": f"noise-stress pair (seed {seed})" for seed in ("42", "1")}
    table = against_references(tables, references, np.random.default_rng(0), "noise-stress pair (seed 42)")
    table.to_csv(HERE / "compare_clean.csv", index=False, float_format="%.4f")
    text = table.to_string(index=False, float_format=lambda v: f"{v:.4f}")
    print(text)
    (HERE / "compare_clean.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
