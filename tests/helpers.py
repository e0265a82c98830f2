"""Helpers shared by test files in several folders: the model fingerprint and tiny models
whose metric values are worked out by hand."""
from __future__ import annotations

import hashlib
import json

import keras
import numpy as np


def fingerprint(model: keras.Model, probe_images) -> tuple[str, str, bytes]:
    """(weights hash, config, outputs on `probe_images`): all must survive an explain."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    config = json.dumps(model.get_config(), sort_keys=True, default=str)
    outputs = keras.tree.flatten(model(probe_images, training=False))
    return digest.hexdigest(), config, b"".join(
        keras.ops.convert_to_numpy(o).tobytes() for o in outputs)


def mean_model() -> keras.Model:
    """4x4x1 -> one score, the mean of the 16 pixels (one 'class')."""
    inputs = keras.Input((4, 4, 1))
    dense = keras.layers.Dense(1, use_bias=False)
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    dense.set_weights([np.full((16, 1), 1 / 16, np.float32)])
    return model


def write_saved_notebook(viewer, path) -> str:
    """Write at `path` a notebook as JupyterLab saves it with widget state on: one cell
    whose output is `viewer`'s display (its mimebundle), and its widgets' state. Returns
    the PNG (base64) that output carries."""
    import nbformat
    from ipywidgets.embed import dependency_state

    bundle = viewer.widget._repr_mimebundle_()
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("viewer.show(image)", outputs=[
        nbformat.v4.new_output("display_data", data=bundle)]))
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "version_major": 2, "version_minor": 0,
        "state": dependency_state(viewer.widget, drop_defaults=True)}}
    nbformat.write(nb, path)
    return bundle["image/png"]


def stop_group(process) -> None:
    """Stop a process started with `start_new_session=True` and everything it started:
    SIGTERM to its group, SIGKILL after 15 s."""
    import os
    import signal
    import subprocess

    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
