"""Uploads for the live page: what is accepted, and the message for every bad upload."""

from __future__ import annotations

import numpy as np
import pytest

from tsad.app.upload import UploadError, check_size, read_csv_upload, read_wfdb_upload, upload_windows

pytest.importorskip("wfdb")


def wfdb_files(tmp_path, fs=360, seconds=5, n_sig=2, annotations=True) -> dict[str, bytes]:
    import wfdb

    t = np.arange(fs * seconds)
    beats = np.arange(fs // 4, len(t), int(0.8 * fs))
    signal = np.zeros((len(t), n_sig))
    for b in beats:
        signal += np.exp(-0.5 * ((t - b) / (0.01 * fs)) ** 2)[:, None]
    wfdb.wrsamp("rec", fs=fs, units=["mV"] * n_sig, sig_name=[f"s{i}" for i in range(n_sig)], p_signal=signal,
                fmt=["16"] * n_sig, write_dir=str(tmp_path))
    names = ["rec.hea", "rec.dat"]
    if annotations:
        wfdb.wrann("rec", "atr", beats, symbol=["N"] * len(beats), write_dir=str(tmp_path))
        names.append("rec.atr")
    return {n: (tmp_path / n).read_bytes() for n in names}


def test_wfdb_record_is_resampled_and_windowed_with_its_beats(tmp_path):
    record = read_wfdb_upload(wfdb_files(tmp_path))
    assert record.fs == 128 and record.source_fs == 360 and record.signal.shape == (640, 2)
    windows, cut = upload_windows(record)
    assert windows.series.shape == (2, 256, 2) and not cut
    beats = np.arange(90, 1800, 288) * 128 / 360
    assert windows.labels.sum() == np.sum(beats < 512)
    peaks = np.flatnonzero(windows.labels.ravel())
    assert np.abs(peaks - np.round(beats[beats < 512])).max() <= 1


def test_wfdb_record_without_annotations(tmp_path):
    files = wfdb_files(tmp_path, annotations=False)
    record = read_wfdb_upload(files)
    assert len(record.ann_samples) == 0 and upload_windows(record)[0].labels.sum() == 0


@pytest.mark.parametrize("drop, rename, message", [
    ("rec.hea", None, "no .hea header"),
    ("rec.dat", None, "no .dat signal file"),
    (None, ("rec.atr", "other.atr"), "other.atr: annotations of another record"),
    (None, ("rec.atr", "rec.txt"), "rec.txt: not a WFDB file"),
    (None, ("rec.dat", "my rec.dat"), "my rec.dat: use a plain file name"),
    (None, ("rec.dat", "rec2.dat"), "signal file rec.dat not found"),
])
def test_wfdb_upload_errors_name_the_problem(tmp_path, drop, rename, message):
    files = wfdb_files(tmp_path)
    files.pop(drop, None)
    if rename:
        files[rename[1]] = files.pop(rename[0])
    with pytest.raises(UploadError, match=message):
        read_wfdb_upload(files)


def test_wfdb_upload_errors_from_the_reader(tmp_path):
    files = wfdb_files(tmp_path)
    with pytest.raises(UploadError, match="several headers"):
        read_wfdb_upload({**files, "b.hea": files["rec.hea"]})
    with pytest.raises(UploadError, match="rec: unreadable header"):
        read_wfdb_upload({**files, "rec.hea": b"this is not a header\n"})
    with pytest.raises(UploadError, match="truncated"):
        read_wfdb_upload({**files, "rec.dat": files["rec.dat"][:100]})
    one = read_wfdb_upload(wfdb_files(tmp_path / "..", n_sig=1))      # one lead: the other input is zeros
    assert one.signal.shape[1] == 2 and not one.signal[:, 1].any() and one.signal[:, 0].any()
    with pytest.raises(UploadError, match="shorter than one 2 s window"):
        upload_windows(read_wfdb_upload(wfdb_files(tmp_path, seconds=1)))


def test_size_limit_and_empty_files():
    with pytest.raises(UploadError, match="1.0 MB uploaded, the limit is 0.5 MB"):
        check_size({"a.csv": b"0" * 2**20}, max_mb=0.5)
    with pytest.raises(UploadError, match="a.dat: the file is empty"):
        check_size({"a.hea": b"x", "a.dat": b""})


def test_csv_with_a_header_is_resampled():
    rows = "\n".join(f"{np.sin(i / 10):.4f};{np.cos(i / 10):.4f}" for i in range(1000))
    record = read_csv_upload("ecg.csv", f"I;II\n{rows}\n".encode(), 500)
    assert record.name == "ecg" and record.source_fs == 500 and record.signal.shape == (256, 2)
    middle = np.arange(40, 200)  # the FFT resampler rings at the ends
    assert np.allclose(record.signal[middle, 0], np.sin(middle * 500 / 128 / 10), atol=0.02)


def test_a_one_column_csv_is_one_lead():
    record = read_csv_upload("one.csv", ("\n".join(f"{np.sin(i / 10):.4f}" for i in range(1000)) + "\n").encode(), 500)
    assert record.signal.shape == (256, 2) and record.signal[:, 0].any() and not record.signal[:, 1].any()


@pytest.mark.parametrize("text, fs, message", [
    ("1,2,3\n4,5,6\n", 128, "3 column\\(s\\); expected one or two"),
    ("1 2\n3 4 5\n", 128, "not a readable CSV"),
    ("1,2\n3,x\n" + "1,2\n" * 300, 128, "line 2 is not 2 number"),
    ("1,2\n" * 300, 0, "sampling rate 0 Hz"),
    ("1,2\n" * 300, float("nan"), "sampling rate nan Hz"),
    ("1,2\n" * 100, 128, "100 rows at 128 Hz is shorter than one 2 s window"),
    ("1,inf\n" * 300, 128, "infinite"),
    ("", 128, "the file is empty"),
])
def test_csv_errors_name_the_problem(text, fs, message):
    with pytest.raises(UploadError, match=message):
        read_csv_upload("x.csv", text.encode(), fs)


def test_csv_that_is_not_text():
    with pytest.raises(UploadError, match="x.csv: not a text file"):
        read_csv_upload("x.csv", b"\xff\xfe\x00\x81" * 200, 128)


def test_long_recordings_are_cut(tmp_path):
    record = read_wfdb_upload(wfdb_files(tmp_path, seconds=10))
    windows, cut = upload_windows(record, max_seconds=4)
    assert cut and len(windows.series) == 2 and windows.labels.sum() == np.sum(record.ann_samples < 512)
