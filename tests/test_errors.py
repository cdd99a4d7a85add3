"""Expected errors reach a person as one line, ``error: <file>: <problem>``, with exit status 2;
--debug (or TSAD_DEBUG=1) shows the traceback; a script without the package installed says how to
install it. The scripts run in a subprocess, as a person runs them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO

from tsad.core.errors import error_line
from tsad.data.demo_db import DemoConfig, write_demo_database

GENERATE = REPO / "Codes/Dataset/data_generate.py"
STUDENT_INFER = REPO / "Codes/Inference/lstm/student_infer.py"


def run(script, *args, env=None, python_flags=()):
    return subprocess.run([sys.executable, *python_flags, str(script), *map(str, args)], capture_output=True,
                          text=True, timeout=120, check=False, env=env)


def assert_one_error_line(proc, *fragments):
    """Exit 2 and exactly one ``error:`` line, the last one, with no traceback (progress logs before
    it are fine)."""
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and proc.stderr.strip().splitlines()[-1] == errors[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def test_empty_input_folder_is_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run(GENERATE, "--workspace", tmp_path / "ws", "--input-dir", empty)
    assert_one_error_line(proc, str(empty), "no WFDB records")
    assert not (tmp_path / "ws" / "labels_ECG.csv").exists()


@pytest.fixture(scope="module")
def record_without_annotations(tmp_path_factory):
    folder = tmp_path_factory.mktemp("db")
    write_demo_database(folder, DemoConfig(n_records=1, minutes=0.5))
    atr = next(folder.glob("*.atr"))
    atr.unlink()
    return folder, atr


def test_record_without_its_annotations_is_one_line(record_without_annotations, tmp_path):
    folder, atr = record_without_annotations
    proc = run(GENERATE, "--workspace", tmp_path / "ws", "--input-dir", folder)
    assert_one_error_line(proc, atr.stem)


def test_debug_shows_the_traceback(record_without_annotations, tmp_path):
    folder, _ = record_without_annotations
    proc = run(GENERATE, "--workspace", tmp_path / "ws", "--input-dir", folder, "--debug")
    assert proc.returncode == 1 and "Traceback (most recent call last)" in proc.stderr
    env = {**os.environ, "TSAD_DEBUG": "1"}
    proc = run(GENERATE, "--workspace", tmp_path / "ws", "--input-dir", folder, env=env)
    assert proc.returncode == 1 and "Traceback (most recent call last)" in proc.stderr


def test_student_inference_without_a_trained_run_is_one_line(split_workspace):
    proc = run(STUDENT_INFER, "--workspace", split_workspace.root)
    assert_one_error_line(proc, "LSTM_train/best.pth", "checkpoint not found")


def test_bad_flag_value_is_one_line(tmp_path):
    proc = run(GENERATE, "--workspace", tmp_path / "ws", "--fs", "fast")
    assert_one_error_line(proc, "data_generate.py", "--fs")


def test_without_the_package_the_script_says_how_to_install_it(tmp_path):
    # -S: no site-packages, hence no editable install of tsad; PYTHONPATH is cleared for the same reason
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = run(GENERATE, "--help", env=env, python_flags=("-S",))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and len(lines) == 1
    assert lines[0].startswith("error: tsad is not installed") and "pip install -r requirement.txt" in lines[0]


def test_error_line_names_a_file_first():
    assert error_line(ValueError("/w/x.npy: bad"), "s.py") == "error: /w/x.npy: bad"
    assert error_line(ValueError("--lam must lie in [0, 1]"), "kd_train.py") == \
        "error: kd_train.py: --lam must lie in [0, 1]"
    missing = FileNotFoundError(2, "No such file or directory", "/w/labels.csv")
    assert error_line(missing, "s.py") == "error: /w/labels.csv: No such file or directory"
    assert error_line(ValueError("a\nmultiline\n  message"), "s.py") == "error: s.py: a multiline message"
