"""Locks on the workspace's artefact groups, so that two processes never write one group at once.

One lock per artefact group, all kept in ``<workspace>/.locks/``:

==========================  ===============================================================
``data.lock``               the data stage's outputs (Plots_ECG/, labels_ECG.csv,
                            ECG_segments.npy, windows.csv, data_manifest.json, raw/demo)
``split.lock``              Data_split/ (the split stage also holds ``data.lock`` while it
                            reads the data stage's outputs)
``run-<name>.lock``         one run folder (held by ``train.fit`` on rank 0)
``cv-<name>.lock``          one cross-validation folder, cv/<name>/ (held by student_cv.py
                            for the whole run, every fold's training, scoring and summary)
``teacher_logits-<entry>``  one entry of the teacher-logit cache (always waited for)
==========================  ===============================================================

The lock itself is an operating-system lock taken through the ``filelock`` library
(``flock`` on POSIX, ``LockFileEx`` on Windows): the kernel drops it when its process ends,
however it ends, so a ``kill -9`` never leaves a lock that blocks the next run. Beside each
lock, ``<name>.holder.json`` names the holder (pid, host, command, start time) for the message
a second writer prints. That record is only ever information, never the lock: a record whose
pid is no longer alive on this host is stale; it is cleared (with a warning) by the next
process that takes the lock.

A second writer either stops at once with :class:`LockHeld` (one line naming the holder; the
scripts turn it into ``error: ...`` and exit status 2), or, with ``--wait`` (or
``TSAD_LOCK_WAIT=1``), waits until the holder is done. The policy is set once for the process when
its script starts (:func:`tsad.core.errors.run_cli`, from ``--wait``) through :func:`set_wait_default`;
a caller that knows better passes ``wait=`` to :func:`hold`.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import logging
import os
import shlex
import socket
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

import filelock

from tsad.core.fileio import save_json

log = logging.getLogger("tsad")  # tsad.core.common's logger; not imported from there (common imports us)

LOCK_DIR = ".locks"
WAIT_ENV = "TSAD_LOCK_WAIT"
HOLDER_WAIT_S = 1.0  # how long a refused writer waits for the holder's record to appear

_wait_default = False
_held: dict[Path, int] = {}  # locks this process holds -> nesting depth (holds are re-entrant)


class LockHeld(RuntimeError):
    """Another process holds the lock of an artefact group; the message is one line naming it."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: written beside it while held, read by a refused or waiting writer."""

    pid: int
    host: str
    command: str
    started: str
    what: str

    @classmethod
    def this_process(cls, what: str) -> "Holder":
        command = shlex.join([Path(sys.executable).name, *sys.argv])
        return cls(pid=os.getpid(), host=socket.gethostname(), command=command,
                   started=time.strftime("%Y-%m-%dT%H:%M:%S%z"), what=what)

    def describe(self) -> str:
        """``pid 123 (python data_generate.py ...) started 2026-01-01T10:00:00+0000``."""
        host = "" if self.host == socket.gethostname() else f" on {self.host}"
        return f"pid {self.pid}{host} ({self.command}) started {self.started}"

    def is_alive(self) -> bool | None:
        """Whether the holder's process still runs; None when it ran on another host."""
        if self.host != socket.gethostname():
            return None
        return pid_alive(self.pid)


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists on this host (it may belong to another user).

    On Windows it answers True (``os.kill(pid, 0)`` would end the process there): a leftover is
    then kept rather than risk removing a live process's folder.
    """
    if pid <= 0:
        return False
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def set_wait_default(wait: bool) -> None:
    """Sets whether :func:`hold` waits for a busy lock when its caller does not say (``--wait``)."""
    global _wait_default
    _wait_default = bool(wait)


def wait_default() -> bool:
    """The process's policy: set by :func:`set_wait_default`, else ``TSAD_LOCK_WAIT=1``."""
    return _wait_default or os.environ.get(WAIT_ENV, "") not in ("", "0")


def lock_path(root: str | os.PathLike, group: str) -> Path:
    """The lock file of the artefact group ``group`` in the workspace ``root``."""
    return Path(root) / LOCK_DIR / f"{group}.lock"


def holder_path(lock: Path) -> Path:
    return lock.with_name(lock.stem + ".holder.json")


def read_holder(lock: Path) -> Holder | None:
    """The record beside ``lock``, or None when there is none or it cannot be read."""
    try:
        return Holder(**json.loads(holder_path(lock).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _holder_for_message(lock: Path) -> str:
    deadline = time.monotonic() + HOLDER_WAIT_S
    while True:  # the holder writes its record just after taking the lock: give it a moment
        holder = read_holder(lock)
        if holder is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if holder is None:
        return "another process (no holder record)"
    if holder.is_alive() is False:  # e.g. a child it forked still has the lock open
        return f"another process (the record names {holder.describe()}, no longer alive)"
    return holder.describe()


@contextlib.contextmanager
def hold(lock: str | os.PathLike, what: str, *, wait: bool | None = None) -> Iterator[Path]:
    """Holds the lock file ``lock`` for the block; ``what`` names the artefacts in messages.

    Parameters
    ----------
    lock : path-like
        The lock file (see :func:`lock_path`); its folder is created if needed.
    what : str
        What the lock protects, e.g. ``"the data stage's outputs in /ws"``.
    wait : bool, optional
        True: wait for another holder to finish. False: raise :class:`LockHeld` at once.
        None (default): the process's policy, :func:`wait_default`.

    Yields
    ------
    Path
        The lock file.

    Raises
    ------
    LockHeld
        When another process holds the lock and ``wait`` is false; the message names it.

    Notes
    -----
    Holding is re-entrant within one process (a nested ``hold`` of the same lock passes
    through). A holder record left by a process that died while holding the lock is cleared.
    """
    lock = Path(lock).absolute()
    if _held.get(lock):
        _held[lock] += 1
        try:
            yield lock
        finally:
            _held[lock] -= 1
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    file_lock = filelock.FileLock(str(lock))
    try:
        file_lock.acquire(timeout=0)
    except filelock.Timeout:
        holder = _holder_for_message(lock)
        if not (wait_default() if wait is None else wait):
            raise LockHeld(f"{what}: busy, being written by {holder}; wait for it to finish "
                           "or rerun with --wait") from None
        log.info("waiting for %s: held by %s", what, holder)
        file_lock.acquire()
    try:
        _clear_stale_record(lock)
        save_json(holder_path(lock), asdict(Holder.this_process(what)))
        _held[lock] = 1
        try:
            yield lock
        finally:
            del _held[lock]
            with contextlib.suppress(FileNotFoundError):
                holder_path(lock).unlink()  # before the release: the next holder's record stays
    finally:
        file_lock.release()


def _clear_stale_record(lock: Path) -> None:
    """Called with the lock held: any record there was left by a holder that died holding it."""
    stale = read_holder(lock)
    if stale is None and not holder_path(lock).exists():
        return
    if stale is None:
        log.warning("%s: unreadable holder record; cleared", holder_path(lock))
    else:
        state = {True: "pid still alive but no longer holding it", False: "no longer alive",
                 None: "on another host"}[stale.is_alive()]
        log.warning("cleared a stale lock on %s left by %s (%s)", stale.what, stale.describe(), state)
    holder_path(lock).unlink()


# ---- the project's artefact groups ----------------------------------------------------------------

def hold_group(root: str | os.PathLike, group: str, what: str, *, wait: bool | None = None):
    """:func:`hold` on the lock of ``group`` in the workspace ``root`` (see the module's table)."""
    return hold(lock_path(root, group), f"{what} in {Path(root)}", wait=wait)


def holds(*groups: str) -> Callable:
    """Decorator: the function (whose first argument is a Workspace) runs holding ``groups``,
    taken in the order given (always data before split, so two stages never deadlock)."""
    names = {"data": "the data stage's outputs", "split": "the split (Data_split/)"}

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(ws, *args, **kwargs):
            with contextlib.ExitStack() as stack:
                for group in groups:
                    stack.enter_context(hold_group(ws.root, group, names.get(group, group)))
                return fn(ws, *args, **kwargs)
        return wrapper
    return decorate


def holds_run_folder(fn: Callable) -> Callable:
    """Decorator for a function with a ``run_dir`` argument (``train.fit``): it runs holding
    ``run-<name>.lock`` of the workspace that contains the run folder. Only rank 0 of a
    ``torchrun`` job takes it (every rank calls fit; one job is one writer)."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        run_dir = Path(signature.bind(*args, **kwargs).arguments["run_dir"]).absolute()
        if int(os.environ.get("RANK", "0")) != 0:
            return fn(*args, **kwargs)
        with hold_group(run_dir.parent, f"run-{run_dir.name}", f"the run folder {run_dir.name}/"):
            return fn(*args, **kwargs)
    return wrapper
