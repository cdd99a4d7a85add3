"""Trains the beat verifier of a detector and saves it beside the detector, in its run folder
(verifier.pth, and verifier.onnx where the detector runs through onnxruntime; a model card's
"Beat verifier" section is rewritten): detection with that run then drops the detections the
verifier calls "not a beat" (tsad.models.verifier; detect.py --no-verifier keeps them).

    python Codes/Models/verifier_train.py --run pretrained --input-dir ../shared/data/svdb ../shared/data/mitdb

The recipe is the one docs/RESULTS.md section P cross-validated (Codes/Models/beat_classes_cv.py
--classifiers verifier --verifier-drop tuned --verifier-noise 12 3 --verifier-keep V), and the same
code trains it (tsad.experiments.beat_classes.train_verifier): the run's own detector finds the beats
of every record of --input-dir (less --exclude) at 128 Hz and of two noisy copies of each (nstdb-style
noise at --noise-snr dB); those within 150 ms of a reference beat take its class, the others are "not
a beat"; a record-wise quarter of the records is held out to choose the probability of "not a beat"
above which a detection is dropped (by the class-balanced F1 of what is kept), and a beat the
verifier would call one of --keep is never dropped. --cv-paired copies the detection_paired.csv of
beat_classes_cv.py runs of the same recipe (one per seed: the verifier against itself dropping
nothing, paired over records) into the checkpoint, for the model card.
"""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch
from tqdm import tqdm

from tsad.cli.model_card import update_card_verifier
from tsad.core.common import log, make_parser, seed_everything, setup_logging
from tsad.core.errors import run_cli
from tsad.core.paths import CLASSIFIER_CHECKPOINT, ONNX_FILE, VERIFIER_CHECKPOINT, VERIFIER_ONNX, Workspace
from tsad.data.beat_context import RHYTHM_CONTEXTS, WAVE_CONTEXTS
from tsad.data.generate import list_records
from tsad.experiments.beat_classes import (
    VERIFIER,
    VERIFIER_DROPS,
    detector_finder,
    read_beats,
    train_verifier,
)
from tsad.models import loader
from tsad.models.beat_classifier import CLASSES, count_parameters, save_classifier
from tsad.models.export import export_verifier_onnx

RECIPE_FLAGS = ("epochs", "weight_power", "shift", "rhythm_context", "wave_context", "drop", "noise_snr", "keep",
                "keep_classified", "seed")


def parse_args(argv=None):
    p = make_parser(__doc__)
    p.add_argument("--run", required=True, help="the detector's run (name, folder, or pretrained)")
    p.add_argument("--input-dir", nargs="+", required=True, metavar="DIR",
                   help="folders of annotated WFDB records with two leads, one per database")
    p.add_argument("--exclude", nargs="*", default=[], metavar="RECORD", help="records not to train on")
    p.add_argument("--noise-snr", type=float, nargs="*", default=[12.0, 3.0], metavar="SNR",
                   help="also train on a noisy copy of every record at each of these SNRs (dB); none: clean only")
    p.add_argument("--keep", nargs="*", choices=list(CLASSES), default=["V"], metavar="CLASS",
                   help="beat classes the verifier never drops (none: it may drop any)")
    p.add_argument("--keep-classified", action="store_true",
                   help="also never drop what the run's beat classifier (classifier.pth, which must be there) gives "
                        "one of --keep (docs/RESULTS.md section R)")
    p.add_argument("--drop", choices=VERIFIER_DROPS, default="tuned",
                   help="drop above a threshold validated on a record-wise quarter (tuned), or when 'not a beat' "
                        "is the most likely class (argmax)")
    p.add_argument("--epochs", type=int, default=6, help="epochs over the training beats")
    p.add_argument("--weight-power", type=float, default=0.5,
                   help="class weights: each class's frequency to the power -this (0 none, 1 balanced)")
    p.add_argument("--shift", type=int, default=0, help="training beats moved by up to this many samples")
    p.add_argument("--rhythm-context", choices=list(RHYTHM_CONTEXTS), default="recent",
                   help="the rhythm features the verifier reads (tsad.data.beat_context)")
    p.add_argument("--wave-context", choices=list(WAVE_CONTEXTS), default="recent",
                   help="the waveform groups the verifier reads (tsad.data.beat_context)")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--cv-paired", nargs="*", default=[], metavar="CSV",
                   help="beat_classes_cv.py's detection_paired.csv of the same recipe, one per seed: its rows go in "
                        "the checkpoint and the model card")
    return p.parse_args(argv)


def main(argv=None) -> Path:
    args = parse_args(argv)
    setup_logging()
    seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    ws = Workspace.from_arg(args.workspace)
    run_dir = ws.resolve_run_dir(args.run)
    if loader.find_checkpoint(run_dir) is None:
        raise FileNotFoundError(f"{run_dir}: no detector here to put a verifier beside (train the run first)")
    if args.keep_classified and not (run_dir / CLASSIFIER_CHECKPOINT).is_file():
        raise FileNotFoundError(f"{run_dir / CLASSIFIER_CHECKPOINT}: --keep-classified needs the run's beat classifier "
                                f"(Codes/Models/beat_classifier_train.py)")
    started = time.perf_counter()
    # the bare detector: what the verifier learns the mistakes of (not filtered by an older verifier)
    detector = loader.load(str(run_dir), ws, backend="torch", threads=args.threads, classify=False, verify=False)
    records = []
    for folder in map(Path, args.input_dir):
        names = [n for n in list_records(folder) if n not in set(args.exclude)]
        for name in tqdm(names, desc=f"records of {folder.name}", unit="rec", disable=None):
            records.append(read_beats(folder / name, folder.name, keep_signal=True))
    if len(records) < 2:
        raise ValueError(f"{', '.join(args.input_dir)}: {len(records)} record(s); the drop threshold is chosen on "
                         f"records held out from training, so at least 2 are needed")
    model, rule, not_beats = train_verifier(records, detector_finder(detector), args.seed, drop=args.drop,
                                            noise_snr=tuple(args.noise_snr), keep_classes=tuple(args.keep),
                                            epochs=args.epochs, weight_power=args.weight_power, shift=args.shift,
                                            rhythm_context=args.rhythm_context, wave_context=args.wave_context)
    rule = replace(rule, keep_classified=args.keep_classified)
    minutes = (time.perf_counter() - started) / 60
    cv = []
    for run, csv in enumerate(args.cv_paired):
        table = pd.read_csv(csv)
        missing = {"classifier", "reference_classifier", "database", "figure", "difference"} - set(table.columns)
        if missing:
            raise ValueError(f"{csv}: not a beat_classes_cv.py detection_paired.csv (no {', '.join(sorted(missing))})")
        mine = table[table["classifier"].str.startswith(VERIFIER) & table["reference_classifier"].str.startswith("unverified")]
        cv += mine.assign(cv_run=run, cv_source=str(csv)).to_dict(orient="records")
    path = run_dir / VERIFIER_CHECKPOINT
    save_classifier(path, model, verifier=rule.as_dict(), trained_not_beats=not_beats,
                    records={db: [r.name for r in records if r.database == db]
                             for db in dict.fromkeys(r.database for r in records)},
                    recipe={flag: getattr(args, flag) for flag in RECIPE_FLAGS}, cv=cv,
                    cost={"minutes": round(minutes, 2), "threads": args.threads, "machine": platform.machine(),
                          "torch": str(torch.__version__)},
                    command=" ".join(["python", "Codes/Models/verifier_train.py", *sys.argv[1:]]))
    if (run_dir / VERIFIER_ONNX).is_file() or (run_dir / ONNX_FILE).is_file():
        export_verifier_onnx(run_dir, force=True)   # where the detector runs through onnxruntime
    update_card_verifier(run_dir)
    log.info("verifier rule %s", rule)
    print(f"verifier ({count_parameters(model):,} parameters) trained on the detections of {len(records)} records "
          f"and their noisy copies at {', '.join(f'{s:g}' for s in args.noise_snr) or 'no'} dB ({not_beats:,} not a "
          f"beat) in {minutes:.1f} min; drops a detection above {rule.drop_above} of 'not a beat'"
          f"{', never a beat it calls ' + ' or '.join(rule.keep_classes) if rule.keep_classes else ''}"
          f"{' (nor one the beat classifier calls so)' if rule.keep_classified else ''}\n"
          f"written: {path}")
    return path


if __name__ == "__main__":   # python -m tsad.cli.verifier_train
    run_cli(main)
