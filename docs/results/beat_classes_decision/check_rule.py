"""RESULTS section W: the rule applied to the paired tables of the tuned class decision against v2 (both
seeds), the offsets each fold chose, and where the V beats went (pooled confusion counts).

    python docs/results/beat_classes_decision/check_rule.py [--dir docs/results/beat_classes_decision]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "Codes"))

from tsad.experiments.beat_classes import eight_figure_rule  # noqa: E402

RUNS = {"42": ("decision", "learned_v2r"), "1": ("decision_s1", "learned_v2r_s1")}
BASE = Path(__file__).resolve().parents[1] / "beat_classes_on_time"     # where section U put v2's runs


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dir", default=str(Path(__file__).resolve().parent), help="folder of the four runs' tables")
    args = p.parse_args(argv)
    root = Path(args.dir)
    lines, _ = eight_figure_rule({seed: pd.read_csv(root / arm / f"paired_against_{base}.csv")
                                  for seed, (arm, base) in RUNS.items()})
    lines.append("V beats by the class they were given, pooled per database (v2 -> tuned), and the offsets chosen:")
    for seed, (arm, base) in RUNS.items():
        a = pd.read_csv(root / arm / "records.csv", dtype={"record": str})
        b = pd.read_csv(BASE / base / "records.csv", dtype={"record": str})
        a, b = a[a["classifier"] == "learned"], b[b["classifier"] == "learned"]
        for db in ("mitdb", "svdb"):
            ra, rb = a[(a["database"] == db) & ~a["paced"]], b[(b["database"] == db) & ~b["paced"]]
            moved = ", ".join(f"V->{c} {int(rb[f'V_{c}'].sum())} -> {int(ra[f'V_{c}'].sum())}" for c in "NSVFQ")
            lines.append(f"seed {seed} {db}: {moved}; F given {int(rb[[f'{c}_F' for c in 'NSVFQ']].sum().sum())} -> "
                         f"{int(ra[[f'{c}_F' for c in 'NSVFQ']].sum().sum())}")
        chosen = a.groupby("fold")[["offset_S", "offset_V", "offset_F", "validation_ectopic_f1"]].first()
        lines.append(f"seed {seed} offsets per fold:\n{chosen.to_string()}")
    text = "\n".join(lines)
    print(text)
    (root / "check_rule.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
