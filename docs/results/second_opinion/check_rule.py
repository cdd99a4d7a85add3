"""RESULTS section AE: the rule for GQRS's second opinion on the detector's uncertain beats. In each seed's
verifier cross-validation (beat_classes_cv.py --second-opinion gqrs), sure_above is chosen for each test fold on
the other four folds' test records (the fewest false plus missed beats of the pair, clean, both databases; ties:
the lower p), and that fold's records are read at it; the pair with the second opinion minus the same pair
without it (rows verifier, verifier@6dB, verifier@0dB), paired over records (95% bootstrap, 2,000 resamples).
Under noise mitdb 207 is left out, as in section Y (its flutter). Writes check_rule.txt and chosen.csv.

    python docs/results/second_opinion/check_rule.py
    python docs/results/second_opinion/check_rule.py --runs verify_s_gqrs_trust verify_s_gqrs_trust_s1 \
        --out docs/results/second_opinion_trusted          # section AF: the same rule on its runs
    python docs/results/second_opinion/check_rule.py --runs verify_s_gqrs_clean verify_s_gqrs_clean_s1 \
        --out docs/results/second_opinion_clean --class-drop 0.0005   # section AG: (3) against the pair's own Se
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "noise_cv"))   # compare_noise, which finds Codes/

from compare_noise import detection_counts, f1, pair_counts, paired_f1_interval  # noqa: E402  (the noise study's helpers)

from tsad.core.fileio import save_text  # noqa: E402  (on the path compare_noise set)

RUNS = {"42": HERE / "verify_s_gqrs", "1": HERE / "verify_s_gqrs_s1"}
OPINION = "gqrs"
DATABASES = ("mitdb", "svdb")
CONDITIONS = {"clean": "", "6 dB": "@6dB", "0 dB": "@0dB"}
# section Y's best common detector (neurokit2) at each SNR, noise draws of seed 42 / 1 (compare_noise.txt)
BEST_OTHER = {("6 dB", "mitdb"): (0.9848, 0.9844), ("0 dB", "mitdb"): (0.9318, 0.9309),
              ("6 dB", "svdb"): (0.9809, 0.9829), ("0 dB", "svdb"): (0.8931, 0.9030)}
FLOORS = (("N", 0.995), ("S", 0.99), ("V", 0.995))


def ppv(c: np.ndarray) -> np.ndarray:
    return c[..., 0] / (c[..., 0] + c[..., 1])


def grid(table: pd.DataFrame) -> list[float]:
    prefix = f"verifier+{OPINION}"
    return sorted({float(c[len(prefix):]) for c in table["classifier"] if c.startswith(prefix) and "@" not in c})


def chosen_p(folder: Path) -> dict[int, float]:
    """Each fold's sure_above: the grid's p with the fewest clean errors on the other folds' records."""
    table = pd.read_csv(folder / "records.csv", dtype={"record": str})
    folds = table.groupby("record")["fold"].first()
    choice = {}
    for k in sorted(folds.unique()):
        others = set(folds.index[folds != k])
        errors = {}
        for p in grid(table):
            c = pair_counts(folder, f"verifier+{OPINION}{p:g}")
            c = c[c["record"].isin(others)]
            errors[p] = int(c["FP"].sum() + c["FN"].sum())
        choice[int(k)] = min(errors, key=lambda p: (errors[p], p))
    return choice


def chosen_rows(folder: Path, suffix: str, choice: dict[int, float]) -> pd.DataFrame:
    """The records.csv rows of the pair with the second opinion at each record's fold's chosen p."""
    table = pd.read_csv(folder / "records.csv", dtype={"record": str})
    parts = [table[(table["fold"] == k) & (table["classifier"] == f"verifier+{OPINION}{p:g}{suffix}")]
             for k, p in choice.items()]
    return pd.concat(parts, ignore_index=True)


def row_counts(rows: pd.DataFrame) -> pd.DataFrame:
    """Per record TP, FP, FN of records.csv rows (``pair_counts``' columns)."""
    tp, fp, fn = detection_counts(rows)[:, :3].T
    return pd.DataFrame({"database": rows["database"].to_numpy(), "record": rows["record"].to_numpy(),
                         "TP": tp, "FP": fp, "FN": fn})


def class_found(rows: pd.DataFrame, beat_class: str) -> tuple[int, int]:
    """(found, total) reference beats of ``beat_class`` in ``rows`` (any detected class counts as found)."""
    cols = [c for c in rows.columns if c.startswith(f"{beat_class}_") and c[2:] in ("N", "S", "V", "F", "Q", "missed")]
    total = int(rows[cols].to_numpy().sum())
    return total - int(rows[f"{beat_class}_missed"].sum()), total


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs=2, default=[p.name for p in RUNS.values()], metavar=("SEED42", "SEED1"),
                        help="the two runs' folders (seed 42, seed 1) under --out (default: %(default)s)")
    parser.add_argument("--out", default=str(HERE), help="where the runs lie and the verdict is written "
                                                         "(default: this folder)")
    parser.add_argument("--class-drop", type=float, default=None, metavar="D",
                        help="condition (3) as section AG words it: the Se of N and V beats falls by at most D against "
                             "the same pair without the second opinion, S stays >= 0.99 (default: section AE's "
                             "absolute floors)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    runs = {"42": out / args.runs[0], "1": out / args.runs[1]}
    rng = np.random.default_rng(0)
    lines, result, chosen = [], {}, []
    choices = {seed: chosen_p(folder) for seed, folder in runs.items()}
    for seed, choice in choices.items():
        lines.append(f"seed {seed}: sure_above per test fold " + ", ".join(f"{k}: {p:g}" for k, p in choice.items()))
        chosen += [{"seed": seed, "fold": k, "sure_above": p} for k, p in choice.items()]
    lines.append("")
    for condition, suffix in CONDITIONS.items():
        for db in DATABASES:
            diffs, ppv_diffs, above, values, cells = [], [], [], [], []
            for seed, folder in runs.items():
                base = pair_counts(folder, f"verifier{suffix}")
                arm = row_counts(chosen_rows(folder, suffix, choices[seed]))
                keep = lambda t: t[(t["database"] == db) & ~((t["record"] == "207") & (suffix != ""))]  # noqa: E731
                base, arm = keep(base), keep(arm)
                names = sorted(set(base["record"]) & set(arm["record"]))
                cb = base.set_index("record").loc[names, ["TP", "FP", "FN"]].to_numpy(float)
                ca = arm.set_index("record").loc[names, ["TP", "FP", "FN"]].to_numpy(float)
                boot = rng.integers(0, len(names), size=(2000, len(names)))
                diff, low, high = paired_f1_interval(ca, cb, boot)
                diffs.append(diff)
                above.append(low > 0)
                values.append(float(f1(ca.sum(0))))
                ppv_diffs.append(float(ppv(ca.sum(0)) - ppv(cb.sum(0))))
                per = f1(ca)
                low_records = ", ".join(f"{n} {v:.4f}" for n, v in sorted(zip(names, per), key=lambda t: t[1])
                                        if v < 0.99) if not suffix else "(clean only)"
                cells.append(f"seed {seed}: F1 {f1(cb.sum(0)):.4f} -> {f1(ca.sum(0)):.4f} ({diff:+.4f} [{low:+.4f}, "
                             f"{high:+.4f}]), PPV {ppv(cb.sum(0)):.4f} -> {ppv(ca.sum(0)):.4f}, false / missed beats "
                             f"{int(cb[:, 1].sum())} / {int(cb[:, 2].sum())} -> {int(ca[:, 1].sum())} / "
                             f"{int(ca[:, 2].sum())}, records < 0.99 with it: {low_records or 'none'}")
            result[(condition, db)] = (float(np.mean(diffs)), any(above), float(np.mean(ppv_diffs)), values)
            lines.append(f"{condition} {db}: " + "; ".join(cells) + f"; mean F1 difference {np.mean(diffs):+.4f}")
    lines.append("")
    floors_ok = True
    tables = {seed: pd.read_csv(folder / "records.csv", dtype={"record": str}) for seed, folder in runs.items()}
    for db in DATABASES:
        with_it = [rows[rows["database"] == db] for seed, folder in runs.items()
                   for rows in [chosen_rows(folder, "", choices[seed])]]
        without = [t[(t["classifier"] == "verifier") & (t["database"] == db)] for t in tables.values()]
        se = {}
        for label, parts in (("the pair with the second opinion", with_it),
                             ("the same pair without it" + ("" if args.class_drop is not None
                                                           else " (not part of the rule)"), without)):
            cells = []
            for beat_class, floor in FLOORS:
                found, total = np.sum([class_found(rows, beat_class) for rows in parts], axis=0)
                se[parts is with_it, beat_class] = found / total if total else float("nan")
                cells.append(f"{beat_class} {se[parts is with_it, beat_class]:.4f} ({total - found} of {total} missed)")
            lines.append(f"clean {db}, {label}, both seeds pooled: Se " + ", ".join(cells))
        for beat_class, floor in FLOORS:
            value, reference = se[True, beat_class], se[False, beat_class]
            if np.isnan(value):
                continue
            if args.class_drop is None or beat_class == "S":
                floors_ok &= bool(value >= floor)
            else:
                floors_ok &= bool(value >= reference - args.class_drop - 1e-12)
    mean, any_above, ppv_mean, _ = result[("clean", "mitdb")]
    ok1 = mean > 0 and any_above and ppv_mean > 0
    ok2 = result[("clean", "svdb")][0] >= -0.0002
    ok4 = all(result[(c, db)][0] >= -0.002 and all(v > o for v, o in zip(result[(c, db)][3], BEST_OTHER[(c, db)]))
              for c in ("6 dB", "0 dB") for db in DATABASES)
    lines += ["", f"(1) clean mitdb F1 and PPV means > 0, the F1 interval above 0 with one seed: {ok1}",
              f"(2) clean svdb F1 mean >= -0.0002: {ok2}",
              (f"(3) Se N, V >= 0.995 and S >= 0.99 on each database: {floors_ok}" if args.class_drop is None else
               f"(3) Se N, V at most {args.class_drop:g} under the pair's without it and S >= 0.99 on each database: "
               f"{floors_ok}"),
              f"(4) at 6 and 0 dB, each database's F1 mean >= -0.002 and above section Y's best common detector "
              f"with each seed: {ok4}",
              f"kept: {ok1 and ok2 and floors_ok and ok4}"]
    text = "\n".join(lines)
    print(text)
    save_text(out / "check_rule.txt", text + "\n")
    save_text(out / "chosen.csv", pd.DataFrame(chosen).to_csv(index=False))


if __name__ == "__main__":
    main()
