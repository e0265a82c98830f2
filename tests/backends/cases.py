"""The saved models and the explain calls whose TensorFlow results every backend must
reproduce. `scripts/make_backend_fixtures.py` runs `write_fixtures` under TensorFlow;
the backend suite loads the same `.keras` files and repeats the same calls.

Everything here is backend-neutral Keras (built-in layers only, so the files load on
every backend; callable targets use `keras.ops`)."""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

SIZE = 32  # every image model takes 32 x 32 x 3
BATCH = 2
FIXTURES = Path(__file__).parent / "fixtures"
REFERENCES = "references.npz"

# Options that keep the slow methods small; the rest run with their defaults.
SMALL_OPTIONS: dict[str, dict[str, Any]] = {
    "smoothgrad": {"n_samples": 4, "seed": 3},
    "integrated_gradients": {"steps": 8},
    "occlusion": {"window": 8},
}
# The model each method is explained on when it is not the plain CNN.
METHOD_MODEL = {"attention_rollout": "tokens"}


# ------------------------------------------------------------------ models
def _seeded(seed: int) -> None:
    keras.utils.set_random_seed(seed)


def cnn() -> keras.Model:
    """Conv(relu) -> pool -> Conv(relu, fused) -> GAP -> Dense(4, softmax)."""
    _seeded(10)
    inputs = keras.Input((SIZE, SIZE, 3), name="pixels")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(4, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name="cnn")


def backbone() -> keras.Model:
    """A small Functional feature extractor, used as one layer of `nested`."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(inputs)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv_b")(x)
    x = keras.layers.ReLU(name="relu_b")(x)
    return keras.Model(inputs, x, name="backbone")


def nested() -> keras.Model:
    """Input -> backbone (a model called as one layer) -> GAP -> Dense(3, softmax)."""
    _seeded(11)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = backbone()(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name="nested")


def siamese() -> keras.Model:
    """Two images through one shared encoder; the outputs are the two embeddings."""
    _seeded(12)
    image = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(image)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_b")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    encoder = keras.Model(image, keras.layers.Dense(6, name="embed")(x), name="encoder")
    left = keras.Input((SIZE, SIZE, 3), name="left")
    right = keras.Input((SIZE, SIZE, 3), name="right")
    return keras.Model([left, right], [encoder(left), encoder(right)], name="siamese")


def similarity(outputs: list[Any]) -> Any:
    """Cosine similarity of the two embeddings, one scalar per pair (a callable target)."""
    first, second = outputs
    dot = keras.ops.sum(first * second, axis=-1)
    norms = keras.ops.norm(first, axis=-1) * keras.ops.norm(second, axis=-1)
    return dot / (norms + 1e-6)


def bn_relu() -> keras.Model:
    """Conv -> BatchNorm -> ReLU layer -> Conv -> BatchNorm -> Activation('relu') -> GAP
    -> Dense(3, softmax); moving statistics set away from (0, 1)."""
    _seeded(13)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv1")(inputs)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.ReLU(name="relu1")(x)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv2")(x)
    x = keras.layers.BatchNormalization(name="bn2")(x)
    x = keras.layers.Activation("relu", name="relu2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="head")(x)
    model = keras.Model(inputs, outputs, name="bn_relu")
    rng = np.random.default_rng(13)
    for name in ("bn1", "bn2"):
        gamma, beta, mean, variance = model.get_layer(name).get_weights()
        model.get_layer(name).set_weights([
            rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
            rng.normal(0, 0.2, mean.shape), rng.uniform(0.5, 2.0, variance.shape)])
    return model


def binary() -> keras.Model:
    """Conv(relu) -> Conv(relu) -> GAP -> Dense(1, sigmoid): classes 0 and 1."""
    _seeded(14)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="head")(x)
    return keras.Model(inputs, outputs, name="binary")


def tokens() -> keras.Model:
    """A tiny vision transformer: 8 px patches (a 4 x 4 grid of 8-d tokens), two
    attention blocks, mean-pooled tokens -> Dense(3, softmax)."""
    _seeded(15)
    dim, grid = 8, SIZE // 8
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(dim, 8, strides=8, name="patch_embed")(inputs)
    x = keras.layers.Reshape((grid * grid, dim), name="tokens")(x)
    for index in range(2):
        normed = keras.layers.LayerNormalization(name=f"block{index}_ln_1")(x)
        attended = keras.layers.MultiHeadAttention(2, 4, name=f"block{index}_mha")(normed, normed)
        x = keras.layers.Add(name=f"block{index}_add_1")([x, attended])
        mlp = keras.layers.Dense(16, activation="gelu", name=f"block{index}_fc_1")(
            keras.layers.LayerNormalization(name=f"block{index}_ln_2")(x))
        x = keras.layers.Add(name=f"block{index}_add_2")(
            [x, keras.layers.Dense(dim, name=f"block{index}_fc_2")(mlp)])
    x = keras.layers.LayerNormalization(name="encoder_norm")(x)
    x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name="tokens")


def unet() -> keras.Model:
    """conv -> pool -> conv -> upsample -> concat skip -> conv -> 1x1 conv softmax (3)."""
    _seeded(16)
    inputs = keras.Input((SIZE, SIZE, 3))
    skip = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="enc")(inputs)
    down = keras.layers.MaxPooling2D(name="down")(skip)
    mid = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="mid")(down)
    up = keras.layers.UpSampling2D(name="up")(mid)
    merged = keras.layers.Concatenate(name="merge")([up, skip])
    decoded = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="dec")(merged)
    outputs = keras.layers.Conv2D(3, 1, activation="softmax", name="seg")(decoded)
    return keras.Model(inputs, outputs, name="unet")


BUILDERS: dict[str, Callable[[], keras.Model]] = {
    "cnn": cnn, "nested": nested, "siamese": siamese, "bn_relu": bn_relu,
    "binary": binary, "tokens": tokens, "unet": unet,
}


def model_path(name: str, folder: Path = FIXTURES) -> Path:
    return Path(folder) / f"{name}.keras"


def load(name: str, folder: Path = FIXTURES) -> keras.Model:
    """The saved model `name`, loaded under the current backend."""
    return keras.saving.load_model(model_path(name, folder), compile=False)


def images_for(name: str, batch: int = BATCH) -> np.ndarray | list[np.ndarray]:
    """The inputs every backend explains for model `name` (numpy only: the same arrays
    everywhere). The siamese model gets a list of two different batches."""
    rng = np.random.default_rng(sum(map(ord, name)))
    if name == "siamese":
        return [rng.random((batch, SIZE, SIZE, 3), np.float32) for _ in range(2)]
    return rng.random((batch, SIZE, SIZE, 3), np.float32)


# ------------------------------------------------------------------ cases
@dataclass(frozen=True)
class Case:
    """One explain call: on which saved model, with which keywords. `target` names a
    callable or a segmentation target by a string, so a case stays plain data."""

    model: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def name(self) -> str:
        parts = [self.model, self.kwargs.get("method", "gradcam")]
        parts += [self.label] if self.label else []
        if self.kwargs.get("guided"):
            parts.append("guided")
        return "-".join(parts)

    def explain_kwargs(self) -> dict[str, Any]:
        """The keywords for `explain`, with named targets made into objects."""
        from cam_widgets import SegmentationTarget

        kwargs = dict(self.kwargs)
        target = kwargs.get("target")
        if target == "similarity":
            kwargs["target"] = similarity
        elif isinstance(target, str) and target.startswith("segment:"):
            kwargs["target"] = SegmentationTarget(class_index=int(target.split(":")[1]))
        return kwargs


def method_cases() -> list[Case]:
    """Every registered method on its model, plus its guided variant where it has one."""
    import cam_widgets

    cases = []
    for method in cam_widgets.methods():
        model = METHOD_MODEL.get(method.name, "cnn")
        options = {"method": method.name, **SMALL_OPTIONS.get(method.name, {})}
        cases.append(Case(model, options))
        if method.guided_variant and not method.forces_guided:
            cases.append(Case(model, {**options, "guided": True}))
    return cases


EXTRA_CASES = [
    Case("cnn", {"method": "gradcam", "top_k": 2}, "top2"),
    Case("cnn", {"method": "gradcam", "layer": ["conv1", "conv2"]}, "two_layers"),
    Case("cnn", {"method": "layercam", "layer": "conv1", "target": [3, 0]}, "conv1_targets"),
    Case("cnn", {"method": "saliency", "logits": False}, "probabilities"),
    Case("nested", {"method": "gradcam", "layer": "backbone/conv"}, "path"),
    Case("nested", {"method": "gradcam"}, "default_layer"),
    Case("nested", {"method": "guided_backprop"}),
    Case("nested", {"method": "gradcam++", "layer": "backbone/relu_b", "guided": True}, "relu_b"),
    Case("siamese", {"method": "gradcam", "layer": "encoder/conv_b", "target": "similarity",
                     "input_index": 0}, "input0"),
    Case("siamese", {"method": "gradcam", "layer": "encoder/conv_b", "target": "similarity",
                     "input_index": 1}, "input1"),
    Case("siamese", {"method": "saliency", "target": "similarity", "input_index": 1}, "input1"),
    Case("bn_relu", {"method": "gradcam"}),
    Case("bn_relu", {"method": "guided_backprop"}),
    Case("bn_relu", {"method": "gradcam", "layer": "relu1", "target": [1, 2]}, "relu1"),
    Case("binary", {"method": "gradcam"}),
    Case("binary", {"method": "saliency", "target": 0}, "class0"),
    Case("binary", {"method": "saliency", "logits": False}, "probability"),
    Case("tokens", {"method": "gradcam"}, "token_layer"),
    Case("tokens", {"method": "saliency"}),
    Case("unet", {"method": "gradcam", "target": "segment:1"}, "segment1"),
]


def all_cases() -> list[Case]:
    return method_cases() + EXTRA_CASES


# ------------------------------------------------------------------ results as arrays
def result_arrays(result: Any) -> dict[str, np.ndarray]:
    """An ExplainResult as named arrays (a list `raw` becomes raw_0, raw_1, ...)."""
    arrays = {"maps": np.asarray(result.maps), "targets": np.asarray(result.targets),
              "scores": np.asarray(result.scores)}
    if isinstance(result.raw, list):
        arrays.update({f"raw_{i}": np.asarray(raw) for i, raw in enumerate(result.raw)})
    else:
        arrays["raw"] = np.asarray(result.raw)
    return arrays


def pack(case: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Stored form, to keep the fixtures small: maps (in [0, 1]) as float16, each raw
    array as float16 of raw / peak with its peak max|raw| as float32 (a rounding error
    of at most 2**-12 of the peak, a quarter of the suite's tolerance)."""
    stored = {}
    for key, value in arrays.items():
        if key == "maps":
            value = value.astype(np.float16)
        elif key.startswith("raw"):
            peak = np.float32(np.abs(value).max())
            stored[f"{case}/{key}.peak"] = peak
            value = (value / peak if peak > 0 else value).astype(np.float16)
        stored[f"{case}/{key}"] = value
    return stored


def unpack(stored: Any, case: str) -> dict[str, np.ndarray]:
    """The arrays of `case` from the stored references (`np.load` of the npz)."""
    prefix = f"{case}/"
    keys = [k[len(prefix):] for k in stored.files
            if k.startswith(prefix) and not k.endswith(".peak")]
    arrays = {}
    for key in keys:
        value = stored[prefix + key]
        if key.startswith("raw"):
            value = value.astype(np.float32) * stored[f"{prefix}{key}.peak"]
        arrays[key] = value.astype(np.float32) if key == "maps" else value
    return arrays


def run_case(case: Case, model: keras.Model) -> dict[str, np.ndarray]:
    from cam_widgets import explain

    return result_arrays(explain(model, images_for(case.model), **case.explain_kwargs()))


def write_fixtures(folder: Path = FIXTURES) -> dict[str, int]:
    """Save every model and the TensorFlow results of every case into `folder`;
    {file name: bytes} of what was written."""
    if keras.config.backend() != "tensorflow":
        raise RuntimeError(
            f"The reference results come from the TensorFlow backend; this process runs "
            f"{keras.config.backend()!r}. Run with KERAS_BACKEND=tensorflow.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, build in BUILDERS.items():
        build().save(model_path(name, folder))
    loaded = {name: load(name, folder) for name in BUILDERS}
    arrays = {}
    for case in all_cases():
        arrays.update(pack(case.name, run_case(case, loaded[case.model])))
    np.savez_compressed(folder / REFERENCES, **arrays)
    return {path.name: os.path.getsize(path) for path in sorted(folder.iterdir())}
