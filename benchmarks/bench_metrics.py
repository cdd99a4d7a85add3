"""Time the vectorised metrics against a per-window loop written the seed's way, and check they agree.

    python benchmarks/bench_metrics.py [--windows 3510] [--seed 42]

Both score the same synthetic model output (3,510 windows x 256 samples, realistic beat trains and
probability bumps, some windows without beats). The loop follows the seed's evaluation: a Python
loop over samples to find runs, interval merging in a while loop, squeezing into new 0/1 arrays
and scikit-learn precision_score/recall_score per window, with the documented rules (chained
merging, overlapping intervals merged, defined results for windows without beats). One run each.
"""

from __future__ import annotations

import time

try:
    import tsad  # noqa: F401
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

import numpy as np  # noqa: E402

from tsad.core.common import make_parser, seed_everything  # noqa: E402
from tsad.scoring.beats import MERGE_GAP, pick_peaks
from tsad.scoring.metrics import DEFAULT_TOLERANCE, msp_msr, score_model, window_precision_recall

L = 256


def synthetic_outputs(n: int, rng: np.random.Generator):
    """Beat trains at 45-110 bpm with +-4 samples of jitter; 3 % of windows without beats; a model's bumps near
    most beats (a few samples off, some missed), spurious bumps, and a smooth noisy floor."""
    t = np.arange(L)
    labels = np.zeros((n, L), np.float32)
    floor = rng.uniform(0, 0.12, (n, L + 4))
    probs = (floor[:, :-4] + floor[:, 1:-3] + floor[:, 2:-2] + floor[:, 3:-1] + floor[:, 4:]) / 5
    for k in range(n):
        if rng.random() >= 0.03:
            rr = rng.integers(70, 170)
            beats = np.arange(rng.integers(0, rr), L, rr)
            beats = np.clip(beats + rng.integers(-4, 5, size=len(beats)), 0, L - 1)
            labels[k, beats] = 1
            for b in beats[rng.random(len(beats)) > 0.08]:
                probs[k] += rng.uniform(0.4, 1.0) * np.exp(-0.5 * ((t - b - rng.normal(0, 1.5)) / rng.uniform(1, 4)) ** 2)
        for _ in range(rng.poisson(0.4)):
            probs[k] += rng.uniform(0.2, 0.7) * np.exp(-0.5 * ((t - rng.integers(0, L)) / rng.uniform(1, 3)) ** 2)
    return labels, np.clip(probs, 0, 1).astype(np.float32)


# ------------------------------------------------------------------ the loop reference

def loop_pick(prob, cut):
    above = []
    for i in range(len(prob)):
        if prob[i] > cut:
            above.append(i)
    if not above:
        return []
    runs, start = [], above[0]
    for prev, cur in zip(above, above[1:]):
        if cur - prev > 1:
            runs.append([start, prev])
            start = cur
    runs.append([start, above[-1]])
    merged = [runs[0]]
    for s, e in runs[1:]:
        if s - merged[-1][1] <= MERGE_GAP:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    return [s + int(np.argmax(prob[s:e + 1])) for s, e in merged if e > s]


def loop_squeeze(gt, pred_mask, w):
    """Each true-beat interval (overlaps merged) becomes one sample; other samples stay."""
    n = len(gt)
    intervals = []
    for i in np.where(gt == 1)[0]:
        s, e = max(0, i - w), min(n - 1, i + w)
        if intervals and s <= intervals[-1][1]:
            intervals[-1][1] = max(intervals[-1][1], e)
        else:
            intervals.append([s, e])
    sq_gt, sq_pred, pos = [], [], 0
    for s, e in intervals:
        for j in range(pos, s):
            sq_gt.append(0)
            sq_pred.append(pred_mask[j])
        sq_gt.append(1)
        sq_pred.append(1 if sum(pred_mask[s:e + 1]) > 0 else 0)
        pos = e + 1
    for j in range(pos, n):
        sq_gt.append(0)
        sq_pred.append(pred_mask[j])
    return np.array(sq_gt), np.array(sq_pred)


def loop_scores(labels, probs, w):
    from sklearn.metrics import precision_score, recall_score

    precision, recall, positions = [], [], []
    for gt, prob in zip(labels, probs):
        picked = loop_pick(prob, np.mean(prob, dtype=np.float64))
        positions.append(picked)
        mask = np.zeros(L, np.int8)
        mask[picked] = 1
        if not gt.any():
            precision.append(0.0 if picked else 1.0)
            recall.append(np.nan)
            continue
        a, b = loop_squeeze(gt, mask, w)
        precision.append(precision_score(a, b, zero_division=0))
        recall.append(recall_score(a, b, zero_division=0))
    return np.array(precision), np.array(recall), positions


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument("--windows", type=int, default=3510, help="number of windows of 256 samples")
    args = parser.parse_args(argv)
    seed_everything(args.seed)
    labels, probs = synthetic_outputs(args.windows, np.random.default_rng(args.seed))
    w = DEFAULT_TOLERANCE
    score_model(labels[:8], probs[:8])                            # imports and first-call costs

    def vectorised():
        peaks = pick_peaks(probs)
        precision, recall = window_precision_recall(labels, peaks, w)
        return peaks, precision, recall

    (peaks, v_precision, v_recall), vec_wall, vec_cpu = timed(vectorised)
    v_msp, v_msr = msp_msr(v_precision, v_recall)
    full, full_wall, full_cpu = timed(lambda: score_model(labels, probs, tolerance=w))
    (l_precision, l_recall, l_positions), loop_wall, loop_cpu = timed(lambda: loop_scores(labels, probs, w))
    l_msp, l_msr = msp_msr(l_precision, l_recall)

    same_positions = sum(np.array_equal(a, b) for a, b in zip(peaks.split(), l_positions))
    print(f"windows: {args.windows} x {L}, windows without beats: {int((~labels.any(1)).sum())}, "
          f"true beats: {int(labels.sum())}, predicted beats: {len(peaks.pos)}")
    print("seconds, one run each (wall / CPU of this process):")
    print(f"  vectorised peaks + MSP/MSR:                   {vec_wall:.4f} / {vec_cpu:.4f}")
    print(f"  vectorised score_model (+ Se/PPV/F1, AUC-PR): {full_wall:.4f} / {full_cpu:.4f}")
    print(f"  loop, the seed's way (MSP/MSR only):          {loop_wall:.2f} / {loop_cpu:.2f} "
          f"({loop_wall / vec_wall:.0f}x the vectorised wall time)")
    print(f"MSP vectorised {v_msp:.6f}  loop {l_msp:.6f}; MSR vectorised {v_msr:.6f}  loop {l_msr:.6f}")
    print(f"same predicted positions in {same_positions} / {args.windows} windows; max per-window difference: "
          f"precision {np.max(np.abs(v_precision - l_precision)):.2e}, "
          f"recall {np.nanmax(np.abs(v_recall - l_recall)):.2e}")
    print(f"full table row: Se {full.Se:.4f} PPV {full.PPV:.4f} F1 {full.F1:.4f} AUC-PR {full.AUC_PR:.4f}")


if __name__ == "__main__":
    main()
