"""Benchmark: beat detection under noise, after PhysioNet's noise stress test (nstdb), every detector
on the same records at the same signal-to-noise ratios.

    python benchmarks/bench_noise.py --input-dir ../shared/data/svdb ../shared/data/mitdb --records 10 \
        [--snr 24 18 12 6 0 -6] [--detectors pretrained xqrs gqrs neurokit sleepecg] [--out docs/results/noise]
    python benchmarks/bench_noise.py --workspace W --input-dir ... --cv fast fast-stress --snr 6 0   # fold models
    python benchmarks/bench_noise.py --workspace W --input-dir ... --cv c35-80k --snr 6 0 --latency-s 0.5   # causal

Noise of three kinds (baseline wander, muscle artefact, electrode motion: tsad.data.noise, made here)
in equal power is added to the first --records records of each folder from minute 5 on, in
alternating 2-minute stretches, at each SNR (nstdb's definition, per lead); each detector detects
the noisy record whole (its own lead and rate, as detect.py runs it) and is scored beat by beat at
150 ms against the record's reference beats (the whole record: noisy and clean stretches; as EC57,
nothing inside the reference's ventricular flutter episodes, since 2026-12-04). Writes
noise.csv (one row per detector, database, SNR: gross Se, PPV, F1 and counts), noise.md and
noise.png (Se, PPV and F1 against SNR) into --out. A record the shipped model was trained on is
an easier test for it than for the others: the shared records are its training records, so its
figures here are an upper bound (docs/BENCHMARKS.md says which records).
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

try:
    import tsad  # noqa: F401
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

import pandas as pd  # noqa: E402
from tqdm import tqdm  # noqa: E402

from tsad.core.common import make_parser  # noqa: E402
from tsad.core.fileio import save_text  # noqa: E402
from tsad.core.geometry import tolerance_samples  # noqa: E402
from tsad.core.paths import Workspace  # noqa: E402
from tsad.data.ecg import outside_episodes, read_record  # noqa: E402
from tsad.data.generate import list_records  # noqa: E402
from tsad.data.noise import add_noise  # noqa: E402
from tsad.detection.records import detect_signal  # noqa: E402
from tsad.experiments.evaluate import to_markdown  # noqa: E402
from tsad.models import loader  # noqa: E402
from tsad.scoring.beats import figures, match_beats  # noqa: E402
from tsad.scoring.ec57 import read_vf_episodes, reference_beats  # noqa: E402
from tsad.scoring.plots import save_figure  # noqa: E402

SNRS = (24, 18, 12, 6, 0, -6)
DETECTORS = ("pretrained", "xqrs", "gqrs", "neurokit", "sleepecg")


def noise_figure(table: pd.DataFrame):
    """Se, PPV and F1 against SNR, one line per detector, one row of panels per database."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    databases = list(dict.fromkeys(table["database"]))
    fig, axes = plt.subplots(len(databases), 3, figsize=(12, 3.2 * len(databases)), squeeze=False)
    for row, db in zip(axes, databases):
        part = table[table["database"] == db]
        for ax, figure in zip(row, ("Se", "PPV", "F1")):
            for detector, lines in part.groupby("detector", sort=False):
                ax.plot(lines["snr_db"], lines[figure], marker="o", label=detector)
            ax.set_title(f"{db}: {figure}")
            ax.set_xlabel("SNR (dB)")
            ax.invert_xaxis()
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def main(argv=None):
    p = make_parser(__doc__)
    p.add_argument("--input-dir", nargs="+", required=True, help="folders of annotated WFDB records")
    p.add_argument("--records", type=int, default=10, help="the first N records of each folder")
    p.add_argument("--names", nargs="+", default=None, metavar="R",
                   help="these records instead (those in each folder), e.g. a cross-validation fold's test records")
    p.add_argument("--snr", type=float, nargs="+", default=list(SNRS), help="signal-to-noise ratios (dB)")
    p.add_argument("--detectors", nargs="+", default=list(DETECTORS), help="runs or classical detectors")
    p.add_argument("--cv", nargs="+", default=None, metavar="NAME",
                   help="instead of --detectors: cross-validations of --workspace (student_cv.py --name), each fold's "
                        "model on that fold's test records only (patients it never saw), pooled under NAME")
    p.add_argument("--latency-s", type=float, default=None, metavar="S",
                   help="causal detection: each beat decided from at most S s of signal after it (detect.py "
                        "--latency-s; learned models of bounded look-ahead only)")
    p.add_argument("--causal-wait-s", type=float, default=None, metavar="S",
                   help="with --latency-s: how long causal picking waits after a peak (student_cv.py's; default "
                        "each run's own)")
    p.add_argument("--out", default="docs/results/noise", help="folder for noise.csv, noise.md, noise.png")
    args = p.parse_args(argv)
    if args.causal_wait_s is not None and args.latency_s is None:
        p.error("--causal-wait-s is for causal detection (--latency-s)")
    causal = args.latency_s is not None   # a run's causal detector where it has one (loader.load)

    def load(run):
        detector = loader.load(run, backend="auto", device="cpu", threads=1, causal=causal)
        return detector if args.causal_wait_s is None else replace(detector, causal_wait_s=args.causal_wait_s)

    if args.cv:   # record -> {cv name: the fold model that had it as a test patient}
        cv_root = Workspace.from_arg(args.workspace).root / "cv"
        by_record: dict[str, dict] = {}
        for name in args.cv:
            for fold in sorted((cv_root / name).glob("fold*/fold.json")):
                model = load(fold.parent)
                for record in json.loads(fold.read_text())["test_records"].split():
                    by_record.setdefault(record, {})[name] = model
        args.names = sorted(by_record)
    else:
        # a run folder given by its path is labelled by its last two parts (cv/NAME/fold0 -> NAME/fold0)
        shared = {("/".join(Path(d).parts[-2:]) if Path(d).is_dir() else d):
                  load(d) for d in args.detectors}
    rows = []
    started = time.perf_counter()
    for folder in map(Path, args.input_dir):
        names = ([n for n in list_records(folder) if n in set(args.names)] if args.names
                 else list_records(folder)[:args.records])
        for name in tqdm(names, desc=folder.name, unit="rec", disable=None):
            ref, fs, _ = reference_beats(folder / name)
            vf = read_vf_episodes(folder / name)          # scored as EC57: nothing inside flutter
            record = read_record(folder / name, channels=(0, 1), fs=fs)
            for snr in args.snr:
                noisy = add_noise(record.signal, ref, fs, snr, seed=args.seed)
                for label, detector in (by_record[name] if args.cv else shared).items():
                    det = detect_signal(detector, noisy, fs, name=name, latency_s=args.latency_s)
                    found = det.samples[outside_episodes(det.samples, vf)]
                    m = match_beats(ref[outside_episodes(ref, vf)], found, tolerance_samples(fs))
                    rows.append({"detector": label, "database": folder.name, "record": name, "snr_db": snr,
                                 "TP": m.tp, "FP": m.fp, "FN": m.fn})
    per_record = pd.DataFrame(rows)
    pooled = per_record.groupby(["detector", "database", "snr_db"], sort=False)[["TP", "FP", "FN"]].sum()
    counted = per_record.groupby("database")["record"].nunique()
    table = pd.DataFrame([{"detector": d, "database": db, "snr_db": float(snr), "records": int(counted[db]),
                           **{k: int(v) for k, v in counts.items()}, **figures(**counts.to_dict())}
                          for (d, db, snr), counts in pooled.iterrows()])
    minutes = (time.perf_counter() - started) / 60
    out = Path(args.out)
    save_text(out / "noise.csv", table.to_csv(index=False))
    save_text(out / "noise_records.csv", per_record.to_csv(index=False))
    wide = table.pivot_table(index=["database", "snr_db"], columns="detector", values="F1", sort=False).reset_index()
    wide["snr_db"] = wide["snr_db"].map(lambda v: f"{v:g}")
    save_text(out / "noise.md", f"# Beat detection under nstdb-style noise\n\n{platform.machine()}, "
              f"{os.cpu_count()} cores, one thread; {minutes:.1f} min. Gross F1 at 150 ms:\n\n"
              f"{to_markdown(wide.round(4))}\n\nEvery figure: noise.csv\n")
    save_figure(noise_figure(table), out / "noise.png")
    print(to_markdown(wide.round(4)))
    print(f"written: {out / 'noise.csv'}, {out / 'noise.md'}, {out / 'noise.png'} ({minutes:.1f} min)")
    return table


if __name__ == "__main__":
    main()
