"""The model to explain: a Keras model, or a .keras file loaded before any work starts."""
from __future__ import annotations

import os
from typing import Any

from cam_widgets._tf_startup import import_keras_quietly

import_keras_quietly()  # before Keras: TensorFlow loads without its start-up notices

import keras  # noqa: E402

from cam_widgets.audit.sources import InputSize


def load_model(model: Any) -> keras.Model:
    """`model` itself, or the model saved at the path `model` (a clear error if it won't load)."""
    if isinstance(model, keras.Model):
        return model
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"model must be a keras.Model or the path of a .keras file; got "
                        f"{type(model).__name__}.")
    path = os.fspath(model)
    if not os.path.isfile(path):
        raise ValueError(f"Cannot load a model from {path!r}: no such file.")
    try:
        loaded = keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras raises many kinds for a bad file
        raise ValueError(f"Cannot load a Keras model from {path!r} ({type(error).__name__}: "
                         f"{error}). Save one with `model.save('model.keras')`.") from None
    if not isinstance(loaded, keras.Model):
        raise ValueError(f"{path!r} holds a {type(loaded).__name__}, not a keras.Model.")
    return loaded


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
