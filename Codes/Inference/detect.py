"""Detect every beat of whole WFDB records with a trained model or a classical detector.

    python Codes/Inference/detect.py --run pretrained --input-dir PATH/records      # the shipped model
    python Codes/Inference/detect.py --run LSTM_train --input-dir PATH/svdb --records 803 807
    python Codes/Inference/detect.py --run xqrs --input-dir PATH/mitdb --out detections/xqrs

Any record at any sampling rate: it is resampled to the model's rate, the model's window slides over
the whole record (--hop, default half a window), the overlapping probabilities are averaged with a
taper that trusts each window's middle most, beats are picked on the combined probability (above
the run's tuned threshold, at least 200 ms apart) and mapped back to the record's own sample numbers.
RUN is a trained run of any kind tsad.predictors loads: a student, the VLM or picture teacher (their
plots rendered on the fly), the context teacher (it reads the record around each window); or a
classical detector run on lead 1 of the whole record at its own rate: xqrs / gqrs (wfdb's),
neurokit (NeuroKit2's ecg_clean + ecg_peaks, its defaults) or sleepecg (SleepECG's detect_heartbeats).

Writes, in --out (default <workspace>/detections/<run>/): <record>.<ext> (a WFDB annotation file,
wfdb.rdann and PhysioNet's bxb read it), <record>_beats.csv (sample, time_s, probability),
<record>_probs.npy (the combined probability, learned models only) and detections.json (the model,
settings and the real-time factor). A record without annotations is detected all the same.

A result that is implausible for a heart is a `warning:` line on stderr, in the summary and in
detections.json: a record with no beat, a mean rate under 20 or over 300 per minute, or more than
10 s without a beat where the signal is not flat (tsad.records.detection_warnings); and the
warnings recorded when the run's threshold was tuned (a model that has not learned).
"""

from __future__ import annotations

from pathlib import Path

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

from tsad.common import make_parser  # noqa: E402


def parse_args(argv=None):
    from tsad.records import CLASSICAL_DETECTORS, DEFAULT_EXT, DEFAULT_REFRACTORY_S

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
    p.add_argument("--backend", choices=("torch", "onnx"), default="torch",
                   help="onnx: run a student through onnxruntime (exported once to <run>/model.onnx; same beats)")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    from tqdm import tqdm

    from tsad import records
    from tsad.common import seed_everything, setup_logging
    from tsad.data import list_records
    from tsad.errors import warn
    from tsad.paths import Workspace

    args = parse_args(argv)
    setup_logging()
    seed_everything(args.seed)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    ws = Workspace.from_arg(args.workspace)
    folder = Path(args.input_dir)
    available = list_records(folder) if folder.is_dir() else []
    if not available:
        raise records.DetectionError(f"{folder}: no WFDB records (.hea files) found")
    names = args.records or available
    missing = [r for r in names if r not in available]
    if missing:
        raise records.DetectionError(f"{folder}: no header for record(s) {', '.join(missing)}")
    detector = records.load_detector(ws, args.run, device=args.device)
    if args.backend == "onnx":
        from tsad.onnx_backend import use_onnx

        detector = use_onnx(detector, ws.resolve_run_dir(args.run), threads=args.threads)
    for message in detector.warnings:   # the run's own verdict, recorded when it was trained
        warn(f"{ws.resolve_run_dir(args.run) / records.THRESHOLD_FILE}: {message}")
    # a run given by its path (a folder outside the workspace) is filed under its folder's name
    label = Path(args.run).name if Path(args.run).is_absolute() or args.run.startswith(".") else args.run
    out = Path(args.out) if args.out else ws.root / records.DETECTIONS_DIR / label
    per_record = []
    bar = tqdm(names, desc=f"detect {args.run}", unit="rec")
    for name in bar:
        det = records.detect_record(detector, folder / name, hop=args.hop, threshold=args.threshold,
                                    refractory_s=args.refractory)
        records.write_detection(det, out, args.ext)
        per_record.append({"record": name, "fs": det.fs, "beats": int(len(det.samples)),
                           "duration_s": round(det.duration_s, 2), "compute_s": round(det.seconds, 3),
                           "warnings": det.warnings, "gaps": [[int(a), int(b)] for a, b in det.gaps],
                           "gap_s": round(det.gap_s, 2)})
        if det.warnings:
            bar.clear()   # keep the warning line apart from the progress bar
            warn(f"record {folder / name}: implausible detection by {args.run}: {'; '.join(det.warnings)}")
        bar.set_postfix(beats=len(det.samples))
    settings = {"input_dir": str(folder.resolve()), "ext": args.ext, "hop": args.hop,
                "threshold": detector.threshold if args.threshold is None else args.threshold,
                "refractory_s": args.refractory}
    meta_path = records.write_detection_meta(out, detector, settings, per_record)
    meta = records.read_detection_meta(out)
    print(f"{len(names)} record(s), {sum(r['beats'] for r in per_record)} beats -> {out}; "
          f"real-time factor {meta['real_time_factor']}x ({meta['ecg_s']:.0f} s of ECG in {meta['compute_s']:.1f} s)")
    gapped = [r for r in per_record if r["gaps"]]
    if gapped:
        print(f"stretches without signal (NaN, or every lead flat for >= 1 s), not detected in and marked "
              f"'~' in the annotation files: {sum(len(r['gaps']) for r in gapped)} in {len(gapped)} record(s), "
              f"{sum(r['gap_s'] for r in gapped):.1f} s in all")
    implausible = meta["implausible_records"]
    if implausible:
        print(f"implausible detections in {len(implausible)} of {len(names)} record(s): "
              f"{', '.join(implausible)} (the warnings above; detections.json lists them)")
    if detector.warnings:
        print(f"{args.run}: its threshold was tuned with {len(detector.warnings)} warning(s) (above; "
              f"{ws.run_dir(args.run) / records.THRESHOLD_FILE})")
    return {"out": out, "meta": meta_path, "records": per_record, "implausible_records": implausible,
            "run_warnings": list(detector.warnings)}


main = script(__name__, main)
