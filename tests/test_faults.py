"""Faults and bad input: killed stages, corrupt files, hostile checkpoints."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tsad.core.checkpoint import load_checkpoint, save_checkpoint
from tsad.core.paths import Workspace
from tsad.data.split import load_generated

REPO = Path(__file__).resolve().parents[1]
GENERATE = REPO / "Codes/Dataset/data_generate.py"


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickled_payload_is_refused(tmp_path):
    marker = tmp_path / "executed"
    path = tmp_path / "evil.pth"
    torch.save({"model": {}, "extra": _Payload(marker)}, path)
    with pytest.raises(ValueError, match="evil.pth: not a loadable checkpoint"):
        load_checkpoint(path)
    assert not marker.exists()


def test_checkpoint_round_trip_and_garbage(tmp_path):
    save_checkpoint(tmp_path / "ok.pth", {"model": {"w": torch.ones(2)}, "kind": "student", "config": {"a": 1}})
    assert load_checkpoint(tmp_path / "ok.pth")["config"] == {"a": 1}
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="junk.pth"):
        load_checkpoint(tmp_path / "junk.pth")
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_checkpoint(tmp_path / "missing.pth")


def _generate(ws, *extra):
    return [sys.executable, str(GENERATE), "--workspace", str(ws), "--demo", "--workers", "1", *extra]


def test_killed_data_stage_leaves_previous_outputs_intact(tmp_path):
    ws = Workspace(tmp_path / "ws")
    subprocess.run(_generate(ws.root, "--demo-records", "1", "--demo-minutes", "1"), check=True,
                   capture_output=True, cwd=tmp_path)
    ids_before, *_ = load_generated(ws)
    # a bigger second run, killed while it renders its images
    proc = subprocess.Popen(_generate(ws.root, "--demo-records", "4", "--demo-minutes", "4"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    tmp_images = ".Plots_ECG.tmp-*/*.png"  # the run's own temporary folder, named with its pid
    deadline = time.time() + 120
    while time.time() < deadline and len(list(ws.root.glob(tmp_images))) < 20:
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(list(ws.root.glob(tmp_images))) >= 20, "the run finished before it could be killed"
    ids_after, labels, series, windows = load_generated(ws)  # the first run's outputs, still consistent
    np.testing.assert_array_equal(ids_after, ids_before)
    # and a rerun completes the work and clears the leftovers
    subprocess.run(_generate(ws.root, "--demo-records", "4", "--demo-minutes", "4"), check=True,
                   capture_output=True, cwd=tmp_path)
    assert len(load_generated(ws)[0]) == 4 * 120
    assert not list(ws.root.glob(".Plots_ECG.tmp-*"))
