"""Distil a teacher into the student: (1-lam)*BCE(s, y) + lam*T^2*BCE(s/T, sigmoid(t/T)).

    python Codes/Models/kd_train.py --workspace W --lam 0.5 --teacher vlm_1 --temperature 2 [--preset ...] [--arch ...]

The frozen teacher's logits for the train and val windows are computed once (batched, best
device) and cached in W/cache/teacher_logits/, keyed by a hash of W/<teacher>/smolvlm_best.pth;
later epochs and runs read the cache. Presets and architectures as in student_train.py (10 epochs
in the seed preset). Writes W/KD_train_<lam>_<teacher>/ (other architectures: ..._<arch>/).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Codes/: tsad imports without installing

from tsad.student_runs import parse_train_args, train_main  # noqa: E402


def parse_args(argv=None):
    return parse_train_args(argv, __doc__, distill=True)


def main(argv=None) -> dict:
    return train_main(argv, __doc__, distill=True)


if __name__ == "__main__":
    from tsad.locks import exit_on_lock_held  # a busy workspace: one line, exit 2

    exit_on_lock_held(main)
