"""Maps through the kernel for the viewer, with its caches (no widgets); the warnings
raised meanwhile become the map's notes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cam_widgets import render
from cam_widgets.viewer.notices import caught_warnings
from cam_widgets.viewer.regions import DenseOutput, clipped, pixel_shares, region_mask
from cam_widgets.viewer.scheduler import KERNEL_LOCK
from cam_widgets.viewer.state import LRU, ImageSet, Settings


@dataclass(frozen=True)
class Explanation:
    """One computed map, ready to paint, and how it was obtained."""

    settings: Settings  # resolved: layer is a path (CAM methods), target an int or callable
    map: np.ndarray  # float32 (h, w) in [0, 1] at the display size (the kernel's map)
    target: int  # class index (-1 for a callable target)
    score: float  # the differentiated score
    predictions: np.ndarray | None  # (K,) the model's output (segmentation: pixel shares)
    seconds: float
    source: str  # "full pass", "from cached activations", "cached"
    note: str = ""  # e.g. where guided ReLU could not be applied
    values: np.ndarray | None = None  # float32 (h, w): the unnormalised map at display size
    signed: bool = False  # values keep their sign (zero means "no effect")


def display_values(result: Any, signed: bool, size: tuple[int, int]) -> np.ndarray:
    """The first image's unnormalised map at `size`: a CAM after its ReLU, the input
    gradient's channel mean when signed, else its largest magnitude over channels."""
    raw = result.raw[0] if isinstance(result.raw, list) else result.raw
    raw = np.asarray(raw, dtype=np.float32)[0]
    if raw.ndim == 3:
        values = raw.mean(axis=-1) if signed else np.abs(raw).max(axis=-1)
    else:
        values = raw if signed else np.maximum(raw, 0.0)
    return render.resize(np.nan_to_num(values), size)


def _explanation(res: Any, s: Settings, display_size: tuple[int, int], dense: bool,
                 source: str, notices: list[str]) -> Explanation:
    """The first image of a kernel result, ready to paint at `display_size`; `notices`
    are the warnings raised meanwhile (`caught_warnings`)."""
    maps = np.asarray(res.maps, dtype=np.float32)[0]
    heat = np.clip(render.resize(maps, display_size), 0.0, 1.0)
    predictions = None if res.predictions is None else np.asarray(res.predictions)[0]
    if dense and predictions is not None:
        predictions = pixel_shares(predictions)
    notes = []
    coverage = getattr(res, "guided_coverage", None)
    if coverage is not None and not getattr(coverage, "complete", True):
        summary = coverage.summary()
        notes.append("guided ReLU: " + summary.splitlines()[0])
        notices = [n for n in notices if " ".join(summary.split()) not in n]  # said above
    signed = bool(res.signed)
    return Explanation(s, heat, int(res.targets[0]), float(res.scores[0]), predictions,
                       0.0, source, " · ".join(dict.fromkeys([*notes, *notices])),
                       display_values(res, signed, display_size), signed)


class Explainer:
    """Computes maps through the kernel, with three caches.

    - results: (image, input, layer, target, method, guided) -> Explanation (bounded LRU);
    - activations: (image, input, layer) -> the layer output, so a class or method change
      on the same layer runs only from the layer to the output (bounded LRU);
    - predictions per image, so "the top prediction" resolves to a class without a call.

    For a segmentation model (`dense`) a class c is explained over its predicted pixels,
    or over the settings' region, as `SegmentationTarget(c, mask)`; its "predictions"
    are the classes' pixel shares, and the top class is the one on the most pixels.
    """

    def __init__(
        self,
        kernel: Any,
        model: Any,
        images: ImageSet,
        cache_size: int = 32,
        activation_cache_size: int = 8,
        traced: set[tuple] | None = None,
        dense: DenseOutput | None = None,
    ) -> None:
        self.kernel, self.dense = kernel, dense
        #: the kinds of kernel call made so far (`trace_key`), shared by a viewer's shows
        self.traced = set() if traced is None else traced
        self.model = model
        self.images = images
        self.results = LRU(cache_size)
        self.activations = LRU(activation_cache_size)
        self.predictions: dict[int, np.ndarray] = {}
        self._default_layer: dict[int, str] = {}

    def uses_layer(self, method: str) -> bool:
        return bool(self.kernel.get_method(method).uses_layer)

    def resolve(self, s: Settings) -> Settings:
        """Replace "default layer" and "top prediction" by what they were found to be."""
        if s.layer is None and s.input_index in self._default_layer:
            s = replace(s, layer=self._default_layer[s.input_index])
        if s.target is None and s.image_index in self.predictions:
            predictions = self.predictions[s.image_index]
            top = (int(np.argmax(predictions)) if self.dense is not None  # pixel shares
                   else int(self.kernel.predicted_classes(self.model, predictions[None])[0]))
            s = replace(s, target=top)
        return s

    def cached(self, s: Settings) -> Explanation | None:
        """The cached map for these settings (no kernel call), or None."""
        try:
            uses_layer = self.uses_layer(s.method)
        except (ValueError, TypeError):
            return None
        s = self.resolve(s)
        hit = self.results.get(s.key(uses_layer))
        if hit is None:
            return None
        return replace(
            hit,
            source="cached",
            seconds=0.0,
            settings=replace(
                hit.settings, opacity=s.opacity, colormap=s.colormap, scale=s.scale
            ),
        )

    def trace_key(self, s: Settings) -> tuple:
        """What decides which compiled function a job for `s` runs (so what it traces):
        input, layer, method, guided, and whether it starts from cached activations."""
        s = self.resolve(s)
        uses_layer = self.uses_layer(s.method)
        from_activations = uses_layer and s.layer is not None and (
            (s.image_index, s.input_index, s.layer) in self.activations)
        return (s.input_index, s.layer if uses_layer else None, s.method, bool(s.guided),
                bool(from_activations), callable(s.target), s.options, s.region is not None)

    def job(self, s: Settings) -> Callable[[], tuple[Explanation, np.ndarray | None]]:
        """A kernel call for these settings, to run on any thread; `store` its result."""
        self.traced.add(self.trace_key(s))
        s = self.resolve(s)
        uses_layer = self.uses_layer(s.method)
        display_size = self.images.display(s.image_index, s.input_index).shape[:2]
        activations = None
        if uses_layer and s.layer is not None:
            activations = self.activations.get((s.image_index, s.input_index, s.layer))
        with caught_warnings(wait=False) as fitting:  # the event loop's thread: no waiting
            inputs = self.images.model_inputs(s.image_index)

        def run() -> tuple[Explanation, np.ndarray | None]:
            start = time.perf_counter()
            with caught_warnings() as computing:
                target = s.target
                if self.dense is not None and not callable(target):
                    target = self._region_target(s, inputs, display_size)
                kwargs: dict[str, Any] = dict(
                    method=s.method, target=target, input_index=s.input_index,
                    guided=s.guided, **dict(s.options))
                if uses_layer:
                    kwargs["layer"] = s.layer
                if activations is not None:
                    kwargs["activations"] = activations
                with KERNEL_LOCK:
                    res = self.kernel.explain(
                        self.model, inputs if len(inputs) > 1 else inputs[0], **kwargs)
            resolved = replace(
                s, layer=res.layer if uses_layer else s.layer,
                target=s.target if callable(s.target) else int(res.targets[0]))
            source = "from cached activations" if activations is not None else "full pass"
            explanation = _explanation(res, resolved, display_size, self.dense is not None,
                                       source, [*fitting, *computing])
            explanation = replace(explanation, seconds=time.perf_counter() - start)
            fresh = getattr(res, "activations", None) if activations is None else None
            return explanation, fresh

        return run

    def _region_target(self, s: Settings, inputs: list[np.ndarray],
                       display_size: tuple[int, int]) -> Any:
        """`SegmentationTarget` of the settings' class (None: the class on the most
        pixels, from one forward pass) over the settings' region (None: its predicted
        pixels). Runs on the job's thread."""
        SegmentationTarget = self.kernel.SegmentationTarget  # noqa: N806 (a class)
        batch = inputs if len(inputs) > 1 else inputs[0]
        index = s.target
        if index is None:
            with KERNEL_LOCK:
                output = np.asarray(self.model(batch, training=False))[0]
            shares = pixel_shares(output)
            self.predictions.setdefault(s.image_index, shares)
            index = int(np.argmax(shares))
        if s.region is None:
            return SegmentationTarget(int(index))
        region = clipped(s.region, display_size)
        if region is None:
            raise ValueError(
                f"region {s.region} lies outside the image as shown ({display_size[1]} wide, "
                f"{display_size[0]} tall): draw it on the image, or set region=None")
        rows, cols = self.dense.size
        if rows is None or cols is None:  # a fully convolutional model: the input's size
            rows, cols = inputs[s.input_index].shape[1:3]
        return SegmentationTarget(int(index), mask=region_mask(region, display_size,
                                                               (rows, cols)))

    def shared_peak(self, s: Settings) -> float | None:
        """The largest magnitude over the cached maps of this image, input, layer, method
        and guided setting, whatever their class: the "shared" colour scale's peak."""
        uses_layer = self.uses_layer(s.method)
        family = s.key(uses_layer)[:3] + s.key(uses_layer)[4:]
        peaks = [
            float(np.abs(hit.values).max())
            for key, hit in self.results.items()
            if key[:3] + key[4:] == family and hit.values is not None and hit.values.size
        ]
        return max(peaks) if peaks else None

    def store(
        self, asked: Settings, explanation: Explanation, activations: np.ndarray | None
    ) -> None:
        """Cache a finished job's result under the settings asked and the resolved ones."""
        s = explanation.settings
        uses_layer = self.uses_layer(s.method)
        if uses_layer and asked.layer is None and s.layer is not None:
            self._default_layer.setdefault(s.input_index, s.layer)
        if explanation.predictions is not None:
            self.predictions.setdefault(s.image_index, explanation.predictions)
        self.results.put(s.key(uses_layer), explanation)
        if asked.key(uses_layer) != s.key(uses_layer):
            self.results.put(self.resolve(asked).key(uses_layer), explanation)
        if activations is not None and uses_layer:
            self.activations.put((s.image_index, s.input_index, s.layer), np.asarray(activations))


