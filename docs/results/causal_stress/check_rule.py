"""RESULTS section AB: the rule for the causal detector trained with noise-stress windows, at --latency-s 0.5.
Clean: each database's gross F1 per (seed, fold), stressed minus shipped recipe, mean [95% t-interval] over
the 10 pairs (cv/<run>/folds.csv, copied from the workspace). Under noise: gross F1 per SNR, stressed minus
shipped recipe, paired over records (95% bootstrap, 2,000 resamples), per seed (noise_<seed>/noise_records.csv).

    python docs/results/causal_stress/check_rule.py
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

CLEAN = {"42": ("c35-80k-l05w", "c35s-80k-l05w"), "1": ("c35-80k-s1-l05w", "c35s-80k-s1-l05w")}
NOISE = {"42": ("noise_10042", "c35-80k", "c35s-80k"), "1": ("noise_10001", "c35-80k-s1", "c35s-80k-s1")}
DATABASES = ("mitdb", "svdb")


def main(argv=None) -> None:
    lines, verdict = [], {}
    for db in DATABASES:
        diffs = []
        for seed, (base, arm) in CLEAN.items():
            a = pd.read_csv(HERE / "cv" / base / "folds.csv").set_index("fold")[f"gross_F1 [{db}]"]
            b = pd.read_csv(HERE / "cv" / arm / "folds.csv").set_index("fold")[f"gross_F1 [{db}]"]
            diffs += list(b - a)
        mean, low, high = t_interval(diffs)
        verdict[("clean", db)] = mean >= -0.0005
        lines.append(f"clean {db}: stressed minus shipped recipe, fold F1 {mean:+.4f} [{low:+.4f}, {high:+.4f}] "
                     f"over {len(diffs)} (seed, fold) pairs")
    lines.append("")
    rng = np.random.default_rng(0)
    for snr in (6.0, 0.0):
        for db in DATABASES:
            means, above, cells = [], [], []
            for seed, (folder, base, arm) in NOISE.items():
                names, counts = noise_counts(HERE / folder / "noise_records.csv", db, snr, (base, arm))
                boot = rng.integers(0, len(names), size=(2000, len(names)))
                diff, low, high = paired_f1_interval(counts[arm], counts[base], boot)
                means.append(diff)
                above.append(low > 0)
                cells.append(f"seed {seed}: {f1(counts[base].sum(0)):.4f} -> {f1(counts[arm].sum(0)):.4f}, "
                             f"{diff:+.4f} [{low:+.4f}, {high:+.4f}]")
            verdict[(snr, db)] = (float(np.mean(means)), all(above))
            lines.append(f"{snr:g} dB {db}: " + "; ".join(cells) + f"; mean {np.mean(means):+.4f}")
    ok1 = all(verdict[("clean", db)] for db in DATABASES)
    ok2 = all(verdict[(0.0, db)][0] > 0 for db in DATABASES) and any(verdict[(0.0, db)][1] for db in DATABASES)
    ok3 = all(verdict[(6.0, db)][0] >= 0 for db in DATABASES)
    lines += ["", f"(1) clean mean >= -0.0005 on both databases: {ok1}",
              f"(2) 0 dB mean > 0 on both, an interval above 0 with both seeds on one: {ok2}",
              f"(3) 6 dB mean >= 0 on both: {ok3}", f"kept: {ok1 and ok2 and ok3}"]
    text = "\n".join(lines)
    print(text)
    (HERE / "check_rule.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
