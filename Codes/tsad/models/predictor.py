"""What every model becomes once loaded: a ``Predictor`` (window probabilities, the geometry it reads,
its tuned threshold and the warnings recorded when it was tuned, the run folder it came from and the
backend that computes it). ``tsad.models.loader.load`` makes one from any run folder, checkpoint or
classical detector's name; whole-record detection (``tsad.detection.records``) runs any of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tsad.core.geometry import WindowGeometry
from tsad.scoring.beats import CAUSAL_WAIT_S, DEFAULT_THRESHOLD


class DetectionError(ValueError):
    """A record or run that cannot be detected; the message names the file."""


@dataclass
class Predictor:
    """Something that turns a record into beats. ``window_probs`` maps (W, L, C) windows at
    ``geometry.fs`` to (W, L) probabilities; classical detectors have none and detect directly.

    A model that reads more than its window (the context teacher) gives ``stretch_probs`` instead:
    (signal at the model's rate, window starts) -> (W, L) probabilities. A model that reads plots
    gives ``image_probs``: (N) plots in memory -> (N, L) probabilities (the app's saved plots). A
    classical detector gives ``lead_beats`` instead: one whole lead at its own rate -> beat samples.

    What a predictor can do is told by what it carries (``lead_beats``, ``full_probs``,
    ``exportable``), never by testing ``kind``, which only names its role in outputs."""

    name: str
    kind: str                                 # its role: "student", "teacher" or "classical" (kinds.ROLES)
    geometry: WindowGeometry
    window_probs: Callable[[np.ndarray], np.ndarray] | None = None
    description: str = ""
    info: dict = field(default_factory=dict)
    threshold: float = DEFAULT_THRESHOLD      # the run's tuned threshold (detection.json) or 0.5
    warnings: list[str] = field(default_factory=list)   # recorded when the threshold was tuned
    stretch_probs: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    image_probs: Callable[[list], np.ndarray] | None = None
    header: dict = field(default_factory=dict, repr=False)   # the checkpoint's entries but its weights
    reach: int = 0     # samples a model reads past each side of its window (the context teacher's context)
    # a fully convolutional model: (n, C) signal at its rate -> (n,) probabilities in one pass, the
    # same for a stretch as inside a longer one beyond ``reach`` of its ends, if it starts on the
    # ``unit`` grid (tsad.models.fast_student)
    full_probs: Callable[[np.ndarray], np.ndarray] | None = None
    unit: int = 1
    # a fully convolutional model of bounded look-ahead: its probability at sample t depends on no
    # input after t + lookahead (model samples); None: it reads ``reach`` (causal detection needs it)
    lookahead: int | None = None
    # causal picking's wait after a peak (tsad.scoring.beats.pick_beats_causal): the run's detection.json
    # ``causal_wait_s``, else CAUSAL_WAIT_S; part of the latency a causal detector needs
    causal_wait_s: float = CAUSAL_WAIT_S
    run_dir: Path | None = None     # the run folder it was loaded from (None: a classical detector)
    backend: str | None = None      # "torch" or "onnx" (onnxruntime); None for a classical detector
    exportable: bool = False        # its checkpoint's kind can be exported to onnx (tsad.models.export)
    model: object | None = field(default=None, repr=False)   # the torch module, when loaded through torch
    # a classical detector: (one lead as float64 at its own rate, fs) -> sorted beat sample numbers
    lead_beats: Callable[[np.ndarray, float], np.ndarray] | None = None
    # a beat classifier beside the detector (the run folder's classifier.pth): (waves, rhythm) of
    # tsad.data.beat_context -> (n, len(classes)) probabilities; None: every beat is N
    classify: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    classes: tuple = ()
    # a beat verifier beside the detector (the run folder's verifier.pth, tsad.models.verifier): (waves,
    # rhythm) -> which detections stay (bool, n); None: every detection stays
    verify: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    # how many waveform groups (tsad.data.beat_context.WAVE_GROUPS) the classifier and verifier read, at most
    wave_groups: int = 2

    def signal_probs(self, signal: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """(W, L) probabilities of the windows of ``signal`` (at the model's rate and leads) that
        begin at ``starts``."""
        if self.stretch_probs is not None:
            return self.stretch_probs(signal, starts)
        length = self.geometry.samples
        return self.window_probs(signal[starts[:, None] + np.arange(length)[None, :]])


@dataclass
class RecordDetection:
    """The beats of one record (``tsad.detection.records``) and what was found on the way."""

    record: str
    fs: float                      # the record's own rate: ``samples`` are in its sample numbers
    n_samples: int                 # at the record's own rate
    samples: np.ndarray
    scores: np.ndarray             # probability at each detected beat (1 for classical detectors)
    prob: np.ndarray | None        # combined probability at the model's rate
    model_fs: float
    seconds: float                 # compute time
    warnings: list[str] = field(default_factory=list)   # why the result is implausible for a heart
    gaps: list[tuple[int, int]] = field(default_factory=list)   # [start, end) without signal, own rate
    leads: list[int | None] | None = None   # the record's lead each model input read (None: zeros)
    # each beat's class (an AAMI letter, N S V F Q) and its probabilities (n, len(class_names)), when
    # the detector has a classifier; None: the beats are not classified (written as N)
    classes: np.ndarray | None = None
    class_probs: np.ndarray | None = None
    class_names: tuple = ()
    # the detections the detector's verifier dropped (sample numbers at ``fs``); None: no verifier ran
    dropped: np.ndarray | None = None

    def class_counts(self) -> dict[str, int]:
        """Beats per class, in ``class_names`` order ({} when the beats are not classified)."""
        if self.classes is None:
            return {}
        return {c: int(np.count_nonzero(self.classes == c)) for c in self.class_names}

    @property
    def gap_s(self) -> float:
        return sum(end - start for start, end in self.gaps) / self.fs

    @property
    def implausible(self) -> bool:
        return bool(self.warnings)

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs
