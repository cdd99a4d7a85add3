"""Detect every beat of whole WFDB records with a trained model or a classical detector.

    python Codes/Inference/detect.py --run pretrained --input-dir PATH/records      # the shipped model
    python Codes/Inference/detect.py --run LSTM_train --input-dir PATH/svdb --records 803 807
    python Codes/Inference/detect.py --run xqrs --input-dir PATH/mitdb --out detections/xqrs
    python Codes/Inference/detect.py --run pretrained --input-dir PATH/holter --leads 0        # one lead
    python Codes/Inference/detect.py --run pretrained --input-dir ARCHIVE --recursive --engine dask --workers 8
    python Codes/Inference/detect.py --run pretrained --input-dir PATH/records --latency-s 0.5  # causal

Any record at any sampling rate and length: it is read and resampled to the model's rate a chunk at
a time (--chunk-s; memory stays bounded on a week-long record, tsad.detection.streaming), the model's window
slides over the whole record (--hop, default half a window), the overlapping probabilities are averaged with a
taper that trusts each window's middle most, beats are picked on the combined probability (above
the run's tuned threshold, at least 200 ms apart) and mapped back to the record's own sample numbers.
RUN is a trained run of any kind tsad.models.loader loads: a student, the VLM or picture teacher (their
plots rendered on the fly), the context teacher (it reads the record around each window); or a
classical detector run on one lead of the whole record (lead 0, or the first of --leads) at its own
rate: xqrs / gqrs (wfdb's), neurokit (NeuroKit2's ecg_clean + ecg_peaks, its defaults) or sleepecg
(SleepECG's detect_heartbeats).

Writes, in --out (default <workspace>/detections/<run>/): <record>.<ext> (a WFDB annotation file,
wfdb.rdann and PhysioNet's bxb read it; each beat's symbol is its AAMI class, N S V F or Q, when the
run holds a beat classifier, classifier.pth, as the shipped model does, else N), <record>_beats.csv
(sample, time_s, probability; with a classifier also class and p_N ... p_Q),
<record>_probs.npy (the combined probability, learned models only) and detections.json (the model,
settings and the real-time factor), and <record>_detection.json, which marks the record done: a
record already detected by the same model with the same settings is skipped (--redo to detect it
again). A record without annotations is detected all the same; stretches without signal (NaN, or
every lead flat for 1 s) are skipped and marked "~" in the annotation file. A record with fewer leads
than the model reads (or --leads) gives the model zeros for the missing ones.

--engine dask sends one task per record to a dask.distributed cluster (a LocalCluster of --workers
single-threaded processes, or --scheduler ADDRESS); a record that fails is listed in failures.json and
the summary while the others go on (tsad.detection.archive).

--latency-s S detects causally: every beat is decided from at most S seconds of signal after it, so
detecting the first T seconds of a record gives exactly the beats of the whole record before T - S (a
monitor's view of the record as it arrives). It takes the run's causal detector (the shipped model's
causal/ folder; any run trained with --lookahead-s is one) and picks beats with a rule that reads one
refractory period ahead (tsad.scoring.beats.pick_beats_causal); beats are not classified.

A result that is implausible for a heart is a `warning:` line on stderr, in the summary and in
detections.json: a record with no beat, a mean rate under 20 or over 300 per minute, or more than
10 s without a beat where the signal is not flat, a stretch of 3 s or more faster than 250 per minute
(flutter, fibrillation or noise taken for beats?), or intervals under 150 ms, each named by where it is
(tsad.detection.plausibility.detection_warnings); and the
warnings recorded when the run's threshold was tuned (a model that has not learned).
"""

from __future__ import annotations

from pathlib import Path

from tsad.core import paths
from tsad.core.common import make_parser, seed_everything, setup_logging
from tsad.core.errors import run_cli, warn
from tsad.core.paths import Workspace
from tsad.detection import archive, folders
from tsad.detection.folders import DEFAULT_EXT
from tsad.detection.streaming import DEFAULT_CHUNK_S, latency_needed_s
from tsad.models import loader, predictor
from tsad.models.classical import CLASSICAL_DETECTORS
from tsad.models.export import export_onnx
from tsad.scoring.beats import DEFAULT_REFRACTORY_S


def parse_args(argv=None):
    p = make_parser(__doc__)
    p.add_argument("--run", required=True,
                   help="pretrained (the model shipped in pretrained/, no training needed), a run folder of the "
                        "workspace (LSTM_train, vlm_1, ...) or any run folder's path, or a classical detector: "
                        f"{' / '.join(CLASSICAL_DETECTORS)}")
    p.add_argument("--input-dir", required=True, help="folder of WFDB records (.hea, .dat; .atr not needed)")
    p.add_argument("--records", nargs="+", default=None, metavar="R", help="records to detect (default: all)")
    p.add_argument("--out", default=None, help="output folder (default: <workspace>/detections/<run>)")
    p.add_argument("--ext", default=DEFAULT_EXT, help="annotation file extension of the detections")
    p.add_argument("--hop", type=int, default=None, help="samples between window starts (default: half a window)")
    p.add_argument("--threshold", type=float, default=None,
                   help="beat probability threshold (default: the run's tuned one, detection.json, else 0.5)")
    p.add_argument("--refractory", type=float, default=DEFAULT_REFRACTORY_S,
                   help="seconds: of two peaks closer than this, the higher one is kept")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, ...")
    p.add_argument("--threads", type=int, default=None, help="torch (or onnxruntime) threads (default: their choice)")
    p.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto",
                   help="onnx: run a student through onnxruntime (exported once to <run>/model.onnx; same beats); "
                        "auto: onnx where the run already holds a current model.onnx (the shipped model does) "
                        "and onnxruntime is installed, else torch")
    p.add_argument("--no-classes", action="store_true",
                   help="beats only: leave the run's beat classifier out (every beat N; about a third of the "
                        "time on one core, docs/BENCHMARKS.md)")
    p.add_argument("--no-verifier", action="store_true",
                   help="keep every detection: leave the run's beat verifier out (verifier.pth: it drops what it "
                        "calls 'not a beat', docs/RESULTS.md section Q)")
    p.add_argument("--latency-s", type=float, default=None, metavar="S",
                   help="causal detection: every beat decided from at most S seconds of signal after it, with the "
                        "run's causal detector (its causal/ folder, or a run trained with --lookahead-s); no classes "
                        "(default: offline, every beat decided with the signal around it)")
    p.add_argument("--leads", type=int, nargs="+", default=None, metavar="K",
                   help="the record's leads (0-based) the model may read; a model input whose lead is missing or "
                        "not given gets zeros, as in training with lead dropout (default: every lead; a one-lead "
                        "record feeds the model's first input)")
    p.add_argument("--chunk-s", type=float, default=DEFAULT_CHUNK_S,
                   help="seconds of ECG read and detected at a time: memory grows with this, not with the record")
    p.add_argument("--recursive", action="store_true",
                   help="detect the records of --input-dir's sub-folders too (their paths are kept under --out)")
    p.add_argument("--redo", action="store_true",
                   help="detect again records already detected by the same model with the same settings "
                        "(default: skip them, so an interrupted run continues)")
    p.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="local: one record after another in this process; dask: one task per record on a "
                        "dask.distributed cluster (failed records are reported in failures.json, the rest go on)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="with --engine dask: a running scheduler (tcp://host:8786), whose workers import tsad and "
                        "see the files (default: a LocalCluster on this machine)")
    p.add_argument("--workers", type=int, default=2, help="with --engine dask and no --scheduler: worker processes "
                                                          "of the LocalCluster, one thread each")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    from tqdm import tqdm

    args = parse_args(argv)
    setup_logging()
    seed_everything(args.seed)
    if args.engine == "local" and args.scheduler:
        raise ValueError("--scheduler needs --engine dask")
    ws = Workspace.from_arg(args.workspace)
    folder = Path(args.input_dir)
    if not folder.is_dir():
        raise predictor.DetectionError(f"{folder}: no such folder")
    names = archive.find_records(folder, args.records, recursive=args.recursive)
    causal = args.latency_s is not None
    if causal and args.latency_s <= 0:
        raise ValueError(f"--latency-s must be positive, got {args.latency_s}")
    if args.backend == "onnx" and (found := loader.resolve(args.run, ws, causal)) is not None:
        export_onnx(found[0])   # once; a current export is kept
    detector = loader.load(args.run, ws, device=args.device, backend=args.backend, threads=args.threads,
                           classify=not args.no_classes, causal=causal, verify=not args.no_verifier)
    if causal:   # refuse at once, not record by record, a model that reads too far ahead
        latency_needed_s(detector, detector.geometry.fs)
    run_dir = detector.run_dir
    args.backend = detector.backend   # auto, resolved once for every record (None: a classical detector)
    for message in detector.warnings:   # the run's own verdict, recorded when it was trained
        warn(f"{run_dir / paths.THRESHOLD_FILE}: {message}")
    # a run given by its path (a folder outside the workspace) is filed under its folder's name
    label = Path(args.run).name if Path(args.run).is_absolute() or args.run.startswith(".") else args.run
    out = Path(args.out) if args.out else ws.root / folders.DETECTIONS_DIR / label
    settings = {"input_dir": str(folder.resolve()), "ext": args.ext, "hop": args.hop,
                "threshold": detector.threshold if args.threshold is None else args.threshold,
                "refractory_s": args.refractory, "leads": args.leads, "backend": args.backend, "engine": args.engine,
                "latency_s": args.latency_s,
                "classes": list(detector.classes) if detector.classify is not None else None}
    key = archive.job_key(archive.model_fingerprint(detector), settings)
    done = {} if args.redo else {n: row for n in names if (row := archive.read_done(out, n, key)) is not None}
    todo = [n for n in names if n not in done]
    if done:
        print(f"{len(done)} record(s) already detected by this model with these settings in {out}: skipped "
              f"(--redo detects them again)")
    options = {"hop": args.hop, "threshold": args.threshold, "refractory_s": args.refractory, "leads": args.leads,
               "ext": args.ext, "chunk_s": args.chunk_s, "latency_s": args.latency_s}
    failures: list[dict] = []
    if args.engine == "dask" and todo:
        spec = {"run": str(run_dir or args.run), "workspace": str(ws.root), "device": "cpu",
                "backend": args.backend, "threads": args.threads or 1, "classify": not args.no_classes,
                "causal": causal, "verify": not args.no_verifier}
        rows, failures = archive.run_dask(spec, folder, todo, out, key, options, scheduler=args.scheduler,
                                          workers=args.workers)
    elif todo:
        rows = []
        bar = tqdm(todo, desc=f"detect {args.run}", unit="rec", disable=None)   # a bar on a terminal only
        for name in bar:
            rows.append(archive.detect_into(detector, folder, name, out, key, **options))
            bar.set_postfix(beats=rows[-1]["beats"])
            if rows[-1]["warnings"]:
                bar.clear()   # keep the warning line apart from the progress bar
    else:
        rows = []
    fresh = {r["record"]: r for r in rows}
    for row in rows:
        if row["warnings"]:
            warn(f"record {folder / row['record']}: implausible detection by {args.run}: {'; '.join(row['warnings'])}")
    per_record = [fresh.get(n) or done[n] for n in names if n in fresh or n in done]
    meta_path = folders.write_detection_meta(out, detector, settings, per_record)
    failures_path = archive.write_failures(out, failures)
    meta = folders.read_detection_meta(out)
    if rows:
        speed = sum(r["duration_s"] for r in rows) / max(sum(r["compute_s"] for r in rows), 1e-9)
        print(f"{len(per_record)} record(s), {sum(r['beats'] for r in per_record)} beats -> {out}; this run: "
              f"{len(rows)} record(s) detected at {speed:,.0f}x real time "
              f"({sum(r['duration_s'] for r in rows):.0f} s of ECG in {sum(r['compute_s'] for r in rows):.1f} s)")
    elif not failures:
        print(f"nothing new to detect: the detections are in {out}")
    if causal:
        print(f"causal detection: every beat decided from at most {args.latency_s:g} s of signal after it, by "
              f"{run_dir} (it reads {detector.lookahead / detector.geometry.fs:.3f} s ahead; beats not classified)")
    classified = [r["classes"] for r in per_record if r.get("classes")]
    if classified:   # a model that classifies: the abnormal beats, as the annotation files have them
        totals = {c: sum(found.get(c, 0) for found in classified) for c in classified[0]}
        print("beats by class (AAMI; symbol of each beat in the annotation files): "
              + ", ".join(f"{c} {n}" for c, n in totals.items())
              + f"; ventricular (V) {totals.get('V', 0)}, supraventricular (S) {totals.get('S', 0)}")
    verified = [r["dropped_by_verifier"] for r in per_record if "dropped_by_verifier" in r]
    if verified:
        print(f"the run's verifier dropped {sum(verified)} detection(s) it calls 'not a beat' in {len(verified)} "
              f"record(s) (--no-verifier keeps them)")
    for failed in failures:
        warn(f"record {folder / failed['record']}: not detected: {failed['error']}")
    if failures:
        print(f"{len(failures)} record(s) failed, the others were detected: {failures_path}")
    gapped = [r for r in per_record if r["gaps"]]
    if gapped:
        print(f"stretches without signal (NaN, or every lead flat for >= 1 s), not detected in and marked "
              f"'~' in the annotation files: {sum(len(r['gaps']) for r in gapped)} in {len(gapped)} record(s), "
              f"{sum(r['gap_s'] for r in gapped):.1f} s in all")
    partial = sorted({n for r in per_record if r.get("leads") and None in r["leads"] for n in [r["record"]]})
    if partial:
        print(f"{len(partial)} record(s) detected with fewer leads than the model reads (its other inputs zero): "
              f"{', '.join(partial[:10])}{' ...' if len(partial) > 10 else ''}")
    implausible = meta["implausible_records"]
    if implausible:
        print(f"implausible detections in {len(implausible)} of {len(per_record)} record(s): "
              f"{', '.join(implausible)} (the warnings above; detections.json lists them)")
    if detector.warnings:
        print(f"{args.run}: its threshold was tuned with {len(detector.warnings)} warning(s) (above; "
              f"{run_dir / paths.THRESHOLD_FILE})")
    return {"out": out, "meta": meta_path, "records": per_record, "implausible_records": implausible,
            "run_warnings": list(detector.warnings), "failures": failures, "skipped": sorted(done)}


if __name__ == "__main__":   # python -m tsad.cli.detect
    run_cli(main)
