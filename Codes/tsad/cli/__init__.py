"""The one way a script starts. Every stage script under ``Codes/`` is, after its docstring::

    try:
        from tsad.cli import script
    except ModuleNotFoundError as err:   # tsad itself is not installed
        raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

    ...                                   # its own flags and main, if it has them

    main = script(__name__, main)                                        # its own main(argv=None)
    main = script(__name__, "tsad.training.students:train_main", __doc__, distill=True)   # or a tsad function

``script`` returns ``main(argv=None)`` for the pipeline and the tests; run as a program, it runs it
at once under ``tsad.core.errors.run_cli`` (one line per expected error, ``--debug``, and the process's
lock policy taken from ``--wait`` once, here). Importing this module needs nothing but the standard
library: it installs the hook that turns a missing package, wherever a script imports it, into
``error: <package> is not installed: ...`` (exit status 1) instead of a traceback.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Callable

from tsad.core.errors import run_cli

INSTALL_HINT = "pip install -r requirement.txt (repo root)"


def not_installed(name: str | None) -> str:
    """The one line shown when the package ``name`` cannot be imported."""
    return f"error: {name} is not installed: {INSTALL_HINT}"


def _debugging() -> bool:
    return "--debug" in sys.argv[1:] or os.environ.get("TSAD_DEBUG", "").strip().lower() in ("1", "true", "yes")


def _missing_package_hook(previous):
    def hook(kind, value, tb):
        if issubclass(kind, ModuleNotFoundError) and not _debugging():
            print(not_installed(value.name), file=sys.stderr)
            return
        previous(kind, value, tb)
    return hook


if not getattr(sys.excepthook, "tsad_missing_package", False):
    sys.excepthook = _missing_package_hook(sys.excepthook)
    sys.excepthook.tsad_missing_package = True


def _resolve(target) -> Callable:
    if callable(target):
        return target
    module, _, name = str(target).partition(":")
    return getattr(importlib.import_module(module), name or "main")


def script(module_name: str, target, doc: str | None = None, **bound) -> Callable:
    """A script's ``main(argv=None)``: ``target`` (a function, or ``"module:function"`` imported when
    main first runs) called as ``target(argv, doc=doc, **bound)`` (``doc`` only when given).

    Run as a program (``module_name == "__main__"``) it runs at once under ``tsad.core.errors.run_cli``;
    imported (the pipeline, the tests), it is only returned."""
    extra = {**bound, **({"doc": doc} if doc is not None else {})}

    @functools.wraps(target) if callable(target) else (lambda f: f)
    def main(argv=None):
        return _resolve(target)(argv, **extra)

    if module_name == "__main__":

        run_cli(main)
    return main
