"""Build a servable model directory from your own Keras model, with a Keras-vs-LiteRT parity check.

    python -m model.build --json arch.json --weights weights.h5 --labels labels.txt \\
        --preprocess inception --out build/my-model [--samples photos/] [--quantize auto|dynamic|none]

By default (--quantize auto) it serves the dynamic-range int8 model when that agrees with Keras on
top-1 for >= 99 % of the real --samples photos, float32 otherwise, and says which and why.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from model.convert import QUANTIZE_MODES, litert_outputs
from model.keras_loaders import BuildError, LoadedModel, load_h5, load_json, load_keras3, load_saved_model
from model.metadata import (
    PREPROCESS_MODES,
    TFLITE_FILE,
    ModelMetadata,
    Preprocess,
    file_sha256,
    write_metadata,
)
from model.parity_inputs import GENERATED_INPUTS, parity_inputs
from model.tuning import (
    MIN_INT8_AGREEMENT,
    MIN_JUDGING_PHOTOS,
    Choice,
    choose_threads,
    choose_variant,
    time_threads,
)

MAX_ABS_DIFF = 1e-4  # float32 LiteRT vs Keras, on probabilities
MIN_TOP1 = 0.99  # --quantize dynamic: below this the build refuses unless --accept-drift
QUANTIZE_CHOICES = ("auto", "none", *QUANTIZE_MODES)


@dataclass(frozen=True)
class Source:
    """Which format the model comes in and where its files are."""

    keras: Path | None = None
    h5: Path | None = None
    json: Path | None = None
    weights: Path | None = None
    saved_model: Path | None = None


def load_source(source: Source, allow_lambda: bool = False) -> LoadedModel:
    if source.keras:
        return load_keras3(source.keras, allow_lambda)
    if source.h5:
        return load_h5(source.h5, allow_lambda)
    if source.json:
        if source.weights is None:
            raise BuildError("--json needs --weights (the architecture alone has no trained values)")
        return load_json(source.json, source.weights, allow_lambda)
    if source.saved_model:
        return load_saved_model(source.saved_model, allow_lambda)
    raise BuildError("give one source: --keras, --h5, --json with --weights, or --saved-model")


def read_labels(path: Path) -> tuple[str, ...]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise BuildError(f"labels file {path} not found") from exc
    labels = tuple(line.strip() for line in lines if line.strip())
    if not labels:
        raise BuildError(f"labels file {path} has no labels")
    if len(set(labels)) != len(labels):
        raise BuildError(f"labels file {path} lists a label twice")
    return labels


def input_size(loaded: LoadedModel) -> tuple[int, int]:
    """(height, width) from the model's (None, H, W, 3) input."""
    shape = loaded.input_shape
    if len(shape) != 4 or shape[3] != 3 or not all(isinstance(d, int) for d in shape[1:3]):
        raise BuildError(f"the model's input shape is {shape}; a fixed-size RGB input (None, H, W, 3) is needed")
    return int(shape[1]), int(shape[2])


def compare(expected: np.ndarray, actual: np.ndarray) -> dict[str, Any]:
    if expected.shape != actual.shape:
        raise BuildError(f"Keras output shape {expected.shape} != LiteRT output shape {actual.shape}")
    agree = expected.argmax(axis=1) == actual.argmax(axis=1)
    return {
        "max_abs_diff": float(np.max(np.abs(expected - actual))),
        "top1_agreement": float(np.mean(agree)),
        "samples": len(agree),
        "disagreements": int(np.sum(~agree)),
    }


def convert(loaded: LoadedModel, quantize: str | None) -> bytes:
    import tensorflow as tf

    converter = loaded.converter()
    if quantize == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    try:
        return bytes(converter.convert())
    except Exception as exc:
        raise BuildError(f"TensorFlow could not convert the model to LiteRT: {exc}") from exc


def build(
    source: Source,
    labels_path: Path,
    preprocess: Preprocess,
    out: Path,
    quantize: str | None = "auto",
    samples: Path | None = None,
    accept_drift: bool = False,
    allow_lambda: bool = False,
    name: str | None = None,
    min_int8_agreement: float = MIN_INT8_AGREEMENT,
) -> ModelMetadata:
    """Load, check labels, convert, prove parity, choose int8 or float32, then write the model directory."""
    quantize = quantize or "none"
    if preprocess not in PREPROCESS_MODES:
        raise BuildError(f"--preprocess must be one of {PREPROCESS_MODES}, got {preprocess!r}")
    if quantize not in QUANTIZE_CHOICES:
        raise BuildError(f"--quantize must be one of {QUANTIZE_CHOICES}, got {quantize!r}")
    if out.exists() and any(out.iterdir()):
        raise BuildError(f"--out {out} is not empty; choose a new directory")
    started = time.perf_counter()
    labels = read_labels(labels_path)
    loaded = load_source(source, allow_lambda)
    if loaded.output_width != len(labels):
        raise BuildError(
            f"{labels_path} has {len(labels)} labels but the model outputs {loaded.output_width} classes; "
            "they must match, one label a line in output order"
        )
    height, width = input_size(loaded)
    meta = ModelMetadata(labels=labels, height=height, width=width, preprocess=preprocess, sha256="",
                         name=name or out.name, source_format=loaded.source_format, keras_file=None)
    batch, names = parity_inputs(meta, samples)
    expected = loaded.predict(batch).reshape(len(batch), -1)
    convert_started = time.perf_counter()
    variants: dict[str, tuple[bytes, dict[str, Any]]] = {}
    if quantize in ("auto", "none"):  # float32 is always proven: it is what auto falls back to
        variants["none"] = _variant(loaded, None, batch, expected)
        check_parity(variants["none"][1], None, accept_drift)
    real_photos = len(batch) - GENERATED_INPUTS
    # Too few real photos to judge int8 on: auto keeps float32 without spending a conversion on it.
    if quantize == "dynamic" or (quantize == "auto" and real_photos >= MIN_JUDGING_PHOTOS):
        variants["dynamic"] = _variant(loaded, "dynamic", batch, expected)
    convert_seconds = time.perf_counter() - convert_started
    if quantize == "auto":
        int8 = variants["dynamic"][1] if "dynamic" in variants else {"real_samples": real_photos}
        choice = choose_variant(int8, min_int8_agreement)
    else:
        choice = Choice(quantize, f"{'int8' if quantize == 'dynamic' else 'float32'}: --quantize {quantize}")
    tflite, figures = variants[choice.quantize]
    if quantize == "dynamic":
        check_parity(figures, "dynamic", accept_drift)
    timings = time_threads(tflite, batch[-1])  # the last input is a real photo when --samples gave any

    out.mkdir(parents=True, exist_ok=True)
    (out / TFLITE_FILE).write_bytes(tflite)
    keras_file = loaded.keep(out)
    kept_int8 = choice.quantize == "dynamic"
    extra = {
        "quantize": choice.quantize,
        "quantize_reason": choice.reason,
        "parity": figures,
        "parity_by_variant": {variant: f for variant, (_, f) in variants.items()},
        "parity_limits": {"max_abs_diff": None if kept_int8 else MAX_ABS_DIFF,
                          "min_top1_agreement": (min_int8_agreement if quantize == "auto" else MIN_TOP1)
                          if kept_int8 else 1.0},
        "accepted_drift": bool(accept_drift and kept_int8 and figures["top1_agreement"] < MIN_TOP1),
        "num_threads": choose_threads(timings),
        "thread_timings_ms": {str(threads): ms for threads, ms in timings.items()},
        "tflite_bytes": len(tflite),
        "convert_seconds": round(convert_seconds, 1),
        "build_seconds": round(time.perf_counter() - started, 1),
        "built_with": _versions(),
    }
    meta = replace(meta, sha256=file_sha256(out / TFLITE_FILE), keras_file=keras_file, extra=extra)
    write_metadata(out, meta)
    return meta


def _variant(loaded: LoadedModel, quantize: str | None, batch: np.ndarray, expected: np.ndarray
             ) -> tuple[bytes, dict[str, Any]]:
    """Convert one variant and measure it against Keras: all inputs, and the real photos alone."""
    tflite = convert(loaded, quantize)
    actual = litert_outputs(tflite, batch).reshape(len(batch), -1)
    figures = compare(expected, actual)
    generated = GENERATED_INPUTS
    figures["real_samples"] = len(batch) - generated
    if figures["real_samples"]:  # photos like the ones it will serve, apart from the noise inputs
        real = compare(expected[generated:], actual[generated:])
        figures["real_max_abs_diff"], figures["real_top1_agreement"] = real["max_abs_diff"], real["top1_agreement"]
        figures["real_disagreements"] = real["disagreements"]
    figures["tflite_bytes"] = len(tflite)
    return tflite, figures


def check_parity(figures: dict[str, Any], quantize: str | None, accept_drift: bool) -> None:
    if quantize is None:
        if figures["max_abs_diff"] > MAX_ABS_DIFF or figures["top1_agreement"] < 1.0:
            raise BuildError(
                f"LiteRT and Keras disagree: max abs diff {figures['max_abs_diff']:.3g} (limit {MAX_ABS_DIFF}), "
                f"top-1 agreement {figures['top1_agreement']:.4f} (needs 1.0) on {figures['samples']} inputs"
            )
    elif figures["top1_agreement"] < MIN_TOP1 and not accept_drift:
        raise BuildError(
            f"the {quantize} quantized model agrees with Keras on top-1 for {figures['top1_agreement']:.2%} of "
            f"{figures['samples']} inputs (< {MIN_TOP1:.0%}); build float32, or pass --accept-drift"
        )


def summary(meta: ModelMetadata) -> str:
    lines = [
        f"built {meta.name} ({meta.source_format}, {meta.extra['quantize']}): {len(meta.labels)} labels, "
        f"input {meta.height}x{meta.width} {meta.preprocess}, model_version {meta.model_version}, "
        f"{meta.extra['tflite_bytes'] / 1e6:.2f} MB, {meta.extra['build_seconds']:.0f} s",
        f"kept {meta.extra['quantize_reason']}",
    ]
    for variant, p in meta.extra["parity_by_variant"].items():
        lines.append(
            f"parity {'int8' if variant == 'dynamic' else 'float32'} LiteRT vs Keras on {p['samples']} inputs "
            f"({p['real_samples']} real): max abs diff {p['max_abs_diff']:.3g}, top-1 agreement "
            f"{p['top1_agreement']:.4f}"
            + (f"; on the real ones alone {p['real_max_abs_diff']:.3g} and {p['real_top1_agreement']:.4f}"
               if p["real_samples"] else "")
        )
    timings = ", ".join(f"{t} thread{'s' * (t != '1')} {ms} ms" for t, ms in meta.extra["thread_timings_ms"].items())
    lines.append(f"threads: {meta.extra['num_threads']} (median inference {timings})")
    return "\n".join(lines)


def _versions() -> str:
    import tensorflow as tf

    return f"tensorflow {tf.__version__}, python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ info lines out of the report
    parser = argparse.ArgumentParser(prog="python -m model.build", description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--keras", type=Path, help="Keras 3 .keras file")
    group.add_argument("--h5", type=Path, help="legacy full-model HDF5 (Keras 2)")
    group.add_argument("--json", type=Path, help="architecture JSON (Keras 2 or 3); needs --weights")
    group.add_argument("--saved-model", type=Path, help="TensorFlow SavedModel directory")
    parser.add_argument("--weights", type=Path, help="weights file for --json")
    parser.add_argument("--labels", type=Path, required=True, help="one label a line, in output order")
    parser.add_argument("--preprocess", choices=PREPROCESS_MODES, required=True,
                        help="inception: x/127.5-1, unit: x/255, raw: as is")
    parser.add_argument("--out", type=Path, required=True, help="new model directory (MODEL_DIR)")
    parser.add_argument("--quantize", choices=QUANTIZE_CHOICES, default="auto",
                        help="auto (default): int8 if it agrees with Keras on the real --samples, else float32; "
                             "dynamic: int8 dynamic-range weights; none: float32")
    parser.add_argument("--samples", type=Path,
                        help="folder of real photos (sub-folders too) for the parity check and the int8 decision")
    parser.add_argument("--min-int8-agreement", type=float, default=MIN_INT8_AGREEMENT,
                        help="--quantize auto keeps int8 at this top-1 agreement on real photos (default 0.99)")
    parser.add_argument("--accept-drift", action="store_true", help="keep a --quantize dynamic build below 99%% top-1")
    parser.add_argument("--allow-lambda-layers", action="store_true",
                        help="load Lambda layers (runs code stored in the model file: trusted files only)")
    parser.add_argument("--name", help="model name in metadata.json (default: the --out folder name)")
    args = parser.parse_args(argv)
    if args.weights and not args.json:
        parser.error("--weights goes with --json")
    source = Source(keras=args.keras, h5=args.h5, json=args.json, weights=args.weights, saved_model=args.saved_model)
    try:
        meta = build(source, args.labels, args.preprocess, args.out, args.quantize, args.samples,
                     args.accept_drift, args.allow_lambda_layers, args.name, args.min_int8_agreement)
    except BuildError as exc:
        print(f"model.build: error: {exc}", file=sys.stderr)
        return 2
    print(summary(meta))
    print(json.dumps({"parity": meta.extra["parity"], "quantize": meta.extra["quantize"],
                      "num_threads": meta.extra["num_threads"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
