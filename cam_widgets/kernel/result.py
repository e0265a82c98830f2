"""ExplainResult: what `explain` returns, and how a batch's tensors become one."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import keras
import numpy as np

from cam_widgets.kernel.graph import leaf_calls
from cam_widgets.kernel.guided import GuidedCoverage, coverage
from cam_widgets.kernel.layers import call_name


@dataclass
class ExplainResult:
    """Attributions of a batch.

    Shape rule: the first axis is the image (B). Asking for several of something adds
    ONE axis right after it, in every field that varies with it, and only then:
    `top_k=k` adds a class axis k to `maps`, `raw`, `targets` and `scores` (also for
    k=1); `layer=[...]` or `layer="all"` adds a layer axis L to `maps` and makes `raw`
    and `activations` lists of L arrays (layers differ in size), while `targets` and
    `scores` stay (B,) (every layer explains the same score). One layer and one class
    per image (the default) add no axis.

    Attributes
    ----------
    maps : float32 (B, H, W) in [0, 1] at the explained input's resolution; (B, L, H, W)
        for a list of L layers, (B, k, H, W) with `top_k`.
    raw : float32, signed and unnormalised: the CAM (B, h, w) at layer resolution, or
        the input gradients (B, H, W, C); (B, k, ...) with `top_k`; a list with one
        (B, h_l, w_l) array per layer for a list of layers.
    targets : int64 (B,) class index per image (-1 for a callable target; 0/1 for a
        binary (B, 1) head); (B, k) with `top_k`.
    scores : float32 (B,) the differentiated score per image; (B, k) with `top_k`.
    layer : the resolved layer (a list for several), None for gradient methods; a path,
        with `:n` when that layer is called several times on the explained branch, so
        `explain(..., layer=res.layer)` explains the same call.
    method : the method's registry name.
    signed : True when the map keeps a meaningful sign (guided gradients, signed
        methods): zero is then mid-scale in `maps`, and a diverging colormap fits.
    predictions : float32 (B, K) the model's own output, for single-output models.
    activations : the read layer's output (a list for several), CAM methods only.
    guided_coverage : which ReLUs were guided, when gradients were guided.
    """

    maps: np.ndarray
    raw: np.ndarray | list[np.ndarray]
    targets: np.ndarray
    scores: np.ndarray
    layer: str | list[str] | None
    method: str
    signed: bool = False
    predictions: np.ndarray | None = None
    activations: np.ndarray | list[np.ndarray] | None = None
    guided_coverage: GuidedCoverage | None = None


def _float32(arrays):
    return keras.tree.map_structure(lambda a: np.asarray(a, np.float32), arrays)


def build_result(merged: dict, model, method, calls, several: bool, guided: bool,
                 input_index: int) -> ExplainResult:
    """The ExplainResult of the batches' merged arrays (a layer method's one layer loses
    its layer axis)."""
    raw, found = _float32(merged["raw"]), merged.get("activations")
    maps = merged["maps"]
    if method.uses_layer and not several:  # one layer: drop the layer axis
        maps, raw, found = maps[..., 0, :, :], raw[0], found[0]
    paths = [call_name(model, call, input_index) for call in calls]
    return ExplainResult(
        maps=maps.astype(np.float32),
        raw=raw,
        targets=merged["targets"].astype(np.int64),
        scores=merged["scores"].astype(np.float32),
        layer=(paths if several else paths[0]) if paths else None,
        method=method.name,
        signed=method.signed_map(guided),
        predictions=(merged["predictions"].astype(np.float32)
                     if len(model.outputs) == 1 else None),
        activations=found,
        guided_coverage=_coverage(model) if guided or method.forces_guided else None,
    )


def _coverage(model: keras.Model) -> GuidedCoverage:
    report = coverage(leaf_calls(model))
    if not report.complete:
        warnings.warn(
            "Guided ReLU could not be applied everywhere, so these gradients are partly "
            f"vanilla:\n{report.summary()}",
            UserWarning,
            stacklevel=4,
        )
    return report
