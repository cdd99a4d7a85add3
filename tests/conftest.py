"""Shared fixtures: small workspaces built in a temporary folder, and the ../shared material
reached only through environment variables (tests that need it skip with a reason when unset,
and fail instead when TSAD_REQUIRE_SHARED=1, as in CI)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Codes"))
# Scripts started in a subprocess import this checkout's tsad too (the editable install may point at
# another checkout of the repository).
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "Codes"), os.environ.get("PYTHONPATH")]))
# The test models are small: one thread per process runs them fastest on a 2-core machine and
# keeps subprocesses (torchrun, streamlit, the pipeline) from competing for cores. Set before torch
# is first imported, and inherited by every subprocess a test starts.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from tsad.core.paths import Workspace, plot_name  # noqa: E402

# .ci/run sets it: there, reference material or a browser that is missing fails the run instead of
# skipping its tests, so a CI without them cannot pass for green. Unset (a developer without
# ../shared or Chromium), those tests skip with the reason.
REQUIRE_ENV = "TSAD_REQUIRE_SHARED"


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def skip_unless_required(reason: str) -> None:
    """Skips (also at module level) with ``reason``, or fails when TSAD_REQUIRE_SHARED is set."""
    if required():
        pytest.fail(f"{reason}; {REQUIRE_ENV}={os.environ[REQUIRE_ENV]} makes this an error", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def run_script(path, argv):
    """A stage script's ``main(argv)`` as a user runs it (sys.argv set alike), for tests that check
    what it wrote; dotted script names cannot be imported, so it is loaded with runpy."""
    import runpy

    old = sys.argv
    sys.argv = [str(path), *argv]
    try:
        return runpy.run_path(str(path), run_name="not_main")["main"](argv)
    finally:
        sys.argv = old


# what each variable must point at, said in the reason of every test that skips without it
SHARED_FOLDERS = {
    "TSAD_SVDB_DIR": "a folder of svdb's WFDB records (.hea, .dat, .atr), e.g. ../shared/data/svdb",
    "TSAD_MITDB_DIR": "a folder of mitdb's WFDB records (.hea, .dat, .atr), e.g. ../shared/data/mitdb",
    "TSAD_SMOLVLM_DIR": "the folder of SmolVLM-256M-Instruct's config.json, processor and tokenizer files "
                        "(weights not needed), e.g. ../shared/models/SmolVLM-256M-Instruct",
}


def shared_dir(var: str) -> Path:
    value = os.environ.get(var)
    wanted = SHARED_FOLDERS.get(var, "the reference material in ../shared")
    if not value:
        skip_unless_required(f"{var} is not set: point it at {wanted} (.ci/run sets it)")
    path = Path(value)
    if not path.is_dir():
        skip_unless_required(f"{var}={value} is not a folder: point it at {wanted}")
    return path


@pytest.fixture(scope="session")
def svdb_dir() -> Path:
    return shared_dir("TSAD_SVDB_DIR")


@pytest.fixture(scope="session")
def mitdb_dir() -> Path:
    return shared_dir("TSAD_MITDB_DIR")


@pytest.fixture(scope="session")
def smolvlm_dir() -> Path:
    return shared_dir("TSAD_SMOLVLM_DIR")


def _write_split(ws: Workspace, split: str, ids, series, labels) -> None:
    import pandas as pd
    from PIL import Image

    ws.split_images(split).mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(np.column_stack([ids, labels]).astype(np.int64),
                         columns=[str(i) for i in range(labels.shape[1] + 1)])
    frame.to_csv(ws.split_csv(split), index=False)
    np.save(ws.split_npy(split), series.astype(np.float32))
    for i, x in zip(ids, series):
        img = np.full((512, 512, 3), 255, np.uint8)
        cols = np.arange(256) * 2
        rows = np.clip(128 - x[:, 0] * 60, 0, 255).astype(int)
        img[rows, cols] = (255, 0, 0)
        rows = np.clip(384 - x[:, 1] * 60, 256, 511).astype(int)
        img[rows, cols] = (0, 0, 255)
        Image.fromarray(img).save(ws.split_images(split) / plot_name(i))


def make_split_workspace(root: Path) -> Workspace:
    """A workspace with Data_split/{train,val,test}: spiky synthetic windows whose labels mark
    the spikes, so a model can learn them. 24/8/8 windows of 256 x 2."""
    rng = np.random.default_rng(0)
    ws = Workspace(root)
    next_id = 0
    for split, n in (("train", 24), ("val", 8), ("test", 8)):
        series = rng.normal(0, 0.05, (n, 256, 2)).astype(np.float32)
        labels = np.zeros((n, 256), np.float32)
        for k in range(n):
            beats = np.arange(rng.integers(5, 40), 256, rng.integers(70, 110))
            labels[k, beats] = 1
            series[k, beats, :] += 1.5
        ids = np.arange(next_id, next_id + n)
        next_id += n
        _write_split(ws, split, ids, series, labels)
    return ws


def make_demo_record_workspace(root: Path, n_records: int = 3, minutes: int = 1) -> Workspace:
    """A workspace made by the data stages, as a user makes one, from ``n_records`` synthetic WFDB
    records (tsad.data.demo_db) written in ``root``/raw: demo00 tests, demo01 validates, the rest train."""
    from tsad.data.demo_db import DemoConfig, write_demo_database

    raw = root / "raw"
    write_demo_database(raw, DemoConfig(n_records=n_records, minutes=minutes))
    ws = Workspace(root / "ws")
    run_script(REPO / "Codes/Dataset/data_generate.py", ["--workspace", str(ws.root), "--input-dir", str(raw),
                                                         "--workers", "1"])
    run_script(REPO / "Codes/Dataset/data_split.py", ["--workspace", str(ws.root), "--test-records", "demo00",
                                                      "--val-records", "demo01"])
    return ws


@pytest.fixture
def split_workspace(tmp_path) -> Workspace:
    """make_split_workspace in the test's tmp folder (module-scoped fixtures call the function)."""
    return make_split_workspace(tmp_path / "ws")
