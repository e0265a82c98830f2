"""Run every benchmark, each in its own process, and print their tables and a summary.

`make bench` calls this. Each job below stays under ~3 minutes on 2 cores; the heavy
scripts run once per model. Output is also written to benchmarks/results/latest.md,
and each job's stderr (TensorFlow's logging) to benchmarks/results/logs/.
Run from the repository root: python benchmarks/run_all.py [--quick] [--only NAME,...]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make `benchmarks` importable

from benchmarks.timing import cores_and_cpu  # noqa: E402
RESULTS = ROOT / "benchmarks" / "results"
SUMMARY_ENV = "CAM_WIDGETS_BENCH_SUMMARY"  # the same name as in benchmarks.common

# (script, arguments): each job is one process
JOBS: list[tuple[str, list[str]]] = [
    ("gradcam_batch", ["--model", "resnet50", "--batches", "1,8"]),
    ("gradcam_batch", ["--model", "resnet50", "--batches", "32"]),
    ("gradcam_batch", ["--model", "mobilenetv2"]),
    ("gradcam_batch", ["--model", "vgg16", "--batches", "1,8"]),
    ("gradcam_batch", ["--model", "vgg16", "--batches", "32"]),
    ("gradient_methods", ["--model", "resnet50"]),
    ("gradient_methods", ["--model", "mobilenetv2"]),
    ("gradient_methods", ["--model", "vgg16", "--part", "guided"]),
    ("gradient_methods", ["--model", "vgg16", "--part", "smoothgrad"]),
    ("one_pass", ["--part", "top_k"]),
    ("one_pass", ["--part", "layers"]),
    ("one_pass", ["--part", "xla"]),
    ("dataset_memory", []),
    ("first_call", []),
    ("kernel_profile", []),
    ("vit_methods", []),
    ("new_methods", ["--batches", "1"]),
    ("new_methods", ["--batches", "8", "--part", "cams,scorecam"]),
    ("new_methods", ["--batches", "8", "--part", "ig,occlusion"]),
    ("viewer_latency", []),  # the viewer issue's script; it has --repeats, not --quick
    ("lrp", []),
    ("compare_latency", ["--part", "cams"]),  # CamCompare and the all-depths strip
    ("compare_latency", ["--part", "saliency,strip"]),
    # one backend per job: each runs in a subprocess of its own (KERAS_BACKEND)
    ("backends", ["--all", "--backends", "tensorflow"]),
    ("backends", ["--all", "--backends", "jax"]),
    ("backends", ["--all", "--backends", "torch"]),
]


def _command(script: str, arguments: list[str], quick: bool) -> list[str]:
    command = [sys.executable, "-m", f"benchmarks.{script}", *arguments]
    if quick:
        command += ["--repeats", "2"] if script == "viewer_latency" else ["--quick"]
    return command


def _machine() -> str:
    return f"{cores_and_cpu()}, CPU only"


def _viewer_rows(output: str) -> list[dict]:
    """Summary lines from viewer_latency's table (its own format; best effort)."""
    rows = []
    line_format = re.compile(r"^(\S.*?)\s+([\d.]+)\s+([\d.]+)\s+(.*?)\s*(yes|NO)?$")
    started = False
    for line in output.splitlines():
        if line.startswith("operation"):
            started = True
            continue
        match = line_format.match(line) if started else None
        if match:
            name, ms, ratio, target, met = match.groups()
            rows.append({"section": "Viewer latency, resnet50 (x forward of 1 image)",
                         "what": name, "value": f"{float(ms):.0f} ms ({float(ratio):.2f}x)",
                         "target": "" if target.strip() == "-" else target.strip(),
                         "met": met or "", "ours": True})
    return rows


def summary_table(rows: list[dict]) -> str:
    """One line per section: cam_widgets' numbers, the peers', targets and whether met."""
    sections: dict[str, dict[str, list[str]]] = {}
    for row in rows:
        cells = sections.setdefault(row["section"], {"ours": [], "peers": [], "target": [],
                                                     "met": []})
        ours = row.get("ours", True)
        label = row["what"].removeprefix("cam_widgets").strip(" ,")
        text = f"{label} {row['value']}".strip() if label else row["value"]
        cells["ours" if ours else "peers"].append(text)
        if row["target"]:
            cells["target"].append(f"{label or 'cam_widgets'} {row['target']}")
            cells["met"].append(row["met"])
    lines = ["| benchmark | cam_widgets | peers | target | met |", "|---|---|---|---|---|"]
    for section, cells in sections.items():
        lines.append(f"| {section} | {'; '.join(cells['ours'])} | {'; '.join(cells['peers'])} "
                     f"| {'; '.join(cells['target'])} | {' '.join(cells['met'])} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run of every script")
    parser.add_argument("--only", default="", help="comma-separated script names")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    jobs = [(script, arguments) for script, arguments in JOBS if not only or script in only]

    (RESULTS / "logs").mkdir(parents=True, exist_ok=True)
    summary_file = Path(tempfile.mkstemp(prefix="bench-summary-", suffix=".jsonl")[1])
    env = {**os.environ, SUMMARY_ENV: str(summary_file), "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONWARNINGS": "ignore"}
    started = datetime.datetime.now()
    command_line = ("python benchmarks/run_all.py --quick" if args.quick
                    else "make bench (python benchmarks/run_all.py)")
    header = (f"# cam_widgets benchmarks, {started:%Y-%m-%d %H:%M}\n"
              f"machine: {_machine()}; Python {platform.python_version()}\n"
              f"command: {command_line}\n")
    print(header, flush=True)
    transcript, failures, viewer_rows = [header], [], []
    for index, (script, arguments) in enumerate(jobs):
        command = _command(script, arguments, args.quick)
        shown = " ".join(["python -m", f"benchmarks.{script}", *command[3:]])
        print(f"\n$ {shown}", flush=True)
        log = RESULTS / "logs" / f"{index:02d}-{script}.log"
        begin = time.perf_counter()
        with open(log, "w") as errors:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                       stderr=errors, text=True)
            output = []
            for line in process.stdout:
                print(line, end="", flush=True)
                output.append(line)
            code = process.wait()
        seconds = time.perf_counter() - begin
        print(f"[{script} {' '.join(arguments)}: {seconds:.0f} s"
              f"{'' if code == 0 else f', FAILED with exit code {code}'}]", flush=True)
        transcript.append(f"\n$ {shown}\n{''.join(output)}[{seconds:.0f} s]\n")
        if code != 0:
            tail = log.read_text().strip().splitlines()[-15:]
            print("\n".join(tail), flush=True)
            failures.append(shown)
        if script == "viewer_latency":
            viewer_rows = _viewer_rows("".join(output))

    rows = [json.loads(line) for line in summary_file.read_text().splitlines()] + viewer_rows
    summary_file.unlink()
    summary = (f"\n## Summary: ratios to a compiled forward pass, measured interleaved\n"
               f"{started:%Y-%m-%d}, {_machine()}; reproduce with `{command_line}`\n\n"
               f"{summary_table(rows)}\n")
    print(summary)
    transcript.append(summary)
    if failures:
        print("failed: " + "; ".join(failures))
    (RESULTS / "latest.md").write_text("".join(transcript))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
