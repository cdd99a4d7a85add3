"""The plot image: size, colours, panel placement, and agreement with matplotlib's geometry."""

import numpy as np

from tsad.render import render_window


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
