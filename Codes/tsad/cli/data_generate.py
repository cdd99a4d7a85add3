"""Turn WFDB ECG records into 2-second windows, per-sample beat labels and 512x512 plot images.

    python Codes/Dataset/data_generate.py --input-dir ../shared/data/svdb --records 800 801
    python Codes/Dataset/data_generate.py --input-dir PATH/svdb PATH/mitdb   # two databases together
    python Codes/Dataset/data_generate.py --download svdb      # PhysioNet, needs the network
    python Codes/Dataset/data_generate.py                      # the synthetic demo database

Writes into the workspace: Plots_ECG/ecg_plot_<id>.png, labels_ECG.csv (id + 256 labels, no
header), ECG_segments.npy (N, 256, 2) float32, windows.csv (where every window comes from and the
annotations in it) and data_manifest.json. Records at another sampling rate are resampled to
--fs with their annotations. With no input and no records under <workspace>/raw, the synthetic
demo database is written to <workspace>/raw/demo and used.
"""

from __future__ import annotations

from tsad.core.common import make_parser, seed_everything, setup_logging
from tsad.core.errors import run_cli
from tsad.core.paths import Workspace
from tsad.data.demo_db import DemoConfig
from tsad.data.ecg import LABEL_MODES
from tsad.data.generate import GenerateConfig, generate


def parse_args(argv=None):
    p = make_parser(__doc__)
    src = p.add_argument_group("input (default: records already in <workspace>/raw, else the demo database)")
    src.add_argument("--input-dir", nargs="+", metavar="DIR",
                     help="folder(s) of WFDB records (.hea, .dat, .atr); several databases are read together, "
                          "each named by its folder (svdb, mitdb, ...)")
    src.add_argument("--records", nargs="+", help="record names to use, e.g. 800 801 (default: all)")
    src.add_argument("--download", metavar="DB", help="fetch a PhysioNet database (e.g. svdb) into raw/DB")
    src.add_argument("--demo", action="store_true", help="write and use the synthetic demo database")
    src.add_argument("--demo-records", type=int, default=DemoConfig.n_records, help="demo: number of records")
    src.add_argument("--demo-minutes", type=float, default=DemoConfig.minutes, help="demo: minutes per record")
    w = p.add_argument_group("windows and labels")
    w.add_argument("--seconds", type=float, default=2.0, help="window length in seconds")
    w.add_argument("--fs", type=float, default=128.0, help="sampling rate of the windows (others are resampled)")
    w.add_argument("--channels", type=int, nargs="+", default=[0, 1], help="leads to keep, by index")
    w.add_argument("--labels", choices=LABEL_MODES, default="beats",
                   help="beats: 1 at every beat annotation; all: every annotation (as the seed); "
                        "abnormal: beats outside the AAMI normal class")
    p.add_argument("--workers", type=int, default=0, help="processes rendering images (0: every core)")
    p.add_argument("--on-error", choices=("fail", "skip"), default="fail",
                   help="a bad record stops the run, or is skipped and listed in the summary")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup_logging()
    seed_everything(args.seed)
    ws = Workspace.from_arg(args.workspace)
    cfg = GenerateConfig(input_dir=args.input_dir, records=args.records, download=args.download,
                         demo=args.demo, seconds=args.seconds, fs=args.fs, channels=tuple(args.channels),
                         labels=args.labels, workers=args.workers, on_error=args.on_error,
                         demo_config=DemoConfig(n_records=args.demo_records, minutes=args.demo_minutes,
                                                seed=args.seed))
    summary = generate(ws, cfg)
    print(f"{summary.n_windows} windows ({summary.n_beats} labelled samples) from "
          f"{len(summary.records)} record(s) in {summary.input_dir} -> {ws.root} ({summary.seconds} s)")
    for name, reason in summary.skipped.items():
        print(f"skipped {name}: {reason}")
    return summary


if __name__ == "__main__":   # python -m tsad.cli.data_generate
    run_cli(main)
