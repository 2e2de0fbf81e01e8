"""Build a servable model directory from your own Keras model, with a Keras-vs-LiteRT parity check.

    python -m model.build --json arch.json --weights weights.h5 --labels labels.txt \\
        --preprocess inception --out build/my-model [--samples photos/] [--quantize dynamic]
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
from PIL import Image, ImageOps, UnidentifiedImageError

from model.convert import QUANTIZE_MODES, litert_outputs
from model.metadata import PREPROCESS_MODES, TFLITE_FILE, ModelMetadata, Preprocess, file_sha256, write_metadata
from model.preprocess import scale, to_input
from model.sources import BuildError, LoadedModel, load_h5, load_json, load_keras3, load_saved_model

MAX_ABS_DIFF = 1e-4  # float32 LiteRT vs Keras, on probabilities
MIN_TOP1 = 0.99  # quantized builds: below this the build refuses unless --accept-drift
RANDOM_INPUTS = 24
SYNTHETIC_LEAVES = 8
SAMPLE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")


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


def parity_inputs(meta: ModelMetadata, samples: Path | None, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Random pixels, synthetic leaves and any real photos, each scaled as serving scales them."""
    from model.synthetic import LABELS, make_leaf

    rng = np.random.default_rng(seed)
    pixels = rng.uniform(0, 255, (RANDOM_INPUTS, meta.height, meta.width, 3)).astype(np.float32)
    rows = list(scale(pixels, meta.preprocess))
    names = [f"random-{i}" for i in range(RANDOM_INPUTS)]
    for i in range(SYNTHETIC_LEAVES):
        rows.append(to_input(make_leaf(i % len(LABELS), seed=900_000 + i, size=(320, 320)), meta)[0])
        names.append(f"synthetic-leaf-{i}")
    for path in sample_files(samples):
        rows.append(to_input(decode_sample(path, (meta.width, meta.height)), meta)[0])
        names.append(path.name)
    return np.stack(rows).astype(np.float32), names


def sample_files(samples: Path | None) -> list[Path]:
    if samples is None:
        return []
    if not samples.is_dir():
        raise BuildError(f"--samples {samples} is not a directory")
    files = sorted(p for p in samples.iterdir() if p.suffix.lower() in SAMPLE_SUFFIXES)
    if not files:
        raise BuildError(f"--samples {samples} holds no images ({', '.join(SAMPLE_SUFFIXES)})")
    return files


def decode_sample(path: Path, target: tuple[int, int]) -> Image.Image:
    """Decode as handler/imaging.py does for uploads: JPEG draft scale, EXIF rotation, RGB."""
    try:
        image = Image.open(path)
        if image.format in ("JPEG", "MPO"):
            image.draft("RGB", (max(target), max(target)))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise BuildError(f"sample {path} is not a readable image: {exc}") from exc
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image.convert("RGB")


def compare(expected: np.ndarray, actual: np.ndarray) -> dict[str, Any]:
    if expected.shape != actual.shape:
        raise BuildError(f"Keras output shape {expected.shape} != LiteRT output shape {actual.shape}")
    agree = expected.argmax(axis=1) == actual.argmax(axis=1)
    return {
        "max_abs_diff": float(np.max(np.abs(expected - actual))),
        "top1_agreement": float(np.mean(agree)),
        "samples": int(len(agree)),
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
    quantize: str | None = None,
    samples: Path | None = None,
    accept_drift: bool = False,
    allow_lambda: bool = False,
    name: str | None = None,
) -> ModelMetadata:
    """Load, check labels, convert, prove parity, then write model.tflite, the Keras copy and metadata.json."""
    if preprocess not in PREPROCESS_MODES:
        raise BuildError(f"--preprocess must be one of {PREPROCESS_MODES}, got {preprocess!r}")
    if quantize not in (None, *QUANTIZE_MODES):
        raise BuildError(f"--quantize must be one of {QUANTIZE_MODES}, got {quantize!r}")
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
    convert_started = time.perf_counter()
    tflite = convert(loaded, quantize)
    convert_seconds = time.perf_counter() - convert_started
    expected = loaded.predict(batch).reshape(len(batch), -1)
    actual = litert_outputs(tflite, batch).reshape(len(batch), -1)
    figures = compare(expected, actual)
    generated = RANDOM_INPUTS + SYNTHETIC_LEAVES
    figures["real_samples"] = len(names) - generated
    if figures["real_samples"]:  # photos like the ones it will serve, apart from the noise inputs
        real = compare(expected[generated:], actual[generated:])
        figures["real_max_abs_diff"], figures["real_top1_agreement"] = real["max_abs_diff"], real["top1_agreement"]
    check_parity(figures, quantize, accept_drift)

    out.mkdir(parents=True, exist_ok=True)
    (out / TFLITE_FILE).write_bytes(tflite)
    keras_file = loaded.keep(out)
    extra = {
        "quantize": quantize or "none",
        "parity": figures,
        "parity_limits": {"max_abs_diff": MAX_ABS_DIFF if quantize is None else None,
                          "min_top1_agreement": 1.0 if quantize is None else MIN_TOP1},
        "accepted_drift": bool(accept_drift and quantize and figures["top1_agreement"] < MIN_TOP1),
        "tflite_bytes": len(tflite),
        "convert_seconds": round(convert_seconds, 1),
        "build_seconds": round(time.perf_counter() - started, 1),
        "built_with": _versions(),
    }
    meta = replace(meta, sha256=file_sha256(out / TFLITE_FILE), keras_file=keras_file, extra=extra)
    write_metadata(out, meta)
    return meta


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
    p = meta.extra["parity"]
    return (
        f"built {meta.name} ({meta.source_format}, {meta.extra['quantize']}): {len(meta.labels)} labels, "
        f"input {meta.height}x{meta.width} {meta.preprocess}, model_version {meta.model_version}, "
        f"{meta.extra['tflite_bytes'] / 1e6:.1f} MB\n"
        f"parity LiteRT vs Keras on {p['samples']} inputs ({p['real_samples']} real): "
        f"max abs diff {p['max_abs_diff']:.3g}, top-1 agreement {p['top1_agreement']:.4f}"
        + (f"; on the real ones alone {p['real_max_abs_diff']:.3g} and {p['real_top1_agreement']:.4f}"
           if p["real_samples"] else "")
    )


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
    parser.add_argument("--quantize", choices=QUANTIZE_MODES, help="dynamic: int8 dynamic-range weights")
    parser.add_argument("--samples", type=Path, help="folder of real photos to add to the parity check")
    parser.add_argument("--accept-drift", action="store_true", help="keep a quantized build below 99%% top-1")
    parser.add_argument("--allow-lambda-layers", action="store_true",
                        help="load Lambda layers (runs code stored in the model file: trusted files only)")
    parser.add_argument("--name", help="model name in metadata.json (default: the --out folder name)")
    args = parser.parse_args(argv)
    if args.weights and not args.json:
        parser.error("--weights goes with --json")
    source = Source(keras=args.keras, h5=args.h5, json=args.json, weights=args.weights, saved_model=args.saved_model)
    try:
        meta = build(source, args.labels, args.preprocess, args.out, args.quantize, args.samples,
                     args.accept_drift, args.allow_lambda_layers, args.name)
    except BuildError as exc:
        print(f"model.build: error: {exc}", file=sys.stderr)
        return 2
    print(summary(meta))
    print(json.dumps({"parity": meta.extra["parity"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
