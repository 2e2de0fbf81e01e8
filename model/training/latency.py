"""Median LiteRT latency of a model directory on one thread: `python -m model.training.latency model/leaves`."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def median_ms(tflite: Path, runs: int = 200, threads: int = 1) -> float:
    """Median milliseconds of one invoke on a fixed random image, after a warm-up."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tflite), num_threads=threads)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    pixels = np.random.default_rng(0).uniform(0, 255, detail["shape"]).astype(np.float32)
    interpreter.set_tensor(detail["index"], pixels)
    for _ in range(10):
        interpreter.invoke()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        interpreter.invoke()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.training.latency", description=__doc__)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    tflite = args.model_dir / "model.tflite"
    print(f"{tflite}: {tflite.stat().st_size / 1e6:.2f} MB, median {median_ms(tflite, args.runs, args.threads):.2f} ms "
          f"over {args.runs} runs on {args.threads} thread(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
