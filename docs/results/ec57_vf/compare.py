"""RESULTS section V: the shipped pair's cross-validation (detector at 0.2 + fold verifier, both seeds)
against the detectors people use, on the same 86 shared records, scored as EC57 (flutter left out):
gross Se, PPV, F1 per database, the worst record, records under F1 0.99, and the paired difference
in gross F1 (bootstrap over records, 2,000 resamples) of each detector minus the pair.

    python docs/results/ec57_vf/compare.py      # after rescore_cv.py and the verifier runs (commands.sh)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "Codes"))

from tsad.scoring.classes import detection_counts  # noqa: E402

HERE = Path(__file__).resolve().parent
PAIR = {"42": HERE / "verify" / "verify_t02_ec57", "1": HERE / "verify" / "verify_t02_ec57_s1"}
DETECTORS = {"detector alone at 0.2 (seed 42)": "g-a-t02", "detector alone at 0.2 (seed 1)": "g-a-s1-t02",
             "XQRS": "ec57-xqrs", "GQRS": "ec57-gqrs", "neurokit2": "ec57-neurokit", "sleepecg": "ec57-sleepecg"}
def pair_counts(folder: Path) -> pd.DataFrame:
    """Per record TP, FP, FN of the verifier's rows of a beat_classes_cv.py records.csv."""
    t = pd.read_csv(folder / "records.csv", dtype={"record": str})
    t = t[t["classifier"] == "verifier"]
    tp, fp, fn = detection_counts(t)[:, :3].T
    return pd.DataFrame({"database": t["database"], "record": t["record"], "TP": tp, "FP": fp, "FN": fn})


def f1(c: np.ndarray) -> np.ndarray:
    tp, fp, fn = c[..., 0], c[..., 1], c[..., 2]
    return 2 * tp / (2 * tp + fp + fn)


def main(argv=None) -> None:
    records = pd.read_csv(HERE / "rescored_records.csv", dtype={"record": str})
    tables = {f"shipped pair (seed {s})": pair_counts(folder) for s, folder in PAIR.items()}
    tables.update({label: records[records["cv"] == cv][["database", "record", "TP", "FP", "FN"]]
                   for label, cv in DETECTORS.items()})
    rng = np.random.default_rng(0)
    rows = []
    for db in ("mitdb", "svdb"):
        names = sorted(tables["shipped pair (seed 42)"].query("database == @db")["record"])
        boot = rng.integers(0, len(names), size=(2000, len(names)))
        counts = {k: t[t["database"] == db].set_index("record").loc[names, ["TP", "FP", "FN"]].to_numpy(float)
                  for k, t in tables.items()}
        for label, c in counts.items():
            per = f1(c)
            row = {"database": db, "detector": label, "records": len(names), "Se": c[:, 0].sum() / (c[:, 0] + c[:, 2]).sum(),
                   "PPV": c[:, 0].sum() / (c[:, 0] + c[:, 1]).sum(), "F1": f1(c.sum(0)), "false beats": int(c[:, 1].sum()),
                   "missed beats": int(c[:, 2].sum()), "worst record": f"{per.min():.4f} ({names[per.argmin()]})",
                   "records F1 < 0.99": int((per < 0.99).sum())}
            for seed in ("42", "1"):
                ref = counts[f"shipped pair (seed {seed})"]
                diff = f1(c[boot].sum(1)) - f1(ref[boot].sum(1))
                row[f"F1 minus pair (seed {seed})"] = (f"{f1(c.sum(0)) - f1(ref.sum(0)):+.4f} "
                                                       f"[{np.percentile(diff, 2.5):+.4f}, {np.percentile(diff, 97.5):+.4f}]")
            rows.append(row)
    out = pd.DataFrame(rows)
    out.to_csv(HERE / "compare.csv", index=False)
    text = out.to_string(index=False, float_format=lambda x: f"{x:.4f}")
    (HERE / "compare.txt").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
