"""The command line: how a stage script starts (``script``), the ``tsad`` command (``tsad.cli.command``)
and each stage's ``main`` (``tsad.cli.<stage>``, also ``python -m tsad.cli.<stage>``).

Every stage script under ``Codes/`` is, after its docstring::

    try:
        from tsad.cli import script
    except ModuleNotFoundError as err:   # tsad itself is not installed
        raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

    main = script(__name__, __file__)              # or script(__name__, __file__, __doc__)

``script`` looks the script's entry up in ``tsad.core.scripts.SCRIPTS`` and returns ``main(argv=None)``
for the tests; run as a program, it runs it at once under ``tsad.core.errors.run_cli`` (one line per
expected error, ``--debug``, and the process's lock policy taken from ``--wait`` once, here).
Importing this package needs nothing but the standard library: it installs the hook that turns a
missing package, wherever a script imports it, into ``error: <package> is not installed: ...``
(exit status 1) instead of a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

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


def script(module_name: str, file: str, doc: str | None = None) -> Callable:
    """A script's ``main(argv=None)``: its entry of ``tsad.core.scripts.SCRIPTS`` (found by the
    script's path under Codes/), imported when main first runs and called as
    ``function(argv, **bound)``, with ``doc=doc`` when ``doc`` is given. Run as a program
    (``module_name == "__main__"``) it runs at once under ``tsad.core.errors.run_cli``; imported
    (the tests), it is only returned."""
    codes = Path(__file__).resolve().parents[2]
    rel = Path(file).resolve().relative_to(codes).as_posix()

    def main(argv=None):
        # the package itself, only once the script runs: this module stays standard-library only
        from tsad.core.scripts import entry

        function, bound = entry(rel)
        return function(argv, **bound, **({"doc": doc} if doc is not None else {}))

    main.__doc__ = doc
    if module_name == "__main__":
        from tsad.core.errors import run_cli  # the package, only when run: see above

        run_cli(main)
    return main
