"""The context teacher: a signal teacher that sees more than the student: ``context`` windows on each
side of the window from the same record (6 s around a 2-s window by default), read from the
workspace's ``windows.csv`` and ``ECG_segments.npy``; at a record's edge the missing side repeats the
edge sample and a mask channel (1 = signal, 0 = padding) says so. A wider, deeper TCN
(``tsad.models.student``'s) reads the whole stretch and gives logits for the centre window.

Whole-record detection gives it the record itself around each window (``stretch``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from tsad.core import paths
from tsad.core.fileio import load_npy
from tsad.models.student import build_student, student_config
from tsad.models.teachers.base import Arrays, TeacherConfig, TeacherKind, sigmoid_batches, workspace_of

NOTE = "context teacher trained here: sees the neighbouring seconds of the record"


class WorkspaceSignals:
    """Every window of a workspace with its record neighbours (``windows.csv`` + ``ECG_segments.npy``)."""

    def __init__(self, root):
        ws = paths.Workspace(Path(root))
        for path in (ws.windows_csv, ws.segments_npy):
            if not path.is_file():
                raise FileNotFoundError(f"{path}: not found; the context teacher reads the workspace's windows "
                                        "(run Codes/Dataset/data_generate.py)")
        table = pd.read_csv(ws.windows_csv, dtype={"record": str})
        missing = {"id", "record", "start"} - set(table.columns)
        if missing:
            raise ValueError(f"{ws.windows_csv}: columns {sorted(missing)} missing")
        self.series = load_npy(ws.segments_npy, expect_ndim=3)
        if len(self.series) != len(table):
            raise ValueError(f"{ws.segments_npy}: {len(self.series)} windows, {ws.windows_csv} lists {len(table)}")
        self.ids = table["id"].to_numpy(np.int64)
        self.records = table["record"].to_numpy()
        starts = table["start"].to_numpy(np.int64)
        # windows of a record are contiguous rows in time order (tsad.data.ecg.make_windows: non-overlapping)
        same = self.records[1:] == self.records[:-1]
        if (same & (starts[1:] <= starts[:-1])).any():
            raise ValueError(f"{ws.windows_csv}: the windows of a record are not in time order")
        self.row_of = {int(i): k for k, i in enumerate(self.ids)}
        self.root = ws.root

    def rows(self, ids) -> np.ndarray:
        try:
            return np.array([self.row_of[int(i)] for i in ids], np.int64)
        except KeyError as err:
            raise ValueError(f"{self.root / 'windows.csv'}: no window with id {err.args[0]}") from None

    def context(self, ids, context: int) -> np.ndarray:
        """(N, (2 * context + 1) * L, leads + 1) float32: the windows with ``context`` neighbours on each
        side from the same record, the last channel 1 on signal and 0 on padding (the edge sample
        repeated where the record has no neighbour)."""
        rows = self.rows(ids)
        n_win, length, leads = self.series.shape
        span = 2 * context + 1
        out = np.zeros((len(rows), span * length, leads + 1), np.float32)
        for k, row in enumerate(rows):
            record = self.records[row]
            for j, offset in enumerate(range(-context, context + 1)):
                other = row + offset
                part = slice(j * length, (j + 1) * length)
                if 0 <= other < n_win and self.records[other] == record:
                    out[k, part, :leads] = self.series[other]
                    out[k, part, leads] = 1.0
            real = np.flatnonzero(out[k, :, leads])
            first, last = real[0], real[-1]
            out[k, :first, :leads] = out[k, first, :leads]
            out[k, last + 1:, :leads] = out[k, last, :leads]
        return out


class ContextTeacher(nn.Module):
    """(B, (2c+1) L, leads + 1) stretch with its mask channel -> (B, L) logits of the centre window:
    ``tsad.models.student``'s TCN, wider and deeper (receptive field over 1,000 samples at the defaults)."""

    def __init__(self, config: TeacherConfig):
        super().__init__()

        self.config = c = config
        self.net = build_student(student_config("tcn", input_size=c.leads + 1, width=c.width, depth=c.depth,
                                                kernel_size=c.kernel_size, dropout=c.dropout))

    def forward(self, stretch: torch.Tensor) -> torch.Tensor:
        start = self.config.context * self.config.samples
        return self.net(stretch)[:, start:start + self.config.samples]


def stretch(signal: np.ndarray, starts: np.ndarray, length: int, context: int) -> np.ndarray:
    """(W, (2 context + 1) length, leads + 1) float32: the windows of a whole ``signal`` (n, leads)
    that begin at ``starts`` with ``context`` windows of the record on each side, as
    ``WorkspaceSignals.context`` gives them in training: past the record's ends the edge sample is
    repeated and the mask channel (last) is 0, else 1."""
    signal = np.asarray(signal, np.float32)
    pad = context * length
    padded = np.concatenate([np.repeat(signal[:1], pad, 0), signal, np.repeat(signal[-1:], pad, 0)])
    mask = np.r_[np.zeros(pad), np.ones(len(signal)), np.zeros(pad)].astype(np.float32)
    idx = np.asarray(starts)[:, None] + np.arange((2 * context + 1) * length)[None, :]
    return np.concatenate([padded[idx], mask[idx][..., None]], axis=2)


def _add_args(parser) -> None:
    parser.add_argument("--context", type=int, default=TeacherConfig.context,
                        help="neighbouring windows read on each side (1: 6 s around a 2-s window)")
    parser.add_argument("--width", type=int, default=TeacherConfig.width, help="TCN channels")
    parser.add_argument("--depth", type=int, default=TeacherConfig.depth, help="TCN residual blocks")


def _inputs(run_dir, config: TeacherConfig, image_paths, ids) -> Arrays:
    ids = [paths.window_id_of_plot(p) for p in image_paths] if ids is None else ids
    signals = WorkspaceSignals(workspace_of(run_dir))
    if signals.series.shape[1:] != (config.samples, config.leads):
        raise ValueError(f"{run_dir}: a context teacher for windows of ({config.samples}, {config.leads}), "
                         f"but {signals.root} has windows of shape {signals.series.shape[1:]}")
    return Arrays(signals.context(ids, config.context))


def _predictor_parts(model: nn.Module, config: TeacherConfig, run_dir, batch_size: int) -> dict:
    def stretch_probs(signal: np.ndarray, starts: np.ndarray) -> np.ndarray:
        return sigmoid_batches(model, stretch(signal, starts, config.samples, config.context), batch_size)

    return {"stretch_probs": stretch_probs, "reach": config.context * config.samples}


CONTEXT = TeacherKind(
    name="context", note=NOTE, build=ContextTeacher,
    dataset=lambda config, data, ws_root: Arrays(WorkspaceSignals(ws_root).context(data.ids, config.context),
                                                 data.labels),
    inputs=_inputs, add_args=_add_args, settings=("context", "width", "depth"), reads_plots=False,
    train_defaults={"epochs": 6, "batch_size": 64, "lr": 2e-3, "weight_decay": 0.01, "warmup_steps": 100,
                    "patience": 2},
    predictor_parts=_predictor_parts)
