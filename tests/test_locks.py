"""Two processes on one workspace (issue 15): locks per artefact group, unique temporaries, a swap
that readers never see half-done, and a teacher-logit cache built once. Real processes throughout:
scripts as subprocesses, and forked children where a test must pause one inside a stage."""

from __future__ import annotations

import json
import multiprocessing
import os
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from kd_helpers import StandInTeacher, logits_for_id, write_teacher_checkpoint

from tsad.core import locks, paths
from tsad.core.errors import run_cli
from tsad.core.fileio import current_umask
from tsad.core.paths import Workspace, plot_name
from tsad.data import generate, split

REPO = Path(__file__).resolve().parents[1]
GENERATE = REPO / "Codes/Dataset/data_generate.py"
FORK = multiprocessing.get_context("fork")
DEADLINE_S = 60  # a bound on every wait below; the cases take seconds


def generate_argv(ws: Workspace, records: int) -> list[str]:
    """The data stage on the first ``records`` of a 3-record demo database: 15 windows each."""
    return ["--workspace", str(ws.root), "--demo", "--demo-records", "3", "--demo-minutes", "0.5",
            "--records", *[f"demo{k:02d}" for k in range(records)], "--workers", "1"]


def generate_main(argv):
    """data_generate.py's main as its ``__main__`` runs it (LockHeld -> one line, exit 2)."""
    main = runpy.run_path(str(GENERATE), run_name="not_main")["main"]
    return run_cli(main, argv)


def start_script(path: Path, argv: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO / "Codes")}
    return subprocess.Popen([sys.executable, str(path), *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def start_holder(lock: Path, what: str, seconds: float = 60,
                 then_touch: Path | None = None) -> subprocess.Popen:
    """Another process that holds ``lock`` for ``seconds`` (returns once it holds it)."""
    code = (f"import pathlib, time; from tsad.core.locks import hold\n"
            f"with hold({str(lock)!r}, {what!r}, wait=False):\n"
            f"    print('held', flush=True); time.sleep({seconds})\n"
            + (f"    pathlib.Path({str(then_touch)!r}).touch()\n" if then_touch else ""))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO / "Codes")})
    assert proc.stdout.readline().strip() == "held"
    return proc


def assert_consistent(ws: Workspace) -> int:
    """One data stage's complete outputs: every id has its image and no image lacks an id, the
    labels, segments and windows.csv agree, and no temporary folder is left. Returns the count."""
    ids, labels, series, windows = split.load_generated(ws)  # checks counts, ids and images
    assert sorted(p.name for p in ws.plots_ecg.iterdir()) == sorted(plot_name(i) for i in ids)
    assert len(labels) == len(series) == len(windows) == len(ids)
    manifest = json.loads((ws.root / paths.DATA_MANIFEST).read_text())
    assert manifest["summary"]["n_windows"] == len(ids)
    assert sorted(set(windows["record"])) == manifest["summary"]["records"]
    assert not list(ws.root.glob(".Plots_ECG.*")), "a temporary folder was left behind"
    assert not (ws.root / paths.DATA_INCOMPLETE).exists()
    return len(ids)


# ---- the lock itself ---------------------------------------------------------------------------------

def test_a_busy_workspace_stops_the_script_with_one_line_naming_the_holder(tmp_path):
    ws = Workspace(tmp_path / "ws")
    with locks.hold_group(ws.root, "data", "the data stage's outputs", wait=False):
        holder = locks.read_holder(locks.lock_path(ws.root, "data"))
        proc = start_script(GENERATE, generate_argv(ws, 2))
        out, err = proc.communicate(timeout=DEADLINE_S)
    assert proc.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the data stage's outputs in "), err
    assert f"pid {os.getpid()} (" in lines[0] and holder.started in lines[0] and "--wait" in lines[0]
    assert holder.pid == os.getpid() and holder.command
    assert not ws.plots_ecg.exists() and not ws.labels_csv.exists(), "the refused run wrote something"
    assert not locks.holder_path(locks.lock_path(ws.root, "data")).exists(), "the record outlived the hold"


def test_the_lock_of_a_killed_holder_is_free_and_its_stale_record_cleared(tmp_path, caplog):
    lock = locks.lock_path(tmp_path, "data")
    holder = start_holder(lock, "test outputs")
    with pytest.raises(locks.LockHeld, match=rf"test outputs: busy, being written by pid {holder.pid} "):
        with locks.hold(lock, "test outputs", wait=False):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=DEADLINE_S)
    assert locks.read_holder(lock).pid == holder.pid and not locks.pid_alive(holder.pid)

    started = time.monotonic()
    with caplog.at_level("WARNING", logger="tsad"), locks.hold(lock, "test outputs", wait=False):
        assert locks.read_holder(lock).pid == os.getpid()
    assert time.monotonic() - started < 5
    assert f"cleared a stale lock on test outputs left by pid {holder.pid}" in caplog.text
    assert "no longer alive" in caplog.text
    assert locks.read_holder(lock) is None


def test_wait_waits_for_the_holder_and_the_script_start_sets_the_policy(tmp_path):
    from tsad.core.common import make_parser

    assert run_cli(lambda argv: make_parser("x").parse_args(argv).wait, ["--wait"]) and locks.wait_default()
    assert not run_cli(lambda argv: make_parser("x").parse_args(argv).wait, []) and not locks.wait_default()

    lock, done = locks.lock_path(tmp_path, "split"), tmp_path / "holder_done"
    holder = start_holder(lock, "x", seconds=1.5, then_touch=done)
    started = time.monotonic()
    with locks.hold(lock, "x", wait=True):
        assert done.exists(), "acquired while the other process still held it"
    assert 0.5 < time.monotonic() - started < DEADLINE_S
    holder.wait(timeout=DEADLINE_S)


# ---- two data stages on one workspace -----------------------------------------------------------

def _generate_pausing_in_render(argv, holding, resume):
    """A data stage that, once inside its lock, waits for the test before it renders."""
    render_all = generate.render_all

    def paused(*args, **kwargs):
        holding.set()
        resume.wait(DEADLINE_S)
        return render_all(*args, **kwargs)

    generate.render_all = paused
    generate_main(argv)


def test_two_data_stages_at_once_end_in_one_success_and_one_clear_refusal(tmp_path):
    ws = Workspace(tmp_path / "ws")
    holding, resume = FORK.Event(), FORK.Event()
    first = FORK.Process(target=_generate_pausing_in_render, args=(generate_argv(ws, 3), holding, resume))
    first.start()
    try:
        assert holding.wait(DEADLINE_S)
        second = start_script(GENERATE, generate_argv(ws, 2))  # while the first one holds the lock
        _, err = second.communicate(timeout=DEADLINE_S)
    finally:
        resume.set()
        first.join(DEADLINE_S)
    assert first.exitcode == 0
    assert second.returncode == 2 and len(err.strip().splitlines()) == 1
    assert f"being written by pid {first.pid} " in err
    assert assert_consistent(ws) == 3 * 15  # the first run's 3 records, whole


def test_two_data_stages_with_wait_run_one_after_the_other(tmp_path):
    ws = Workspace(tmp_path / "ws")
    holding, resume = FORK.Event(), FORK.Event()
    first = FORK.Process(target=_generate_pausing_in_render, args=(generate_argv(ws, 3), holding, resume))
    first.start()
    try:
        assert holding.wait(DEADLINE_S)
        second = start_script(GENERATE, generate_argv(ws, 2) + ["--wait"])
        said = second.stderr.readline()  # its first words: it waits for the first run, named
        assert "waiting for the data stage's outputs" in said and f"held by pid {first.pid} " in said, said
    finally:
        resume.set()
        first.join(DEADLINE_S)
    out, err = second.communicate(timeout=DEADLINE_S)
    assert first.exitcode == 0 and second.returncode == 0, err[-2000:]
    assert out.startswith(f"{2 * 15} windows")
    assert assert_consistent(ws) == 2 * 15  # the second run's outputs, written after the first's


# ---- kill -9 in the middle of the swap ------------------------------------------------------------

def _generate_stopping_in_swap(argv, exchange: bool, in_swap):
    """A data stage that stops forever half-way through swapping in Plots_ECG (exchange: after
    the atomic exchange, before the old folder is removed; else after renaming the old aside)."""
    if exchange:
        real = generate.exchange_paths

        def stop_after(a, b):
            assert real(a, b)
            in_swap.set()
            time.sleep(DEADLINE_S)
        generate.exchange_paths = stop_after
    else:
        generate.exchange_paths = lambda a, b: False
        real_replace = os.replace

        def replace(src, dst):
            real_replace(src, dst)
            if ".tmp-" in Path(dst).name:  # the old folder has just gone aside
                in_swap.set()
                time.sleep(DEADLINE_S)
        generate.os.replace = replace
    generate_main(argv)


@pytest.mark.parametrize("exchange", [True, False], ids=["atomic-exchange", "rename-aside"])
def test_kill_during_the_swap_then_a_rerun_leaves_a_consistent_workspace(tmp_path, exchange):
    ws = Workspace(tmp_path / "ws")
    generate_main(generate_argv(ws, 2))
    before = assert_consistent(ws)

    in_swap = FORK.Event()
    child = FORK.Process(target=_generate_stopping_in_swap, args=(generate_argv(ws, 3), exchange, in_swap))
    child.start()
    assert in_swap.wait(DEADLINE_S)
    os.kill(child.pid, signal.SIGKILL)
    child.join(DEADLINE_S)
    assert child.exitcode == -signal.SIGKILL
    leftovers = list(ws.root.glob(".Plots_ECG.tmp-*"))
    assert leftovers and all(str(child.pid) in p.name for p in leftovers)
    if exchange:  # a reader meanwhile sees the new images, whole
        assert len(list(ws.plots_ecg.iterdir())) == 3 * 15
    else:  # off Linux's exchange, a reader meanwhile finds no folder, never a partial one
        assert not ws.plots_ecg.exists()
    with pytest.raises(ValueError, match="the last data stage stopped while replacing its outputs"):
        split.load_generated(ws)  # new images beside old labels never pass for a whole set

    generate_main(generate_argv(ws, 3))  # the lock was freed by the kill: no --wait needed
    assert assert_consistent(ws) == 3 * 15 != before


def test_a_temporary_of_a_live_process_is_never_removed(tmp_path):
    final = tmp_path / "Plots_ECG"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        theirs = tmp_path / f".Plots_ECG.tmp-{sleeper.pid}-abc"
        theirs.mkdir()
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout.strip()
        left = tmp_path / f".Plots_ECG.tmp-{dead}-xyz"
        left.mkdir()
        mine = generate.fresh_tmp_dir(final)
        assert theirs.is_dir() and not left.exists() and mine.is_dir() and mine != theirs
        assert mine.stat().st_mode & 0o777 == 0o777 & ~current_umask(), "a folder's usual permissions, not 0700"
        (mine / "a.png").write_bytes(b"x")
        generate.swap_in(mine, final)
        assert sorted(p.name for p in final.iterdir()) == ["a.png"] and theirs.is_dir()
    finally:
        sleeper.kill()
        sleeper.wait()


# ---- the teacher-logit cache, built once ----------------------------------------------------------

class MarkedTeacher(StandInTeacher):
    """Appends one line per forward pass to a marker file (shared across processes), slowly
    enough that runs started together would all compute if nothing held them back."""

    def __init__(self, marker: Path):
        super().__init__()
        self.marker = marker

    def __call__(self, run_dir, image_paths, **kwargs):
        split = Path(image_paths[0]).parent.parent.name
        with open(self.marker, "a") as fh:
            fh.write(f"{os.getpid()} {split} {len(image_paths)}\n")
        time.sleep(0.5)
        return super().__call__(run_dir, image_paths, **kwargs)


def _kd_run(root: str, lam: float, marker: str, start) -> None:
    from tsad.training.loop import TrainConfig
    from tsad.training.students import train_run

    start.wait(DEADLINE_S)
    train_run(Workspace(Path(root)), TrainConfig(epochs=1, batch_size=8, device="cpu"), lam=lam,
              teacher="vlm_1", logits_fn=MarkedTeacher(Path(marker)))


def test_four_kd_runs_started_together_run_the_teacher_once(split_workspace, tmp_path):
    ws = split_workspace
    write_teacher_checkpoint(ws, "vlm_1")
    marker = tmp_path / "teacher_passes.txt"
    start = FORK.Event()
    lams = (0.25, 0.5, 0.75, 1.0)
    runs = [FORK.Process(target=_kd_run, args=(str(ws.root), lam, str(marker), start)) for lam in lams]
    for p in runs:
        p.start()
    start.set()
    for p in runs:
        p.join(DEADLINE_S)
    assert [p.exitcode for p in runs] == [0] * 4
    passes = [line.split() for line in marker.read_text().splitlines()]
    assert sorted(split for _, split, _ in passes) == ["train", "val"], passes  # each split once
    assert {int(n) for _, split, n in passes if split == "train"} == {24}
    from tsad.training.distill import cache_paths, teacher_hash
    logits, ids = (np.load(p) for p in cache_paths(ws, "vlm_1", teacher_hash(ws, "vlm_1"), "train"))
    assert np.array_equal(np.sort(ids), np.arange(24))
    assert np.allclose(logits, np.stack([logits_for_id(i) for i in ids]))
    for lam in lams:
        meta = json.loads((ws.run_dir(f"KD_train_{lam:g}_vlm_1") / "metadata.json").read_text())
        assert meta["lam"] == lam and meta["epochs_run"] == 1


def test_a_run_folder_has_one_writer(split_workspace):
    from tsad.training.loop import TrainConfig
    from tsad.training.students import train_run

    ws = split_workspace
    lock = locks.lock_path(ws.root, "run-LSTM_train")
    holder = start_holder(lock, "the run folder")
    try:
        with pytest.raises(locks.LockHeld, match=f"being written by pid {holder.pid} "):
            train_run(ws, TrainConfig(epochs=1, batch_size=8, device="cpu"), lam=0.0)
        assert not (ws.run_dir("LSTM_train") / "metadata.json").exists()
    finally:
        holder.kill()
        holder.wait()
    train_run(ws, TrainConfig(epochs=1, batch_size=8, device="cpu"), lam=0.0)  # free again
    assert (ws.run_dir("LSTM_train") / "metadata.json").is_file()


def test_a_parser_inside_the_process_keeps_the_users_wait(tmp_path):
    """kd_study.py parses every student run's flags in its process: a user's --wait must survive
    them (it used to be reset by each parse, and the run stopped on a busy folder)."""
    from tsad.experiments.kd_study import Grid, _student_args

    def study(argv):
        args = _student_args(Grid(), seed=0, device="cpu")   # parses a student run's flags, no --wait
        return args.preset, locks.wait_default()

    try:
        assert run_cli(study, ["--wait"]) == ("recommended", True)
        assert run_cli(study, []) == ("recommended", False)
    finally:
        locks.set_wait_default(False)


def test_a_cross_validation_folder_has_one_writer(tmp_path):
    """Two student_cv.py runs of one --name once trained a fold twice, one process scoring it while
    the other overwrote its model (a run folder's lock is held only while training): the whole CV
    is now one writer's, and the second run stops with one line before it writes anything."""
    ws = Workspace(tmp_path / "ws")
    lock = locks.lock_path(ws.root, "cv-twice")
    holder = start_holder(lock, "the cross-validation twice (cv/twice/)")
    try:
        proc = start_script(REPO / "Codes/Models/student_cv.py",
                            ["--workspace", str(ws.root), "--name", "twice", "--arch", "fcn_1k"])
        out, err = proc.communicate(timeout=DEADLINE_S)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the cross-validation twice (cv/twice/) in "), err
    assert f"being written by pid {holder.pid} " in lines[0]
    assert not (ws.root / "cv" / "twice").exists(), "the refused run wrote something"
