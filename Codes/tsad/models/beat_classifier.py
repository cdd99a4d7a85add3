"""The beat classifier: each detected beat's AAMI class (N, S, V, F, Q) from its waveform beside the
patient's recent beats and its timing against the patient's recent rhythm (``tsad.data.beat_context``).

``BeatClassifier`` is small (about 12 k parameters): a 1-D convolutional branch over the waveforms
(the beat, and the beat minus the patient's template, on each lead) pooled to a vector, a branch over
the rhythm features (log-scaled), and a head over both. It classifies beats a detector has found, so
it sits beside a detector in the same run folder (``classifier.pth``); detection gives each beat its
class when one is there (``tsad.detection.streaming``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from tsad.core.checkpoint import check_kind, load_checkpoint, save_checkpoint
from tsad.data.beat_context import RHYTHM_CONTEXTS, RHYTHM_FEATURES, WAVE_CONTEXTS, WAVE_GROUPS, WAVE_SAMPLES
from tsad.data.ecg import AAMI_CLASSES
from tsad.data.record_context import RECORD_FEATURES
from tsad.models.verifier import VERIFIER_CLASSES, VerifierRule

KIND = "beat_classifier"
CLASSES = tuple(AAMI_CLASSES)      # N S V F Q, in the order of the classifier's outputs


@dataclass
class ClassifierConfig:
    leads: int = 2
    widths: tuple = (16, 32, 32)
    hidden: int = 32
    dropout: float = 0.2
    classes: tuple = CLASSES
    wave_samples: int = WAVE_SAMPLES
    rhythm_features: int = RHYTHM_CONTEXTS["recent"]     # the first this many of the rhythm features
    wave_groups: int = WAVE_CONTEXTS["recent"]           # the first this many of the waveform groups (WAVE_GROUPS)
    extra: dict = field(default_factory=dict)     # what training recorded (data, recipe, figures)

    @classmethod
    def from_dict(cls, d: dict, source="checkpoint") -> ClassifierConfig:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        unknown = set(d) - set(known)
        if unknown:
            raise ValueError(f"{source}: unknown classifier settings {sorted(unknown)}")
        for key in ("widths", "classes"):
            if key in known:
                known[key] = tuple(known[key])
        return cls(**known)


# of RHYTHM_NAMES, then of tsad.data.record_context.RECORD_NAMES (a teacher's): the intervals and their ratios
LOG_FEATURES = (0, 1, 2, 3, 4, 5, 8, 9, 10, 11, *range(RHYTHM_FEATURES, RHYTHM_FEATURES + RECORD_FEATURES))


def rhythm_scale(rhythm: torch.Tensor, width: int) -> torch.Tensor:
    """The first ``width`` rhythm features: intervals and ratios on a log scale (an early beat at 0.6
    of the usual RR and a late one at 1 / 0.6 lie as far from 1 on either side); the pause, the
    irregularity, the staleness and the jitter as they are."""
    logs = torch.log(rhythm[..., [k for k in LOG_FEATURES if k < width]].clamp_min(1e-2))
    rest = rhythm[..., [k for k in range(width) if k not in LOG_FEATURES]]
    return logs, rest


RHYTHM_UNITS = 16     # the rhythm branch's output


class BeatEncoder(nn.Module):
    """One beat's inputs -> a vector (``width``): a 1-D convolutional branch over its waveforms, pooled
    (mean and max), beside a branch over its rhythm features (log-scaled). It reads the first
    ``config.wave_groups`` waveform groups (``WAVE_CONTEXTS``) and the first ``config.rhythm_features``
    rhythm features (``RHYTHM_CONTEXTS``), so every classifier takes what ``tsad.data.beat_context``
    gives for the most any classifier beside it reads. Its modules are named as the beat classifier's
    were before it was split out (``waves``, ``rhythm``), so checkpoints keep loading."""

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = c = config
        self.channels = width = c.wave_groups * c.leads
        layers = []
        for k, out in enumerate(c.widths):
            layers += [nn.Conv1d(width, out, 7 if k == 0 else 5, padding=3 if k == 0 else 2),
                       nn.BatchNorm1d(out), nn.ReLU()]
            if k < len(c.widths) - 1:
                layers.append(nn.MaxPool1d(2))
            width = out
        self.waves = nn.Sequential(*layers)
        self.rhythm = nn.Sequential(nn.Linear(c.rhythm_features, RHYTHM_UNITS), nn.ReLU())
        self.width = 2 * width + RHYTHM_UNITS

    def forward(self, waves: torch.Tensor, rhythm: torch.Tensor) -> torch.Tensor:
        return encode(self, waves, rhythm)


def encode(module: nn.Module, waves: torch.Tensor, rhythm: torch.Tensor) -> torch.Tensor:
    """The beats' vectors by the branches ``module`` holds (``waves``, ``rhythm``, ``channels`` and
    ``config``: a ``BeatEncoder``, or a ``BeatClassifier``, which holds them itself)."""
    h = module.waves(waves[:, :module.channels])
    logs, rest = rhythm_scale(rhythm, module.config.rhythm_features)
    return torch.cat([h.mean(dim=-1), h.amax(dim=-1), module.rhythm(torch.cat([logs, rest], dim=-1))], dim=-1)


def class_head(inputs: int, config: ClassifierConfig) -> nn.Sequential:
    """The head over a beat's vector: one hidden layer, dropout, a logit per class."""
    return nn.Sequential(nn.Linear(inputs, config.hidden), nn.ReLU(), nn.Dropout(config.dropout),
                         nn.Linear(config.hidden, len(config.classes)))


class BeatClassifier(nn.Module):
    """(waves (B, >= wave_groups * leads, WAVE_SAMPLES), rhythm (B, >= config.rhythm_features)) -> (B,
    classes) logits: each beat alone, from its ``BeatEncoder`` vector."""

    def __init__(self, config: ClassifierConfig | None = None):
        super().__init__()
        self.config = c = config or ClassifierConfig()
        encoder = BeatEncoder(c)
        # the encoder's modules sit on the classifier itself, so the state dict keeps its names
        self.channels, self.waves, self.rhythm = encoder.channels, encoder.waves, encoder.rhythm
        self.head = class_head(encoder.width, c)

    def forward(self, waves: torch.Tensor, rhythm: torch.Tensor) -> torch.Tensor:
        return self.head(encode(self, waves, rhythm))


def reads_record(config: ClassifierConfig) -> bool:
    """Whether a classifier reads more than ``tsad.data.beat_context`` gives: the record's view around
    each beat (``tsad.data.record_context.TEACHER_VIEW``), a teacher's, which no stream has."""
    return config.wave_groups > len(WAVE_GROUPS) or config.rhythm_features > RHYTHM_FEATURES


def check_streamable(config: ClassifierConfig, source) -> None:
    """Raise ValueError where a classifier reads the record's view (``reads_record``)."""
    if reads_record(config):
        raise ValueError(f"{source}: a classifier that reads the whole record around each beat (a teacher, "
                         f"{config.wave_groups} waveform groups, {config.rhythm_features} rhythm features); "
                         f"detection reads at most {len(WAVE_GROUPS)} and {RHYTHM_FEATURES}")


def class_probs(model: BeatClassifier, waves: np.ndarray, rhythm: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """(n, classes) float32 probabilities of the beats whose inputs are ``waves``, ``rhythm``."""
    model.eval()
    out = []
    with torch.inference_mode():
        for a in range(0, len(waves), batch_size):
            logits = model(torch.from_numpy(np.ascontiguousarray(waves[a:a + batch_size])),
                           torch.from_numpy(np.ascontiguousarray(rhythm[a:a + batch_size])))
            out.append(F.softmax(logits, dim=-1).numpy())
    return np.concatenate(out) if out else np.zeros((0, len(model.config.classes)), np.float32)


def save_model(path, model: nn.Module, kind: str, **meta) -> None:
    """A checkpoint of ``kind`` that carries the model's config (a dataclass) and ``meta`` beside its weights."""
    save_checkpoint(path, {"kind": kind, "config": asdict(model.config),
                           "model": {k: v.detach().cpu() for k, v in model.state_dict().items()}, **meta})


def load_model(path, kind: str, build, config_type, what: str) -> nn.Module:
    """The model of ``kind`` saved at ``path`` (``save_model``): ``build(config_type.from_dict(...))``
    with its weights, in eval mode; ``what`` names it in the error of weights that do not fit."""
    state = load_checkpoint(path)
    check_kind(state, kind, path)
    model = build(config_type.from_dict(state["config"], source=str(path)))
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as err:
        raise ValueError(f"{path}: weights that do not fit the {what}'s config ({err})") from err
    return model.eval()


def save_classifier(path, model: BeatClassifier, **meta) -> None:
    """A checkpoint that carries its config (``ClassifierConfig``) and ``meta`` beside the weights."""
    save_model(path, model, KIND, **meta)


def load_classifier(path) -> BeatClassifier:
    """The classifier saved at ``path`` (``save_classifier``), in eval mode."""
    return load_model(path, KIND, BeatClassifier, ClassifierConfig, "classifier")


def load_verifier(path) -> tuple[BeatClassifier, VerifierRule]:
    """The verifier saved at ``path`` (``save_classifier`` of a classifier over VERIFIER_CLASSES, with
    ``verifier=VerifierRule.as_dict()``) and its rule (``tsad.models.verifier``)."""
    model = load_classifier(path)
    if tuple(model.config.classes) != VERIFIER_CLASSES:
        raise ValueError(f"{path}: a classifier of {', '.join(model.config.classes)}, not a verifier "
                         f"({', '.join(VERIFIER_CLASSES)})")
    state = load_checkpoint(path)
    if "verifier" not in state:
        raise ValueError(f"{path}: a verifier checkpoint without its rule (drop_above, keep_classes)")
    return model, VerifierRule.from_dict(state["verifier"], source=str(path))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
