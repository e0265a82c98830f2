"""Train the small CNN shipped as ``cam_widgets/data/shapes_model.keras``.

Run from the repository root with the package importable (``pip install -e .`` or
``PYTHONPATH=.``):  python scripts/train_shapes_model.py

The network is fully convolutional up to a 16x16 ``last_conv`` layer, then global average
pooling and one softmax Dense layer, so Grad-CAM on ``last_conv`` localises the object.
Seeds are fixed; data seeds: training 1, held-out evaluation 2 (tests use other seeds).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from cam_widgets.datasets import CLASS_NAMES, make_shapes  # noqa: E402

OUT_PATH = Path(__file__).resolve().parents[1] / "cam_widgets" / "data" / "shapes_model.keras"
TRAIN_SEED, EVAL_SEED, WEIGHT_SEED = 1, 2, 0
N_TRAIN, N_EVAL = 16_000, 1_000
EPOCHS, BATCH_SIZE, PEAK_LR, WARMUP_STEPS = 3, 32, 3e-3, 300


def build_model() -> keras.Model:
    """Input(64, 64, 3) -> convs (64 -> 32 -> 16 px) -> last_conv (16x16) -> GAP -> softmax.

    ``last_conv`` is the ReLU closing the last conv block (conv4 -> BN -> ReLU): with a
    fused ReLU and no BatchNormalization before it, that layer's units died in training.
    """
    layers = keras.layers

    def conv_bn_relu(x: keras.KerasTensor, filters: int, name: str, out: str) -> keras.KerasTensor:
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name)(x)
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
        return layers.ReLU(name=out)(x)

    inputs = keras.Input((64, 64, 3), name="image")
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(name="pool1")(x)
    x = conv_bn_relu(x, 32, "conv2", "conv2_relu")
    x = layers.MaxPooling2D(name="pool2")(x)
    x = conv_bn_relu(x, 48, "conv3", "conv3_relu")
    x = conv_bn_relu(x, 64, "conv4", "last_conv")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(len(CLASS_NAMES), activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="shapes_cnn")


def main() -> None:
    keras.utils.set_random_seed(WEIGHT_SEED)
    start = time.perf_counter()
    train = make_shapes(N_TRAIN, seed=TRAIN_SEED)
    held_out = make_shapes(N_EVAL, seed=EVAL_SEED)

    model = build_model()
    steps = EPOCHS * (N_TRAIN // BATCH_SIZE)
    schedule = keras.optimizers.schedules.CosineDecay(  # linear warm-up, then cosine decay
        0.0, decay_steps=steps - WARMUP_STEPS, warmup_target=PEAK_LR, warmup_steps=WARMUP_STEPS
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(train.images, train.labels, batch_size=BATCH_SIZE, epochs=EPOCHS, verbose=2)
    train_seconds = time.perf_counter() - start

    # Save an uncompiled copy: no optimizer state in the file, so it stays small.
    shipped = build_model()
    shipped.set_weights(model.get_weights())
    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    shipped.save(OUT_PATH)

    reloaded = keras.saving.load_model(OUT_PATH, compile=False)
    probs = reloaded.predict(held_out.images, batch_size=256, verbose=0)
    accuracy = float(np.mean(probs.argmax(axis=1) == held_out.labels))
    print(f"held-out accuracy ({N_EVAL} images, seed {EVAL_SEED}): {accuracy:.4f}")
    print(f"train time (data + fit): {train_seconds:.1f} s")
    print(f"saved {OUT_PATH} ({OUT_PATH.stat().st_size / 1024:.1f} KB)")


if __name__ == "__main__":
    main()
