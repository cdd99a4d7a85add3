"""Scoring every test window with a trained teacher (vlm_<alpha>_infer.py).

Everything about the model comes from its checkpoint; the outputs follow tsad.outputs.
"""

from __future__ import annotations

import torch

from .common import log, make_parser, seed_everything, setup_logging
from .outputs import save_outputs
from .paths import Workspace, teacher_run_name
from .splits import load_split
from .teacher import load_teacher, teacher_logits


def parse_args(argv=None, doc: str | None = None):
    parser = make_parser(doc)
    parser.add_argument("--batch-size", type=int, default=32, help="windows per forward pass")
    parser.add_argument("--num-workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, ...")
    return parser.parse_args(argv)


def main(argv=None, alpha: float = 0.5, doc: str | None = None) -> dict:
    args = parse_args(argv, doc or __doc__)
    setup_logging()
    seed_everything(args.seed)
    ws = Workspace.from_arg(args.workspace)
    tag = teacher_run_name(alpha)
    run_dir = ws.run_dir(tag)
    bundle = load_teacher(run_dir, args.device)
    if bundle.source.untrained:
        log.warning("%s uses the tiny untrained backbone: its scores say nothing about SmolVLM", tag)
    test = load_split(ws, "test")
    logits = teacher_logits(bundle, test.image_paths, batch_size=args.batch_size, num_workers=args.num_workers)
    probs = torch.sigmoid(torch.from_numpy(logits)).numpy()
    files = save_outputs(run_dir, tag, probs, test.labels, test.series, test.ids)
    log.info("%s: scored %d test windows -> %s", tag, len(probs), files["probs"])
    return files
