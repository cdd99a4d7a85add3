"""The data stage: records -> windows, labels and images (``generate``); windows -> splits (``split``)."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import ecg
from .common import log
from .demo_db import DemoConfig, write_demo_database
from .fileio import atomic_path, exchange_paths, make_tmp_dir, save_json, save_text
from .geometry import WindowGeometry
from .locks import holds, pid_alive
from .manifest import write_manifest
from .paths import SPLITS, Workspace, plot_name
from .render import render_to_png

DATA_MANIFEST = "data_manifest.json"
DATA_INCOMPLETE = ".data_incomplete"  # present while (or after a kill during) the data stage's replacement
SPLIT_MANIFEST = "manifest.json"


@dataclass
class GenerateConfig:
    """What data_generate.py reads and how it cuts, labels and renders the windows."""
    input_dir: str | None = None
    records: list[str] | None = None
    download: str | None = None
    demo: bool = False
    seconds: float = 2.0
    fs: float = 128.0
    channels: tuple[int, ...] = (0, 1)
    labels: str = "beats"
    workers: int = 0               # 0: every core
    on_error: str = "fail"
    demo_config: DemoConfig = field(default_factory=DemoConfig)


@dataclass
class GenerateSummary:
    """What the data stage produced: records used and skipped, windows, labelled samples."""
    input_dir: str
    records: list[str]
    skipped: dict[str, str]
    n_windows: int
    n_beats: int
    seconds: float


# ---- inputs ------------------------------------------------------------------------------------

def list_records(folder) -> list[str]:
    """Names of the WFDB records (``.hea`` files) in a folder, sorted."""
    folder = Path(folder)
    return sorted(p.stem for p in folder.glob("*.hea"))


def download_database(ws: Workspace, database: str) -> Path:
    """Fetches a PhysioNet database into raw/<database>; a failure says how to work offline."""
    import wfdb

    target = ws.raw(database)
    try:
        wfdb.dl_database(database, dl_dir=str(target))
    except Exception as err:  # requests raises ConnectionError, wfdb raises its own; report either
        raise RuntimeError(
            f"could not download {database!r} from PhysioNet ({type(err).__name__}: {err}). Offline? "
            f"Copy its .hea/.dat/.atr files into {target} or pass --input-dir, or use --demo.") from err
    return target


def resolve_input(ws: Workspace, cfg: GenerateConfig) -> Path:
    """Where the records come from: --download, --demo, --input-dir, else raw/ in the workspace,
    else the demo database (written on first use)."""
    if cfg.download:
        return download_database(ws, cfg.download)
    if cfg.demo:
        write_demo_database(ws.raw("demo"), cfg.demo_config)
        return ws.raw("demo")
    if cfg.input_dir:
        folder = Path(cfg.input_dir).expanduser().resolve()
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: input folder not found")
        return folder
    found = sorted(d for d in ws.raw_root.glob("*") if d.is_dir() and list_records(d)) \
        if ws.raw_root.is_dir() else []
    if len(found) > 1:
        raise ValueError(f"several databases in {ws.raw_root} ({', '.join(d.name for d in found)}): "
                         "choose one with --input-dir")
    if found:
        return found[0]
    log.info("no input given and no records in %s: using the synthetic demo database", ws.raw_root)
    write_demo_database(ws.raw("demo"), cfg.demo_config)
    return ws.raw("demo")


# ---- windows -----------------------------------------------------------------------------------

def read_windows(folder: Path, names: list[str], cfg: GenerateConfig):
    """Windows, labels and provenance rows of every record; bad records stop or are skipped."""
    series, labels, rows, skipped = [], [], [], {}
    for name in tqdm(names, desc="records", unit="rec"):
        try:
            record = ecg.read_record(folder / name, channels=cfg.channels, fs=cfg.fs)
            win = ecg.make_windows(record, seconds=cfg.seconds, labels=cfg.labels)
        except ecg.RecordError as err:
            if cfg.on_error == "fail":
                raise
            log.warning("skipping: %s", err)
            skipped[name] = str(err)
            continue
        series.append(win.series)
        labels.append(win.labels)
        scale = record.source_fs / record.fs
        for k, start in enumerate(win.starts):
            rows.append({"record": name, "start": int(round(start * scale)), "fs": record.source_fs,
                         "n_beats": int(win.labels[k].sum()), "annotations": win.symbols[k]})
    if not series:
        raise ValueError(f"{folder}: no usable record among {len(names)}")
    return np.concatenate(series), np.concatenate(labels), rows, skipped


# ---- images ------------------------------------------------------------------------------------

def _render_chunk(args) -> int:
    folder, ids, series = args
    for i, window in zip(ids, series):
        render_to_png(window, Path(folder) / plot_name(i))
    return len(ids)


def render_all(series: np.ndarray, ids: np.ndarray, folder: Path, workers: int, chunk: int = 256) -> None:
    """Renders every window's plot image into ``folder``, in worker processes."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(str(folder), ids[s:s + chunk], series[s:s + chunk]) for s in range(0, len(ids), chunk)]
    bar = tqdm(total=len(ids), desc="images", unit="win")
    if workers <= 1:
        for job in jobs:
            bar.update(_render_chunk(job))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for n in pool.map(_render_chunk, jobs):
                bar.update(n)
    bar.close()


def swap_in(tmp: Path, final: Path) -> None:
    """Puts the complete folder ``tmp`` (from :func:`fresh_tmp_dir`) in place of ``final``.

    The caller holds the lock of ``final``'s artefact group. A reader of ``final`` sees the old
    complete folder or the new one: on Linux the two are exchanged in one atomic step; elsewhere
    the old one is first renamed aside under a unique name, so a reader in between finds no
    folder (and says so), never a mixed one. The old folder, now under a name this process
    made, is then removed. A kill at any point leaves ``final`` whole (or, off Linux, absent)
    and at most a leftover that the next :func:`fresh_tmp_dir` removes.
    """
    if not final.exists():
        os.replace(tmp, final)
        return
    if exchange_paths(tmp, final):
        shutil.rmtree(tmp)  # it holds the old folder now
        return
    aside = final.with_name(f"{_tmp_prefix(final)}{os.getpid()}-old-{uuid.uuid4().hex[:8]}")
    os.replace(final, aside)
    os.replace(tmp, final)
    shutil.rmtree(aside)


def _tmp_prefix(final: Path) -> str:
    return f".{final.name}.tmp-"


def fresh_tmp_dir(final: Path) -> Path:
    """A new, uniquely named empty folder beside ``final``, to be filled and then swapped in.

    Its name carries this process's pid. Leftovers of processes no longer alive (a killed run)
    are removed first; a folder of a live process is never touched.
    """
    prefix = _tmp_prefix(final)
    leftovers = final.parent.glob(prefix + "*") if final.parent.is_dir() else []
    for leftover in leftovers:
        pid = leftover.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            log.info("removing %s, left by a killed run", leftover)
            shutil.rmtree(leftover)
    return make_tmp_dir(final, prefix=f"{prefix}{os.getpid()}-")


# ---- the stage ---------------------------------------------------------------------------------

@holds("data")
def generate(ws: Workspace, cfg: GenerateConfig) -> GenerateSummary:
    """The data stage: records -> windows, labels, images and the data manifest with the geometry."""
    started = time.time()
    if cfg.labels not in ecg.LABEL_MODES:
        raise ValueError(f"--labels must be one of {ecg.LABEL_MODES}, not {cfg.labels!r}")
    folder = resolve_input(ws, cfg)
    available = list_records(folder)
    if cfg.records:
        missing = [r for r in cfg.records if r not in available]
        if missing:
            raise FileNotFoundError(f"{folder}: no header for record(s) {', '.join(missing)}")
        names = list(cfg.records)
    else:
        names = available
    if not names:
        raise FileNotFoundError(f"{folder}: no WFDB records (.hea files) found")
    log.info("reading %d record(s) from %s", len(names), folder)
    series, labels, rows, skipped = read_windows(folder, names, cfg)
    ids = np.arange(len(series), dtype=np.int64)

    ws.root.mkdir(parents=True, exist_ok=True)
    tmp = fresh_tmp_dir(ws.plots_ecg)
    render_all(series, ids, tmp, cfg.workers or os.cpu_count() or 1)
    # Four outputs replaced one after another: a kill between them must not pass for a whole set.
    save_text(ws.root / DATA_INCOMPLETE, f"pid {os.getpid()} started replacing the data stage's outputs\n")
    swap_in(tmp, ws.plots_ecg)

    frame = pd.DataFrame(np.column_stack([ids, labels]).astype(np.int64))
    with atomic_path(ws.labels_csv) as p:
        frame.to_csv(p, header=False, index=False)
    with atomic_path(ws.segments_npy) as p, open(p, "wb") as fh:
        np.save(fh, series.astype(np.float32))
    windows = pd.DataFrame(rows)
    windows.insert(0, "id", ids)
    with atomic_path(ws.windows_csv) as p:
        windows.to_csv(p, index=False)

    used = [n for n in names if n not in skipped]
    summary = GenerateSummary(str(folder), used, skipped, len(ids), int(labels.sum()),
                              round(time.time() - started, 2))
    config = asdict(cfg) | {"input_dir": str(folder)}
    geometry = WindowGeometry(cfg.fs, series.shape[1], cfg.channels, cfg.labels)
    write_manifest(ws.root / DATA_MANIFEST, "data_generate", config,
                   inputs=[folder / f"{n}.hea" for n in used],
                   outputs=[ws.labels_csv, ws.segments_npy, ws.windows_csv, ws.plots_ecg], started=started,
                   summary=asdict(summary), geometry=geometry.to_dict())
    (ws.root / DATA_INCOMPLETE).unlink()
    return summary


# ---- the split ---------------------------------------------------------------------------------

def load_generated(ws: Workspace):
    """labels_ECG.csv, ECG_segments.npy and windows.csv, with every count checked."""
    from .fileio import load_npy

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


def assign_splits(ids, records, fractions, seed: int, by: str) -> dict[str, np.ndarray]:
    """Window-wise (shuffled) or record-wise (no record in two splits) assignment."""
    train, val = fractions
    if not (0 < train < 1 and 0 <= val < 1 and train + val < 1):
        raise ValueError(f"fractions train={train} val={val} leave no test split")
    rng = np.random.default_rng(seed)
    n = len(ids)
    if by == "window":
        order = rng.permutation(n)
        n_train, n_val = int(round(n * train)), int(round(n * val))
        parts = np.split(order, [n_train, n_train + n_val])
    elif by == "record":
        names = pd.unique(records)
        if len(names) < 3:
            raise ValueError(f"--by record needs at least 3 records, found {len(names)}")
        names = names[rng.permutation(len(names))]
        counts = pd.Series(records).value_counts()[names].to_numpy()
        cum = np.cumsum(counts) / n
        split_of = np.where(cum <= train + 1e-9, 0, np.where(cum <= train + val + 1e-9, 1, 2))
        split_of[0] = 0
        for k in (1, 2):  # every split gets a record, taken from the end of the one before
            if not (split_of == k).any():
                split_of[np.nonzero(split_of == k - 1)[0][-1]] = k
        if not (split_of == 0).any():
            raise ValueError("too few records for a record-wise split")
        member = dict(zip(names, split_of))
        which = np.array([member[r] for r in records])
        parts = [np.nonzero(which == k)[0] for k in range(3)]
    else:
        raise ValueError(f"--by must be 'window' or 'record', not {by!r}")
    return {name: np.sort(ids[idx]) for name, idx in zip(SPLITS, parts)}


def record_folds(names, folds: int, seed: int) -> list[list[str]]:
    """Record-wise k-fold: the records, shuffled with ``seed``, cut into ``folds`` near-equal parts.
    Deterministic for a seed; every record is in exactly one part."""
    names = sorted(set(map(str, names)))
    if not 2 <= folds <= len(names):
        raise ValueError(f"--folds must lie in 2..{len(names)} (the number of records), got {folds}")
    order = np.random.default_rng(seed).permutation(len(names))
    return [sorted(names[i] for i in part) for part in np.array_split(order, folds)]


def assign_record_parts(names, *, test_records=None, val_records=None, folds: int | None = None,
                        fold: int | None = None, val: float = 0.05, seed: int = 42) -> dict[str, list[str]]:
    """Which records form train, val and test, chosen by name or by fold.

    ``test_records``/``val_records`` name them (the rest train); ``folds``/``fold`` take fold
    ``fold`` of ``record_folds`` as test. Without named val records, ``round(val * n)`` records (at
    least one) of the non-test records, drawn with ``seed``, validate. Raises ValueError naming an
    unknown record, a record named twice or an empty part."""
    names = sorted(set(map(str, names)))
    test_records = [str(r) for r in (test_records or [])]
    val_records = [str(r) for r in (val_records or [])]
    named = test_records + val_records
    unknown = [r for r in named if r not in names]
    if unknown:
        raise ValueError(f"record(s) {', '.join(unknown)} not in the workspace (it has {', '.join(names)})")
    twice = sorted({r for r in named if named.count(r) > 1})
    if twice:
        raise ValueError(f"record(s) {', '.join(twice)} named twice in --test-records/--val-records")
    if folds is not None:
        if test_records:
            raise ValueError("give either --test-records or --folds/--fold, not both")
        if fold is None or not 0 <= fold < folds:
            raise ValueError(f"--fold must lie in 0..{folds - 1} with --folds {folds}, got {fold}")
        test_records = record_folds(names, folds, seed)[fold]
        clash = sorted(set(val_records) & set(test_records))
        if clash:
            raise ValueError(f"--val-records {', '.join(clash)} lie in test fold {fold}")
    if not test_records:
        raise ValueError("the test part is empty: name --test-records or choose --folds/--fold")
    rest = [r for r in names if r not in test_records and r not in val_records]
    if not val_records:
        n_val = max(1, int(round(val * (len(rest)))))
        pick = np.random.default_rng(seed + 1).permutation(len(rest))[:n_val]
        val_records = sorted(rest[i] for i in pick)
        rest = [r for r in rest if r not in val_records]
    parts = {"train": rest, "val": sorted(val_records), "test": sorted(test_records)}
    for split_name, part in parts.items():
        if not part:
            raise ValueError(f"the {split_name} part is empty ({len(names)} records in the workspace)")
    return parts


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
        for i in tqdm(part, desc=f"{name} images", unit="img", leave=False):
            _place_image(ws.plots_ecg / plot_name(i), folder / plot_name(i), copy)
    counts = {name: int(len(part)) for name, part in parts.items()}
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
