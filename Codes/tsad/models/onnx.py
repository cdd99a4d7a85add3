"""A student through onnxruntime instead of torch: the same probabilities, fewer dependencies at run
time and (measured in docs/BENCHMARKS.md) faster on one CPU thread.

``export_onnx(run_dir)`` writes ``<run>/model.onnx`` (the student's logits for (batch, samples, leads)
windows, dynamic batch), stamped with the SHA-256 of the checkpoint it came from, so a retrained run
is exported again instead of running stale weights. ``use_onnx(predictor, run_dir)`` swaps a loaded
student's window probabilities for onnxruntime's. ``detect.py --backend onnx`` does both.

``choose_backend`` decides ``auto`` (the default of detect.py and of ``tsad.api``): onnxruntime for
a student whose run folder already holds a model.onnx exported from its current checkpoint (the
shipped model does) when onnxruntime is installed, torch otherwise. ``auto`` never exports, so it
never writes into a run folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tsad.core import paths
from tsad.core.fileio import atomic_path, sha256_file
from tsad.models.predictor import DetectionError, Predictor

ONNX_FILE = "model.onnx"
SOURCE_KEY = "tsad_checkpoint_sha256"   # metadata of the .onnx file: the checkpoint it was exported from
BACKENDS = ("auto", "torch", "onnx")


def _onnx_source(path: Path) -> str | None:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}.get(SOURCE_KEY)


def export_onnx(run_dir, force: bool = False) -> Path:
    """``<run_dir>/model.onnx`` of the run's student (written when missing, made from another
    checkpoint, or ``force``). Raises DetectionError for a run without a student checkpoint, or when
    onnx is not installed."""
    import torch

    run_dir = Path(run_dir)
    checkpoint = run_dir / paths.STUDENT_CHECKPOINT
    if not checkpoint.is_file():
        raise DetectionError(f"{checkpoint}: no student checkpoint; --backend onnx runs students only")
    try:
        import onnx
    except ModuleNotFoundError as err:
        raise DetectionError(f"--backend onnx needs the packages onnx and onnxruntime ({err.name} is not "
                             "installed): pip install -r requirement.txt") from err
    target = run_dir / ONNX_FILE
    sha = sha256_file(checkpoint)
    if target.is_file() and not force and _onnx_source(target) == sha:
        return target
    from tsad.core.checkpoint import load_checkpoint
    from tsad.core.geometry import checkpoint_geometry
    from tsad.models.student import load_student

    geometry = checkpoint_geometry(load_checkpoint(checkpoint))
    model = load_student(run_dir, "cpu").eval()
    example = torch.zeros(2, geometry.samples, geometry.n_leads)
    # a fully convolutional student runs over whole chunks: its length is free too
    free = {0: "batch", 1: "length"} if getattr(model, "fully_convolutional", False) else {0: "batch"}
    with atomic_path(target) as tmp:
        torch.onnx.export(model, (example,), str(tmp), input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": free, "logits": free}, dynamo=False)
        exported = onnx.load(str(tmp))
        exported.metadata_props.add(key=SOURCE_KEY, value=sha)
        onnx.save(exported, str(tmp))
    return target


def use_onnx(predictor: Predictor, run_dir, threads: int | None = None, batch_size: int = 64) -> Predictor:
    """The predictor with its window probabilities from onnxruntime (``threads`` intra-op threads,
    default onnxruntime's choice); only students are exported."""
    if predictor.kind != "student":
        raise DetectionError(f"{predictor.name}: a {predictor.kind}; --backend onnx runs students only")
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(export_onnx(run_dir)), options, providers=["CPUExecutionProvider"])

    def window_probs(windows: np.ndarray) -> np.ndarray:
        out = [session.run(None, {"x": np.ascontiguousarray(windows[k:k + batch_size], np.float32)})[0]
               for k in range(0, len(windows), batch_size)]
        logits = np.concatenate(out) if out else np.zeros((0, predictor.geometry.samples), np.float32)
        return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)

    predictor.window_probs = window_probs
    if predictor.full_probs is not None:
        unit = predictor.unit

        def full_probs(signal: np.ndarray) -> np.ndarray:
            # the exported graph wants a multiple of ``unit``: the edge sample repeats, as in torch
            padded = np.pad(signal, ((0, (-len(signal)) % unit), (0, 0)), mode="edge")
            logits = session.run(None, {"x": np.ascontiguousarray(padded[None], np.float32)})[0][0][:len(signal)]
            return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)

        predictor.full_probs = full_probs
    predictor.description += " (onnxruntime)"
    predictor.info = {**predictor.info, "backend": "onnx"}
    return predictor


def choose_backend(backend: str, predictor: Predictor, run_dir) -> str:
    """``"torch"`` or ``"onnx"``: ``backend`` itself unless it is ``"auto"``, which is onnx for a
    student whose ``run_dir`` holds a model.onnx made from its current checkpoint, with onnx and
    onnxruntime installed, and torch for anything else."""
    import importlib.util

    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend
    if predictor.kind != "student" or run_dir is None:
        return "torch"
    target, checkpoint = Path(run_dir) / ONNX_FILE, Path(run_dir) / paths.STUDENT_CHECKPOINT
    if not (target.is_file() and checkpoint.is_file()):
        return "torch"
    if any(importlib.util.find_spec(name) is None for name in ("onnx", "onnxruntime")):
        return "torch"
    return "onnx" if _onnx_source(target) == sha256_file(checkpoint) else "torch"


def with_backend(predictor: Predictor, backend: str, run_dir, threads: int | None = None) -> Predictor:
    """The predictor on ``choose_backend(backend, ...)``'s backend; its ``info["backend"]`` says which."""
    chosen = choose_backend(backend, predictor, run_dir)
    if chosen == "onnx":
        return use_onnx(predictor, run_dir, threads=threads)
    if predictor.kind == "student":
        predictor.info = {**predictor.info, "backend": "torch"}
    return predictor
