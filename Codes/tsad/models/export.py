"""Exporting a student to onnx, so that it runs through onnxruntime without torch (``tsad.models.ort``):
the same probabilities, fewer dependencies at run time and (measured in docs/BENCHMARKS.md) faster
on one CPU thread.

``export_onnx(run_dir)`` writes ``<run>/model.onnx`` (the student's logits for (batch, samples,
leads) windows; dynamic batch, and a free length for a fully convolutional student), stamped with
the SHA-256 of the checkpoint it came from and the checkpoint's header, so a retrained run is
exported again instead of running stale weights. ``detect.py --backend onnx`` exports before it
loads; ``--backend auto`` (the default) never exports, so it never writes into a run folder.
"""

from __future__ import annotations

import json
from pathlib import Path

from tsad.core.checkpoint import load_checkpoint
from tsad.core.fileio import atomic_path, sha256_file
from tsad.core.paths import (
    CLASSIFIER_CHECKPOINT,
    CLASSIFIER_ONNX,
    ONNX_FILE,
    STUDENT_CHECKPOINT,
    VERIFIER_CHECKPOINT,
    VERIFIER_ONNX,
)
from tsad.models import loader, ort
from tsad.models.predictor import DetectionError


def export_onnx(run_dir, force: bool = False) -> Path:
    """``<run_dir>/model.onnx`` of the run's student (written when missing, made from another
    checkpoint, without its header, or ``force``), and ``classifier.onnx`` of its beat classifier
    and ``verifier.onnx`` of its verifier, when the run has them (``export_classifier_onnx``,
    ``export_verifier_onnx``).

    Raises
    ------
    DetectionError
        A run without a student checkpoint, or onnx / onnxruntime not installed.
    """
    run_dir = Path(run_dir)
    checkpoint = run_dir / STUDENT_CHECKPOINT
    if not checkpoint.is_file():
        raise DetectionError(f"{checkpoint}: no student checkpoint; --backend onnx runs students only")
    try:
        import onnx  # the exporter's own packages: only an export needs them
        import torch
    except ModuleNotFoundError as err:
        raise DetectionError(f"--backend onnx needs the packages onnx and onnxruntime ({err.name} is not "
                             "installed): pip install -r requirement.txt") from err
    if (run_dir / CLASSIFIER_CHECKPOINT).is_file():
        export_classifier_onnx(run_dir, force)
    if (run_dir / VERIFIER_CHECKPOINT).is_file():
        export_verifier_onnx(run_dir, force)
    target = run_dir / ONNX_FILE
    if target.is_file() and not force and ort.current_export(run_dir) is not None:
        return target
    student = loader.load(run_dir, backend="torch", device="cpu")
    if not student.exportable:
        raise DetectionError(f"{checkpoint}: a {student.kind}; --backend onnx runs students only")
    model = student.model.eval()
    geometry = student.geometry
    example = torch.zeros(2, geometry.samples, geometry.n_leads)
    whole = student.full_probs is not None   # a fully convolutional student runs over whole chunks
    free = {0: "batch", 1: "length"} if whole else {0: "batch"}
    header = {**student.header, "fully_convolutional": whole, "reach": student.reach, "unit": student.unit,
              "lookahead": student.lookahead}
    with atomic_path(target) as tmp:
        torch.onnx.export(model, (example,), str(tmp), input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": free, "logits": free}, dynamo=False)
        exported = onnx.load(str(tmp))
        exported.metadata_props.add(key=ort.SOURCE_KEY, value=sha256_file(checkpoint))
        exported.metadata_props.add(key=ort.HEADER_KEY, value=json.dumps(header, default=str))
        onnx.save(exported, str(tmp))
    return target


def export_classifier_onnx(run_dir, force: bool = False, *, checkpoint_file: str = CLASSIFIER_CHECKPOINT,
                           onnx_file: str = CLASSIFIER_ONNX) -> Path:
    """``<run_dir>/classifier.onnx`` of the run's beat classifier (``tsad.models.beat_classifier``):
    its logits for (waves, rhythm) of any number of beats, stamped like model.onnx; the header holds
    its classes and, for a verifier, its rule (``export_verifier_onnx``)."""
    import onnx
    import torch

    from tsad.models.beat_classifier import load_classifier

    run_dir = Path(run_dir)
    checkpoint, target = run_dir / checkpoint_file, run_dir / onnx_file
    if target.is_file() and not force and ort.current_export(run_dir, onnx_file=onnx_file,
                                                             checkpoint_file=checkpoint_file) is not None:
        return target
    try:
        model = load_classifier(checkpoint)
    except ValueError as err:
        raise DetectionError(str(err)) from err
    c = model.config
    example = (torch.zeros(2, model.channels, c.wave_samples), torch.ones(2, c.rhythm_features))
    free = {0: "beats"}
    with atomic_path(target) as tmp:
        torch.onnx.export(model, example, str(tmp), input_names=["waves", "rhythm"], output_names=["logits"],
                          dynamic_axes={"waves": free, "rhythm": free, "logits": free}, dynamo=False)
        exported = onnx.load(str(tmp))
        exported.metadata_props.add(key=ort.SOURCE_KEY, value=sha256_file(checkpoint))
        header = {"classes": list(c.classes), "wave_groups": c.wave_groups}
        rule = load_checkpoint(checkpoint).get("verifier")
        if rule is not None:
            header["verifier"] = rule
        exported.metadata_props.add(key=ort.HEADER_KEY, value=json.dumps(header))
        onnx.save(exported, str(tmp))
    return target


def export_verifier_onnx(run_dir, force: bool = False) -> Path:
    """``<run_dir>/verifier.onnx`` of the run's beat verifier (``tsad.models.verifier``), its rule in
    the header: what detection through onnxruntime drops beats with, without torch."""
    return export_classifier_onnx(run_dir, force, checkpoint_file=VERIFIER_CHECKPOINT, onnx_file=VERIFIER_ONNX)
