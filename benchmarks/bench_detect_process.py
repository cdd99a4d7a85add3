"""Benchmark: detect.py as a whole process on one core: start-up, a 24-hour record end to end, and
the peak memory of a 48-hour 250 Hz record; which heavy libraries the process imported.

    python benchmarks/bench_detect_process.py [--run pretrained] [--baseline xqrs] [--folder /tmp/tsad-process]

Writes synthetic two-lead WFDB records (format 16; the 10-minute tsad.data.demo_db ECG repeated):
``tiny`` (10 s at 128 Hz, start-up dominates), ``day`` (24 h at 128 Hz, svdb's rate) and ``two_days``
(48 h at 250 Hz). Each detection is its own process (``OMP_NUM_THREADS=1``, ``--threads 1``): wall
time from start to exit, peak resident memory (``os.wait4``), and the heavy libraries it imported
(``python -X importtime``). The baseline (wfdb's XQRS) detects ``day`` in the same run, the same way.
Goals (issue "The house by job"): ``day`` >= 10,000x real time and >= 4x the baseline, whole process;
``two_days`` <= 500 MB peak. The shipped model classifies every beat it finds; ``day`` and ``two_days`` are
also timed with ``--no-classes`` (beats alone), and, where the run has a causal detector (its causal/
folder), with ``--latency-s 0.5`` (causal detection, beats alone).
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
from bench_long_record import write_tiled_record  # noqa: E402

from tsad.core.common import make_parser  # noqa: E402
from tsad.data.demo_db import DemoConfig, synth_record  # noqa: E402
from tsad.models import loader  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DETECT = REPO / "Codes" / "Inference" / "detect.py"
HEAVY = ("torch", "onnx", "scipy.signal", "transformers", "matplotlib", "onnxruntime", "wfdb", "pandas")
RECORDS = {"tiny": (128, 10), "day": (128, 86400), "two_days": (250, 2 * 86400)}   # name: (fs, seconds)


def detect_process(folder: Path, record: str, run: str, out: Path, extra: tuple = ()) -> dict:
    """detect.py on one record in a child process: wall time, peak RSS and the heavy imports."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-X", "importtime", str(DETECT), "--run", run, "--input-dir", str(folder),
           "--records", record, "--out", str(out), "--threads", "1", "--redo", *extra]
    started = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = child.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"detect.py failed on {folder / record}:\n{err[-2000:]}")
    imported = {line.rsplit("|", 1)[1].strip() for line in err.splitlines() if line.startswith("import time:")}
    import_s = sum(int(line.split("|")[1]) for line in err.splitlines()
                   if line.startswith("import time:") and line.split("|")[2].startswith(" ") and
                   not line.split("|")[2].startswith("  ") and line.split("|")[1].strip().isdigit()) / 1e6
    row = json.loads((out / "detections.json").read_text())["records"][0]
    return {"run": " ".join([run, *extra]), "record": record, "hours": row["duration_s"] / 3600, "beats": row["beats"],
            "wall_s": wall, "x_real_time": row["duration_s"] / wall, "peak_mb": usage.ru_maxrss / 1024,
            "import_s": import_s, "heavy": [h for h in HEAVY if h in imported]}


def main(argv=None):
    p = make_parser(__doc__)
    p.add_argument("--run", default="pretrained", help="the model detect.py runs")
    p.add_argument("--baseline", default="xqrs", help="the detector it is compared with on the 24-hour record")
    p.add_argument("--folder", default="/tmp/tsad-process", help="where the records and detections go")
    p.add_argument("--keep", action="store_true", help="keep the records afterwards")
    args = p.parse_args(argv)
    folder = Path(args.folder)
    for name, (fs, seconds) in RECORDS.items():
        piece, _, _ = synth_record(600, np.random.default_rng(args.seed), DemoConfig(), fs=fs)
        write_tiled_record(folder / "records", name, piece, fs, int(seconds * fs))
    # the shipped model classifies every beat (its beat classifier); --no-classes times the beats alone
    jobs = [(args.run, "tiny", ()), (args.run, "day", ()), (args.baseline, "day", ()), (args.run, "two_days", ()),
            (args.run, "day", ("--no-classes",)), (args.run, "two_days", ("--no-classes",))]
    found = loader.resolve(args.run)
    causal = found is not None and loader.resolve(args.run, causal=True)[0] != found[0]
    if causal:   # the run's causal detector: beats decided from at most 0.5 s after each
        jobs += [(args.run, "day", ("--latency-s", "0.5")), (args.run, "two_days", ("--latency-s", "0.5"))]
    rows = [detect_process(folder / "records", rec, run, folder / f"det_{run}_{rec}{'_'.join(('',) + extra)}", extra)
            for run, rec, extra in jobs]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}; "
          f"one thread per process")
    print("| detector | record | hours | beats | wall s (whole process) | x real time | peak MB | imports s | "
          "heavy libraries imported |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['run']} | {r['record']} | {r['hours']:.3g} | {r['beats']:,} | {r['wall_s']:.2f} | "
              f"{r['x_real_time']:,.0f} | {r['peak_mb']:.0f} | {r['import_s']:.2f} | {', '.join(r['heavy'])} |")
    base = rows[2]
    for label, day, two in (("beats and classes", rows[1], rows[3]), ("beats only (--no-classes)", rows[4], rows[5]),
                            *((("causal (--latency-s 0.5)", rows[6], rows[7]),) if causal else ())):
        print(f"{label}: 24 h: {day['x_real_time']:,.0f}x real time (goal >= 10,000x), "
              f"{day['x_real_time'] / base['x_real_time']:.1f}x {args.baseline} (goal >= 4x); 48 h at 250 Hz: "
              f"{two['peak_mb']:.0f} MB peak (goal <= 500 MB)")
    if not args.keep:
        for name in RECORDS:
            for suffix in (".dat", ".hea"):
                (folder / "records" / f"{name}{suffix}").unlink(missing_ok=True)
    return rows


if __name__ == "__main__":
    main()
