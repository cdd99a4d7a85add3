"""RESULTS section W: the rule applied to the paired tables of the tuned class decision against v2 (both
seeds), the offsets each fold chose, and where the V beats went (pooled confusion counts).

    python docs/results/beat_classes_decision/check_rule.py [--dir docs/results/beat_classes_decision]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

FIGURES = ["gross VEB Se", "gross VEB +P", "gross SVEB Se", "gross SVEB +P"]
RUNS = {"42": ("decision", "learned_v2r"), "1": ("decision_s1", "learned_v2r_s1")}
BASE = Path(__file__).resolve().parents[1] / "beat_classes_on_time"     # where section U put v2's runs


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
