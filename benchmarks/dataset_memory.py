"""explain_dataset over a tf.data pipeline of 2,000 images: images/s against a compiled
forward pass over the same pipeline, and peak resident memory (RSS, sampled in a thread)
above the level before the run, for 500 and for 2,000 images: it should stay flat.

The images are made by the pipeline (stateless noise, batches of 32), so the data set is
never in memory as a whole; the loop keeps only each batch's scores, as a job that
writes its maps to disk would. Run: python -m benchmarks.dataset_memory [--model resnet50]
[--sizes 500,2000] [--quick]
"""
from __future__ import annotations

import time

import tensorflow as tf

from benchmarks.common import (
    ARCHITECTURES, PeakRSS, build_model, compiled_forward, machine, parse, record)
from benchmarks.timing import table
from cam_widgets import explain_dataset

MIB = 2**20


def _arguments(parser) -> None:
    parser.add_argument("--model", default="resnet50", choices=list(ARCHITECTURES))
    parser.add_argument("--sizes", default="500,2000", help="data set sizes, comma-separated")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--method", default="gradcam")


def pipeline(n_images: int, size: int, batch: int) -> tf.data.Dataset:
    """`n_images` noise images in [0, 1], made on the fly, batched."""
    def image(index):
        return tf.random.stateless_uniform((size, size, 3), tf.stack([index, 0]))
    return (tf.data.Dataset.range(n_images).map(image, num_parallel_calls=1)
            .batch(batch).prefetch(1))


def main() -> None:
    args, settings = parse(__doc__.splitlines()[0], _arguments)
    sizes = [64, 256] if settings.quick else [int(n) for n in args.sizes.split(",")]
    model = build_model(args.model, settings.size)
    forward = compiled_forward(model)

    def forward_rate(n_images: int) -> float:
        start = time.perf_counter()
        for batch in pipeline(n_images, settings.size, args.batch):
            forward(batch)
        return n_images / (time.perf_counter() - start)

    def run_explain(n_images: int) -> list[tuple[float, int]]:
        """(seconds since start, images done) after each batch."""
        marks, done, start = [], 0, time.perf_counter()
        for res in explain_dataset(model, pipeline(n_images, settings.size, args.batch),
                                   method=args.method):
            done += len(res.scores)  # keep nothing but the count, as a job writing maps would
            marks.append((time.perf_counter() - start, done))
        assert done == n_images
        return marks

    # Warm both (tracing, allocator pools) on a full batch and a short last batch.
    forward_rate(args.batch + 1)
    run_explain(args.batch + 1)

    rows = []
    for n_images in sizes:
        before = forward_rate(sizes[0])
        with PeakRSS() as memory:
            marks = run_explain(n_images)
        after = forward_rate(sizes[0])
        rows.append((n_images, marks, (before + after) / 2, memory))

    print(f"## explain_dataset throughput and memory ({machine()})")
    print(f"{args.model} (weights=None) {settings.size}x{settings.size}, method {args.method}, "
          f"batches of {args.batch}; each run is timed against a compiled forward pass over "
          f"{sizes[0]} images of the same pipeline just before and just after it\n")
    lines = []
    section = f"explain_dataset, {args.model}, {args.method}, batches of {args.batch}"
    for n_images, marks, forward_per_s, memory in rows:
        seconds = marks[-1][0]
        rate = n_images / seconds
        quarter = max(1, len(marks) // 4)
        first_rate = marks[quarter - 1][1] / marks[quarter - 1][0]
        last_rate = ((marks[-1][1] - marks[-quarter - 1][1])
                     / (marks[-1][0] - marks[-quarter - 1][0]))
        lines.append((n_images, f"{rate:.1f}", f"{forward_per_s / rate:.2f}x",
                      f"{first_rate:.1f} / {last_rate:.1f}", f"{memory.start / MIB:.0f}",
                      f"{(memory.peak - memory.start) / MIB:+.0f}",
                      f"{(memory.end - memory.start) / MIB:+.0f}"))
        record(section, f"{n_images} images", f"{rate:.1f} images/s "
               f"({forward_per_s / rate:.2f}x forward), peak "
               f"{(memory.peak - memory.start) / MIB:+.0f} MiB")
    print(table(lines, ("images", "images/s", "time x forward", "images/s first / last "
                        "quarter", "RSS before MiB", "peak growth MiB", "growth kept MiB")))
    small, large = rows[0], rows[-1]
    extra = ((large[3].peak - large[3].start) - (small[3].peak - small[3].start))
    print(f"\npeak growth at {large[0]} images minus at {small[0]}: {extra / MIB:+.0f} MiB "
          f"({'flat' if abs(extra) < 100 * MIB else 'NOT flat'}: threshold 100 MiB)")


if __name__ == "__main__":
    main()
