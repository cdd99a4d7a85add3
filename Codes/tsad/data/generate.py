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

from tsad.core.common import log
from tsad.core.fileio import atomic_path, exchange_paths, make_tmp_dir, save_text
from tsad.core.geometry import WindowGeometry
from tsad.core.locks import holds, pid_alive
from tsad.core.manifest import write_manifest
from tsad.core.paths import DATA_INCOMPLETE, DATA_MANIFEST, Workspace, plot_name
from tsad.data import ecg
from tsad.data.demo_db import DemoConfig, write_demo_database
from tsad.data.render import render_to_png


@dataclass
class GenerateConfig:
    """What data_generate.py reads and how it cuts, labels and renders the windows."""
    input_dir: str | list[str] | None = None   # one folder, or several databases read together
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
    """What the data stage produced: records used and skipped, windows, labelled samples, and the
    folder (database) of every record, so later stages find each record's files."""
    input_dir: str
    records: list[str]
    skipped: dict[str, str]
    n_windows: int
    n_beats: int
    seconds: float
    record_dirs: dict[str, str] = field(default_factory=dict)


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


def resolve_inputs(ws: Workspace, cfg: GenerateConfig) -> list[Path]:
    """Where the records come from: --download, --demo, --input-dir (one folder or several), else
    raw/ in the workspace, else the demo database (written on first use)."""
    if cfg.download:
        return [download_database(ws, cfg.download)]
    if cfg.demo:
        write_demo_database(ws.raw("demo"), cfg.demo_config)
        return [ws.raw("demo")]
    if cfg.input_dir:
        given = [cfg.input_dir] if isinstance(cfg.input_dir, (str, Path)) else list(cfg.input_dir)
        folders = [Path(d).expanduser().resolve() for d in given]
        for folder in folders:
            if not folder.is_dir():
                raise FileNotFoundError(f"{folder}: input folder not found")
        names = [f.name for f in folders]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"--input-dir: two folders named {twice[0]!r}; a folder's name is its database's "
                             "name, so each must differ")
        return folders
    found = sorted(d for d in ws.raw_root.glob("*") if d.is_dir() and list_records(d)) \
        if ws.raw_root.is_dir() else []
    if len(found) > 1:
        raise ValueError(f"several databases in {ws.raw_root} ({', '.join(d.name for d in found)}): "
                         "choose with --input-dir (several folders are read together)")
    if found:
        return found
    log.info("no input given and no records in %s: using the synthetic demo database", ws.raw_root)
    write_demo_database(ws.raw("demo"), cfg.demo_config)
    return [ws.raw("demo")]


def choose_records(folders: list[Path], wanted: list[str] | None) -> dict[str, Path]:
    """Record name -> folder for every record of ``folders`` (or the ``wanted`` ones). A chosen name
    found in two folders is refused: windows, splits and folds name records by name alone."""
    found: dict[str, list[Path]] = {}
    for folder in folders:
        for name in list_records(folder):
            found.setdefault(name, []).append(folder)
    missing = [r for r in wanted or [] if r not in found]
    if missing:
        raise FileNotFoundError(f"{', '.join(map(str, folders))}: no header for record(s) {', '.join(missing)}")
    names = list(wanted) if wanted else [n for folder in folders for n in list_records(folder)]
    for name in names:
        if len(found[name]) > 1:
            raise ValueError(f"record {name} is in {found[name][0]} and in {found[name][1]}; rename one of them "
                             "or choose with --records")
    if not names:
        raise FileNotFoundError(f"{', '.join(map(str, folders))}: no WFDB records (.hea files) found")
    return {n: found[n][0] for n in dict.fromkeys(names)}


# ---- windows -----------------------------------------------------------------------------------

def read_windows(where: dict[str, Path], cfg: GenerateConfig):
    """Windows, labels and provenance rows (record, database, start, ...) of every record; bad
    records stop or are skipped."""
    series, labels, rows, skipped = [], [], [], {}
    for name, folder in tqdm(where.items(), desc="records", unit="rec", disable=None):
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
            rows.append({"record": name, "database": folder.name, "start": int(round(start * scale)),
                         "fs": record.source_fs, "n_beats": int(win.labels[k].sum()),
                         "annotations": win.symbols[k]})
    if not series:
        raise ValueError(f"{', '.join(sorted({str(f) for f in where.values()}))}: no usable record among {len(where)}")
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
    bar = tqdm(total=len(ids), desc="images", unit="win", disable=None)
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
    folders = resolve_inputs(ws, cfg)
    where = choose_records(folders, cfg.records)
    log.info("reading %d record(s) from %s", len(where), ", ".join(map(str, folders)))
    series, labels, rows, skipped = read_windows(where, cfg)
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

    used = [n for n in where if n not in skipped]
    summary = GenerateSummary(" ".join(map(str, folders)), used, skipped, len(ids), int(labels.sum()),
                              round(time.time() - started, 2), {n: str(where[n]) for n in used})
    config = asdict(cfg) | {"input_dir": str(folders[0]) if len(folders) == 1 else [str(f) for f in folders]}
    geometry = WindowGeometry(cfg.fs, series.shape[1], cfg.channels, cfg.labels)
    write_manifest(ws.root / DATA_MANIFEST, "data_generate", config,
                   inputs=[where[n] / f"{n}.hea" for n in used],
                   outputs=[ws.labels_csv, ws.segments_npy, ws.windows_csv, ws.plots_ecg], started=started,
                   summary=asdict(summary), geometry=geometry.to_dict())
    (ws.root / DATA_INCOMPLETE).unlink()
    return summary


# ---- the split ---------------------------------------------------------------------------------

def record_sources(ws: Workspace, override: str | Path | None = None) -> dict[str, Path]:
    """Record name -> folder of its WFDB files, as the data stage read them (its manifest), for the
    stages that go back to whole records (threshold tuning, detection, scoring). ``override``, one
    folder, replaces them all (records moved since). Raises FileNotFoundError when neither says."""
    import json

    path = ws.root / DATA_MANIFEST
    try:
        manifest = json.loads(path.read_text()) if path.is_file() else {}
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: unreadable ({err})") from err
    summary = manifest.get("summary") or {}
    names = summary.get("records") or []
    if override is not None:
        folder = Path(override)
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: input folder not found")
        return {n: folder for n in names} if names else {n: folder for n in list_records(folder)}
    dirs = summary.get("record_dirs")
    if not dirs and names and isinstance(manifest.get("config", {}).get("input_dir"), str):
        dirs = {n: manifest["config"]["input_dir"] for n in names}   # a workspace of one folder, written before
    if not dirs:
        raise FileNotFoundError(f"{path}: names no record folders; pass --input-dir")
    return {n: Path(d) for n, d in dirs.items()}
