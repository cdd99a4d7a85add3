"""Run every stage in order: data, split, the teachers and their inference, the plain student, the
distilled students, student inference, loss curves and the evaluation table; the runs are those of
tsad/training/grid.py (by default the seed's grid of teacher alphas and student lambdas).

    python Codes/run_pipeline.py                                  # embedded default: demo data, tiny teacher
    python Codes/run_pipeline.py --quick                          # a reduced run (what CI executes)
    python Codes/run_pipeline.py --input-dir ../shared/data/svdb --model HuggingFaceTB/SmolVLM-256M-Instruct
    python Codes/run_pipeline.py --resume                         # skip steps whose outputs are complete
    python Codes/run_pipeline.py --quick --seconds 4 --fs 250     # another window geometry

Each stage stays runnable alone (the command of every step is logged). A manifest per step goes to
<workspace>/manifests/.
"""

from __future__ import annotations

import time

from tsad.core.common import make_parser, setup_logging
from tsad.core.errors import run_cli
from tsad.core.paths import Workspace
from tsad.data.ecg import LABEL_MODES
from tsad.experiments.pipeline import STAGES, data_flags, plan, run_steps


def parse_args(argv=None):
    p = make_parser(__doc__)
    p.add_argument("--input-dir", help="WFDB records to use instead of the demo database")
    p.add_argument("--records", nargs="+", help="record names to use from --input-dir (default: all)")
    p.add_argument("--download", metavar="DB", help="fetch a PhysioNet database (e.g. svdb) first")
    w = p.add_argument_group("window geometry (passed to data_generate.py; later stages read it from the workspace)")
    w.add_argument("--seconds", type=float, default=None, help="window length in seconds (default: the script's, 2)")
    w.add_argument("--fs", type=float, default=None, help="sampling rate of the windows (default: the script's, 128)")
    w.add_argument("--channels", type=int, nargs="+", default=None, help="leads to keep (default: 0 1)")
    w.add_argument("--labels", choices=LABEL_MODES, default=None, help="label mode (default: beats)")
    p.add_argument("--model", default="tiny",
                   help="teacher backbone: tiny (offline, untrained), a Hub id, or a local folder")
    p.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES), help="stages to run, in order")
    p.add_argument("--resume", action="store_true", help="skip steps whose outputs are complete and valid")
    p.add_argument("--epochs", type=int, default=None, help="epochs for every training step (default: per schedule)")
    p.add_argument("--quick", action="store_true", help="a reduced run: tiny data, one or two epochs")
    p.add_argument("--schedule", choices=("auto", "short", "seed"), default="auto",
                   help="training schedule: short (few epochs, higher learning rate: CPU-sized) or seed "
                        "(the scripts' defaults); auto: short on the demo database, seed on real data")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup_logging()
    ws = Workspace.from_arg(args.workspace)
    real = bool(args.input_dir or args.download)
    schedule = args.schedule if args.schedule != "auto" else ("seed" if real else "short")
    if args.quick:
        schedule = "quick"
    profile = f"{'real data' if real else 'demo data'}, {schedule} schedule"
    steps = plan(ws, schedule=schedule, demo_size="quick" if args.quick else "demo", input_dir=args.input_dir,
                 records=args.records, download=args.download, model=args.model, epochs=args.epochs, seed=args.seed,
                 geometry_flags=data_flags(args.seconds, args.fs, args.channels, args.labels))
    started = time.time()
    report = run_steps(ws, steps, args.stages, args.resume)
    minutes = (time.time() - started) / 60
    print(f"\npipeline ({profile}) finished in {minutes:.1f} min; workspace {ws.root}")
    for row in report:
        print(f"  {row['step']:<28} {row['status']:<8} {row['seconds']:>8.1f} s")
    evaluated = any(row["step"] == "plot_inference" and row["status"] == "ran" for row in report)
    if evaluated:   # the evaluation step printed the table above
        print(f"results: {ws.results_md}")
    elif ws.results_md.is_file():
        print("\n" + ws.results_md.read_text())
    print(f"Open the app:  TSAD_WORKSPACE={ws.root} streamlit run Codes/GUI/0_Homepage.py")
    return report


if __name__ == "__main__":   # python -m tsad.cli.run_pipeline
    run_cli(main)
