"""CamCompare latency: a class change in a grid of the five CAM-family methods (and with
saliency added), timed through `RecordingTransport` from setting `target` to the last
cell's heatmap being sent (maps), and to every cell's numbers (deletion/insertion AUC);
the first view too. Ratios to one compiled forward pass of one image (median of the
samples, taken between them). Run: python benchmarks/compare_latency.py [--quick]
(--quick: the shipped 64x64 shapes model; else ResNet50 224, weights=None).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from cam_widgets.compare import CamCompare  # noqa: E402
from cam_widgets.kernel.compiled import forward_function  # noqa: E402
from cam_widgets.viewer.transport import RecordingTransport  # noqa: E402

CAM_FAMILY = ("gradcam", "gradcam++", "layercam", "hirescam", "xgradcam")


class Recorded(CamCompare):
    transport_class = RecordingTransport


def last_heat(compare: CamCompare, since: float) -> float:
    """Seconds from `since` to the last heatmap any cell sent."""
    return max(s.time for t in compare.transports.values() for s in t.log if s.heatmap) - since


def grid_latency(model, image, methods, forward_s, classes, label: str) -> None:
    start = time.perf_counter()
    compare = Recorded(model, methods=methods)
    compare.show(image)
    first = time.perf_counter() - start
    maps, totals = [], []
    for target in classes:
        start = time.perf_counter()
        compare.target = int(target)  # no event loop: maps, then numbers, inline
        totals.append(time.perf_counter() - start)
        maps.append(last_heat(compare, start))
    maps_s, total_s = statistics.median(maps[1:]), statistics.median(totals[1:])
    print(f"{label:28s} first view {first:7.3f} s ({first / forward_s:6.1f}x)  class change: "
          f"maps {maps_s * 1e3:8.1f} ms ({maps_s / forward_s:5.2f}x), with numbers "
          f"{total_s * 1e3:8.1f} ms ({total_s / forward_s:5.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the 64x64 shapes model")
    parser.add_argument("--changes", type=int, default=5, help="class changes timed")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    if args.quick:
        from cam_widgets.datasets import make_shapes, shapes_model
        model, image = shapes_model(), make_shapes(1, seed=3).images[0]
    else:
        model = keras.applications.ResNet50(weights=None)
        image = np.random.default_rng(0).random((224, 224, 3), np.float32)
    forward = forward_function(model, image.shape)
    one = image[None]
    for _ in range(3):
        np.asarray(forward(one))
    samples = []
    for _ in range(10):
        start = time.perf_counter()
        np.asarray(forward(one))
        samples.append(time.perf_counter() - start)
    forward_s = statistics.median(samples)
    print(f"{keras.backend.backend()}: one compiled forward {forward_s * 1e3:.1f} ms")
    classes = [(3 * i + 1) % 4 for i in range(args.changes + 1)]
    grid_latency(model, image, CAM_FAMILY, forward_s, classes, "five CAM-family cells")
    grid_latency(model, image, (*CAM_FAMILY, "saliency"), forward_s, classes,
                 "five CAM-family + saliency")


if __name__ == "__main__":
    main()
