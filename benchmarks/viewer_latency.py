"""Viewer latency: from a control change to the pixels being sent, on ResNet50 at 224x224.

Each operation is timed from setting the control's value to the last canvas message
(captured at ipycanvas' send), with no running event loop, so the whole chain runs inline:
kernel call (if any) -> render -> PNG -> message. Every sample is a fresh (uncached)
setting on a photo (crops of matplotlib's grace_hopper.jpg); medians, and the ratio to a
compiled forward pass of one image timed between the samples (this 2-CPU box drifts).
Run: python benchmarks/viewer_latency.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from ipycanvas.canvas import _CANVAS_MANAGER  # noqa: E402

from cam_widgets.viewer import CamViewer  # noqa: E402

TARGETS = {  # operation -> (limit, unit): "ms" absolute, "x" ratio to a forward pass
    "opacity": (30.0, "ms"),
    "colormap": (30.0, "ms"),
    "class (same layer)": (0.15, "x"),
    "layer (late)": (1.2, "x"),
    "layer (mid)": (1.2, "x"),
    "guided": (None, "x"),
    "image": (None, "x"),
}


def photos(count: int) -> np.ndarray:
    """`count` different 224x224 RGB crops of a photo shipped with matplotlib."""
    import matplotlib.cbook
    from PIL import Image

    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as photo:
        photo = photo.convert("RGB")
        width, height = photo.size
        crops = []
        for i in range(count):
            side = int(min(width, height) * (0.6 + 0.4 * ((i * 7) % 10) / 10))
            left = (i * 37) % (width - side + 1)
            top = (i * 53) % (height - side + 1)
            crop = photo.crop((left, top, left + side, top + side)).resize(
                (224, 224), Image.BILINEAR
            )
            crops.append(np.asarray(crop))
    return np.stack(crops)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=12, help="fresh settings per operation")
    parser.add_argument("--late", default="conv5_block2_out", help="a late layer to switch to")
    parser.add_argument("--mid", default="conv4_block6_out", help="a middle layer to switch to")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    model = keras.applications.ResNet50(weights=None)
    images = photos(args.repeats + 1)

    forward = tf.function(lambda x: model(x, training=False))
    one = tf.constant(images[:1].astype(np.float32))
    for _ in range(3):
        forward(one).numpy()
    forward_samples = [_time(lambda: forward(one).numpy()) for _ in range(10)]

    sent: list[float] = []
    original_send = _CANVAS_MANAGER.send

    def record(content, buffers=None):
        sent.append(time.perf_counter())
        return original_send(content, buffers=buffers)

    _CANVAS_MANAGER.send = record
    viewer = CamViewer(
        model,
        preprocess=lambda batch: keras.applications.resnet50.preprocess_input(
            batch.astype(np.float32)
        ),
    )
    start = time.perf_counter()
    viewer.show(images)
    first_ms = (time.perf_counter() - start) * 1e3
    c = viewer.controls
    default_layer = viewer.settings.layer

    def latency(control: str, value) -> float:
        sent.clear()
        begin = time.perf_counter()
        c[control].value = value
        assert sent, f"changing {control} sent no pixels"
        assert viewer.error is None, viewer.error
        return sent[-1] - begin

    # warm every compiled function once (first traces are reported separately)
    warm = {}
    warm["class"] = latency("target", (viewer.settings.target + 1) % 1000)
    for which in ("late", "mid"):
        warm[which] = latency("layer", getattr(args, which))
        c["layer"].value = default_layer
    warm["guided"] = latency("guided", True)
    c["guided"].value = False

    times: dict[str, list[float]] = {name: [] for name in TARGETS}
    for index in range(1, args.repeats + 1):
        forward_samples.append(_time(lambda: forward(one).numpy()))
        times["image"].append(latency("image", index))
        top = viewer.settings.target
        times["class (same layer)"].append(latency("target", (top + 7 * index) % 1000))
        times["opacity"].append(latency("opacity", 0.3 + 0.05 * (index % 8)))
        times["colormap"].append(
            latency("colormap", ("viridis", "inferno", "turbo", "jet")[index % 4])
        )
        forward_samples.append(_time(lambda: forward(one).numpy()))
        times["layer (late)"].append(latency("layer", args.late))
        c["layer"].value = default_layer  # cached: no kernel call
        times["layer (mid)"].append(latency("layer", args.mid))
        c["layer"].value = default_layer  # cached
        times["guided"].append(latency("guided", True))
        c["guided"].value = False  # cached
    _CANVAS_MANAGER.send = original_send
    forward_ms = statistics.median(forward_samples) * 1e3

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"ResNet50 (weights=None), 224x224, {os.cpu_count()} CPU(s), load {load}, "
          f"TF {tf.__version__}")
    print(f"compiled forward pass, 1 image: {forward_ms:.1f} ms (median of {len(forward_samples)})")
    print(
        f"show(): first view incl. tracing: {first_ms:.0f} ms; first change (tracing) of class / "
        f"late layer / mid layer / guided: {', '.join(f'{v * 1e3:.0f} ms' for v in warm.values())}"
    )
    print(
        f"default layer {default_layer}; late = {args.late}, mid = {args.mid}; "
        f"median of {args.repeats}\n"
    )
    print(f"{'operation':<20} {'median ms':>10} {'x forward':>10} {'target':>10}  ok")
    for name, samples in times.items():
        ms = statistics.median(samples) * 1e3
        ratio = ms / forward_ms
        limit, unit = TARGETS[name]
        if limit is None:
            target, ok = "-", ""
        elif unit == "ms":
            target, ok = f"< {limit:g} ms", "yes" if ms < limit else "NO"
        else:
            target, ok = f"< {limit:g}x", "yes" if ratio < limit else "NO"
        print(f"{name:<20} {ms:>10.1f} {ratio:>10.2f} {target:>10}  {ok}")


def _time(fn) -> float:
    begin = time.perf_counter()
    fn()
    return time.perf_counter() - begin


if __name__ == "__main__":
    main()
