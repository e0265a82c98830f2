"""What the TensorFlow benchmark scripts share: everything in `benchmarks.neutral` (models,
images, command line, budgeted measuring, peak memory, summary records), plus the
TensorFlow compiled forward pass (the limit to reach) and the bare input gradient."""
from __future__ import annotations

import os
import warnings
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.neutral import (  # noqa: E402, F401  (re-exported for the scripts)
    ARCHITECTURES, FORWARD, SUMMARY_ENV, PeakRSS, Settings, Timing, build_model, cam_layer,
    logits_model, make_images, measure, parse, predicted, ratio_table, record,
    record_ratios)
from benchmarks.timing import cores_and_cpu  # noqa: E402

# Keras warns when a peer feeds a list to a one-input model, TensorFlow when a peer
# retraces for a new batch size: noise in the tables (first_call measures retracing).
warnings.filterwarnings("ignore", message="The structure of `inputs`")
tf.get_logger().setLevel("ERROR")


def compiled_forward(model: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    """The limit: one compiled inference pass of `model`, its output fetched to numpy."""
    function = tf.function(lambda x: model(x, training=False))
    return lambda images: function(images).numpy()


def bare_input_gradient(model: keras.Model) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A floor for gradient methods: one compiled input gradient of the class logits
    (batch_dims gather, nothing else), fetched to numpy."""
    logits = logits_model(model)

    @tf.function(reduce_retracing=True)
    def gradient(images, classes):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(images)
            scores = tf.gather(logits(images, training=False), classes, axis=1, batch_dims=1)
        return tape.gradient(scores, images)

    return lambda images, classes: gradient(tf.constant(images), tf.constant(classes)).numpy()


def machine() -> str:
    """One line: cores, CPU model, TensorFlow and Keras versions."""
    return f"{cores_and_cpu()}, CPU only, TF {tf.__version__}, Keras {keras.__version__}"
