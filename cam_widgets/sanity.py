"""The model-randomisation sanity check (Adebayo et al. 2018, "Sanity Checks for Saliency
Maps"): re-initialise a copy of the model's weighted layers from the top, explain again
after each step, and measure how similar each map stays to the original one.

A method whose maps stay similar once the top layers are random does not depend on what
the model learned there. Randomisation runs on one copy of the model (the user's model is
never touched): `keras.models.clone_model` plus `set_weights`, then every variable of the
layer gets a fresh value from the layer's own initializer (`<name>_initializer`), seeded.
Keras ops and numpy only, so it runs on every Keras backend.

Similarities per step and image, as in the paper:
- `spearman_abs`: Spearman rank correlation of |signed map|,
- `spearman`: of the signed map (the CAM before its ReLU, or the input gradient summed
  over channels),
- `ssim`: structural similarity of the [0, 1] maps (scikit-image, its default constants,
  K1 = 0.01, K2 = 0.03, a 7x7 window),
- `hog`: Pearson correlation of the [0, 1] maps' histograms of oriented gradients
  (scikit-image's `hog`, 9 orientations, an 8x8 grid of cells, 2x2 cells per block).
A correlation with a constant map (nothing to rank) counts as 0.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from scipy.stats import rankdata
from skimage.feature import hog as skimage_hog
from skimage.metrics import structural_similarity

from cam_widgets.kernel import explain
from cam_widgets.kernel.graph import leaf_calls
from cam_widgets.render import resize


@dataclass(frozen=True)
class SanityCheck:
    """Maps of a model, then of copies whose layers were re-initialised, with similarities.

    `layers`: the layer paths in the order they were randomised, top first. `maps`
    (S + 1, B, H, W): the original maps, then the maps after each step. `spearman_abs`,
    `spearman`, `ssim`, `hog` (S, B): each step's similarity to the original maps.
    `cascade`: True when the steps accumulate (step s has layers[:s + 1] random), False
    when each step randomises its one layer only.
    """

    layers: tuple[str, ...]
    maps: np.ndarray
    spearman_abs: np.ndarray
    spearman: np.ndarray
    ssim: np.ndarray
    hog: np.ndarray
    method: str
    cascade: bool = True

    @property
    def layers_reset(self) -> tuple[str, ...]:
        """The layers randomised in the last step's model (`randomisation_check`'s name)."""
        return self.layers if self.cascade else self.layers[-1:]

    @property
    def original(self) -> np.ndarray:
        """(B, H, W) the maps of the model as it is."""
        return self.maps[0]

    @property
    def randomised(self) -> np.ndarray:
        """(B, H, W) the maps after the last step."""
        return self.maps[-1]

    @property
    def rank_correlation(self) -> np.ndarray:
        """(B,) Spearman correlation of the last step's [0, 1] maps with the original's."""
        return spearman(self.original, self.randomised)


def spearman(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per image Spearman rank correlation of two (B, H, W) maps (ties get average ranks,
    as `scipy.stats.spearmanr`); 0 where either map is constant."""
    a = rankdata(np.asarray(first, np.float64).reshape(len(first), -1), axis=1)
    b = rankdata(np.asarray(second, np.float64).reshape(len(second), -1), axis=1)
    return pearson(a, b)


def pearson(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per row Pearson correlation of two (B, N) arrays; 0 where either row is constant."""
    a = first - first.mean(axis=1, keepdims=True)
    b = second - second.mean(axis=1, keepdims=True)
    norm = np.sqrt((a * a).sum(1) * (b * b).sum(1))
    return np.divide((a * b).sum(1), norm, out=np.zeros(len(a)), where=norm > 0)


def ssim(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per image SSIM of two (B, H, W) maps in [0, 1] (scikit-image, data range 1)."""
    side = min(first.shape[1:])
    window = min(7, side if side % 2 else side - 1)
    return np.array([structural_similarity(a, b, data_range=1.0, win_size=window)
                     for a, b in zip(np.asarray(first, np.float64),
                                     np.asarray(second, np.float64))])


def hog_similarity(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per image Pearson correlation of the HOG features of two (B, H, W) maps."""
    height, width = first.shape[1:]
    cell = (max(1, height // 8), max(1, width // 8))

    def features(maps):
        return np.stack([skimage_hog(m, orientations=9, pixels_per_cell=cell,
                                     cells_per_block=(2, 2), feature_vector=True)
                         for m in np.asarray(maps, np.float64)])

    return pearson(features(first), features(second))


def randomisable_layers(model: keras.Model) -> list[str]:
    """Paths of the leaf layers with a variable that has an initializer, top first."""
    seen: set[int] = set()
    paths = []
    for call in reversed(leaf_calls(model)):
        if id(call.layer) in seen or not _initialised_variables(call.layer):
            continue
        seen.add(id(call.layer))
        paths.append(call.path)
    return paths


def _initialised_variables(layer: keras.layers.Layer) -> list[tuple[Any, Any]]:
    """(variable, its initializer) for each of the layer's own variables that has one."""
    pairs = []
    for variable in layer.weights:
        initializer = getattr(layer, f"{variable.name}_initializer", None)
        if initializer is not None:
            pairs.append((variable, keras.initializers.get(initializer)))
    return pairs


def reinitialise(layer: keras.layers.Layer, seed: int) -> None:
    """Fresh values for the layer's variables from their own initializers, seeded."""
    for variable, initializer in _initialised_variables(layer):
        config = initializer.get_config()
        if "seed" in config:
            config["seed"] = seed
        fresh = type(initializer).from_config(config)
        variable.assign(fresh(variable.shape, variable.dtype))


def _chosen_layers(model: keras.Model, layers: int | Sequence[str] | None) -> list[str]:
    available = randomisable_layers(model)
    if layers is None:
        return available
    if isinstance(layers, (int, np.integer)) and not isinstance(layers, bool):
        if not 1 <= layers <= len(available):
            raise ValueError(
                f"layers must be between 1 and {len(available)} (the layers with weights) "
                f"when it is a number of top layers; got {layers}.")
        return available[:int(layers)]
    if isinstance(layers, str) or not isinstance(layers, Sequence) or not layers:
        raise ValueError(
            f"layers must be None (all), a number of top layers or a list of layer paths "
            f"such as {available[:2]}; got {layers!r}.")
    unknown = [path for path in layers if path not in available]
    if unknown:
        raise ValueError(
            f"layers {unknown} have no weights to randomise in model {model.name!r}; "
            f"the layers with weights are {available}.")
    return [path for path in available if path in set(layers)]


def _signed(result: Any, size: tuple[int, int]) -> np.ndarray:
    """(B, H, W) the signed map: the CAM resized, or the input gradient summed over C."""
    raw = np.asarray(result.raw, np.float32)
    if raw.ndim == 4:
        raw = raw.sum(axis=-1)
    return np.stack([resize(m, size) for m in raw])


def sanity_check(
    model: keras.Model, images: Any, method: str = "gradcam",
    layers: int | Sequence[str] | None = None, target: Any = None, seed: int = 0,
    cascade: bool = True, **explain_options: Any,
) -> SanityCheck:
    """Adebayo et al.'s model-randomisation test on a copy of `model` (never the model).

    `layers`: which layers to randomise (None: every layer with weights; a number k: the
    top k; or a list of paths), always in order from the output down. With
    `cascade=True` step s re-initialises layers[s] on top of the earlier steps (the
    paper's cascading randomisation); with `cascade=False` only layers[s] (independent
    randomisation). The k-th layer of the list gets the seed `seed + k`, so both modes
    give a layer the same weights. Each image's class is fixed from the original model,
    so every map explains the same class. `explain_options` go to `explain` (`layer`,
    `input_index`, a method's options).
    """
    original = explain(model, images, method=method, target=target, **explain_options)
    chosen = _chosen_layers(model, layers)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    by_path = {call.path: call.layer for call in leaf_calls(copy)}
    pinned = target if callable(target) else original.targets
    size = original.maps.shape[1:]
    maps, signed = [original.maps], [_signed(original, size)]
    start = copy.get_weights()
    for step, path in enumerate(chosen):
        if not cascade:
            copy.set_weights(start)
        reinitialise(by_path[path], seed + step)
        result = explain(copy, images, method=method, target=pinned, **explain_options)
        maps.append(result.maps)
        signed.append(_signed(result, size))
    maps_array = np.stack(maps)
    similarity = {name: np.stack([measure(first, later) for later in rest])
                  if chosen else np.zeros((0, len(maps_array[0])))
                  for name, measure, first, rest in (
                      ("spearman_abs", spearman, np.abs(signed[0]), np.abs(signed[1:])),
                      ("spearman", spearman, signed[0], signed[1:]),
                      ("ssim", ssim, maps_array[0], maps_array[1:]),
                      ("hog", hog_similarity, maps_array[0], maps_array[1:]))}
    return SanityCheck(tuple(chosen), maps_array, method=original.method, cascade=cascade,
                       **{k: v.astype(np.float32) for k, v in similarity.items()})
