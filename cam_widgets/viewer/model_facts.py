"""What the viewer reads of a model once, through the kernel: its inputs, its spatial
layers (all of them, and the main ones the menu lists first), whether its output is a
segmentation map, how many classes a target can name, and which methods apply to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cam_widgets.viewer.regions import DenseOutput
from cam_widgets.viewer.words import layer_size

#: (name, shape with the batch dimension, channels or None) of one model input
InputInfo = tuple[str, tuple, "int | None"]


@dataclass
class ModelFacts:
    """One model as the viewer's parts see it (`read` builds it)."""

    inputs: list[InputInfo]
    all_layers: list[Any]  # `LayerInfo` of every spatial layer
    main_layers: list[Any]  # the layers the menu lists unless "show all layers"
    dense: DenseOutput | None  # a segmentation model's output, or None
    n_classes: int | None  # classes a target can name (None: unknown until predicted)
    methods: list[str] = field(default_factory=list)  # the methods that apply (`applicable`)

    @classmethod
    def read(cls, kernel: Any, model: Any) -> ModelFacts:
        """Ask the kernel (`load_kernel()`'s namespace) about `model`."""
        dense = _dense_output(kernel, model)
        return cls(
            inputs=_model_inputs(model),
            all_layers=[info for info in kernel.list_layers(model) if info.spatial],
            main_layers=list(kernel.main_layers(model)),
            dense=dense,
            n_classes=dense.classes if dense else _class_count(kernel, model),
            methods=applicable_methods(kernel, model),
        )

    def input_channels(self) -> list[int | None]:
        return [channels for _, _, channels in self.inputs]

    def input_sizes(self) -> list[tuple[int | None, int | None]]:
        """(height, width) each image input takes ((None, None) when free or not an image)."""
        return [tuple(shape[1:3]) if len(shape) == 4 else (None, None)
                for _, shape, _ in self.inputs]

    def layer_sizes(self) -> dict[str, str]:
        """Layer path -> its size as menus write it ("14×14", "4×4 tokens")."""
        return {info.path: layer_size(info) for info in self.all_layers}


def applicable_methods(kernel: Any, model: Any) -> list[str]:
    """The registered methods whose contract accepts `model` (`Method.check_model` with
    the method's default options: attention rollout needs attention layers, LRP a rule
    for every layer), in registry order. A check that fails otherwise than by refusing
    the model (a ValueError or TypeError) keeps its method: the kernel says why on use."""
    names = []
    for name in kernel.method_names():
        method = kernel.get_method(name)
        try:
            method.check_model(model, method.check_options({}))
        except (ValueError, TypeError):
            continue
        except Exception:  # noqa: BLE001 (not a refusal: the method stays offered)
            pass
        names.append(name)
    return names


def _model_inputs(model: Any) -> list[InputInfo]:
    try:
        refs = list(model.inputs)
    except (AttributeError, ValueError):
        return [("input", (), None)]
    return [(getattr(r, "name", f"input_{i}"), tuple(r.shape), r.shape[-1])
            for i, r in enumerate(refs)] or [("input", (), None)]


def _dense_output(kernel: Any, model: Any) -> DenseOutput | None:
    """A segmentation output's class count and size (`kernel.is_dense_output`), or None."""
    try:
        if not kernel.is_dense_output(model):
            return None
    except (AttributeError, ValueError):
        return None
    shape = tuple(model.outputs[0].shape)
    return DenseOutput(int(shape[3]) if len(shape) == 4 and shape[3] is not None else 1,
                       (shape[1], shape[2]))


def _class_count(kernel: Any, model: Any) -> int | None:
    """How many classes an int target can name (`kernel.class_count`), None if unknown."""
    try:
        return kernel.class_count(model)
    except ValueError:  # a model the kernel cannot read: its own error comes on explain
        return None


__all__ = ["ModelFacts", "applicable_methods"]
