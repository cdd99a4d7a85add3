"""The window geometry: sampling rate, window length, leads and label mode.

The data stage decides it once (``data_generate.py --fs --seconds --channels --labels``) and
records it in the workspace's data manifest; every later stage reads it from there, and every
checkpoint stores the geometry it was trained on, so a model is never fed windows of another shape
and every tolerance in samples follows from the rate.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from tsad.core.paths import DATA_MANIFEST

# ANSI/AAMI EC57 and PhysioNet's bxb match a detected beat to a reference beat within 150 ms.
EC57_TOLERANCE_S = 0.150


def tolerance_samples(fs: float, seconds: float = EC57_TOLERANCE_S) -> int:
    """A time tolerance in whole samples at ``fs``, floored.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    seconds : float
        The tolerance as a time (default EC57's 150 ms).

    Returns
    -------
    int
        The largest whole number of samples within ``seconds``: 150 ms is 19 samples at 128 Hz,
        37 at 250 Hz, 54 at 360 Hz (the 1e-9 keeps 0.150 x 360 = 54 from flooring to 53).
    """
    return math.floor(seconds * fs + 1e-9)


class GeometryError(ValueError):
    """Windows or a checkpoint whose geometry does not fit; the message names the file."""


@dataclass(frozen=True)
class WindowGeometry:
    """The shape every window of a workspace shares.

    Attributes
    ----------
    fs : float
        Sampling rate of the windows in Hz (records at another rate are resampled to it).
    samples : int
        Samples per window (``seconds * fs``).
    channels : tuple of int
        Which leads of the records were kept, in order; ``len(channels)`` is the model's input size.
    labels : str
        Label mode of the per-sample labels (``beats``, ``all`` or ``abnormal``).
    """

    fs: float = 128.0
    samples: int = 256
    channels: tuple[int, ...] = (0, 1)
    labels: str = "beats"

    def __post_init__(self):
        object.__setattr__(self, "fs", float(self.fs))
        object.__setattr__(self, "samples", int(self.samples))
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if self.fs <= 0 or self.samples <= 0 or not self.channels:
            raise GeometryError(f"invalid window geometry {self}")

    @classmethod
    def from_seconds(cls, fs: float, seconds: float, channels=(0, 1), labels: str = "beats") -> "WindowGeometry":
        """The geometry of windows of ``seconds`` at ``fs``."""
        return cls(fs, int(round(seconds * fs)), tuple(channels), labels)

    @property
    def n_leads(self) -> int:
        """Number of leads, the models' input size."""
        return len(self.channels)

    @property
    def seconds(self) -> float:
        """Window length in seconds."""
        return self.samples / self.fs

    def tolerance_samples(self, seconds: float = EC57_TOLERANCE_S) -> int:
        """A time tolerance in whole samples at this rate (floored: 150 ms is 19 samples at 128 Hz,
        37 at 250 Hz, 54 at 360 Hz): ``tolerance_samples`` at this rate."""
        return tolerance_samples(self.fs, seconds)

    def to_dict(self) -> dict:
        """A JSON-ready dict (what manifests and checkpoints store)."""
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = "geometry") -> "WindowGeometry":
        """The geometry stored by ``to_dict``; GeometryError names ``source`` when it is not one."""
        try:
            return cls(fs=d["fs"], samples=d["samples"], channels=tuple(d["channels"]),
                       labels=d.get("labels", "beats"))
        except (KeyError, TypeError) as err:
            raise GeometryError(f"{source}: not a window geometry ({err!r})") from err

    def describe(self) -> str:
        """The geometry in words, for messages."""
        return (f"{self.samples} samples at {self.fs:g} Hz ({self.seconds:g} s), leads {list(self.channels)}, "
                f"labels {self.labels}")

    def check_matches(self, other: "WindowGeometry", source: str) -> None:
        """Raises GeometryError naming ``source`` when ``other`` differs from this geometry."""
        if other != self:
            raise GeometryError(f"{source}: trained on {other.describe()}, but the data has {self.describe()}")


def read_manifest_geometry(manifest_path) -> WindowGeometry | None:
    """The geometry recorded in a data manifest, or None when the manifest predates it."""
    path = Path(manifest_path)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise GeometryError(f"{path}: unreadable manifest ({err})") from err
    if "geometry" in record:
        return WindowGeometry.from_dict(record["geometry"], str(path))
    config = record.get("config") or {}
    if {"fs", "seconds", "channels"} <= set(config):
        return WindowGeometry.from_seconds(config["fs"], config["seconds"], config["channels"],
                                           config.get("labels", "beats"))
    return None


def load_workspace_geometry(ws) -> WindowGeometry:
    """The geometry the workspace's data stage recorded in its data manifest.

    Parameters
    ----------
    ws : tsad.core.paths.Workspace
        The workspace; its ``data_manifest.json`` is written by ``data_generate.py``.

    Returns
    -------
    WindowGeometry
        The recorded geometry; a workspace whose manifest predates it (or that has only a split,
        as the tests' fixtures) gets the original 128 Hz with the test split's window length and
        leads (256 samples on two leads without a split).
    """

    recorded = read_manifest_geometry(ws.root / DATA_MANIFEST)
    if recorded is not None:
        return recorded
    test = ws.split_npy("test")
    if not test.is_file():
        return WindowGeometry()
    import numpy as np

    shape = np.load(test, mmap_mode="r").shape
    if len(shape) != 3:
        raise GeometryError(f"{test}: windows of shape {shape}, expected (windows, samples, leads)")
    return WindowGeometry(samples=shape[1], channels=tuple(range(shape[2])))


def checkpoint_geometry(header: dict, source: str = "checkpoint") -> WindowGeometry:
    """The geometry a checkpoint was trained on (its ``"geometry"`` entry); checkpoints written
    before it was stored were all trained on the original 2-s, 128 Hz windows, with as many leads
    as the model's input size."""
    if header.get("geometry"):
        return WindowGeometry.from_dict(header["geometry"], str(source))
    n_leads = (header.get("model_config") or {}).get("input_size", 2)
    return WindowGeometry(channels=tuple(range(n_leads)))


def check_checkpoint_geometry(header: dict, geometry: WindowGeometry, source) -> None:
    """Stops with a GeometryError naming ``source`` when a checkpoint was trained on another geometry.

    Parameters
    ----------
    header : dict
        The checkpoint's entries (see ``checkpoint_geometry``).
    geometry : WindowGeometry
        The workspace's geometry.
    source : str or Path
        The checkpoint or run folder, for the message.
    """
    geometry.check_matches(checkpoint_geometry(header, str(source)), str(source))
