"""Fine-tuning a teacher run of the registry on the train split, validated on the val split.

    python Codes/Models/vlm_train_0.5.py --workspace W      # the registry's run for that script
    python -m tsad.training.vlm_teacher --run vlm_0.25 --workspace W   # any registered teacher run

Runs on one device, or on several GPUs with ``torchrun --nproc_per_node=N`` (tsad.training.loop does the
distributed part: a distributed sampler, losses averaged across ranks, rank 0 writes).
"""

from __future__ import annotations

import torch.distributed as dist

from tsad.core.common import log, make_parser, seed_everything, setup_logging
from tsad.core.errors import run_cli
from tsad.core.geometry import load_workspace_geometry
from tsad.core.paths import TEACHER_CHECKPOINT, Workspace
from tsad.data.splits import load_split
from tsad.models.kinds import VLM_TEACHER
from tsad.models.vlm.backbone import add_backbone_args, resolve_backbone
from tsad.models.vlm.losses import teacher_loss
from tsad.models.vlm.settings import TeacherSettings, add_teacher_args
from tsad.models.vlm.teacher import WindowImages, build_teacher, checkpoint_header
from tsad.training import grid
from tsad.training.loop import TrainConfig, add_train_args, close_distributed, fit, init_distributed

# The seed's optimisation settings.
TEACHER_DEFAULTS = dict(epochs=5, batch_size=16, lr=2e-5, weight_decay=0.01, warmup_steps=1000, grad_clip=1.0)


def parse_args(argv=None, doc: str | None = None, run: str | None = None):
    """Flags of the teacher training scripts."""
    parser = make_parser(doc)
    parser.add_argument("--run", default=run, required=run is None,
                        choices=[r.name for r in grid.runs("teacher")], help="teacher run of the registry")
    add_backbone_args(parser)
    add_teacher_args(parser)
    parser.add_argument("--limit-train", type=int, default=None, help="use only the first N train windows")
    parser.add_argument("--limit-val", type=int, default=None, help="use only the first N val windows")
    add_train_args(parser, **TEACHER_DEFAULTS)
    return parser.parse_args(argv)


def _resolve_once(model: str, ws: Workspace, rank: int, world: int):
    """Rank 0 builds or downloads the backbone; the other ranks then find it in place."""
    if world > 1 and rank != 0:
        dist.barrier()
    source = resolve_backbone(model, ws)
    if world > 1 and rank == 0:
        dist.barrier()
    return source


def main(argv=None, run: str | None = None, doc: str | None = None) -> dict:
    """Trains the teacher run ``run`` (default: ``--run``) into its folder; returns fit's history."""
    args = parse_args(argv, doc or __doc__, run)
    entry = grid.get(args.run)
    alpha = entry.settings["alpha"]
    setup_logging()
    seed_everything(args.seed)
    rank, world, device = init_distributed(args.device)
    ws = Workspace.from_arg(args.workspace)
    source = _resolve_once(args.model, ws, rank, world)
    if source.untrained:
        log.warning("backbone 'tiny': a small random model; its results are not SmolVLM's")
    geometry = load_workspace_geometry(ws)
    settings = TeacherSettings.for_geometry(geometry, prompt=args.prompt, image_splitting=args.image_splitting,
                                            head=args.head, spatial_width=args.spatial_width)
    model, inputs = build_teacher(source, settings)
    train = load_split(ws, "train").subset(args.limit_train)
    val = load_split(ws, "val").subset(args.limit_val)
    model_config, extra = checkpoint_header(source, settings, inputs)
    run_dir = ws.run_dir(entry.name)
    log.info("teacher alpha=%g on %s: %d train / %d val windows, %d image tokens, %d process(es)",
             alpha, source.name, len(train), len(val), inputs.image_tokens, world)

    def loss_fn(net, batch):
        return teacher_loss(net(batch["pixels"]), batch["labels"], alpha)

    history = fit(model, WindowImages(train.image_paths, inputs, train.labels),
                  WindowImages(val.image_paths, inputs, val.labels), loss_fn, TrainConfig.from_args(args), run_dir,
                  kind=VLM_TEACHER, model_config=model_config, best_name=TEACHER_CHECKPOINT, resume=args.resume,
                  extra={**extra, "alpha": float(alpha), "geometry": geometry.to_dict()}, device=device)
    close_distributed()
    return history


def registered_main(argv=None, doc: str | None = None, script: str | None = None):
    """``main`` of a per-run script (vlm_train_<alpha>.py; ``script`` relative to Codes/, its entry of
    tsad.core.scripts.SCRIPTS): the run is the one tsad.training.grid registers for it."""
    return main(argv, run=grid.run_of_script(grid.CODES / script, "train").name, doc=doc)


if __name__ == "__main__":   # python -m tsad.training.vlm_teacher (the registry's command)
    run_cli(main)
