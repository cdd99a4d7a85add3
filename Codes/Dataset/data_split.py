"""Split the generated windows into train/val/test (90/5/5 by default).

    python Codes/Dataset/data_split.py                       # shuffled, window-wise, as the seed
    python Codes/Dataset/data_split.py --by record           # inter-patient: no record in two splits

Writes <workspace>/Data_split/<split>/<split>.csv (header "0".."256", column "0" the window id),
<split>.npy (n, 256, 2) and images/ecg_plot_<id>.png (hard links to Plots_ECG unless --copy).
Counts are checked across labels_ECG.csv, ECG_segments.npy, windows.csv and the images.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Codes/: tsad imports without installing

from tsad.common import make_parser, seed_everything, setup_logging  # noqa: E402
from tsad.paths import Workspace  # noqa: E402


def parse_args(argv=None):
    p = make_parser(__doc__)
    p.add_argument("--train", type=float, default=0.9, help="fraction of windows for training")
    p.add_argument("--val", type=float, default=0.05, help="fraction for validation (the rest is test)")
    p.add_argument("--by", choices=("window", "record"), default="window",
                   help="window: shuffled windows (as the seed); record: whole records per split")
    p.add_argument("--copy", action="store_true", help="copy images instead of hard-linking them")
    return p.parse_args(argv)


def main(argv=None):
    from tsad.data import split

    args = parse_args(argv)
    setup_logging()
    seed_everything(args.seed)
    ws = Workspace.from_arg(args.workspace)
    counts = split(ws, train=args.train, val=args.val, seed=args.seed, by=args.by, copy=args.copy)
    print(" / ".join(f"{k} {v}" for k, v in counts.items()) + f" windows in {ws.split_root}")
    return counts


if __name__ == "__main__":
    main()
