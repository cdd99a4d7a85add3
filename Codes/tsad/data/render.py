"""A window -> the 512x512 plot image the teacher reads.

The look is the one the original matplotlib script produced (two stacked panels with default
subplot margins, lead 1 red, lead 2 blue, line width 1 pt at 100 dpi, axes off, white
background, 5 % autoscale margins), drawn directly with PIL at twice the size and reduced, which
antialiases the line, and saved as a palette PNG. Building a matplotlib figure per window, as the
original did, is several times slower (benchmarks/bench_data_generate.py).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

SIZE = 512
COLORS = ((255, 0, 0), (0, 0, 255))
# Figure fractions of matplotlib's default 2x1 subplots: left, right, and (bottom, top) per panel.
_LEFT, _RIGHT = 0.125, 0.9
_PANELS = ((0.53, 0.88), (0.11, 0.46))
_MARGIN = 0.05
_SUPERSAMPLE = 2
_LINE_WIDTH_PX = 100 / 72  # 1 pt at 100 dpi
_LEVELS = 16  # antialiasing shades per colour


def _limits(values: np.ndarray) -> tuple[float, float]:
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-12:
        pad = max(abs(lo) * _MARGIN, 0.05)
        return lo - pad, hi + pad
    pad = (hi - lo) * _MARGIN
    return lo - pad, hi + pad


def step_x(n_steps: int, size: int = SIZE) -> np.ndarray:
    """The x pixel coordinate of each time step on the plot (PIL coordinates: x = i lies on pixel
    column i), the same for both panels: the x-axis spans 0.125..0.9 of the width with 5 % margins."""
    x_lo, x_hi = -_MARGIN * (n_steps - 1), (n_steps - 1) * (1 + _MARGIN)
    return (_LEFT + (np.arange(n_steps) - x_lo) / (x_hi - x_lo) * (_RIGHT - _LEFT)) * size


def column_to_step_weights(n_columns: int, n_steps: int, size: int = SIZE) -> np.ndarray:
    """(n_steps, n_columns) linear-interpolation weights that read a feature laid out in
    ``n_columns`` equal vertical strips of the image at each time step's x position.

    Strip j covers pixels [j, j + 1) * size / n_columns, its centre at (j + 0.5) * size / n_columns;
    a step at PIL coordinate x lies at the continuous position x + 0.5. Each row sums to 1; steps
    left of the first centre (or right of the last) take that strip alone.
    """
    strip = size / n_columns
    u = np.clip((step_x(n_steps, size) + 0.5) / strip - 0.5, 0, n_columns - 1)
    left = np.floor(u).astype(int)
    right = np.minimum(left + 1, n_columns - 1)
    frac = u - left
    weights = np.zeros((n_steps, n_columns))
    rows = np.arange(n_steps)
    np.add.at(weights, (rows, left), 1 - frac)
    np.add.at(weights, (rows, right), frac)
    return weights


def panel_points(series: np.ndarray, size: int = SIZE) -> list[np.ndarray]:
    """Pixel coordinates (x right, y down) of each lead's polyline."""
    series = np.asarray(series, np.float64)
    xs = step_x(series.shape[0], size)
    out = []
    for lead, (bottom, top) in enumerate(_PANELS[: series.shape[1]]):
        y_lo, y_hi = _limits(series[:, lead])
        frac = bottom + (series[:, lead] - y_lo) / (y_hi - y_lo) * (top - bottom)
        out.append(np.column_stack([xs, (1 - frac) * size]))
    return out


def _shades(rgb_full: tuple[int, int, int]) -> np.ndarray:
    """_LEVELS colours from white to ``rgb_full``: the antialiasing ramp of one lead."""
    k = np.arange(_LEVELS)[:, None] / (_LEVELS - 1)
    return np.round(255 - k * (255 - np.asarray(rgb_full)[None, :])).astype(np.uint8)


# Palette index = coverage level, offset by _LEVELS in the lower panel so it is drawn in blue.
PALETTE = np.concatenate([_shades(COLORS[0]), _shades(COLORS[1])])


def _palette_indices(series: np.ndarray) -> np.ndarray:
    series = np.asarray(series)
    if series.ndim != 2 or not 1 <= series.shape[1] <= 2:
        raise ValueError(f"expected a (samples, 1 or 2 leads) window, got shape {series.shape}")
    big = SIZE * _SUPERSAMPLE
    canvas = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(canvas)
    width = max(1, round(_LINE_WIDTH_PX * _SUPERSAMPLE))
    for points in panel_points(series, big):
        draw.line(points.ravel().tolist(), fill=255, width=width, joint="curve")
    coverage = np.asarray(canvas.reduce(_SUPERSAMPLE)).astype(np.uint16)
    index = ((coverage * (_LEVELS - 1) + 127) // 255).astype(np.uint8)
    # the panels never overlap: everything drawn below the middle belongs to lead 2
    lower = index[SIZE // 2:]
    lower[lower > 0] += _LEVELS
    return index


def render_window(series: np.ndarray) -> np.ndarray:
    """(L, 2) float window -> (512, 512, 3) uint8 RGB image, the pixels of the saved PNG."""
    return PALETTE[_palette_indices(series)]


def render_to_png(series: np.ndarray, path) -> None:
    """Writes the window as a palette PNG (two colour ramps): smaller and faster to encode than RGB,
    and identical to ``render_window`` once converted to RGB."""
    img = Image.fromarray(_palette_indices(series), "P")
    img.putpalette(PALETTE.ravel().tolist())
    img.save(path, format="PNG", compress_level=2)


def rendered(image_probs: Callable[[list], np.ndarray], samples: int, chunk: int = 32):
    """Window probabilities of a model that reads plots: (W, L, C) windows -> (W, L), the plots
    rendered on the fly (``render_window``, the pixels of the saved PNGs), ``chunk`` at a time."""

    def window_probs(windows: np.ndarray) -> np.ndarray:
        out = [image_probs([render_window(w) for w in windows[start:start + chunk]])
               for start in range(0, len(windows), chunk)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, samples), np.float32)

    return window_probs
