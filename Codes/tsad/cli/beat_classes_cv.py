"""Record-wise cross-validation of the classical beat classifiers (RR-interval and morphology
features; a linear discriminant as de Chazal et al. 2004, and gradient boosting), scored as EC57
scores beat classes: VEB and SVEB Se, +P and FPR, gross and average with 95% bootstrap intervals, per
database, paced records left out. The baseline of "which beats are abnormal".

    python Codes/Models/beat_classes_cv.py --input-dir ../shared/data/svdb ../shared/data/mitdb --name classical

Every record is a test patient exactly once (--folds record-wise folds, each database dealt evenly
over the folds, --seed); beats are classified at the reference positions, on lead 0 at 128 Hz
(tsad.experiments.beat_classes has the features). Writes, in <workspace>/beat_classes/<name>/:
records.csv (one row per record and classifier: its confusion counts and figures), summary.csv and
summary.md (per classifier and database), confusion_<classifier>_<database>.csv, command.txt, and,
with two classifiers or more, paired.csv: each one's gross figures minus the first's on the same
records, with a 95% paired bootstrap interval over records, per database.

With --detections-cv (a student_cv.py folder: <workspace>/cv/<name>), the classification is measured
end to end: that cross-validation's folds are used, and each test record's beats are those its fold's
detector found (fold<k>/detections/<record>.tsad), classified by the classifier trained on the fold's
other records (at their reference beats) and matched to the reference within 150 ms, so a missed beat
counts against its class's Se and an extra beat against the +P of the class it was given.

The verifier (``verifier``, with --detections-cv) is the learned classifier with a sixth class, "not
a beat": each fold's is trained on the beats the fold's detector (fold<k>/best.pth) finds in the
fold's training records, those that match no reference beat being "not a beat", and the test beats
it calls so are dropped. With --detections-cv, detection_paired.csv gives what each classifier does
to beat detection (gross Se, PPV, F1 and the Se of N, S and V beats, every record) against the first
one, paired over records.

    python Codes/Models/beat_classes_cv.py --input-dir ../shared/data/svdb ../shared/data/mitdb --name verify \
        --classifiers learned verifier --detections-cv <workspace>/cv/g-a

--verifier-keep V: the verifier never drops a detection it would call V (docs/RESULTS.md, section P:
the version that kept every per-class floor).

The learned classifier (``learned``: tsad.models.beat_classifier on both leads, its waveform against
the patient's recent beats and its timing against the patient's recent rhythm) is trained per fold
with --epochs and --weight-power, or distilled from an ensemble of K such classifiers of the same
fold (--distil-members K, --lam, --temperature: many models taught to one), whose teacher (the
mean of the K members' probabilities) is scored beside it on the same records as
``learned_ensemble`` (in paired.csv: the teacher minus its student); the classical ones as
tsad.experiments.beat_classes says.

    python Codes/Models/beat_classes_cv.py --input-dir ../shared/data/svdb ../shared/data/mitdb --name learned-kd \
        --classifiers learned --distil-members 3 --against learned     # paired against the same folds on labels

The beat-sequence classifier (``sequence``: tsad.models.beat_sequence, the learned classifier's encoder of
each beat and a GRU over the record's beats before it) is trained with the learned classifier's settings;
--against compares it with the learned classifier of the other study (docs/RESULTS.md, section AA).

    python Codes/Models/beat_classes_cv.py --input-dir ../shared/data/svdb ../shared/data/mitdb --name sequence \
        --classifiers learned sequence --against learned_v2r

With --teacher-view record the teacher's members also read the record around each beat, its rhythm and
beats after it as well as before (tsad.data.record_context: what no stream has, so the teacher may know
more than its student can see); the student reads what a deployed classifier reads.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from tsad.core.common import log, make_parser, seed_everything, setup_logging
from tsad.core.errors import run_cli
from tsad.core.fileio import save_text
from tsad.core.paths import Workspace
from tsad.data.beat_context import RHYTHM_CONTEXTS, WAVE_CONTEXTS
from tsad.data.folds import record_folds
from tsad.data.generate import list_records
from tsad.detection.records import detect_signal
from tsad.experiments.beat_classes import (
    CLASSIFIERS,
    DECISIONS,
    FS,
    LEARNED,
    SEQUENCE,
    TEACHER,
    TEACHER_VIEWS,
    VERIFIER,
    VERIFIER_DROPS,
    cross_validate,
    detector_finder,
    read_beats,
)
from tsad.experiments.evaluate import to_markdown
from tsad.models import loader
from tsad.models.beat_classifier import CLASSES
from tsad.models.classical import CLASSICAL_DETECTORS
from tsad.scoring.classes import (
    paired_class_difference,
    paired_detection_difference,
    pooled_confusion,
    summarise_classes,
)
from tsad.scoring.ec57 import read_detections


def parse_args(argv=None):
    p = make_parser(__doc__)
    p.add_argument("--input-dir", nargs="+", required=True, metavar="DIR",
                   help="folders of annotated WFDB records, one per database (its name is the folder's)")
    p.add_argument("--name", default="classical", help="the study's folder under <workspace>/beat_classes/")
    p.add_argument("--folds", type=int, default=5, help="record-wise folds")
    p.add_argument("--classifiers", nargs="+", choices=CLASSIFIERS, default=[c for c in CLASSIFIERS if c != SEQUENCE],
                   help="the classifiers to cross-validate (sequence, the beat-sequence classifier, when named)")
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples of the records for the intervals")
    p.add_argument("--detections-cv", default=None, metavar="DIR",
                   help="a student_cv.py folder: its folds, and its fold detectors' beats classified (end to end)")
    p.add_argument("--against", default=None, metavar="NAME",
                   help="another study of the same folds (same --seed and records): each classifier's gross "
                        "figures here minus there, paired over records (paired_against_<NAME>.csv)")
    p.add_argument("--epochs", type=int, default=6, help="the learned classifier's epochs over its training beats")
    p.add_argument("--shift", type=int, default=0,
                   help="the learned classifier's training beats moved by up to this many samples (at 128 Hz)")
    p.add_argument("--weight-power", type=float, default=0.5,
                   help="the learned classifier's class weights: frequency to the power -this (0 none, 1 balanced)")
    p.add_argument("--rhythm-context", choices=list(RHYTHM_CONTEXTS), default="recent",
                   help="the rhythm features the learned classifier reads (tsad.data.beat_context): the recent "
                        "rhythm, or with the steady one too (docs/RESULTS.md, section M)")
    p.add_argument("--wave-context", choices=list(WAVE_CONTEXTS), default="recent",
                   help="the waveform groups the learned classifier reads (tsad.data.beat_context): the beat and "
                        "the beat minus the recent template, or minus the on-time template too (docs/RESULTS.md, "
                        "section U)")
    p.add_argument("--class-decision", choices=DECISIONS, default="argmax",
                   help="how the learned classifier's class is chosen: the most likely, or with per-class log-odds "
                        "offsets chosen on a quarter of each fold's training records (tsad.models.decision; "
                        "docs/RESULTS.md, section W)")
    p.add_argument("--classifier-widths", type=int, nargs="+", default=None, metavar="W",
                   help="the learned classifier's convolution widths (default ClassifierConfig's: 16 32 32)")
    p.add_argument("--classifier-hidden", type=int, default=None,
                   help="the learned classifier's hidden units (default ClassifierConfig's: 32)")
    p.add_argument("--verifier-drop", choices=VERIFIER_DROPS, default="argmax",
                   help="the verifier drops a detection when 'not a beat' is its most likely class (argmax), or when "
                        "that class's probability passes a threshold chosen on a record-wise quarter of the fold's "
                        "training records by the class-balanced F1 (tuned; RESULTS N)")
    p.add_argument("--verifier-noise", type=float, nargs="+", default=None, metavar="SNR",
                   help="the verifier also trains on noisy copies of its training records at these SNRs (dB; "
                        "nstdb-style noise, tsad.data.noise); with --verifier-drop tuned the validated verifier "
                        "(three quarters of the training records) is the one applied")
    p.add_argument("--verifier-keep", nargs="+", choices=list(CLASSES), default=None, metavar="CLASS",
                   help="beat classes the verifier never drops: a detection it would give one of them is kept, "
                        "however likely it finds 'not a beat' (e.g. V; RESULTS P; default: none)")
    p.add_argument("--verifier-keep-classified", action="store_true",
                   help="with --verifier-keep: also keep what the fold's beat classifier (the learned one, trained on "
                        "the fold's training records) gives one of those classes (RESULTS R)")
    p.add_argument("--test-snr", type=float, nargs="+", default=None, metavar="SNR",
                   help="the verifier is also scored on noisy copies of the test records at these SNRs, their beats "
                        "found by the fold's detector (rows verifier@<SNR>dB beside unverified@<SNR>dB)")
    p.add_argument("--second-opinion", choices=list(CLASSICAL_DETECTORS), default=None,
                   help="with --classifiers verifier: every verifier row comes again for each --sure-above p, the "
                        "detector's beats below p dropped first unless this detector (on lead 0 of the same signal, "
                        "at 128 Hz) finds a beat within 150 ms (rows verifier+<name><p>; RESULTS AE)")
    p.add_argument("--sure-above", type=float, nargs="+", default=[0.3, 0.4, 0.5, 0.6, 0.7], metavar="P",
                   help="with --second-opinion: the probabilities above which a beat needs no second opinion")
    p.add_argument("--trust-window-s", type=float, default=None, metavar="S",
                   help="with --second-opinion: ask it only where it confirms at least 90%% of the sure beats within "
                        "S seconds (at least 3 of them); elsewhere an uncertain beat is kept (RESULTS AF; default: "
                        "asked everywhere)")
    p.add_argument("--ask-above-db", type=float, default=None, metavar="DB",
                   help="with --second-opinion: ask it only where lead 0 reads at least DB clean around the beat "
                        "(tsad.detection.second_opinion.local_snr_db); elsewhere an uncertain beat is kept (RESULTS "
                        "AG; default: asked everywhere)")
    p.add_argument("--spare-kept", action="store_true",
                   help="with --second-opinion: never ask it of a beat whose verifier class is one of --verifier-keep "
                        "(the second opinion drops only what the verifier may drop; RESULTS AG)")
    p.add_argument("--distil-members", type=int, default=0, metavar="K",
                   help="distil the learned classifier of each fold from the ensemble of K classifiers trained on the "
                        "fold's training records with seeds --seed + 1 .. + K (0: trained on the labels alone)")
    p.add_argument("--teacher-view", choices=TEACHER_VIEWS, default="stream",
                   help="with --distil-members: what the teacher's members read: the student's own inputs (stream), "
                        "or also the record around each beat, after it as well as before (record: "
                        "tsad.data.record_context, a teacher's privileged view; docs/RESULTS.md, section X)")
    p.add_argument("--lam", type=float, default=0.5, help="with --distil-members: weight of the teacher term")
    p.add_argument("--temperature", type=float, default=2.0, help="with --distil-members: distillation temperature")
    p.add_argument("--weighted-kd", action="store_true",
                   help="with --distil-members: weight the teacher term of each beat by its class weight, as the "
                        "label term is (default: the teacher term averaged over the beats)")
    return p.parse_args(argv)


def fold_scores(fold_dir: Path, name: str, found) -> list:
    """The fold detector's probability at each of a record's detections ``found`` (its
    ``detections/<name>_beats.csv``, written beside the annotation file), in the same order."""
    path = fold_dir / "detections" / f"{name}_beats.csv"
    if not path.is_file():
        raise ValueError(f"{path}: not found (the second opinion needs each detection's probability)")
    beats = pd.read_csv(path)
    if "probability" not in beats or len(beats) != len(found) or (beats["sample"].to_numpy() != found).any():
        raise ValueError(f"{path}: its beats are not those of {name}.tsad beside it")
    return beats["probability"].to_numpy()


def detection_folds(cv_dir: Path) -> list[list[str]]:
    """The test records of each fold of a student_cv.py folder (its folds.csv)."""
    path = cv_dir / "folds.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not a finished student_cv.py folder (--detections-cv)")
    table = pd.read_csv(path, dtype={"test_records": str}).sort_values("fold")
    return [str(t).split() for t in table["test_records"]]


def paired_by_database(reference: pd.DataFrame, other: pd.DataFrame, args) -> list[pd.DataFrame]:
    """``paired_class_difference`` of two per-record tables, per database both hold (paced-only
    databases left out), each with its ``database`` column."""
    rows = []
    for database, part in other.groupby("database", sort=False):
        there = reference[reference["database"] == database]
        if part["paced"].all() or there.empty:
            continue
        rows.append(paired_class_difference(there, part, n_boot=args.bootstrap, seed=args.seed)
                    .assign(database=database))
    return rows


def against(table: pd.DataFrame, other_dir: Path, args) -> pd.DataFrame:
    """Each classifier of ``table`` against the same classifier in another study's records.csv (a
    distilled classifier's teacher, ``TEACHER``, and the sequence classifier, ``SEQUENCE``, against the
    learned classifier there: the ensemble against one classifier, when the other study trained on the
    labels; the beats in order against each beat alone)."""
    path = other_dir / "records.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such study (--against names a folder under <workspace>/beat_classes/)")
    other = pd.read_csv(path, dtype={"record": str})
    here = table.assign(record=table["record"].astype(str))
    there = {c: LEARNED if c in (TEACHER, SEQUENCE) else c for c in here["classifier"].unique()}
    rows = [diff.assign(classifier=c, against=f"{other_dir.name}: {there[c]}")
            for c in here["classifier"].unique()
            for diff in paired_by_database(other[other["classifier"] == there[c]], here[here["classifier"] == c],
                                           args)]
    if not rows:
        raise ValueError(f"{path}: no classifier and database in common with this study")
    return pd.concat(rows, ignore_index=True)


def main(argv=None) -> dict:
    args = parse_args(argv)
    setup_logging()
    seed_everything(args.seed)
    ws = Workspace.from_arg(args.workspace)
    out = ws.root / "beat_classes" / args.name
    started = time.perf_counter()
    records = []
    verifier = VERIFIER in args.classifiers
    if args.second_opinion and not verifier:
        raise ValueError("--second-opinion is measured beside the verifier: add --classifiers verifier")
    if args.trust_window_s is not None and (not args.second_opinion or args.trust_window_s <= 0):
        raise ValueError("--trust-window-s needs --second-opinion and a positive number of seconds")
    if (args.ask_above_db is not None or args.spare_kept) and not args.second_opinion:
        raise ValueError("--ask-above-db and --spare-kept need --second-opinion")
    if verifier and not args.detections_cv:
        raise ValueError("--classifiers verifier needs --detections-cv (its folds' detectors and test beats)")
    cv_folds = detection_folds(Path(args.detections_cv)) if args.detections_cv else None
    if args.teacher_view != "stream" and not args.distil_members:
        raise ValueError(f"--teacher-view {args.teacher_view} needs --distil-members (it is a teacher's view)")
    for folder in map(Path, args.input_dir):
        names = list_records(folder)
        for name in tqdm(names, desc=f"features {folder.name}", unit="rec", disable=None):
            found = None
            if cv_folds is not None:
                k = next((k for k, test in enumerate(cv_folds) if name in test), None)
                if k is None:
                    raise ValueError(f"{args.detections_cv}: record {name} is in no fold's test records")
                found = read_detections(Path(args.detections_cv) / f"fold{k}" / "detections", name, "tsad")
            scores = fold_scores(Path(args.detections_cv) / f"fold{k}", name, found) if args.second_opinion else None
            records.append(read_beats(folder / name, folder.name, found, keep_signal=verifier,
                                      record_view=args.teacher_view == "record", scores=scores))
    groups = {r.name: r.database for r in records}
    folds = cv_folds if cv_folds is not None else record_folds(list(groups), args.folds, args.seed, groups=groups)
    log.info("%d records (%d beats), %d folds", len(records), sum(len(r.samples) for r in records), len(folds))
    learned = {"epochs": args.epochs, "weight_power": args.weight_power, "shift": args.shift,
               "rhythm_context": args.rhythm_context, "wave_context": args.wave_context,
               "decision": args.class_decision, "verifier_drop": args.verifier_drop,
               "noise_snr": args.verifier_noise, "test_snr": args.test_snr, "verifier_keep": args.verifier_keep,
               "verifier_keep_classified": args.verifier_keep_classified,
               "second_opinion": args.second_opinion, "sure_above": tuple(args.sure_above),
               "trust_window_s": args.trust_window_s, "ask_above_db": args.ask_above_db,
               "spare_kept": args.spare_kept}
    if args.classifier_widths or args.classifier_hidden:
        learned.update(widths=args.classifier_widths, hidden=args.classifier_hidden)
    if args.distil_members:
        learned.update(members=args.distil_members, lam=args.lam, temperature=args.temperature,
                       weighted_kd=args.weighted_kd, teacher_view=args.teacher_view)
    fold_finders = scored_finders = second = None
    if verifier:
        detectors = [loader.load(str(Path(args.detections_cv) / f"fold{k}"), ws, backend="torch", threads=1,
                                 classify=False) for k in range(len(folds))]
        fold_finders = [detector_finder(d) for d in detectors]
        if args.second_opinion:
            scored_finders = [detector_finder(d, with_scores=True) for d in detectors]
            other = loader.load(args.second_opinion)

            def second(signal, name):
                return detect_signal(other, signal, FS, name=name).samples
    table = pd.concat([cross_validate(records, folds, c, args.seed, learned, fold_finders, scored_finders, second)
                       for c in args.classifiers], ignore_index=True)
    summaries, written = [], []
    for (classifier, database), part in table.groupby(["classifier", "database"], sort=False):
        if part["paced"].all():
            continue
        summary = summarise_classes(part, n_boot=args.bootstrap, seed=args.seed)
        summaries.append(summary.assign(classifier=classifier, database=database))
        path = out / f"confusion_{classifier}_{database}.csv"
        save_text(path, pooled_confusion(part).to_csv(index_label="reference"))
        written.append(path)
    summary = pd.concat(summaries, ignore_index=True)[["classifier", "database", "figure", "records", "value",
                                                       "ci_low", "ci_high"]]
    present = list(table["classifier"].unique())     # a distilled classifier's teacher too (TEACHER)
    first = present[0]
    paired = [diff.assign(reference_classifier=first, classifier=other)
              for other in present[1:]
              for diff in paired_by_database(table[table["classifier"] == first], table[table["classifier"] == other],
                                             args)]
    if paired:
        paired = pd.concat(paired, ignore_index=True)
        save_text(out / "paired.csv", paired.to_csv(index=False))
        written.append(out / "paired.csv")
    detection = None
    if args.detections_cv and len(present) > 1:     # what each classifier does to the detections
        # a verifier against the same verifier dropping nothing, on the same beats; the others against the first
        pairs = [(f"unverified{c[len(VERIFIER):]}", c) if c.startswith(VERIFIER) else (first, c) for c in present
                 if c.startswith(VERIFIER) or (c != first and not c.startswith("unverified"))]
        detection = pd.concat([paired_detection_difference(table[(table["classifier"] == ref) & (table["database"] == db)],
                                                           table[(table["classifier"] == other) & (table["database"] == db)],
                                                           n_boot=args.bootstrap, seed=args.seed)
                               .assign(database=db, reference_classifier=ref, classifier=other)
                               for ref, other in pairs for db in table["database"].unique()], ignore_index=True)
        save_text(out / "detection_paired.csv", detection.to_csv(index=False))
        written.append(out / "detection_paired.csv")
    minutes = (time.perf_counter() - started) / 60
    save_text(out / "records.csv", table.to_csv(index=False))
    save_text(out / "summary.csv", summary.to_csv(index=False))
    save_text(out / "command.txt", " ".join(["python", "Codes/Models/beat_classes_cv.py", *sys.argv[1:]]) + "\n")
    where = (f"the beats of the fold detectors of {args.detections_cv} classified (end to end: missed and extra "
             f"beats count)" if args.detections_cv else "beats classified at the reference positions")
    save_text(out / "summary.md", f"# Beat classifiers ({', '.join(present)}), {len(folds)} record-wise "
              f"folds\n\n{len(records)} records; {where}; classical features on lead 0, the learned classifier "
              f"on leads 0 and 1, at 128 Hz; paced records left out; {minutes:.1f} min on this machine.\n\n"
              f"{to_markdown(summary)}\n")
    shown = summary[summary["figure"].str.startswith("gross")]
    print(to_markdown(shown))
    if len(paired):
        print(to_markdown(paired[paired["figure"].str.match(r"gross (VEB|SVEB) (Se|\+P)")]))
    if detection is not None:
        print("beat detection:")
        print(to_markdown(detection))
    if args.against:
        versus = against(table, ws.root / "beat_classes" / args.against, args)
        save_text(out / f"paired_against_{args.against}.csv", versus.to_csv(index=False))
        print(f"against {args.against}:")
        print(to_markdown(versus[versus["figure"].str.match(r"gross (VEB|SVEB) (Se|\+P)")]))
    print(f"written: {out / 'records.csv'}, {out / 'summary.csv'}, {out / 'summary.md'}, "
          f"{len(written)} confusion matrices ({minutes:.1f} min)")
    return {"table": table, "summary": summary, "folds": folds}


if __name__ == "__main__":   # python -m tsad.cli.beat_classes_cv
    run_cli(main)
