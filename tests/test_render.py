"""render: display conversion, normalisation, resize, colormaps, blending, PNG."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pytest
from PIL import Image

from cam_widgets import render


# ------------------------------------------------------------------ images for display
@pytest.mark.parametrize(
    "image, expected",
    [
        (np.array([[0, 128, 255]], np.uint8), [0, 128, 255]),  # uint8 as is
        (np.array([[0.0, 0.5, 1.0]], np.float32), [0, 128, 255]),  # [0, 1] x 255
        (np.array([[0.0, 100.4, 255.0]], np.float64), [0, 100, 255]),  # [0, 255] rounded
        (np.array([[-1.0, 0.0, 1.0]], np.float32), [0, 128, 255]),  # else min-max stretched
        (np.array([[False, True, True]]), [0, 255, 255]),  # bool
        (np.array([[3.0, 3.0, 3.0]], np.float32) * 100, [255, 255, 255]),  # constant > 255
    ],
)
def test_to_rgb8_reads_the_range(image, expected):
    rgb = render.to_rgb8(image)
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 3, 3)
    np.testing.assert_array_equal(rgb[0, :, 0], expected)
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])  # grey repeated to RGB


def test_to_rgb8_channels():
    grey = np.arange(6, dtype=np.uint8).reshape(2, 3, 1)
    assert render.to_rgb8(grey).shape == (2, 3, 3)
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., 3] = 7
    assert render.to_rgb8(rgba).shape == (2, 3, 3)
    assert (render.to_rgb8(rgba) == 0).all()


def test_to_rgb8_rejects_non_finite():
    with pytest.raises(ValueError, match="NaN"):
        render.to_rgb8(np.array([[np.nan, 0.0]], np.float32))


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros(5), "got shape \\(5,\\)"),
        (np.zeros((4, 4, 2)), "got shape \\(4, 4, 2\\)"),
        (np.zeros((1, 4, 4, 3)), "got shape \\(1, 4, 4, 3\\)"),
        ("no/such/file.png", "cannot read image file"),
        (None, "expected an image array"),
        ({"a": 1}, "expected an image array"),
    ],
)
def test_load_image_errors_name_the_problem(bad, message):
    with pytest.raises(ValueError, match=message):
        render.load_image(bad)


def test_load_image_reads_paths_and_pil(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    path = tmp_path / "x.png"
    Image.fromarray(pixels).save(path)
    np.testing.assert_array_equal(render.load_image(path), pixels)
    np.testing.assert_array_equal(render.load_image(str(path)), pixels)
    np.testing.assert_array_equal(render.load_image(Image.fromarray(pixels)), pixels)
    assert render.load_image(path, mode="L").shape == (5, 7)


# ------------------------------------------------------------------ maps
def test_resize_float_and_exact_when_same_size():
    m = np.random.default_rng(1).random((7, 7)).astype(np.float32)
    assert render.resize(m, (7, 7)) is m
    big = render.resize(m, (28, 35))
    assert big.shape == (28, 35) and big.dtype == np.float32
    assert m.min() - 1e-6 <= big.min() and big.max() <= m.max() + 1e-6  # bilinear: no overshoot
    np.testing.assert_allclose(
        render.resize(np.full((3, 3), 0.3, np.float32), (9, 9)), 0.3, atol=1e-6
    )
    assert render.resize(m, (3, 2), resample="nearest").shape == (3, 2)
    with pytest.raises(ValueError, match="resample"):
        render.resize(m, (3, 3), resample="lanczos9")


@pytest.mark.parametrize("name", ["jet", "viridis", "inferno", "turbo", "gray"])
def test_colorize_is_matplotlibs_colormap(name):
    assert name in render.COLORMAPS
    m = np.linspace(0, 1, 300, dtype=np.float32).reshape(15, 20)
    rgba = render.colorize(m, name)
    assert rgba.dtype == np.uint8 and rgba.shape == (15, 20, 4)
    np.testing.assert_array_equal(rgba, matplotlib.colormaps[name](m, bytes=True))
    assert (rgba[..., 3] == 255).all()


def test_colorize_clips_and_rejects_unknown():
    low = render.colorize(np.array([[-5.0]]), "viridis")
    np.testing.assert_array_equal(low, render.colorize(np.array([[0.0]]), "viridis"))
    with pytest.raises(ValueError, match="unknown colormap 'nope'.*viridis"):
        render.colorize(np.zeros((2, 2)), "nope")


def test_every_offered_colormap_exists_and_is_matplotlibs_at_both_ends():
    ends = np.array([[0.0, 1.0]], np.float32)
    for name in render.COLORMAPS:
        rgba = render.colorize(ends, name)
        np.testing.assert_array_equal(rgba, matplotlib.colormaps[name](ends, bytes=True),
                                      err_msg=name)
        assert (rgba[0, 0, :3] != rgba[0, 1, :3]).any(), f"{name}: low and high look alike"


# ------------------------------------------------------------------ compositing
def _rgba(seed: int, shape=(6, 5)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape + (4,), dtype=np.uint8)


@pytest.mark.parametrize("opacity", [0.0, 0.25, 0.5, 0.7, 1.0])
def test_blend_within_one_level(opacity):
    base, top = _rgba(0), _rgba(1)
    out = render.blend(base, top, opacity)
    exact = (1 - opacity) * base[..., :3].astype(float) + opacity * top[..., :3].astype(float)
    assert np.abs(out[..., :3].astype(float) - exact).max() <= 0.5 + 1e-6
    assert (out[..., 3] == 255).all()
    if opacity == 0.0:
        np.testing.assert_array_equal(out[..., :3], base[..., :3])
    if opacity == 1.0:
        np.testing.assert_array_equal(out[..., :3], top[..., :3])


def test_blend_rejects_bad_input():
    with pytest.raises(ValueError, match="opacity"):
        render.blend(_rgba(0), _rgba(1), 1.5)
    with pytest.raises(ValueError, match="one shape"):
        render.blend(_rgba(0), _rgba(1, (5, 5)), 0.5)


def test_side_by_side_and_png_roundtrip():
    panels = [_rgba(i) for i in range(3)]
    strip = render.side_by_side(*panels)
    assert strip.shape == (6, 15, 4)
    np.testing.assert_array_equal(strip[:, 5:10], panels[1])
    for level in (1, 6):
        decoded = Image.open(io.BytesIO(render.encode_png(strip, compress_level=level)))
        assert decoded.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(decoded), strip)
    with pytest.raises(ValueError, match="uint8"):
        render.encode_png(np.zeros((2, 2, 3), np.uint8))


def test_fit_display():
    rgb = np.zeros((100, 50, 3), np.uint8)
    assert render.fit_display(rgb, 200) is rgb
    assert render.fit_display(rgb, 40).shape == (40, 20, 3)


@pytest.mark.parametrize("shape", [(1, 1), (3, 1), (1, 5), (17, 9)])
@pytest.mark.parametrize("level", [0, 1, 9])
def test_encode_png_is_lossless_at_any_size(shape, level):
    rgba = np.random.default_rng(7).integers(0, 256, shape + (4,), dtype=np.uint8)
    decoded = Image.open(io.BytesIO(render.encode_png(rgba, compress_level=level)))
    assert decoded.format == "PNG" and decoded.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(decoded), rgba)


def test_indexed_png_decodes_to_its_palette_colours():
    palette = np.zeros((256, 3), np.uint8)
    palette[:, 0] = np.arange(256)
    palette[:, 2] = 255 - np.arange(256)
    indices = np.array([[0, 1, 255], [128, 7, 7]], np.uint8)
    png = render.encode_indexed_png(indices, palette, compress_level=1)
    with Image.open(io.BytesIO(png)) as decoded:
        assert decoded.format == "PNG" and decoded.mode == "P"
        rgb = np.asarray(decoded.convert("RGB"))
    np.testing.assert_array_equal(rgb, palette[indices])
    with pytest.raises(ValueError, match=r"needs \(H, W\) uint8"):
        render.encode_indexed_png(indices.astype(np.int32), palette)
