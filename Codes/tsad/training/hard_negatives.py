"""Hard-negative mining: the beats a detector invents on its own training records, fed back.

A detector trained on some records is run over those records whole (their windows joined again in
record order); every detection that matches no annotated beat within 150 ms is a *false beat*, the
place where that detector takes a P wave, a T wave, a pause or noise for a QRS complex. A new model is
then trained on the usual windows with a share of them replaced by windows cut around those false
beats (``mix_in``): the model sees, more often than chance would show it, what a beat is not.

The mining detector must have been trained on the same training records only (in cross-validation:
the same fold's model of an earlier run, ``student_cv.py --mine-from cv/<name>/fold{fold}``), so no
test patient's signal reaches training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tsad.core.common import log
from tsad.core.geometry import tolerance_samples
from tsad.data.splits import SplitData
from tsad.detection.records import detect_signal
from tsad.scoring.beats import match_beats


@dataclass
class MinedWindows:
    """Windows cut around the false beats of a detector, with where they came from."""

    windows: SplitData
    records: list[str]            # each window's record
    positions: np.ndarray         # each false beat's sample in its record (at the windows' rate)
    offsets: np.ndarray           # where in its window each false beat lies (samples)
    false_beats: int              # false beats found (one window each)
    reference_beats: int          # annotated beats of the mined records


def record_stretches(split: SplitData, table: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """The windows of ``split`` grouped into stretches of contiguous signal: ``(record, rows)``, the
    rows (in ``split``'s order) sorted by start, each window starting where the one before ended.

    ``table``: id, record and start at the windows' rate (``tsad.data.splits.window_table``)."""
    where = table.set_index("id").loc[split.ids, ["record", "start"]]
    length = split.series.shape[1]
    frame = pd.DataFrame({"row": np.arange(len(split)), "record": where["record"].astype(str).to_numpy(),
                          "start": where["start"].to_numpy(np.int64)})
    stretches = []
    for record, part in frame.sort_values(["record", "start"]).groupby("record", sort=True):
        starts, rows = part["start"].to_numpy(), part["row"].to_numpy()
        breaks = np.flatnonzero(np.diff(starts) != length) + 1
        stretches.extend((str(record), piece) for piece in np.split(rows, breaks))
    return stretches


def mine_false_beats(detector, split: SplitData, table: pd.DataFrame, fs: float, seed: int = 0) -> MinedWindows:
    """Windows of ``split``'s length cut around every false beat ``detector`` finds on ``split``'s
    records, each false beat placed at random in the middle half of its window.

    Parameters
    ----------
    detector : Predictor
        A learned detector with its tuned threshold (``tsad.models.loader.load``).
    split : SplitData
        The training windows it was trained on (all of them, not only those drawn for an epoch).
    table : pandas.DataFrame
        Where each window lies in its record: id, record and start at the windows' rate
        (``tsad.data.splits.window_table``).
    fs : float
        The windows' rate in Hz.
    seed : int
        Seed of the placement.

    Returns
    -------
    MinedWindows
    """
    rng = np.random.default_rng(seed)
    length = split.series.shape[1]
    tolerance = tolerance_samples(fs)
    series, labels, records, positions, offsets = [], [], [], [], []
    n_ref = 0
    first_sample = table.set_index("id")["start"]
    for record, rows in record_stretches(split, table):
        signal = split.series[rows].reshape(-1, split.series.shape[2])
        truth = split.labels[rows].reshape(-1)
        if len(signal) < length:
            continue
        found = detect_signal(detector, signal, fs, name=record).samples
        reference = np.flatnonzero(truth > 0.5)
        match = match_beats(reference, found, tolerance)
        false = np.delete(found, match.det_index)
        n_ref += len(reference)
        origin = int(first_sample[split.ids[rows[0]]])
        for beat in false:
            start = int(np.clip(beat - rng.integers(length // 4, 3 * length // 4 + 1), 0, len(signal) - length))
            series.append(signal[start:start + length])
            labels.append(truth[start:start + length])
            records.append(record)
            positions.append(origin + beat)
            offsets.append(beat - start)
    n = len(series)
    windows = SplitData("hard_negatives", -1 - np.arange(n, dtype=np.int64),   # negative ids: cut here, not stored
                        np.stack(series) if n else np.zeros((0, *split.series.shape[1:]), np.float32),
                        np.stack(labels) if n else np.zeros((0, length), np.float32), split.image_dir)
    return MinedWindows(windows, records, np.asarray(positions, np.int64), np.asarray(offsets, np.int64), n, n_ref)


def mix_in(train: SplitData, mined: SplitData, share: float, seed: int) -> SplitData:
    """``train`` with a ``share`` of its windows (chosen at random) replaced by windows drawn from
    ``mined`` with replacement; the count of windows is unchanged. ``train`` itself when nothing was
    mined."""
    if not 0.0 <= share < 1.0:
        raise ValueError(f"--hard-negatives must lie in [0, 1), got {share}")
    n = int(round(share * len(train)))
    if not len(mined) or not n:
        return train
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(train), len(train) - n, replace=False))
    drawn = rng.integers(0, len(mined), n)
    log.info("hard negatives: %d of %d training windows drawn from %d mined windows", n, len(train), len(mined))
    return SplitData(train.name, np.concatenate([train.ids[keep], mined.ids[drawn]]),
                     np.concatenate([train.series[keep], mined.series[drawn]]),
                     np.concatenate([train.labels[keep], mined.labels[drawn]]), train.image_dir)
