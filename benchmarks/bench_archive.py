"""Benchmark: detect.py --engine dask over a generated archive with 1 and 2 workers.

    python benchmarks/bench_archive.py [--records 200] [--minutes 5] [--workers 1 2] [--folder /tmp/tsad-archive]

Writes --records synthetic two-lead WFDB records of --minutes at 250 Hz (tsad.data.demo_db, each its own
random draw) into ten sub-folders, then detects the whole tree with ``detect.py --engine dask
--recursive --redo`` and a LocalCluster of each --workers count (one thread per worker), timing the
whole command (cluster start and model loading included) in a child process. Goal (issue "A beat
detector people can call"): 2 workers >= 1.7x the throughput of 1 on a 2-core machine.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

try:
    import tsad  # noqa: F401
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

import numpy as np  # noqa: E402

from tsad.core.common import make_parser  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DETECT = REPO / "Codes" / "Inference" / "detect.py"
FS = 250


def write_archive(folder: Path, n_records: int, minutes: float, seed: int) -> None:
    import wfdb
    from tqdm import tqdm

    from tsad.data.demo_db import DemoConfig, synth_record

    for k in tqdm(range(n_records), desc="archive", unit="rec"):
        sub = folder / f"site{k % 10}"
        if (sub / f"r{k:04d}.hea").is_file():
            continue
        sub.mkdir(parents=True, exist_ok=True)
        signal, _, _ = synth_record(minutes * 60, np.random.default_rng([seed, k]), DemoConfig(), fs=FS)
        wfdb.wrsamp(f"r{k:04d}", fs=FS, units=["mV", "mV"], sig_name=["ECG1", "ECG2"], p_signal=signal,
                    fmt=["16", "16"], write_dir=str(sub))


def run(folder: Path, out: Path, run_name: str, workers: int) -> dict:
    cmd = [sys.executable, str(DETECT), "--run", run_name, "--input-dir", str(folder), "--recursive", "--out",
           str(out), "--engine", "dask", "--workers", str(workers), "--redo"]
    started = time.perf_counter()
    done = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"detect.py failed:\n{done.stderr[-2000:]}")
    meta = json.loads((out / "detections.json").read_text())
    return {"workers": workers, "records": len(meta["records"]), "ecg_h": meta["ecg_s"] / 3600, "wall_s": wall}


def main(argv=None):
    p = make_parser(__doc__)
    p.add_argument("--records", type=int, default=200, help="records in the archive")
    p.add_argument("--minutes", type=float, default=5.0, help="length of each record")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to time, in order")
    p.add_argument("--run", default="pretrained", help="the model detect.py runs")
    p.add_argument("--folder", default="/tmp/tsad-archive", help="where the archive and detections go")
    args = p.parse_args(argv)
    folder = Path(args.folder)
    write_archive(folder / "records", args.records, args.minutes, args.seed)
    rows = [run(folder / "records", folder / f"det_{w}", args.run, w) for w in args.workers]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}; "
          f"{args.records} records of {args.minutes:g} min at {FS} Hz, detect.py --run {args.run} --engine dask")
    print("| workers | records | hours of ECG | wall s | records/s | x real time | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['workers']} | {r['records']} | {r['ecg_h']:.1f} | {r['wall_s']:.1f} | "
              f"{r['records'] / r['wall_s']:.2f} | {r['ecg_h'] * 3600 / r['wall_s']:.0f} | "
              f"{rows[0]['wall_s'] / r['wall_s']:.2f} |")
    return rows


if __name__ == "__main__":
    main()
