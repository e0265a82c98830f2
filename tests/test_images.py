"""cam_widgets.images: the one image reader (paths, PIL images, arrays), the
one-image-or-batch rule and the channel advice, without TensorFlow."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import cam_widgets
from cam_widgets import images

PIXELS = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "x.png"
    Image.fromarray(PIXELS).save(path)
    return path


def test_importing_the_reader_loads_no_tensorflow_or_keras():
    code = ("import sys, cam_widgets.images, cam_widgets.class_names, cam_widgets.render; "
            "print(sorted(n for n in sys.modules if n.split('.')[0] in ('tensorflow', 'keras')))")
    root = os.path.dirname(os.path.dirname(cam_widgets.__file__))  # this checkout first
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout.strip() == "[]"


def test_a_path_or_pil_image_is_decoded_to_the_channels_asked(png):
    np.testing.assert_array_equal(images.read_image(png), PIXELS)
    np.testing.assert_array_equal(images.read_image(str(png), 3), PIXELS)
    np.testing.assert_array_equal(images.read_image(Image.fromarray(PIXELS)), PIXELS)
    grey = images.read_image(png, 1)
    assert grey.shape == (5, 7, 1) and grey.dtype == np.uint8
    np.testing.assert_array_equal(grey[..., 0], np.asarray(Image.fromarray(PIXELS).convert("L")))
    rgba = images.read_image(png, 4)
    assert rgba.shape == (5, 7, 4) and (rgba[..., 3] == 255).all()


def test_size_resizes_a_decoded_image_bilinear(png):
    resized = images.read_image(png, 3, (10, 4))
    assert resized.shape == (10, 4, 3)
    np.testing.assert_array_equal(
        resized, np.asarray(Image.fromarray(PIXELS).resize((4, 10), Image.BILINEAR)))


def test_arrays_and_tensors_keep_their_values():
    values = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    assert images.read_image(values).shape == (3, 4, 1)  # a channel axis for (H, W)
    np.testing.assert_array_equal(images.read_image(values)[..., 0], values)

    class Tensor:  # anything with .numpy(), as a TensorFlow or torch tensor
        shape, dtype = (3, 4, 3), np.float32

        def numpy(self):
            return np.ones(self.shape, self.dtype)

    out = images.read_image(Tensor())
    assert out.dtype == np.float32 and out.shape == (3, 4, 3) and (out == 1).all()


def test_unreadable_files_name_the_file_and_the_cause(tmp_path, png, monkeypatch):
    with pytest.raises(images.ImageFileError, match=r"cannot read image file .*nope\.png.*does not exist"):
        images.read_image(tmp_path / "nope.png")
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    with pytest.raises(images.ImageFileError, match=r"notes\.txt.*UnidentifiedImageError"):
        images.read_image(text)
    cut = tmp_path / "cut.png"
    cut.write_bytes(png.read_bytes()[:-30])  # the header reads, the pixels do not
    with pytest.raises(images.ImageFileError, match=r"cut\.png.*OSError"):
        images.read_image(cut)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)  # 35 pixels > twice the limit
    with pytest.raises(images.ImageFileError, match=r"x\.png.*DecompressionBombError"):
        images.read_image(png)
    assert issubclass(images.ImageFileError, ValueError)


@pytest.mark.parametrize("shape, channels, count", [
    ((5, 6), None, 1),  # one grey image
    ((5, 6, 3), None, 1),
    ((4, 5, 6), None, 4),  # last axis not a channel count: a batch of grey images
    ((4, 5, 3), 1, 4),  # a grey model: only a last axis of 1 is a channel axis
    ((4, 5, 1), 1, 1),
    ((2, 5, 6, 3), None, 2),
])
def test_one_image_or_a_batch(shape, channels, count):
    assert len(images.split_images(np.zeros(shape), channels)) == count


def test_lists_are_batches(png):
    assert len(images.split_images([png, Image.fromarray(PIXELS), PIXELS])) == 3
    assert len(images.split_images(png)) == 1


@pytest.mark.parametrize("got, want, advice", [
    (4, 3, "Drop the alpha channel: `images[..., :3]` (for a PIL image, "
           "`image.convert('RGB')`)."),
    (1, 3, "Repeat the grey channel: `np.repeat(images, 3, axis=-1)`."),
    (3, 1, "Convert to grey: `images[..., :3] @ np.array([0.299, 0.587, 0.114])` (then add "
           "a channel axis), or `image.convert('L')` for a PIL image."),
    (2, 3, "Give images with 3 channel(s)."),
])
def test_channel_advice(got, want, advice):
    assert images.channel_advice(got, want) == advice
