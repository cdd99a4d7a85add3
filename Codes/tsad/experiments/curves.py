"""Loss curves of the trained runs: one figure per run and one comparing them all."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tsad.core import paths
from tsad.core.fileio import load_npy
from tsad.scoring.plots import save_figure
from tsad.training import grid


@dataclass
class LossCurves:
    """A run's train and validation loss per epoch."""
    run: str
    train: np.ndarray
    val: np.ndarray


def find_loss_curves(ws: paths.Workspace) -> list[LossCurves]:
    """Every folder of the workspace holding both loss files: the registry's runs in its order, then
    any other run folder by name."""

    runs = []
    if not ws.root.is_dir():
        return runs
    order = {run.name: k for k, run in enumerate(grid.runs())}
    folders = sorted((p for p in ws.root.iterdir() if p.is_dir()), key=lambda p: (order.get(p.name, len(order)), p.name))
    for folder in folders:
        train, val = folder / paths.TRAIN_LOSSES, folder / paths.VAL_LOSSES
        if train.is_file() and val.is_file():
            runs.append(LossCurves(folder.name, load_npy(train, expect_ndim=1), load_npy(val, expect_ndim=1)))
    return runs


def _figure():
    import matplotlib.pyplot as plt  # the Agg backend is chosen by .plots

    return plt.subplots(figsize=(7, 4.5))


def _save(fig, ax, path: Path, title: str) -> Path:
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    return path


def plot_run(curves: LossCurves, path) -> Path:
    """Writes one run's loss curves to ``path``."""
    fig, ax = _figure()
    ax.plot(np.arange(1, len(curves.train) + 1), curves.train, "o-", label="train")
    ax.plot(np.arange(1, len(curves.val) + 1), curves.val, "s--", label="validation")
    return _save(fig, ax, Path(path), f"{curves.run}: loss per epoch")


def plot_comparison(runs: list[LossCurves], path) -> Path:
    """Writes every run's loss curves in one figure to ``path``."""
    fig, ax = _figure()
    for i, c in enumerate(runs):
        color = f"C{i % 10}"
        ax.plot(np.arange(1, len(c.train) + 1), c.train, "-", color=color, label=f"{c.run} train")
        ax.plot(np.arange(1, len(c.val) + 1), c.val, "--", color=color, label=f"{c.run} val")
    # KD losses carry the T^2-weighted soft term, so their level is not comparable to BCE's: the
    # comparison is of shapes (convergence, over-fitting), not of heights.
    return _save(fig, ax, Path(path), "train (solid) and validation (dashed) loss")


def plot_all_losses(ws: paths.Workspace) -> list[Path]:
    """Writes Plots/losses_<run>.png for every run and Plots/losses_all.png; returns the paths."""
    runs = find_loss_curves(ws)
    if not runs:
        raise FileNotFoundError(f"{ws.root}: no run folder with {paths.TRAIN_LOSSES} and "
                                f"{paths.VAL_LOSSES}; train a model first")
    written = [plot_run(c, ws.plots / f"losses_{c.run}.png") for c in runs]
    written.append(plot_comparison(runs, ws.plots / "losses_all.png"))
    return written
