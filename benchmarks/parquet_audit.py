"""explain_to_parquet on the shapes data (64 px PNG files, the shipped model):

1. local images/s as a ratio to explain_dataset over the same images (in memory, no
   decoding or writing), interleaved rounds in one process;
2. peak resident memory above the start, for 1,000 and 10,000 files (one child process
   per size, RSS sampled in a thread): it should stay flat;
3. Ray with 1 and 2 actors on a local 2-CPU Ray, on an array of shapes images (uint8,
   preprocess x / 255), against the local engine on the same array: start-up (cluster
   join, actors ready with the model loaded, first batch, end of warm-up) apart from the
   steady state's images/s (batches after every actor's first one);
4. resume: a child killed (SIGKILL) at about half, a rerun; total rows = image count and
   no duplicate ids;
5. driver memory on Ray over 10,000 and 100,000 rows (a tiny 8x8 model, so the run is
   short; 32x32 maps, ~2 KB a row): the driver's peak RSS above its level after joining;
6. the gallery over 100,000 synthetic rows (1,563 batch files): opening, page changes
   (time each, RSS after each) and a sort.

Run: python -m benchmarks.parquet_audit [--sizes 1000,10000] [--ray-images 20000] [--quick]
     [--skip ratio,memory,ray,resume,driver,gallery]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
MIB = 2**20


def write_pngs(folder: Path, n: int) -> list[str]:
    import numpy as np
    from PIL import Image

    from cam_widgets.datasets import make_shapes

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for start in range(0, n, 1000):
        batch = make_shapes(min(1000, n - start), seed=100 + start // 1000)
        for i, image in enumerate(batch.images):
            path = folder / f"img_{start + i:05d}.png"
            Image.fromarray(np.rint(image * 255).astype(np.uint8)).save(path)
            paths.append(str(path))
    return paths


def rss_peak(run) -> tuple[float, float]:
    """(result of run(), peak RSS in MiB above the level before it), sampled every 20 ms."""
    import psutil

    process, peak, stop = psutil.Process(), [0], threading.Event()
    base = process.memory_info().rss

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            stop.wait(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        result = run()
    finally:
        stop.set()
        thread.join()
    return result, (max(peak[0], process.memory_info().rss) - base) / MIB


def child(mode: str, arguments: dict) -> dict:
    import numpy as np
    import tensorflow as tf
    from PIL import Image

    from cam_widgets import explain_dataset, explain_to_parquet
    from cam_widgets.datasets import shapes_model

    model = shapes_model()
    paths = arguments["paths"]
    scale = lambda x: x / 255.0  # noqa: E731
    out = arguments["out"]
    if mode == "memory":
        explain_to_parquet(model, paths[:64], os.path.join(out, "warm"), preprocess=scale)
        summary, peak = rss_peak(lambda: explain_to_parquet(
            model, paths, os.path.join(out, "run"), preprocess=scale))
        return {"images_per_s": summary["images_per_s"], "peak_mib": peak}
    if mode == "ratio":
        images = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths]) / 255.0
        images = images.astype(np.float32)
        dataset = tf.data.Dataset.from_tensor_slices(images).batch(64)
        rates = {"explain_dataset": [], "parquet, array": [], "parquet, files": []}
        list(explain_dataset(model, dataset.take(1)))
        for round_ in range(arguments["rounds"]):
            start = time.perf_counter()
            for _ in explain_dataset(model, dataset):
                pass
            rates["explain_dataset"].append(len(paths) / (time.perf_counter() - start))
            summary = explain_to_parquet(model, images, os.path.join(out, f"a{round_}"))
            rates["parquet, array"].append(summary["images_per_s"])
            summary = explain_to_parquet(model, paths, os.path.join(out, f"f{round_}"),
                                         preprocess=scale)
            rates["parquet, files"].append(summary["images_per_s"])
        return {name: statistics.median(v) for name, v in rates.items()}
    if mode == "ray":
        import ray

        from cam_widgets.datasets import make_shapes

        ray.init(num_cpus=2, include_dashboard=False, logging_level="warning",
                 log_to_driver=False)
        n, size = arguments["images"], arguments["batch_size"]
        images = np.concatenate([np.rint(make_shapes(min(2000, n - i), seed=i).images * 255)
                                 .astype(np.uint8) for i in range(0, n, 2000)])
        runs = {}
        for name, engine, actors in (("local", "local", 1), ("ray, 1 actor", "ray", 1),
                                     ("ray, 2 actors", "ray", 2)):
            start = time.perf_counter()
            summary = explain_to_parquet(model, images, os.path.join(out, name), engine=engine,
                                         num_actors=actors, preprocess=scale, batch_size=size)
            runs[name] = {"wall_s": time.perf_counter() - start, **summary["timing"],
                          "images_per_s": summary["images_per_s"],
                          "nodes": len(summary.get("nodes", {})) or None}
        ray.shutdown()
        return runs
    if mode == "driver":
        import keras
        import ray

        ray.init(num_cpus=2, include_dashboard=False, logging_level="warning",
                 log_to_driver=False)
        inputs = keras.Input((8, 8, 1))
        hidden = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
        tiny = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(
            keras.layers.GlobalAveragePooling2D()(hidden)))
        rng = np.random.default_rng(0)
        explain_to_parquet(tiny, rng.random((64, 8, 8, 1), np.float32),
                           os.path.join(out, "warm"), engine="ray")  # join, first actors
        result = {}
        for n in arguments["rows"]:
            images = rng.random((n, 8, 8, 1), np.float32)
            summary, peak = rss_peak(lambda: explain_to_parquet(
                tiny, images, os.path.join(out, f"rows{n}"), engine="ray",
                batch_size=1024))
            result[n] = {"peak_mib": peak, "written": summary["written"],
                         "images_per_s": summary["images_per_s"]}
        ray.shutdown()
        return result
    if mode == "gallery":
        return gallery_pages(out, arguments["rows"])
    if mode == "write":  # the resume test's victim
        explain_to_parquet(model, paths, out, preprocess=scale, batch_size=64)
        return {}
    raise ValueError(mode)


def gallery_pages(out: str, count: int) -> dict:
    """Open a CamGallery over `count` synthetic rows and page through it."""
    import ipywidgets as widgets
    import numpy as np
    import psutil
    import pyarrow as pa

    from cam_widgets import CamGallery
    from cam_widgets.audit.rows import schema
    from cam_widgets.audit.store import batch_name, write_batch

    class Transport:  # draws nowhere: the page time is ours, not the browser's
        widget = widgets.Box()

        def draw(self, rgba) -> None:
            pass

        def on_click(self, callback) -> None:
            pass

    rng = np.random.default_rng(0)
    table_schema = schema(pa.int64(), (32, 32))
    for start in range(0, count, 64):
        n = min(64, count - start)
        maps = rng.random((n, 1024)).astype(np.float16)
        columns = {"id": np.arange(start, start + n), "label": rng.integers(0, 4, n),
                   "target": rng.integers(0, 4, n), "predicted": rng.integers(0, 4, n),
                   "score": rng.random(n, np.float32), "probability": rng.random(n, np.float32),
                   "layer": ["last_conv"] * n, "method": ["gradcam"] * n,
                   "map": pa.FixedSizeListArray.from_arrays(pa.array(maps.reshape(-1)), 1024)}
        arrays = [columns[f.name] if isinstance(columns.get(f.name), pa.Array)
                  else pa.array(columns[f.name], f.type) if f.name in columns
                  else pa.nulls(n, f.type) for f in table_schema]
        write_batch(out, pa.Table.from_arrays(arrays, schema=table_schema),
                    batch_name(start, list(range(start, start + n))))
    image = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    images = np.broadcast_to(image, (count, 64, 64, 3))  # one image, no memory per row
    process = psutil.Process()
    base = process.memory_info().rss
    start = time.perf_counter()
    gallery = CamGallery(out, images=images, transport=Transport())
    opened = time.perf_counter() - start
    after_open = process.memory_info().rss
    times, rss = [], []
    for page in np.linspace(1, gallery.pages - 1, 40).astype(int):
        start = time.perf_counter()
        gallery.page = int(page)
        times.append(time.perf_counter() - start)
        rss.append(process.memory_info().rss)
    start = time.perf_counter()
    gallery.sort_by = "score"
    sort_s = time.perf_counter() - start
    start = time.perf_counter()
    gallery.page = gallery.pages // 2
    sorted_page_s = time.perf_counter() - start
    return {"rows": count, "open_s": opened, "open_mib": (after_open - base) / MIB,
            "page_ms_median": 1000 * statistics.median(times), "page_ms_max": 1000 * max(times),
            "rss_growth_over_pages_mib": (rss[-1] - rss[0]) / MIB, "pages_visited": len(times),
            "rss_growth_first_half_mib": (rss[len(rss) // 2] - rss[0]) / MIB,
            "rss_growth_second_half_mib": (rss[-1] - rss[len(rss) // 2]) / MIB,
            "sort_ms": 1000 * sort_s, "sorted_page_ms": 1000 * sorted_page_s,
            "thumbnails_cached": len(gallery._thumbs)}


def run_child(mode: str, arguments: dict) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(arguments, handle)
    done = subprocess.run([sys.executable, "-m", "benchmarks.parquet_audit", "--child", mode,
                           handle.name], capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def resume(paths: list[str], out: str) -> dict:
    from cam_widgets import read_results

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"paths": paths, "out": out}, handle)
    victim = subprocess.Popen([sys.executable, "-m", "benchmarks.parquet_audit", "--child",
                               "write", handle.name], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    half = len(paths) // 2
    while victim.poll() is None:
        files = list(Path(out).glob("*.parquet")) if Path(out).is_dir() else []
        if len(files) * 64 >= half:
            victim.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    victim.wait()
    before = read_results(out).num_rows
    leftovers = [p.name for p in Path(out).iterdir() if p.name.endswith(".tmp")]
    run_child("write", {"paths": paths, "out": out})
    ids = read_results(out).column("id").to_pylist()
    return {"rows_at_kill": before, "temp_files_at_kill": len(leftovers), "rows": len(ids),
            "unique_ids": len(set(ids)), "images": len(paths)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--ratio-images", type=int, default=2000)
    parser.add_argument("--ray-images", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: "
                        "ratio,memory,ray,resume,driver,gallery")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path = args.child
        print(json.dumps(child(mode, json.loads(Path(path).read_text()))))
        return
    sizes = [200, 400] if args.quick else [int(s) for s in args.sizes.split(",")]
    skip = set(filter(None, args.skip.split(",")))
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        files = [] if {"ratio", "memory", "resume"} <= skip else sizes + [args.ratio_images]
        paths = write_pngs(root / "png", max(files, default=0))
        lines = _Lines()
        if "ratio" not in skip:
            n = 256 if args.quick else args.ratio_images
            rates = run_child("ratio", {"paths": paths[:n], "out": str(root / "ratio"),
                                        "rounds": 1 if args.quick else args.rounds})
            base = rates["explain_dataset"]
            lines.append(f"local, {n} images (median of rounds): " + "; ".join(
                f"{k} {v:.0f} images/s ({v / base:.2f}x)" for k, v in rates.items()))
        if "memory" not in skip:
            for n in sizes:
                r = run_child("memory", {"paths": paths[:n], "out": str(root / f"mem{n}")})
                lines.append(f"local, {n} files: {r['images_per_s']:.0f} images/s, "
                             f"peak RSS +{r['peak_mib']:.0f} MiB")
        if "ray" not in skip:
            n = 2000 if args.quick else args.ray_images
            r = run_child("ray", {"paths": [], "out": str(root / "ray"), "images": n,
                                  "batch_size": 64})
            local = r["local"]["steady_images_per_s"]
            for name, v in r.items():
                steady = v["steady_images_per_s"]
                startup = ", ".join(f"{k} {v[k]:.1f} s" for k in
                                    ("join_s", "actors_ready_s", "first_batch_s", "warm_s")
                                    if v.get(k) is not None)
                lines.append(f"{n} images, {name}: start-up {startup}; steady state "
                             f"{steady:.0f} images/s ({steady / local:.2f}x local); whole "
                             f"run {v['wall_s']:.1f} s ({v['images_per_s']:.0f} images/s)")
        if "driver" not in skip:
            counts = [2000, 10000] if args.quick else [10000, 100000]
            r = run_child("driver", {"paths": [], "out": str(root / "driver"), "rows": counts})
            lines.append("Ray driver's peak RSS above its level after joining: " + "; ".join(
                f"{n} rows +{v['peak_mib']:.0f} MiB ({v['images_per_s']:.0f} images/s)"
                for n, v in r.items()))
        if "gallery" not in skip:
            n = 10000 if args.quick else 100000
            r = run_child("gallery", {"paths": [], "out": str(root / "gallery"), "rows": n})
            lines.append(f"gallery over {r['rows']} rows: open {r['open_s']:.1f} s "
                         f"(+{r['open_mib']:.0f} MiB); page change median "
                         f"{r['page_ms_median']:.0f} ms, max {r['page_ms_max']:.0f} ms over "
                         f"{r['pages_visited']} pages, RSS {r['rss_growth_over_pages_mib']:+.0f} "
                         f"MiB meanwhile ({r['rss_growth_first_half_mib']:+.0f} over the first "
                         f"half, {r['rss_growth_second_half_mib']:+.0f} over the second; "
                         f"{r['thumbnails_cached']} thumbnails cached); sort by "
                         f"score {r['sort_ms']:.0f} ms, then a page {r['sorted_page_ms']:.0f} ms")
        if "resume" not in skip:
            n = 400 if args.quick else 2000
            r = resume(paths[:n], str(root / "resume"))
            ok = r["rows"] == r["images"] == r["unique_ids"]
            lines.append(f"resume, {n} files: killed with {r['rows_at_kill']} rows written "
                         f"({r['temp_files_at_kill']} temp files left), rerun -> {r['rows']} rows, "
                         f"{r['unique_ids']} unique ids: {'ok' if ok else 'FAILED'}")


class _Lines(list):
    """Result lines, printed as soon as each is known (a long run keeps what it measured)."""

    def append(self, line: str) -> None:
        super().append(line)
        print(line, flush=True)


if __name__ == "__main__":
    main()
