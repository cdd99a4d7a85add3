"""Record-wise cross-validation of a student (or a classical detector) on whole records.

    python Codes/Models/student_cv.py --workspace W --name recommended --preset recommended
    python Codes/Models/student_cv.py --workspace W --name xqrs --detector xqrs
    python Codes/Models/student_cv.py --workspace W --name lodo-mitdb --test-database mitdb --preset recommended
    python Codes/Models/student_cv.py --workspace W --compare xqrs recommended     # table of finished CVs
    python Codes/Models/student_cv.py --workspace W --name recommended-lead0 --models-from recommended --leads 0
    python Codes/Models/student_cv.py --workspace W --name causal-l05 --models-from causal --latency-s 0.5
    python Codes/Models/student_cv.py --workspace W --name fcn5k-kd --arch fcn_5k [recipe] \
        --lam 0.5 --fold-teacher cv/ens/fold{fold}            # distilled from each fold's own teacher

The workspace holds the windows of every record (data_generate.py on one database or several:
``--input-dir PATH/svdb PATH/mitdb``); its records are cut into --folds record-wise folds (seeded;
with several databases each database is spread over the folds, and each fold validates on
records of every database). For each fold the student trains on the other records' windows,
runs over the whole test records (detect.py's procedure: overlapping windows, stitched
probabilities, beats at the record's own sample numbers) and is scored beat by beat at 150 ms
(evaluate_records.py's procedure) and with MSP/MSR on the test records' windows. Every student
flag of student_train.py applies. --test-database leaves one database out instead.

Writes W/cv/<name>/: fold<k>/ (run, detections/, records.csv, fold.json), folds.csv, records.csv,
summary.csv and summary.md (mean and 95% interval over folds, per database too; per-record
spread). Finished folds are skipped on a rerun; --resume also continues a fold's interrupted
training. One process at a time writes a CV folder: a second one with the same --name stops with
one line naming the first (or, with --wait, waits for it).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from tsad.core import locks
from tsad.core.common import seed_everything, setup_logging
from tsad.core.errors import run_cli, warn
from tsad.core.fileio import save_text
from tsad.core.paths import Workspace
from tsad.data.folds import database_test_parts
from tsad.data.generate import record_sources
from tsad.detection.folders import DEFAULT_EXT, check_detections
from tsad.experiments import crossval, cv_report
from tsad.experiments.evaluate import to_markdown
from tsad.models.classical import CLASSICAL_DETECTORS
from tsad.training.flags import parse_train_args, recipe_from_args
from tsad.training.loop import TrainConfig
from tsad.training.students import train_run


def add_cv_args(parser) -> None:
    g = parser.add_argument_group("cross-validation")
    g.add_argument("--input-dir", default=None,
                   help="folder of the WFDB records (default: each record's folder as the data stage read it)")
    g.add_argument("--name", default=None, help="name of this experiment: W/cv/<name>/ (required)")
    g.add_argument("--compare", nargs="+", default=None, metavar="NAME",
                   help="print the comparison of finished cross-validations (same folds) and exit")
    g.add_argument("--folds", type=int, default=5, help="number of record-wise folds")
    g.add_argument("--only-folds", type=int, nargs="+", default=None, metavar="K", help="run only these folds")
    g.add_argument("--rescore", action="store_true",
                   help="for folds finished before: keep their trained models, tune the threshold, detect and "
                        "score again with the current code (a new scorer or threshold rule)")
    g.add_argument("--models-from", default=None, metavar="NAME",
                   help="score the fold models of the finished cross-validation NAME (same folds) as they are, with "
                        "their tuned thresholds: nothing is trained or tuned (e.g. with --leads)")
    g.add_argument("--fold-teacher", default=None, metavar="RUN",
                   help="distil each fold's student from this teacher run, {fold} replaced by the fold (it must "
                        "have been trained on that fold's training records only: ensemble_teacher.py --folds)")
    g.add_argument("--lam", type=float, default=0.0, help="with --fold-teacher: weight of the teacher term")
    g.add_argument("--temperature", type=float, default=2.0, help="with --fold-teacher: distillation temperature")
    g.add_argument("--leads", type=int, nargs="+", default=None, metavar="K",
                   help="the test records' leads the models may read (detect.py --leads; the others are zero), "
                        "e.g. --leads 0 for one-lead figures (default: every lead)")
    g.add_argument("--latency-s", type=float, default=None, metavar="S",
                   help="detect the test records causally (detect.py --latency-s): fold models trained with "
                        "--lookahead-s, e.g. --models-from NAME --latency-s 0.5 (default: offline)")
    g.add_argument("--causal-wait-s", type=float, default=None, metavar="S",
                   help="with --latency-s: how long causal picking waits after a peak for a higher one (default: "
                        "each fold model's detection.json, else 0.1 s); a shorter wait leaves more of the latency "
                        "to the model's look-ahead (docs/RESULTS.md, section H)")
    g.add_argument("--test-database", default=None, metavar="DB",
                   help="leave one database out: train on the workspace's other databases, test on every record "
                        "of DB (a folder name given to data_generate.py), instead of --folds")
    g.add_argument("--val", type=float, default=0.05, help="share of the training records that validate")
    g.add_argument("--fold-seed", type=int, default=None,
                   help="seed of the folds and validation records (default: --seed); another --seed with the same "
                        "--fold-seed repeats the training on the same folds, e.g. for paired seeds")
    g.add_argument("--detector", choices=tuple(CLASSICAL_DETECTORS), default=None,
                   help="score a classical detector (tsad.models.classical.CLASSICAL_DETECTORS) instead of "
                        "training a student")
    g.add_argument("--hop", type=int, default=None, help="detection hop in samples (default: half a window)")
    g.add_argument("--threshold", type=float, default=None,
                   help="beat probability threshold on whole records (default: tuned per fold on its validation records)")
    g.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")


def main(argv=None):
    import torch

    args = parse_train_args(argv, __doc__, add_extra=add_cv_args)
    setup_logging()
    seed_everything(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    ws = Workspace.from_arg(args.workspace)
    if args.compare:
        table = cv_report.comparison(ws, args.compare)
        print(to_markdown(table))
        per_db = cv_report.database_class_table(ws, args.compare)
        print("\n## Per database and beat class (pooled over every test record)\n\n" + to_markdown(per_db))
        return table
    if not args.name:
        raise ValueError("student_cv.py needs --name (or --compare NAME ...)")
    # one writer per CV folder: a fold's training lock alone would let a second process train a
    # fold again while the first scores it
    with locks.hold_group(ws.root, f"cv-{args.name}", f"the cross-validation {args.name} (cv/{args.name}/)"):
        return _cross_validate(args, ws, argv)


def _cross_validate(args, ws, argv):
    """Every fold of ``args.name`` not finished before, then the summary (main's work, under its lock)."""

    data = crossval.load_cv_data(ws)
    sources = record_sources(ws, args.input_dir)
    recipe = recipe_from_args(args)
    root = crossval.cv_dir(ws, args.name)
    root.mkdir(parents=True, exist_ok=True)
    shown, skip = [], False   # the command of the whole CV: the workspace as W, without --only-folds
    for a in list(sys.argv[1:] if argv is None else argv):
        if a.startswith("--"):
            skip = a == "--only-folds"
        if not skip:
            shown.append("W" + a[len(str(ws.root)):] if a.startswith(str(ws.root)) else a)
    command = "python Codes/Models/student_cv.py " + shlex.join(shown)
    save_text(root / "command.txt", command + "\n")

    if (args.lam > 0) != bool(args.fold_teacher) or (args.fold_teacher and "{fold}" not in args.fold_teacher):
        raise ValueError("distillation in cross-validation needs both --lam > 0 and --fold-teacher RUN with {fold} "
                         "in it (each fold's own teacher)")

    if args.mine_from and "{fold}" not in args.mine_from:
        raise ValueError("--mine-from in cross-validation needs {fold} in it (each fold's own detector, trained on "
                         "that fold's training records: e.g. cv/<name>/fold{fold})")

    def train_fn_for(fold):
        teacher = args.fold_teacher.format(fold=fold) if args.fold_teacher else None
        mine_from = args.mine_from.format(fold=fold) if args.mine_from else None

        def train_fn(ws_, run_name, train, val):
            seed_everything(args.seed)
            train_run(ws_, TrainConfig.from_args(args), run_name=run_name, recipe=recipe, preset=args.preset,
                      arch=args.arch, data=(train, val), resume=args.resume, train_windows=args.train_windows,
                      seed=args.seed, lam=args.lam, teacher=teacher, temperature=args.temperature,
                      lookahead_s=args.lookahead_s, train_span=args.train_span,
                      hard_negatives=args.hard_negatives, mine_from=mine_from)
        return train_fn

    fold_seed = args.seed if args.fold_seed is None else args.fold_seed
    if args.test_database:   # one "fold": every record of one database tests
        plan = [(0, database_test_parts(data.groups, args.test_database, val=args.val, seed=fold_seed))]
    else:
        plan = [(k, None) for k in (args.only_folds if args.only_folds is not None else range(args.folds))]
    for fold, parts in plan:
        if (root / f"fold{fold}" / "fold.json").is_file() and not args.rescore:
            print(f"fold {fold}: finished before, skipped")
            continue
        row = crossval.run_fold(ws, data, sources, args.name, fold, args.folds, seed=fold_seed,
                                train_fn=train_fn_for(fold), detector_name=args.detector, val=args.val, hop=args.hop,
                                threshold=args.threshold, train_windows=args.train_windows, parts=parts,
                                reuse_model=args.rescore, models_from=args.models_from, leads=args.leads,
                                latency_s=args.latency_s, causal_wait_s=args.causal_wait_s)
        tests = row["test_records"].split()
        where = crossval.source_map(sources, tests)
        for folder in sorted(set(where.values())):
            _warn_implausible(root / f"fold{fold}" / "detections", folder, [r for r in tests if where[r] == folder])
    folds_table, records_table, summary = crossval.collect(ws, args.name)
    text = (f"# Cross-validation `{args.name}`\n\n`{command}`\n\n" + to_markdown(summary) + "\n\n## Folds\n\n"
            + to_markdown(folds_table) + "\n")
    save_text(root / "summary.md", text)
    print(to_markdown(summary))
    return summary


def _warn_implausible(det_dir: Path, input_dir: Path, names: list[str]) -> None:
    """A ``warning:`` line for each test record of a fold whose detections are implausible for a heart
    (tsad.detection.plausibility.detection_warnings), as detect.py gives."""

    for name, found in check_detections(det_dir, input_dir, names, DEFAULT_EXT).items():
        if found:
            warn(f"{det_dir / (name + '.' + DEFAULT_EXT)}: implausible detection: {'; '.join(found)}")


if __name__ == "__main__":   # python -m tsad.cli.student_cv
    run_cli(main)
