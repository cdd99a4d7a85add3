"""Noise for stress tests, after PhysioNet's noise stress test database (nstdb) and its ``nst`` tool:
the three kinds of noise that fool beat detectors, made here (nothing is taken from held-out
records), and mixed into a clean record at a chosen signal-to-noise ratio in alternating stretches.

- baseline wander: slow drifts (respiration and movement), sums of random sinusoids under 0.5 Hz
  and a slow random walk;
- muscle artefact: broadband noise (5 Hz up to the record's Nyquist rate) in bursts of varying
  strength;
- electrode motion: mid-frequency (1-10 Hz) swings with step-like jumps, the noise most often
  taken for beats.

The signal-to-noise ratio is nstdb's: S is the mean over the record's beats of the squared
peak-to-peak amplitude of the QRS complex (within 50 ms of each reference beat) divided by 8, the
power of a sine wave of that peak-to-peak amplitude; N is the mean square of the noise; SNR = 10
log10(S / N), per lead. As in nstdb, the noise is added from minute 5 on, in alternating 2-minute
stretches (noisy, clean, noisy, ...).
"""

from __future__ import annotations

import numpy as np

KINDS = ("baseline_wander", "muscle", "electrode_motion")
NOISE_START_S = 300.0
STRETCH_S = 120.0
QRS_HALF_WIDTH_S = 0.05


def _band_noise(n: int, fs: float, low: float, high: float, rng) -> np.ndarray:
    """Gaussian noise band-limited to [low, high] Hz (FFT mask), unit variance."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / fs)
    spectrum[(freqs < low) | (freqs > high)] = 0
    x = np.fft.irfft(spectrum, n)
    return x / (x.std() or 1.0)


def make_noise(kind: str, n: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    """(n,) noise of ``kind`` (KINDS) at ``fs``, zero mean and unit variance."""
    t = np.arange(n) / fs
    if kind == "baseline_wander":
        x = sum(rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 2 * np.pi))
                for _ in range(4))
        x = x + np.cumsum(rng.standard_normal(n)) / np.sqrt(n) * 3
    elif kind == "muscle":
        envelope = np.abs(_band_noise(n, fs, 0.05, 0.5, rng)) + 0.3      # bursts of varying strength
        x = _band_noise(n, fs, 5.0, fs / 2, rng) * envelope
    elif kind == "electrode_motion":
        swings = _band_noise(n, fs, 1.0, 10.0, rng)
        jumps = np.zeros(n)
        at = rng.integers(0, n, size=max(1, int(n / fs / 20)))           # a jump every ~20 s
        jumps[at] = rng.normal(0, 3, size=len(at))
        decay = np.exp(-np.arange(int(fs)) / (0.3 * fs))                  # each jump settles in ~0.3 s
        x = swings + np.convolve(jumps, decay)[:n]
    else:
        raise ValueError(f"unknown noise kind {kind!r}; choose from {', '.join(KINDS)}")
    x = x - x.mean()
    return x / (x.std() or 1.0)


def signal_power(lead: np.ndarray, beats: np.ndarray, fs: float) -> float:
    """nstdb's S of one lead: the mean squared peak-to-peak QRS amplitude over the beats, over 8."""
    half = max(1, int(round(QRS_HALF_WIDTH_S * fs)))
    beats = beats[(beats >= half) & (beats < len(lead) - half)]
    if not len(beats):
        raise ValueError("no reference beat to measure the signal's power on")
    windows = lead[beats[:, None] + np.arange(-half, half + 1)[None, :]]
    pp = windows.max(axis=1) - windows.min(axis=1)
    return float(np.mean(pp ** 2) / 8.0)


def noisy_mask(n: int, fs: float) -> np.ndarray:
    """True on the samples that get noise: from NOISE_START_S on, every other STRETCH_S."""
    t = np.arange(n) / fs
    after = t >= NOISE_START_S
    return after & (((t - NOISE_START_S) // STRETCH_S) % 2 == 0)


def add_noise(signal: np.ndarray, beats: np.ndarray, fs: float, snr_db: float, seed: int = 0) -> np.ndarray:
    """``signal`` (n, leads) with equal parts of the three KINDS of noise added at ``snr_db`` (per
    lead, nstdb's definition) in the stretches of ``noisy_mask``."""
    signal = np.asarray(signal, np.float64)
    rng = np.random.default_rng(seed)
    mask = noisy_mask(len(signal), fs)
    out = signal.copy()
    for lead in range(signal.shape[1]):
        mixed = sum(make_noise(kind, len(signal), fs, rng) for kind in KINDS)
        mixed = mixed / np.sqrt(np.mean(mixed[mask] ** 2)) if mask.any() else mixed   # unit mean square
        scale = np.sqrt(signal_power(signal[:, lead], beats, fs) / 10 ** (snr_db / 10))
        out[:, lead] += np.where(mask, mixed * scale, 0.0)
    return out
