"""Score every test window with a trained student (plain or distilled) and write its outputs.

    python Codes/Inference/lstm/student_infer.py --workspace W --run LSTM_train

Any student run folder works (e.g. --run KD_train_0.5_vlm_1): the model is rebuilt from
W/<run>/best.pth alone. Writes all_probs_<run>.npy, all_labels_<run>.npy, all_ts_<run>.npy
and ids_<run>.npy into W/<run>/, one row per test window.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # Codes/: tsad imports without installing

from tsad.common import make_parser, seed_everything, setup_logging  # noqa: E402
from tsad.paths import STUDENT_RUN, Workspace  # noqa: E402
from tsad.student_runs import infer_run  # noqa: E402


def parse_args(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument("--run", default=STUDENT_RUN, help="student run folder in the workspace")
    parser.add_argument("--batch-size", type=int, default=256, help="windows per forward pass")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, ...")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N test windows")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    setup_logging()
    seed_everything(args.seed)
    return infer_run(Workspace.from_arg(args.workspace), args.run, batch_size=args.batch_size,
                     device=args.device, limit=args.limit)


if __name__ == "__main__":
    main()
