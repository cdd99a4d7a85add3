"""Evaluation figures: one window with its beats (shared with the GUI), example windows of every
model, per-window precision/recall histograms, precision-recall curves. Every function returns a
matplotlib Figure (Agg backend, no display needed); ``save_figure`` writes a PNG atomically."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tsad.core.fileio import atomic_path  # noqa: E402
from tsad.scoring.beats import predict_positions, window_thresholds  # noqa: E402

LEAD_COLORS = ("tab:red", "tab:blue")
TRUE_STYLE = dict(marker="*", s=90, color="#1E3A8A", zorder=3, label="true beat")
PRED_STYLE = dict(marker="o", s=45, facecolors="none", edgecolors="#B45309", linewidths=1.6, zorder=4,
                  label="predicted beat")


def save_figure(fig: Figure, path, dpi: int = 100) -> None:
    """Writes ``fig`` as a PNG through a temporary file and closes it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)


def _beats_on_lead(ax, lead: np.ndarray, true_pos, pred_pos, offset: float = 0.0, legend: bool = True):
    t = np.arange(len(lead))
    true_pos = np.asarray(true_pos, int)
    hide = {} if legend else {"label": "_nolegend_"}
    ax.scatter(t[true_pos], lead[true_pos] + offset, **{**TRUE_STYLE, **hide})
    if pred_pos is not None:
        pred_pos = np.asarray(pred_pos, int)
        ax.scatter(t[pred_pos], lead[pred_pos] + offset, **{**PRED_STYLE, **hide})


def plot_window(series, labels, probs=None, pred_positions=None, threshold=None, title: str = "",
                fs: float | None = None) -> Figure:
    """One window: both leads with true (stars) and predicted (circles) beats and, given
    ``probs``, the probability curve with its threshold (default the window's mean, as the
    metrics use). Predicted positions default to peak picking on ``probs``; ``fs`` (the workspace's
    rate) labels the time axis."""
    series = np.asarray(series)
    if series.ndim == 1:
        series = series[:, None]
    labels = np.asarray(labels)
    true_pos = np.flatnonzero(labels > 0.5)
    if pred_positions is None and probs is not None:
        pred_positions = predict_positions(probs, threshold)
    n_leads = series.shape[1]
    n_rows = n_leads + (probs is not None)
    fig, axes = plt.subplots(n_rows, 1, figsize=(9, 2.2 * n_rows), sharex=True, squeeze=False)
    axes = axes[:, 0]
    for lead in range(n_leads):
        ax = axes[lead]
        ax.plot(series[:, lead], color=LEAD_COLORS[lead % 2], lw=1, alpha=0.8)
        _beats_on_lead(ax, series[:, lead], true_pos, pred_positions, legend=lead == 0)
        ax.set_ylabel(f"lead {lead + 1} (mV)")
    if probs is not None:
        ax = axes[-1]
        probs = np.asarray(probs, float)
        cut = float(window_thresholds(probs[None, :], threshold)[0])
        ax.plot(probs, color="black", lw=1, label="probability")
        ax.axhline(cut, ls="--", color="gray", label="threshold" + (" (window mean)" if threshold is None else ""))
        if pred_positions is not None and len(pred_positions):
            ax.scatter(pred_positions, probs[np.asarray(pred_positions, int)], **{**PRED_STYLE, "label": "_nolegend_"})
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel("p(beat)")
        ax.legend(loc="upper right", fontsize=8)
    axes[0].legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("sample" + (f" ({fs:g} Hz)" if fs else ""))
    if title:
        axes[0].set_title(title)
    fig.tight_layout()
    return fig


def examples_figure(models, windows, window_ids=None, fs: float | None = None) -> Figure:
    """The same windows for every model: one row per model, one column per window, lead 2
    drawn below lead 1. ``models``: list of (name, series (N,L,C), labels (N,L), predicted
    positions per window (list of arrays)); ``windows``: row indices into those arrays."""
    windows = list(windows)
    fig, axes = plt.subplots(len(models), len(windows), figsize=(3.6 * len(windows), 2.6 * len(models)),
                             squeeze=False, sharex=True)
    for r, (name, series, labels, predicted) in enumerate(models):
        for c, w in enumerate(windows):
            ax = axes[r, c]
            x = np.asarray(series[w])
            spacing = 1.2 * (np.ptp(x[:, 0]) + np.ptp(x[:, -1])) / 2 or 1.0
            true_pos = np.flatnonzero(np.asarray(labels[w]) > 0.5)
            for lead in range(x.shape[1]):
                offset = -lead * spacing
                ax.plot(x[:, lead] + offset, color=LEAD_COLORS[lead % 2], lw=0.8, alpha=0.8)
                _beats_on_lead(ax, x[:, lead], true_pos, predicted[w], offset, legend=(r, c, lead) == (0, 0, 0))
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"window {window_ids[w] if window_ids is not None else w}", fontsize=9)
            if c == 0:
                ax.set_ylabel(name, fontsize=9)
    axes[0, 0].legend(loc="lower left", fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("sample" + (f" ({fs:g} Hz)" if fs else ""), fontsize=8)
    fig.tight_layout()
    return fig


def histograms_figure(names, precisions, recalls, bins: int = 20) -> Figure:
    """Per-window precision and recall of each model (recall without beat-less windows)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    edges = np.linspace(0, 1, bins + 1)
    recalls = [np.asarray(r)[~np.isnan(np.asarray(r))] for r in recalls]
    # side-by-side bars: overlaid step lines hide each other where models agree
    axes[0].hist([np.asarray(p) for p in precisions], bins=edges, label=list(names))
    axes[1].hist(recalls, bins=edges, label=list(names))
    for ax, what in zip(axes, ("precision", "recall")):
        ax.set_xlabel(f"per-window {what} (squeezed)")
        ax.set_ylabel("windows")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def pr_curves_figure(names, labels_list, probs_list, aps=None) -> Figure:
    """Point-wise precision-recall curves (every sample of every window)."""
    from sklearn.metrics import precision_recall_curve

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for k, (name, labels, probs) in enumerate(zip(names, labels_list, probs_list)):
        y = np.asarray(labels).ravel() > 0.5
        if not y.any():
            continue
        precision, recall, _ = precision_recall_curve(y, np.asarray(probs, np.float64).ravel())
        label = name if aps is None else f"{name} (AP {aps[k]:.3f})"
        ax.step(recall, precision, where="post", label=label)
    ax.set_xlabel("recall (samples)")
    ax.set_ylabel("precision (samples)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def records_comparison_figure(tables: dict, errors: dict) -> Figure:
    """Whole-record comparison of several models: per-record F1 at 150 ms (one column of dots per
    model, records in the same order) and the histogram of timing errors of matched beats (ms)."""
    fig, (ax_f1, ax_err) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [1.4, 1]})
    names = list(tables)
    order = sorted(set.intersection(*(set(t["record"].astype(str)) for t in tables.values())))
    for k, name in enumerate(names):
        f1 = tables[name].set_index(tables[name]["record"].astype(str)).loc[order, "F1"].to_numpy(float)
        ax_f1.scatter(np.full(len(f1), k) + np.linspace(-0.25, 0.25, len(f1)), f1, s=14, label=name)
        worst = int(np.nanargmin(f1)) if len(f1) else None
        if worst is not None:
            ax_f1.annotate(order[worst], (k, f1[worst]), fontsize=7, xytext=(4, -2), textcoords="offset points")
    ax_f1.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax_f1.set_ylabel("F1 at 150 ms, per record")
    ax_f1.set_title(f"{len(order)} records")
    ax_f1.grid(alpha=0.3)
    bins = np.arange(-150, 151, 7.8125)          # one sample at 128 Hz per bin
    for name in names:
        ax_err.hist(errors[name], bins=bins, histtype="step", linewidth=1.5, label=name)
    ax_err.set_xlabel("detection - reference (ms), matched beats")
    ax_err.set_ylabel("beats")
    ax_err.set_yscale("log")
    ax_err.legend(fontsize=8)
    fig.tight_layout()
    return fig


# the colour of each AAMI class of a detected beat (a classifying detector's output)
CLASS_COLORS = {"N": "#B45309", "S": "#2563EB", "V": "#9333EA", "F": "#059669", "Q": "#6B7280"}


def record_segment_figure(signal, fs: float, start_s: float, seconds: float, ref=None, det=None,
                          matched_ref=None, matched_det=None, prob=None, prob_fs: float | None = None,
                          lead_names=None, title: str = "", ref_symbols=None, det_symbols=None) -> Figure:
    """A stretch of a whole record: its leads with reference beats (matched: stars; missed: red
    crosses, labelled with their annotation symbol when ``ref_symbols`` is given), detected beats
    (matched: circles; false: red triangles; with ``det_symbols``, each abnormal one labelled with
    its class letter in its CLASS_COLORS colour) and, when given, the model's combined probability
    below. Sample numbers are the record's own at ``fs``."""
    signal = np.asarray(signal)
    lo = max(0, int(start_s * fs))
    hi = min(len(signal), lo + int(seconds * fs))
    t = np.arange(lo, hi) / fs
    rows = 2 if prob is not None else 1
    fig, axes = plt.subplots(rows, 1, figsize=(13, 4.2 if rows == 2 else 3.2), sharex=True,
                             gridspec_kw={"height_ratios": [3, 1]} if rows == 2 else None, squeeze=False)
    ax = axes[0, 0]
    spread = np.nanmax(np.ptp(signal[lo:hi], axis=0)) if hi > lo else 1.0
    offsets = -np.arange(signal.shape[1]) * (spread or 1.0)
    for c in range(signal.shape[1]):
        name = lead_names[c] if lead_names else f"lead {c + 1}"
        ax.plot(t, signal[lo:hi, c] + offsets[c], color=LEAD_COLORS[c % 2], linewidth=0.8, label=name)

    def mark(samples, keep, style, label):
        samples = np.asarray(samples if samples is not None else [], int)
        if keep is not None:
            samples = samples[keep]
        samples = samples[(samples >= lo) & (samples < hi)]
        ax.scatter(samples / fs, signal[samples, 0], label=f"{label} ({len(samples)})", **style)

    if ref is not None:
        ref = np.asarray(ref, int)
        hit = np.zeros(len(ref), bool) if matched_ref is None else np.isin(np.arange(len(ref)), matched_ref)
        mark(ref, hit, dict(marker="*", s=90, color="#1E3A8A", zorder=3), "reference, matched")
        mark(ref, ~hit, dict(marker="x", s=80, color="red", zorder=5), "reference, missed")
        if ref_symbols is not None:
            for sample, symbol in zip(ref[~hit], np.asarray(ref_symbols, dtype=object)[~hit]):
                if lo <= sample < hi:
                    ax.annotate(str(symbol), (sample / fs, signal[sample, 0]), xytext=(0, 8),
                                textcoords="offset points", ha="center", color="red", fontsize=9)
    if det is not None:
        det = np.asarray(det, int)
        hit = np.zeros(len(det), bool) if matched_det is None else np.isin(np.arange(len(det)), matched_det)
        mark(det, hit, dict(marker="o", s=45, facecolors="none", edgecolors="#B45309", linewidths=1.6, zorder=4),
             "detected, matched")
        mark(det, ~hit, dict(marker="v", s=60, color="red", zorder=5), "detected, false")
        if det_symbols is not None:
            det_symbols = np.asarray(det_symbols, dtype=object)
            inside = (det >= lo) & (det < hi)
            for name, color in CLASS_COLORS.items():
                mine = inside & (det_symbols == name)
                if name == "N" or not mine.any():
                    continue
                ax.scatter([], [], marker=f"${name}$", color=color, label=f"detected {name} ({int(mine.sum())})")
                for sample in det[mine]:
                    ax.annotate(name, (sample / fs, signal[sample, 0]), xytext=(0, -16), textcoords="offset points",
                                ha="center", color=color, fontsize=10, fontweight="bold")
    ax.set_ylabel("mV (leads offset)")
    ax.legend(fontsize=7, loc="upper right", ncol=3)
    ax.set_title(title)
    if prob is not None:
        pf = prob_fs or fs
        a, b = int(lo / fs * pf), int(hi / fs * pf)
        axes[1, 0].plot(np.arange(a, b) / pf, np.asarray(prob[a:b], float), color="black", linewidth=0.8)
        axes[1, 0].set_ylabel("beat prob.")
        axes[1, 0].set_ylim(-0.05, 1.05)
    axes[-1, 0].set_xlabel("time in the record (s)")
    fig.tight_layout()
    return fig
