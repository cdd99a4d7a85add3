"""RESULTS R's conditions (2) and (3): the guarded verifier against section P's on the same folds and
seeds (their unverified rows are the same beats), from the two studies' detection_paired.csv; condition
(1) is P's rule, printed by docs/results/verifier_keep_v/check_rule.py on the guarded tables.

    python docs/results/verifier_guard/compare_with_p.py docs/results/verifier_keep_v docs/results/verifier_guard
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

FIGURES = ("gross F1", "gross PPV", "gross Se_N", "gross Se_S", "gross Se_V")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("p_dir", type=Path, help="section P's folder (verify_keep_v, verify_keep_v_s1)")
    p.add_argument("r_dir", type=Path, help="section R's folder (verify_guard, verify_guard_s1)")
    args = p.parse_args(argv)
    pairs = [("verify_keep_v", "verify_guard"), ("verify_keep_v_s1", "verify_guard_s1")]
    verdict = True
    for db in ("mitdb", "svdb"):
        for figure in FIGURES:
            means = []
            for folder, pair in ((args.p_dir, 0), (args.r_dir, 1)):
                values = []
                for names in pairs:
                    t = pd.read_csv(folder / names[pair] / "detection_paired.csv")
                    row = t[(t.database == db) & (t.figure == figure) & (t.classifier == "verifier")].iloc[0]
                    values.append(row["other"])
                means.append(sum(values) / len(values))
            diff = means[1] - means[0]
            ok = True
            if figure == "gross Se_V":
                ok = diff >= 0                                           # condition (2)
            elif figure == "gross F1":
                ok = diff >= -0.0001                                     # condition (3)
            verdict &= ok
            print(f"{db} {figure}: P {means[0]:.5f}, R {means[1]:.5f}, R - P {diff:+.5f}"
                  + ("" if figure not in ("gross Se_V", "gross F1") else (" ok" if ok else " FAILS")))
    print("conditions (2) and (3):", "hold" if verdict else "fail")


if __name__ == "__main__":
    main()
