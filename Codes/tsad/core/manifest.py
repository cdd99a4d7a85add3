"""A manifest beside every stage's outputs: config, inputs and outputs with sizes and hashes,
package versions, timings and the git commit, so any artefact can be traced to how it was made."""

from __future__ import annotations

import time
from pathlib import Path

from tsad.core.common import git_commit, package_versions
from tsad.core.fileio import save_json, sha256_file

MANIFEST = "manifest.json"


def describe(path, hash_limit: int = 1 << 30) -> dict:
    """A file's or folder's path, kind, size and (for files) SHA-256."""
    path = Path(path)
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file()]
        return {"path": str(path), "kind": "folder", "files": len(files),
                "bytes": sum(p.stat().st_size for p in files)}
    if not path.is_file():
        return {"path": str(path), "kind": "missing"}
    size = path.stat().st_size
    return {"path": str(path), "kind": "file", "bytes": size,
            "sha256": sha256_file(path) if size <= hash_limit else None}


def write_manifest(path, stage: str, config: dict, inputs=(), outputs=(), started: float | None = None,
                   **extra) -> dict:
    """Writes a stage's manifest: config, inputs, outputs, versions, timing, git commit."""
    record = {
        "stage": stage, "config": config,
        "inputs": [describe(p) for p in inputs], "outputs": [describe(p) for p in outputs],
        "seconds": None if started is None else round(time.time() - started, 3),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": package_versions(), "git_commit": git_commit(), **extra,
    }
    save_json(path, record)
    return record
