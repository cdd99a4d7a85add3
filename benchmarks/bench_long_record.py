"""Benchmark: peak memory and speed of detect.py on a week-long record against a 30-minute one.

    python benchmarks/bench_long_record.py [--days 7] [--fs 250] [--run pretrained] [--folder /tmp/tsad-long]

Writes two synthetic two-lead WFDB records (format 16) at --fs: ``short`` (30 minutes) and ``long``
(--days days), both a 10-minute synthetic ECG (tsad.data.demo_db) repeated, the long one written a piece at
a time so that writing it needs little memory. Then runs detect.py on each in its own process (one
thread) and reports the process's peak resident memory (``os.wait4``), its wall time and the
real-time factor from detections.json. Goal (issue "A beat detector people can call"): peak memory
<= 500 MB for 7 days at 250 Hz, two leads, and throughput within 10% of the 30-minute record's.
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
GAIN = 200.0          # ADC units per mV (format 16: +-163 mV of range)
MEMORY_GOAL_MB = 500.0


def write_tiled_record(folder: Path, name: str, piece: np.ndarray, fs: int, n_samples: int) -> Path:
    """A WFDB record of ``n_samples`` made of ``piece`` (n, 2) mV repeated, written piece by piece."""
    folder.mkdir(parents=True, exist_ok=True)
    digital = np.clip(np.round(piece * GAIN), -32767, 32767).astype("<i2")
    written = 0
    with open(folder / f"{name}.dat", "wb") as fh:
        while written < n_samples:
            take = min(len(digital), n_samples - written)
            fh.write(digital[:take].tobytes())
            written += take
    header = [f"{name} 2 {fs} {n_samples}"]
    header += [f"{name}.dat 16 {GAIN:g}/mV 16 0 0 0 0 ECG{k + 1}" for k in range(2)]
    (folder / f"{name}.hea").write_text("\n".join(header) + "\n")
    return folder / name


def run_detect(folder: Path, record: str, run: str, out: Path) -> dict:
    """detect.py on one record in a child process: its peak RSS, wall time and real-time factor."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(DETECT), "--run", run, "--input-dir", str(folder), "--records", record,
           "--out", str(out), "--threads", "1", "--redo"]
    started = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    err = child.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"detect.py failed on {folder / record}:\n{err[-2000:]}")
    meta = json.loads((out / "detections.json").read_text())
    row = meta["records"][0]
    return {"record": record, "hours": row["duration_s"] / 3600, "beats": row["beats"], "wall_s": wall,
            "compute_s": row["compute_s"], "real_time": row["duration_s"] / row["compute_s"],
            "peak_rss_mb": usage.ru_maxrss / 1024}


def main(argv=None):
    from tsad.data.demo_db import DemoConfig, synth_record

    p = make_parser(__doc__)
    p.add_argument("--days", type=float, default=7.0, help="length of the long record")
    p.add_argument("--fs", type=int, default=250, help="sampling rate of both records")
    p.add_argument("--run", default="pretrained", help="the model detect.py runs")
    p.add_argument("--folder", default="/tmp/tsad-long", help="where the records and detections go")
    p.add_argument("--keep", action="store_true", help="keep the records afterwards")
    args = p.parse_args(argv)
    folder = Path(args.folder)
    piece, _, _ = synth_record(600, np.random.default_rng(args.seed), DemoConfig(), fs=args.fs)
    sizes = {"short": int(1800 * args.fs), "long": int(args.days * 86400 * args.fs)}
    for name, n in sizes.items():
        write_tiled_record(folder / "records", name, piece, args.fs, n)
    rows = [run_detect(folder / "records", name, args.run, folder / f"det_{name}") for name in sizes]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}; "
          f"detect.py --run {args.run} --threads 1, {args.fs} Hz, 2 leads")
    print("| record | hours | beats | wall s | compute s | real time x | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['record']} | {r['hours']:.1f} | {r['beats']:,} | {r['wall_s']:.1f} | {r['compute_s']:.1f} | "
              f"{r['real_time']:.0f} | {r['peak_rss_mb']:.0f} |")
    short, long = rows
    ratio = long["real_time"] / short["real_time"]
    print(f"long/short throughput {ratio:.3f} (goal >= 0.90); peak memory {long['peak_rss_mb']:.0f} MB "
          f"(goal <= {MEMORY_GOAL_MB:.0f} MB)")
    if not args.keep:
        for name in sizes:
            for suffix in (".dat", ".hea"):
                (folder / "records" / f"{name}{suffix}").unlink(missing_ok=True)
    return rows


if __name__ == "__main__":
    main()
