"""RESULTS section AA: the rule applied to the sequence classifier minus v2 on the same folds (paired.csv
of each seed's run), the check that v2's rows are section U's rerun, and the SVEB beats of the records
where section F found SVEB failing, per classifier.

    python docs/results/beat_classes_sequence/check_rule.py [--dir docs/results/beat_classes_sequence]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "Codes"))

from tsad.experiments.beat_classes import LEARNED, SEQUENCE, eight_figure_rule  # noqa: E402

RUNS = {"42": "sequence", "1": "sequence_s1"}
# section F: SVEB runs called N (svdb 865, 821, 881, 823; mitdb 209) and irregular rhythms (svdb 867, 804; mitdb 203)
SVEB_RECORDS = ("865", "821", "881", "823", "209", "867", "804", "203")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dir", default=str(Path(__file__).resolve().parent), help="folder of the two runs' tables")
    args = p.parse_args(argv)
    root = Path(args.dir)
    lines = ["the sequence classifier minus v2 (the same runs, folds and records)", ""]
    tables = {}
    for seed, run in RUNS.items():
        t = pd.read_csv(root / run / "paired.csv")
        tables[seed] = t[(t["classifier"] == SEQUENCE) & (t["reference_classifier"] == LEARNED)]
    lines += eight_figure_rule(tables)[0]
    lines.append("v2 here against section U's rerun (the same code path: every difference should be 0):")
    for seed, run in RUNS.items():
        versus = next((root / run).glob("paired_against_*.csv"))
        t = pd.read_csv(versus)
        t = t[t["classifier"] == LEARNED]
        lines.append(f"seed {seed}: largest |difference| {t['difference'].abs().max():.4f} ({versus.name})")
    lines += ["", "SVEB beats (S -> S of all S, and N called S) per record, v2 / sequence:"]
    for seed, run in RUNS.items():
        a = pd.read_csv(root / run / "records.csv", dtype={"record": str})
        for record in SVEB_RECORDS:
            cells = []
            for name in (LEARNED, SEQUENCE):
                row = a[(a["classifier"] == name) & (a["record"] == record)].iloc[0]
                total = int(row[[f"S_{c}" for c in "NSVFQ"]].sum() + row["S_missed"])
                cells.append(f"{name} {int(row['S_S'])}/{total}, N->S {int(row['N_S'])}")
            lines.append(f"seed {seed} record {record}: " + "; ".join(cells))
    text = "\n".join(lines)
    print(text)
    (root / "check_rule.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
