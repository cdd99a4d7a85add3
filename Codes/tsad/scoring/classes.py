"""Which beats are abnormal, scored as ANSI/AAMI EC57 does: the ventricular (VEB) and supraventricular
(SVEB) ectopic beat statistics of a detector that labels each beat with its AAMI class.

Reference and detected beats are matched one to one within 150 ms (``beats.match_beats``). Each
reference beat's class comes from its annotation symbol (``ecg.beat_class``: N, S, V, F or Q); each
detection's from the symbol it was written with (a detector that classifies writes the class letter;
one that does not writes N). The counts form a confusion matrix, rows the reference class, columns
the detected class, with a column ``missed`` (reference beats no detection matched, as PhysioNet's
``bxb`` lists them) and a row ``extra`` (detections no reference beat matched).

The rules, as de Chazal et al. (IEEE TBME 51(7), 2004) applied EC57 to the MIT-BIH databases:

- VEB: TP = Vv. FN = the V beats labelled N, S, F or Q, and the V beats missed. FP = the N, S and Q
  beats labelled V, and the extra detections labelled V; a fusion beat (F) labelled V is not
  counted against the VEB positive predictivity. TN = the N, S and Q beats labelled anything but V.
- SVEB: TP = Ss. FN = the S beats labelled N, V, F or Q, and the S beats missed. FP = the N, V and
  F beats labelled S, and the extra detections labelled S; Q beats (unclassifiable) are not counted.
  TN = the N, V and F beats labelled anything but S.
- Se = TP / (TP + FN), +P = TP / (TP + FP), FPR = FP / (FP + TN); gross from the counts pooled over
  records, average the mean of the records' figures (a record without the class, or without a
  detection of it, has no Se, or no +P, and is left out of that mean).
- Records with paced beats (``/`` or ``f``: mitdb 102, 104, 107, 217) are left out, as AAMI says.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from tsad.data.ecg import AAMI_CLASSES, beat_class
from tsad.scoring.beats import ScoringError, match_beats

CLASSES = tuple(AAMI_CLASSES)          # N S V F Q: rows and columns of the confusion matrix
PACED_SYMBOLS = frozenset("/f")        # a record with these is left out of the class figures
# the classes whose beats count as false positives, and as true negatives, of each statistic
ECTOPIC = {
    "VEB": {"target": "V", "counted": ("N", "S", "Q")},
    "SVEB": {"target": "S", "counted": ("N", "V", "F")},
}


def confusion(ref: np.ndarray, ref_symbols, det: np.ndarray, det_symbols, tolerance: int) -> pd.DataFrame:
    """The confusion matrix of one record: rows N S V F Q and ``extra``, columns N S V F Q and
    ``missed`` (module docstring). Beats whose symbol is in no AAMI class are left out."""
    ref_class = np.array([beat_class(s) for s in ref_symbols], dtype=object)
    det_class = np.array([beat_class(s) for s in det_symbols], dtype=object)
    keep_ref, keep_det = ref_class != "-", det_class != "-"
    ref, ref_class = np.asarray(ref)[keep_ref], ref_class[keep_ref]
    det, det_class = np.asarray(det)[keep_det], det_class[keep_det]
    order_r, order_d = np.argsort(ref, kind="stable"), np.argsort(det, kind="stable")
    ref, ref_class, det, det_class = ref[order_r], ref_class[order_r], det[order_d], det_class[order_d]
    m = match_beats(ref, det, tolerance)
    table = pd.DataFrame(0, index=[*CLASSES, "extra"], columns=[*CLASSES, "missed"], dtype=np.int64)
    for r, d in zip(ref_class[m.ref_index], det_class[m.det_index]):
        table.loc[r, d] += 1
    missed = np.ones(len(ref), bool)
    missed[m.ref_index] = False
    extra = np.ones(len(det), bool)
    extra[m.det_index] = False
    for c in CLASSES:
        table.loc[c, "missed"] = int(np.sum(missed & (ref_class == c)))
        table.loc["extra", c] = int(np.sum(extra & (det_class == c)))
    return table


def ectopic_counts(table: pd.DataFrame) -> dict:
    """TP, FN, FP and TN of VEB and SVEB from a confusion matrix (``VEB_TP``, ..., ``SVEB_TN``)."""
    out = {}
    for name, rule in ECTOPIC.items():
        t, counted = rule["target"], rule["counted"]
        others = [c for c in CLASSES if c != t]
        out[f"{name}_TP"] = int(table.loc[t, t])
        out[f"{name}_FN"] = int(table.loc[t, others].sum() + table.loc[t, "missed"])
        out[f"{name}_FP"] = int(sum(table.loc[c, t] for c in counted) + table.loc["extra", t])
        out[f"{name}_TN"] = int(sum(table.loc[c, others].sum() for c in counted))
    return out


def ectopic_figures(counts: dict) -> dict:
    """Se, +P and FPR of VEB and SVEB from ``ectopic_counts`` (NaN where undefined)."""
    out = {}
    for name in ECTOPIC:
        tp, fn, fp, tn = (counts[f"{name}_{k}"] for k in ("TP", "FN", "FP", "TN"))
        out[f"{name}_Se"] = tp / (tp + fn) if tp + fn else float("nan")
        out[f"{name}_+P"] = tp / (tp + fp) if tp + fp else float("nan")
        out[f"{name}_FPR"] = fp / (fp + tn) if fp + tn else float("nan")
    return out


def is_paced(ref_symbols) -> bool:
    """Whether a record has paced beats: AAMI leaves such records out of the class figures."""
    return any(s in PACED_SYMBOLS for s in ref_symbols)


def score_classes(ref, ref_symbols, det, det_symbols, tolerance: int) -> dict:
    """One record's row: ``paced``, the confusion matrix flattened (``ref_det``: ``V_N`` is a V beat
    labelled N; ``V_missed``, ``extra_V``), the VEB and SVEB counts and figures."""
    table = confusion(ref, ref_symbols, det, det_symbols, tolerance)
    flat = {f"{r}_{c}": int(table.loc[r, c]) for r in table.index for c in table.columns
            if not (r == "extra" and c == "missed")}
    counts = ectopic_counts(table)
    return {"paced": is_paced(ref_symbols), **flat, **counts, **ectopic_figures(counts)}


def pooled_confusion(table: pd.DataFrame) -> pd.DataFrame:
    """The confusion matrix summed over the non-paced records of a per-record table."""
    rows = table[~table["paced"].astype(bool)]
    out = pd.DataFrame(0, index=[*CLASSES, "extra"], columns=[*CLASSES, "missed"], dtype=np.int64)
    for r in out.index:
        for c in out.columns:
            if f"{r}_{c}" in rows:
                out.loc[r, c] = int(rows[f"{r}_{c}"].sum())
    return out


def summarise_classes(table: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Gross and average VEB and SVEB Se, +P and FPR over the non-paced records of a per-record
    table (``score_classes``' columns), each with a 95% percentile bootstrap interval over records.

    Raises
    ------
    ScoringError
        No record is left once the paced ones are out.
    """
    rows = table[~table["paced"].astype(bool)]
    n = len(rows)
    if n == 0:
        raise ScoringError("no record to score classes on (every record is paced)")
    rng = np.random.default_rng(seed)
    boot = rng.integers(0, n, size=(n_boot, n))
    out = []
    for name in ECTOPIC:
        c = rows[[f"{name}_{k}" for k in ("TP", "FN", "FP", "TN")]].to_numpy(np.float64)

        g, g_boot = _gross_figures(c.sum(0)), _gross_figures(c[boot].sum(1))
        per = rows[[f"{name}_Se", f"{name}_+P", f"{name}_FPR"]].to_numpy(np.float64)
        with warnings.catch_warnings():   # a figure no record defines stays NaN, quietly
            warnings.simplefilter("ignore", RuntimeWarning)
            a, a_boot = np.nanmean(per, 0), np.nanmean(per[boot], 1)
        for k, figure in enumerate(("Se", "+P", "FPR")):
            for label, value, samples in (("gross", g[k], g_boot[:, k]), ("average", a[k], a_boot[:, k])):
                finite = samples[~np.isnan(samples)]
                lo, hi = (np.percentile(finite, [2.5, 97.5]) if len(finite) else (np.nan, np.nan))
                out.append({"figure": f"{label} {name} {figure}", "records": n, "value": float(value),
                            "ci_low": float(lo), "ci_high": float(hi)})
    return pd.DataFrame(out)


def _gross_figures(counts: np.ndarray) -> np.ndarray:
    """(..., 4) summed TP, FN, FP, TN -> (..., 3) Se, +P, FPR."""
    tp, fn, fp, tn = counts[..., 0], counts[..., 1], counts[..., 2], counts[..., 3]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.stack([tp / (tp + fn), tp / (tp + fp), fp / (fp + tn)], axis=-1)


def paired_class_difference(reference: pd.DataFrame, other: pd.DataFrame, n_boot: int = 2000,
                            seed: int = 0) -> pd.DataFrame:
    """Gross VEB and SVEB Se, +P and FPR of two classifiers scored on the same records (per-record
    tables of ``score_classes``, a ``record`` column each), and ``other`` minus ``reference`` with a
    95% paired bootstrap interval: the same resampled records for both. Paced records are left out.

    Raises
    ------
    ScoringError
        The tables do not hold the same non-paced records.
    """
    a = reference[~reference["paced"].astype(bool)].set_index("record")
    b = other[~other["paced"].astype(bool)].set_index("record")
    if set(a.index) != set(b.index) or not len(a):
        raise ScoringError("a paired comparison needs the same (non-paced) records in both tables")
    b = b.loc[a.index]
    boot = np.random.default_rng(seed).integers(0, len(a), size=(n_boot, len(a)))
    out = []
    for name in ECTOPIC:
        cols = [f"{name}_{k}" for k in ("TP", "FN", "FP", "TN")]
        out += _paired_rows(a[cols].to_numpy(np.float64), b[cols].to_numpy(np.float64), boot, _gross_figures,
                            [f"{name} {figure}" for figure in ("Se", "+P", "FPR")])
    return pd.DataFrame(out)


def _paired_rows(ca: np.ndarray, cb: np.ndarray, boot: np.ndarray, figures, names) -> list[dict]:
    """Rows ``gross <name>`` of two per-record count tables (records, counts) of the same records:
    ``figures`` (summed counts -> the figures named ``names``) of each, and b minus a with the 95%
    percentile interval over the bootstrap resamples of records ``boot`` (resamples, records)."""
    ga, gb = figures(ca.sum(0)), figures(cb.sum(0))
    diff = figures(cb[boot].sum(1)) - figures(ca[boot].sum(1))
    rows = []
    for k, name in enumerate(names):
        finite = diff[:, k][~np.isnan(diff[:, k])]
        lo, hi = np.percentile(finite, [2.5, 97.5]) if len(finite) else (np.nan, np.nan)
        rows.append({"figure": f"gross {name}", "records": len(ca), "reference": float(ga[k]), "other": float(gb[k]),
                     "difference": float(gb[k] - ga[k]), "ci_low": float(lo), "ci_high": float(hi)})
    return rows


DETECTION_FIGURES = ("Se", "PPV", "F1", *(f"Se_{c}" for c in ("N", "S", "V")))


def detection_counts(table: pd.DataFrame) -> np.ndarray:
    """(records, 2 + 2 x 3) per-record counts of a ``score_classes`` table: TP, FP, FN of the beats
    whatever their class, then the reference beats and the missed ones of N, S and V."""
    missed = table[[f"{c}_missed" for c in CLASSES]].to_numpy(np.float64)
    found = table[[f"{r}_{c}" for r in CLASSES for c in CLASSES]].to_numpy(np.float64).reshape(len(table), 5, 5)
    extra = table[[f"extra_{c}" for c in CLASSES]].to_numpy(np.float64).sum(1)
    per_class = [np.stack([found[:, k].sum(1) + missed[:, k], missed[:, k]], 1) for k in range(3)]
    return np.column_stack([found.sum((1, 2)), extra, missed.sum(1), *per_class])


def _detection_figures(counts: np.ndarray) -> np.ndarray:
    """(..., 9) summed ``detection_counts`` -> (..., 6) DETECTION_FIGURES."""
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = [1 - counts[..., 4 + 2 * k] / counts[..., 3 + 2 * k] for k in range(3)]
        return np.stack([tp / (tp + fn), tp / (tp + fp), 2 * tp / (2 * tp + fp + fn), *per_class], axis=-1)


def paired_detection_difference(reference: pd.DataFrame, other: pd.DataFrame, n_boot: int = 2000,
                                seed: int = 0) -> pd.DataFrame:
    """Gross beat detection figures (DETECTION_FIGURES: Se, PPV, F1 of every beat, and the Se of N, S
    and V beats) of two ``score_classes`` tables of the same records, paced ones included (detection
    is scored on every record), and ``other`` minus ``reference`` with a 95% paired bootstrap
    interval over records: what a step that drops detections (a beat verifier) does to detection.

    Raises
    ------
    ScoringError
        The tables do not hold the same records.
    """
    a, b = reference.set_index("record"), other.set_index("record")
    if set(a.index) != set(b.index) or not len(a):
        raise ScoringError("a paired comparison needs the same records in both tables")
    b = b.loc[a.index]
    boot = np.random.default_rng(seed).integers(0, len(a), size=(n_boot, len(a)))
    out = _paired_rows(detection_counts(a), detection_counts(b), boot, _detection_figures, DETECTION_FIGURES)
    return pd.DataFrame(out)
