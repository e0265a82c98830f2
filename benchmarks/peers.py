"""The peers, each called through its public API, and a keras.io-style eager Grad-CAM
written here.

Every factory sets its peer up once (tf-keras-vis clones the model, Xplique rewrites it:
`first_call` times that part) and returns `run(images, targets) -> numpy maps`. Every
candidate gets the same images and the same explicit class indices, so nobody pays for
choosing the class. A peer that cannot run here raises `Unavailable` with the reason.
"""
from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

Run = Callable[[np.ndarray, np.ndarray], np.ndarray]


class Unavailable(RuntimeError):
    """The peer is not installed or does not run on this TensorFlow."""


# keras.io-style eager Grad-CAM --------------------------------------------------------

def keras_io_gradcam(model: keras.Model, layer: str) -> Run:
    """Grad-CAM the way the keras.io example does it, batched: a two-output model
    (the conv layer and the predictions), one eager tape, mean gradients as channel
    weights, ReLU, scaled per image, resized to the input with tf.image.resize."""
    both = keras.Model(model.inputs, [model.get_layer(layer).output, model.outputs[0]])

    def run(images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        with tf.GradientTape() as tape:
            feature_maps, predictions = both(images)
            class_scores = tf.gather(predictions, targets, axis=1, batch_dims=1)
        gradients = tape.gradient(class_scores, feature_maps)
        channel_weights = tf.reduce_mean(gradients, axis=(1, 2))
        heatmaps = tf.nn.relu(tf.einsum("bhwc,bc->bhw", feature_maps, channel_weights))
        heatmaps /= tf.reduce_max(heatmaps, axis=(1, 2), keepdims=True) + 1e-12
        return tf.image.resize(heatmaps[..., None], images.shape[1:3])[..., 0].numpy()

    return run


# tf-keras-vis -------------------------------------------------------------------------

def _tf_keras_vis():
    try:
        from tf_keras_vis.gradcam import Gradcam
        from tf_keras_vis.saliency import Saliency
        from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
        from tf_keras_vis.utils.scores import CategoricalScore
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise Unavailable(f"tf-keras-vis is not installed ({error}); "
                          "`pip install -e .[bench]`") from None
    return Gradcam, Saliency, ReplaceToLinear, CategoricalScore


def tf_keras_vis_gradcam(model: keras.Model, layer: str) -> Run:
    """tf_keras_vis.gradcam.Gradcam on logits (ReplaceToLinear on a clone)."""
    Gradcam, _, ReplaceToLinear, CategoricalScore = _tf_keras_vis()
    gradcam = Gradcam(model, model_modifier=ReplaceToLinear(), clone=True)
    return lambda images, targets: gradcam(CategoricalScore(list(targets)), images,
                                           penultimate_layer=layer)


def tf_keras_vis_smoothgrad(model: keras.Model, n_samples: int) -> Run:
    """tf_keras_vis.saliency.Saliency with smooth_samples (SmoothGrad), on logits."""
    _, Saliency, ReplaceToLinear, CategoricalScore = _tf_keras_vis()
    saliency = Saliency(model, model_modifier=ReplaceToLinear(), clone=True)
    return lambda images, targets: saliency(CategoricalScore(list(targets)), images,
                                            smooth_samples=n_samples, smooth_noise=0.15)


def tf_keras_vis_scorecam(model: keras.Model, layer: str, max_channels: int) -> Run:
    """tf_keras_vis.scorecam.Scorecam with max_N (its Faster-ScoreCAM: the channels of
    largest variance), on the model's own softmax output, masks in batches of 32."""
    try:
        from tf_keras_vis.scorecam import Scorecam
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise Unavailable(f"tf-keras-vis is not installed ({error}); "
                          "`pip install -e .[bench]`") from None
    _, _, _, CategoricalScore = _tf_keras_vis()
    scorecam = Scorecam(model, clone=True)
    return lambda images, targets: scorecam(CategoricalScore(list(targets)), images,
                                            penultimate_layer=layer, max_N=max_channels,
                                            batch_size=32)


# Xplique ------------------------------------------------------------------------------

def _xplique():
    try:
        import xplique
        from xplique.attributions import GradCAM, GuidedBackprop, SmoothGrad
    except Exception as error:  # noqa: BLE001 - any import failure means "cannot run here"
        raise Unavailable(
            f"Xplique does not import here ({type(error).__name__}: {error}). It pins an "
            "older TensorFlow: install it with `pip install --no-deps xplique` plus its "
            "imports (see benchmarks/README.md)."
        ) from None
    return xplique.__version__, GradCAM, GuidedBackprop, SmoothGrad


def xplique_version() -> str:
    return _xplique()[0]


def _one_hot(targets: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes, dtype=np.float32)[targets]


def xplique_gradcam(model: keras.Model, layer: str) -> Run:
    """xplique.attributions.GradCAM on the named layer, the whole batch at once."""
    _, GradCAM, _, _ = _xplique()
    explainer = GradCAM(model, conv_layer=layer, batch_size=None)
    n_classes = model.outputs[0].shape[-1]
    return lambda images, targets: explainer.explain(
        images, _one_hot(targets, n_classes)).numpy()


def xplique_guided_backprop(model: keras.Model) -> Run:
    """xplique.attributions.GuidedBackprop (it clones the model with guided ReLUs)."""
    _, _, GuidedBackprop, _ = _xplique()
    explainer = GuidedBackprop(model, batch_size=None)
    n_classes = model.outputs[0].shape[-1]
    return lambda images, targets: explainer.explain(
        images, _one_hot(targets, n_classes)).numpy()


def xplique_smoothgrad(model: keras.Model, n_samples: int) -> Run:
    """xplique.attributions.SmoothGrad; its batch_size (32) batches the noisy copies."""
    _, _, _, SmoothGrad = _xplique()
    explainer = SmoothGrad(model, nb_samples=n_samples, batch_size=32, noise=0.15)
    n_classes = model.outputs[0].shape[-1]
    return lambda images, targets: explainer.explain(
        images, _one_hot(targets, n_classes)).numpy()


def xplique_integrated_gradients(model: keras.Model, steps: int) -> Run:
    """xplique.attributions.IntegratedGradients from a black baseline, path points in
    batches of 32."""
    _xplique()
    from xplique.attributions import IntegratedGradients
    explainer = IntegratedGradients(model, batch_size=32, steps=steps, baseline_value=0.0)
    n_classes = model.outputs[0].shape[-1]
    return lambda images, targets: explainer.explain(
        images, _one_hot(targets, n_classes)).numpy()


def xplique_occlusion(model: keras.Model, window: int) -> Run:
    """xplique.attributions.Occlusion with non-overlapping windows filled with 0,
    occluded copies in batches of 32."""
    _xplique()
    from xplique.attributions import Occlusion
    explainer = Occlusion(model, batch_size=32, patch_size=window, patch_stride=window,
                          occlusion_value=0.0)
    n_classes = model.outputs[0].shape[-1]
    return lambda images, targets: explainer.explain(
        images, _one_hot(targets, n_classes)).numpy()


def add_peer(candidates: dict, notes: list[str], name: str, make: Callable[[], Run],
             images: np.ndarray, targets: np.ndarray) -> None:
    """candidates[name] = a no-argument call of the peer, or a note why it is missing."""
    try:
        run = make()
    except Unavailable as why:
        notes.append(f"{name}: not run: {why}")
        return
    candidates[name] = lambda: run(images, targets)
