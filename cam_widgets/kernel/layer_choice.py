"""Which layers a person would pick to explain: the viewer's default layer menu.

A CAM can be taken at any spatial layer, but most of them (batch norms, paddings, the
convolution before its activation, each half of a residual block) only repeat their
neighbour. The menu lists the layers that end a stage of the network:

1. the output of a residual merge (``Add``, ``Concatenate``, ...), or the activation
   applied right after it (ResNet's ``convX_blockY_out``): a block's output;
2. a pooling layer's output, and the activation just before it (VGG's block ends);
3. in a network without merges (a plain chain of convolutions) every activation output:
   there each convolution block is a stage;
4. the last spatial layer of the model and of every nested model (a backbone's output).

Token layers (B, N, D) whose patch grid `list_layers` found count as spatial, so a vision
transformer's menu lists its residual merges (each half of an encoder block), up to
and including the kernel's default token layer (`kernel.token_layers`): the token
layers after it give the patch tokens no gradient (class-token head) or only rescale
them (a final normalisation), so they are left to "show all layers". A segmentation
model's menu also lists its default layer, the bottleneck (`kernel.segmentation`).

ResNet50 gets 17 entries (of 174 spatial layers), MobileNetV2 11 (of 153: its residual
block outputs and the last layer), VGG16 all 18 (each convolution has its ReLU fused).
`list_layers` still lists every layer; the viewer has a "show all layers" switch.
"""

from __future__ import annotations

import keras

from cam_widgets.kernel.graph import LayerCall, leaf_calls
from cam_widgets.kernel.layers import LayerInfo, list_layers
from cam_widgets.kernel.segmentation import default_dense_layer
from cam_widgets.kernel.token_layers import default_token_layer

__all__ = ["main_layers"]

_MERGES = (keras.layers.Add, keras.layers.Concatenate, keras.layers.Multiply,
           keras.layers.Average, keras.layers.Maximum, keras.layers.Minimum,
           keras.layers.Subtract)
_POOLS = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
_ACTIVATIONS = (keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU,
                keras.layers.PReLU, keras.layers.ELU)


def _is_activation(layer: keras.layers.Layer) -> bool:
    """An activation layer, or a layer with a fused non-linear activation."""
    if isinstance(layer, _ACTIVATIONS):
        return not (isinstance(layer, keras.layers.Activation)
                    and keras.activations.serialize(layer.activation) == "linear")
    activation = getattr(layer, "activation", None)  # Conv2D, Dense, ... (public attribute)
    return activation is not None and keras.activations.serialize(activation) != "linear"


def _prefix(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def main_layers(model: keras.Model) -> list[LayerInfo]:
    """The spatial layers of `model` worth a place in a layer menu (see the module's
    rule), in execution order; every spatial layer if none qualifies."""
    calls: list[LayerCall] = []
    seen: set[str] = set()
    for call in leaf_calls(model):
        if call.path not in seen:
            seen.add(call.path)
            calls.append(call)
    infos = [info for info in list_layers(model) if info.spatial]
    spatial_paths = {info.path for info in infos}  # 4-D outputs and token layers with a grid
    spatial = [c for c in calls if c.path in spatial_paths]
    chosen: set[str] = set()
    chain = not any(isinstance(c.layer, _MERGES) for c in calls)
    for at, call in enumerate(spatial):
        following = spatial[at + 1] if at + 1 < len(spatial) else None
        if isinstance(call.layer, _MERGES):
            after = following is not None and isinstance(following.layer, _ACTIVATIONS)
            chosen.add(following.path if after else call.path)
        elif isinstance(call.layer, _POOLS):
            chosen.add(call.path)
        elif _is_activation(call.layer) and (
                chain or (following is not None and isinstance(following.layer, _POOLS))):
            chosen.add(call.path)
        if following is None or _prefix(following.path) != _prefix(call.path):
            chosen.add(call.path)  # the last spatial layer of the model or a nested one
    chosen = _up_to_default_token_layer(model, spatial, infos, chosen)
    bottleneck = default_dense_layer(model, 0)
    if bottleneck is not None:
        chosen.add(bottleneck.path)
    picked = [info for info in infos if info.path in chosen]
    return picked or infos


def _up_to_default_token_layer(model: keras.Model, spatial: list[LayerCall],
                               infos: list[LayerInfo], chosen: set[str]) -> set[str]:
    """`chosen` with the kernel's default token layer added and the token layers after
    it removed (unchanged for a model without token layers)."""
    tokens = {info.path for info in infos if info.grid is not None}
    if not tokens:
        return chosen
    default = default_token_layer(model, 0)
    paths = [call.path for call in spatial]
    if default is None or default.path not in paths:
        return chosen
    later = set(paths[paths.index(default.path) + 1:]) & tokens
    return (chosen | {default.path}) - later
