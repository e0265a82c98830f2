"""explain_to_parquet on the shapes data (64 px PNG files, the shipped model):

1. local images/s as a ratio to explain_dataset over the same images (in memory, no
   decoding or writing), interleaved rounds in one process;
2. peak resident memory above the start, for 1,000 and 10,000 files (one child process
   per size, RSS sampled in a thread): it should stay flat;
3. Ray with 1 and 2 actors on a local 2-CPU Ray: images/s (wall time, actor start-up
   included) and the overhead against local;
4. resume: a child killed (SIGKILL) at about half, a rerun; total rows = image count and
   no duplicate ids.

Run: python -m benchmarks.parquet_audit [--sizes 1000,10000] [--ray-images 2000] [--quick]
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

        ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
                 logging_level="warning", log_to_driver=False)
        results = {}
        local = explain_to_parquet(model, paths, os.path.join(out, "local"), preprocess=scale)
        results["local"] = local["images_per_s"]
        for actors in (1, 2):
            start = time.perf_counter()
            summary = explain_to_parquet(model, paths, os.path.join(out, f"ray{actors}"),
                                         preprocess=scale, engine="ray", num_actors=actors)
            results[f"ray, {actors} actor(s)"] = summary["written"] / (time.perf_counter() - start)
        ray.shutdown()
        return results
    if mode == "write":  # the resume test's victim
        explain_to_parquet(model, paths, out, preprocess=scale, batch_size=64)
        return {}
    raise ValueError(mode)


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
    parser.add_argument("--ray-images", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: "
                        "ratio,memory,ray,resume")
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
        paths = write_pngs(root / "png", max(sizes + [args.ratio_images, args.ray_images]))
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
            n = 200 if args.quick else args.ray_images
            r = run_child("ray", {"paths": paths[:n], "out": str(root / "ray")})
            lines.append(f"{n} files, wall time incl. actor start: " + "; ".join(
                f"{k} {v:.1f} images/s ({v / r['local']:.2f}x local)" for k, v in r.items()))
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
