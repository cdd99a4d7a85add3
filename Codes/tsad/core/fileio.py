"""Atomic writes: every artefact goes to a temporary file first and is renamed into place,
so a killed stage never leaves a half-written file under a final name."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np


def current_umask() -> int:
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_tmp_dir(final: str | os.PathLike, prefix: str) -> Path:
    """``tempfile.mkdtemp`` beside ``final``, with a folder's usual permissions (not mkdtemp's 0700)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=final.parent))
    os.chmod(tmp, 0o777 & ~current_umask())
    return tmp


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yields a temporary path beside ``path``; renames it onto ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's 0600 would make the final file private
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def exchange_paths(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Swaps the two existing paths ``a`` and ``b`` in one atomic step, if the system can.

    Linux's ``renameat2(..., RENAME_EXCHANGE)``: a reader of either path sees the old entry or
    the new one, never none. Returns False, having changed nothing, where that call or the file
    system lacks it (other systems, old kernels, some network file systems).
    """
    if not sys.platform.startswith("linux"):
        return False
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:  # a C library older than glibc 2.28
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def save_npy(path, array) -> None:
    """Saves an array atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, np.asarray(array))


def save_json(path, obj) -> None:
    """Saves JSON atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=2, default=str) + "\n")


def save_text(path, text: str) -> None:
    """Saves text atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)


def load_npy(path, expect_ndim: int | None = None) -> np.ndarray:
    """np.load without pickles, with an error naming the file when it is missing or corrupt."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path}: not a readable .npy file ({err})") from err
    if expect_ndim is not None and arr.ndim != expect_ndim:
        raise ValueError(f"{path}: expected a {expect_ndim}-d array, found shape {arr.shape}")
    return arr


def sha256_file(path, chunk: int = 1 << 20) -> str:
    """The file's SHA-256 in hex, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
