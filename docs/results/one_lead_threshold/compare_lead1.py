"""RESULTS section Z: the second lead alone (lead 1: V1 on most mitdb records, ECG2 on svdb), scored as EC57
on the same 86 records and folds: the shipped recipe's fold models at the shipped threshold (0.2; seeds 42
and 1, detector only) against XQRS, GQRS, neurokit2 and sleepecg on the same lead. Gross Se, PPV, F1 per
database, records under F1 0.99, the worst record, and each one's gross F1 minus the model's, paired
over records (95% bootstrap, 2,000 resamples).

    python docs/results/one_lead_threshold/compare_lead1.py

Reads cv/<name>/records.csv (copied from the workspace's student_cv.py runs; commands.sh) and writes
compare_lead1.csv and compare_lead1.txt beside this script.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "noise_cv"))   # compare_noise, which finds Codes/

from compare_noise import against_references  # noqa: E402  (the noise study's helpers)

RUNS = {"model (seed 42)": "g-s-t02-leads1", "model (seed 1)": "g-s-s1-t02-leads1", "XQRS": "ec57-xqrs-leads1",
        "GQRS": "ec57-gqrs-leads1", "neurokit2": "ec57-neurokit-leads1", "sleepecg": "ec57-sleepecg-leads1"}


def main(argv=None) -> None:
    tables = {label: pd.read_csv(HERE / "cv" / run / "records.csv", dtype={"record": str}) for label, run in RUNS.items()}
    references = {f"F1 minus model (seed {seed})": f"model (seed {seed})" for seed in ("42", "1")}
    table = against_references(tables, references, np.random.default_rng(0), "model (seed 42)")
    table.to_csv(HERE / "compare_lead1.csv", index=False, float_format="%.4f")
    text = table.to_string(index=False, float_format=lambda v: f"{v:.4f}")
    print(text)
    (HERE / "compare_lead1.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
