"""Viewer latency: from a control change to the pixels being sent, on ResNet50 at 224x224.

Each operation is timed from setting the viewer's trait (what a control does) to the
last message our transport sent (`RecordingTransport`, the viewer's own seam; no
ipycanvas internals), with no running event loop, so the whole chain runs inline:
kernel call (if any) -> render -> PNG -> message. The bytes of image data each message
carried are counted too (an opacity change must carry none). Every sample is a fresh (uncached)
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

from cam_widgets.viewer import CamViewer  # noqa: E402
from cam_widgets.viewer.transport import RecordingTransport  # noqa: E402

TARGETS = {  # operation -> (limit, unit): "ms" absolute, "x" ratio to a forward pass
    "opacity": (10.0, "ms"),
    "colormap": (30.0, "ms"),
    "class (same layer)": (0.15, "x"),
    "layer (late)": (1.2, "x"),
    "layer (mid)": (1.2, "x"),
    "guided": (None, "x"),
    "image": (None, "x"),
}
FIRST_LIMIT_MS = 300.0  # first class change / guided toggle / neighbouring layer after show()


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

    CamViewer.transport_class = RecordingTransport
    viewer = CamViewer(
        model,
        preprocess=lambda batch: keras.applications.resnet50.preprocess_input(
            batch.astype(np.float32)
        ),
        prefetch=True,  # as in a notebook
    )
    start = time.perf_counter()
    viewer.show(images)
    first_ms = (time.perf_counter() - start) * 1e3
    viewer.parts.prefetcher.wait()  # the user looks at the first picture meanwhile
    pretraced = ", ".join(f"{_what(s, viewer)} {t:.1f} s" for s, t in viewer.parts.prefetcher.done)
    log = viewer.parts.transport.log
    default_layer = viewer.layer
    paths = [value for _, value in viewer.parts.controls["layer"].options]
    neighbour = paths[paths.index(default_layer) - 1]
    payload: dict[str, list[int]] = {}

    def latency(setting: str, value, name: str | None = None) -> float:
        before = len(log)
        begin = time.perf_counter()
        setattr(viewer, setting, value)
        assert len(log) > before, f"changing {setting} sent no pixels"
        assert viewer.error is None, viewer.error
        payload.setdefault(name or setting, []).append(sum(m.nbytes for m in log[before:]))
        return log[-1].time - begin

    # the first use of each likely next action after show() (what pre-tracing is for); no
    # running loop here, so pre-traced maps were not cached: these are real kernel calls
    first = {
        "class": latency("target", (viewer.target + 1) % 1000),
        "guided": latency("guided", True),
    }
    viewer.guided = False  # cached
    first["neighbouring layer"] = latency("layer", neighbour)
    viewer.layer = default_layer  # cached
    # warm every other compiled function once
    for which in ("late", "mid"):
        latency("layer", getattr(args, which))
        viewer.layer = default_layer

    times: dict[str, list[float]] = {name: [] for name in TARGETS}
    for index in range(1, args.repeats + 1):
        forward_samples.append(_time(lambda: forward(one).numpy()))
        times["image"].append(latency("image_index", index, "image"))
        top = viewer.target
        times["class (same layer)"].append(latency("target", (top + 7 * index) % 1000, "class"))
        times["opacity"].append(latency("opacity", 0.3 + 0.05 * (index % 8)))
        times["colormap"].append(
            latency("colormap", ("viridis", "inferno", "turbo", "jet")[index % 4])
        )
        forward_samples.append(_time(lambda: forward(one).numpy()))
        times["layer (late)"].append(latency("layer", args.late))
        viewer.layer = default_layer  # cached: no kernel call
        times["layer (mid)"].append(latency("layer", args.mid))
        viewer.layer = default_layer  # cached
        times["guided"].append(latency("guided", True))
        viewer.guided = False  # cached
    forward_ms = statistics.median(forward_samples) * 1e3

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"ResNet50 (weights=None), 224x224, {os.cpu_count()} CPU(s), load {load}, "
          f"TF {tf.__version__}")
    print(f"compiled forward pass, 1 image: {forward_ms:.1f} ms (median of {len(forward_samples)})")
    print(f"show(): first view incl. tracing: {first_ms:.0f} ms; then pre-traced in the "
          f"background: {pretraced}")
    for name, seconds in first.items():
        ms = seconds * 1e3
        print(f"first {name} change after show(): {ms:.0f} ms (target < {FIRST_LIMIT_MS:g} ms: "
              f"{'yes' if ms < FIRST_LIMIT_MS else 'NO'})")
    print(
        f"default layer {default_layer}; neighbour {neighbour}; late = {args.late}, "
        f"mid = {args.mid}; median of {args.repeats}\n"
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
    print("\nimage data sent per action (PNG bytes, median): " + ", ".join(
        f"{name} {statistics.median(sizes):.0f}" for name, sizes in payload.items()))


def _what(s, viewer) -> str:
    """Which likely action a pre-traced setting stands for."""
    if s.guided:
        return "guided"
    if s.layer != viewer.layer:
        return f"layer {s.layer}"
    return "class"


def _time(fn) -> float:
    begin = time.perf_counter()
    fn()
    return time.perf_counter() - begin


if __name__ == "__main__":
    main()
