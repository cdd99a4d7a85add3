"""The split stage (``Codes/Dataset/data_split.py``): the data stage's windows, checked
(``load_generated``), shared out into Data_split/{train,val,test} by window, by record, by named
records or by record-wise fold (``tsad.data.folds``). ``tsad.data.splits`` reads what it writes."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from tsad.core.fileio import load_npy, save_json
from tsad.core.locks import holds
from tsad.core.manifest import write_manifest
from tsad.core.paths import DATA_INCOMPLETE, SPLIT_MANIFEST, SPLITS, Workspace, plot_name
from tsad.data.folds import assign_record_parts, assign_splits
from tsad.data.generate import fresh_tmp_dir, swap_in


def load_generated(ws: Workspace):
    """labels_ECG.csv, ECG_segments.npy and windows.csv, with every count checked."""

    if (ws.root / DATA_INCOMPLETE).exists():
        raise ValueError(f"{ws.root / DATA_INCOMPLETE}: the last data stage stopped while replacing its "
                         "outputs; rerun Codes/Dataset/data_generate.py")
    for path in (ws.labels_csv, ws.segments_npy, ws.windows_csv):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: not found; run Codes/Dataset/data_generate.py first")
    try:
        table = pd.read_csv(ws.labels_csv, header=None).to_numpy()
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"{ws.labels_csv}: unreadable ({err})") from err
    ids, labels = table[:, 0].astype(np.int64), table[:, 1:].astype(np.uint8)
    series = load_npy(ws.segments_npy, expect_ndim=3)
    windows = pd.read_csv(ws.windows_csv)
    if len(series) != len(ids):
        raise ValueError(f"{ws.segments_npy}: {len(series)} windows, but {ws.labels_csv} has {len(ids)} rows")
    if len(windows) != len(ids) or not np.array_equal(windows["id"].to_numpy(), ids):
        raise ValueError(f"{ws.windows_csv}: its {len(windows)} ids do not match the {len(ids)} "
                         f"of {ws.labels_csv}")
    if series.shape[1] != labels.shape[1]:
        raise ValueError(f"{ws.segments_npy}: windows of {series.shape[1]} samples, labels of {labels.shape[1]}")
    present = {p.name for p in ws.plots_ecg.glob("ecg_plot_*.png")} if ws.plots_ecg.is_dir() else set()
    missing = [i for i in ids if plot_name(i) not in present]
    if missing:
        raise FileNotFoundError(f"{ws.plots_ecg / plot_name(missing[0])}: image missing "
                                f"({len(missing)} of {len(ids)} missing); rerun data_generate.py")
    return ids, labels, series, windows


def _place_image(src: Path, dst: Path, copy: bool) -> None:
    if copy:
        shutil.copyfile(src, dst)
        return
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed
        os.symlink(os.path.relpath(src, dst.parent), dst)


@holds("data", "split")
def split(ws: Workspace, train: float = 0.9, val: float = 0.05, seed: int = 42, by: str = "window",
          copy: bool = False, test_records=None, val_records=None, folds: int | None = None,
          fold: int | None = None) -> dict[str, int]:
    """Writes Data_split/{train,val,test}: shuffled windows or whole records by fraction (``by``),
    or whole records named (``test_records``, ``val_records``) or by record-wise fold."""
    started = time.time()
    ids, labels, series, windows = load_generated(ws)
    window_records = windows["record"].astype(str).to_numpy()
    by_name = bool(test_records or val_records or folds is not None)
    if by_name:
        by = "record"
        chosen = assign_record_parts(window_records, test_records=test_records, val_records=val_records,
                                     folds=folds, fold=fold, val=val, seed=seed)
        parts = {name: np.sort(ids[np.isin(window_records, chosen[name])]) for name in SPLITS}
    else:
        parts = assign_splits(ids, window_records, (train, val), seed, by)
    row_of = {int(i): k for k, i in enumerate(ids)}
    tmp = fresh_tmp_dir(ws.split_root)
    for name, part in parts.items():
        rows = np.array([row_of[int(i)] for i in part], dtype=np.int64)
        folder = tmp / name / "images"
        folder.mkdir(parents=True)
        frame = pd.DataFrame(np.column_stack([part, labels[rows]]).astype(np.int64),
                             columns=[str(c) for c in range(labels.shape[1] + 1)])
        frame.to_csv(tmp / name / f"{name}.csv", index=False)
        np.save(tmp / name / f"{name}.npy", series[rows].astype(np.float32))
        for i in tqdm(part, desc=f"{name} images", unit="img", leave=False, disable=None):
            _place_image(ws.plots_ecg / plot_name(i), folder / plot_name(i), copy)
    counts = {name: len(part) for name, part in parts.items()}
    records = {name: sorted(set(windows["record"].astype(str).to_numpy()[[row_of[int(i)] for i in part]]))
               for name, part in parts.items()}
    save_json(tmp / "split.json", {"by": by, "seed": seed, "fractions": None if by_name else [train, val, 1 - train - val],
                                   "folds": folds, "fold": fold, "counts": counts, "records": records})
    swap_in(tmp, ws.split_root)
    write_manifest(ws.split_root / SPLIT_MANIFEST, "data_split",
                   {"train": train, "val": val, "seed": seed, "by": by, "copy": copy,
                    "test_records": test_records, "val_records": val_records, "folds": folds, "fold": fold},
                   inputs=[ws.labels_csv, ws.segments_npy, ws.windows_csv],
                   outputs=[ws.split_csv(s) for s in SPLITS] + [ws.split_npy(s) for s in SPLITS],
                   started=started, counts=counts)
    return counts
