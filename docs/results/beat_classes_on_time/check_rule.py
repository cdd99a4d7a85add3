"""RESULTS section U: the rule applied to the paired tables of the on-time template against v2 (both seeds),
and the V beats called S in the records of bigeminy and runs.

    python docs/results/beat_classes_on_time/check_rule.py [--dir docs/results/beat_classes_on_time]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

FIGURES = ["gross VEB Se", "gross VEB +P", "gross SVEB Se", "gross SVEB +P"]
RECORDS = {"mitdb": ["106", "208", "223", "201", "207"], "svdb": ["841", "854", "881"]}
RUNS = {"42": ("on_time", "learned_v2r"), "1": ("on_time_s1", "learned_v2r_s1")}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dir", default=str(Path(__file__).resolve().parent), help="folder of the four runs' tables")
    args = p.parse_args(argv)
    root = Path(args.dir)
    rows = []
    for seed, (arm, base) in RUNS.items():
        t = pd.read_csv(root / arm / f"paired_against_{base}.csv")
        t = t[t["figure"].isin(FIGURES)].assign(seed=seed)
        rows.append(t)
    t = pd.concat(rows)
    wide = t.pivot_table(index=["database", "figure"], columns="seed",
                         values=["difference", "ci_low", "ci_high"]).sort_index()
    mean = wide["difference"].mean(axis=1)
    lines = ["figure | seed 42 | seed 1 | mean", "---|---|---|---"]
    for (db, fig), m in mean.items():
        cells = [f"{wide.loc[(db, fig), ('difference', s)]:+.3f} [{wide.loc[(db, fig), ('ci_low', s)]:+.3f}, "
                 f"{wide.loc[(db, fig), ('ci_high', s)]:+.3f}]" for s in ("42", "1")]
        lines.append(f"{db} {fig} | {cells[0]} | {cells[1]} | {m:+.3f}")
    at_least = int((mean >= 0).sum())
    worst = float(mean.min())
    veb = [(db, fig) for db, fig in mean.index if "VEB" in fig and "SVEB" not in fig]
    above = [k for k in veb if all(wide.loc[k, ("ci_low", s)] > 0 for s in ("42", "1"))]
    ok = at_least >= 6 and worst >= -0.02 and bool(above)
    lines += ["", f"(1) means >= 0: {at_least} of 8 (six needed)", f"(2) worst mean: {worst:+.3f} (-0.02 allowed)",
              f"(3) VEB figures with both intervals above 0: {above or 'none'}", f"kept: {ok}", ""]
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
