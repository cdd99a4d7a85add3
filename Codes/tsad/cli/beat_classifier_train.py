"""Trains the beat classifier that gives every detected beat its AAMI class (N, S, V, F, Q) and saves
it beside a detector, in the detector's run folder (classifier.pth, and classifier.onnx where the
detector runs through onnxruntime; a model card's "Beat classes" section is rewritten): detection
with that run then writes each beat's class (the annotation symbol, and the class probabilities in
<record>_beats.csv).

    python Codes/Models/beat_classifier_train.py --run pretrained --input-dir ../shared/data/svdb ../shared/data/mitdb

--run is a run of the workspace, a run folder's path or a shipped model's name (pretrained): the
folder must hold the detector. The classifier is trained on every annotated beat of the records in
--input-dir (paced records too: their beats are Q), less --exclude, at the reference beat positions
(tsad.models.beat_classifier; the settings chosen by record-wise cross-validation with
Codes/Models/beat_classes_cv.py, whose figures --cv-summary copies into the checkpoint).
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import pandas as pd
import torch
from tqdm import tqdm

from tsad.cli.model_card import update_card_classes
from tsad.core.common import log, make_parser, seed_everything, setup_logging
from tsad.core.errors import run_cli
from tsad.core.paths import CLASSIFIER_CHECKPOINT, CLASSIFIER_ONNX, ONNX_FILE, Workspace
from tsad.data.beat_context import RHYTHM_CONTEXTS, WAVE_CONTEXTS, WAVE_GROUPS
from tsad.data.generate import list_records
from tsad.experiments.beat_classes import learned_arrays, read_beats
from tsad.models.beat_classifier import (
    CLASSES,
    ClassifierConfig,
    count_parameters,
    save_classifier,
)
from tsad.models.export import export_classifier_onnx
from tsad.models.loader import find_checkpoint
from tsad.training.beat_classifier import train_classifier


def parse_args(argv=None):
    p = make_parser(__doc__)
    p.add_argument("--run", required=True, help="the detector's run (name, folder, or pretrained)")
    p.add_argument("--input-dir", nargs="+", required=True, metavar="DIR",
                   help="folders of annotated WFDB records with two leads, one per database")
    p.add_argument("--exclude", nargs="*", default=[], metavar="RECORD", help="records not to train on")
    p.add_argument("--epochs", type=int, default=6, help="epochs over the training beats")
    p.add_argument("--batch-size", type=int, default=256, help="beats per step")
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (cosine decay)")
    p.add_argument("--weight-power", type=float, default=0.5,
                   help="class weights: each class's frequency to the power -this (0 none, 1 balanced)")
    p.add_argument("--shift", type=int, default=0, help="training beats moved by up to this many samples")
    p.add_argument("--lead-dropout", type=float, default=0.3, help="share of beats with one lead zeroed")
    p.add_argument("--rhythm-context", choices=list(RHYTHM_CONTEXTS), default="recent",
                   help="the rhythm features the classifier reads (tsad.data.beat_context): the recent rhythm, or "
                        "with the steady one too")
    p.add_argument("--wave-context", choices=list(WAVE_CONTEXTS), default="recent",
                   help="the waveform groups the classifier reads (tsad.data.beat_context): the beat and the beat "
                        "minus the recent template, or minus the on-time template too")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--cv-summary", default=None, metavar="CSV",
                   help="beat_classes_cv.py's summary.csv of the same settings: its learned rows go in the checkpoint")
    return p.parse_args(argv)


def main(argv=None) -> Path:
    args = parse_args(argv)
    setup_logging()
    seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    ws = Workspace.from_arg(args.workspace)
    run_dir = ws.resolve_run_dir(args.run)
    if find_checkpoint(run_dir) is None:
        raise FileNotFoundError(f"{run_dir}: no detector here to put a classifier beside (train the run first)")
    started = time.perf_counter()
    records = []
    for folder in map(Path, args.input_dir):
        names = [n for n in list_records(folder) if n not in set(args.exclude)]
        for name in tqdm(names, desc=f"beats of {folder.name}", unit="rec", disable=None):
            records.append(read_beats(folder / name, folder.name))
    waves, rhythm, targets = learned_arrays(records)
    counts = {c: int((targets == k).sum()) for k, c in enumerate(CLASSES)}
    log.info("%d records, %d beats %s", len(records), len(targets), counts)
    config = ClassifierConfig(leads=waves.shape[1] // len(WAVE_GROUPS),
                              rhythm_features=RHYTHM_CONTEXTS[args.rhythm_context],
                              wave_groups=WAVE_CONTEXTS[args.wave_context])
    model, losses = train_classifier(waves, rhythm, targets, config=config,
                                     epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                     weight_power=args.weight_power,
                                     lead_dropout=args.lead_dropout, shift=args.shift, seed=args.seed,
                                     progress=True)
    minutes = (time.perf_counter() - started) / 60
    cv = None
    if args.cv_summary:
        table = pd.read_csv(args.cv_summary)
        cv = table[table["classifier"] == "learned"].to_dict(orient="records")
    path = run_dir / CLASSIFIER_CHECKPOINT
    save_classifier(path, model, records={db: [r.name for r in records if r.database == db]
                                          for db in dict.fromkeys(r.database for r in records)},
                    beats=counts, recipe={"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                                          "weight_power": args.weight_power,
                                          "lead_dropout": args.lead_dropout, "shift": args.shift,
                                          "rhythm_context": args.rhythm_context, "wave_context": args.wave_context,
                                          "seed": args.seed},
                    losses=[round(x, 5) for x in losses], cv=cv,
                    cost={"minutes": round(minutes, 2), "threads": args.threads, "machine": platform.machine(),
                          "torch": str(torch.__version__)},
                    command=" ".join(["python", "Codes/Models/beat_classifier_train.py", *sys.argv[1:]]))
    if (run_dir / CLASSIFIER_ONNX).is_file() or (run_dir / ONNX_FILE).is_file():
        export_classifier_onnx(run_dir, force=True)   # where the detector runs through onnxruntime
    update_card_classes(run_dir)
    print(f"classifier ({count_parameters(model):,} parameters) trained on {len(targets):,} beats of "
          f"{len(records)} records in {minutes:.1f} min; loss by epoch {', '.join(f'{x:.3f}' for x in losses)}\n"
          f"written: {path}")
    return path


if __name__ == "__main__":   # python -m tsad.cli.beat_classifier_train
    run_cli(main)
