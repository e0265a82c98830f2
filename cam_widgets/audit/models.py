"""The model to explain: a Keras model, or a .keras file loaded before any work starts
(`load_model`, shared with the viewer and the gallery), and its input size."""
from __future__ import annotations


from cam_widgets._tf_startup import import_keras_quietly

import_keras_quietly()  # before Keras: TensorFlow loads without its start-up notices

import keras  # noqa: E402

from cam_widgets.audit.sources import InputSize
from cam_widgets.kernel.model_file import load_model

__all__ = ["input_size", "load_model"]


def input_size(model: keras.Model) -> InputSize:
    """The (height, width, channels) of a single-input image model."""
    if len(model.inputs) != 1:
        raise ValueError(f"explain_to_parquet explains single-input image models; "
                         f"{model.name!r} has {len(model.inputs)} inputs. Use `explain`.")
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 4 or None in shape[1:]:
        raise ValueError(f"The model's input must be images of a fixed size (batch, height, "
                         f"width, channels); it is {shape}.")
    return InputSize(int(shape[1]), int(shape[2]), int(shape[3]))
