"""The one model loader: ``load(run or checkpoint) -> Predictor``, chosen from one table keyed by the
checkpoint's ``kind`` (``MODEL_LOADERS``).

=================  ====================  ===============================================================
kind               checkpoint            what it is
=================  ====================  ===============================================================
``student``        ``best.pth``          a student of ``tsad.models.student.ARCHITECTURES`` (the raw series)
``smolvlm_tsad``   ``smolvlm_best.pth``  the VLM teacher (``tsad.models.vlm.teacher``; renders plots on the fly)
``teacher``        ``smolvlm_best.pth``  a teacher trained here; its ``model_config["type"]`` picks
                                         the kind in ``tsad.models.teachers.TEACHER_KINDS`` (picture, context)
=================  ====================  ===============================================================

Detection (``detect.py``, ``records.load_detector``), threshold tuning, cross-validation, the app
and distillation (``run_logits``, the teacher-logit cache) all load models here, so a model kind
added to the table runs everywhere::

    predictors.register_model("mykind", predictors.ModelLoader("mykind.pth", load_fn, "my model"))

``load_fn(run_dir, state, device, batch_size) -> Predictor`` builds the model from the checkpoint
``state``; the loader adds the run's name, tuned threshold and warnings (``<run>/detection.json``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tsad.core import paths
from tsad.models.classical import CLASSICAL_DETECTORS, classical_detector
from tsad.core.geometry import checkpoint_geometry
from tsad.models.predictor import DetectionError, Predictor
from tsad.training.grid import HERE_TEACHER_KIND, STUDENT_KIND, TEACHER_KIND
from tsad.detection.thresholds import tuned_threshold, tuned_warnings

LoadFn = Callable[[Path, dict, str, int], Predictor]
LogitsFn = Callable[..., np.ndarray]


@dataclass(frozen=True)
class ModelLoader:
    """An entry of ``MODEL_LOADERS``: the checkpoint file a run of this kind keeps, the function that
    turns it into a Predictor and, for a teacher, the function that gives logits for plots on disk
    (``logits(run_dir, image_paths, batch_size=, device=, progress=)``, the distillation cache's)."""

    checkpoint: str
    load: LoadFn
    description: str
    logits: LogitsFn | None = None


def _sigmoid(logits) -> np.ndarray:
    import torch

    return torch.sigmoid(torch.as_tensor(np.asarray(logits, np.float32))).numpy()


def _student(run_dir: Path, state: dict, device: str, batch_size: int) -> Predictor:
    from tsad.core.common import get_device
    from tsad.models.student import full_probs, load_student, student_probs

    model = load_student(run_dir, get_device(device))
    arch = (state.get("model_config") or {}).get("arch", "bilstm")
    whole = {}
    if getattr(model, "fully_convolutional", False):   # a record in one pass per chunk, no windows
        whole = {"full_probs": lambda x: full_probs(model, x), "reach": model.reach, "unit": model.unit}
    return Predictor(run_dir.name, "student", checkpoint_geometry(state),
                     lambda x: student_probs(model, x, batch_size=batch_size),
                     description=f"student {arch}", info={"arch": arch, "lam": state.get("lam")}, **whole)


def _vlm_teacher(run_dir: Path, state: dict, device: str, batch_size: int) -> Predictor:
    from tsad.models.vlm.teacher import load_teacher, predict_images

    geometry = checkpoint_geometry(state)
    bundle = load_teacher(run_dir, device)

    def image_probs(images) -> np.ndarray:
        return _sigmoid(predict_images(bundle, images))

    tiny = bool(getattr(bundle.source, "untrained", False))
    return Predictor(run_dir.name, "teacher", geometry, rendered(image_probs, geometry.samples),
                     description="teacher" + (" (tiny random backbone)" if tiny else ""),
                     info={"tiny_backbone": tiny}, image_probs=image_probs)


def rendered(image_probs: Callable[[list], np.ndarray], samples: int, chunk: int = 32):
    """Window probabilities of a model that reads plots: the plots are rendered on the fly
    (``tsad.data.render.render_window``, the pixels of the saved PNGs), ``chunk`` at a time."""
    from tsad.data.render import render_window

    def window_probs(windows: np.ndarray) -> np.ndarray:
        out = [image_probs([render_window(w) for w in windows[start:start + chunk]])
               for start in range(0, len(windows), chunk)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, samples), np.float32)

    return window_probs


def _vlm_logits(run_dir, image_paths, **kwargs) -> np.ndarray:
    from tsad.models.vlm.teacher import teacher_logits

    return teacher_logits(run_dir, image_paths, **kwargs)


def _teacher_here(run_dir: Path, state: dict, device: str, batch_size: int) -> Predictor:
    from tsad.models import teachers

    return teachers.predictor(run_dir, state, device, batch_size)


def _teacher_here_logits(run_dir, image_paths, **kwargs) -> np.ndarray:
    from tsad.models import teachers

    return teachers.logits(run_dir, image_paths, **kwargs)


MODEL_LOADERS: dict[str, ModelLoader] = {
    STUDENT_KIND: ModelLoader(paths.STUDENT_CHECKPOINT, _student, "a student (tsad.models.student)"),
    TEACHER_KIND: ModelLoader(paths.TEACHER_CHECKPOINT, _vlm_teacher, "the VLM teacher (tsad.models.vlm.teacher)",
                              _vlm_logits),
    HERE_TEACHER_KIND: ModelLoader(paths.TEACHER_CHECKPOINT, _teacher_here,
                                   "a teacher trained here (tsad.models.teachers.TEACHER_KINDS)", _teacher_here_logits),
}


def register_model(kind: str, loader: ModelLoader) -> ModelLoader:
    """Adds a model kind to the table (its checkpoints say ``kind``); every stage then loads it."""
    if kind in MODEL_LOADERS:
        raise ValueError(f"model kind {kind!r} is already in tsad.models.loader.MODEL_LOADERS")
    MODEL_LOADERS[kind] = loader
    return loader


def unregister_model(kind: str) -> None:
    """Removes a kind added with ``register_model`` (tests restore the table with it)."""
    MODEL_LOADERS.pop(kind, None)


def checkpoint_files() -> list[str]:
    """The checkpoint files a run folder may hold, in the order they are looked for."""
    return list(dict.fromkeys(entry.checkpoint for entry in MODEL_LOADERS.values()))


def find_checkpoint(run_dir) -> Path | None:
    """The first of ``checkpoint_files()`` in ``run_dir``, else None."""
    for name in checkpoint_files():
        if (Path(run_dir) / name).is_file():
            return Path(run_dir) / name
    return None


def read_kind(path) -> tuple[dict, ModelLoader]:
    """A checkpoint's header and its entry of the table; DetectionError for a kind not in it."""
    from tsad.core.checkpoint import load_checkpoint

    state = load_checkpoint(path)
    kind = state.get("kind")
    if kind not in MODEL_LOADERS:
        raise DetectionError(f"{path}: checkpoint of a {kind!r} model, not one of the kinds "
                             f"{', '.join(MODEL_LOADERS)} (tsad.models.loader.MODEL_LOADERS)")
    return state, MODEL_LOADERS[kind]


def load(run, ws: paths.Workspace | None = None, device: str = "auto", batch_size: int = 64,
         name: str | None = None) -> Predictor:
    """The Predictor of a run: a run of ``ws`` by name, ``pretrained`` (the shipped model), a run
    folder or a checkpoint file by its path, or a classical detector (``CLASSICAL_DETECTORS``).
    ``batch_size`` windows go through the model at once: 64 keeps a detection's memory near 400 MB
    (256 cost 120 MB more and was no faster on one core).

    Raises
    ------
    DetectionError
        The run folder holds no checkpoint of a kind in MODEL_LOADERS.
    """
    run = str(run)
    if run in CLASSICAL_DETECTORS:
        return classical_detector(run)
    ws = ws or paths.Workspace.from_arg(None)
    path = Path(run).expanduser()
    if path.is_file():                      # a checkpoint given by its path
        run_dir, ckpt = path.resolve().parent, path.resolve()
    else:
        run_dir = ws.resolve_run_dir(run)
        if run in paths.PRETRAINED_MODELS and not (run_dir / paths.STUDENT_CHECKPOINT).is_file():
            raise DetectionError(f"{run_dir}: the shipped model's weights are missing (a checkout without "
                                 f"pretrained/? train one with Codes/Models/train_pretrained.py)")
        if not run_dir.is_dir() and path.is_dir():
            run_dir = path.resolve()
        ckpt = find_checkpoint(run_dir)
    if ckpt is None:
        raise DetectionError(f"{run_dir}: no trained model ({' or '.join(checkpoint_files())}); train the run "
                             f"first, or use {' / '.join(CLASSICAL_DETECTORS)}")
    state, entry = read_kind(ckpt)
    predictor = entry.load(run_dir, state, device, batch_size)
    return replace(predictor, name=name or run, threshold=tuned_threshold(run_dir),
                   warnings=tuned_warnings(run_dir),
                   header={k: v for k, v in state.items() if k != "model"})


def run_logits(run_dir, image_paths, **kwargs) -> np.ndarray:
    """Logits (N, L) of any teacher run for the windows whose plots are ``image_paths``: the
    checkpoint's kind picks the code (the table's ``logits``). The distillation cache calls this."""
    path = Path(run_dir) / paths.TEACHER_CHECKPOINT
    ckpt = path if path.is_file() else find_checkpoint(run_dir) or path
    from tsad.core.checkpoint import load_checkpoint

    kind = load_checkpoint(ckpt).get("kind")
    entry = MODEL_LOADERS.get(kind)
    if entry is None or entry.logits is None:
        raise ValueError(f"{ckpt}: checkpoint of a {kind!r} model, not a teacher")
    return entry.logits(run_dir, image_paths, **kwargs)
