"""RESULTS section AD: the rule for a permissive detector (0.05) with a verifier trained on its detections there,
against the shipped pair (the same fold detectors at 0.2 with their verifier). Per seed, the pair's gross F1 and
PPV per database, clean and at 6 and 0 dB (rows verifier, verifier@6dB, verifier@0dB of beat_classes_cv.py's
records.csv), permissive minus shipped, paired over records (95% bootstrap, 2,000 resamples); the Se of N, S and V
beats pooled over both seeds.

    python docs/results/permissive_pair/check_rule.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "noise_cv"))   # compare_noise, which finds Codes/

from compare_noise import f1, pair_counts, paired_f1_interval  # noqa: E402  (the noise study's helpers)

SHIPPED = HERE.parent / "noise_cv"
RUNS = {"42": (SHIPPED / "verify_s_t02", HERE / "verify_s_t005"),
        "1": (SHIPPED / "verify_s_t02_s1", HERE / "verify_s_t005_s1")}
DATABASES = ("mitdb", "svdb")
ROWS = {"clean": "verifier", "6 dB": "verifier@6dB", "0 dB": "verifier@0dB"}


def ppv(c: np.ndarray) -> np.ndarray:
    return c[..., 0] / (c[..., 0] + c[..., 1])


def class_sensitivity(folder: Path, db: str, beat_class: str) -> tuple[int, int]:
    """(found, total) beats of ``beat_class`` (any detected class counts as found) of the clean pair."""
    t = pd.read_csv(folder / "records.csv", dtype={"record": str})
    t = t[(t["classifier"] == ROWS["clean"]) & (t["database"] == db)]
    cols = [c for c in t.columns if c.startswith(f"{beat_class}_") and c[2:] in ("N", "S", "V", "F", "Q", "missed")]
    total = int(t[cols].to_numpy().sum())
    return total - int(t[f"{beat_class}_missed"].sum()), total


def main(argv=None) -> None:
    rng = np.random.default_rng(0)
    lines, result = [], {}
    for condition, row in ROWS.items():
        for db in DATABASES:
            f1_means, ppv_diffs, above, cells = [], [], [], []
            for seed, (base_dir, arm_dir) in RUNS.items():
                base, arm = pair_counts(base_dir, row), pair_counts(arm_dir, row)
                base, arm = base[base["database"] == db], arm[arm["database"] == db]
                names = sorted(set(base["record"]) & set(arm["record"]))
                cb = base.set_index("record").loc[names, ["TP", "FP", "FN"]].to_numpy(float)
                ca = arm.set_index("record").loc[names, ["TP", "FP", "FN"]].to_numpy(float)
                boot = rng.integers(0, len(names), size=(2000, len(names)))
                diff, low, high = paired_f1_interval(ca, cb, boot)
                f1_means.append(diff)
                above.append(low > 0)
                ppv_diffs.append(float(ppv(ca.sum(0)) - ppv(cb.sum(0))))
                cells.append(f"seed {seed}: F1 {f1(cb.sum(0)):.4f} -> {f1(ca.sum(0)):.4f} ({diff:+.4f} [{low:+.4f}, "
                             f"{high:+.4f}]), PPV {ppv(cb.sum(0)):.4f} -> {ppv(ca.sum(0)):.4f}, false / missed beats "
                             f"{int(cb[:, 1].sum())} / {int(cb[:, 2].sum())} -> {int(ca[:, 1].sum())} / {int(ca[:, 2].sum())}")
            result[(condition, db)] = (float(np.mean(f1_means)), any(above), float(np.mean(ppv_diffs)))
            lines.append(f"{condition} {db}: " + "; ".join(cells) + f"; mean F1 difference {np.mean(f1_means):+.4f}")
    lines.append("")
    floors_ok = True
    for db in DATABASES:
        cells = []
        for beat_class, floor in (("N", 0.995), ("S", 0.99), ("V", 0.995)):
            found = total = 0
            for _, arm_dir in RUNS.values():
                a, b = class_sensitivity(arm_dir, db, beat_class)
                found, total = found + a, total + b
            se = found / total if total else float("nan")
            floors_ok &= bool(total == 0 or se >= floor)
            cells.append(f"{beat_class} {se:.4f} ({total - found} of {total} missed)")
        lines.append(f"clean {db}, the permissive pair, both seeds pooled: Se " + ", ".join(cells))
    mean, any_above, ppv_mean = result[("clean", "mitdb")]
    ok1 = mean > 0 and any_above and ppv_mean >= 0
    ok2 = result[("clean", "svdb")][0] >= -0.0002
    ok4 = all(result[(c, db)][0] >= -0.002 for c in ("6 dB", "0 dB") for db in DATABASES)
    lines += ["", f"(1) clean mitdb F1 mean > 0, an interval above 0 with one seed, PPV mean >= 0: {ok1}",
              f"(2) clean svdb F1 mean >= -0.0002: {ok2}",
              f"(3) Se N, V >= 0.995 and S >= 0.99 on each database: {floors_ok}",
              f"(4) at 6 and 0 dB, each database's F1 mean >= -0.002: {ok4}",
              f"kept: {ok1 and ok2 and floors_ok and ok4}"]
    text = "\n".join(lines)
    print(text)
    (HERE / "check_rule.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
