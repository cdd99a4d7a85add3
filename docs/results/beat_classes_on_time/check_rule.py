"""RESULTS section U: the rule applied to the paired tables of the on-time template against v2 (both seeds),
and the V beats called S in the records of bigeminy and runs.

    python docs/results/beat_classes_on_time/check_rule.py [--dir docs/results/beat_classes_on_time]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "Codes"))

from tsad.experiments.beat_classes import eight_figure_rule  # noqa: E402

RECORDS = {"mitdb": ["106", "208", "223", "201", "207"], "svdb": ["841", "854", "881"]}
RUNS = {"42": ("on_time", "learned_v2r"), "1": ("on_time_s1", "learned_v2r_s1")}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dir", default=str(Path(__file__).resolve().parent), help="folder of the four runs' tables")
    args = p.parse_args(argv)
    root = Path(args.dir)
    lines, _ = eight_figure_rule({seed: pd.read_csv(root / arm / f"paired_against_{base}.csv")
                                  for seed, (arm, base) in RUNS.items()})
    lines.append("V beats called S (and V beats called V) per record, v2 -> on-time:")
    for seed, (arm, base) in RUNS.items():
        a, b = (pd.read_csv(root / x / "records.csv", dtype={"record": str}) for x in (arm, base))
        for db, names in RECORDS.items():
            for name in names:
                ra, rb = (x[(x["record"] == name) & (x["classifier"] == "learned")].iloc[0] for x in (a, b))
                lines.append(f"seed {seed} {db} {name}: V->S {rb['V_S']} -> {ra['V_S']}, V->V {rb['V_V']} -> {ra['V_V']} "
                             f"(of {int(rb[[c for c in rb.index if c.startswith('V_')]].sum())})")
    text = "\n".join(lines)
    print(text)
    (root / "check_rule.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
