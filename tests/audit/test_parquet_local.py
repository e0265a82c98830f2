"""explain_to_parquet, local engine: rows equal explain(), files, resume, bad inputs."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
import tensorflow as tf
from PIL import Image

from cam_widgets import explain, explain_to_parquet, read_results
from cam_widgets.audit import maps_of
from cam_widgets.metrics import energy_in_box, pointing_game
from cam_widgets.render import resize
from tests.audit.helpers import as_uint8_images


def scale(x):
    return x / 255.0


def test_rows_equal_explain_and_the_metrics(shapes, held_out, tmp_path):
    summary = explain_to_parquet(shapes, held_out.images, tmp_path / "out", labels=held_out.labels,
                                 boxes=held_out.boxes, map_size=(16, 8), batch_size=8)
    assert (summary["written"], summary["skipped"], summary["failed"]) == (20, 0, {})
    assert summary["images_per_s"] > 0
    table = read_results(tmp_path / "out")
    expected = explain(shapes, held_out.images)
    assert table.column("id").to_pylist() == list(range(20))
    np.testing.assert_array_equal(table.column("target").to_numpy(), expected.targets)
    np.testing.assert_allclose(table.column("score").to_numpy(), expected.scores, rtol=1e-5)
    probs = shapes.predict(held_out.images, verbose=0)
    np.testing.assert_array_equal(table.column("predicted").to_numpy(), probs.argmax(1))
    np.testing.assert_allclose(table.column("probability").to_numpy(), probs.max(1), rtol=1e-5)
    np.testing.assert_array_equal(table.column("label").to_numpy(), held_out.labels)
    assert set(table.column("layer").to_pylist()) == {"last_conv"}
    assert set(table.column("method").to_pylist()) == {"gradcam"}
    small = np.stack([resize(m, (16, 8)) for m in expected.maps])
    stored = maps_of(table)
    assert stored.shape == (20, 16, 8)
    np.testing.assert_allclose(stored, small, atol=2**-11)  # float16 resolution on [0, 1]
    np.testing.assert_array_equal(table.column("pointing_game").to_numpy(zero_copy_only=False),
                                  pointing_game(expected.maps, held_out.boxes))
    np.testing.assert_allclose(table.column("energy_in_box").to_numpy(),
                               energy_in_box(expected.maps, held_out.boxes), rtol=1e-5)


def test_folder_with_a_non_image_and_a_corrupt_png(shapes, held_out, png_folder, tmp_path):
    folder = tmp_path / "images"
    shutil.copytree(png_folder, folder)
    (folder / "notes.txt").write_text("not a picture")
    good = (folder / "img_03.png").read_bytes()
    (folder / "img_03.png").write_bytes(good[: len(good) // 2])  # truncated PNG
    summary = explain_to_parquet(shapes, folder, tmp_path / "out", preprocess=scale, batch_size=6)
    assert summary["written"] == 19 and summary["skipped"] == 0
    assert sorted(summary["failed"]) == [str(folder / "img_03.png"), str(folder / "notes.txt")]
    assert all(reason for reason in summary["failed"].values())
    table = read_results(tmp_path / "out")
    keep = [i for i in range(20) if i != 3]
    assert table.column("id").to_pylist() == [str(folder / f"img_{i:02d}.png") for i in keep]
    expected = explain(shapes, as_uint8_images(held_out)[keep] / 255.0)
    np.testing.assert_array_equal(table.column("target").to_numpy(), expected.targets)
    np.testing.assert_allclose(table.column("score").to_numpy(), expected.scores, rtol=1e-5)


def test_files_are_resized_to_the_input_and_paths_can_be_a_list(shapes, held_out, tmp_path):
    big = tmp_path / "big.png"
    Image.fromarray(as_uint8_images(held_out)[0]).resize((100, 80)).save(big)
    summary = explain_to_parquet(shapes, [big], tmp_path / "out", preprocess=scale)
    assert summary["written"] == 1
    with Image.open(big) as opened:
        resized = np.asarray(opened.convert("RGB").resize((64, 64), Image.BILINEAR))
    expected = explain(shapes, resized[None] / 255.0)
    np.testing.assert_allclose(read_results(tmp_path / "out").column("score").to_numpy(),
                               expected.scores, rtol=1e-5)


def test_labelled_dataset_explains_the_labels(shapes, held_out, tmp_path):
    flipped = (held_out.labels + 1) % 4  # explain a class other than the predicted one
    dataset = tf.data.Dataset.from_tensor_slices((held_out.images, flipped)).batch(7)
    summary = explain_to_parquet(shapes, dataset, tmp_path / "out", target="label")
    assert summary["written"] == 20
    table = read_results(tmp_path / "out")
    np.testing.assert_array_equal(table.column("target").to_numpy(), flipped)
    np.testing.assert_array_equal(table.column("label").to_numpy(), flipped)
    expected = explain(shapes, held_out.images, target=flipped)
    np.testing.assert_allclose(table.column("score").to_numpy(), expected.scores, rtol=1e-5)
    again = explain_to_parquet(shapes, dataset, tmp_path / "out", target="label")
    assert (again["written"], again["skipped"]) == (0, 20)


class Interrupt(KeyboardInterrupt):
    pass


def test_interrupted_run_resumes_without_loss_or_duplicates(shapes, held_out, tmp_path):
    calls = []

    def stop_on_third_batch(x):
        calls.append(len(x))
        if len(calls) == 3:
            raise Interrupt  # Ctrl-C while the third batch is in flight
        return x

    out = tmp_path / "out"
    with pytest.raises(Interrupt):
        explain_to_parquet(shapes, held_out.images, out, preprocess=stop_on_third_batch,
                           batch_size=4)
    assert read_results(out).num_rows == 8  # two whole batches, nothing of the third
    (out / ".part-left-by-a-killed-run.parquet.tmp").write_bytes(b"PAR1 half a file")
    summary = explain_to_parquet(shapes, held_out.images, out, batch_size=4)
    assert (summary["written"], summary["skipped"]) == (12, 8)
    ids = read_results(out).column("id").to_pylist()
    assert ids == list(range(20))  # every image once
    assert not [p for p in os.listdir(out) if p.endswith(".tmp")]
    for name in os.listdir(out):
        pq.read_metadata(out / name)  # every file left is a whole Parquet file


def test_model_path_that_does_not_load_fails_before_any_work(held_out, tmp_path):
    broken = tmp_path / "model.keras"
    broken.write_text("not a zip archive")
    with pytest.raises(ValueError, match=r"Cannot load a Keras model from .*model\.keras"):
        explain_to_parquet(broken, held_out.images, tmp_path / "out")
    with pytest.raises(ValueError, match="no such file"):
        explain_to_parquet(tmp_path / "missing.keras", held_out.images, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_model_from_a_keras_file(shapes, held_out, tmp_path):
    saved = tmp_path / "shapes.keras"
    shapes.save(saved)
    explain_to_parquet(str(saved), held_out.images[:5], tmp_path / "out")
    expected = explain(shapes, held_out.images[:5])
    np.testing.assert_allclose(read_results(tmp_path / "out").column("score").to_numpy(),
                               expected.scores, rtol=1e-5)


def test_masks_give_the_metrics_in_the_object(shapes, held_out, tmp_path):
    explain_to_parquet(shapes, held_out.images, tmp_path / "out", masks=held_out.masks)
    table = read_results(tmp_path / "out")
    maps = explain(shapes, held_out.images).maps
    inside = (maps * held_out.masks).sum((1, 2)) / maps.sum((1, 2))
    np.testing.assert_allclose(table.column("energy_in_box").to_numpy(), inside, rtol=1e-5)
    peak = maps.reshape(20, -1).argmax(1)
    np.testing.assert_array_equal(table.column("pointing_game").to_numpy(zero_copy_only=False),
                                  held_out.masks.reshape(20, -1)[np.arange(20), peak])


@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"engine": "rayy"}, ValueError, "Did you mean 'ray'"),
    ({"map_size": (0, 4)}, ValueError, r"map_size must be \(height, width\)"),
    ({"boxes": np.zeros((3, 4))}, ValueError, r"boxes must have shape \(20, 4\)"),
    ({"masks": np.zeros((20, 32, 32))}, ValueError, r"masks must have shape \(20, 64, 64\)"),
    ({"target": "labels"}, ValueError, "target='labels' is not known"),
    ({"target": "label"}, ValueError, "target='label' needs `labels`"),
    ({"layer": "all"}, ValueError, "one map per image"),
    ({"top_k": 2}, ValueError, "`top_k` is not supported"),
    ({"batch_size": 0}, ValueError, "batch_size must be a positive int"),
    ({"preprocess": 3}, TypeError, "preprocess must be a callable"),
])
def test_bad_arguments(shapes, held_out, tmp_path, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        explain_to_parquet(shapes, held_out.images, tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_bad_images(shapes, held_out, tmp_path):
    with pytest.raises(ValueError, match=r"takes images of shape \(64, 64, 3\)"):
        explain_to_parquet(shapes, held_out.images[:, :32], tmp_path / "out")
    with pytest.raises(ValueError, match="is not a folder"):
        explain_to_parquet(shapes, str(tmp_path / "nowhere"), tmp_path / "out")
    with pytest.raises(ValueError, match="do not exist"):
        explain_to_parquet(shapes, [str(tmp_path / "nowhere.png")], tmp_path / "out")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        explain_to_parquet(shapes, held_out.images, tmp_path / "file")


def test_a_binary_sigmoid_head_stores_p_and_1_minus_p(tmp_path):
    """A one-unit sigmoid head has two classes: the row says 1 with probability p where
    p >= 0.5, else 0 with probability 1 - p (not a softmax of one value: 0 with 1.0)."""
    from tests.kernel.helpers import binary_logits, binary_sigmoid_model

    images = np.random.default_rng(18).random((6, 8, 8, 3)).astype(np.float32)
    model = binary_sigmoid_model(images)
    p = 1 / (1 + np.exp(-binary_logits(model, images)))
    labels = np.array([1, 1, 0, 0, 1, 1])
    explain_to_parquet(model, images, tmp_path / "out", labels=labels, map_size=(4, 4),
                       method="scorecam")
    table = read_results(tmp_path / "out")
    predicted = (p >= 0.5).astype(np.int64)
    assert 0 < predicted.sum() < 6
    np.testing.assert_array_equal(table.column("predicted").to_numpy(), predicted)
    np.testing.assert_allclose(table.column("probability").to_numpy(),
                               np.where(predicted == 1, p, 1 - p), rtol=1e-5)
    np.testing.assert_array_equal(table.column("target").to_numpy(), predicted)


def test_a_decompression_bomb_is_listed_with_its_reason(shapes, held_out, tmp_path, monkeypatch):
    small, big = tmp_path / "small.png", tmp_path / "big.png"
    pixels = as_uint8_images(held_out)[0]
    Image.fromarray(pixels[:16, :16]).save(small)  # 256 pixels
    Image.fromarray(pixels).save(big)  # 4096 pixels: more than twice the limit
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    summary = explain_to_parquet(shapes, [small, big], tmp_path / "out", preprocess=scale)
    assert summary["written"] == 1 and list(summary["failed"]) == [str(big)]
    assert "DecompressionBombError" in summary["failed"][str(big)]
