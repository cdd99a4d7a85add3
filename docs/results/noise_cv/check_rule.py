"""RESULTS section Y, part 2: the rule applied to the noise-stress pair (verify_s_t02, _s1) against the
shipped pair (section T's verify_t02 and _s1 under noise; section V's verify_t02_ec57 and _s1 clean,
scored as EC57): gross Se, PPV, F1 and the Se of N, S and V beats per database and condition, the
paired difference over records (95% bootstrap, 2,000 resamples) per seed, its mean over the seeds,
and the verdict. Under noise mitdb 207 is left out (section T counted flutter; compare_noise.py).

    python docs/results/noise_cv/check_rule.py [--runs DIR]   # DIR holds verify_s_t02 and verify_s_t02_s1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "Codes"))

from tsad.scoring.classes import detection_counts  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent
SHIPPED = {"42": {"clean": RESULTS / "ec57_vf/verify/verify_t02_ec57", "noise": RESULTS / "verifier_t02/verify_t02"},
           "1": {"clean": RESULTS / "ec57_vf/verify/verify_t02_ec57_s1", "noise": RESULTS / "verifier_t02/verify_t02_s1"}}
STRESS = {"42": "verify_s_t02", "1": "verify_s_t02_s1"}
CONDITIONS = {"clean": "verifier", "6 dB": "verifier@6dB", "0 dB": "verifier@0dB"}
FIGURES = ("Se", "PPV", "F1", "Se N", "Se S", "Se V")


def counts(folder: Path, row: str, db: str, leave_out: tuple) -> pd.DataFrame:
    t = pd.read_csv(folder / "records.csv", dtype={"record": str})
    t = t[(t["classifier"] == row) & (t["database"] == db) & ~t["record"].isin(leave_out)].sort_values("record")
    return pd.DataFrame(detection_counts(t), index=t["record"].to_numpy())


def figures(c: np.ndarray) -> np.ndarray:
    """(..., 9) summed detection counts -> (..., 6) FIGURES."""
    tp, fp, fn = c[..., 0], c[..., 1], c[..., 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        per = [1 - c[..., 4 + 2 * k] / c[..., 3 + 2 * k] for k in range(3)]
        return np.stack([tp / (tp + fn), tp / (tp + fp), 2 * tp / (2 * tp + fp + fn), *per], axis=-1)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--runs", default=str(HERE), help="folder holding the noise-stress pair's two runs")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = []
    for seed, arm in STRESS.items():
        for condition, row in CONDITIONS.items():
            source = SHIPPED[seed]["clean" if condition == "clean" else "noise"]
            leave_out = () if condition == "clean" else ("207",)
            for db in ("mitdb", "svdb"):
                a = counts(source, row, db, leave_out)
                b = counts(Path(args.runs) / arm, row, db, leave_out)
                if list(a.index) != list(b.index):
                    raise ValueError(f"{arm}, {condition}, {db}: not the same records as the shipped pair's")
                a, b = a.to_numpy(float), b.to_numpy(float)
                boot = rng.integers(0, len(a), size=(2000, len(a)))
                diff = figures(b[boot].sum(1)) - figures(a[boot].sum(1))
                lo, hi = np.nanpercentile(diff, [2.5, 97.5], axis=0)
                for k, name in enumerate(FIGURES):
                    rows.append({"seed": seed, "condition": condition, "database": db, "figure": name,
                                 "shipped": figures(a.sum(0))[k], "stress": figures(b.sum(0))[k],
                                 "difference": figures(b.sum(0))[k] - figures(a.sum(0))[k],
                                 "ci_low": lo[k], "ci_high": hi[k]})
    table = pd.DataFrame(rows)
    table.to_csv(HERE / "check_rule.csv", index=False, float_format="%.5f")
    mean = table.groupby(["condition", "database", "figure"], sort=False)[["shipped", "stress", "difference"]].mean()
    lines = [table.to_string(index=False, float_format=lambda v: f"{v:+.4f}" if abs(v) < 0.5 else f"{v:.4f}"), "",
             "mean over the seeds:", mean.to_string(float_format=lambda v: f"{v:.4f}"), ""]
    f1 = mean.xs("F1", level="figure")["difference"]
    one = all(f1[(c, db)] > 0 for c in ("6 dB", "0 dB") for db in ("mitdb", "svdb"))
    two = all(f1[("clean", db)] >= -0.0005 for db in ("mitdb", "svdb"))
    floors = {"Se N": 0.995, "Se V": 0.995, "Se S": 0.99}
    three = [f"{db} {fig}: {mean.loc[('clean', db, fig), 'stress']:.4f} (shipped {mean.loc[('clean', db, fig), 'shipped']:.4f})"
             for db in ("mitdb", "svdb") for fig, floor in floors.items()
             if mean.loc[("clean", db, fig), "shipped"] >= floor > mean.loc[("clean", db, fig), "stress"]]
    lines += [f"(1) F1 higher at 6 and 0 dB on both databases: {one}",
              f"(2) clean F1 down by no more than 0.0005 on either database: {two}",
              f"(3) per-class floors broken: {three or 'none'}", f"kept: {one and two and not three}"]
    text = "\n".join(lines)
    print(text)
    (HERE / "check_rule.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
