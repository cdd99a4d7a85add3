"""The data stage on real PhysioNet records from ../shared (skipped when the variables are unset)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb
from PIL import Image

from tsad.core.paths import Workspace, plot_name
from tsad.data import ecg
from tsad.data.generate import GenerateConfig, generate
from tsad.data.split import split

pytestmark = pytest.mark.shared


def test_two_svdb_records(svdb_dir, tmp_path):
    ws = Workspace(tmp_path / "ws")
    summary = generate(ws, GenerateConfig(input_dir=str(svdb_dir), records=["800", "801"], workers=2))
    assert summary.n_windows == 1800
    labels = pd.read_csv(ws.labels_csv, header=None).to_numpy()[:, 1:]
    for k, name in enumerate(("800", "801")):
        ann = wfdb.rdann(str(Path(svdb_dir) / name), "atr")
        beats = [s for s, sym in zip(ann.sample, ann.symbol) if sym in ecg.BEAT_SYMBOLS and s < 900 * 256]
        rec_labels = labels[k * 900:(k + 1) * 900]
        assert rec_labels.sum() == len(beats)  # counted independently of make_windows
        assert all(rec_labels[s // 256, s % 256] == 1 for s in beats)
    for i in (0, 950, 1799):
        img = np.asarray(Image.open(ws.plots_ecg / plot_name(i)).convert("RGB")).astype(int)
        assert img.shape == (512, 512, 3)
        red = (img[..., 0] > 200) & (img[..., 2] < 120)
        blue = (img[..., 2] > 200) & (img[..., 0] < 120)
        assert red[:256].sum() > 300 and blue[256:].sum() > 300
    counts = split(ws)
    assert counts == {"train": 1620, "val": 90, "test": 90}


def test_mitdb_record_is_resampled(mitdb_dir):
    rec = ecg.read_record(Path(mitdb_dir) / "100")
    assert rec.source_fs == 360 and rec.fs == 128
    win = ecg.make_windows(rec)
    assert win.series.shape == (650000 * 128 // 360 // 256, 256, 2)
    ann = wfdb.rdann(str(Path(mitdb_dir) / "100"), "atr")
    n_beats = sum(sym in ecg.BEAT_SYMBOLS for sym in ann.symbol)
    # a few beats fall in the dropped tail; resampling may also merge two into one sample
    assert n_beats - 5 <= win.labels.sum() <= n_beats
    first = ann.sample[[sym in ecg.BEAT_SYMBOLS for sym in ann.symbol]][0]
    assert abs(np.nonzero(win.labels.ravel())[0][0] - first * 128 / 360) <= 1
