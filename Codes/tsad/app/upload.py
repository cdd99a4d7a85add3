"""Uploaded recordings for the live page: a WFDB record (.hea + .dat, .atr optional) or a CSV of
one or two leads with its sampling rate, checked and turned into 128 Hz windows. A lead the models
read that the upload lacks is zeros (``lay_out_leads``), as detection does for a one-lead record.

Every problem is an ``UploadError`` whose message names the file and says what to upload instead;
the GUI shows it as is. No streamlit here, so the rules are unit-tested directly.
"""

from __future__ import annotations

import csv
import io
import math
import re
import tempfile
from pathlib import Path
from typing import Mapping

import numpy as np

from tsad.data.ecg import Record, RecordError, make_windows, read_header, read_record, resample_series

MAX_UPLOAD_MB = 50
MAX_SECONDS = 60 * 60          # longer recordings are cut: the page stays responsive
MIN_FS, MAX_FS = 10.0, 10_000.0
TARGET_FS = 128
WINDOW_SECONDS = 2
WFDB_SUFFIXES = (".hea", ".dat", ".atr")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class UploadError(ValueError):
    """An upload that cannot be used; the message is meant for the user."""


def check_size(files: Mapping[str, bytes], max_mb: float = MAX_UPLOAD_MB) -> None:
    """Raises UploadError when the uploaded files exceed ``max_mb`` together."""
    total = sum(len(b) for b in files.values())
    if total > max_mb * 1024 * 1024:
        raise UploadError(f"{', '.join(files)}: {total / 2**20:.1f} MB uploaded, the limit is {max_mb:g} MB; "
                          "upload a shorter excerpt")
    for name, data in files.items():
        if not data:
            raise UploadError(f"{name}: the file is empty")


def _record_name(files: Mapping[str, bytes]) -> str:
    for name in files:
        if Path(name).suffix.lower() not in WFDB_SUFFIXES:
            raise UploadError(f"{name}: not a WFDB file; upload the record's .hea and .dat (and .atr)")
        if not _SAFE_NAME.match(name):
            raise UploadError(f"{name}: use a plain file name (letters, digits, '_', '-', '.')")
    headers = [n for n in files if n.lower().endswith(".hea")]
    if not headers:
        raise UploadError(f"no .hea header among {', '.join(files)}: upload the record's .hea with its .dat")
    if len(headers) > 1:
        raise UploadError(f"several headers ({', '.join(headers)}): upload one record at a time")
    stem = Path(headers[0]).stem
    for name in files:
        if name.lower().endswith(".atr") and Path(name).stem != stem:
            raise UploadError(f"{name}: annotations of another record (the header is {headers[0]})")
    if not any(n.lower().endswith(".dat") for n in files):
        raise UploadError(f"{headers[0]}: no .dat signal file uploaded with it")
    return stem


def lay_out_leads(signal: np.ndarray, channels) -> np.ndarray:
    """(n, len(channels)): column ``channels[i]`` of ``signal`` where it has one, else zeros."""
    out = np.zeros((len(signal), len(channels)), np.float32)
    for i, c in enumerate(channels):
        if c < signal.shape[1]:
            out[:, i] = signal[:, c]
    return out


def read_wfdb_upload(files: Mapping[str, bytes], max_mb: float = MAX_UPLOAD_MB, fs: float = TARGET_FS,
                     channels=(0, 1)):
    """The uploaded record, its ``channels`` resampled to ``fs`` (a lead it lacks is zeros);
    annotations when a .atr came along."""
    from dataclasses import replace

    check_size(files, max_mb)
    stem = _record_name(files)
    with_atr = any(n.lower() == f"{stem}.atr".lower() for n in files)
    with tempfile.TemporaryDirectory(prefix="tsad_upload_") as tmp:
        for name, data in files.items():
            suffix = Path(name).suffix.lower()
            (Path(tmp) / f"{Path(name).stem}{suffix}").write_bytes(data)
        try:
            n_sig = read_header(Path(tmp), stem).n_sig
            present = [c for c in channels if c < n_sig]
            if not present:
                raise RecordError(f"record {Path(tmp) / stem}: has {n_sig} lead(s), the models read lead(s) "
                                  f"{list(channels)}")
            record = read_record(Path(tmp) / stem, channels=tuple(present), fs=fs, require_annotations=with_atr)
            full = np.zeros((record.n_samples, max(present) + 1), np.float32)
            full[:, present] = record.signal
            return replace(record, signal=lay_out_leads(full, channels))
        except RecordError as err:
            raise UploadError(str(err).replace(f"record {Path(tmp) / stem}", f"record {stem}")) from err


def _numeric_rows(text: str, name: str) -> np.ndarray:
    import pandas as pd

    first = next((line for line in text.splitlines() if line.strip()), "")
    # csv's sniffer guesses wrong on one-column files; the first line decides instead
    sep = next((d for d in (",", ";", "\t") if d in first), r"\s+")
    try:
        table = pd.read_csv(io.StringIO(text), header=None, sep=sep, engine="python", dtype=str,
                            skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as err:
        raise UploadError(f"{name}: not a readable CSV ({err})") from err
    if table.shape[1] not in (1, 2):
        raise UploadError(f"{name}: {table.shape[1]} column(s); expected one or two, one per lead "
                          "(drop a time column if there is one)")
    values = table.apply(lambda c: pd.to_numeric(c.str.strip(), errors="coerce"))
    if values.iloc[0].isna().any() and not values.iloc[1:].isna().any().any():
        values = values.iloc[1:]  # a header row
    bad = values.isna().any(axis=1).to_numpy().nonzero()[0]
    if len(bad):
        row = int(values.index[bad[0]]) + 1
        raise UploadError(f"{name}: line {row} is not {table.shape[1]} number(s) ({len(bad)} such line(s))")
    data = values.to_numpy(np.float64)
    if not np.isfinite(data).all():
        raise UploadError(f"{name}: infinite values")
    return data


def read_csv_upload(name: str, data: bytes, source_fs: float, max_mb: float = MAX_UPLOAD_MB,
                    fs: float = TARGET_FS, channels=(0, 1)):
    """A CSV of one or two columns (one lead per column, an optional header row) sampled at
    ``source_fs``; the columns ``channels`` are kept (the workspace's leads; a missing one is zeros),
    resampled to ``fs``."""

    check_size({name: data}, max_mb)
    if not (isinstance(source_fs, (int, float)) and math.isfinite(source_fs) and MIN_FS <= source_fs <= MAX_FS):
        raise UploadError(f"{name}: sampling rate {source_fs!r} Hz; give the rate of the file, "
                          f"between {MIN_FS:g} and {MAX_FS:g} Hz")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UploadError(f"{name}: not a text file ({err.reason} at byte {err.start})") from err
    signal = _numeric_rows(text, name)
    if min(channels) >= signal.shape[1]:
        raise UploadError(f"{name}: the models read lead(s) {list(channels)}, the CSV has {signal.shape[1]} columns")
    signal = lay_out_leads(signal, channels)
    if len(signal) < WINDOW_SECONDS * source_fs:
        raise UploadError(f"{name}: {len(signal)} rows at {source_fs:g} Hz is shorter than one "
                          f"{WINDOW_SECONDS} s window")
    return Record(name=Path(name).stem, signal=resample_series(signal, source_fs, fs), fs=float(fs),
                  source_fs=float(source_fs), ann_samples=np.zeros(0, np.int64), ann_symbols=[])


def upload_windows(record, max_seconds: float = MAX_SECONDS, seconds: float = WINDOW_SECONDS):
    """Windows of ``seconds`` of the record (at most ``max_seconds`` of it) and whether it was cut."""

    limit = int(max_seconds * record.fs)
    cut = record.n_samples > limit
    if cut:
        keep = record.ann_samples < limit
        record = type(record)(record.name, record.signal[:limit], record.fs, record.source_fs,
                              record.ann_samples[keep], [s for s, k in zip(record.ann_symbols, keep) if k],
                              record.sig_names)
    try:
        return make_windows(record, seconds=seconds), cut
    except RecordError as err:
        raise UploadError(str(err)) from err
