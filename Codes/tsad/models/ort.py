"""A student through onnxruntime, without torch: the Predictor of a run whose folder holds a
``model.onnx`` exported from its current checkpoint (``tsad.models.export`` writes it).

The export carries what a Predictor needs in its metadata: the SHA-256 of the checkpoint it was
made from (a retrained run is not run on stale weights) and the checkpoint's header (kind, window
geometry, model config, lambda) with the model's reach and unit, so that loading it reads neither
the checkpoint nor torch. ``current_export`` is the one test of "current"; the loader uses it to
decide ``backend="auto"``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

from tsad.core.fileio import sha256_file
from tsad.core.geometry import checkpoint_geometry
from tsad.core.paths import (
    CLASSIFIER_CHECKPOINT,
    CLASSIFIER_ONNX,
    ONNX_FILE,
    STUDENT_CHECKPOINT,
    VERIFIER_CHECKPOINT,
    VERIFIER_ONNX,
)
from tsad.models.predictor import DetectionError, Predictor

SOURCE_KEY = "tsad_checkpoint_sha256"   # metadata of the .onnx file: the checkpoint it was exported from
HEADER_KEY = "tsad_header"              # the checkpoint's header (JSON) with "reach", "unit", "fully_convolutional"


def available() -> bool:
    """Whether onnxruntime is installed."""
    return importlib.util.find_spec("onnxruntime") is not None


def open_session(path, threads: int | None = None):
    """An onnxruntime session on the CPU (``threads`` intra-op threads, default its choice)."""
    import onnxruntime as ort  # only the onnx backend needs it

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def export_metadata(session) -> dict:
    """The ``tsad_*`` metadata an export carries."""
    return dict(session.get_modelmeta().custom_metadata_map)


def current_export(run_dir, threads: int | None = None, *, onnx_file: str = ONNX_FILE,
                   checkpoint_file: str = STUDENT_CHECKPOINT):
    """``(session, header)`` when ``run_dir`` holds a model.onnx exported from its current
    best.pth with its header (or ``onnx_file`` of ``checkpoint_file``), and onnxruntime is
    installed; else None."""
    target, checkpoint = Path(run_dir) / onnx_file, Path(run_dir) / checkpoint_file
    if not (target.is_file() and checkpoint.is_file() and available()):
        return None
    session = open_session(target, threads)
    meta = export_metadata(session)
    if HEADER_KEY not in meta or meta.get(SOURCE_KEY) != sha256_file(checkpoint):
        return None
    return session, json.loads(meta[HEADER_KEY])


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)


def predictor(run_dir, session, header: dict, batch_size: int = 64) -> Predictor:
    """The Predictor of an exported student: the same probabilities as through torch."""
    geometry = checkpoint_geometry(header, f"{Path(run_dir) / ONNX_FILE} metadata")

    def window_probs(windows: np.ndarray) -> np.ndarray:
        out = [session.run(None, {"x": np.ascontiguousarray(windows[k:k + batch_size], np.float32)})[0]
               for k in range(0, len(windows), batch_size)]
        return _sigmoid(np.concatenate(out)) if out else np.zeros((0, geometry.samples), np.float32)

    whole = {}
    if header.get("fully_convolutional"):
        unit = int(header["unit"])

        def full_probs(signal: np.ndarray) -> np.ndarray:
            # the exported graph wants a multiple of ``unit``: the edge sample repeats, as in torch
            padded = np.pad(signal, ((0, (-len(signal)) % unit), (0, 0)), mode="edge")
            return _sigmoid(session.run(None, {"x": np.ascontiguousarray(padded[None], np.float32)})[0][0][:len(signal)])

        whole = {"full_probs": full_probs, "reach": int(header["reach"]), "unit": unit,
                 "lookahead": header.get("lookahead")}
    arch = (header.get("model_config") or {}).get("arch", "bilstm")
    if header.get("kind") != "student":
        raise DetectionError(f"{Path(run_dir) / ONNX_FILE}: an export of a {header.get('kind')!r} model, not a student")
    return Predictor(Path(run_dir).name, "student", geometry, window_probs,
                     description=f"student {arch} (onnxruntime)",
                     info={"arch": arch, "lam": header.get("lam"), "backend": "onnx"}, exportable=True, **whole)


def current_classifier_export(run_dir, threads: int | None = None):
    """``(session, header)`` of the run's classifier.onnx when it was exported from its current
    classifier.pth; else None."""
    return current_export(run_dir, threads, onnx_file=CLASSIFIER_ONNX, checkpoint_file=CLASSIFIER_CHECKPOINT)


def current_verifier_export(run_dir, threads: int | None = None):
    """``(session, header)`` of the run's verifier.onnx when it was exported from its current
    verifier.pth (the header holds its rule); else None."""
    return current_export(run_dir, threads, onnx_file=VERIFIER_ONNX, checkpoint_file=VERIFIER_CHECKPOINT)


def classifier_probs(session):
    """(waves, rhythm) -> (n, classes) softmax probabilities through an exported beat classifier,
    which reads the first of the waveform channels and rhythm features that its inputs' widths say (as
    the torch model does)."""
    shapes = {i.name: i.shape for i in session.get_inputs()}
    channels, width = shapes["waves"][1], shapes["rhythm"][-1]

    def probs(waves: np.ndarray, rhythm: np.ndarray) -> np.ndarray:
        if not len(waves):
            return np.zeros((0, session.get_outputs()[0].shape[-1]), np.float32)
        logits = session.run(None, {"waves": np.ascontiguousarray(waves[:, :channels], np.float32),
                                    "rhythm": np.ascontiguousarray(rhythm[:, :width], np.float32)})[0]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    return probs
