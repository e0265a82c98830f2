"""Attention rollout for vision transformers built with keras.layers.MultiHeadAttention."""
from __future__ import annotations

import keras
from keras import ops

from cam_widgets.kernel.graph import LayerCall
from cam_widgets.kernel.methods.registry import register
from cam_widgets.kernel.methods.base import (
    Attribution, Method, Option, Run, scale_min_max, upsample)
from cam_widgets.kernel.probe import Probe
from cam_widgets.kernel.sublayers import all_calls
from cam_widgets.kernel.tokens import TokenGrid, find_grid

_FUSIONS = {"mean": ops.mean, "max": ops.max, "min": ops.min}


def attention_calls(model: keras.Model, input_index: int) -> tuple[list[LayerCall], TokenGrid]:
    """The MultiHeadAttention calls on the explained input's branch, in order, and the
    patch grid of their tokens; a clear error when there are none or they differ."""
    calls = list(all_calls(model))
    found = [(index, call) for index, call in enumerate(calls)
             if isinstance(call.layer, keras.layers.MultiHeadAttention)
             and input_index in call.inputs_used]
    if not found:
        raise ValueError(
            f"Model {model.name!r} has no keras.layers.MultiHeadAttention on input "
            f"{input_index}'s branch, so there is no attention to roll out. Attention "
            "rollout reads the attention weights of MultiHeadAttention layers (also "
            "inside custom layers); for other models use a CAM method on a token layer."
        )
    shape = tuple(model.inputs[input_index].shape)
    grids = {find_grid(call, calls[:index], shape) for index, call in found}
    if len(grids) != 1 or None in grids:
        raise ValueError(
            f"The attention layers of model {model.name!r} do not all attend over one "
            f"patch grid (found {sorted(map(str, grids))}): attention rollout multiplies "
            "the attention matrices of every layer, which needs the same tokens in each."
        )
    return [call for _, call in found], grids.pop()


def discard_lowest(attention, ratio: float):
    """Zero the lowest `ratio` of each image's (N, N) attention weights (ties at the
    cut-off go too)."""
    if ratio <= 0:
        return attention
    flat = ops.reshape(attention, (-1, attention.shape[-2] * attention.shape[-1]))
    count = int(attention.shape[-1] * attention.shape[-2] * ratio)
    if count == 0:
        return attention
    cutoff = ops.sort(flat, axis=-1)[:, count - 1][:, None, None]
    return ops.where(attention > cutoff, attention, ops.zeros_like(attention))


def roll_out(attentions: list, head_fusion: str, discard_ratio: float):
    """(B, N, N) rollout of per-layer attention scores (B, heads, N, N), first layer
    first: each layer's heads fused, the lowest weights discarded, the residual path
    added as an identity (A + I) / 2, rows renormalised, then the product
    A_L ... A_2 A_1 (Abnar & Zuidema 2020, eq. for attention rollout)."""
    joint = None
    for scores in attentions:
        fused = _FUSIONS[head_fusion](ops.cast(scores, "float32"), axis=1)
        fused = discard_lowest(fused, discard_ratio)
        identity = ops.eye(fused.shape[-1], dtype="float32")[None]
        mixed = 0.5 * fused + 0.5 * identity
        mixed = mixed / ops.sum(mixed, axis=-1, keepdims=True)
        joint = mixed if joint is None else ops.matmul(mixed, joint)
    return joint


@register
class AttentionRollout(Method):
    """Attention rollout: how much each patch token flows into the output token through
    every layer's attention and residual connections.

    Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers". Each layer's
    attention heads are fused (`head_fusion`: mean, max or min), the residual path is
    added as an identity, A = (W_att + I) / 2 with rows renormalised, and the layers'
    matrices are multiplied from the first to the last. The map is the class token's
    row over the patch tokens (a model with prefix tokens), or the mean of all rows
    (a model without them, pooled heads). `discard_ratio` zeroes the lowest fraction
    of each fused attention matrix first (a denoising step from Gildenblat's
    vit-explain, not in the paper; 0 keeps all).

    What it does not explain: it is class-agnostic, the same map for every class, read
    from the attention weights alone. It ignores the values the attention moves, the
    MLPs, the normalisations and the head, so it says where the model gathers
    information from, not what in the image made it choose a class. It needs
    keras.layers.MultiHeadAttention layers over one token grid; the user's layers are
    asked for their scores during the re-traced call (`return_attention_scores=True`)
    and are not changed.
    """

    name = "attention_rollout"
    paper = "Abnar & Zuidema 2020, Quantifying Attention Flow in Transformers"
    caption = ("Bright: patches whose tokens flow most into the output token through "
               "attention and residual paths (the same map for every class).")
    uses_layer = False
    guided_variant = False
    class_specific = False
    options = (
        Option("head_fusion", "mean", str, "how the heads of a layer are combined",
               choices=tuple(_FUSIONS)),
        Option("discard_ratio", 0.0, float,
               "fraction of the lowest attention weights zeroed in each layer",
               low=0.0, high=0.99),
    )

    def check_model(self, model: keras.Model, options: dict) -> None:
        """Refuse a model without keras.layers.MultiHeadAttention (on any input's
        branch; `compute` checks the explained input's)."""
        if not any(isinstance(call.layer, keras.layers.MultiHeadAttention)
                   for call in all_calls(model)):
            raise ValueError(
                f"Model {model.name!r} has no keras.layers.MultiHeadAttention, so there is "
                "no attention to roll out. Attention rollout reads the attention weights of "
                "MultiHeadAttention layers (also inside custom layers); for other models use "
                "a CAM method on a token layer.")

    def compute(self, run: Run) -> Attribution:
        model = run.probe.model
        calls, grid = attention_calls(model, run.input_index)
        probe = Probe(model, attention=calls, guided=False, logits=run.probe.logits)
        out = probe(run.inputs)
        scores, chosen = run.score(out)
        if len(out.attention) != len(calls):
            raise ValueError(
                f"Expected attention scores from {len(calls)} MultiHeadAttention calls, "
                f"got {len(out.attention)}: a layer returned none."
            )
        joint = roll_out(out.attention, run.options["head_fusion"],
                         run.options["discard_ratio"])
        if grid.prefix:
            flow = joint[:, 0, grid.prefix:]
        else:
            flow = ops.mean(joint, axis=1)
        raw = ops.reshape(flow, (-1, grid.height, grid.width))
        maps = scale_min_max(upsample(raw, run.image_size))
        return run.result(raw, maps, scores, chosen, out)
