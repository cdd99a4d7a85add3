"""Train the model that ships in pretrained/: every record of the workspace, a few validating.

    python Codes/Dataset/data_generate.py --workspace W --input-dir PATH/svdb PATH/mitdb
    python Codes/Models/train_pretrained.py --workspace W --preset fast \
        --cv-summary W/cv/fcn20k-sig2/summary.csv          # the shipped model
    python Codes/Models/train_pretrained.py --workspace W --name tcn_svdb_mitdb --preset recommended
    python Codes/Models/train_pretrained.py --workspace W --name fcn5k_svdb_mitdb --arch fcn_5k [recipe] \
        --teacher pretrained_build/ens --lam 0.5        # a small student distilled from a teacher
    python Codes/Models/train_pretrained.py --workspace W --preset fast --arch fcn_80k --lookahead-s 0.35 \
        --causal-wait-s 0.05 --cv-summary W/cv/c35-l05w/summary.csv     # the shipped model's causal detector

The workspace's records (one database or several) are all used: --val of each database's records
(at least one per database) validate, the rest train. The student is trained with the student
flags (those of student_train.py: give the --preset the cross-validation chose, fast for the
shipped model), its detection threshold is
tuned on the whole validation records (thresholds.tune_threshold, as cross-validation does), and the
run is copied into --out-dir/<--name>/ (default pretrained/fcn20k_svdb_mitdb/, the folder
``detect.py --run pretrained`` loads): best.pth (weights with their configuration and window
geometry), detection.json, metadata.json, model.onnx (the same model for onnxruntime, which
detect.py runs by default) and MODEL_CARD.md (data, recipe, command, cost, the cross-validation
figures of --cv-summary, licence of the data). The folder is replaced whole (its beat classifier
and causal detector are kept).

With --lookahead-s the student is causal (it reads at most that much signal after each sample) and is
shipped as the folder's causal detector, in --out-dir/<--name>/causal/ with its own card, for
``detect.py --latency-s``; the offline detector beside it must have been shipped first.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from tsad.cli.model_card import write_causal_model, write_shipped_model
from tsad.core.common import seed_everything, setup_logging
from tsad.core.errors import run_cli
from tsad.core.paths import PRETRAINED_DIR, PRETRAINED_MODELS, Workspace
from tsad.data.folds import draw_validation
from tsad.data.generate import record_sources
from tsad.detection import thresholds
from tsad.experiments.crossval import load_cv_data, source_map
from tsad.models import loader
from tsad.training.flags import parse_train_args, recipe_from_args
from tsad.training.loop import TrainConfig
from tsad.training.students import train_run


def add_args(parser) -> None:
    g = parser.add_argument_group("the shipped model")
    g.add_argument("--name", default=PRETRAINED_MODELS["pretrained"], help="folder name under --out-dir")
    g.add_argument("--out-dir", default=str(PRETRAINED_DIR), help="where shipped models live")
    g.add_argument("--val", type=float, default=0.05, help="share of each database's records that validate")
    g.add_argument(
        "--cv-summary",
        nargs="*",
        default=[],
        metavar="CSV",
        help="summary.csv files of cross-validations of this recipe, quoted in the model card",
    )
    g.add_argument("--card-note", default=None, metavar="TEXT",
                   help="a paragraph that opens the card's Measured section (e.g. what --cv-summary is compared with)")
    g.add_argument("--causal-wait-s", type=float, default=None, metavar="S",
                   help="with --lookahead-s: how long causal picking waits after a peak, kept in the run's "
                        "detection.json (default: not kept, 0.1 s); a shorter wait leaves more of a latency to "
                        "the look-ahead (docs/RESULTS.md, section H)")
    g.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    g.add_argument("--teacher", default=None, metavar="RUN",
                   help="distil from this teacher run of the workspace, trained on the same records (e.g. "
                        "ensemble_teacher.py of shipped-recipe students); the card says so")
    g.add_argument("--lam", type=float, default=0.0, help="with --teacher: weight of the teacher term")
    g.add_argument("--temperature", type=float, default=2.0, help="with --teacher: distillation temperature")


def main(argv=None):
    import os
    import platform
    import time

    import torch

    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_train_args(argv, __doc__, add_extra=add_args)
    setup_logging()
    seed_everything(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    ws = Workspace.from_arg(args.workspace)
    data = load_cv_data(ws)
    groups = data.groups
    val_records = draw_validation(sorted(groups), args.val, args.seed, groups)
    train_records = [r for r in sorted(groups) if r not in val_records]
    if not train_records or not val_records:
        raise ValueError(
            f"{ws.root}: {len(groups)} record(s) cannot give both training and validation records"
        )
    sources = source_map(record_sources(ws), val_records)
    run_name = f"pretrained_build/{args.name}" + ("-causal" if args.lookahead_s is not None else "")
    # the card names the workspace W (made by data_generate.py), not this machine's folders
    shown = [
        ("W" + a[len(str(ws.root)) :]) if a.startswith(str(ws.root)) else a
        for a in (str(Path(a).resolve()) if Path(a).exists() else a for a in argv)
    ]
    command = "python Codes/Models/train_pretrained.py " + shlex.join(shown)
    if args.causal_wait_s is not None and args.lookahead_s is None:
        raise ValueError("--causal-wait-s is for a causal detector (--lookahead-s)")
    if (args.lam > 0) != bool(args.teacher):
        raise ValueError("distillation needs both --teacher RUN and --lam > 0")
    started = time.perf_counter()
    train_run(
        ws,
        TrainConfig.from_args(args),
        run_name=run_name,
        recipe=recipe_from_args(args),
        preset=args.preset,
        arch=args.arch,
        resume=args.resume,
        train_windows=args.train_windows,
        seed=args.seed,
        data=(data.subset(train_records, "train", ws), data.subset(val_records, "val", ws)),
        lam=args.lam,
        teacher=args.teacher,
        temperature=args.temperature,
        lookahead_s=args.lookahead_s,
        train_span=args.train_span,
        hard_negatives=args.hard_negatives,
        mine_from=args.mine_from,
    )
    train_s = time.perf_counter() - started
    detector = loader.load(run_name, ws)
    tuned = thresholds.tune_threshold(detector, [sources[r] / r for r in val_records])
    if args.causal_wait_s is not None:   # causal picking's wait, carried by the run (Predictor.causal_wait_s)
        tuned["causal_wait_s"] = args.causal_wait_s
    thresholds.save_tuned_threshold(ws.run_dir(run_name), tuned)
    cost = {
        "train_minutes": round(train_s / 60, 1),
        "total_minutes": round((time.perf_counter() - started) / 60, 1),
        "torch_threads": torch.get_num_threads(),
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores, torch {torch.__version__}",
    }
    order = list(dict.fromkeys(map(str, data.databases))) if data.databases is not None else None
    ship = write_causal_model if args.lookahead_s is not None else write_shipped_model
    out = ship(
        ws.run_dir(run_name),
        Path(args.out_dir) / args.name,
        command=command,
        input_order=order,
        train_records={
            db: sorted(r for r in train_records if groups[r] == db) for db in sorted(set(groups.values()))
        },
        val_records=val_records,
        cv_summaries=[Path(p) for p in args.cv_summary],
        cost=cost,
        note=args.card_note,
    )
    print(
        f"shipped model -> {out} (threshold {tuned['threshold']:g}, validation F1 {tuned['val_F1']:.4f}, "
        f"{cost['train_minutes']} min of training)"
    )
    return out


if __name__ == "__main__":   # python -m tsad.cli.train_pretrained
    run_cli(main)
