"""Reading a split written by data_split.py, with every count checked against the others."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tsad.core.fileio import load_npy
from tsad.core.geometry import load_workspace_geometry
from tsad.core.paths import Workspace, plot_name
from tsad.data.ecg import class_codes


@dataclass
class SplitData:
    """One split's ids, labels, series and image folder."""
    name: str
    ids: np.ndarray          # (N,) int64 window ids
    series: np.ndarray       # (N, L, C) float32 raw signal in mV
    labels: np.ndarray       # (N, L) float32 in {0, 1}
    image_dir: Path

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def image_paths(self) -> list[Path]:
        """The plot image of every window, in order."""
        return [self.image_dir / plot_name(i) for i in self.ids]

    def sample(self, n: int | None, seed: int, weights: np.ndarray | None = None) -> "SplitData":
        """``n`` windows drawn at random with ``seed``, kept in their order (all when n is None or
        at least the split's size). ``weights`` (one per window) draws them in proportion, without
        replacement (rare beats' windows more often)."""
        if n is None or n >= len(self):
            return self
        p = None if weights is None else np.asarray(weights, float) / np.sum(weights)
        rows = np.sort(np.random.default_rng(seed).choice(len(self), n, replace=False, p=p))
        return SplitData(self.name, self.ids[rows], self.series[rows], self.labels[rows], self.image_dir)

    def subset(self, n: int | None) -> "SplitData":
        """The first ``n`` windows (all when ``n`` is None)."""
        if n is None or n >= len(self):
            return self
        return SplitData(self.name, self.ids[:n], self.series[:n], self.labels[:n], self.image_dir)


def starts_at_rate(windows: pd.DataFrame, fs: float) -> pd.DataFrame:
    """The data stage's windows.csv (id, record, start[, fs]) with each window's ``start`` in samples at
    the windows' rate ``fs``: the file gives it in its record's own samples (column ``fs``; a 360 Hz
    record's 2-s windows start 720 samples apart, not 256), so that windows of one record are joined
    only where they are contiguous at the windows' rate."""
    table = windows[["id", "record", "start"]].copy()
    if "fs" in windows:
        table["start"] = np.round(windows["start"].to_numpy(float) * fs / windows["fs"].to_numpy(float)).astype(np.int64)
    return table


def window_table(ws: Workspace) -> pd.DataFrame:
    """id, record and start (at the windows' rate, ``starts_at_rate``) of every window of ``ws``."""
    windows = pd.read_csv(ws.windows_csv, usecols=lambda c: c in {"id", "record", "start", "fs"},
                          dtype={"record": str})
    return starts_at_rate(windows, load_workspace_geometry(ws).fs)


def with_preceding(split: SplitData, pool: SplitData, span: int, windows: pd.DataFrame) -> SplitData:
    """``split``'s windows each joined after the ``span - 1`` windows before it in its record, taken
    from ``pool`` (the windows ``split`` was drawn from): series (N, span x L, C) and labels
    (N, span x L) of continuous signal, so that a model whose receptive field is longer than a window
    (a causal one reads its whole field in the past) trains on real signal there. ``windows`` is the
    windows' table with starts at the windows' rate (``window_table``). Near a record's start, where
    fewer windows precede, the earliest one repeats."""
    if span < 1:
        raise ValueError(f"--train-span must be at least 1, got {span}")
    if span == 1:
        return split
    length = split.series.shape[1]
    record = dict(zip(windows["id"].astype(int), windows["record"].astype(str)))
    start = dict(zip(windows["id"].astype(int), windows["start"].astype(int)))
    row_of = {int(i): k for k, i in enumerate(pool.ids)}
    rows = np.empty((len(split), span), np.int64)
    for n, window in enumerate(split.ids.tolist()):
        chain, here = [row_of[window]], window
        for _ in range(span - 1):
            before = here - 1
            if before in row_of and record[before] == record[window] and start[before] == start[here] - length:
                here = before
            chain.append(row_of[here])
        rows[n] = chain[::-1]
    series = pool.series[rows].reshape(len(split), span * length, -1)
    labels = pool.labels[rows].reshape(len(split), span * length)
    return SplitData(split.name, split.ids, series, labels, split.image_dir)


def read_split_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The seed's layout: header "0".."L", column "0" the window id, the rest the labels."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: split file not found (run Codes/Dataset/data_split.py)")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a readable split csv ({err})") from err
    if frame.shape[1] < 2 or frame.columns[0] != "0":
        raise ValueError(f"{path}: expected a header '0'..'L' with the window id in column '0'")
    if frame.isna().any().any():
        raise ValueError(f"{path}: empty cells in the split csv")
    return frame.iloc[:, 0].to_numpy(np.int64), frame.iloc[:, 1:].to_numpy(np.float32)


def class_targets(ws: Workspace, ids, length: int) -> np.ndarray:
    """(N, length) uint8 per-sample AAMI class targets (``ecg.CLASS_CODES``: 0 no beat, 1..5 N S V F
    Q) of the windows ``ids``, from the beat symbols the data stage keeps in ``windows.csv``: the
    targets of a model that says which beats are abnormal, beside the beat labels of every split.

    Raises
    ------
    ValueError
        windows.csv lacks a window of ``ids`` or its annotations.
    """
    table = pd.read_csv(ws.windows_csv, usecols=["id", "annotations"], dtype={"annotations": str})
    table = table.set_index("id")
    missing = np.setdiff1d(np.asarray(ids), table.index.to_numpy())
    if len(missing):
        raise ValueError(f"{ws.windows_csv}: no row for window(s) {missing[:5].tolist()} (rerun data_generate.py)")
    notes = table.loc[np.asarray(ids), "annotations"].fillna("")
    return np.stack([class_codes(a, length) for a in notes]) if len(notes) else np.zeros((0, length), np.uint8)


def load_split(ws: Workspace, split: str, check_images: bool = True) -> SplitData:
    """A split from Data_split/, with its counts and (optionally) images checked."""
    ids, labels = read_split_csv(ws.split_csv(split))
    series = load_npy(ws.split_npy(split), expect_ndim=3).astype(np.float32, copy=False)
    if len(series) != len(ids):
        raise ValueError(f"{ws.split_npy(split)}: {len(series)} windows, but {ws.split_csv(split)} "
                         f"lists {len(ids)}")
    if series.shape[1] != labels.shape[1]:
        raise ValueError(f"{ws.split_npy(split)}: windows of {series.shape[1]} samples, labels of "
                         f"{labels.shape[1]} in {ws.split_csv(split)}")
    data = SplitData(split, ids, series, labels, ws.split_images(split))
    if check_images:
        missing = [p for p in data.image_paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"{missing[0]}: image missing ({len(missing)} of {len(ids)} missing "
                                    f"in {data.image_dir}); rerun data_split.py")
    return data
