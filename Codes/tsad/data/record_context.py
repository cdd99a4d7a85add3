"""What a teacher may read of a beat that a deployed classifier cannot: the record around it, after
as well as before (privileged information, issue "Distillation where it should pay").

A deployed classifier reads a beat against the patient's *past* (``tsad.data.beat_context``), so that
a stream is classified within one RR interval. A Holter reader, a cardiologist or an offline program
reads the whole record: a run of supraventricular beats is early against the sinus rhythm before
*and after* it, and a patient's usual beat is plain from the minutes around. ``record_context`` gives
those views of every beat of a record, for a teacher to be trained on and distilled from
(docs/RESULTS.md, section X). It needs the whole record, so no detection path reads it: a classifier
that does is a teacher only (``TEACHER_VIEW``; ``tsad.models.beat_classifier.check_streamable``).

Per beat (``record_context``), appended after beat_context's:

- one waveform group: the beat minus the **centred template**, the median of the TEMPLATE_BEATS beats
  around it (half before, half after), over the template's peak-to-peak per lead;
- RECORD_NAMES: the **local RR**, the median of the RR intervals of the LOCAL_BEATS beats on either
  side (de Chazal et al. 2004's local average, made robust to the ectopic beats among them), the
  **long RR**, the same over LONG_BEATS beats on either side (about five minutes, de Chazal's
  average RR), the beat's previous and next RR over the local RR, its previous RR over the long one,
  the local over the long RR (a run), and the RR after the next one over the local RR (whether the
  rhythm returns).
"""

from __future__ import annotations

import numpy as np

from tsad.data.beat_context import (
    FS,
    MAX_RR_S,
    MIN_SCALE_MV,
    RHYTHM_FEATURES,
    WAVE_GROUPS,
    raw_waves,
)

TEMPLATE_BEATS = 128        # beats around a beat whose median is its centred template
TEMPLATE_STRIDE = 16        # one centred template serves this many consecutive beats (it changes slowly)
LOCAL_BEATS = 10            # beats on either side whose RR intervals give the local RR
LONG_BEATS = 150            # beats on either side whose RR intervals give the long RR
RECORD_NAMES = ("rr_local centred", "rr_long centred", "prev/local c", "next/local c", "prev/long c",
                "local c/long c", "next2/local c")
RECORD_FEATURES = len(RECORD_NAMES)
RECORD_WAVE_GROUPS = ("beat - centred template",)
# what a teacher with the record's view reads: every group and rhythm feature of beat_context, then these
TEACHER_VIEW = {"wave_groups": len(WAVE_GROUPS) + len(RECORD_WAVE_GROUPS),
                "rhythm_features": RHYTHM_FEATURES + RECORD_FEATURES}


def _centred_median(values: np.ndarray, half: int) -> np.ndarray:
    """For each i, the median of ``values[i - half : i + half + 1]`` (the ends repeated)."""
    padded = np.pad(values, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    out = np.empty(len(values))
    for a in range(0, len(values), 8192):           # bounded memory on long records
        out[a:a + 8192] = np.median(windows[a:a + 8192], axis=1)
    return out


def record_rhythm(samples: np.ndarray) -> np.ndarray:
    """(n, RECORD_FEATURES) float32: RECORD_NAMES of the beats at ``samples`` (sorted, at FS), from the
    record's beats before and after each (module docstring)."""
    n = len(samples)
    if n < 2:
        return np.tile(np.array([MAX_RR_S, MAX_RR_S, 1, 1, 1, 1, 1], np.float32), (n, 1))   # no interval known
    rr = np.minimum(np.diff(samples) / FS, MAX_RR_S)
    prev = np.concatenate([rr[:1], rr])              # the first beat's previous is its next
    nxt = np.concatenate([rr, rr[-1:]])
    nxt2 = np.concatenate([nxt[1:], nxt[-1:]])
    local = _centred_median(prev, LOCAL_BEATS)
    long = _centred_median(prev, LONG_BEATS)
    return np.stack([local, long, prev / local, nxt / local, prev / long, local / long, nxt2 / local],
                    axis=1).astype(np.float32)


def record_waves(signal: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """(n, leads, WAVE_SAMPLES) float32: each beat minus its centred template, over the template's
    peak-to-peak (module docstring); ``signal`` (T, leads) is the whole record at FS."""
    raw = raw_waves(signal, np.asarray(samples, np.int64))
    out = np.empty_like(raw, dtype=np.float32)
    half = TEMPLATE_BEATS // 2
    for a in range(0, len(raw), TEMPLATE_STRIDE):
        b = min(len(raw), a + TEMPLATE_STRIDE)
        mid = (a + b) // 2
        template = np.median(raw[max(0, mid - half):mid + half], axis=0)
        scale = np.maximum(template.max(axis=1) - template.min(axis=1), MIN_SCALE_MV)[None, :, None]
        out[a:b] = (raw[a:b] - template[None]) / scale
    return out


def record_context(signal: np.ndarray, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(waves, rhythm)``: ``record_waves`` and ``record_rhythm`` of the beats at ``samples``."""
    samples = np.asarray(samples, np.int64)
    return record_waves(signal, samples), record_rhythm(samples)
