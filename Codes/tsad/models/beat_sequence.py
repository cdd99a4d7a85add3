"""The beat-sequence classifier: each beat's AAMI class from its own inputs and from the sequence of the
record's beats before it, read by a recurrent network (docs/RESULTS.md, section AA).

The beat classifier (``tsad.models.beat_classifier``) sees the patient's past through features made by
hand: the median of the last 16 beats, the rhythm of the last 32 intervals. Published inter-patient
work that reads the sequence of beats with a recurrent network reports far better supraventricular
figures (Mousavi & Afghah 2019, section D); this model lets the network learn what of the past to
keep. Each beat is encoded as the beat classifier encodes it (``BeatEncoder``: its waveforms beside
the patient's template, its rhythm features), a one-way GRU runs over the record's beats in order (it
reads each vector normalised), and the head reads the beat's vector beside the GRU's state after it.
Nothing after a beat is read but what its own inputs hold (the next RR interval), so a stream can be
classified as it arrives, carrying the GRU's state from one chunk of beats to the next
(``sequence_probs``'s ``state``: tested to give the probabilities of one pass). Measured against the
shipped classifier in section AA: negative, so detection does not load it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from tsad.models.beat_classifier import BeatEncoder, ClassifierConfig, class_head, load_model, save_model

KIND = "beat_sequence"


@dataclass
class SequenceConfig(ClassifierConfig):
    gru_hidden: int = 32       # the GRU's state


class BeatSequenceClassifier(nn.Module):
    """(waves (B, T, channels, WAVE_SAMPLES), rhythm (B, T, features), state (1, B, gru_hidden) or None)
    -> (logits (B, T, classes), state after the last beat): the T beats of B sequences, in order."""

    def __init__(self, config: SequenceConfig | None = None):
        super().__init__()
        self.config = c = config or SequenceConfig()
        self.encoder = BeatEncoder(c)
        # the GRU reads each beat's vector normalised, so that no feature's scale saturates its gates
        self.norm = nn.LayerNorm(self.encoder.width)
        self.gru = nn.GRU(self.encoder.width, c.gru_hidden, batch_first=True)
        # gates biased open to the past (reset +2) and towards new content (update -2): with PyTorch's
        # zero-centred init the head learns the current beat first and the GRU idles on a plateau (a
        # class that depends on the beat before took ~600 steps to learn on a toy, ~110 with this)
        with torch.no_grad():
            h = c.gru_hidden
            self.gru.bias_ih_l0[:h] += 2.0           # PyTorch's gate order: reset, update, new
            self.gru.bias_ih_l0[h:2 * h] -= 2.0
        self.head = class_head(self.encoder.width + c.gru_hidden, c)

    def forward(self, waves: torch.Tensor, rhythm: torch.Tensor,
                state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        b, t = waves.shape[:2]
        z = self.encoder(waves.reshape(b * t, *waves.shape[2:]), rhythm.reshape(b * t, -1)).reshape(b, t, -1)
        h, state = self.gru(self.norm(z), state)
        return self.head(torch.cat([z, h], dim=-1)), state


@torch.inference_mode()
def sequence_probs(model: BeatSequenceClassifier, waves: np.ndarray, rhythm: np.ndarray,
                   state: torch.Tensor | None = None, chunk: int = 4096) -> tuple[np.ndarray, torch.Tensor]:
    """(n, classes) float32 probabilities of a record's beats in order (inputs as
    ``tsad.data.beat_context`` gives them), ``chunk`` beats at a time with the state carried, and the
    state after the last beat: pass it back with the next beats of the same stream."""
    model.eval()
    out = []
    for a in range(0, len(waves), chunk):
        logits, state = model(torch.from_numpy(np.ascontiguousarray(waves[None, a:a + chunk])),
                              torch.from_numpy(np.ascontiguousarray(rhythm[None, a:a + chunk])), state)
        out.append(F.softmax(logits[0], dim=-1).numpy())
    probs = np.concatenate(out) if out else np.zeros((0, len(model.config.classes)), np.float32)
    return probs, state


def save_sequence_classifier(path, model: BeatSequenceClassifier, **meta) -> None:
    """A checkpoint that carries its config (``SequenceConfig``) and ``meta`` beside the weights."""
    save_model(path, model, KIND, **meta)


def load_sequence_classifier(path) -> BeatSequenceClassifier:
    """The sequence classifier saved at ``path`` (``save_sequence_classifier``), in eval mode."""
    return load_model(path, KIND, BeatSequenceClassifier, SequenceConfig, "sequence classifier")
