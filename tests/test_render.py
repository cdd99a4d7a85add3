"""The plot image: size, colours, panel placement, the saved PNG equal to the live render, and
agreement with a matplotlib figure of the same window."""

import numpy as np
import pytest
from PIL import Image

from tsad.core.paths import plot_name
from tsad.data.generate import render_all
from tsad.data.render import render_window


def _coloured(img, rgb):
    r, g, b = (img[..., k].astype(int) for k in range(3))
    if rgb == "red":
        return (r > 200) & (g < 120) & (b < 120)
    return (b > 200) & (r < 120) & (g < 120)


def test_two_panels_red_over_blue():
    t = np.linspace(0, 4 * np.pi, 256)
    img = render_window(np.column_stack([np.sin(t), np.cos(t)]))
    assert img.shape == (512, 512, 3) and img.dtype == np.uint8
    red, blue = _coloured(img, "red"), _coloured(img, "blue")
    red_rows, blue_rows = np.nonzero(red)[0], np.nonzero(blue)[0]
    assert red.sum() > 500 and blue.sum() > 500
    assert red_rows.max() < blue_rows.min()  # lead 1 above lead 2
    # matplotlib's default 2x1 subplot boxes: top panel rows 61-241, bottom 276-456, columns 64-461
    assert 55 <= red_rows.min() and red_rows.max() <= 245
    assert 270 <= blue_rows.min() and blue_rows.max() <= 460
    cols = np.nonzero(red | blue)[1]
    assert 60 <= cols.min() <= 90 and 435 <= cols.max() <= 465
    assert (img[:40] == 255).all() and (img[-40:] == 255).all()  # white margins


def test_flat_and_spiky_windows_render():
    flat = np.zeros((256, 2))
    img = render_window(flat)
    assert _coloured(img, "red").any() and _coloured(img, "blue").any()
    spiky = np.zeros((256, 2))
    spiky[100] = 5.0
    img = render_window(spiky)
    top = np.nonzero(_coloured(img, "red"))[0].min()
    assert top < 75  # the spike reaches the top of its panel


def _test_windows() -> np.ndarray:
    t = np.linspace(0, 4 * np.pi, 256)
    noisy = np.column_stack([np.sin(t) + 0.1 * np.random.default_rng(0).normal(size=256), np.cos(2 * t)])
    noisy[100, 0] += 3.0
    flat = np.zeros((256, 2))
    ramp = np.column_stack([np.linspace(-1, 1, 256), np.linspace(2, -5, 256)])
    return np.stack([noisy, flat, ramp]).astype(np.float32)


def test_saved_png_equals_the_live_render_pixel_for_pixel(tmp_path):
    """The data stage's PNGs (what the teacher trained on) and the app's live render_window agree."""
    windows = _test_windows()
    ids = np.array([5, 6, 7])
    render_all(windows, ids, tmp_path, workers=1)
    for i, window in zip(ids, windows):
        saved = np.asarray(Image.open(tmp_path / plot_name(i)).convert("RGB"))
        live = render_window(window)
        assert saved.shape == live.shape == (512, 512, 3)
        assert np.array_equal(saved, live), f"window {i}: {(saved != live).any(-1).sum()} pixels differ"


def _matplotlib_figure(window: np.ndarray) -> np.ndarray:
    """The original script's figure: 2x1 subplots, 5.12 in at 100 dpi, 1 pt red/blue lines, axes off."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(5.12, 5.12), dpi=100)
    for ax, lead, colour in zip(axes, range(2), ("red", "blue")):
        ax.plot(window[:, lead], color=colour, linewidth=1)
        ax.axis("off")
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return pixels


def _line(img, colour):
    r, g, b = (img[..., k].astype(int) for k in range(3))
    if colour == "red":
        return (r > 200) & (g < 150) & (b < 150)
    return (b > 200) & (r < 150) & (g < 150)


def _near(mask, pixels=1):
    from scipy import ndimage
    return ndimage.binary_dilation(mask, iterations=pixels)


@pytest.mark.parametrize("which", [0, 2])
def test_lines_overlap_a_matplotlib_figure_of_the_same_window(which):
    """Every saturated line pixel of one image lies within 1 px of the other's (measured: 98 % of them
    coincide exactly), and the line spans the same rows and columns to within a pixel."""
    window = _test_windows()[which]
    ours, reference = render_window(window), _matplotlib_figure(window)
    assert reference.shape == ours.shape
    for colour in ("red", "blue"):
        a, b = _line(ours, colour), _line(reference, colour)
        assert a.sum() > 300 and b.sum() > 300
        assert (a & _near(b)).sum() / a.sum() > 0.99, colour
        assert (b & _near(a)).sum() / b.sum() > 0.99, colour
        for axis in (0, 1):
            span_a, span_b = np.nonzero(a.any(axis=1 - axis))[0], np.nonzero(b.any(axis=1 - axis))[0]
            assert abs(span_a.min() - span_b.min()) <= 1 and abs(span_a.max() - span_b.max()) <= 1
