"""Split the generated windows into train/val/test (90/5/5 by default).

    python Codes/Dataset/data_split.py                       # shuffled, window-wise, as the seed
    python Codes/Dataset/data_split.py --by record           # inter-patient: no record in two splits
    python Codes/Dataset/data_split.py --test-records 803 807 --val-records 811   # named records
    python Codes/Dataset/data_split.py --folds 5 --fold 0    # record-wise k-fold (fold 0 tests)

Writes <workspace>/Data_split/<split>/<split>.csv (header "0".."256", column "0" the window id),
<split>.npy (n, 256, 2) and images/ecg_plot_<id>.png (hard links to Plots_ECG unless --copy).
split.json lists the records of each part. Counts are checked across labels_ECG.csv, ECG_segments.npy, windows.csv and the images.
"""

from __future__ import annotations

from tsad.core.common import make_parser, seed_everything, setup_logging
from tsad.core.errors import run_cli
from tsad.core.paths import Workspace
from tsad.data.split import split


def parse_args(argv=None):
    p = make_parser(__doc__)
    p.add_argument("--train", type=float, default=0.9, help="fraction of windows for training")
    p.add_argument("--val", type=float, default=0.05, help="fraction for validation (the rest is test)")
    p.add_argument("--by", choices=("window", "record"), default="window",
                   help="window: shuffled windows (as the seed); record: whole records per split")
    p.add_argument("--copy", action="store_true", help="copy images instead of hard-linking them")
    g = p.add_argument_group("record-wise by name or fold (patients never shared between parts)")
    g.add_argument("--test-records", nargs="+", default=None, metavar="R", help="records that form the test part")
    g.add_argument("--val-records", nargs="+", default=None, metavar="R",
                   help="records that form the validation part (default: round(--val x records) drawn with --seed)")
    g.add_argument("--folds", type=int, default=None, help="record-wise k-fold: number of folds (seeded)")
    g.add_argument("--fold", type=int, default=None, help="which fold (0..folds-1) is the test part")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup_logging()
    seed_everything(args.seed)
    ws = Workspace.from_arg(args.workspace)
    counts = split(ws, train=args.train, val=args.val, seed=args.seed, by=args.by, copy=args.copy,
                   test_records=args.test_records, val_records=args.val_records, folds=args.folds, fold=args.fold)
    print(" / ".join(f"{k} {v}" for k, v in counts.items()) + f" windows in {ws.split_root}")
    return counts


if __name__ == "__main__":   # python -m tsad.cli.data_split
    run_cli(main)
