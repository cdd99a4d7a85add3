"""Plot train and validation loss against epoch for every trained run in the workspace.

    python Codes/Models/plot_losses.py --workspace W

Reads W/<run>/train_losses.npy and val_losses.npy of every run (student, KD, teacher) and
writes W/Plots/losses_<run>.png for each and W/Plots/losses_all.png comparing them.
"""

from __future__ import annotations

from pathlib import Path

from tsad.core.common import log, make_parser, seed_everything, setup_logging
from tsad.core.errors import run_cli
from tsad.core.paths import Workspace
from tsad.experiments.curves import plot_all_losses


def parse_args(argv=None):
    return make_parser(__doc__).parse_args(argv)


def main(argv=None) -> list[Path]:
    args = parse_args(argv)
    setup_logging()
    seed_everything(args.seed)
    written = plot_all_losses(Workspace.from_arg(args.workspace))
    for path in written:
        log.info("wrote %s", path)
    return written


if __name__ == "__main__":   # python -m tsad.cli.plot_losses
    run_cli(main)
