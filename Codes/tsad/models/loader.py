"""The one model table and the one loader: ``load(run, workspace, device, backend) -> Predictor``.

``KINDS`` maps the ``kind`` a checkpoint records (``tsad.models.kinds``) to what that kind is:

=================  ==========  ====================  =========================================================
kind               role        checkpoint            built by
=================  ==========  ====================  =========================================================
``student``        student     ``best.pth``          ``tsad.models.student.predictor`` (or onnxruntime: ``ort``)
``smolvlm_tsad``   teacher     ``smolvlm_best.pth``  ``tsad.models.vlm.teacher.predictor`` (plots on the fly)
``teacher``        teacher     ``smolvlm_best.pth``  ``tsad.models.teachers.predictor`` (picture, context, ensemble)
``classical``      classical   none                  ``tsad.models.classical.classical_detector``
=================  ==========  ====================  =========================================================

Detection, threshold tuning, cross-validation, the app, onnx export, model cards and distillation
(``run_logits``, the teacher-logit cache) all load models here, so a kind added to the table runs
everywhere::

    loader.register_kind(loader.ModelKind("mykind", "student", "mykind.pth", "my model", load_fn))

``load_fn(run_dir, state, device, batch_size) -> Predictor`` builds the model from the checkpoint
``state``; ``load`` adds the run's name, folder, backend, tuned threshold and warnings
(``<run>/detection.json``), and the beat classifier and verifier beside the detector
(``<run>/classifier.pth``, ``tsad.models.beat_classifier``; ``<run>/verifier.pth``,
``tsad.models.verifier``) when the folder holds them.

The model modules are imported inside their entries' functions, and only there: each needs torch
(and the VLM transformers), which detection through onnxruntime never imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tsad.core import paths
from tsad.core.checkpoint import load_checkpoint
from tsad.data.beat_context import FS as BEAT_CONTEXT_FS
from tsad.data.beat_context import WAVE_CONTEXTS
from tsad.models import kinds, ort
from tsad.models.classical import CLASSICAL_DETECTORS, classical_detector
from tsad.models.predictor import DetectionError, Predictor
from tsad.models.tuned import tuned_causal_wait_s, tuned_threshold, tuned_warnings
from tsad.models.verifier import VerifierRule

LoadFn = Callable[[Path, dict, str, int], Predictor]
LogitsFn = Callable[..., np.ndarray]
BACKENDS = ("auto", "torch", "onnx")


@dataclass(frozen=True)
class ModelKind:
    """An entry of ``KINDS``: a kind's role (``kinds.ROLES``), the checkpoint file a run of it keeps,
    what it is in words, the function that turns the checkpoint into a Predictor and, for a teacher,
    the function that gives logits for plots on disk (``logits(run_dir, image_paths, batch_size=,
    device=, progress=)``, the distillation cache's)."""

    name: str
    role: str
    checkpoint: str | None
    description: str
    load: LoadFn | None = None
    logits: LogitsFn | None = None


def _student(run_dir: Path, state: dict, device: str, batch_size: int) -> Predictor:
    from tsad.models import student  # torch

    return student.predictor(run_dir, state, device, batch_size)


def _vlm_teacher(run_dir: Path, state: dict, device: str, batch_size: int) -> Predictor:
    from tsad.models.vlm import teacher  # torch and transformers

    return teacher.predictor(run_dir, state, device, batch_size)


def _vlm_logits(run_dir, image_paths, **kwargs) -> np.ndarray:
    from tsad.models.vlm import teacher  # torch and transformers

    return teacher.teacher_logits(run_dir, image_paths, **kwargs)


def _teacher_here(run_dir: Path, state: dict, device: str, batch_size: int) -> Predictor:
    from tsad.models import teachers  # torch

    return teachers.predictor(run_dir, state, device, batch_size)


def _teacher_here_logits(run_dir, image_paths, **kwargs) -> np.ndarray:
    from tsad.models import teachers  # torch

    return teachers.logits(run_dir, image_paths, **kwargs)


KINDS: dict[str, ModelKind] = {k.name: k for k in (
    ModelKind(kinds.STUDENT, "student", paths.STUDENT_CHECKPOINT,
              "a student of one of tsad.models.student.ARCHITECTURES, reading the raw series", _student),
    ModelKind(kinds.VLM_TEACHER, "teacher", paths.TEACHER_CHECKPOINT,
              "SmolVLM backbone (frozen) with a trainable connector and head, reading window plots",
              _vlm_teacher, _vlm_logits),
    ModelKind(kinds.TEACHER_HERE, "teacher", paths.TEACHER_CHECKPOINT,
              "a teacher trained here from random initialisation (tsad.models.teachers.TEACHER_KINDS)",
              _teacher_here, _teacher_here_logits),
    ModelKind(kinds.CLASSICAL, "classical", None,
              "a classical detector (tsad.models.classical.CLASSICAL_DETECTORS) on one whole lead"),
)}


def register_kind(kind: ModelKind) -> ModelKind:
    """Adds a model kind to the table (its checkpoints say ``kind.name``); every stage then loads it."""
    if kind.name in KINDS:
        raise ValueError(f"model kind {kind.name!r} is already in tsad.models.loader.KINDS")
    KINDS[kind.name] = kind
    return kind


def unregister_kind(name: str) -> None:
    """Removes a kind added with ``register_kind`` (tests restore the table with it)."""
    KINDS.pop(name, None)


def checkpoint_files() -> list[str]:
    """The checkpoint files a run folder may hold, in the order they are looked for."""
    return list(dict.fromkeys(k.checkpoint for k in KINDS.values() if k.checkpoint))


def find_checkpoint(run_dir) -> Path | None:
    """The first of ``checkpoint_files()`` in ``run_dir``, else None."""
    for name in checkpoint_files():
        if (Path(run_dir) / name).is_file():
            return Path(run_dir) / name
    return None


def read_kind(path) -> tuple[dict, ModelKind]:
    """A checkpoint's contents and its entry of the table; DetectionError for a kind not in it."""
    state = load_checkpoint(path)
    kind = state.get("kind")
    if kind not in KINDS or KINDS[kind].load is None:
        raise DetectionError(f"{path}: checkpoint of a {kind!r} model, not one of the kinds "
                             f"{', '.join(k for k, v in KINDS.items() if v.load)} (tsad.models.loader.KINDS)")
    return state, KINDS[kind]


def resolve(run, ws: paths.Workspace | None = None, causal: bool = False) -> tuple[Path, Path | None] | None:
    """``(run folder, its checkpoint or None)`` of a run named as ``load`` takes it; None for a
    classical detector. ``causal``: the run's causal detector (its ``causal/`` folder) where it has
    one, else the run itself."""
    run = str(run)
    if run in CLASSICAL_DETECTORS:
        return None
    ws = ws or paths.Workspace.from_arg(None)
    path = Path(run).expanduser()
    if path.is_file():                      # a checkpoint given by its path
        return path.resolve().parent, path.resolve()
    run_dir = ws.resolve_run_dir(run)
    if run in paths.PRETRAINED_MODELS and not (run_dir / paths.STUDENT_CHECKPOINT).is_file():
        raise DetectionError(f"{run_dir}: the shipped model's weights are missing (a checkout without "
                             f"pretrained/? train one with Codes/Models/train_pretrained.py)")
    if not run_dir.is_dir() and path.is_dir():
        run_dir = path.resolve()
    if causal and (run_dir / paths.CAUSAL_DIR).is_dir() and find_checkpoint(run_dir / paths.CAUSAL_DIR):
        run_dir = run_dir / paths.CAUSAL_DIR
    return run_dir, find_checkpoint(run_dir)


def load(run, ws: paths.Workspace | None = None, device: str = "auto", backend: str = "torch",
         batch_size: int = 64, threads: int | None = None, name: str | None = None,
         classify: bool = True, causal: bool = False, verify: bool = True) -> Predictor:
    """The Predictor of a run: a run of ``ws`` by name, ``pretrained`` (the shipped model), a run
    folder or a checkpoint file by its path, or a classical detector (``CLASSICAL_DETECTORS``).

    Parameters
    ----------
    backend : {"torch", "onnx", "auto"}
        ``onnx`` runs a student through onnxruntime from its run's current model.onnx (made by
        ``tsad.models.export.export_onnx``), without importing torch; ``auto`` takes onnx where
        such an export is there and onnxruntime is installed, torch otherwise. It never exports.
    classify : bool
        Attach the run's beat classifier when it has one (False: beats only, as fast as before).
    verify : bool
        Attach the run's beat verifier when it has one (``verifier.pth``, ``tsad.models.verifier``):
        detection then drops the detections it calls "not a beat". False: the detector's own beats.
    causal : bool
        For causal detection (``detect.py --latency-s``): the run's causal detector (its
        ``causal/`` folder, as the shipped model has) where it has one, else the run's own model;
        never a classifier or a verifier (both read the next beat).
    batch_size : int
        Windows through the model at once: 64 keeps a detection's memory near 400 MB (256 cost
        120 MB more and was no faster on one core).
    threads : int, optional
        Intra-op threads of torch or onnxruntime (default: their choice).

    Raises
    ------
    DetectionError
        The run folder holds no checkpoint of a kind in KINDS; ``backend="onnx"`` without a
        current export.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    found = resolve(run, ws, causal)
    if found is None:
        return classical_detector(str(run))
    run_dir, ckpt = found
    if ckpt is None:
        raise DetectionError(f"{run_dir}: no trained model ({' or '.join(checkpoint_files())}); train the run "
                             f"first, or use {' / '.join(CLASSICAL_DETECTORS)}")
    export = ort.current_export(run_dir, threads) if backend != "torch" else None
    if backend == "onnx" and export is None:
        raise DetectionError(f"{run_dir}: no model.onnx exported from its current checkpoint (or onnxruntime "
                             f"is not installed); detect.py --backend onnx exports it (tsad.models.export)")
    if export is not None:
        session, header = export
        predictor = ort.predictor(run_dir, session, header, batch_size)
        chosen = "onnx"
    else:
        state, entry = read_kind(ckpt)
        if threads:
            import torch  # only the torch backend has torch threads to set

            torch.set_num_threads(threads)
        predictor = entry.load(run_dir, state, device, batch_size)
        header = {k: v for k, v in state.items() if k != "model"}
        chosen = "torch"
    if name is None and causal and run_dir.name == paths.CAUSAL_DIR and not str(run).rstrip("/").endswith(paths.CAUSAL_DIR):
        name = f"{run}/{paths.CAUSAL_DIR}"     # the run's causal detector, named so in outputs
    predictor = replace(predictor, name=name or str(run), threshold=tuned_threshold(run_dir),
                        warnings=tuned_warnings(run_dir), header=header, run_dir=run_dir, backend=chosen,
                        causal_wait_s=tuned_causal_wait_s(run_dir))
    if causal:
        return predictor
    predictor = with_classifier(predictor, run_dir, threads) if classify else predictor
    return with_verifier(predictor, run_dir, threads) if verify else predictor


def with_classifier(predictor: Predictor, run_dir, threads: int | None = None) -> Predictor:
    """The predictor with the beat classifier of its run folder (``classifier.pth``) attached, when
    there is one: detection then gives every beat its class. A detector run through onnxruntime
    runs its classifier there too when the classifier's export is current (classifier.onnx)."""
    found = _run_classifier(predictor, run_dir, threads)
    if found is None:
        return predictor
    probs, classes, groups = found
    return replace(predictor, classify=probs, classes=classes, info={**predictor.info, "classes": list(classes)},
                   wave_groups=max(predictor.wave_groups, groups))


def _check_beat_rate(predictor: Predictor, path: Path, what: str) -> None:
    """A model of beats in context (tsad.data.beat_context) sits only beside a detector at its rate."""
    if predictor.geometry.fs != BEAT_CONTEXT_FS:
        raise DetectionError(f"{path}: a {what} reads beats at {BEAT_CONTEXT_FS:g} Hz, its detector "
                             f"runs at {predictor.geometry.fs:g} Hz")


def _run_classifier(predictor: Predictor, run_dir, threads: int | None = None):
    """``(probs(waves, rhythm), classes, wave_groups)`` of the run's beat classifier (through
    onnxruntime where the detector runs there and the export is current), or None when the run has none."""
    path = Path(run_dir) / paths.CLASSIFIER_CHECKPOINT
    if not path.is_file():
        return None
    _check_beat_rate(predictor, path, "beat classifier")
    export = ort.current_classifier_export(run_dir, threads) if predictor.backend == "onnx" else None
    if export is not None:
        session, header = export
        return ort.classifier_probs(session), tuple(header["classes"]), _wave_groups(header)
    from tsad.models import beat_classifier

    try:
        model = beat_classifier.load_classifier(path)
        beat_classifier.check_streamable(model.config, path)
    except ValueError as err:
        raise DetectionError(str(err)) from err
    return ((lambda waves, rhythm: beat_classifier.class_probs(model, waves, rhythm)), tuple(model.config.classes),
            model.config.wave_groups)


def _wave_groups(header: dict) -> int:
    """The waveform groups an exported classifier reads (exports from before there was a choice: two)."""
    return int(header.get("wave_groups", WAVE_CONTEXTS["recent"]))


def with_verifier(predictor: Predictor, run_dir, threads: int | None = None) -> Predictor:
    """The predictor with the beat verifier of its run folder (``verifier.pth``) attached, when there
    is one: detection then drops the detections it rejects (``tsad.models.verifier.VerifierRule``).
    Through onnxruntime where the detector runs there and the verifier's export is current. A rule
    that also keeps what the beat classifier calls a kept class runs the run's classifier on the same
    beats (whether or not classes are asked for: the beats found never depend on that)."""
    path = Path(run_dir) / paths.VERIFIER_CHECKPOINT
    if not path.is_file():
        return predictor
    _check_beat_rate(predictor, path, "beat verifier")
    export = ort.current_verifier_export(run_dir, threads) if predictor.backend == "onnx" else None
    if export is not None:
        session, header = export
        onnx_path = Path(run_dir) / paths.VERIFIER_ONNX
        if "verifier" not in header:
            raise DetectionError(f"{onnx_path}: an export without the verifier's rule (export it again)")
        try:
            rule = VerifierRule.from_dict(header["verifier"], source=str(onnx_path))
        except ValueError as err:
            raise DetectionError(str(err)) from err
        probs, groups = ort.classifier_probs(session), _wave_groups(header)
    else:
        from tsad.models import beat_classifier

        try:
            model, rule = beat_classifier.load_verifier(path)
            beat_classifier.check_streamable(model.config, path)
        except ValueError as err:
            raise DetectionError(str(err)) from err

        def probs(waves, rhythm):
            return beat_classifier.class_probs(model, waves, rhythm)
        groups = model.config.wave_groups
    info = {**predictor.info, "verifier": rule.as_dict()}
    groups = max(predictor.wave_groups, groups)
    if not rule.keep_classified:
        return replace(predictor, verify=lambda waves, rhythm: rule.keep(probs(waves, rhythm)), info=info,
                       wave_groups=groups)
    found = _run_classifier(predictor, run_dir, threads)
    if found is None:
        raise DetectionError(f"{path}: its rule also keeps what the beat classifier calls "
                             f"{' or '.join(rule.keep_classes)}, and {run_dir} holds no {paths.CLASSIFIER_CHECKPOINT}")
    class_probs, classes, classifier_groups = found
    names = np.asarray(classes, dtype=object)

    def verify(waves, rhythm):
        classified = names[class_probs(waves, rhythm).argmax(axis=1)] if len(waves) else names[:0]
        return rule.keep(probs(waves, rhythm), classified=classified)

    return replace(predictor, verify=verify, info=info, wave_groups=max(groups, classifier_groups))


def run_logits(run_dir, image_paths, **kwargs) -> np.ndarray:
    """Logits (N, L) of any teacher run for the windows whose plots are ``image_paths``: the
    checkpoint's kind picks the code (the table's ``logits``). The distillation cache calls this."""
    path = Path(run_dir) / paths.TEACHER_CHECKPOINT
    ckpt = path if path.is_file() else find_checkpoint(run_dir) or path
    kind = load_checkpoint(ckpt).get("kind")
    entry = KINDS.get(kind)
    if entry is None or entry.logits is None:
        raise ValueError(f"{ckpt}: checkpoint of a {kind!r} model, not a teacher")
    return entry.logits(run_dir, image_paths, **kwargs)
