"""Which token layer to explain, and the patch grids of the layers asked for.

The default layer of a token model (one whose last layers on the explained input's
branch are token layers after its last 4-D layer) is the last token layer whose patch
tokens still reach the score:

- a pooled head (mean of the tokens) reads every token of the last block's output, so
  that output is the default (a final normalisation after it is skipped: it rescales
  each token alone and adds nothing a map could show);
- a class-token head reads only the class token after the last attention, so every
  later layer gives the patch tokens a zero gradient; the last layer whose patch
  tokens reach the score is the input of the last block's attention (the output of
  its first normalisation), as pytorch-grad-cam recommends for ViTs.

Which case holds is measured, not guessed from layer names: one eager run on a random
image (cached per model) takes the gradient of a random mix of the outputs with
respect to every token layer and keeps those whose patch tokens get a non-zero one.
"""
from __future__ import annotations

import weakref
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from cam_widgets.kernel import backends
from cam_widgets.kernel.graph import LayerCall
from cam_widgets.kernel.probe import Probe
from cam_widgets.kernel.sublayers import all_calls
from cam_widgets.kernel.tokens import TokenGrid, find_grid


def image_shape(model: keras.Model, input_index: int) -> tuple[int | None, ...]:
    return tuple(model.inputs[input_index].shape)


def grids_for(
    model: keras.Model, calls: Sequence[LayerCall], input_index: int, method_name: str,
    token_grid: tuple[int, int] | None,
) -> tuple[TokenGrid | None, ...]:
    """One grid per read layer: None for a 4-D layer, the patch grid for a token layer;
    a clear error for any other shape."""
    every = all_calls(model)
    grids = []
    for call in calls:
        if len(call.output_shape) == 4:
            grids.append(None)
            continue
        before = every[:next(i for i, c in enumerate(every)
                             if (c.path, c.ordinal) == (call.path, call.ordinal))]
        grid = find_grid(call, before, image_shape(model, input_index), token_grid)
        if grid is None:
            token_hint = (" It looks like a token layer, but no patch grid fits its "
                          f"{call.output_shape[1]} tokens: pass `token_grid=(rows, columns)`."
                          if len(call.output_shape) == 3 else "")
            raise ValueError(
                f"Layer {call.path!r} has output shape {call.output_shape}, not (batch, "
                f"height, width, channels) nor (batch, tokens, features) on a patch grid: "
                f"{method_name!r} needs a spatial layer.{token_hint} `list_layers(model)` "
                "marks the spatial ones."
            )
        grids.append(grid)
    return tuple(grids)


# (model, input_index) -> the default token layer call, or None for a non-token model
_DEFAULTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def default_token_layer(model: keras.Model, input_index: int) -> LayerCall | None:
    """The default layer of a token model (see the module docstring), None when the
    model's last spatial layer on this input's branch is a 4-D one."""
    per_model = _DEFAULTS.setdefault(model, {})
    if input_index not in per_model:
        per_model[input_index] = _find_default(model, input_index)
    return per_model[input_index]


def _find_default(model: keras.Model, input_index: int) -> LayerCall | None:
    calls = [c for c in all_calls(model) if not isinstance(c.layer, keras.layers.InputLayer)]
    shape = image_shape(model, input_index)
    last_4d = max((i for i, c in enumerate(calls)
                   if len(c.output_shape) == 4 and input_index in c.inputs_used), default=-1)
    tokens: list[tuple[LayerCall, TokenGrid]] = []
    for index in range(last_4d + 1, len(calls)):
        call = calls[index]
        if input_index not in call.inputs_used:
            continue
        grid = find_grid(call, calls[:index], shape)
        if grid is not None:
            tokens.append((call, grid))
    if not tokens:
        return None
    reaching = _patch_tokens_reach(model, input_index, tokens)
    if reaching is None:  # the input size is not fixed: no probe run possible
        reaching = [True] * len(tokens)
    if reaching[-1]:  # pooled head: the last block's output, before a final norm
        for call, _ in reversed(tokens):
            if not _normalises(call.layer):
                return call
        return tokens[-1][0]
    for (call, _), reaches in zip(reversed(tokens), reversed(reaching)):
        if reaches:  # class-token head: the input of the last attention
            return call
    return tokens[-1][0]


def _normalises(layer) -> bool:
    return "Normalization" in type(layer).__name__


def _patch_tokens_reach(
    model: keras.Model, input_index: int, tokens: list[tuple[LayerCall, TokenGrid]],
) -> list[bool] | None:
    shapes = [tuple(ref.shape[1:]) for ref in model.inputs]
    if any(dim is None for shape in shapes for dim in shape):
        return None
    rng = np.random.default_rng(0)
    inputs = [ops.convert_to_tensor(rng.uniform(size=(1, *shape)), ref.dtype)
              for shape, ref in zip(shapes, model.inputs)]
    probe = Probe(model, [call for call, _ in tokens], guided=False, logits=True)

    def scored(*deltas):
        out = probe(inputs, deltas=deltas)
        flat = ops.concatenate([ops.reshape(ops.cast(o, "float32"), (-1,))
                                for o in out.scores_from], 0)
        mix = ops.convert_to_tensor(rng.normal(size=flat.shape[0]), "float32")
        return ops.sum(flat * mix)[None], None

    taken = backends.current().differentiate(scored, probe.zero_deltas(inputs))
    grads = taken.gradients(range(len(tokens)))
    return [grad is not None
            and float(ops.convert_to_numpy(ops.max(ops.abs(grad[:, grid.prefix:])))) > 0
            for grad, (_, grid) in zip(grads, tokens)]
