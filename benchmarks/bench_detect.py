"""Benchmark: whole-record detection as detect.py does it (read, resample, detect, write), one core.

    python benchmarks/bench_detect.py --record ../shared/data/svdb/800 ../shared/data/mitdb/100 \
        [--runs pretrained xqrs gqrs fcn_1k fcn_5k fcn_20k] [--backends torch onnx] [--rounds 3]

Each detector detects each record into a scratch folder (tsad.detection.archive.detect_into: the annotation
file, the beats csv, the probabilities and the record's json), on one thread, in rounds that
alternate the detectors so that a change of load hits them all; the figure is the record's duration
over the median wall time (x real time). A name of tsad.models.student.ARCHITECTURES that is not a run gets
an untrained model of that architecture (its speed does not depend on its weights). Goal (issue
"Distil to deploy"): the shipped model >= 10,000x real time on one core and >= 4x XQRS in the same run.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

try:
    import tsad  # noqa: F401
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

import torch  # noqa: E402

from tsad.core.common import make_parser  # noqa: E402

GEOMETRY = {"fs": 128.0, "samples": 256, "channels": [0, 1], "labels": "beats"}


def untrained_run(folder: Path, arch: str) -> Path:
    """A run folder with an untrained student of ``arch`` (threshold 0.5)."""
    from tsad.core.checkpoint import save_checkpoint, trainable_state_dict
    from tsad.models.student import build_student, student_config

    model = build_student(student_config(arch)).eval()
    run = folder / arch
    save_checkpoint(run / "best.pth", {"kind": "student", "model_config": asdict(model.config),
                                       "model": trainable_state_dict(model), "geometry": GEOMETRY})
    return run


def main(argv=None):
    from tsad.core.paths import Workspace
    from tsad.detection import archive
    from tsad.detection.streaming import wfdb_source
    from tsad.models import loader
    from tsad.models.export import export_onnx
    from tsad.models.student import ARCHITECTURES

    p = make_parser(__doc__)
    p.add_argument("--record", nargs="+", required=True, help="WFDB records (path without suffix)")
    p.add_argument("--runs", nargs="+", default=["pretrained", "xqrs", "gqrs", "fcn_1k", "fcn_5k", "fcn_20k"],
                   help="detectors: runs, run folders, classical detectors, or architectures (untrained)")
    p.add_argument("--backends", nargs="+", default=["torch", "onnx"], help="for students: torch and/or onnx")
    p.add_argument("--rounds", type=int, default=3, help="timed rounds (one warm-up round first)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    ws = Workspace.from_arg(args.workspace)
    scratch = Path(tempfile.mkdtemp(prefix="tsad-bench-"))
    detectors = {}
    for name in args.runs:
        run = str(untrained_run(scratch, name)) if name in ARCHITECTURES and not ws.run_dir(name).is_dir() else name
        base = loader.load(run, ws, device="cpu")
        if base.run_dir is None:   # a classical detector: no backend to choose
            detectors[name] = base
            continue
        for backend in args.backends:
            if backend == "onnx":
                export_onnx(base.run_dir)
            detectors[f"{name} ({backend})"] = loader.load(run, ws, device="cpu", backend=backend, threads=1)
    times = {(d, r): [] for d in detectors for r in args.record}
    for round_ in range(args.rounds + 1):
        for label, detector in detectors.items():
            for rec in args.record:
                folder, name = Path(rec).parent, Path(rec).name
                out = scratch / "out" / label.replace(" ", "_")
                started = time.perf_counter()
                archive.detect_into(detector, folder, name, out, {"model": label}, progress=False)
                if round_:                                  # round 0 warms caches up
                    times[(label, rec)].append(time.perf_counter() - started)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, 1 thread; "
          f"median of {args.rounds} rounds; read + resample + detect + write")
    header = "| detector | " + " | ".join(Path(r).parent.name + "/" + Path(r).name for r in args.record) + " |"
    print(header + "\n|---|" + "---:|" * len(args.record))
    rows = {}
    for label in detectors:
        cells = []
        for rec in args.record:
            source = wfdb_source(rec)
            factor = source.n_samples / source.fs / statistics.median(times[(label, rec)])
            rows[(label, rec)] = factor
            cells.append(f"{factor:,.0f}x")
        print(f"| {label} | " + " | ".join(cells) + " |")
    return rows


if __name__ == "__main__":
    main()
