"""The rule of docs/RESULTS.md section N's third attempt (and section P), checked on two seeds'
detection_paired.csv (beat_classes_cv.py --classifiers verifier ... --test-snr 6 0):

    python docs/results/verifier_keep_v/check_rule.py docs/results/verifier_keep_v/verify_keep_v \
        docs/results/verifier_keep_v/verify_keep_v_s1

(1) at 6 dB and at 0 dB, gross F1 rises on both databases with 95% intervals above 0, with both
seeds; (2) on the clean detections, the mean over the seeds of gross F1 does not fall on either
database, and the mean Se of N and V beats is >= 0.995 and of S beats >= 0.99 (where the unverified
detections are already under a floor, no lower than they). Prints each figure and the verdict.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

FLOORS = {"gross Se_N": 0.995, "gross Se_V": 0.995, "gross Se_S": 0.99}


def main(argv=None) -> bool:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("studies", nargs=2, type=Path, help="the two seeds' study folders (detection_paired.csv)")
    args = p.parse_args(argv)
    tables = [pd.read_csv(folder / "detection_paired.csv") for folder in args.studies]
    ok = True
    print("(1) F1 under noise, verifier minus unverified, 95% interval, per seed")
    for snr in ("6dB", "0dB"):
        for database in ("mitdb", "svdb"):
            cells = []
            for table in tables:
                row = table[(table["classifier"] == f"verifier@{snr}") & (table["database"] == database)
                            & (table["figure"] == "gross F1")].iloc[0]
                ok &= bool(row["ci_low"] > 0)
                cells.append(f"{row['reference']:.4f} -> {row['other']:.4f}, {row['difference']:+.4f} "
                             f"[{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]")
            print(f"  {database} {snr}: " + " | ".join(cells))
    print("(2) clean detections, mean over the seeds (unverified -> verifier)")
    for database in ("mitdb", "svdb"):
        rows = [t[(t["classifier"] == "verifier") & (t["database"] == database)].set_index("figure") for t in tables]
        for figure in ("gross F1", *FLOORS):
            before = sum(r.loc[figure, "reference"] for r in rows) / len(rows)
            after = sum(r.loc[figure, "other"] for r in rows) / len(rows)
            if figure == "gross F1":
                good = after >= before
            else:
                good = after >= min(FLOORS[figure], before)
            ok &= bool(good)
            per_seed = ", ".join(f"{r.loc[figure, 'reference']:.4f} -> {r.loc[figure, 'other']:.4f}" for r in rows)
            print(f"  {database} {figure}: {before:.4f} -> {after:.4f} ({per_seed}) {'ok' if good else 'FAILS'}")
    print("verdict:", "kept" if ok else "not kept")
    return ok


if __name__ == "__main__":
    main()
