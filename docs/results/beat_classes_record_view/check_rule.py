"""RESULTS section X: the rule applied twice to the paired tables against v2 on labels (both seeds):
the teacher that reads the record's view (its premise) and its student (distillation pays); then the
SVEB beats of the records where section F found SVEB failing, per classifier.

    python docs/results/beat_classes_record_view/check_rule.py [--dir docs/results/beat_classes_record_view]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "Codes"))

from tsad.experiments.beat_classes import LEARNED, TEACHER, eight_figure_rule  # noqa: E402

RUNS = {"42": ("record_kd", "learned_v2r"), "1": ("record_kd_s1", "learned_v2r_s1")}
BASE = Path(__file__).resolve().parents[1] / "beat_classes_on_time"     # where section U put v2's runs
# section F: SVEB runs called N (svdb 865, 821, 881, 823; mitdb 209) and irregular rhythms (svdb 867, 804; mitdb 203)
SVEB_RECORDS = ("865", "821", "881", "823", "209", "867", "804", "203")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dir", default=str(Path(__file__).resolve().parent), help="folder of the two runs' tables")
    args = p.parse_args(argv)
    root = Path(args.dir)
    lines = []
    for classifier, what in ((TEACHER, "1. the premise: the teacher (record's view) minus v2 on labels"),
                             (LEARNED, "2. distillation pays: the student minus v2 on labels")):
        lines += [what, ""]
        tables = {}
        for seed, (arm, base) in RUNS.items():
            t = pd.read_csv(root / arm / f"paired_against_{base}.csv")
            tables[seed] = t[t["classifier"] == classifier]
        lines += eight_figure_rule(tables)[0]
    lines.append("SVEB beats (S -> S of all S, and N called S) per record, v2 / teacher / student:")
    for seed, (arm, base) in RUNS.items():
        a = pd.read_csv(root / arm / "records.csv", dtype={"record": str})
        b = pd.read_csv(BASE / base / "records.csv", dtype={"record": str})
        arms = {"v2": b[b["classifier"] == LEARNED], "teacher": a[a["classifier"] == TEACHER],
                "student": a[a["classifier"] == LEARNED]}
        for record in SVEB_RECORDS:
            cells = []
            for name, t in arms.items():
                row = t[t["record"] == record].iloc[0]
                found = int(row["S_S"])
                total = int(row[[f"S_{c}" for c in "NSVFQ"]].sum() + row["S_missed"])
                cells.append(f"{name} {found}/{total}, N->S {int(row['N_S'])}")
            lines.append(f"seed {seed} record {record}: " + "; ".join(cells))
    text = "\n".join(lines)
    print(text)
    (root / "check_rule.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
