"""The kernel side of a comparison: one map per method for one image and class, and the
numbers that say how faithful each map is (deletion and insertion AUC, the pointing game
with a box). The CAM-family methods and saliency come from one shared pass
(`kernel.shared_pass`); a class change re-runs only the part after the layer for all the
CAMs at once."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cam_widgets.kernel import explain
from cam_widgets.kernel.methods import get_method, method_names
from cam_widgets.kernel.shared_pass import explain_shared, shares_a_pass
from cam_widgets.metrics import deletion_insertion, pointing_game
from cam_widgets.render import load_image
from cam_widgets.sanity import SanityCheck, sanity_check

#: the default methods, cheapest first: the CAM family shares one forward pass
DEFAULT_METHODS = ("gradcam", "gradcam++", "layercam", "hirescam", "xgradcam", "saliency",
                   "smoothgrad", "integrated_gradients", "occlusion")
#: methods that run the model many times per map (abandoned first for a newer request)
EXPENSIVE = frozenset({"smoothgrad", "integrated_gradients", "occlusion", "scorecam"})
STEPS = 16  # deletion/insertion steps: the numbers, at a widget's pace
#: images per forward call of the numbers: a class change abandons a numbers job between
#: calls (ResNet50 on 2 cores: 4 images a call run as fast as 34 at once, about 0.3 s)
NUMBERS_BATCH = 4


@dataclass(frozen=True)
class CellMap:
    """One method's map of the image: values (H, W) in [0, 1], the class explained, the
    colour convention (signed: 0.5 is zero)."""

    method: str
    values: np.ndarray
    target: int
    signed: bool


@dataclass(frozen=True)
class CellNumbers:
    """How faithful a map is: deletion AUC (lower is better), insertion AUC (higher is
    better), and with a box whether the map's peak is inside it (None without a box)."""

    deletion: float
    insertion: float
    pointing: bool | None


def check_methods(methods: Any) -> None:
    """A ValueError unless `methods` is a non-empty list of registered method names."""
    known = method_names()
    unknown = [m for m in methods if m not in known]
    if unknown or not methods:
        raise ValueError(f"methods must be a non-empty list of method names from "
                         f"{sorted(known)}; unknown: {unknown}.")


def one_image(image: Any) -> np.ndarray:
    """One image (H, W, C) from an array, a batch of one, or a file (read with Pillow)."""
    raw = np.asarray(load_image(image) if not hasattr(image, "shape") else image)
    if raw.ndim == 4:
        if len(raw) != 1:
            raise ValueError(f"CamCompare shows one image; got a batch of {len(raw)}.")
        raw = raw[0]
    if raw.ndim != 3:
        raise ValueError(f"image must be (height, width, channels); got {raw.shape}.")
    return raw


def cost_order(methods: tuple[str, ...]) -> tuple[str, ...]:
    """The methods as they are computed and drawn: those of one shared pass (the CAM
    family, then saliency), other cheap ones, then the expensive ones (each group in the
    given order)."""
    def rank(name: str) -> int:
        if name in EXPENSIVE:
            return 3
        if shares_a_pass(name):
            return 0 if get_method(name).uses_layer else 1
        return 2
    return tuple(sorted(methods, key=rank))


class CellSource:
    """Maps and numbers of one image (a model input batch of 1) for any method and class.

    The first job computes every CAM-family map and saliency from one forward and one
    backward pass (`kernel.shared_pass`) and keeps the layer's activations; a class change
    then runs only the part of the model after the layer (compiled) for all the CAMs at
    once. The first call runs uncompiled when `quick` (no trace to wait for)."""

    def __init__(self, model: Any, inputs: np.ndarray, layer: Any = None,
                 box: np.ndarray | None = None, quick: bool = False) -> None:
        self.model, self.inputs, self.layer, self.quick = model, inputs, layer, quick
        self.box = None if box is None else np.asarray(box, np.int64).reshape(1, 4)
        self.predicted: int | None = None  # the predicted class, from the first map
        self._activations: np.ndarray | None = None

    def plan(self, methods: tuple[str, ...]) -> list[tuple[str, ...]]:
        """The map jobs for `methods`, in order: each a group computed in one call."""
        order = cost_order(methods)
        shared = tuple(m for m in order if shares_a_pass(m))
        cams = tuple(m for m in shared if get_method(m).uses_layer)
        if self._activations is not None and cams:  # a class change: the CAMs' tail first
            groups = [cams, *((m,) for m in shared if m not in cams)]
        else:
            groups = [shared] if shared else []
        return groups + [(m,) for m in order if m not in shared]

    def maps(self, methods: tuple[str, ...], target: int | None) -> dict[str, CellMap]:
        """The maps of one job's `methods` (a group from `plan`) for class `target` (None:
        the predicted class)."""
        if len(methods) == 1 and not shares_a_pass(methods[0]):
            method = methods[0]
            layer = {"layer": self.layer} if get_method(method).uses_layer else {}
            results = {method: explain(self.model, self.inputs, method=method, target=target,
                                       **layer)}
        else:
            cams_only = all(get_method(m).uses_layer for m in methods)
            given = self._activations if cams_only else None
            results = explain_shared(
                self.model, self.inputs, methods, layer=self.layer, target=target,
                activations=given, compiled=not self.quick)
            self.quick = False  # only the first pass: every later call is compiled
            for result in results.values():
                if result.activations is not None and self._activations is None:
                    self._activations = np.asarray(result.activations)
        if target is None and self.predicted is None:
            self.predicted = int(next(iter(results.values())).targets[0])
        return {m: CellMap(m, np.asarray(r.maps[0], np.float32), int(r.targets[0]), r.signed)
                for m, r in results.items()}

    def sanity_check(self, method: str, target: int) -> SanityCheck:
        """`method`'s maps of class `target` as the model's layers are randomised from
        the top (`cam_widgets.sanity.sanity_check`, on a copy of the model)."""
        options = {"layer": self.layer} if get_method(method).uses_layer else {}
        return sanity_check(self.model, self.inputs, method=method, target=target, **options)

    def numbers(self, cell: CellMap) -> CellNumbers:
        """Deletion and insertion AUC of the map (and the pointing game with a box)."""
        values = cell.values
        curves = deletion_insertion(self.model, self.inputs, values[None],
                                    np.array([cell.target]), steps=STEPS,
                                    batch_size=NUMBERS_BATCH)
        pointing = None
        if self.box is not None:
            pointing = bool(pointing_game(values[None], self.box)[0])
        return CellNumbers(float(curves.deletion_auc[0]), float(curves.insertion_auc[0]),
                           pointing)
