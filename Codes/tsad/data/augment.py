"""On-the-fly augmentation of training windows, and soft beat targets.

A new patient differs from the training patients in amplitude, electrode placement, baseline
wander and noise, and the annotators' beat sits a few samples earlier or later relative to the
QRS. ``Augment`` draws such changes per window and per batch, in torch, on the training batches
only (``fit`` calls the loss with the model in train mode); validation and test windows are never
changed. Every part is a flag with a tested default; 0 switches it off.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch

from tsad.data.noise import KINDS, make_noise

STRESS_SNR_DB = (0.0, 18.0)     # the SNRs --aug-stress draws from
# --aug-pause cuts from 50 ms before a beat (after its P wave) to 450 ms after it (its T wave), and
# stops 250 ms before the next beat, whose P wave stays
PAUSE_CUT_S = (-0.05, 0.45)
PAUSE_KEEP_BEFORE_NEXT_S = 0.25
# --aug-delay opens a gap between a beat's T wave (450 ms after it) and the next beat's P wave (250
# ms before it) and moves everything after it later: a longer RR interval, a real pause, no beat cut
DELAY_AFTER_S = 0.45
DELAY_GAP_S = (0.3, 1.0)
BANK_SEGMENTS = 64              # noise segments per kind in a process's bank


@dataclass
class AugmentConfig:
    """Augmentation strengths; every one 0 means no augmentation.

    Attributes
    ----------
    amplitude : float
        Each lead is scaled by ``exp(u)``, ``u`` uniform in [-amplitude, amplitude].
    wander_mv : float
        Peak amplitude (mV) of a random sinusoidal baseline wander (0.1-0.5 Hz) added per lead.
    noise_mv : float
        Standard deviation (mV) of white noise added per lead.
    shift : int
        Windows (and their labels, alike) move by up to this many samples; the uncovered edge
        repeats the last sample and carries no beat.
    lead_dropout : float
        Probability that one lead of a multi-lead window is set to zero.
    invert : float
        Probability that each lead's polarity is flipped: a lead placed otherwise, or a bundle
        branch block or ventricular beat whose QRS points the other way.
    lead_swap : float
        Probability that the leads of a two-lead window trade places (databases order their leads
        differently: mitdb's first lead is MLII in most records, V5 in others).
    stretch : float
        The window is stretched in time about its centre by a factor ``exp(u)``, ``u`` uniform in
        [-stretch, stretch]: wider or narrower QRS complexes and slower or faster rhythms; beats
        (and a teacher's logits) move alike.

    stress : float
        Probability that a window gets noise of the three kinds a noise stress test adds
        (``tsad.data.noise``: baseline wander, muscle artefact, electrode motion) at a
        signal-to-noise ratio drawn uniformly in STRESS_SNR_DB, the window's own peak-to-peak
        amplitude as the signal (nstdb's definition); its beats stay beats.
    beatless : float
        Probability that a window is replaced by noise alone (one of the three kinds, 0.05-0.55
        mV), with no beat in its labels: a detector must learn what a beat is not.
    pause : float
        Probability that one beat of a window loses its QRS complex and T wave but keeps its P wave
        (PAUSE_CUT_S around it becomes a straight line between the cut's ends), and its label: a
        non-conducted P wave, and a pause where the rhythm says a beat is due.
    delay : float
        Probability that a window gets a pause made by time, not by a cut: DELAY_GAP_S of the
        signal's level is inserted DELAY_AFTER_S after one beat (after its T wave, before the next
        beat's P wave) and the rest of the window, beats and labels alike, moves later (its end
        falls off): an RR interval longer than the rhythm says, with no beat in it.

    The morphology and noise parts are off unless set (``--aug-invert`` ...), so that older runs
    keep their meaning.
    """

    amplitude: float = 0.3
    wander_mv: float = 0.2
    noise_mv: float = 0.02
    shift: int = 16
    lead_dropout: float = 0.1
    invert: float = 0.0
    lead_swap: float = 0.0
    stretch: float = 0.0
    stress: float = 0.0
    beatless: float = 0.0
    pause: float = 0.0
    delay: float = 0.0

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    @classmethod
    def off(cls) -> "AugmentConfig":
        return cls(**{f.name: type(f.default)(0) for f in fields(cls)})


def add_augment_args(parser: argparse.ArgumentParser, defaults: AugmentConfig | None = None) -> None:
    """The augmentation flags (``--aug-*``), defaulting to ``defaults`` (None: resolved by a preset)."""
    g = parser.add_argument_group("augmentation of training windows (0 switches a part off)")
    d = asdict(defaults) if defaults else {f.name: None for f in fields(AugmentConfig)}
    g.add_argument("--aug-amplitude", type=float, default=d["amplitude"],
                   help="per-lead log-scale range of amplitude scaling")
    g.add_argument("--aug-wander-mv", type=float, default=d["wander_mv"], help="baseline wander amplitude (mV)")
    g.add_argument("--aug-noise-mv", type=float, default=d["noise_mv"], help="white noise deviation (mV)")
    g.add_argument("--aug-shift", type=int, default=d["shift"], help="largest time shift in samples (labels move alike)")
    g.add_argument("--aug-lead-dropout", type=float, default=d["lead_dropout"],
                   help="probability of zeroing one lead of a window")
    g.add_argument("--aug-invert", type=float, default=d["invert"], help="probability of flipping each lead's polarity")
    g.add_argument("--aug-lead-swap", type=float, default=d["lead_swap"],
                   help="probability of swapping the two leads of a window")
    g.add_argument("--aug-stretch", type=float, default=d["stretch"],
                   help="log-range of stretching a window in time about its centre (labels move alike)")
    g.add_argument("--aug-stress", type=float, default=d["stress"],
                   help="probability of adding noise-stress-test noise (three kinds) at a random SNR in "
                        f"{STRESS_SNR_DB[0]:g}..{STRESS_SNR_DB[1]:g} dB; beats stay beats")
    g.add_argument("--aug-beatless", type=float, default=d["beatless"],
                   help="probability of replacing a window by noise alone, without beats")
    g.add_argument("--aug-pause", type=float, default=d["pause"],
                   help="probability of cutting one beat's QRS and T wave, its P wave kept, and its label "
                        "(a non-conducted P wave; a pause)")
    g.add_argument("--aug-delay", type=float, default=d["delay"],
                   help=f"probability of a pause made by time: {DELAY_GAP_S[0]:g}-{DELAY_GAP_S[1]:g} s inserted after one "
                        "beat's T wave, the rest of the window moved later (a longer RR interval, no beat cut)")


def augment_batch(x: torch.Tensor, y: torch.Tensor, cfg: AugmentConfig, fs: float = 128.0,
                  generator: torch.Generator | None = None, aligned: torch.Tensor | None = None):
    """Augmented copies of a batch: series ``x`` (B, L, C) in mV, labels ``y`` (B, L) and, when
    given, ``aligned`` (B, L) per-step values that move with the labels (a teacher's logits; the
    uncovered edge repeats its last value). Returns ``(x, y, aligned)``. Draws from ``generator``,
    or from torch's global generator when None (so a resumed run that restores it draws alike)."""
    b, length, leads = x.shape
    dev = x.device

    def rand(*shape):
        return torch.rand(*shape, generator=generator).to(dev)

    if cfg.shift:
        s = torch.randint(-cfg.shift, cfg.shift + 1, (b, 1), generator=generator).to(dev)
        src = torch.arange(length, device=dev)[None, :] - s
        valid = (src >= 0) & (src < length)
        src = src.clamp(0, length - 1)
        x = torch.gather(x, 1, src[:, :, None].expand(b, length, leads))
        y = torch.gather(y, 1, src) * valid
        if aligned is not None:
            aligned = torch.gather(aligned, 1, src)
    if cfg.stretch:
        x, y, aligned = _stretch(x, y, aligned, torch.exp((rand(b) * 2 - 1) * cfg.stretch))
    if cfg.pause:
        x, y, aligned = _pause(x, y, aligned, rand(b) < cfg.pause, rand(b), fs)
    if cfg.delay:
        x, y, aligned = _delay(x, y, aligned, rand(b) < cfg.delay, rand(b), rand(b), fs)
    if cfg.amplitude:
        x = x * torch.exp((rand(b, 1, leads) * 2 - 1) * cfg.amplitude)
    if cfg.wander_mv:
        t = torch.arange(length, device=dev, dtype=x.dtype)[None, :, None] / fs
        freq = 0.1 + 0.4 * rand(b, 1, leads)
        phase = rand(b, 1, leads) * 2 * math.pi
        x = x + cfg.wander_mv * rand(b, 1, leads) * torch.sin(2 * math.pi * freq * t + phase)
    if cfg.noise_mv:
        x = x + cfg.noise_mv * torch.randn(x.shape, generator=generator).to(dev)
    if cfg.stress or cfg.beatless:
        bank = noise_bank(length, fs).to(device=dev, dtype=x.dtype)           # (K, L), unit mean square

        def draw():   # (B, L, C) segments of the bank, one per window and lead
            pick = torch.randint(0, len(bank), (b, leads), generator=generator).to(dev)
            return bank[pick].permute(0, 2, 1)

        if cfg.stress:
            hit = (rand(b) < cfg.stress)[:, None, None]
            snr = STRESS_SNR_DB[0] + rand(b, 1, leads) * (STRESS_SNR_DB[1] - STRESS_SNR_DB[0])
            power = (x.amax(1, keepdim=True) - x.amin(1, keepdim=True)) ** 2 / 8   # nstdb's S, per lead
            x = x + torch.where(hit, draw() * torch.sqrt(power / 10 ** (snr / 10)), 0.0)
        if cfg.beatless:
            hit = rand(b) < cfg.beatless
            noise = draw() * (0.05 + 0.5 * rand(b, 1, leads))
            x = torch.where(hit[:, None, None], noise, x)
            y = torch.where(hit[:, None], 0.0, y)
            if aligned is not None:     # a teacher's logit there: surely no beat
                aligned = torch.where(hit[:, None], torch.full_like(aligned, -10.0), aligned)
    if cfg.lead_dropout and leads > 1:
        drop = rand(b) < cfg.lead_dropout
        which = torch.randint(0, leads, (b,), generator=generator).to(dev)
        mask = torch.ones(b, 1, leads, device=dev, dtype=x.dtype)
        mask[drop, 0, which[drop]] = 0
        x = x * mask
    if cfg.invert:
        x = x * torch.where(rand(b, 1, leads) < cfg.invert, -1.0, 1.0).to(x.dtype)
    if cfg.lead_swap and leads == 2:
        swap = rand(b) < cfg.lead_swap
        x = torch.where(swap[:, None, None], x.flip(2), x)
    return x, y, aligned


def _pause(x: torch.Tensor, y: torch.Tensor, aligned: torch.Tensor | None, hit: torch.Tensor,
           pick: torch.Tensor, fs: float):
    """``--aug-pause``: in each window of ``hit`` with a beat, the beat at place ``pick`` (0-1) among
    them loses its QRS-T (a straight line from the cut's first sample to its last) and its label."""
    x, y = x.clone(), y.clone()
    aligned = aligned.clone() if aligned is not None else None
    length = x.shape[1]
    before, after = round(-PAUSE_CUT_S[0] * fs), round(PAUSE_CUT_S[1] * fs)
    keep = round(PAUSE_KEEP_BEFORE_NEXT_S * fs)
    for i in torch.nonzero(hit).flatten().tolist():
        beats = torch.nonzero(y[i] > 0.5).flatten()
        if len(beats) == 0:
            continue
        k = min(int(pick[i] * len(beats)), len(beats) - 1)
        beat = int(beats[k])
        a = max(0, beat - before)
        b = min(length - 1, beat + after, int(beats[k + 1]) - keep if k + 1 < len(beats) else length - 1)
        if b <= beat:
            continue
        w = torch.linspace(0, 1, b - a + 1, device=x.device, dtype=x.dtype)[:, None]
        x[i, a:b + 1] = x[i, a] * (1 - w) + x[i, b] * w
        y[i, a:b + 1] = 0.0
        if aligned is not None:     # a teacher's logit there: no beat
            aligned[i, a:b + 1] = torch.minimum(aligned[i, a:b + 1], torch.tensor(-10.0, dtype=aligned.dtype))
    return x, y, aligned


def _delay(x: torch.Tensor, y: torch.Tensor, aligned: torch.Tensor | None, hit: torch.Tensor,
           pick: torch.Tensor, gap: torch.Tensor, fs: float):
    """``--aug-delay``: in each window of ``hit`` with a beat whose T wave ends inside it, after the
    beat at place ``pick`` (0-1) among those, DELAY_GAP_S (``gap`` 0-1 along it) of the signal's level
    at that point is inserted and the rest moves later; inserted steps carry no beat."""
    x, y = x.clone(), y.clone()
    aligned = aligned.clone() if aligned is not None else None
    length = x.shape[1]
    after, before_next = round(DELAY_AFTER_S * fs), round(PAUSE_KEEP_BEFORE_NEXT_S * fs)
    for i in torch.nonzero(hit).flatten().tolist():
        beats = torch.nonzero(y[i] > 0.5).flatten().tolist()
        # where a gap can open: after a beat's T wave and before the next beat's P wave
        places = [bt + after for k, bt in enumerate(beats)
                  if bt + after < length - 1 and (k + 1 == len(beats) or beats[k + 1] - before_next > bt + after)]
        if not places:
            continue
        at = places[min(int(pick[i] * len(places)), len(places) - 1)]
        n = min(round((DELAY_GAP_S[0] + float(gap[i]) * (DELAY_GAP_S[1] - DELAY_GAP_S[0])) * fs), length - at)
        rest = length - at - n
        x[i, at + n:] = x[i, at:at + rest].clone()
        x[i, at:at + n] = x[i, at - 1]
        y[i, at + n:] = y[i, at:at + rest].clone()
        y[i, at:at + n] = 0.0
        if aligned is not None:     # a teacher's logit in the gap: no beat
            aligned[i, at + n:] = aligned[i, at:at + rest].clone()
            aligned[i, at:at + n] = -10.0
    return x, y, aligned


_BANKS: dict[tuple[int, float], torch.Tensor] = {}


def noise_bank(length: int, fs: float) -> torch.Tensor:
    """(3 x BANK_SEGMENTS, length) segments of the three kinds of noise at ``fs``, each scaled to unit
    mean square; made once per process and window geometry (rng seed 0: the same bank every run)."""
    key = (length, float(fs))
    if key not in _BANKS:
        rng = np.random.default_rng(0)
        segments = [make_noise(kind, length * BANK_SEGMENTS, fs, rng).reshape(BANK_SEGMENTS, length)
                    for kind in KINDS]
        bank = np.concatenate(segments)
        bank = bank / np.sqrt(np.mean(bank ** 2, axis=1, keepdims=True))
        _BANKS[key] = torch.from_numpy(bank.astype(np.float32))
    return _BANKS[key]


def _stretch(x: torch.Tensor, y: torch.Tensor, aligned: torch.Tensor | None, factor: torch.Tensor):
    """Windows stretched in time about their centre by ``factor`` (B,) (> 1: slower, wider beats).
    The signal (and ``aligned``) is interpolated linearly, edges repeat their last sample; each
    labelled beat moves to its stretched position (beats pushed out of the window are dropped)."""
    length = x.shape[1]
    centre = (length - 1) / 2
    t = torch.arange(length, device=x.device, dtype=x.dtype)
    src = (centre + (t[None, :] - centre) / factor[:, None]).clamp(0, length - 1)   # (B, L)
    lo = src.floor().long().clamp(max=length - 2) if length > 1 else src.floor().long()
    frac = (src - lo).unsqueeze(-1)

    def interp(v):  # v (B, L, C)
        idx = lo.unsqueeze(-1).expand(-1, -1, v.shape[2])
        return torch.gather(v, 1, idx) * (1 - frac) + torch.gather(v, 1, (idx + 1).clamp(max=length - 1)) * frac

    x = interp(x)
    if aligned is not None:
        aligned = interp(aligned.unsqueeze(-1)).squeeze(-1)
    rows, cols = torch.nonzero(y > 0.5, as_tuple=True)
    new_cols = torch.round(centre + (cols.to(x.dtype) - centre) * factor[rows]).long()
    keep = (new_cols >= 0) & (new_cols < length)
    out = torch.zeros_like(y)
    out[rows[keep], new_cols[keep]] = 1
    return x, out, aligned


def soft_targets(y: torch.Tensor, sigma: float) -> torch.Tensor:
    """Labels softened around each beat: ``max`` over beats of ``exp(-d^2 / (2 sigma^2))`` with d the
    distance in samples (1 at the beat itself); ``sigma`` 0 returns the labels unchanged."""
    if sigma <= 0:
        return y
    radius = int(math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, device=y.device, dtype=y.dtype)
    kernel = torch.exp(-offsets ** 2 / (2 * sigma ** 2))
    # max-convolution: unfold each position's neighbourhood and weight it by the kernel
    padded = torch.nn.functional.pad(y, (radius, radius))
    windows = padded.unfold(1, 2 * radius + 1, 1)              # (B, L, 2r+1)
    return (windows * kernel.flip(0)).amax(dim=-1)
