"""Detecting many records into one folder: on this machine one record after another, or on a dask
cluster (``detect.py --engine dask``).

Each record's files are written by ``detect_into``: the annotation file and the beats csv
(``tsad.detection.folders``), the probability streamed to ``<record>_probs.npy`` as it is computed
(memory stays bounded on a week-long record), and last ``<record>_detection.json``, which says that
the record is done and by which model with which settings (``job_key``). A record whose json matches
the current job is skipped, so an interrupted archive run continues where it stopped. Records in
sub-folders of the input keep their relative path in the output folder.

The dask engine sends one task per record to the workers of a ``dask.distributed`` cluster (a
``LocalCluster`` of single-threaded worker processes by default, or a running scheduler's address);
each worker loads the model once. A record that fails is listed with its error in
``failures.json`` and the summary, and the others go on.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from tsad.core.fileio import save_json, sha256_file
from tsad.core.paths import CLASSIFIER_CHECKPOINT, VERIFIER_CHECKPOINT, Workspace
from tsad.detection.folders import DEFAULT_EXT, ProbsWriter, probs_npy_name, write_detection
from tsad.detection.records import detect_record
from tsad.detection.streaming import model_length, wfdb_source
from tsad.models import loader
from tsad.models.loader import find_checkpoint
from tsad.models.predictor import DetectionError, Predictor

FAILURES_FILE = "failures.json"
LONG_RECORD_S = 3600.0     # records longer than this get their own progress bar (hours of ECG)


def record_meta_name(record: str) -> str:
    return f"{record}_detection.json"


def find_records(folder, names=None, recursive: bool = False) -> list[str]:
    """Records (``.hea`` files) of ``folder``, as paths relative to it without the suffix, sorted;
    ``recursive`` walks its sub-folders too. ``names`` picks some (DetectionError for one that is
    not there)."""
    folder = Path(folder)
    pattern = "**/*.hea" if recursive else "*.hea"
    found = sorted(p.relative_to(folder).with_suffix("").as_posix() for p in folder.glob(pattern) if p.is_file())
    if not found:
        below = 0 if recursive else sum(1 for p in folder.glob("*/**/*.hea") if p.is_file())
        hint = f"; its sub-folders hold {below}: add --recursive to detect them" if below else ""
        raise DetectionError(f"{folder}: no WFDB records (.hea files) found{' in its tree' if recursive else ''}{hint}")
    if names:
        missing = [r for r in names if r not in found]
        if missing:
            raise DetectionError(f"{folder}: no header for record(s) {', '.join(missing)}")
        return list(names)
    return found


def model_fingerprint(detector: Predictor) -> dict:
    """What identifies the model that made a detection: its checkpoint's hash and its beat
    classifier's and verifier's, when they ran (a classical detector: its name)."""
    if detector.run_dir is None:
        return {"model": detector.name}
    ckpt = find_checkpoint(detector.run_dir)
    classifier = Path(detector.run_dir) / CLASSIFIER_CHECKPOINT
    found = {"model": detector.name, "checkpoint_sha256": sha256_file(ckpt) if ckpt else None}
    if detector.classify is not None and classifier.is_file():
        found["classifier_sha256"] = sha256_file(classifier)
    verifier = Path(detector.run_dir) / VERIFIER_CHECKPOINT
    if detector.verify is not None and verifier.is_file():
        found["verifier_sha256"] = sha256_file(verifier)
    return found


def job_key(fingerprint: dict, settings: dict) -> dict:
    """The model and every setting that changes beats: a detection is reused only when all are equal."""
    keep = ("threshold", "hop", "refractory_s", "leads", "ext")
    key = {**fingerprint, **{k: settings.get(k) for k in keep}}
    if settings.get("latency_s") is not None:   # only then: offline detections made before it stay valid
        key["latency_s"] = settings["latency_s"]
    return key


def read_done(out_dir, record: str, key: dict) -> dict | None:
    """The per-record row of a record detected before with the same ``key``, else None."""
    path = Path(out_dir) / record_meta_name(record)
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, OSError):
        return None     # a damaged marker: the record is detected again
    ann = Path(out_dir) / f"{record}.{key.get('ext') or DEFAULT_EXT}"
    return meta.get("row") if meta.get("key") == key and ann.is_file() else None


def detect_into(detector: Predictor, folder, record: str, out_dir, key: dict, *, hop=None, threshold=None,
                refractory_s=None, leads=None, ext: str = DEFAULT_EXT, chunk_s=None,
                progress: bool | None = None, latency_s=None) -> dict:
    """Detects ``folder/record`` and writes its files under ``out_dir`` (module docstring); returns
    its row of ``detections.json``. ``progress`` None: a bar in hours for records over an hour."""
    path = Path(folder) / record
    target = (Path(out_dir) / record).parent
    kwargs = {k: v for k, v in {"hop": hop, "threshold": threshold, "refractory_s": refractory_s,
                                 "leads": leads, "chunk_s": chunk_s, "latency_s": latency_s}.items() if v is not None}
    if detector.lead_beats is not None:   # a classical detector: no probabilities to write
        det = detect_record(detector, path, **{k: v for k, v in kwargs.items() if k in ("hop", "threshold", "latency_s")})
    else:
        source = wfdb_source(path)
        long = source.n_samples / source.fs > LONG_RECORD_S
        n = model_length(source.n_samples, source.fs, detector.geometry.fs)
        with ProbsWriter(target / probs_npy_name(source.name), n) as sink:
            det = detect_record(detector, path, keep_prob=False, prob_sink=sink,
                                progress=long if progress is None else progress, **kwargs)
    write_detection(det, target, ext)
    row = {"record": record, "fs": det.fs, "beats": int(len(det.samples)), "duration_s": round(det.duration_s, 2),
           "compute_s": round(det.seconds, 3), "warnings": det.warnings,
           "gaps": [[int(a), int(b)] for a, b in det.gaps], "gap_s": round(det.gap_s, 2), "leads": det.leads}
    if det.classes is not None:   # beats per class, as the annotation file has them
        row["classes"] = det.class_counts()
    if det.dropped is not None:   # detections the run's verifier called "not a beat"
        row["dropped_by_verifier"] = int(len(det.dropped))
    save_json(Path(out_dir) / record_meta_name(record), {"key": key, "row": row})   # last: the record is done
    return row


# ---- the dask engine --------------------------------------------------------------------------------

_WORKER_MODELS: dict[tuple, Predictor] = {}


def load_for_job(spec: dict) -> Predictor:
    """The detector a job names (``spec``: run, workspace, device, backend, threads), loaded once per
    process: each dask worker keeps its own."""
    key = tuple(sorted((k, str(v)) for k, v in spec.items()))
    if key not in _WORKER_MODELS:
        ws = Workspace.from_arg(spec.get("workspace"))
        _WORKER_MODELS[key] = loader.load(spec["run"], ws, device=spec.get("device", "cpu"),
                                          backend=spec.get("backend") or "torch", threads=spec.get("threads"),
                                          classify=spec.get("classify", True), causal=spec.get("causal", False),
                                          verify=spec.get("verify", True))
    return _WORKER_MODELS[key]


def _dask_task(spec: dict, folder: str, record: str, out_dir: str, key: dict, options: dict) -> dict:
    started = time.perf_counter()
    detector = load_for_job(spec)
    row = detect_into(detector, folder, record, out_dir, key, progress=False, **options)
    row["wall_s"] = round(time.perf_counter() - started, 3)
    return row


def run_dask(spec: dict, folder, names: list[str], out_dir, key: dict, options: dict, *,
             scheduler: str | None = None, workers: int = 2, progress: bool = True) -> tuple[list[dict], list[dict]]:
    """Detects ``names`` on a dask cluster; returns (rows, failures). ``scheduler`` None starts a
    ``LocalCluster`` of ``workers`` single-threaded processes (and closes it); an address connects
    to a running one, whose workers must import ``tsad`` (``pip install -e .``) and see the files
    (start them without ``MALLOC_TRIM_THRESHOLD_`` in their environment: it slows the model 1.5x)."""
    import dask
    from dask.distributed import Client, LocalCluster, as_completed
    from tqdm.auto import tqdm

    codes = str(Path(__file__).resolve().parents[1])   # the workers import tsad from this checkout
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (codes, os.environ.get("PYTHONPATH")) if p)
    cluster = None
    if scheduler is None:
        # dask starts workers with MALLOC_TRIM_THRESHOLD_=65536; setting it turns off glibc's dynamic
        # mmap threshold, so every large tensor is a fresh mmap: the model ran 1.5x slower in such a
        # worker (docs/BENCHMARKS.md, "An archive on dask"). Our workers start without it.
        environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ").items()
                   if k != "MALLOC_TRIM_THRESHOLD_"}
        with dask.config.set({"distributed.nanny.pre-spawn-environ": {**environ, "OMP_NUM_THREADS": 1}}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.WARNING,
                                   env={"PYTHONPATH": os.environ["PYTHONPATH"]})
    rows, failures = [], []
    try:
        with Client(cluster if cluster is not None else scheduler) as client:
            futures = {client.submit(_dask_task, spec, str(folder), name, str(out_dir), key, options,
                                     key=f"detect-{name}-{time.time_ns()}", pure=False): name for name in names}
            bar = tqdm(total=len(futures), desc=f"detect {spec['run']} on dask", unit="rec", disable=None if progress else True)
            for future in as_completed(futures):
                name = futures[future]
                if future.status == "error":     # one record's failure is reported, the others go on
                    err = future.exception()
                    failures.append({"record": name, "error": f"{type(err).__name__}: {err}"})
                else:
                    rows.append(future.result())
                bar.update()
            bar.close()
    finally:
        if cluster is not None:
            cluster.close()
    order = {n: k for k, n in enumerate(names)}
    return sorted(rows, key=lambda r: order[r["record"]]), sorted(failures, key=lambda r: order[r["record"]])


def write_failures(out_dir, failures: list[dict]) -> Path | None:
    """``failures.json`` listing each failed record and its error (removed when none failed)."""
    path = Path(out_dir) / FAILURES_FILE
    if failures:
        save_json(path, {"failures": failures})
        return path
    path.unlink(missing_ok=True)
    return None
