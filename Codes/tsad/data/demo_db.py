"""The embedded default data: a synthetic two-lead ECG database written as real WFDB files.

Each beat is a sum of Gaussian waves (P, Q, R, S, T) placed on an RR series with respiratory and
slower heart-rate variability; supraventricular ectopic beats (S: premature, altered P, normal
QRS) and ventricular ectopic beats (V: premature, no P, wide QRS, discordant T, compensatory
pause) are mixed in and annotated; baseline wander and noise are added. The files are written
with ``wfdb.wrsamp`` (format 212) and ``wfdb.wrann`` so the data stage reads them exactly as it
reads PhysioNet's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FS = 128
# (centre in s relative to R, amplitude in mV, width in s) of each wave, per lead.
_NORMAL = {
    "P": ((-0.20, 0.12, 0.025), (-0.20, 0.08, 0.025)),
    "Q": ((-0.035, -0.10, 0.010), (-0.035, -0.05, 0.010)),
    "R": ((0.0, 1.10, 0.011), (0.0, 0.60, 0.012)),
    "S": ((0.035, -0.25, 0.011), (0.035, -0.35, 0.012)),
    "T": ((0.26, 0.30, 0.050), (0.26, 0.18, 0.055)),
}
_VENTRICULAR = {
    "R": ((0.0, 1.45, 0.030), (0.0, -0.90, 0.032)),
    "S": ((0.07, -0.40, 0.030), (0.07, 0.30, 0.030)),
    "T": ((0.32, -0.45, 0.070), (0.32, 0.35, 0.070)),
}


@dataclass
class DemoConfig:
    """Size and randomness of the synthetic WFDB database."""
    n_records: int = 4
    minutes: float = 4.0
    seed: int = 0
    p_supraventricular: float = 0.06
    p_ventricular: float = 0.04


def _beat_schedule(duration: float, rng, cfg: DemoConfig):
    """R-peak times (s) and symbols with heart-rate variability and ectopic beats."""
    mean_rr = 60.0 / rng.uniform(62, 92)
    resp_hz, lf_hz = rng.uniform(0.2, 0.3), rng.uniform(0.08, 0.12)
    sinus = [rng.uniform(0.3, 0.8)]
    while sinus[-1] < duration:
        t = sinus[-1]
        sinus.append(t + mean_rr * (1 + 0.04 * np.sin(2 * np.pi * resp_hz * t)
                                    + 0.03 * np.sin(2 * np.pi * lf_hz * t) + rng.normal(0, 0.015)))
    sinus = np.asarray(sinus)
    u = rng.random(len(sinus))
    symbols = np.where(u < cfg.p_ventricular, "V",
                       np.where(u < cfg.p_ventricular + cfg.p_supraventricular, "S", "N")).astype(object)
    symbols[0] = "N"
    rr = np.diff(sinus, prepend=sinus[0] - mean_rr)
    # An S beat resets the sinus node: it and every later beat come early by the same amount.
    # A V beat does not: only it comes early, and the next sinus beat keeps its time (full
    # compensatory pause).
    early_s = np.where(symbols == "S", 0.30 * rr, 0.0)
    early_v = np.where(symbols == "V", 0.38 * rr, 0.0)
    times = sinus - np.cumsum(early_s) - early_v
    keep = times < duration - 0.5
    return times[keep], list(symbols[keep]), mean_rr


def _add_wave(signal, t_axis, centre, amp, width):
    lo = np.searchsorted(t_axis, centre - 5 * width)
    hi = np.searchsorted(t_axis, centre + 5 * width)
    seg = t_axis[lo:hi]
    signal[lo:hi] += amp * np.exp(-0.5 * ((seg - centre) / width) ** 2)


def synth_record(duration: float, rng, cfg: DemoConfig, fs: int = FS):
    """Returns (signal (n, 2) mV, R-peak samples, symbols)."""
    n = int(duration * fs)
    t_axis = np.arange(n) / fs
    signal = np.zeros((n, 2))
    times, symbols, mean_rr = _beat_schedule(duration, rng, cfg)
    gain = rng.uniform(0.8, 1.2, size=2)
    for t, sym in zip(times, symbols):
        waves = dict(_NORMAL)
        if sym == "V":
            waves = {k: v for k, v in _NORMAL.items() if k not in ("P", "Q")} | _VENTRICULAR
        for name, per_lead in waves.items():
            for lead, (centre, amp, width) in enumerate(per_lead):
                if sym == "S" and name == "P":
                    amp = -0.6 * amp  # ectopic atrial focus: altered (inverted) P wave
                if name == "T":
                    centre *= np.sqrt(mean_rr)  # QT shortens with a faster rate
                _add_wave(signal[:, lead], t_axis, t + centre, gain[lead] * amp, width)
    wander = (0.12 * np.sin(2 * np.pi * rng.uniform(0.15, 0.3) * t_axis + rng.uniform(0, 6.3))
              + 0.08 * np.sin(2 * np.pi * rng.uniform(0.03, 0.07) * t_axis + rng.uniform(0, 6.3)))
    signal += wander[:, None] * np.array([1.0, 0.7])
    signal += rng.normal(0, 0.015, size=signal.shape)
    samples = np.round(np.asarray(times) * fs).astype(np.int64)
    keep = (samples >= 0) & (samples < n)
    return signal, samples[keep], [s for s, k in zip(symbols, keep) if k]


def write_demo_database(out_dir, cfg: DemoConfig | None = None) -> list[str]:
    """Writes ``cfg.n_records`` records (demo00, demo01, ...) and returns their names."""
    import wfdb

    cfg = cfg or DemoConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = []
    for k in range(cfg.n_records):
        rng = np.random.default_rng([cfg.seed, k])
        signal, samples, symbols = synth_record(cfg.minutes * 60, rng, cfg)
        name = f"demo{k:02d}"
        wfdb.wrsamp(name, fs=FS, units=["mV", "mV"], sig_name=["ECG1", "ECG2"], p_signal=signal,
                    fmt=["212", "212"], write_dir=str(out_dir),
                    comments=[f"synthetic tsad demo record, seed {cfg.seed}"])
        # '+' at the start is a rhythm annotation, as in PhysioNet's files: not a beat.
        wfdb.wrann(name, "atr", np.concatenate([[0], samples]), symbol=["+"] + symbols,
                   aux_note=["(N"] + [""] * len(symbols), write_dir=str(out_dir))
        names.append(name)
    return names
