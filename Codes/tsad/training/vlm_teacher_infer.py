"""Scoring every test window with a trained teacher run of the registry.

    python Codes/Inference/vlm/vlm_0.5_infer.py --workspace W     # the registry's run for that script
    python -m tsad.training.vlm_teacher_infer --run vlm_0.25 --workspace W     # any registered teacher run

Everything about the model comes from its checkpoint; the outputs follow tsad.scoring.outputs.
"""

from __future__ import annotations

import torch

from tsad.core.common import log, make_parser, seed_everything, setup_logging
from tsad.core.errors import run_cli
from tsad.core.geometry import check_checkpoint_geometry, load_workspace_geometry
from tsad.core.paths import Workspace
from tsad.data.splits import load_split
from tsad.models.vlm.teacher import load_teacher, teacher_logits
from tsad.scoring.outputs import save_outputs
from tsad.training import grid


def parse_args(argv=None, doc: str | None = None, run: str | None = None):
    """Flags of the teacher inference scripts."""
    parser = make_parser(doc)
    parser.add_argument("--run", default=run, required=run is None,
                        choices=[r.name for r in grid.runs("teacher")], help="teacher run of the registry")
    parser.add_argument("--batch-size", type=int, default=32, help="windows per forward pass")
    parser.add_argument("--num-workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, ...")
    return parser.parse_args(argv)


def main(argv=None, run: str | None = None, doc: str | None = None) -> dict:
    """Scores the test split with the teacher run ``run`` (default: ``--run``); returns the files."""
    args = parse_args(argv, doc or __doc__, run)
    setup_logging()
    seed_everything(args.seed)
    ws = Workspace.from_arg(args.workspace)
    tag = args.run
    run_dir = ws.run_dir(tag)
    geometry = load_workspace_geometry(ws)
    bundle = load_teacher(run_dir, args.device)
    check_checkpoint_geometry(bundle.header, geometry, run_dir)
    if bundle.source.untrained:
        log.warning("%s uses the tiny untrained backbone: its scores say nothing about SmolVLM", tag)
    test = load_split(ws, "test")
    logits = teacher_logits(bundle, test.image_paths, batch_size=args.batch_size, num_workers=args.num_workers)
    probs = torch.sigmoid(torch.from_numpy(logits)).numpy()
    files = save_outputs(run_dir, tag, probs, test.labels, test.series, test.ids)
    log.info("%s: scored %d test windows -> %s", tag, len(probs), files["probs"])
    return files


def registered_main(argv=None, doc: str | None = None, script: str | None = None):
    """``main`` of a per-run script (vlm_<alpha>_infer.py; ``script`` relative to Codes/, its entry of
    tsad.core.scripts.SCRIPTS): the run is the one tsad.training.grid registers for it."""
    return main(argv, run=grid.run_of_script(grid.CODES / script, "infer").name, doc=doc)


if __name__ == "__main__":   # python -m tsad.training.vlm_teacher_infer (the registry's command)
    run_cli(main)
