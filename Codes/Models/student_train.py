"""Train the plain student (lambda 0) on the beat labels.

    python Codes/Models/student_train.py --workspace W [--preset seed|recommended] [--arch bilstm] [--resume]

--preset seed (the default) is the original schedule: the BiLSTM, lr 2e-5, batch 16, 15 epochs,
early stopping after 5; --preset recommended is the architecture and recipe that record-wise
cross-validation chose (docs/RESULTS.md). Writes W/LSTM_train/ (other architectures:
W/LSTM_train_<arch>/): best.pth (lowest validation loss), last.pth (for --resume),
train_losses.npy, val_losses.npy and metadata.json. Checkpoints carry their config.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Codes/: tsad imports without installing

from tsad.student_runs import parse_train_args, train_main  # noqa: E402


def parse_args(argv=None):
    return parse_train_args(argv, __doc__, distill=False)


def main(argv=None) -> dict:
    return train_main(argv, __doc__, distill=False)


if __name__ == "__main__":
    from tsad.locks import exit_on_lock_held  # a busy workspace: one line, exit 2

    exit_on_lock_held(main)
