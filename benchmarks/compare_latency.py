"""CamCompare latency: a class change in a grid of the five CAM-family methods (and with
saliency added), timed through `RecordingTransport` from setting `target` to the last
cell's heatmap being sent (maps), and to every cell's numbers (deletion/insertion AUC);
the first view too: cold (the process's first, nothing compiled; uncompiled), the second
image (which compiles the full pass) and the third (compiled).
Ratios to one compiled forward pass of one image (median of the samples, taken before),
and the floor: one hand-written compiled input gradient; and CamViewer's "all depths"
strip on a class change. Run:
python -m benchmarks.compare_latency [--quick] [--part cams,saliency,strip] (--quick: the shipped 64x64 shapes model;
else ResNet50 224, weights=None).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.timing import interleaved_medians  # noqa: E402
from cam_widgets.compare import CamCompare  # noqa: E402
from cam_widgets.kernel.compiled import forward_function  # noqa: E402
from cam_widgets.viewer.transport import RecordingTransport  # noqa: E402

CAM_FAMILY = ("gradcam", "gradcam++", "layercam", "hirescam", "xgradcam")


class Recorded(CamCompare):
    transport_class = RecordingTransport


def heat_after(compare: CamCompare, methods, since: float) -> float:
    """Seconds from `since` to the last heatmap of `methods` (the maps of the grid)."""
    return max(s.time for m in methods for s in compare.transports[m].log
               if s.heatmap and s.time >= since) - since


def forward_beside(forward: Callable[[], object], calls: int = 3) -> float:
    """Seconds of one forward pass, the median of `calls` made now: the base of a ratio
    for the sample timed right after it (the machine's speed drifts between phases)."""
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        forward()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def grid_latency(model, images, methods, forward, classes, label: str) -> None:
    """First view (cold: nothing compiled yet; warm: a second image), then class changes:
    maps drawn, and with every cell's numbers. Each sample's ratio is to a forward pass
    timed just before it; the medians of those ratios are printed."""
    compare = Recorded(model, methods=methods)
    base = forward_beside(forward)
    start = time.perf_counter()
    compare.show(images[0])  # no event loop: every cell and its numbers, inline
    cold = heat_after(compare, methods, start)
    maps, totals = [], []
    for target in classes:
        base = forward_beside(forward)
        start = time.perf_counter()
        compare.target = int(target)
        totals.append((time.perf_counter() - start, base))
        maps.append((heat_after(compare, methods, start), base))
    views = []
    for image in images[1:]:  # the second compiles the full pass, the third reuses it
        base = forward_beside(forward)
        start = time.perf_counter()
        compare.show(image)
        views.append((heat_after(compare, methods, start), base))
    (second, _), (warm, warm_base) = views
    maps_s, maps_x = medians(maps[1:])
    total_s, total_x = medians(totals[1:])
    print(f"{label}:\n  first view: cold {cold:6.2f} s ({cold / base:5.1f}x), second "
          f"image {second:5.2f} s, third {warm * 1e3:7.1f} ms ({warm / warm_base:5.2f}x)"
          f"\n  class change: first {maps[0][0] * 1e3:7.1f} ms, then median "
          f"{maps_s * 1e3:7.1f} ms ({maps_x:5.2f}x); with numbers {total_s:6.2f} s "
          f"({total_x:5.1f}x)")


def medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    """(median seconds, median ratio to the forward pass timed beside each sample)."""
    return (statistics.median(t for t, _ in samples),
            statistics.median(t / base for t, base in samples))


def floor(model, image, forward) -> None:
    """One hand-written input gradient (TensorFlow: a compiled GradientTape): what no
    saliency can beat."""
    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec((None, *image.shape))])
    def gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = model(x, training=False)[:, 1]
        return tape.gradient(score, x)

    one = image[None]
    times = interleaved_medians({"forward": forward,
                                 "gradient": lambda: np.asarray(gradient(one))})
    print(f"floor: one hand-written input gradient {times['gradient'] * 1e3:.1f} ms "
          f"({times['gradient'] / times['forward']:.2f}x a forward pass timed beside it)")


def depth_strip_latency(model, image, forward, classes) -> None:
    """CamViewer's "all depths" strip: a class change with the strip shown (the map, then
    the strip's one pass over every layer of the menu, then its pictures), median over
    `classes`; and the strip's pass alone beside a forward pass, interleaved."""
    from cam_widgets import CamViewer, explain

    viewer = CamViewer(model)
    viewer.show(image)
    viewer.depths = True
    viewer.flush()  # the strip's function is compiled here
    samples = []
    for target in classes:
        base = forward_beside(forward)
        start = time.perf_counter()
        viewer.target = int(target)
        viewer.flush()
        samples.append((time.perf_counter() - start, base))
    median, ratio = medians(samples[1:])
    paths = viewer.parts.teaching.paths
    one = image[None]
    alone = interleaved_medians({
        "forward": forward,
        "strip": lambda: explain(model, one, layer=paths, target=int(classes[0])),
        "pictures": viewer.parts.teaching.repaint}, rounds=9, warmup=2)
    print(f"all depths ({len(paths)} layers): class change with the strip {median * 1e3:.1f} "
          f"ms ({ratio:.2f}x); the strip's pass {alone['strip'] * 1e3:.1f} ms "
          f"({alone['strip'] / alone['forward']:.2f}x a forward pass timed beside it), its "
          f"pictures {alone['pictures'] * 1e3:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the 64x64 shapes model")
    parser.add_argument("--changes", type=int, default=5, help="class changes timed")
    parser.add_argument("--part", default="cams,saliency,strip",
                        help="comma-separated: cams (the five CAM cells), saliency (with "
                             "saliency and the floor), strip (the all-depths strip)")
    args = parser.parse_args()
    parts = set(args.part.split(","))
    keras.utils.set_random_seed(0)
    if args.quick:
        from cam_widgets.datasets import make_shapes, shapes_model
        model, images = shapes_model(), make_shapes(3, seed=3).images
    else:
        model = keras.applications.ResNet50(weights=None)
        images = np.random.default_rng(0).random((3, 224, 224, 3), np.float32)
    image = images[0]
    compiled = forward_function(model, image.shape)
    one = image[None]

    def forward() -> object:
        return compiled(one)

    forward_s = interleaved_medians({"forward": forward}, rounds=10, warmup=3)["forward"]
    print(f"{keras.backend.backend()}: one compiled forward {forward_s * 1e3:.1f} ms (each "
          "ratio below is to a forward pass timed just before its sample)")
    classes = [(3 * i + 1) % 4 for i in range(args.changes + 1)]
    if "cams" in parts:
        grid_latency(model, images, CAM_FAMILY, forward, classes, "five CAM-family cells")
    if "saliency" in parts:
        grid_latency(model, images, (*CAM_FAMILY, "saliency"), forward, classes,
                     "five CAM-family + saliency")
        floor(model, image, forward)
    if "strip" in parts:
        depth_strip_latency(model, image, forward, classes)

if __name__ == "__main__":
    main()
