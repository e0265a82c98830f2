"""The kernel side of a comparison: one map per method for one image and class, and the
numbers that say how faithful each map is (deletion and insertion AUC, the pointing game
with a box). The CAM-family methods read the layer's activations of one forward pass
(`explain(..., activations=...)`): a class change re-runs only the part after the layer."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cam_widgets.kernel import explain
from cam_widgets.kernel.methods import get_method, method_names
from cam_widgets.kernel.methods.cam import CamMethod
from cam_widgets.metrics import deletion_insertion, pointing_game
from cam_widgets.render import load_image
from cam_widgets.sanity import SanityCheck, sanity_check

#: the default methods, cheapest first: the CAM family shares one forward pass
DEFAULT_METHODS = ("gradcam", "gradcam++", "layercam", "hirescam", "xgradcam", "saliency",
                   "smoothgrad", "integrated_gradients", "occlusion")
#: methods that run the model many times per map (abandoned first for a newer request)
EXPENSIVE = frozenset({"smoothgrad", "integrated_gradients", "occlusion", "scorecam"})
STEPS = 16  # deletion/insertion steps: the numbers, at a widget's pace


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
    """The methods as they are computed: CAM family, then other cheap ones, then the
    expensive ones (each group in the given order)."""
    def rank(name: str) -> int:
        if name in EXPENSIVE:
            return 2
        return 0 if uses_shared_activations(name) else 1
    return tuple(sorted(methods, key=rank))


def uses_shared_activations(method: str) -> bool:
    """True for gradient-weighted CAMs, whose maps read one forward pass's activations."""
    found = get_method(method)
    return isinstance(found, CamMethod) and not found.forces_guided


class CellSource:
    """Maps and numbers of one image (a model input batch of 1) for any method and class.

    The layer's activations are computed once per image and layer and shared by every
    CAM-family method and class."""

    def __init__(self, model: Any, inputs: np.ndarray, layer: Any = None,
                 box: np.ndarray | None = None) -> None:
        self.model, self.inputs, self.layer = model, inputs, layer
        self.box = None if box is None else np.asarray(box, np.int64).reshape(1, 4)
        self._activations: np.ndarray | None = None

    def predicted(self) -> int:
        """The class the model predicts for the image."""
        return int(explain(self.model, self.inputs, method="gradcam",
                           layer=self.layer).targets[0])

    def cell_map(self, method: str, target: int | None) -> CellMap:
        """`method`'s map for class `target` (None: the predicted class)."""
        kwargs: dict[str, Any] = {"method": method, "target": target}
        if get_method(method).uses_layer:
            kwargs["layer"] = self.layer
        if uses_shared_activations(method):
            if self._activations is None:
                first = explain(self.model, self.inputs, **kwargs)
                self._activations = np.asarray(first.activations)
                result = first
            else:
                result = explain(self.model, self.inputs, activations=self._activations,
                                 **kwargs)
        else:
            result = explain(self.model, self.inputs, **kwargs)
        return CellMap(method, np.asarray(result.maps[0], np.float32),
                       int(result.targets[0]), get_method(method).signed_map(False))

    def sanity_check(self, method: str, target: int) -> SanityCheck:
        """`method`'s maps of class `target` as the model's layers are randomised from
        the top (`cam_widgets.sanity.sanity_check`, on a copy of the model)."""
        options = {"layer": self.layer} if get_method(method).uses_layer else {}
        return sanity_check(self.model, self.inputs, method=method, target=target, **options)

    def numbers(self, cell: CellMap) -> CellNumbers:
        """Deletion and insertion AUC of the map (and the pointing game with a box)."""
        values = cell.values
        curves = deletion_insertion(self.model, self.inputs, values[None],
                                    np.array([cell.target]), steps=STEPS)
        pointing = None
        if self.box is not None:
            pointing = bool(pointing_game(values[None], self.box)[0])
        return CellNumbers(float(curves.deletion_auc[0]), float(curves.insertion_auc[0]),
                           pointing)
