"""The viewer's state machine without widgets: settings, images, caches, kernel calls and
the latest-value-wins scheduler. `viewer.py` puts controls and canvases around it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cam_widgets import render

#: One kernel call at a time, whichever view or thread asks (TF functions are shared).
_KERNEL_LOCK = threading.Lock()
_EXECUTOR: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _EXECUTOR
    if _EXECUTOR is None:
        _EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cam_widgets")
    return _EXECUTOR


@dataclass(frozen=True)
class Settings:
    """Everything the view depends on. The first six fields decide the map (recompute);
    `opacity` and `colormap` only decide how it is painted (repaint)."""

    image: int = 0
    input_index: int = 0
    layer: Any = None  # None = the kernel's default; a path once resolved
    target: Any = None  # None = the top prediction; an int class; or a callable
    method: str = "gradcam"
    guided: bool = False
    opacity: float = 0.5
    colormap: str = "jet"

    def key(self, uses_layer: bool) -> tuple[Hashable, ...]:
        """The cache key of the map these settings produce."""
        layer = self.layer if uses_layer else None
        return (self.image, self.input_index, layer, self.target, self.method, bool(self.guided))


class LRU:
    """A bounded mapping that forgets the least recently used entry."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max(1, int(max_size))
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.max_size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items


def split_images(images: Any) -> list[Any]:
    """One input's `show()` argument -> a list of single images.

    A list or tuple is a list of images; a 4-D array (or tensor) a batch; a 3-D array whose
    last axis is not 1, 3 or 4 a batch of grey images; anything else one image (which the
    loader may still reject, with a message, when it is shown).
    """
    if hasattr(images, "numpy") and not isinstance(images, np.ndarray):
        images = images.numpy()  # a tf.Tensor
    if isinstance(images, (list, tuple)):
        return list(images)
    if isinstance(images, np.ndarray) and (
        images.ndim == 4 or (images.ndim == 3 and images.shape[-1] not in (1, 3, 4))
    ):
        return list(images)
    return [images]


class ImageSet:
    """The images of one `show()`: raw arrays per input, display RGB, preprocessed inputs.

    Items load lazily, so one bad image shows an error only when it is selected.
    `preprocess(batch)` gets a (1, H, W, C) copy of the raw image in its own dtype
    (uint8 for PIL images and paths) and returns the model's input.
    """

    def __init__(
        self,
        images: Any,
        n_inputs: int,
        input_channels: Sequence[int | None],
        preprocess: Callable[[np.ndarray], Any] | None,
        max_display: int,
    ) -> None:
        if n_inputs > 1:
            if not isinstance(images, (list, tuple)) or len(images) != n_inputs:
                raise ValueError(
                    f"this model has {n_inputs} inputs: pass show() a list with one image "
                    f"(or one batch) per input, got {type(images).__name__}"
                )
            per_input = [split_images(x) for x in images]
            counts = {len(items) for items in per_input}
            if len(counts) != 1:
                raise ValueError(
                    f"every input needs as many images; got {[len(i) for i in per_input]}"
                )
        else:
            per_input = [split_images(images)]
        if not per_input[0]:
            raise ValueError("show() got no images")
        self._per_input = per_input
        self._channels = list(input_channels)
        self._preprocess = preprocess
        self._max_display = max_display
        # bounded, so scrolling through a large batch does not keep every image three times
        self._raw, self._display, self._inputs = LRU(64), LRU(64), LRU(16)

    def __len__(self) -> int:
        return len(self._per_input[0])

    @property
    def n_inputs(self) -> int:
        return len(self._per_input)

    def raw(self, index: int, input_index: int = 0) -> np.ndarray:
        key = (index, input_index)
        array = self._raw.get(key)
        if array is None:
            item = self._per_input[input_index][index]
            mode = {1: "L", 4: "RGBA"}.get(self._channels[input_index] or 3, "RGB")
            array = render.load_image(item, mode=mode)
            array = array[..., None] if array.ndim == 2 else array
            self._raw.put(key, array)
        return array

    def display(self, index: int, input_index: int = 0) -> np.ndarray:
        """(h, w, 4) uint8: the raw image as shown (at most `max_display` on a side)."""
        key = (index, input_index)
        rgba = self._display.get(key)
        if rgba is None:
            rgb = render.fit_display(
                render.to_rgb8(self.raw(index, input_index)), self._max_display
            )
            rgba = render.to_rgba8(rgb)
            self._display.put(key, rgba)
        return rgba

    def model_inputs(self, index: int) -> list[np.ndarray]:
        """One (1, ...) batch per model input, after `preprocess`."""
        batches = self._inputs.get(index)
        if batches is None:
            batches = []
            for input_index in range(self.n_inputs):
                raw = np.array(self.raw(index, input_index)[None])  # a copy: preprocess may write
                if self._preprocess is not None:
                    batch = self._preprocess(raw)
                    batch = batch.numpy() if hasattr(batch, "numpy") else np.asarray(batch)
                else:
                    batch = raw.astype(np.float32)
                batches.append(batch)
            self._inputs.put(index, batches)
        return batches


@dataclass(frozen=True)
class Explanation:
    """One computed map, ready to paint, and how it was obtained."""

    settings: Settings  # resolved: layer is a path (CAM methods), target an int or callable
    map: np.ndarray  # float32 (h, w) in [0, 1] at the display size
    target: int  # class index (-1 for a callable target)
    score: float  # the differentiated score
    predictions: np.ndarray | None  # (K,) the model's output for this image
    seconds: float
    source: str  # "full pass", "from cached activations", "cached"
    note: str = ""  # e.g. where guided ReLU could not be applied


class Explainer:
    """Computes maps through the kernel, with three caches.

    - results: (image, input, layer, target, method, guided) -> Explanation (bounded LRU);
    - activations: (image, input, layer) -> the layer output, so a class or method change
      on the same layer runs only from the layer to the output (bounded LRU);
    - predictions per image, so "the top prediction" resolves to a class without a call.
    """

    def __init__(
        self,
        kernel: Any,
        model: Any,
        images: ImageSet,
        cache_size: int = 32,
        activation_cache_size: int = 8,
    ) -> None:
        self.kernel = kernel
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
        if s.target is None and s.image in self.predictions:
            s = replace(s, target=int(np.argmax(self.predictions[s.image])))
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
            settings=replace(hit.settings, opacity=s.opacity, colormap=s.colormap),
        )

    def job(self, s: Settings) -> Callable[[], tuple[Explanation, np.ndarray | None]]:
        """A kernel call for these settings, to run on any thread; `store` its result."""
        s = self.resolve(s)
        uses_layer = self.uses_layer(s.method)
        display_size = self.images.display(s.image, s.input_index).shape[:2]
        activations = None
        if uses_layer and s.layer is not None:
            activations = self.activations.get((s.image, s.input_index, s.layer))
        inputs = self.images.model_inputs(s.image)

        def run() -> tuple[Explanation, np.ndarray | None]:
            start = time.perf_counter()
            kwargs: dict[str, Any] = dict(
                method=s.method, target=s.target, input_index=s.input_index, guided=s.guided
            )
            if uses_layer:
                kwargs["layer"] = s.layer
            if activations is not None:
                kwargs["activations"] = activations
            with _KERNEL_LOCK:
                res = self.kernel.explain(
                    self.model, inputs if len(inputs) > 1 else inputs[0], **kwargs
                )
            maps = np.asarray(res.maps, dtype=np.float32)[0]
            heat = np.clip(render.resize(maps, display_size), 0.0, 1.0)
            resolved = replace(
                s,
                layer=res.layer if uses_layer else s.layer,
                target=s.target if callable(s.target) else int(res.targets[0]),
            )
            predictions = None if res.predictions is None else np.asarray(res.predictions)[0]
            source = "from cached activations" if activations is not None else "full pass"
            coverage = getattr(res, "guided_coverage", None)
            note = ""
            if coverage is not None and not getattr(coverage, "complete", True):
                note = "guided ReLU: " + coverage.summary().splitlines()[0]
            explanation = Explanation(
                resolved,
                heat,
                int(res.targets[0]),
                float(res.scores[0]),
                predictions,
                time.perf_counter() - start,
                source,
                note,
            )
            fresh = getattr(res, "activations", None) if activations is None else None
            return explanation, fresh

        return run

    def store(
        self, asked: Settings, explanation: Explanation, activations: np.ndarray | None
    ) -> None:
        """Cache a finished job's result under the settings asked and the resolved ones."""
        s = explanation.settings
        uses_layer = self.uses_layer(s.method)
        if uses_layer and asked.layer is None and s.layer is not None:
            self._default_layer.setdefault(s.input_index, s.layer)
        if explanation.predictions is not None:
            self.predictions.setdefault(s.image, explanation.predictions)
        self.results.put(s.key(uses_layer), explanation)
        if asked.key(uses_layer) != s.key(uses_layer):
            self.results.put(self.resolve(asked).key(uses_layer), explanation)
        if activations is not None and uses_layer:
            self.activations.put((s.image, s.input_index, s.layer), np.asarray(activations))


class LatestWins:
    """Run `prepare()`'s job for the latest request only; a burst of requests coalesces.

    With an asyncio loop running in this thread (a notebook kernel), `request()` returns at
    once: the job runs on a worker thread, the loop stays free for widget messages, and
    requests made meanwhile are merged into one run of the latest state when it ends.
    Without a running loop (scripts, plain tests) `request()` runs the job inline.

    `prepare()` (loop thread) returns None when it settled the request itself (a cache hit
    or an error), or a `(token, job)`; `finish(token, result, error)` (loop thread) applies
    what `job()` returned or raised; `busy(flag)` shows or hides the indicator.
    """

    def __init__(
        self,
        prepare: Callable[[], tuple[Any, Callable[[], Any]] | None],
        finish: Callable[[Any, Any, BaseException | None], None],
        busy: Callable[[bool], None],
    ) -> None:
        self._prepare = prepare
        self._finish = finish
        self._busy = busy
        self._dirty = False
        self._scheduled = False
        self._running: tuple[Any, Future] | None = None
        self.runs = 0  # jobs started (for tests and benchmarks)

    @property
    def idle(self) -> bool:
        return not (self._dirty or self._scheduled or self._running)

    def request(self) -> None:
        self._dirty = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if not self._scheduled and not self._running:
            self._scheduled = True
            loop.call_soon(self._kick, loop)

    def _kick(self, loop: asyncio.AbstractEventLoop) -> None:
        self._scheduled = False
        if self._running or not self._dirty:
            return
        self._dirty = False
        prepared = self._prepare()
        if prepared is None:
            return
        token, job = prepared
        self.runs += 1
        self._busy(True)
        future = _executor().submit(job)
        self._running = (token, future)
        future.add_done_callback(lambda f: loop.call_soon_threadsafe(self._done, token, f))

    def _done(self, token: Any, future: Future) -> None:
        if self._running is None or self._running[1] is not future:
            return  # already applied by flush()
        self._running = None
        error = future.exception()
        self._finish(token, None if error else future.result(), error)
        if self._dirty:
            try:
                self._kick(asyncio.get_running_loop())
            except RuntimeError:
                self.flush()
        if self._running is None:
            self._busy(False)

    def flush(self) -> None:
        """Bring the state up to date now, in this thread (waits for a running job)."""
        if self._running is not None:
            token, future = self._running
            self._running = None
            try:
                result, error = future.result(), None
            except Exception as e:  # the job's own error, applied like any other
                result, error = None, e
            self._finish(token, result, error)
        while self._dirty:
            self._dirty = False
            prepared = self._prepare()
            if prepared is None:
                continue
            token, job = prepared
            self.runs += 1
            self._busy(True)
            try:
                result, error = job(), None
            except Exception as e:
                result, error = None, e
            self._finish(token, result, error)
        self._busy(False)

    async def wait(self, timeout: float = 60.0) -> None:
        """Wait (asynchronously) until every request has been applied."""
        deadline = time.monotonic() + timeout
        while not self.idle:
            if time.monotonic() > deadline:
                raise TimeoutError("the viewer is still computing")
            await asyncio.sleep(0.002)
