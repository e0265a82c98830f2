"""Where the kernel's time goes, on weights=None ResNet50 at 224x224: the checks behind
the targets (Grad-CAM <= 1.05x a forward pass at b=8, guided backprop <= 3x, SmoothGrad
n=25 <= 25x the forward pass at b=1).

1. The compiled graphs: forward convolutions in each method's graph (a count above the
   model's own means a recomputed forward pass), input-gradient convolutions, whether
   upsampling is inside the graph, and how often each function was traced after calls
   with batch sizes 2, 1, 2 (more than once is retracing).
2. The TensorFlow profiler (tf.profiler.experimental, read from its XSpace file): op
   time split into forward, backward, guided-ReLU gates and the rest, and how much of
   it ran in parallel (op time / wall time).
3. Host-side cost: explain() against a direct call of its cached compiled function with
   the same arguments (validation, copies to numpy, result assembly), interleaved.
4. SmoothGrad against its floor: a bare compiled input gradient of the class logit over
   the same 25 noisy copies as one batch, and what lies between (interleaved).
Run: python -m benchmarks.kernel_profile [--quick]
"""
from __future__ import annotations

import collections
import glob
import shutil
import tempfile
import time

import numpy as np
import tensorflow as tf

from benchmarks import peers
from benchmarks.common import (
    FORWARD, bare_input_gradient, build_model, compiled_forward, logits_model, machine,
    make_images, measure, parse, predicted, ratio_table, record, record_ratios)
from benchmarks.timing import table
from cam_widgets import explain
from cam_widgets.kernel.explain import compiled_functions

STAGES = ["conv2_block3_out", "conv3_block4_out", "conv4_block6_out", "conv5_block3_out"]
GATE_OPS = {"Greater", "LogicalAnd", "SelectV2", "ZerosLike"}  # guided.guided_gate's backward
FORWARD_CONV = {"Conv2D", "DepthwiseConv2dNative"}
INPUT_GRAD_CONV = {"Conv2DBackpropInput", "DepthwiseConv2dNativeBackpropInput"}


def _live_ops(nodes, roots, library, counts: collections.Counter) -> None:
    """Count the ops that `roots` depend on (what TensorFlow keeps when it prunes a
    function before running it), entering loop bodies and called functions."""
    by_name = {node.name: node for node in nodes}
    stack, seen = list(roots), set()
    while stack:
        name = stack.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        node = by_name[name]
        counts[node.op] += 1
        for attr in ("body", "cond", "f", "then_branch", "else_branch"):
            called = library.get(node.attr[attr].func.name) if attr in node.attr else None
            if called is not None:
                _live_ops(called.node_def, [ret.split(":")[0] for ret in called.ret.values()],
                          library, counts)
        stack.extend(source.lstrip("^").split(":")[0] for source in node.input)


def _op_counts(function) -> collections.Counter:
    """Op types that a tf.function's outputs depend on (unused ops are pruned at run
    time, so they are left out), including loop bodies and custom gradients."""
    concrete = function.get_concrete_function()
    graph_def = concrete.graph.as_graph_def()
    library = {called.signature.name: called for called in graph_def.library.function}
    counts: collections.Counter = collections.Counter()
    _live_ops(graph_def.node, [tensor.op.name for tensor in concrete.outputs], library, counts)
    return counts


def _traced_ops(function) -> int:
    """Every op traced, used or not, loop bodies included (what tracing and graph
    optimisation handle)."""
    graph_def = function.get_concrete_function().graph.as_graph_def()
    return len(graph_def.node) + sum(len(called.node_def)
                                     for called in graph_def.library.function)


def graphs(model, forward_convs: int, settings, kwargs_by_method) -> None:
    rows, retraced = [], []
    for label, kwargs in kwargs_by_method.items():
        before = set(compiled_functions(model))
        for batch in (2, 1, 2):
            images = make_images(batch, settings.size, seed=batch)
            explain(model, images, **kwargs)
        new = [compiled_functions(model)[key] for key in compiled_functions(model)
               if key not in before]
        counts = collections.Counter()
        for function in new:
            counts.update(_op_counts(function))
        traces = sum(function.experimental_get_tracing_count() for function in new)
        traced = sum(_traced_ops(function) for function in new)
        if traces > len(new):
            retraced.append(label)
        resize = sum(n for op, n in counts.items() if op.startswith("Resize"))
        rows.append((label, sum(counts[op] for op in FORWARD_CONV),
                     sum(counts[op] for op in INPUT_GRAD_CONV), "yes" if resize else "no",
                     counts["While"] + counts["StatelessWhile"], sum(counts.values()), traced,
                     f"{traces} (of {len(new)})"))
    recomputed = [f"{row[0]} ({row[1]} forward convs)" for row in rows
                  if row[1] > forward_convs and row[0] != "smoothgrad"]
    record("Kernel checks, resnet50", "retracing over batch sizes 2, 1, 2",
           ("retraced: " + ", ".join(retraced)) if retraced else "none")
    record("Kernel checks, resnet50", "recomputed forward pass",
           ", ".join(recomputed) if recomputed else "none")
    print(f"\n### 1. Compiled graphs (the model has {forward_convs} forward convolutions)")
    print(table(rows, ("method", "forward convs run", "input-gradient convs run",
                       "upsampling in graph", "while loops", "ops run", "ops traced",
                       "traces for b=2,1,2")))
    print("'run' counts the ops the outputs depend on (TensorFlow prunes the rest before "
          "running); 'ops traced' is the whole graph that tracing builds and optimises")


def _profile(call) -> tuple[float, dict[str, float]]:
    """(wall seconds, op seconds by category) of one call under the TF profiler."""
    logdir = tempfile.mkdtemp(prefix="cam-widgets-profile-")
    try:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        call()
        wall = time.perf_counter() - start
        tf.profiler.experimental.stop()
        from tensorflow.tsl.profiler.protobuf import xplane_pb2

        space = xplane_pb2.XSpace()
        with open(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True)[0], "rb") as data:
            space.ParseFromString(data.read())
    finally:
        shutil.rmtree(logdir, ignore_errors=True)
    seconds: dict[str, float] = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" not in name or name.startswith("ExecutorState"):
                    continue
                scope, op = name.rsplit(":", 1)
                if "gradient_tape" in scope or "Backprop" in op or op.endswith("Grad"):
                    kind = "backward"
                elif op in GATE_OPS and "/" not in scope:
                    kind = "guided gates"
                elif "Conv2D" in op or "MatMul" in op:
                    kind = "forward convs"
                else:
                    kind = "other"
                seconds[kind] += event.duration_ps * 1e-12
    return wall, seconds


def profiles(model, settings, images_1, images_8) -> None:
    targets_1, targets_8 = predicted(model, images_1), predicted(model, images_8)
    n_samples = 3 if settings.quick else 25
    forward = compiled_forward(model)
    calls = {
        "compiled forward b=8": lambda: forward(images_8),
        "gradcam b=8": lambda: explain(model, images_8, target=targets_8),
        "guided_backprop b=8": lambda: explain(model, images_8, method="guided_backprop",
                                               target=targets_8),
        "saliency b=1": lambda: explain(model, images_1, method="saliency", target=targets_1),
        f"smoothgrad n={n_samples} b=1": lambda: explain(
            model, images_1, method="smoothgrad", target=targets_1, n_samples=n_samples),
    }
    kinds = ("forward convs", "backward", "guided gates", "other")
    rows = []
    for label, call in calls.items():
        call()  # traced already or now; the profile is of a steady call
        wall, seconds = _profile(call)
        total = sum(seconds.values()) or 1e-12
        rows.append((label, f"{wall * 1e3:.0f}", f"{total * 1e3:.0f}",
                     *(f"{100 * seconds[kind] / total:.0f}%" for kind in kinds),
                     f"{total / wall:.2f}"))
    print("\n### 2. TensorFlow profiler: op time by kind (one steady call each)")
    print(table(rows, ("call", "wall ms", "op ms", *kinds, "op ms / wall ms")))


def host_overhead(model, settings, images_1, images_8) -> None:
    rows = []
    for images in (images_1, images_8):
        targets = predicted(model, images)
        explain(model, images, target=targets)
        key = next(key for key in compiled_functions(model) if key[0] == "gradcam"
                   and not key[8] and key[9] is None and not key[10] and len(key[1]) == 1)
        function = compiled_functions(model)[key]
        fetched = tf.nest.map_structure(lambda t: t.numpy(), function(images, targets))
        size = sum(array.nbytes for array in tf.nest.flatten(fetched))
        alone_name = "compiled function alone"
        timing = measure({
            alone_name: lambda: tf.nest.map_structure(
                lambda t: t.numpy(), function(images, targets)),
            "explain()": lambda: explain(model, images, target=targets),
        }, settings, base=alone_name)
        alone, whole = timing.medians[alone_name], timing.medians["explain()"]
        ratio = timing.ratios["explain()"]
        rows.append((len(images), f"{alone * 1e3:.1f}", f"{whole * 1e3:.1f}",
                     f"{(ratio - 1) * alone * 1e3:+.1f}", f"{ratio:.3f}x",
                     f"{size / 2**20:.1f}", timing.rounds))
        record("Kernel checks, resnet50", f"explain() host overhead, gradcam b={len(images)}",
               f"{(ratio - 1) * alone * 1e3:+.1f} ms ({ratio:.3f}x)")
    print("\n### 3. Host-side cost of explain() (Grad-CAM), interleaved")
    print(table(rows, ("batch", "compiled function ms", "explain() ms", "difference ms",
                       "ratio (paired)", "MiB fetched", "rounds")))


def smoothgrad_floor(model, settings, images_1) -> None:
    """SmoothGrad against its floor: a bare compiled input gradient of the class logit
    over the same noisy copies as one batch (noise made beforehand, nothing else in the
    graph). Between them: the clean forward pass that picks the class, noise made in
    the graph, the sum over copies, the display map and the host copies; the
    one-copy-per-pass row shows what the loop over samples cost before chunking. Xplique
    runs like with like: same n, noise std, batch, and the logit as score."""
    n_samples = 3 if settings.quick else 25
    targets = predicted(model, images_1)
    rng = np.random.default_rng(0)
    spread = float(images_1.max() - images_1.min())
    noisy = (images_1 + 0.15 * spread * rng.standard_normal(
        (n_samples, *images_1.shape[1:]))).astype(np.float32)
    forward = compiled_forward(model)
    floor = bare_input_gradient(model)
    floor_name = f"floor: bare input gradient, {n_samples} noisy copies as one batch"
    ours = f"cam_widgets smoothgrad n={n_samples}"
    candidates = {
        FORWARD: lambda: forward(images_1),
        floor_name: lambda: floor(noisy, np.repeat(targets, n_samples)),
        f"{n_samples} noisy copies as one batch, explain(saliency)": lambda: explain(
            model, noisy, method="saliency", target=np.repeat(targets, n_samples)),
        ours: lambda: explain(model, images_1, method="smoothgrad", target=targets,
                              n_samples=n_samples),
        f"{ours}, one copy per pass": lambda: explain(
            model, images_1, method="smoothgrad", target=targets, n_samples=n_samples,
            chunk_size=1),
    }
    notes: list[str] = []
    peers.add_peer(candidates, notes, f"xplique smoothgrad n={n_samples} (logits)",
                   lambda: peers.xplique_smoothgrad(logits_model(model), n_samples),
                   images_1, targets)
    timing = measure(candidates, settings)
    floor_ratio = timing.ratios[floor_name]
    print(f"\n### 4. SmoothGrad n={n_samples} against its floor, batch 1, median of "
          f"{timing.rounds} interleaved rounds")
    print(ratio_table(timing))
    rows = [(name, f"{ratio / floor_ratio:.3f}x") for name, ratio in timing.ratios.items()
            if name != FORWARD]
    print(table(rows, ("what", "x floor")))
    for note in notes:
        print(note)
    record_ratios("SmoothGrad floor, resnet50, b=1 (x compiled forward)", timing,
                  {name: name for name in candidates if name != FORWARD})
    record("SmoothGrad floor, resnet50, b=1 (x compiled forward)", f"{ours} / floor",
           f"{timing.ratios[ours] / floor_ratio:.3f}x", "<= 1.1x",
           "yes" if timing.ratios[ours] / floor_ratio <= 1.1 else "NO")


def _arguments(parser) -> None:
    parser.add_argument("--part", default="graphs,profiles,host,floor",
                        help="comma-separated parts (default all)")


def main() -> None:
    args, settings = parse(__doc__.splitlines()[0], _arguments)
    parts = args.part.split(",")
    model = build_model("resnet50", settings.size)
    forward_convs = sum(1 for layer in model.layers
                        if isinstance(layer, tf.keras.layers.Conv2D))
    images_1 = make_images(1, settings.size, seed=1)
    images_8 = make_images(2 if settings.quick else 8, settings.size, seed=8)
    print(f"## Kernel profile: ResNet50 (weights=None) {settings.size}x{settings.size} "
          f"({machine()})")
    if "graphs" in parts:
        graphs(model, forward_convs, settings, {
            "gradcam": {},
            "guided_backprop": {"method": "guided_backprop"},
            "guided_gradcam": {"method": "guided_gradcam"},
            "smoothgrad": {"method": "smoothgrad", "n_samples": 3 if settings.quick else 25},
            "top_k=5": {"top_k": 5},
            "4 stage layers": {"layer": STAGES},
        })
    if "profiles" in parts:
        profiles(model, settings, images_1, images_8)
    if "host" in parts:
        host_overhead(model, settings, images_1, images_8)
    if "floor" in parts:
        smoothgrad_floor(model, settings, images_1)


if __name__ == "__main__":
    main()
