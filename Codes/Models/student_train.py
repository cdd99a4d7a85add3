"""Train the plain student (lambda 0): a BiLSTM with BCE on the beat labels.

    python Codes/Models/student_train.py --workspace W [--epochs 15] [--limit-train N] [--resume]

Writes W/LSTM_train/: best.pth (lowest validation loss), last.pth (for --resume),
train_losses.npy, val_losses.npy and metadata.json. Checkpoints carry their config.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Codes/: tsad imports without installing

from tsad.common import make_parser, seed_everything, setup_logging  # noqa: E402
from tsad.paths import Workspace  # noqa: E402
from tsad.student_runs import add_data_args, train_run  # noqa: E402
from tsad.train import TrainConfig, add_train_args  # noqa: E402


def parse_args(argv=None):
    parser = make_parser(__doc__)
    add_data_args(parser)
    add_train_args(parser, epochs=15)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    setup_logging()
    seed_everything(args.seed)
    return train_run(Workspace.from_arg(args.workspace), TrainConfig.from_args(args), lam=0.0,
                     limit_train=args.limit_train, limit_val=args.limit_val, resume=args.resume)


if __name__ == "__main__":
    main()
