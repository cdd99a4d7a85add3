"""Distil a teacher into the student: (1-lam)*BCE(s, y) + lam*T^2*BCE(s/T, sigmoid(t/T)).

    python Codes/Models/kd_train.py --workspace W --lam 0.5 --teacher vlm_1 --temperature 2 [--epochs 10]

The frozen teacher's logits for the train and val windows are computed once (batched, best
device) and cached in W/cache/teacher_logits/, keyed by a hash of W/<teacher>/smolvlm_best.pth;
later epochs and runs read the cache. Writes W/KD_train_<lam>_<teacher>/ like student_train.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Codes/: tsad imports without installing

from tsad.common import make_parser, seed_everything, setup_logging  # noqa: E402
from tsad.paths import Workspace  # noqa: E402
from tsad.student_runs import add_data_args, add_kd_args, train_run  # noqa: E402
from tsad.train import TrainConfig, add_train_args  # noqa: E402


def parse_args(argv=None):
    parser = make_parser(__doc__)
    add_kd_args(parser)
    add_data_args(parser)
    add_train_args(parser, epochs=10)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    setup_logging()
    seed_everything(args.seed)
    return train_run(Workspace.from_arg(args.workspace), TrainConfig.from_args(args), lam=args.lam,
                     teacher=args.teacher, temperature=args.temperature, limit_train=args.limit_train,
                     limit_val=args.limit_val, resume=args.resume, teacher_batch_size=args.teacher_batch_size)


if __name__ == "__main__":
    main()
