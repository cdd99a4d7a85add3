"""RESULTS section AG, "How far retraining moves the floors": the shipped recipe's pair (fold detectors at 0.2
and their verifier), clean, in every training of it measured on the same five folds: section Y's workspace
(seeds 42, 1), the rebuilt workspace of sections AE-AG (seeds 42, 1: the `verifier` rows of section AG's
runs, the same as AE's and AF's) and seeds 2 and 3 (this folder). Per database: gross F1 and PPV, the Se
of N, S and V beats (paced records left out, as EC57), the records under F1 0.99; then the mean over
the trainings with a 95% t interval, and the range. Writes spread.csv and spread.md.

    python docs/results/seed_spread/spread.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent
sys.path.insert(0, str(RESULTS / "noise_cv"))
sys.path.insert(0, str(RESULTS / "second_opinion"))

from check_rule import class_found, row_counts  # noqa: E402  (section AE's helpers)
from compare_noise import f1  # noqa: E402

from tsad.core.fileio import save_text  # noqa: E402  (on the path compare_noise set)

TRAININGS = {"Y, seed 42": RESULTS / "noise_cv" / "verify_s_t02",
             "Y, seed 1": RESULTS / "noise_cv" / "verify_s_t02_s1",
             "rebuilt, seed 42": RESULTS / "second_opinion_clean" / "verify_s_gqrs_clean",
             "rebuilt, seed 1": RESULTS / "second_opinion_clean" / "verify_s_gqrs_clean_s1",
             "rebuilt, seed 2": HERE / "verify_s_t02_s2",
             "rebuilt, seed 3": HERE / "verify_s_t02_s3"}
FIGURES = ("F1", "PPV", "Se N", "Se S", "Se V")


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(HERE), help="where spread.csv and spread.md go (default: this folder)")
    args = parser.parse_args(argv)
    rows = []
    for training, folder in TRAININGS.items():
        if not (folder / "records.csv").is_file():
            raise FileNotFoundError(f"{folder / 'records.csv'}: not found (docs/results/seed_spread/commands.sh makes it)")
        table = pd.read_csv(folder / "records.csv", dtype={"record": str})
        for database in ("mitdb", "svdb"):
            part = table[(table["classifier"] == "verifier") & (table["database"] == database)]
            counts = row_counts(part)
            tp, fp, fn = counts[["TP", "FP", "FN"]].sum().to_numpy(float)
            per_record = f1(counts[["TP", "FP", "FN"]].to_numpy(float))
            row = {"training": training, "database": database, "F1": f1(np.array([tp, fp, fn])),
                   "PPV": tp / (tp + fp), "false": int(fp), "missed": int(fn)}
            for beat_class in ("N", "S", "V"):
                found, total = class_found(part, beat_class)
                row[f"Se {beat_class}"] = found / total
                row[f"missed {beat_class}"] = total - found
            row["records < 0.99"] = " ".join(n for n, v in sorted(zip(counts["record"], per_record), key=lambda t: t[1])
                                             if v < 0.99)
            rows.append(row)
    table = pd.DataFrame(rows)
    lines = ["| training | database | F1 | PPV | false / missed | Se N | Se S | Se V (missed) | records < 0.99 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        lines.append(f"| {r['training']} | {r['database']} | {r['F1']:.4f} | {r['PPV']:.4f} | {r['false']} / "
                     f"{r['missed']} | {r['Se N']:.4f} | {r['Se S']:.4f} | {r['Se V']:.4f} ({r['missed V']}) | "
                     f"{r['records < 0.99'] or 'none'} |")
    lines.append("")
    for database in ("mitdb", "svdb"):
        part = table[table["database"] == database]
        cells = []
        for figure in FIGURES:
            v = part[figure].to_numpy(float)
            half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
            cells.append(f"{figure} {v.mean():.4f} [{v.mean() - half:.4f}, {v.mean() + half:.4f}] "
                         f"(range {v.min():.4f}-{v.max():.4f})")
        lines.append(f"{database}, mean over {len(part)} trainings [95% t interval]: " + "; ".join(cells))
    text = "\n".join(lines)
    print(text)
    out = Path(args.out)
    save_text(out / "spread.csv", table.to_csv(index=False))
    save_text(out / "spread.md", text + "\n")
    return table


if __name__ == "__main__":
    main()
