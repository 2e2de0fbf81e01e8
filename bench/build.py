"""Build the benchmark's model artifacts once: the seed architecture with fixed random weights.

    python -m bench.build [--out build/bench-model] [--stand-in]

Writes, under --out:
  seed/architecture.json     the Keras 2 architecture built (the seed's, or the stand-in's)
  seed/weights.h5            the weights file the seed loaded with load_weights (Keras 2 API)
  float32/                   model directory: model.tflite (float32), model.h5, metadata.json
  int8/                      model directory: model.tflite (dynamic-range int8), metadata.json
  */model.xnnpack-cache      XNNPACK's packed weights, as the image build makes them (model.runtime)
  stamp.json                 what the cache was built from; a mismatch triggers a rebuild
  acceptance.json            which of the two model.build would keep: int8 only if it agrees with Keras
                             on >= 99 % (model.tuning.MIN_INT8_AGREEMENT) of the real photos below, else float32
Speed does not depend on the weights' values, only on their shapes, so random weights are enough.
--stand-in builds a small convolutional network with the seed's input, outputs and Keras 2 format
instead of InceptionV3 (seconds instead of minutes): what the tests' quick run measures; its speed
figures say nothing about the seed's model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "plantnet"
ARCHITECTURE = SHARED / "inceptionModelArchitecture.json"
LABELS_FILE = SHARED / "labels.txt"
DEFAULT_OUT = ROOT / "build" / "bench-model"
WEIGHT_SEED = 20240601
# Bump when the way artifacts are built changes, so old caches are rebuilt.
BUILD_VERSION = 1
SIDE = 256
# Real photos for the acceptance check: the potato Test/ set (300) and the phone photo.
PHOTOS = (ROOT.parent / "shared" / "data" / "potato" / "Test", SHARED / "sample_leaf.jpg")


def expected_stamp(architecture: str) -> dict:
    digest = hashlib.sha256(architecture.encode("utf-8") + LABELS_FILE.read_bytes()).hexdigest()
    return {"build_version": BUILD_VERSION, "inputs_sha256": digest, "weight_seed": WEIGHT_SEED}


def is_built(out: Path, architecture: str) -> bool:
    stamp = out / "stamp.json"
    if not stamp.is_file():
        return False
    try:
        return json.loads(stamp.read_text())["inputs"] == expected_stamp(architecture)
    except (KeyError, json.JSONDecodeError):
        return False


def stand_in_architecture() -> str:
    """A small Keras 2 network with the seed's 256x256 input and label count, as architecture JSON.

    Its one wide Dense layer (~10M weights) keeps int8 weights visibly smaller than float32 in memory,
    as they are for InceptionV3; converting and running it takes seconds.
    """
    import tf_keras
    from tf_keras import layers

    inputs = tf_keras.Input((SIDE, SIDE, 3))
    x = layers.Conv2D(16, 3, strides=2, activation="relu")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(4)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(384, activation="relu")(x)
    outputs = layers.Dense(len(labels()), activation="softmax")(x)
    return str(tf_keras.Model(inputs, outputs, name="stand_in").to_json())


def labels() -> tuple[str, ...]:
    return tuple(
        line.strip() for line in LABELS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()
    )


def build(out: Path, architecture: str, kind: str = "inception-v3") -> None:
    """Generate weights, save them the seed's way, convert to LiteRT float32 and int8."""
    import tf_keras

    from model.convert import to_tflite
    from model.metadata import TFLITE_FILE, ModelMetadata, file_sha256, write_metadata

    started = time.perf_counter()
    tf_keras.utils.set_random_seed(WEIGHT_SEED)
    model = tf_keras.models.model_from_json(architecture)
    names = labels()
    if model.output_shape[-1] != len(names) or tuple(model.input_shape[1:3]) != (SIDE, SIDE):
        raise SystemExit(f"the architecture does not match {len(names)} labels at {SIDE}x{SIDE}")
    (out / "seed").mkdir(parents=True, exist_ok=True)
    (out / "seed" / "architecture.json").write_text(architecture, encoding="utf-8")
    model.save_weights(out / "seed" / "weights.h5")
    print(
        f"  weights: {model.count_params():,} parameters ({time.perf_counter() - started:.0f} s)", flush=True
    )
    for name, quantize in (("float32", None), ("int8", "dynamic")):
        model_dir = out / name
        model_dir.mkdir(parents=True, exist_ok=True)
        (model_dir / TFLITE_FILE).write_bytes(to_tflite(model, quantize=quantize))
        keras_file = None
        if quantize is None:
            keras_file = "model.h5"
            model.save(model_dir / keras_file, save_format="h5")
        meta = ModelMetadata(
            labels=names,
            height=SIDE,
            width=SIDE,
            preprocess="inception",
            sha256=file_sha256(model_dir / TFLITE_FILE),
            name=f"seed-{kind}-random-{name}",
            source_format="keras2-json",
            keras_file=keras_file,
            extra={
                "description": "Seed architecture with random weights, for speed benchmarks only.",
                "weight_seed": WEIGHT_SEED,
                "quantization": quantize or "none",
                # What model.build --accept-untrained records: random weights, never a diagnosis.
                "checks": {"accepted_untrained": True,
                           "problems": ["random weights: a benchmark model, its answers mean nothing"]},
            },
        )
        write_metadata(model_dir, meta)
        size = (model_dir / TFLITE_FILE).stat().st_size / 1e6
        print(f"  {name}: model.tflite {size:.1f} MB ({time.perf_counter() - started:.0f} s)", flush=True)
    stamp = {"inputs": expected_stamp(architecture), "built_seconds": round(time.perf_counter() - started, 1)}
    (out / "stamp.json").write_text(json.dumps(stamp, indent=2) + "\n")


def acceptance(out: Path) -> dict:
    """The build's rule on the real photos: int8 is kept only at >= MIN_INT8_AGREEMENT top-1 agreement with Keras."""
    import numpy as np
    import tf_keras

    from model.parity_inputs import decode_sample
    from model.preprocess import to_input
    from model.runtime import load_classifier
    from model.tuning import MIN_INT8_AGREEMENT, choose_variant
    from model.variants import compare

    folder, photo = PHOTOS
    paths = sorted(folder.rglob("*.*")) + [photo] if folder.is_dir() else [photo]
    int8 = load_classifier(out / "int8")
    batch = np.concatenate([to_input(decode_sample(path, (SIDE, SIDE)), int8.meta) for path in paths])
    keras = tf_keras.models.load_model(out / "float32" / "model.h5", compile=False)
    expected = np.asarray(keras.predict(batch, batch_size=16, verbose=0))
    actual = np.concatenate([int8._backend.probabilities(batch[i : i + 1]) for i in range(len(batch))])
    figures = compare(expected, actual)
    # model.build's own rule (model/tuning.py), on the same kind of evidence: real photos only.
    choice = choose_variant({"real_samples": len(paths), "real_top1_agreement": figures["top1_agreement"]})
    accepted = "litert-int8" if choice.quantize == "dynamic" else "litert-f32"
    # Random weights answer nearly the same class for every photo: say how many classes Keras used.
    classes = int(np.unique(expected.argmax(axis=1)).size)
    return {"accepted": accepted, "reason": choice.reason, "min_top1": MIN_INT8_AGREEMENT, "photos": len(paths), "keras_top1_classes": classes, **figures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--force", action="store_true", help="rebuild even if the cache is current")
    parser.add_argument("--stand-in", action="store_true",
                        help="a small network with the seed's input and outputs instead of InceptionV3 (tests)")
    args = parser.parse_args(argv)
    architecture = stand_in_architecture() if args.stand_in else ARCHITECTURE.read_text(encoding="utf-8")
    if is_built(args.out, architecture) and not args.force:
        print(f"  model artifacts in {args.out} are current")
    else:
        build(args.out, architecture, "stand-in" if args.stand_in else "inception-v3")
    from model.runtime import WEIGHT_CACHE_FILE, build_weight_cache

    for name in ("float32", "int8"):
        if not (args.out / name / WEIGHT_CACHE_FILE).is_file():
            print(f"  {name}: {build_weight_cache(args.out / name)}", flush=True)
    verdict = args.out / "acceptance.json"
    if not verdict.is_file() or args.force:
        figures = acceptance(args.out)
        verdict.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"  int8 top-1 agreement with Keras on {figures['photos']} real photos: "
              f"{figures['top1_agreement']:.1%} ({figures['keras_top1_classes']} distinct Keras answers); "
              f"the build keeps {figures['accepted']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
