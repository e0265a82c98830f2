"""Which layers a person would pick to explain: the viewer's default layer menu.

A CAM can be taken at any spatial layer, but most of them (batch norms, paddings, the
convolution before its activation, each half of a residual block) only repeat their
neighbour. The menu lists the layers that end a stage of the network:

1. the output of a residual merge (``Add``, ``Concatenate``, ...), or the activation
   applied right after it (ResNet's ``convX_blockY_out``): a block's output;
2. a pooling layer's output, and the activation just before it (VGG's block ends);
3. in a network without merges (a plain chain of convolutions) every activation output:
   there each convolution block is a stage;
4. the last spatial layer of the model and of every nested model (a backbone's output;
   of each call of a backbone called several times, listed as `path:n`).

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
from cam_widgets.kernel.layers import LayerInfo, listed_calls
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


def _model_call(call: LayerCall) -> tuple[str, int]:
    """Which (nested) model call `call` belongs to: the model's path and the call's
    ordinal (every layer of a shared backbone is called once per backbone call)."""
    prefix = call.path.rsplit("/", 1)[0] if "/" in call.path else ""
    return (prefix, call.ordinal if prefix else 0)


def main_layers(model: keras.Model) -> list[LayerInfo]:
    """The spatial layers of `model` worth a place in a layer menu (see the module's
    rule), in execution order; every spatial layer if none qualifies. A layer called
    several times on one branch is considered once per call (`path:n`, as listed)."""
    every = listed_calls(model)
    graph_calls = {(call.path, call.ordinal) for call in leaf_calls(model)}
    listed = [(info, call) for info, call in every  # not inside custom layers
              if (call.path, call.ordinal) in graph_calls]
    spatial = [(info, call) for info, call in listed if info.spatial]
    chosen: set[str] = set()  # listed names
    chain = not any(isinstance(call.layer, _MERGES) for _, call in listed)
    for at, (info, call) in enumerate(spatial):
        following = spatial[at + 1] if at + 1 < len(spatial) else None
        if isinstance(call.layer, _MERGES):
            after = following is not None and isinstance(following[1].layer, _ACTIVATIONS)
            chosen.add(following[0].path if after else info.path)
        elif isinstance(call.layer, _POOLS):
            chosen.add(info.path)
        elif _is_activation(call.layer) and (
                chain or (following is not None and isinstance(following[1].layer, _POOLS))):
            chosen.add(info.path)
        if following is None or _model_call(following[1]) != _model_call(call):
            chosen.add(info.path)  # the last spatial layer of the model or of each call
            # of a nested one
    names = {(call.path, call.ordinal): info.path for info, call in every}
    chosen = _up_to_default_token_layer(model, spatial, names, chosen)
    bottleneck = default_dense_layer(model, 0)
    if bottleneck is not None:
        chosen.add(names.get((bottleneck.path, bottleneck.ordinal), bottleneck.path))
    infos = [info for info, _ in every if info.spatial]
    picked = [info for info in infos if info.path in chosen]
    return picked or infos


def _up_to_default_token_layer(model: keras.Model, spatial: list[tuple[LayerInfo, LayerCall]],
                               names: dict[tuple[str, int], str], chosen: set[str]) -> set[str]:
    """`chosen` with the kernel's default token layer added and the token layers after
    it removed (unchanged for a model without token layers)."""
    tokens = {info.path for info, _ in spatial if info.grid is not None}
    if not tokens:
        return chosen
    default = default_token_layer(model, 0)
    listed = [info.path for info, _ in spatial]
    name = None if default is None else names.get((default.path, default.ordinal))
    if name not in listed:
        return chosen
    later = set(listed[listed.index(name) + 1:]) & tokens
    return (chosen | {name}) - later
