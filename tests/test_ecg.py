"""WFDB reading, resampling, windows and labels, and every bad-record case."""

import numpy as np
import pytest
import wfdb

from tsad.data import ecg
from tsad.data.demo_db import DemoConfig, write_demo_database


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    write_demo_database(folder, DemoConfig(n_records=2, minutes=1.0, seed=3))
    return folder


def test_label_modes():
    symbols = ["+", "N", "S", "V", "~", "L", "|", "F"]
    assert ecg.label_mask(symbols, "all").tolist() == [True] * 8
    assert ecg.label_mask(symbols, "beats").tolist() == [False, True, True, True, False, True, False, True]
    assert ecg.label_mask(symbols, "abnormal").tolist() == [False, False, True, True, False, False, False, True]
    with pytest.raises(ValueError, match="unknown label mode"):
        ecg.label_mask(symbols, "some")


def test_windows_and_labels_match_annotations(demo_dir):
    rec = ecg.read_record(demo_dir / "demo00")
    win = ecg.make_windows(rec)
    assert win.series.shape == (rec.n_samples // 256, 256, 2)
    ann = wfdb.rdann(str(demo_dir / "demo00"), "atr")
    beats = [s for s, sym in zip(ann.sample, ann.symbol) if sym in ecg.BEAT_SYMBOLS and s < len(win.series) * 256]
    assert win.labels.sum() == len(beats)
    for s in beats:
        assert win.labels[s // 256, s % 256] == 1
    assert "+" in ann.symbol  # the rhythm annotation exists but is not labelled
    all_mode = ecg.make_windows(rec, labels="all")
    assert all_mode.labels.sum() == win.labels.sum() + 1
    np.testing.assert_allclose(win.series[1], rec.signal[256:512], atol=0)
    assert win.symbols[0].split()[0].endswith(":+")


def test_resampling_moves_annotations(tmp_path):
    fs = 360
    t = np.arange(int(12 * fs)) / fs
    beat_times = np.arange(0.5, 11.5, 0.8)
    signal = np.zeros((len(t), 2))
    for bt in beat_times:
        signal[:, 0] += np.exp(-0.5 * ((t - bt) / 0.01) ** 2)
        signal[:, 1] -= 0.5 * np.exp(-0.5 * ((t - bt) / 0.01) ** 2)
    samples = np.round(beat_times * fs).astype(int)
    wfdb.wrsamp("r360", fs=fs, units=["mV", "mV"], sig_name=["a", "b"], p_signal=signal, fmt=["212", "212"],
                write_dir=str(tmp_path))
    wfdb.wrann("r360", "atr", samples, symbol=["N"] * len(samples), write_dir=str(tmp_path))
    rec = ecg.read_record(tmp_path / "r360", fs=128)
    assert rec.source_fs == 360 and rec.fs == 128
    assert abs(rec.n_samples - 12 * 128) <= 1
    expected = np.round(beat_times * 128)
    assert np.abs(rec.ann_samples - expected).max() <= 1
    # the resampled peaks sit where the moved annotations say
    assert np.abs(np.argmax(rec.signal[int(expected[3]) - 10:int(expected[3]) + 10, 0]) - 10) <= 1
    win = ecg.make_windows(rec)
    assert win.series.shape[1:] == (256, 2) and win.labels.sum() == len(beat_times)


def _copy_record(src_dir, dst_dir, name="demo00"):
    for ext in ("hea", "dat", "atr"):
        (dst_dir / f"{name}.{ext}").write_bytes((src_dir / f"{name}.{ext}").read_bytes())
    return dst_dir / name


@pytest.mark.parametrize("case, message", [
    ("no_hea", "header file demo00.hea not found"),
    ("no_dat", "signal file demo00.dat not found"),
    ("no_atr", "annotation file demo00.atr not found"),
    ("bad_hea", "unreadable header"),
    ("truncated_dat", "truncated"),
    ("bad_atr", "unreadable atr annotations"),
])
def test_bad_records_are_named(demo_dir, tmp_path, case, message):
    path = _copy_record(demo_dir, tmp_path)
    if case == "no_hea":
        (tmp_path / "demo00.hea").unlink()
    elif case == "no_dat":
        (tmp_path / "demo00.dat").unlink()
    elif case == "no_atr":
        (tmp_path / "demo00.atr").unlink()
    elif case == "bad_hea":
        (tmp_path / "demo00.hea").write_text("this is not a header\n")
    elif case == "truncated_dat":
        data = (tmp_path / "demo00.dat").read_bytes()
        (tmp_path / "demo00.dat").write_bytes(data[: len(data) // 2])
    elif case == "bad_atr":
        (tmp_path / "demo00.atr").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ecg.RecordError, match=message) as err:
        ecg.read_record(path)
    assert "demo00" in str(err.value)


def test_too_few_leads_nan_and_short(tmp_path):
    one = np.sin(np.arange(1000) / 10)[:, None]
    wfdb.wrsamp("one", fs=128, units=["mV"], sig_name=["a"], p_signal=one, fmt=["212"], write_dir=str(tmp_path))
    wfdb.wrann("one", "atr", np.array([10]), symbol=["N"], write_dir=str(tmp_path))
    with pytest.raises(ecg.RecordError, match=r"one: has 1 lead"):
        ecg.read_record(tmp_path / "one")

    digital = np.zeros((1000, 2), dtype=np.int64)
    digital[100:110, 1] = -2048  # format 212's invalid-sample code: read back as NaN
    wfdb.wrsamp("gap", fs=128, units=["mV", "mV"], sig_name=["a", "b"], d_signal=digital, fmt=["212", "212"],
                adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(tmp_path))
    wfdb.wrann("gap", "atr", np.array([10]), symbol=["N"], write_dir=str(tmp_path))
    with pytest.raises(ecg.RecordError, match=r"gap: 10 NaN samples"):
        ecg.read_record(tmp_path / "gap")

    short = np.zeros((200, 2))
    wfdb.wrsamp("short", fs=128, units=["mV", "mV"], sig_name=["a", "b"], p_signal=short, fmt=["212", "212"],
                write_dir=str(tmp_path))
    wfdb.wrann("short", "atr", np.array([10]), symbol=["N"], write_dir=str(tmp_path))
    rec = ecg.read_record(tmp_path / "short")
    with pytest.raises(ecg.RecordError, match="short: 200 samples, shorter than one"):
        ecg.make_windows(rec)


def test_resample_series_length():
    x = np.random.default_rng(0).normal(size=(3600, 2))
    y = ecg.resample_series(x, 360, 128)
    assert y.shape == (1280, 2) and y.dtype == np.float32


def test_aami_classes_are_one_table_of_beat_symbols():
    from tsad.data import ecg

    members = [s for symbols in ecg.AAMI_CLASSES.values() for s in symbols]
    assert len(members) == len(set(members)) and set(members) <= ecg.BEAT_SYMBOLS   # one class a beat
    assert [ecg.beat_class(s) for s in "NLRejAaJSVEF/fQ"] == list("NNNNNSSSSVVFQQQ")
    assert [ecg.beat_class(s) for s in "BnrE?"] == list("NSVVQ")                      # as the issue maps them
    assert ecg.beat_class("+") == "-" and ecg.beat_class("~") == "-"                 # not beats: in no class
    assert ecg.NORMAL_SYMBOLS == ecg.AAMI_CLASSES["N"]
    assert ecg.REPORTED_CLASSES["paced"] == {"/"} <= ecg.AAMI_CLASSES["Q"]
