"""Beat-by-beat scoring of whole records as the ECG field does it (ANSI/AAMI EC57, PhysioNet ``bxb``).

Detected beats are matched one-to-one to the reference beats within 150 ms, per record, in the
record's own sample numbers. Reported per record and over a set of records as **gross** figures
(counts pooled over records) and **average** figures (the mean of the per-record figures), with
95% bootstrap intervals over records. Optionally the first 5 minutes of each record are left out,
as EC57 does for a detector's learning period.

Beyond the counts, the timing of the matched beats: the median absolute error in ms, the median
signed offset (detection minus reference; a per-record offset is how a model misses the
annotators' fiducial point) and the share of matched beats within +-2 samples at 128 Hz (15.6 ms),
the tolerance of the window metrics MSP/MSR.

Ventricular flutter and fibrillation: as EC57 (PhysioNet ``bxb``), detections inside an episode the
reference marks (``[`` ... ``]``, ``tsad.data.ecg.vf_episodes``) are not scored, nor is any reference
beat there: a detector is not asked for beats where there are none to find, and a VF detector is
judged by other statistics. ``score_folder(count_vf=True)`` (``evaluate_records.py --count-vf``)
counts them as false beats instead, as this project's tables did before 2026-12-04 (docs/RESULTS.md,
section V); each row says how many detections lay in such episodes (``det_in_vf``).

Per beat class: the sensitivity of each class of reference beat (the AAMI classes N, S, V, F, Q
and, beside them, paced, L and R beats; ``tsad.data.ecg.REPORTED_CLASSES``), per record (``n_V``,
``TP_V``, ``Se_V``: reference beats of the class, how many were matched, their share) and gross over
records with a bootstrap interval. A class absent from a record has ``Se`` NaN there, never 0.
Only sensitivity: a detection carries no class, so a false detection belongs to none.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from tsad.core.geometry import tolerance_samples
from tsad.data import ecg
from tsad.scoring.beats import ScoringError, figures, match_beats
from tsad.scoring.classes import score_classes

# the window metrics' tolerance (w = 2 samples at 128 Hz), as a time, for the timing share
TIGHT_TOLERANCE_S = 2 / 128
EC57_LEARNING_PERIOD_S = 300.0


def read_reference(record_path, annotator: str = "atr") -> tuple[np.ndarray, np.ndarray, float, int]:
    """A record's reference beats with their annotation symbols.

    Only beat annotations count (the ``beats`` label mode), never rhythm, noise or comment marks.

    Parameters
    ----------
    record_path : str or Path
        The record (``dir/800``, ``dir/800.hea``, ...).
    annotator : str
        Extension of the reference annotation file.

    Returns
    -------
    samples : array of int
        Sorted sample numbers of the beats, at the record's own rate.
    symbols : array of str
        The annotation symbol of each beat (``N``, ``V``, ``/``, ...), in the same order.
    fs : float
        The record's sampling rate.
    n_samples : int
        The record's length in samples (0 when the header does not say).

    Raises
    ------
    ScoringError
        One line naming the record: header or annotation file missing or unreadable.
    """
    header, ann = _read_annotations(record_path, annotator)
    keep = ecg.label_mask(ann.symbol, "beats")
    samples = np.asarray(ann.sample, np.int64)[keep]
    symbols = np.asarray(ann.symbol, dtype=object)[keep].astype(str)
    order = np.argsort(samples, kind="stable")
    return samples[order], symbols[order], float(header.fs), int(header.sig_len or 0)


def read_vf_episodes(record_path, annotator: str = "atr") -> np.ndarray:
    """(k, 2) [start, end] samples of the ventricular flutter or fibrillation episodes a record's
    reference annotations mark (``tsad.data.ecg.vf_episodes``; an open one runs to the record's end)."""
    header, ann = _read_annotations(record_path, annotator)
    return ecg.vf_episodes(ann.sample, ann.symbol, end=int(header.sig_len or 0) or None)


def _read_annotations(record_path, annotator: str):
    """(header, annotation) of a record, or one ScoringError line naming it."""
    import wfdb

    folder, name = ecg.record_files(record_path)
    where = f"record {folder / name}"
    if not (folder / f"{name}.hea").is_file():
        raise ScoringError(f"{where}: header file {name}.hea not found")
    if not (folder / f"{name}.{annotator}").is_file():
        raise ScoringError(f"{where}: reference annotation file {name}.{annotator} not found")
    try:
        header = wfdb.rdheader(str(folder / name))
        ann = wfdb.rdann(str(folder / name), annotator)
    except Exception as err:  # wfdb raises several types on malformed files
        raise ScoringError(f"{where}: unreadable ({type(err).__name__}: {err})") from err
    return header, ann


def reference_beats(record_path, annotator: str = "atr") -> tuple[np.ndarray, float, int]:
    """(beat sample numbers, fs, n_samples) of a record's reference annotations, at its own rate:
    ``read_reference`` without the symbols."""
    samples, _, fs, n_samples = read_reference(record_path, annotator)
    return samples, fs, n_samples


def class_sensitivity(symbols, matched) -> dict:
    """Per reported beat class (``ecg.REPORTED_CLASSES``): reference beats, matched ones, sensitivity.

    Parameters
    ----------
    symbols : sequence of str
        Annotation symbol of each reference beat.
    matched : array of bool
        Whether each reference beat was matched (``Match.matched_ref``).

    Returns
    -------
    dict
        ``n_<class>``, ``TP_<class>`` (ints) and ``Se_<class>`` (NaN when the record has no beat of
        the class: absent, not missed) for every class in ``ecg.REPORTED_CLASSES``.
    """
    symbols = np.asarray(symbols, dtype=object)
    matched = np.asarray(matched, bool)
    if len(symbols) != len(matched):
        raise ScoringError(f"{len(symbols)} beat symbols for {len(matched)} reference beats")
    out = {}
    for name, members in ecg.REPORTED_CLASSES.items():
        of_class = np.fromiter((s in members for s in symbols), bool, len(symbols))
        n, tp = int(of_class.sum()), int((of_class & matched).sum())
        out.update({f"n_{name}": n, f"TP_{name}": tp, f"Se_{name}": tp / n if n else float("nan")})
    return out


def read_detections(det_dir, record: str, ext: str, symbols: bool = False):
    """Sample numbers of the beats in ``<det_dir>/<record>.<ext>``: every beat annotation counts as a
    detected beat, signal-quality and other non-beat marks (``~`` around a gap, ...) do not. With
    ``symbols``, ``(samples, their symbols)``: a detector that classifies writes each beat's AAMI class."""
    import wfdb

    path = Path(det_dir) / f"{record}.{ext}"
    if not path.is_file():
        raise ScoringError(f"{path}: detection file not found")
    try:
        ann = wfdb.rdann(str(Path(det_dir) / record), ext)
    except Exception as err:  # wfdb raises several types on malformed files
        raise ScoringError(f"{path}: unreadable annotation file ({type(err).__name__}: {err})") from err
    keep = ecg.label_mask(ann.symbol, "beats")
    samples = np.asarray(ann.sample, np.int64)[keep]
    order = np.argsort(samples, kind="stable")
    if symbols:
        return samples[order], np.asarray(ann.symbol, dtype=object)[keep][order]
    return samples[order]


def timing_errors_ms(ref: np.ndarray, det: np.ndarray, fs: float, skip_s: float = 0.0) -> np.ndarray:
    """Detection minus reference time (ms) of every matched beat, in record order."""
    start = int(round(skip_s * fs))
    ref, det = ref[ref >= start], det[det >= start]
    m = match_beats(ref, det, tolerance_samples(fs))
    return (det[m.det_index] - ref[m.ref_index]) / fs * 1000.0


def score_record(record: str, ref: np.ndarray, det: np.ndarray, fs: float, skip_s: float = 0.0,
                 symbols=None, det_symbols=None, vf: np.ndarray | None = None) -> dict:
    """Every per-record figure: counts, Se/PPV/F1, timing of the matched beats and, when the
    reference beats' ``symbols`` are given, the sensitivity per beat class (``class_sensitivity``);
    with the detections' ``det_symbols`` too, the VEB and SVEB statistics and the confusion matrix
    (``tsad.scoring.classes.score_classes``). ``skip_s`` leaves out the record's first seconds
    (EC57's 5-minute learning period: 300). ``vf``: the reference's ventricular flutter or
    fibrillation episodes (``read_vf_episodes``), inside which nothing is scored (module docstring;
    the row's ``det_in_vf`` says how many detections lay there); None scores everything."""
    start = int(round(skip_s * fs))
    kept = ref >= start
    kept_det = det >= start
    in_vf = {}
    if vf is not None:
        in_vf = {"det_in_vf": int((kept_det & ~ecg.outside_episodes(det, vf)).sum())}
        kept &= ecg.outside_episodes(ref, vf)
        kept_det &= ecg.outside_episodes(det, vf)
    ref, det = ref[kept], det[kept_det]
    tol = tolerance_samples(fs)
    m = match_beats(ref, det, tol)
    err = (det[m.det_index] - ref[m.ref_index]) / fs * 1000.0          # ms, detection minus reference
    tight = tolerance_samples(fs, TIGHT_TOLERANCE_S + 1e-9)
    counts = {"TP": m.tp, "FP": m.fp, "FN": m.fn}
    row = {"record": record, "fs": fs, "n_ref": len(ref), "n_det": len(det), **counts, **figures(**counts),
           "median_abs_error_ms": float(np.median(np.abs(err))) if len(err) else float("nan"),
           "median_offset_ms": float(np.median(err)) if len(err) else float("nan"),
           "within_2_samples": float(np.mean(np.abs(det[m.det_index] - ref[m.ref_index]) <= tight))
           if len(err) else float("nan"), **in_vf}
    if symbols is not None:
        row.update(class_sensitivity(np.asarray(symbols, dtype=object)[kept], m.matched_ref()))
        if det_symbols is not None:
            row.update(score_classes(ref, np.asarray(symbols, dtype=object)[kept], det,
                                     np.asarray(det_symbols, dtype=object)[kept_det], tol))
    return row


def summarise(table: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Gross (pooled counts) and average (mean of per-record figures) Se/PPV/F1 over the records of
    ``table``, each with a 95% percentile bootstrap interval over records, plus the timing figures
    (pooled: medians of the per-record medians; within_2_samples weighted by matched beats) and,
    when the table has the per-class counts, the gross sensitivity of each beat class
    (``gross Se_V``: matched V beats over all V beats of the records; NaN, shown as n/a, when no
    record has the class; a resample without the class is left out of the interval)."""
    rng = np.random.default_rng(seed)
    n = len(table)
    if n == 0:
        raise ScoringError("no record to summarise")
    counts = table[["TP", "FP", "FN"]].to_numpy(np.float64)
    per_rec = table[["Se", "PPV", "F1"]].to_numpy(np.float64)
    boot = rng.integers(0, n, size=(n_boot, n))

    def gross(c):
        tp, fp, fn = c[..., 0], c[..., 1], c[..., 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.stack([tp / (tp + fn), tp / (tp + fp), 2 * tp / (2 * tp + fp + fn)], axis=-1)

    g = gross(counts.sum(0))
    g_boot = gross(counts[boot].sum(1))
    with warnings.catch_warnings():  # a figure undefined on every record stays NaN, quietly
        warnings.simplefilter("ignore", RuntimeWarning)
        a = np.nanmean(per_rec, 0)
        a_boot = np.nanmean(per_rec[boot], 1)
    rows = []
    for k, name in enumerate(("Se", "PPV", "F1")):
        for label, value, samples in (("gross", g[k], g_boot[:, k]), ("average", a[k], a_boot[:, k])):
            lo, hi = _percentiles(samples)
            rows.append({"figure": f"{label} {name}", "value": value, "ci_low": lo, "ci_high": hi})
    matched = table["TP"].to_numpy(np.float64)
    for col in ("median_abs_error_ms", "within_2_samples"):
        vals = table[col].to_numpy(np.float64)
        ok = ~np.isnan(vals)
        value = float(np.average(vals[ok], weights=matched[ok])) if matched[ok].sum() else float("nan")
        bs = [np.average(vals[b][ok[b]], weights=matched[b][ok[b]]) if matched[b][ok[b]].sum() else np.nan
              for b in boot[:500]]
        lo, hi = _percentiles(bs)
        rows.append({"figure": f"{col} (beat-weighted mean over records)", "value": value, "ci_low": lo,
                     "ci_high": hi})
    for name in ecg.REPORTED_CLASSES:
        if f"n_{name}" not in table or f"TP_{name}" not in table:
            continue                   # a table scored without the beats' classes
        beats = table[[f"TP_{name}", f"n_{name}"]].to_numpy(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = beats[:, 0].sum() / beats[:, 1].sum()           # NaN when no record has the class
            resampled = beats[boot].sum(1)
            samples = resampled[:, 0] / resampled[:, 1]
        lo, hi = _percentiles(samples)
        rows.append({"figure": f"gross Se_{name}", "value": float(value), "ci_low": lo, "ci_high": hi})
    out = pd.DataFrame(rows)
    out.insert(1, "records", n)
    return out


def _percentiles(samples) -> tuple[float, float]:
    """The 2.5% and 97.5% points of bootstrap samples; NaN when every sample is NaN."""
    samples = np.asarray(samples, float)
    if np.isnan(samples).all():
        return float("nan"), float("nan")
    lo, hi = np.nanpercentile(samples, [2.5, 97.5])
    return float(lo), float(hi)


def score_folder(det_dir, input_dir, ext: str, records=None, skip_s: float = 0.0,
                 annotator: str = "atr", errors: dict | None = None, count_vf: bool = False) -> pd.DataFrame:
    """Per-record table for every detection file ``<record>.<ext>`` in ``det_dir`` (or the given
    records), scored against ``<input_dir>/<record>.<annotator>``, with the sensitivity per beat class
    (``score_record``), nothing scored inside the reference's VF episodes unless ``count_vf``. When
    ``errors`` is a dict, the
    timing errors (ms) of each record's matched beats are put in it under the record's name."""
    det_dir, input_dir = Path(det_dir), Path(input_dir)
    if not det_dir.is_dir():
        raise ScoringError(f"{det_dir}: detection folder not found")
    if records is None:
        records = sorted(p.name[: -len(ext) - 1] for p in det_dir.glob(f"*.{ext}"))
        if not records:
            raise ScoringError(f"{det_dir}: no detection files *.{ext} (is --ext right?)")
    rows = []
    for rec in records:
        if not (input_dir / f"{rec}.hea").is_file():
            raise ScoringError(f"{det_dir / (rec + '.' + ext)}: no matching record {rec}.hea in {input_dir}")
        ref, symbols, fs, _ = read_reference(input_dir / rec, annotator)
        det, det_symbols = read_detections(det_dir, rec, ext, symbols=True)
        vf = None if count_vf else read_vf_episodes(input_dir / rec, annotator)
        rows.append(score_record(rec, ref, det, fs, skip_s, symbols=symbols, det_symbols=det_symbols, vf=vf))
        if errors is not None:
            errors[rec] = timing_errors_ms(ref, det, fs, skip_s)
    return pd.DataFrame(rows)
