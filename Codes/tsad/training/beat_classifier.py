"""Training the beat classifier (``tsad.models.beat_classifier``) on beats with known classes.

A short loop: AdamW, a cosine learning rate, cross-entropy with class weights that lift the rare
classes (each class weighted by its frequency to the power ``-weight_power``: 0 ignores the
imbalance, 1 balances it fully, which buys sensitivity on the rare classes with positive
predictivity), one lead zeroed in a share of the beats (``lead_dropout``) so that a one-lead
record can be classified too, and beats moved by a few samples (``shift``). Distilled
(``soft_targets``, ``lam``): part of the loss is the student's softened class probabilities against a
teacher's (``teacher_soft_targets``: the mean over an ensemble of classifiers).

The beat-sequence classifier (``tsad.models.beat_sequence``) is trained the same way on stretches of
consecutive beats of a record (``train_sequence_classifier``): its recurrent state warms up over the
first beats of each stretch, and the loss is taken on the rest.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from tsad.data.beat_context import WAVE_CONTEXTS
from tsad.models.beat_classifier import BeatClassifier, ClassifierConfig
from tsad.models.beat_sequence import BeatSequenceClassifier, SequenceConfig


def class_weights(targets: np.ndarray, n_classes: int, power: float) -> np.ndarray:
    """Weights (n_classes,) proportional to each class's frequency to the power ``-power``, mean 1
    over the classes present (an absent class gets 0)."""
    counts = np.bincount(targets, minlength=n_classes).astype(np.float64)
    present = counts > 0
    w = np.zeros(n_classes)
    w[present] = (counts[present] / counts.sum()) ** -power
    return (w / w[present].mean()).astype(np.float32)


def augment(w: torch.Tensor, leads: int, lead_dropout: float, shift: int, rng: np.random.Generator) -> torch.Tensor:
    """Beats' waveforms (n, groups * leads, samples) with one lead zeroed in a ``lead_dropout`` share of
    them (the lead in every waveform group) and each moved by up to ``shift`` samples (edges repeated)."""
    n = len(w)
    if lead_dropout > 0 and leads > 1:
        drop = torch.from_numpy(rng.random(n) < lead_dropout)
        lead = torch.from_numpy(rng.integers(0, leads, n))
        mask = torch.ones(n, leads)
        mask[drop, lead[drop]] = 0.0
        w = w * mask.repeat(1, w.shape[1] // leads)[:, :, None]
    if shift > 0:
        moved = torch.from_numpy(rng.integers(-shift, shift + 1, n))
        at = (torch.arange(w.shape[-1])[None, :] - moved[:, None]).clamp(0, w.shape[-1] - 1)
        w = torch.gather(w, 2, at[:, None, :].expand(-1, w.shape[1], -1))
    return w


def train_classifier(waves: np.ndarray, rhythm: np.ndarray, targets: np.ndarray, *,
                     config: ClassifierConfig | None = None, epochs: int = 6, batch_size: int = 256,
                     lr: float = 3e-3, weight_power: float = 0.5, lead_dropout: float = 0.3,
                     shift: int = 0, seed: int = 42, progress: bool = False, soft_targets: np.ndarray | None = None,
                     lam: float = 0.0, temperature: float = 2.0,
                     weighted_kd: bool = False) -> tuple[BeatClassifier, list[float]]:
    """A classifier trained on beats (inputs from ``tsad.data.beat_context.beat_context``, ``targets``
    the index of each beat's class in ``config.classes``); returns it (eval mode) and the mean loss
    of each epoch. ``shift`` moves each training beat's waveforms by up to that many samples either
    way (edges repeated), so that the classifier does not rely on where exactly a detector puts a beat.

    With ``soft_targets`` (n, classes), a teacher's class probabilities at ``temperature``, the loss
    is (1 - lam) x the weighted cross-entropy on ``targets`` + lam x T^2 x the KL divergence of the
    student's probabilities at T from them: averaged over the beats (``weighted_kd`` False), or
    weighted by each beat's class weight as the cross-entropy is (``weighted_kd``), so that the
    teacher term does not give the rare classes less weight than the labels do."""
    config = config or ClassifierConfig(leads=waves.shape[1] // WAVE_CONTEXTS["recent"])
    if soft_targets is not None and soft_targets.shape != (len(targets), len(config.classes)):
        raise ValueError(f"soft targets of shape {soft_targets.shape} for {len(targets)} beats of "
                         f"{len(config.classes)} classes")
    if not 0.0 <= lam <= 1.0 or (lam > 0 and soft_targets is None):
        raise ValueError(f"lam must lie in [0, 1], and lam > 0 needs soft targets (got {lam})")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = BeatClassifier(config)
    weights = torch.from_numpy(class_weights(targets, len(config.classes), weight_power))
    steps_per_epoch = max(1, math.ceil(len(targets) / batch_size))
    total = epochs * steps_per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    leads = config.leads
    losses = []
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(len(targets))
        running, seen = 0.0, 0
        for a in tqdm(range(0, len(order), batch_size), desc=f"classifier epoch {epoch + 1}/{epochs}",
                      disable=None if progress else True, leave=False):
            idx = np.sort(order[a:a + batch_size])
            w = augment(torch.from_numpy(waves[idx]), leads, lead_dropout, shift, rng)
            y = torch.from_numpy(targets[idx].astype(np.int64))
            logits = model(w, torch.from_numpy(rhythm[idx]))
            loss = F.cross_entropy(logits, y, weight=weights)
            if lam > 0:
                soft = torch.from_numpy(soft_targets[idx].astype(np.float32))
                kl = F.kl_div(F.log_softmax(logits / temperature, dim=1), soft, reduction="none").sum(dim=1)
                if weighted_kd:
                    per_beat = weights[y].to(kl.dtype)
                    kd = (per_beat * kl).sum() / per_beat.sum()
                else:
                    kd = kl.mean()
                loss = (1 - lam) * loss + lam * temperature ** 2 * kd
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running += loss.item() * len(idx)
            seen += len(idx)
        losses.append(running / max(seen, 1))
    return model.eval(), losses


def train_sequence_classifier(sequences: list[tuple[np.ndarray, np.ndarray, np.ndarray]], *,
                              config: SequenceConfig | None = None, epochs: int = 6, batch_size: int = 32,
                              stretch: int = 96, warm_up: int = 32, lr: float = 3e-3, weight_power: float = 0.5,
                              lead_dropout: float = 0.3, shift: int = 0, seed: int = 42,
                              progress: bool = False) -> tuple[BeatSequenceClassifier, list[float]]:
    """A beat-sequence classifier trained on records' beats in order: ``sequences`` holds each record's
    ``(waves, rhythm, targets)`` (``train_classifier``'s, one record each). Every step reads
    ``batch_size`` stretches of ``stretch`` consecutive beats (records drawn in proportion to their
    beats, the start at random), the GRU starting from zero; the weighted cross-entropy is taken on each
    stretch's beats after the first ``warm_up``, so the loss is on beats that have a past. An epoch is
    as many steps as take every training beat's loss once on average. Returns the model (eval mode)
    and the mean loss of each epoch."""
    if not sequences:
        raise ValueError("no training records")
    if not 0 <= warm_up < stretch:
        raise ValueError(f"the warm-up ({warm_up}) must be shorter than the stretch ({stretch})")
    first_waves = sequences[0][0]
    config = config or SequenceConfig(leads=first_waves.shape[1] // WAVE_CONTEXTS["recent"])
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = BeatSequenceClassifier(config)
    targets = np.concatenate([t for _, _, t in sequences])
    weights = torch.from_numpy(class_weights(targets, len(config.classes), weight_power))
    lengths = np.array([len(t) for _, _, t in sequences])
    share = lengths / lengths.sum()
    steps_per_epoch = max(1, math.ceil(len(targets) / (batch_size * (stretch - warm_up))))
    total = epochs * steps_per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    span = int(min(stretch, lengths.min()))
    skip = min(warm_up, span - 1)
    losses = []
    for epoch in range(epochs):
        model.train()
        running = 0.0
        for _ in tqdm(range(steps_per_epoch), desc=f"sequence classifier epoch {epoch + 1}/{epochs}",
                      disable=None if progress else True, leave=False):
            picks = rng.choice(len(sequences), size=batch_size, p=share)
            starts = [int(rng.integers(0, lengths[k] - span + 1)) for k in picks]
            w = np.stack([sequences[k][0][a:a + span] for k, a in zip(picks, starts)])
            r = np.stack([sequences[k][1][a:a + span] for k, a in zip(picks, starts)])
            y = torch.from_numpy(np.stack([sequences[k][2][a:a + span] for k, a in zip(picks, starts)]).astype(np.int64))
            w = augment(torch.from_numpy(w.reshape(-1, *w.shape[2:])), config.leads, lead_dropout, shift, rng)
            logits, _ = model(w.reshape(batch_size, span, *w.shape[1:]), torch.from_numpy(r))
            loss = F.cross_entropy(logits[:, skip:].reshape(-1, logits.shape[-1]), y[:, skip:].reshape(-1),
                                   weight=weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running += loss.item()
        losses.append(running / steps_per_epoch)
    return model.eval(), losses


@torch.no_grad()
def teacher_soft_targets(models: list[BeatClassifier], waves: np.ndarray, rhythm: np.ndarray,
                         temperature: float = 2.0, batch_size: int = 4096) -> np.ndarray:
    """The mean over ``models`` of each one's class probabilities at ``temperature`` (n, classes)."""
    out = np.zeros((len(waves), len(models[0].config.classes)), np.float64)
    for model in models:
        model.eval()
        for a in range(0, len(waves), batch_size):
            logits = model(torch.from_numpy(waves[a:a + batch_size]), torch.from_numpy(rhythm[a:a + batch_size]))
            out[a:a + batch_size] += F.softmax(logits / temperature, dim=1).numpy()
    return (out / len(models)).astype(np.float32)
