"""The PyTorch backend: autograd, an autograd.Function for custom gradients, eager calls.

The explain function runs eagerly (each layer call is already a compiled kernel), so it
reads the variables' current values at every call.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import keras
import torch

from cam_widgets.kernel import cancel
from cam_widgets.kernel.backends.shapes import free_batch, sized


@dataclass
class _Graph:
    scores: Any
    aux: Any
    total: torch.Tensor  # the scores' sum, made while gradients were recorded
    primals: Sequence[torch.Tensor]
    again: bool

    def gradients(self, which: Sequence[int]) -> list:
        if not self.total.requires_grad:  # a score made from no primal (a constant)
            return [None] * len(which)
        return list(torch.autograd.grad(
            self.total, [self.primals[i] for i in which],
            retain_graph=self.again, allow_unused=True))


class _Identity(torch.autograd.Function):
    @staticmethod
    def forward(ctx, values, backward):
        ctx.save_for_backward(values)
        ctx.backward_fn = backward
        return values.view_as(values)

    @staticmethod
    def backward(ctx, upstream):
        (values,) = ctx.saved_tensors
        return ctx.backward_fn(values, upstream), None


class TorchBackend:
    name = "torch"

    def differentiate(self, fn, primals, *, again=False):
        primals = [keras.ops.convert_to_tensor(p).detach().requires_grad_(True)
                   for p in primals]
        with torch.enable_grad():
            scores, aux = fn(*primals)
            total = scores.sum()
        return _Graph(scores, aux, total, primals, again)

    def custom_gradient(self, values, backward):
        return _Identity.apply(values, backward)

    def chunked_sum(self, count, per_pass, step, initial):
        per_pass = int(per_pass)
        total = initial
        for first in range(0, count, per_pass):
            if cancel.stop_requested():
                break
            total = total + step(first, min(per_pass, count - first))
        return total

    def compile(self, fn, variables, signature, jit_compile):
        def call(*args):
            # Forward-only work keeps no graph; `differentiate` turns gradients back on.
            with torch.no_grad():
                return fn(*(keras.ops.convert_to_tensor(arg) for arg in args))

        return call

    def uncompiled(self, fn):
        return None  # `compile` runs eagerly already

    def output_shapes(self, fn, signature):
        zeros = [keras.ops.zeros(sized(shape), dtype) for shape, dtype in signature]
        with torch.no_grad():
            outputs = fn(*zeros)
        return keras.tree.map_structure(free_batch, outputs)


BACKEND = TorchBackend()
