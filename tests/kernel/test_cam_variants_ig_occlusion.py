"""HiResCAM, XGrad-CAM, Score-CAM, Eigen-CAM, Integrated Gradients and Occlusion: literal
values on the hand-set model, an independent computation on a small CNN, completeness,
and one error per bad option."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from cam_widgets import explain
from tests.kernel import reference as ref
from tests.kernel.helpers import RAMP, scale_gap_dense, small_cnn

X = RAMP[0, ..., 0]  # values 0..8; the hand-set layer reads A_0 = x, A_1 = 2x
CLASSES = [1, 4, 7]


# Literal values on the hand-set model (Conv 1x1 [1, 2] -> GAP -> Dense W=[[1,-1],[0.5,2]])
def test_hirescam_by_hand_sums_to_the_score():
    # class 1: dS/dA_k = W[k, 1] / 9 everywhere -> sum_k g_k A_k = (-1 + 2 * 2) x / 9
    res = explain(scale_gap_dense(), RAMP, method="hirescam", target=1)
    np.testing.assert_allclose(res.raw[0], X / 3, rtol=1e-6)
    assert res.raw[0].sum() == pytest.approx(res.scores[0])  # GAP + dense, no bias


def test_xgradcam_by_hand():
    # uniform gradients: sum(g A) / sum(A) = g, so the weights are W[k, 0] / 9
    res = explain(scale_gap_dense(), RAMP, method="xgradcam", target=0)
    np.testing.assert_allclose(res.raw[0], 2 * X / 9, rtol=1e-6)


def test_eigencam_by_hand_is_class_agnostic():
    # centred activations (x - 4)(1, 2): first axis (1, 2)/sqrt(5), projection sqrt(5)(x - 4)
    model = scale_gap_dense()
    first, second = (explain(model, RAMP, method="eigencam", target=t) for t in (0, 1))
    np.testing.assert_allclose(first.raw[0], np.sqrt(5) * (X - 4), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(first.maps[0], np.maximum(X - 4, 0) / 4, atol=1e-6)
    np.testing.assert_array_equal(first.maps, second.maps)
    assert first.targets.tolist() == [0] and second.targets.tolist() == [1]


def test_scorecam_by_hand_logit_and_softmax():
    # both channels stretch to x / 8; masked input x^2 / 8 has mean 204 / 72;
    # logits of it: class 0 = 2 * 204 / 72, class 1 = 3 * 204 / 72 = 8.5; baseline zeros -> 0
    model = scale_gap_dense()
    on_logit = explain(model, RAMP, method="scorecam", target=1, score="logit")
    np.testing.assert_allclose(on_logit.raw[0], 8.5 * 3 * X, rtol=1e-5)
    on_softmax = explain(model, RAMP, method="scorecam", target=1)
    weight = 1 / (1 + np.exp(-(8.5 - 2 * 204 / 72))) - 0.5  # p1(masked) - p1(zeros)
    np.testing.assert_allclose(on_softmax.raw[0], weight * 3 * X, rtol=1e-5)
    np.testing.assert_allclose(on_softmax.maps[0], X / 8, rtol=1e-5)


@pytest.mark.parametrize("baseline, expected", [("black", X / 3), ("mean", (X - 4) / 3)])
def test_integrated_gradients_by_hand(baseline, expected):
    # class 1 logit = 3 mean(x): gradient 1/3 everywhere, so IG = (x - x') / 3
    res = explain(scale_gap_dense(), RAMP, method="integrated_gradients", target=1,
                  baseline=baseline, steps=3)
    np.testing.assert_allclose(res.raw[0, ..., 0], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fill, expected", [(0.0, X / 3), ("mean", (X - 4) / 3)])
def test_occlusion_by_hand(fill, expected):
    # covering one pixel of a linear score 3 mean(x) drops it by 3 (x - fill) / 9
    res = explain(scale_gap_dense(), RAMP, method="occlusion", target=1, window=1, fill=fill)
    np.testing.assert_allclose(res.raw[0, ..., 0], expected, rtol=1e-5, atol=1e-6)
    assert res.signed


def test_occlusion_windows_overlap_and_average():
    # 2x2 windows with stride 1 on 3x3: the centre is in 4 windows; a window drops the
    # score by the sum of its pixels / 3, and each pixel averages its windows' drops
    res = explain(scale_gap_dense(), RAMP, method="occlusion", target=1, window=2, stride=1,
                  fill=0.0)
    drops = np.array([[X[i:i + 2, j:j + 2].sum() / 3 for j in range(2)] for i in range(2)])
    total, count = np.zeros((3, 3)), np.zeros((3, 3))
    for i in range(2):
        for j in range(2):
            total[i:i + 2, j:j + 2] += drops[i, j]
            count[i:i + 2, j:j + 2] += 1
    np.testing.assert_allclose(res.raw[0, ..., 0], total / count, rtol=1e-5)


# Independent computations on a small CNN ------------------------------------------------
@pytest.fixture(scope="module")
def cnn():
    keras.utils.set_random_seed(3)
    return small_cnn(activation=None)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(21).random((3, 28, 28, 1), np.float32)


def split(model, layer="conv2"):
    features = keras.Model(model.inputs[0], model.get_layer(layer).output)
    after = ref.split_at(model.layers, layer)[1]
    return features, lambda a: ref.run_layers(after, a)


def layer_gradients(model, images, classes, layer):
    features, head = split(model, layer)
    acts = features(images)
    with tf.GradientTape() as tape:
        tape.watch(acts)
        scores = ref.class_score(classes)(head(acts))
    return acts.numpy(), tape.gradient(scores, acts).numpy()


def test_hirescam_and_xgradcam_match_a_plain_tape(cnn, images):
    # conv1: max pooling and conv2 lie after it, so its gradients vary over locations
    acts, grads = layer_gradients(cnn, images, CLASSES, "conv1")
    hires = explain(cnn, images, method="hirescam", layer="conv1", target=CLASSES)
    np.testing.assert_allclose(hires.raw, (grads * acts).sum(-1), rtol=1e-4, atol=1e-6)
    sums = acts.sum((1, 2))  # a dead channel (sum 0) gets weight 0
    weights = np.divide((grads * acts).sum((1, 2)), sums, out=np.zeros_like(sums), where=sums != 0)
    xgrad = explain(cnn, images, method="xgradcam", layer="conv1", target=CLASSES)
    np.testing.assert_allclose(xgrad.raw, np.einsum("bk,bhwk->bhw", weights, acts),
                               rtol=1e-4, atol=1e-6)
    gradcam = explain(cnn, images, method="gradcam", layer="conv1", target=CLASSES)
    assert not np.allclose(xgrad.raw, gradcam.raw, rtol=0.05)  # a different weighting


def test_eigencam_matches_numpy_svd(cnn, images):
    features, _ = split(cnn)
    acts = features(images).numpy()
    res = explain(cnn, images, method="eigencam", layer="conv2")
    for acts_one, raw in zip(acts, res.raw):
        points = acts_one.reshape(-1, acts_one.shape[-1])
        centred = points - points.mean(0)
        projection = centred @ np.linalg.svd(centred, full_matrices=False)[2][0]
        total = points.sum(1)
        if np.dot(projection, total - total.mean()) < 0:
            projection = -projection
        np.testing.assert_allclose(raw.ravel(), projection, rtol=1e-3, atol=1e-4)


def test_scorecam_matches_a_loop_over_channels(cnn, images):
    features, _ = split(cnn)
    acts = features(images).numpy()
    probabilities = lambda x: tf.nn.softmax(cnn(x)).numpy()  # noqa: E731
    rows = np.arange(len(images))
    base = probabilities(np.zeros_like(images))[rows, CLASSES]
    keep = np.argsort(-acts.var(axis=(1, 2)), axis=1, kind="stable")[:, :5]
    expected = np.zeros(acts.shape[:3], np.float32)
    for rank in range(5):
        channel = acts[rows, :, :, keep[:, rank]]  # (B, h, w)
        up = tf.image.resize(channel[..., None], (28, 28)).numpy()
        low, high = up.min((1, 2, 3), keepdims=True), up.max((1, 2, 3), keepdims=True)
        weight = probabilities(images * (up - low) / (high - low))[rows, CLASSES] - base
        expected += weight[:, None, None] * channel
    res = explain(cnn, images, method="scorecam", layer="conv2", target=CLASSES,
                  max_channels=5, chunk_size=4)
    np.testing.assert_allclose(res.raw, expected, rtol=1e-4, atol=1e-5)


def test_integrated_gradients_match_a_loop_over_the_path(cnn, images):
    steps = 6
    expected = np.zeros_like(images)
    for k in range(steps):
        expected += ref.input_gradient(cnn, images * (k + 0.5) / steps, ref.class_score(CLASSES))
    res = explain(cnn, images, method="integrated_gradients", target=CLASSES, steps=steps,
                  chunk_size=5)
    np.testing.assert_allclose(res.raw, images * expected / steps, rtol=1e-4, atol=1e-6)


def test_occlusion_matches_a_loop_over_windows(cnn, images):
    def scores(x):
        return cnn(x).numpy()[np.arange(len(images)), CLASSES]

    clean, fill = scores(images), images.mean(axis=(1, 2, 3), keepdims=True)
    total, count = np.zeros(images.shape[:3]), np.zeros((28, 28))
    for top in (0, 10, 18):  # window 10, stride 10 on 28: 0, 10 and one flush at 18
        for left in (0, 10, 18):
            covered = images.copy()
            covered[:, top:top + 10, left:left + 10] = fill
            total[:, top:top + 10, left:left + 10] += (clean - scores(covered))[:, None, None]
            count[top:top + 10, left:left + 10] += 1
    res = explain(cnn, images, method="occlusion", target=CLASSES, window=10, chunk_size=7)
    np.testing.assert_allclose(res.raw[..., 0], total / count, rtol=1e-4, atol=1e-5)


def blurred(images, sigma):
    """A Gaussian blur written out with numpy: weights over the pixels inside the image."""
    radius = int(np.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    size = images.shape[1]
    weights = np.zeros((size, size))  # weights[i, j]: pixel j's weight in output i
    for i in range(size):
        for offset, tap in zip(range(-radius, radius + 1), taps):
            if 0 <= i + offset < size:
                weights[i, i + offset] = tap
    weights /= weights.sum(1, keepdims=True)
    return np.einsum("ij,bjkc,lk->bilc", weights, images, weights)


@pytest.mark.parametrize("baseline", ["black", "mean", "blur", "array"])
def test_integrated_gradients_completeness_at_256_steps(cnn, images, baseline):
    given = np.full((28, 28, 1), 0.3, np.float32) if baseline == "array" else baseline
    res = explain(cnn, images, method="integrated_gradients", target=CLASSES, steps=256,
                  baseline=given, chunk_size=256)
    start = {"black": np.zeros_like(images),
             "mean": np.broadcast_to(images.mean((1, 2), keepdims=True), images.shape),
             "array": np.broadcast_to(given, images.shape)}.get(baseline)
    if start is None:  # blur: sigma 28 / 16 px, normalised at the border, computed here
        start = blurred(images, 28 / 16)
    score = lambda x: cnn(x).numpy()[np.arange(3), CLASSES]  # noqa: E731
    change = score(images) - score(start.astype(np.float32))
    np.testing.assert_allclose(res.raw.sum(axis=(1, 2, 3)), change, rtol=0.01)
    assert np.abs(change).min() > 1e-3  # a change worth checking


def test_integrated_gradients_baseline_array_is_an_argument_not_a_constant(cnn, images):
    from cam_widgets.kernel.explain import compiled_functions
    before = len(compiled_functions(cnn))
    for value in (0.1, 0.7):
        explain(cnn, images, method="integrated_gradients", target=CLASSES, steps=2,
                baseline=np.full((28, 28, 1), value, np.float32))
    new = [f for key, f in compiled_functions(cnn).items() if key.method == "integrated_gradients"
           and ("baseline", ("array", (28, 28, 1))) in key.options and ("steps", 2) in key.options]
    assert len(compiled_functions(cnn)) == before + 1 and len(new) == 1
    assert new[0].experimental_get_tracing_count() == 1


# One error per bad option --------------------------------------------------------------
ERRORS = [
    ("scorecam", dict(score="prob"), ValueError, r"'score' of 'scorecam' must be one of 'softmax', 'logit'; got 'prob'"),
    ("scorecam", dict(max_channels=0), ValueError, r"'max_channels' of 'scorecam' must be int in \[1, 100000\] or None; got 0"),
    ("scorecam", dict(chunk_size=0), ValueError, r"'chunk_size' of 'scorecam' must be int in \[1, 4096\]; got 0"),
    ("scorecam", dict(guided=True), ValueError, r"'scorecam' has no guided variant, so `guided=True` would be ignored"),
    ("integrated_gradients", dict(guided=True), ValueError, r"'integrated_gradients' has no guided variant"),
    ("occlusion", dict(guided=True), ValueError, r"'occlusion' has no guided variant"),
    ("eigencam", dict(guided=True), ValueError, r"'eigencam' has no guided variant"),
    ("attention_rollout", dict(guided=True), ValueError, r"'attention_rollout' has no guided variant"),
    ("integrated_gradients", dict(steps=0), ValueError, r"'steps' of 'integrated_gradients' must be int in \[1, 100000\]; got 0"),
    ("integrated_gradients", dict(baseline="blurr"), ValueError, r"must be one of 'black', 'mean', 'blur' or str or an array; got 'blurr'\. Did you mean 'blur'\?"),
    ("integrated_gradients", dict(baseline=[0.0]), TypeError, r"'baseline' of 'integrated_gradients' must be .* an array; got \[0\.0\] \(list\)"),
    ("integrated_gradients", dict(baseline=np.zeros((5, 5, 1))), ValueError, r"baseline array .* shape \(5, 5, 1\); it must broadcast to one image \(28, 28, 1\)"),
    ("integrated_gradients", dict(baseline=np.full((28, 28, 1), np.nan)), ValueError, r"non-finite"),
    ("occlusion", dict(window=(3,)), TypeError, r"'window' of 'occlusion' must be int >= 1 .* or a pair \(height, width\) of them; got \(3,\)"),
    ("occlusion", dict(window=0), ValueError, r"'window' of 'occlusion' must be int >= 1"),
    ("occlusion", dict(window=(4, 40)), ValueError, r"'window' of 'occlusion' is \(4, 40\) \(h, w\), larger than the images \(28, 28\)"),
    ("occlusion", dict(stride=(2, 0)), ValueError, r"'stride' of 'occlusion' must be int >= 1"),
    ("occlusion", dict(fill="black"), ValueError, r"'fill' of 'occlusion' must be one of 'mean' or str or float; got 'black'"),
    ("occlusion", dict(fill=True), TypeError, r"'fill' of 'occlusion' must be .*; got True \(bool\)"),
    ("occlusion", dict(chunk_size=5000), ValueError, r"'chunk_size' of 'occlusion' must be int in \[1, 4096\]"),
    ("eigencam", dict(steps=3), TypeError, r"unknown argument 'steps'\..*'eigencam' takes no options"),
    ("smoothgrad", dict(chunk_size=0), ValueError, r"'chunk_size' of 'smoothgrad' must be int in \[1, 4096\]; got 0"),
]


@pytest.mark.parametrize("method, kwargs, error, message", ERRORS,
                         ids=[f"{m}-{next(iter(k))}" for m, k, _, _ in ERRORS])
def test_option_errors(cnn, images, method, kwargs, error, message):
    with pytest.raises(error, match=message):
        explain(cnn, images, method=method, **kwargs)


@pytest.mark.parametrize("method", ["hirescam", "xgradcam", "scorecam", "eigencam"])
def test_layer_methods_from_given_activations_equal_a_full_pass(cnn, images, method):
    # what the viewer does on a class change: the layer's output from a previous result
    options = {"max_channels": 4} if method == "scorecam" else {}
    first = explain(cnn, images, method=method, layer="conv2", target=[0, 1, 2], **options)
    again = explain(cnn, images, method=method, layer="conv2", target=CLASSES, **options)
    reused = explain(cnn, images, method=method, layer="conv2", target=CLASSES,
                     activations=first.activations, **options)
    np.testing.assert_allclose(reused.raw, again.raw, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reused.scores, again.scores, rtol=1e-5)
