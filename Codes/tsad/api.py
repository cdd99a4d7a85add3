"""Beat detection without files or workspaces: an array and its rate in, beat positions out.

    >>> import numpy as np, tsad
    >>> beats = tsad.detect_beats(ecg, fs=360)                  # ecg: (n,) or (n, leads) in mV
    >>> beats, probs = tsad.detect_beats(ecg, fs=360, return_probabilities=True)
    >>> beats, classes = tsad.detect_beats(ecg, fs=360, return_classes=True)   # "N", "S", "V", "F", "Q"
    >>> det = tsad.detect_record("PATH/mitdb/100")              # a WFDB record (.hea + .dat)
    >>> beats = tsad.detect_beats(ecg, fs=360, latency_s=0.5)  # causal: each beat from <= 0.5 s after it

The shipped model (pretrained/, see its MODEL_CARD.md) is used unless ``model`` names another: a run
folder or its checkpoint (best.pth), a run of the workspace, or a classical detector (``xqrs``,
``gqrs``, ``neurokit``, ``sleepecg``). Loaded models are kept, so repeated calls do not reload them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from tsad.core import paths
from tsad.detection import records
from tsad.models import loader
from tsad.models.export import export_onnx

DEFAULT_MODEL = "pretrained"


@lru_cache(maxsize=4)
def _detector(model: str, workspace: str | None, device: str, backend: str = "auto", classify: bool = True,
              causal: bool = False, verify: bool = True):
    ws = paths.Workspace.from_arg(workspace)
    path = Path(model).expanduser()
    if path.is_file() and path.suffix == ".pth":  # a checkpoint: its run folder holds the threshold
        model = str(path.parent)
    if backend == "onnx" and (found := loader.resolve(model, ws, causal)) is not None:
        export_onnx(found[0])   # once; a current export is kept
    return loader.load(model, ws, device=device, backend=backend, classify=classify, causal=causal, verify=verify)


def detect_beats(
    signal,
    fs: float,
    model: str = DEFAULT_MODEL,
    *,
    threshold: float | None = None,
    return_probabilities: bool = False,
    return_classes: bool = False,
    leads=None,
    latency_s: float | None = None,
    verify: bool = True,
    workspace: str | None = None,
    device: str = "cpu",
    backend: str = "auto",
):
    """Beat positions in an ECG array.

    Parameters
    ----------
    signal : array_like, shape (n,) or (n, leads)
        The ECG in mV at ``fs``. The shipped model reads two leads (the first two columns); with one
        lead (shape (n,) or (n, 1)) its second input is zero, as it was trained to expect (its
        one-lead figures: MODEL_CARD.md). Memory stays bounded: the array is read a chunk at a time.
    fs : float
        Sampling rate in Hz (any: the signal is resampled to the model's 128 Hz).
    model : str, optional
        ``"pretrained"`` (default), a run folder or checkpoint path, a workspace run, or a classical
        detector name.
    threshold : float, optional
        Beat probability threshold; default the model's tuned one.
    return_probabilities : bool, optional
        Also return the probability at each beat (1 for classical detectors).
    return_classes : bool, optional
        Also return each beat's AAMI class letter (N, S, V, F or Q) from the model's beat classifier
        (the shipped model has one); "N" for every beat of a model without one.
    leads : sequence of int, optional
        The columns the model may read (default all); a model input whose column is not among them
        gets zeros.
    latency_s : float, optional
        Causal detection: every beat decided from at most this many seconds of signal after it, so
        the beats of ``signal[:n]`` before ``n / fs - latency_s`` are those of the whole signal there.
        It uses the model's causal detector (the shipped model's ``causal/`` folder, whose card gives
        its cost in F1); not with ``return_classes``.
    verify : bool, optional
        Drop the detections the model's beat verifier calls "not a beat" (default; the shipped model
        has one: its card's "Beat verifier"); False keeps every detection. Causal detection never
        verifies (the verifier reads the next beat).
    workspace : str, optional
        Workspace for run names (default ``$TSAD_WORKSPACE`` or ``workspace/``).
    device : str, optional
        ``"cpu"`` (default), ``"cuda"``, ``"auto"``.
    backend : str, optional
        ``"auto"`` (default: onnxruntime where the run holds a current model.onnx, as the shipped
        model does, and onnxruntime is installed; torch otherwise), ``"torch"`` or ``"onnx"``
        (``tsad.models.onnx``; the same beats).

    Returns
    -------
    beats : ndarray of int64
        Sample numbers of the detected beats in ``signal``.
    probabilities : ndarray of float32
        Only with ``return_probabilities``.
    classes : ndarray of str
        Only with ``return_classes``; after the probabilities when both are asked for.

    Raises
    ------
    tsad.models.predictor.DetectionError
        A missing model, no usable lead or a signal shorter than one window (2 s). Stretches without
        signal (NaN, or every lead flat for 1 s or more) are skipped: no beat is returned there.

    Examples
    --------
    >>> import numpy as np, wfdb, tsad
    >>> rec = wfdb.rdrecord("mitdb/100")
    >>> beats = tsad.detect_beats(rec.p_signal, rec.fs)
    >>> len(beats)                                    # doctest: +SKIP
    2273
    """

    if latency_s is not None and return_classes:
        raise ValueError("return_classes and latency_s together: the beat classifier reads the next beat, "
                         "further ahead than a causal latency allows")
    det = records.detect_signal(
        # the beat classifier only when classes are asked for: beats alone cost a third of the time
        _detector(str(model), workspace, device, backend, return_classes, latency_s is not None, verify),
        np.asarray(signal), float(fs),
        threshold=threshold,
        leads=leads,
        latency_s=latency_s,
    )
    out = [det.samples]
    if return_probabilities:
        out.append(det.scores.astype(np.float32))
    if return_classes:
        out.append(np.asarray(det.classes if det.classes is not None else np.full(len(det.samples), "N"), dtype=str))
    return tuple(out) if len(out) > 1 else det.samples


def detect_record(
    path,
    model: str = DEFAULT_MODEL,
    *,
    threshold: float | None = None,
    latency_s: float | None = None,
    verify: bool = True,
    workspace: str | None = None,
    device: str = "cpu",
    backend: str = "auto",
):
    """Every beat of one WFDB record (``dir/100`` or ``dir/100.hea``; annotations not needed).

    Returns a ``tsad.models.predictor.RecordDetection``: ``samples`` (beats in the record's own sample
    numbers), ``scores``, ``fs``, ``prob`` (the combined probability at the model's rate),
    ``warnings`` (an implausible result for a heart) and, from a model with a beat classifier,
    ``classes`` (each beat's AAMI letter) and ``class_probs`` (columns ``class_names``), and from one
    with a beat verifier ``dropped`` (the detections it removed). Parameters as ``detect_beats``."""

    causal = latency_s is not None
    return records.detect_record(_detector(str(model), workspace, device, backend, not causal, causal, verify), path,
                                 threshold=threshold, latency_s=latency_s)
