"""The viewer's pure compose module: colour scales, the diverging map, the colour bar and
the captioned figure, checked pixel by pixel against matplotlib's published colours."""

from __future__ import annotations

import numpy as np
import pytest

from cam_widgets import render
from cam_widgets.viewer import compose

# matplotlib's colormaps as bytes at 0, 0.25, 0.5, 0.75, 1 (literal, from matplotlib 3.x)
RDBU_R = [(5, 48, 97), (107, 172, 208), (247, 246, 246), (228, 128, 101), (103, 0, 31)]
JET = [(0, 0, 127), (0, 128, 255), (124, 255, 121), (255, 148, 0), (127, 0, 0)]


def test_a_signed_map_is_centred_on_zero_in_a_diverging_colormap():
    values = np.array([[-2.0, -1.0, 0.0, 1.0, 2.0], [0.5, 0.0, 0.0, 0.0, -0.5]], np.float32)
    colours = compose.colour_scale(values, signed=True, colormap="auto", scale="map")
    assert colours == compose.ColourScale("RdBu_r", -2.0, 2.0, True)
    heat = compose.heatmap(values, colours)
    assert [tuple(px[:3]) for px in heat[0]] == RDBU_R
    assert tuple(heat[1, 1, :3]) == (247, 246, 246)  # zero is white, wherever it is
    assert (heat[..., 3] == 255).all()
    # an unbalanced map is still centred: -1 .. 4 -> the scale is -4 .. 4, zero stays white
    lopsided = np.array([[-1.0, 0.0, 4.0]], np.float32)
    colours = compose.colour_scale(lopsided, True, "auto", "map")
    assert (colours.low, colours.high) == (-4.0, 4.0)
    assert tuple(compose.heatmap(lopsided, colours)[0, 1, :3]) == (247, 246, 246)


def test_a_map_without_sign_runs_from_its_low_end_to_its_peak_in_jet():
    values = np.array([[1.0, 1.5, 2.0, 2.5, 3.0]], np.float32)
    colours = compose.colour_scale(values, signed=False, colormap="auto", scale="map")
    assert colours == compose.ColourScale("jet", 1.0, 3.0, False)
    assert [tuple(px[:3]) for px in compose.heatmap(values, colours)[0]] == JET


def test_shared_scale_makes_a_weak_map_look_weak():
    weak = np.array([[0.0, 0.25, 0.5]], np.float32)
    own = compose.colour_scale(weak, False, "jet", "map")
    shared = compose.colour_scale(weak, False, "jet", "shared", peak=2.0)
    assert (own.low, own.high) == (0.0, 0.5) and (shared.low, shared.high) == (0.0, 2.0)
    assert tuple(compose.heatmap(weak, own)[0, 2, :3]) == JET[4]  # its own peak: dark red
    assert [tuple(p[:3]) for p in compose.heatmap(weak, shared)[0]] == [JET[0], (0, 0, 255),
                                                                         JET[1]]
    # a signed shared scale keeps zero at the middle and grows to cover this map
    signed = compose.colour_scale(np.array([[-3.0, 1.0]]), True, "auto", "shared", peak=2.0)
    assert (signed.low, signed.high) == (-3.0, 3.0)
    with pytest.raises(ValueError, match="scale must be 'map' or 'shared'"):
        compose.colour_scale(weak, False, "jet", "global")


def test_colour_bar_columns_are_the_colormap_and_its_values_are_written_below():
    colours = compose.ColourScale("RdBu_r", -0.5, 0.5, True)
    bar = compose.colour_bar(colours, width=5)
    strip = bar[: compose.BAR_HEIGHT]
    for row in strip:  # every row of the strip: column j is the colormap at j / (width - 1)
        assert [tuple(px[:3]) for px in row] == RDBU_R
    wide = compose.colour_bar(compose.ColourScale("jet", 0.0, 0.8, False), width=200)
    assert wide.shape == (compose.BAR_HEIGHT + 15, 200, 4) and (wide[..., 3] == 255).all()
    np.testing.assert_array_equal(
        wide[0, :, :3], render.colorize(np.linspace(0, 1, 200)[None], "jet")[0, :, :3])
    text = wide[compose.BAR_HEIGHT :, :, :3]
    inked = np.flatnonzero((text < 128).all(-1).any(0))  # columns with dark text
    # three labels ("0", "0.4", "0.8"): at the left end, the middle and the right end
    assert inked.min() < 10 and inked.max() > 190 and ((inked > 80) & (inked < 120)).any()
    assert not ((inked > 30) & (inked < 70)).any()


def test_format_value_keeps_three_significant_digits():
    assert [compose.format_value(v) for v in (0.0, 0.99612, 4.5678e-05, 1234.5, -0.125)] == [
        "0", "0.996", "4.57e-05", "1.23e+03", "-0.125"]


def test_figure_is_captions_then_enlarged_panels_then_the_colour_bar():
    rng = np.random.default_rng(0)
    image = render.to_rgba8(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    heat = compose.heatmap(rng.random((16, 16)).astype(np.float32),
                           compose.ColourScale("jet", 0.0, 1.0, False))
    overlay = compose.blend_overlay(image, heat, 0.5)
    colours = compose.ColourScale("jet", 0.0, 1.0, False)
    fig = compose.figure(image, heat, overlay, ["disc (class 0)", "gradcam"], colours)
    factor = 12  # 16 px enlarged to at least 192
    strip = render.side_by_side(*(np.repeat(np.repeat(p, factor, 0), factor, 1)
                                  for p in (image, heat, overlay)))
    top = next(r for r in range(fig.shape[0]) if np.array_equal(fig[r], strip[0]))
    np.testing.assert_array_equal(fig[top : top + 192], strip)
    assert top >= 2 * 13  # two caption lines above
    caption = fig[:top, :, :3]
    assert (caption < 100).all(-1).any()  # dark text on white
    below = fig[top + 192 :]
    bar_row = below[4]  # the colour bar sits under the heatmap panel only
    np.testing.assert_array_equal(
        bar_row[192:384, :3], render.colorize(np.linspace(0, 1, 192)[None], "jet")[0, :, :3])
    assert (bar_row[:192, :3] == 255).all() and (bar_row[384:, :3] == 255).all()
    # the browser's 8-bit alpha: opacity 0.5 is drawn as 128/255
    np.testing.assert_array_equal(overlay, render.blend(image, heat, 128 / 255))


@pytest.mark.parametrize("name", ["jet", "viridis", "RdBu_r", "gray", "turbo"])
def test_heatmap_table_lookup_equals_matplotlib_pixel_for_pixel(name):
    values = np.concatenate([np.random.default_rng(1).random((40, 40)),
                             np.linspace(0, 1, 1600).reshape(40, 40)]).astype(np.float32)
    colours = compose.ColourScale(name, 0.0, 1.0, False)
    np.testing.assert_array_equal(compose.heatmap(values, colours),
                                  render.colorize(values, name))
