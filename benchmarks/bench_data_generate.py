"""Windows per second of the data stage against the seed's one-matplotlib-figure-per-window renderer.

    python benchmarks/bench_data_generate.py --input-dir ../shared/data/svdb --records 800 801
    python benchmarks/bench_data_generate.py --input-dir ../shared/data/svdb --full   # + every record

Prints: the reference renderer (a new matplotlib figure per window, saved as PNG, one core, on
--reference-windows windows), this project's renderer on one core on the same windows, and the
whole data_generate stage (read, window, render on --workers cores, write) on the chosen records.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

try:
    import tsad  # noqa: F401
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

import numpy as np  # noqa: E402

from tsad.core.common import make_parser  # noqa: E402
from tsad.core.paths import Workspace  # noqa: E402
from tsad.data.ecg import make_windows, read_record  # noqa: E402
from tsad.data.generate import GenerateConfig, generate, list_records  # noqa: E402
from tsad.data.render import render_to_png  # noqa: E402


def reference_render(series: np.ndarray, folder: Path) -> float:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = time.perf_counter()
    for k, w in enumerate(series):
        fig, axs = plt.subplots(2, 1, figsize=(5.12, 5.12), dpi=100)
        axs[0].plot(w[:, 0], color="red", linewidth=1)
        axs[1].plot(w[:, 1], color="blue", linewidth=1)
        for ax in axs:
            ax.axis("off")
        fig.savefig(folder / f"ref_{k}.png")
        plt.close(fig)
    return len(series) / (time.perf_counter() - start)


def project_render(series: np.ndarray, folder: Path) -> float:
    start = time.perf_counter()
    for k, w in enumerate(series):
        render_to_png(w, folder / f"new_{k}.png")
    return len(series) / (time.perf_counter() - start)


def main(argv=None):
    p = make_parser(__doc__)
    p.add_argument("--input-dir", default=os.environ.get("TSAD_SVDB_DIR"), help="WFDB records (default: $TSAD_SVDB_DIR)")
    p.add_argument("--records", nargs="+", default=["800", "801"], help="records for the stage timing")
    p.add_argument("--reference-windows", type=int, default=200, help="windows drawn by both renderers")
    p.add_argument("--workers", type=int, default=0, help="processes for the stage (0: every core)")
    p.add_argument("--full", action="store_true", help="also time the stage on every record in --input-dir")
    args = p.parse_args(argv)
    if not args.input_dir:
        p.error("--input-dir (or $TSAD_SVDB_DIR) is required")
    folder = Path(args.input_dir)
    windows = make_windows(read_record(folder / args.records[0])).series[: args.reference_windows]
    print(f"cpu cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ref = reference_render(windows, tmp)
        new = project_render(windows, tmp)
        print(f"reference renderer (matplotlib figure per window, 1 core): {ref:8.1f} windows/s")
        print(f"project renderer (1 core):                                 {new:8.1f} windows/s  ({new / ref:.1f}x)")
        runs = [args.records] + ([list_records(folder)] if args.full else [])
        for names in runs:
            start = time.perf_counter()
            summary = generate(Workspace(tmp / f"ws{len(names)}"),
                               GenerateConfig(input_dir=str(folder), records=names, workers=args.workers))
            seconds = time.perf_counter() - start
            rate = summary.n_windows / seconds
            print(f"data_generate, {len(names)} records, {summary.n_windows} windows: {seconds:7.1f} s, "
                  f"{rate:7.1f} windows/s ({rate / ref:.1f}x the reference)")


if __name__ == "__main__":
    main()
