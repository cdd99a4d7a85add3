"""Seed, device, dtype, logging and the flags every script shares."""

from __future__ import annotations

import argparse
import logging
import os
import random
import subprocess
import sys
from importlib import metadata

import numpy as np

from tsad.core.paths import REPO_ROOT, WORKSPACE_ENV

DEFAULT_SEED = 42
log = logging.getLogger("tsad")


def setup_logging(level: int = logging.INFO) -> None:
    """Logs to stderr with timestamps, unless logging is configured already."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                            datefmt="%H:%M:%S")


def seed_everything(seed: int = DEFAULT_SEED) -> None:
    """Seeds Python, NumPy and torch when it is imported: every module that trains imports torch
    first, and a process that never imports it (detection through onnxruntime, the data stage)
    has no torch to seed and should not load it for that."""
    random.seed(seed)
    np.random.seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def get_device(preference: str = "auto"):
    """CUDA, then MPS, then CPU, unless ``preference`` names one."""
    import torch

    if preference != "auto":
        return torch.device(preference)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def autocast_dtype(device):
    """bf16 autocast where the GPU supports it; None means run in fp32."""
    import torch

    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def package_versions(names=("numpy", "torch", "transformers", "wfdb", "streamlit", "tsad")) -> dict:
    """Installed versions of the given packages (None where missing)."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit() -> str | None:
    """The repository's current commit, or None outside a git checkout."""
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() or None


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows defaults in --help and keeps the docstring's layout."""


class StageParser(argparse.ArgumentParser):
    """The parser of every script: a bad flag is the project's one line (``error: <script>: ...``,
    exit 2). Parsing sets no process-wide state: ``--wait`` is applied once, when the script starts
    (``tsad.core.errors.run_cli``), so a parser run inside a process (a study's student runs) cannot undo it."""

    def error(self, message: str):
        """Prints ``error: <prog>: <message>`` on stderr and exits with status 2."""
        self.exit(2, f"error: {self.prog}: {message}\n")


def make_parser(doc: str | None) -> argparse.ArgumentParser:
    """The parser every script starts from: its docstring as help, --workspace, --seed, --wait, --debug."""
    parser = StageParser(description=doc, formatter_class=HelpFormatter)
    parser.add_argument("--workspace", default=None,
                        help=f"workspace folder (default: ${WORKSPACE_ENV}, else workspace/ at the repo root)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument("--wait", action="store_true",
                        help="when another process is writing the same outputs, wait for it instead of "
                             "stopping with exit status 2 (also: TSAD_LOCK_WAIT=1)")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an expected error (also: TSAD_DEBUG=1)")
    return parser
