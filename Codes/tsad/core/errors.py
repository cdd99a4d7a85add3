"""The project's expected errors and the one wrapper every script runs its ``main`` in.

An expected error is a problem with the user's input or with the workspace, not a bug: a bad or
missing record (``ecg.RecordError``), a window geometry that does not fit (``geometry.GeometryError``),
a stage run before its inputs exist or on mismatched outputs (``FileNotFoundError``, ``ValueError``
raised by the project with the file in the message), a bad flag value, a checkpoint of the wrong
kind, a workspace another process is writing (``locks.LockHeld``). Every such message names the file first. A script shows it as one line::

    error: <file>: <problem>

on stderr and exits with status 2; ``--debug`` (or ``TSAD_DEBUG=1``) shows the traceback instead.
The app shows the same messages with ``st.error`` (``EXPECTED_ERRORS``).

A result that is complete but doubtful (a model that has not learned, a record with no detected
beat) does not stop a script: it is one ``warning: <file>: <problem>; <what to try>`` line on stderr
(``warn``), and the script also records it in the metadata it writes, where the app shows it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

from tsad.core.locks import LockHeld, set_wait_default

# RecordError, GeometryError and UploadError derive from ValueError; KeyError is what a checkpoint
# or manifest lacking an entry raises; OSError covers unreadable and missing files; LockHeld is
# another process writing the same outputs (--wait waits for it instead).
EXPECTED_ERRORS = (ValueError, OSError, KeyError, LockHeld)
EXIT_STATUS = 2
DEBUG_ENV = "TSAD_DEBUG"
DEBUG_FLAG = "--debug"
WAIT_FLAG = "--wait"


def debug_requested(argv: list[str] | None = None) -> bool:
    """True when ``--debug`` is among the arguments or ``TSAD_DEBUG`` is set to a true value."""
    args = sys.argv[1:] if argv is None else argv
    return DEBUG_FLAG in args or os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes")


def _names_a_file(prefix: str) -> bool:
    return "/" in prefix or os.sep in prefix or Path(prefix).suffix != ""


def error_line(err: BaseException, script: str) -> str:
    """The one line shown for an expected error: ``error: <file>: <problem>``.

    The project's messages already start with the file they are about; an error that does not
    (an OSError from the system, a KeyError) gets its file, else the script's name, in front.
    """
    if isinstance(err, OSError) and err.filename and err.strerror:  # raised by the system, not the project
        message = f"{err.filename}: {err.strerror}"
    elif isinstance(err, KeyError):
        message = f"missing entry {err.args[0]!r}" if err.args else "missing entry"
    else:
        message = str(err) or type(err).__name__
    message = " ".join(message.split())  # one line, whatever the message held
    if not _names_a_file(message.split(": ", 1)[0]):
        message = f"{script}: {message}"
    return f"error: {message}"


def warn(message: str) -> None:
    """Shows a doubtful result as one line, ``warning: <message>``, on stderr (not through logging,
    so that it shows however logging is configured)."""
    print(f"warning: {' '.join(str(message).split())}", file=sys.stderr, flush=True)


def run_cli(main: Callable, argv: list[str] | None = None, script: str | None = None):
    """Runs a script's ``main(argv)``; an expected error becomes one line on stderr and exit 2.

    Parameters
    ----------
    main : callable
        The script's ``main(argv=None)``.
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``); ``--debug`` is taken out of them here.
    script : str, optional
        The name shown when a message names no file (default: the running script's name).

    ``--wait`` among the arguments sets the process's lock policy (``tsad.core.locks.set_wait_default``);
    scripts start through ``tsad.cli.script``, which calls this.
    """

    args = list(sys.argv[1:] if argv is None else argv)
    debug = debug_requested(args)
    args = [a for a in args if a != DEBUG_FLAG]
    # the process's lock policy, decided once by its command line; a parser run later inside the
    # process (kd_study.py's student runs) leaves it alone
    set_wait_default(WAIT_FLAG in args)
    script = script or Path(sys.argv[0]).name
    if debug:
        return main(args)
    try:
        return main(args)
    except EXPECTED_ERRORS as err:
        print(error_line(err, script), file=sys.stderr)
        raise SystemExit(EXIT_STATUS) from None
