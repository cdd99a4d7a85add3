"""RESULTS section AC: the rule for a larger offline detector (fcn_80k with the shipped recipe), stage A: the
detector alone at the shipped threshold 0.2. Clean: each database's gross F1 and PPV per (seed, fold), fcn_80k
minus fcn_20k, mean [95% t-interval] over the 10 pairs (cv/<run>/folds.csv, copied from the workspace). Under
noise: gross F1 per SNR and database, fcn_80k minus fcn_20k, paired over records (95% bootstrap, 2,000
resamples), per seed (noise_<seed>/noise_records.csv), and the mean over the two seeds.

    python docs/results/larger_detector/check_rule.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "noise_cv"))   # compare_noise, which finds Codes/

from compare_noise import f1, noise_counts, paired_f1_interval  # noqa: E402  (the noise study's helpers)

from tsad.experiments.crossval import t_interval  # noqa: E402

# seed -> (fcn_20k run, fcn_80k run), both read at 0.2
CLEAN = {"42": ("g-s-t02", "g-s80-t02"), "1": ("g-s-s1-t02", "g-s80-s1-t02")}
NOISE = {"42": "noise_10042", "1": "noise_10001"}
DATABASES = ("mitdb", "svdb")


def clean_difference(db: str, figure: str) -> tuple[float, float, float]:
    """fcn_80k minus fcn_20k, gross ``figure`` of ``db`` per (seed, fold): mean, 95% t-interval."""
    diffs = []
    for base, arm in CLEAN.values():
        a = pd.read_csv(HERE / "cv" / base / "folds.csv").set_index("fold")[f"gross_{figure} [{db}]"]
        b = pd.read_csv(HERE / "cv" / arm / "folds.csv").set_index("fold")[f"gross_{figure} [{db}]"]
        diffs += list(b - a)
    return t_interval(diffs)


def main(argv=None) -> None:
    lines, clean = [], {}
    for db in DATABASES:
        for figure in ("F1", "PPV", "Se"):
            mean, low, high = clean_difference(db, figure)
            clean[(db, figure)] = mean
            lines.append(f"clean {db} gross {figure}: fcn_80k minus fcn_20k {mean:+.4f} [{low:+.4f}, {high:+.4f}] "
                         "over 10 (seed, fold) pairs")
    lines.append("")
    rng = np.random.default_rng(0)
    noisy = {}
    for snr in (6.0, 0.0):
        for db in DATABASES:
            means, cells = [], []
            for seed, folder in NOISE.items():
                base, arm = CLEAN[seed]
                names, counts = noise_counts(HERE / folder / "noise_records.csv", db, snr, (base, arm))
                boot = rng.integers(0, len(names), size=(2000, len(names)))
                diff, low, high = paired_f1_interval(counts[arm], counts[base], boot)
                means.append(diff)
                cells.append(f"seed {seed}: {f1(counts[base].sum(0)):.4f} -> {f1(counts[arm].sum(0)):.4f}, "
                             f"{diff:+.4f} [{low:+.4f}, {high:+.4f}]")
            noisy[(snr, db)] = float(np.mean(means))
            lines.append(f"{snr:g} dB {db}: " + "; ".join(cells) + f"; mean {np.mean(means):+.4f}")
    ok1 = clean[("mitdb", "F1")] > 0 and clean[("mitdb", "PPV")] >= 0 and clean[("svdb", "F1")] >= -0.0002
    ok2 = all(v >= -0.002 for v in noisy.values())
    lines += ["", f"(1) clean: mitdb F1 mean > 0, mitdb PPV mean >= 0, svdb F1 mean >= -0.0002: {ok1}",
              f"(2) at 6 and 0 dB, each database's mean over the seeds >= -0.002: {ok2}",
              f"stage A holds: {ok1 and ok2}"]
    text = "\n".join(lines)
    print(text)
    (HERE / "check_rule.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
