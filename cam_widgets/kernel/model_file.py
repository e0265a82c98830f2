"""The model to explain: a Keras model, or the path of a saved one (the one loader the
viewer, the gallery and `explain_to_parquet` share)."""
from __future__ import annotations

import os
from typing import Any

from cam_widgets._tf_startup import import_keras_quietly

import_keras_quietly()  # before Keras: TensorFlow loads without its start-up notices

import keras  # noqa: E402


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


__all__ = ["load_model"]
