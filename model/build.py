"""Build a servable model directory from your own Keras model, with a Keras-vs-LiteRT parity check.

    python -m model.build --json arch.json --weights weights.h5 --labels labels.txt \\
        --preprocess inception --out build/my-model [--samples labelled-photos/ ...] \\
        [--no-leaf-label Background_without_leaves] [--quantize auto|dynamic|none]

By default (--quantize auto) it serves the dynamic-range int8 model when that agrees with Keras on
top-1 for >= 99 % of the real --samples photos, float32 otherwise, and says which and why. It
refuses a model that cannot work (model/checks.py) unless --accept-untrained, and calibrates the
"not recognised" rules (model/recognition.py) on the labelled --samples.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from model.build_report import summary
from model.calibration import FALSE_REJECT, METRICS, CalibrationError, calibrate
from model.checks import MIN_ACCURACY, Findings, check_accuracy, check_outputs, check_preprocess
from model.convert import QUANTIZE_MODES
from model.keras_loaders import (
    BuildError,
    LoadedModel,
    load_h5,
    load_json,
    load_keras3,
    load_saved_model,
    with_embedding,
)
from model.metadata import (
    PREPROCESS_MODES,
    PREPROCESS_PRESETS,
    TFLITE_FILE,
    ModelMetadata,
    file_sha256,
    write_metadata,
)
from model.parity_inputs import GENERATED_INPUTS, Samples, parity_inputs, sample_truth
from model.quiet import native_output_silenced, quiet_environment
from model.tuning import (
    MIN_INT8_AGREEMENT,
    MIN_JUDGING_PHOTOS,
    Choice,
    choose_threads,
    choose_variant,
    time_threads,
)
from model.variants import MAX_ABS_DIFF, MIN_TOP1, Variant, check_parity, convert_variant, real_rows

QUANTIZE_CHOICES = ("auto", "none", *QUANTIZE_MODES)
EMBEDDING_LAYER = "embedding"  # served beside the probabilities when the model has a layer of this name


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


@dataclass(frozen=True)
class Options:
    """The build's choices beyond the source, labels and output (the CLI's flags)."""

    quantize: str = "auto"
    samples: Samples = None
    accept_drift: bool = False
    allow_lambda: bool = False
    name: str | None = None
    min_int8_agreement: float = MIN_INT8_AGREEMENT
    no_leaf_labels: tuple[str, ...] = ()
    embedding_layer: str = EMBEDDING_LAYER
    embedding_required: bool = False  # --embedding-layer given: its absence is an error
    accept_untrained: bool = False
    min_accuracy: float = MIN_ACCURACY
    false_reject: float = FALSE_REJECT
    embedding_metric: str = "mahalanobis"
    step: Callable[[str], None] = lambda what: None  # progress: called as each long step starts


def build(source: Source, labels_path: Path, preprocess: str, out: Path, quantize: str | None = "auto",
          samples: Samples = None, accept_drift: bool = False, allow_lambda: bool = False,
          name: str | None = None, min_int8_agreement: float = MIN_INT8_AGREEMENT, **options: Any) -> ModelMetadata:
    """Load, check labels, refuse what cannot work, convert, prove parity, choose int8 or float32, calibrate the
    "not recognised" rules on the labelled --samples, then write the model directory."""
    opts = Options(quantize or "none", samples, accept_drift, allow_lambda, name, min_int8_agreement, **options)
    preset = preprocess if preprocess in PREPROCESS_PRESETS else None
    mode = PREPROCESS_PRESETS.get(preprocess, preprocess)
    if mode not in PREPROCESS_MODES:
        raise BuildError(f"--preprocess must be one of {PREPROCESS_MODES} or a preset "
                         f"({', '.join(PREPROCESS_PRESETS)}), got {preprocess!r}")
    if opts.quantize not in QUANTIZE_CHOICES:
        raise BuildError(f"--quantize must be one of {QUANTIZE_CHOICES}, got {opts.quantize!r}")
    if out.exists() and any(out.iterdir()):
        raise BuildError(f"--out {out} is not empty; choose a new directory")
    started = time.perf_counter()
    labels = read_labels(labels_path)
    opts.step("loading the model")
    loaded = with_embedding(load_source(source, allow_lambda), opts.embedding_layer, opts.embedding_required)
    if loaded.output_width != len(labels):
        raise BuildError(
            f"{labels_path} has {len(labels)} labels but the model outputs {loaded.output_width} classes; "
            "they must match, one label a line in output order"
        )
    height, width = input_size(loaded)
    meta = ModelMetadata(labels=labels, height=height, width=width, preprocess=mode, sha256="",  # type: ignore[arg-type]
                         name=name or out.name, source_format=loaded.source_format, keras_file=None)
    opts.step("decoding the photos")
    batch, _names = parity_inputs(meta, samples)
    truth = np.concatenate([np.full(GENERATED_INPUTS, -1), sample_truth(samples, labels)])
    opts.step("running Keras")
    expected, expected_embedding = loaded.predict(batch)
    expected = expected.reshape(len(batch), -1)
    findings = refusals(loaded, batch, expected, expected_embedding, truth, mode, opts)
    convert_started = time.perf_counter()
    variants: dict[str, Variant] = {}
    if opts.quantize in ("auto", "none"):  # float32 is always proven: it is what auto falls back to
        opts.step("converting float32")
        variants["none"] = convert_variant(loaded, None, batch, expected)
        check_parity(variants["none"].figures, None, accept_drift)
    real_photos = len(batch) - GENERATED_INPUTS
    # Too few real photos to judge int8 on: auto keeps float32 without spending a conversion on it.
    if opts.quantize == "dynamic" or (opts.quantize == "auto" and real_photos >= MIN_JUDGING_PHOTOS):
        opts.step("converting int8")
        variants["dynamic"] = convert_variant(loaded, "dynamic", batch, expected)
    convert_seconds = time.perf_counter() - convert_started
    if opts.quantize == "auto":
        int8 = variants["dynamic"].figures if "dynamic" in variants else {"real_samples": real_photos}
        choice = choose_variant(int8, min_int8_agreement)
    else:
        choice = Choice(opts.quantize, f"{'int8' if opts.quantize == 'dynamic' else 'float32'}: --quantize {opts.quantize}")
    kept = variants[choice.quantize]
    if opts.quantize == "dynamic":
        check_parity(kept.figures, "dynamic", accept_drift)
    opts.step("calibrating the recognition rules")
    try:  # on what is served: the kept variant's own outputs for the real photos
        calibration = calibrate(kept.probs[GENERATED_INPUTS:], real_rows(kept.embeddings), truth[GENERATED_INPUTS:],
                                labels, opts.no_leaf_labels, opts.false_reject, opts.embedding_metric)
    except CalibrationError as exc:
        raise BuildError(str(exc)) from exc
    opts.step("timing threads")
    timings = time_threads(kept.tflite, batch[-1])  # the last input is a real photo when --samples gave any

    out.mkdir(parents=True, exist_ok=True)
    (out / TFLITE_FILE).write_bytes(kept.tflite)
    keras_file = loaded.keep(out)
    kept_int8 = choice.quantize == "dynamic"
    extra = {
        "quantize": choice.quantize,
        "quantize_reason": choice.reason,
        "parity": kept.figures,
        "parity_by_variant": {variant: v.figures for variant, v in variants.items()},
        "parity_limits": {"max_abs_diff": None if kept_int8 else MAX_ABS_DIFF,
                          "min_top1_agreement": (min_int8_agreement if opts.quantize == "auto" else MIN_TOP1)
                          if kept_int8 else 1.0},
        "accepted_drift": bool(accept_drift and kept_int8 and kept.figures["top1_agreement"] < MIN_TOP1),
        "outputs": kept.outputs,
        "recognition": {**calibration.rules.to_json(), "embedding_layer": loaded.embedding_layer,
                        "calibration": calibration.figures},
        "checks": {**findings.figures, "accepted_untrained": bool(findings.problems), "problems": findings.problems,
                   "warnings": findings.warnings},
        "num_threads": choose_threads(timings),
        "thread_timings_ms": {str(threads): ms for threads, ms in timings.items()},
        "tflite_bytes": len(kept.tflite),
        "convert_seconds": round(convert_seconds, 1),
        "build_seconds": round(time.perf_counter() - started, 1),
        "built_with": _versions(),
    }
    if preset:
        extra["preprocess_preset"] = preset
    meta = replace(meta, sha256=file_sha256(out / TFLITE_FILE), keras_file=keras_file, extra=extra)
    calibration.rules.write_arrays(out)
    write_metadata(out, meta)
    return meta


def refusals(loaded: LoadedModel, batch: np.ndarray, probs: np.ndarray, embeddings: np.ndarray | None,
             truth: np.ndarray, mode: str, opts: Options) -> Findings:
    """Refuse (BuildError) what cannot work unless --accept-untrained; the findings go into metadata.json."""
    findings = Findings()
    check_outputs(probs, embeddings, findings)
    if not findings.problems:  # a constant or NaN model fits no preprocessing: say that, not which fits
        check_accuracy(probs, truth, opts.min_accuracy, findings)
        opts.step("trying the preprocessings")  # also when top-1 is below the floor: the likeliest cause
        check_preprocess(lambda x: loaded.predict(x)[0].reshape(len(x), -1), batch, truth, mode,
                         loaded.scaling_layers, findings, probs)
    if findings.problems and not opts.accept_untrained:
        raise BuildError("refused: " + "; ".join(findings.problems)
                         + ". Pass --accept-untrained for a placeholder or benchmark model")
    return findings


def _versions() -> str:
    import tensorflow as tf

    return f"tensorflow {tf.__version__}, python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.build", description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--keras", type=Path, help="Keras 3 .keras file")
    group.add_argument("--h5", type=Path, help="legacy full-model HDF5 (Keras 2)")
    group.add_argument("--json", type=Path, help="architecture JSON (Keras 2 or 3); needs --weights")
    group.add_argument("--saved-model", type=Path, help="TensorFlow SavedModel directory")
    parser.add_argument("--weights", type=Path, help="weights file for --json")
    parser.add_argument("--labels", type=Path, required=True, help="one label a line, in output order")
    parser.add_argument("--preprocess", choices=(*PREPROCESS_MODES, *PREPROCESS_PRESETS), required=True,
                        metavar="MODE_OR_FAMILY",
                        help="inception: x/127.5-1, unit: x/255, raw: as is, caffe: BGR minus ImageNet means, "
                             "torch: ImageNet mean/std; or the keras.applications family the model comes from: "
                             + ", ".join(f"{k} ({v})" for k, v in PREPROCESS_PRESETS.items()))
    parser.add_argument("--out", type=Path, required=True, help="new model directory (MODEL_DIR)")
    parser.add_argument("--quantize", choices=QUANTIZE_CHOICES, default="auto",
                        help="auto (default): int8 if it agrees with Keras on the real --samples, else float32; "
                             "dynamic: int8 dynamic-range weights; none: float32")
    parser.add_argument("--samples", type=Path, action="append",
                        help="(repeatable) your labelled photos, one folder per label (PlantVillage-style names match): the "
                             "parity check, the int8 decision, the accuracy floor and the recognition rules' "
                             "calibration. Photos the model did not train on give honest thresholds")
    parser.add_argument("--no-leaf-label", action="append", default=[], metavar="LABEL",
                        help="a label meaning 'no leaf in the photo' (repeatable); never guessed from the name")
    parser.add_argument("--embedding-layer", metavar="NAME",
                        help=f"the penultimate layer served beside the probabilities for the embedding-distance "
                             f"rule (default: {EMBEDDING_LAYER!r} when the model has it)")
    parser.add_argument("--embedding-metric", choices=METRICS, default="mahalanobis",
                        help="mahalanobis (default): class means and one shared covariance, in recognition.npz; "
                             "cosine: class centroids, small enough for metadata.json")
    parser.add_argument("--false-reject", type=float, default=FALSE_REJECT,
                        help="share of correctly classified known-class --samples each threshold may reject "
                             f"(default {FALSE_REJECT})")
    parser.add_argument("--min-accuracy", type=float, default=MIN_ACCURACY,
                        help=f"refuse below this top-1 on the labelled --samples (default {MIN_ACCURACY})")
    parser.add_argument("--accept-untrained", action="store_true",
                        help="build even when the outputs are constant or NaN, top-1 is below the floor or the "
                             "preprocessing does not fit (placeholder and benchmark models)")
    parser.add_argument("--min-int8-agreement", type=float, default=MIN_INT8_AGREEMENT,
                        help="--quantize auto keeps int8 at this top-1 agreement on real photos (default 0.99)")
    parser.add_argument("--accept-drift", action="store_true", help="keep a --quantize dynamic build below 99%% top-1")
    parser.add_argument("--allow-lambda-layers", action="store_true",
                        help="load Lambda layers (runs code stored in the model file: trusted files only)")
    parser.add_argument("--name", help="model name in metadata.json (default: the --out folder name)")
    parser.add_argument("--verbose", action="store_true", help="let TensorFlow, absl and LiteRT print their logs")
    args = parser.parse_args(argv)
    if args.weights and not args.json:
        parser.error("--weights goes with --json")
    if not args.verbose:
        quiet_environment()  # before the build's first TensorFlow import
    source = Source(keras=args.keras, h5=args.h5, json=args.json, weights=args.weights, saved_model=args.saved_model)
    options = {"no_leaf_labels": tuple(args.no_leaf_label), "embedding_layer": args.embedding_layer or EMBEDDING_LAYER,
               "embedding_required": bool(args.embedding_layer), "accept_untrained": args.accept_untrained,
               "min_accuracy": args.min_accuracy, "false_reject": args.false_reject,
               "embedding_metric": args.embedding_metric}
    silenced = contextlib.nullcontext(sys.stderr) if args.verbose else native_output_silenced()
    try:
        with silenced as stderr, tqdm(total=len(STEPS), file=stderr, bar_format=BAR, leave=False) as bar:
            options["step"] = lambda what: (bar.set_description_str(what), bar.update(1))
            meta = build(source, args.labels, args.preprocess, args.out, args.quantize, args.samples,
                         args.accept_drift, args.allow_lambda_layers, args.name, args.min_int8_agreement, **options)
    except BuildError as exc:
        print(f"model.build: error: {exc}", file=sys.stderr)
        return 2
    print(summary(meta))
    print(json.dumps({"parity": meta.extra["parity"], "quantize": meta.extra["quantize"],
                      "num_threads": meta.extra["num_threads"],
                      "recognition_rules": meta.extra["recognition"]["rules"]}))
    return 0


STEPS = ("loading the model", "decoding the photos", "running Keras", "trying the preprocessings",
         "converting float32", "converting int8", "calibrating the recognition rules", "timing threads")
BAR = "{desc:34} {bar:20} {n_fmt}/{total_fmt} steps, {elapsed}"


if __name__ == "__main__":
    sys.exit(main())
