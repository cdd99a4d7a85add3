"""Plot train and validation loss against epoch for every trained run in the workspace.

    python Codes/Models/plot_losses.py --workspace W

Reads W/<run>/train_losses.npy and val_losses.npy of every run (student, KD, teacher) and
writes W/Plots/losses_<run>.png for each and W/Plots/losses_all.png comparing them.
"""

from __future__ import annotations

from pathlib import Path

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

from tsad.core.common import log, make_parser, seed_everything, setup_logging  # noqa: E402
from tsad.core.paths import Workspace  # noqa: E402
from tsad.experiments.curves import plot_all_losses  # noqa: E402


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


main = script(__name__, main)
