"""Train the bundled demo model on synthetic leaves: `python -m model.train_demo [--out model/demo]`."""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from model.metadata import KERAS_FILE, TFLITE_FILE, ModelMetadata, file_sha256, write_metadata
from model.preprocess import to_input
from model.synthetic import LABELS, make_leaf

SEED = 20240601
INPUT_SIZE = 96
BATCH_SIZE = 32
TRAIN_SEED_START = 0  # training leaves use seeds 0 .. per_class - 1
HELD_OUT_SEED_START = 1_000_000  # held-out leaves; tests use 2_000_000 and up
MIN_ACCURACY = 0.95
DEMO_META = ModelMetadata(
    labels=LABELS,
    height=INPUT_SIZE,
    width=INPUT_SIZE,
    preprocess="unit",
    sha256="",
    name="synthleaf-demo",
    source_format="keras",
    keras_file=KERAS_FILE,
)


def photo(label: int, seed: int) -> Image.Image:
    """A synthetic leaf at a random size and aspect ratio, JPEG round-tripped at a random quality."""
    rng = np.random.default_rng([seed, label, 7])
    width = int(np.exp(rng.uniform(np.log(128), np.log(1024))))  # covers libjpeg's 1/8 draft scale
    height = int(np.clip(width * rng.uniform(0.6, 1.6), 128, 1280))
    buf = io.BytesIO()
    make_leaf(label, seed, (width, height)).save(buf, "JPEG", quality=int(rng.integers(35, 96)))
    image = Image.open(io.BytesIO(buf.getvalue()))
    if rng.random() < 0.5:  # decode at 1/2..1/8 scale as handler/imaging.py does for JPEG uploads
        image.draft("RGB", (INPUT_SIZE, INPUT_SIZE))
    return image.convert("RGB")


def sample(job: tuple[int, int]) -> np.ndarray:
    """One model input, made exactly the way serving makes it."""
    label, seed = job
    return to_input(photo(label, seed), DEMO_META)[0]


def make_inputs(per_class: int, seed_start: int, workers: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W, 3) inputs and (N,) labels, classes interleaved, seeds seed_start .. + per_class - 1."""
    jobs = [(label, seed_start + i) for i in range(per_class) for label in range(len(LABELS))]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        x = np.stack(list(pool.map(sample, jobs, chunksize=32)))
    return x, np.array([label for label, _ in jobs], dtype=np.int32)


def build_model():
    """A small CNN: four conv blocks, global average pooling, softmax over the labels."""
    import keras
    from keras import layers

    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="image")
    x = inputs
    for block, filters in enumerate((16, 32, 64, 64), start=1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{block}")(x)
        x = layers.BatchNormalization(name=f"bn{block}")(x)
        x = layers.ReLU(name=f"relu{block}")(x)
        x = layers.MaxPooling2D(name=f"pool{block}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    outputs = layers.Dense(len(LABELS), activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="synthleaf_demo")


def train(out: Path, per_class: int, held_out: int, epochs: int, workers: int) -> dict:
    """Generate data, train, convert, evaluate through LiteRT and write the model directory."""
    started = time.perf_counter()
    print(f"generating {per_class * len(LABELS)} training leaves ...", flush=True)
    x_train, y_train = make_inputs(per_class, TRAIN_SEED_START, workers)
    print(f"generating {held_out * len(LABELS)} held-out leaves ...", flush=True)
    x_test, y_test = make_inputs(held_out, HELD_OUT_SEED_START, workers)
    data_seconds = time.perf_counter() - started
    print(f"data ready in {data_seconds:.0f}s", flush=True)

    import keras
    import tensorflow as tf

    from model.convert import litert_outputs, parity, to_tflite

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    model = build_model()
    steps = epochs * -(-len(y_train) // BATCH_SIZE)
    learning_rate = keras.optimizers.schedules.CosineDecay(2e-3, steps)  # decays so BatchNorm stats settle
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    print(f"training {model.count_params()} parameters for {epochs} epochs ...", flush=True)
    fit_started = time.perf_counter()
    model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=epochs, shuffle=True, verbose=2)
    train_seconds = time.perf_counter() - fit_started

    model, trained = build_model(), model  # an uncompiled copy: no optimizer state in model.keras
    model.set_weights(trained.get_weights())
    tflite = to_tflite(model)
    predicted = litert_outputs(tflite, x_test).argmax(axis=1)
    accuracy = float(np.mean(predicted == y_test))
    per_label = {LABELS[c]: float(np.mean(predicted[y_test == c] == c)) for c in range(len(LABELS))}
    check = parity(model, tflite, x_test)
    print(f"held-out accuracy (LiteRT) {accuracy:.4f}; per label {per_label}", flush=True)
    print(f"parity keras vs litert: {check}", flush=True)
    if accuracy < MIN_ACCURACY:
        raise SystemExit(f"held-out accuracy {accuracy:.4f} < {MIN_ACCURACY}; not writing {out}")

    out.mkdir(parents=True, exist_ok=True)
    model.save(out / KERAS_FILE)
    (out / TFLITE_FILE).write_bytes(tflite)
    extra = {
        "description": "Tiny CNN trained on procedurally generated leaves (model/synthetic.py); "
        "a pipeline demo, meaningless on real photos. See model/MODEL_CARD.md.",
        "synthetic_only": True,
        "held_out_accuracy": round(accuracy, 4),
        "held_out_accuracy_per_label": {k: round(v, 4) for k, v in per_label.items()},
        "held_out_samples": len(y_test),
        "held_out_seeds": f"{HELD_OUT_SEED_START}..{HELD_OUT_SEED_START + held_out - 1} per label",
        "train_samples": len(y_train),
        "train_seeds": f"{TRAIN_SEED_START}..{TRAIN_SEED_START + per_class - 1} per label",
        "epochs": epochs,
        "training_seed": SEED,
        "train_seconds": round(train_seconds, 1),
        "data_seconds": round(data_seconds, 1),
        "parity_max_abs_diff": check["max_abs_diff"],
        "parity_top1_agreement": check["top1_agreement"],
        "parity_samples": check["samples"],
        "trained_with": f"tensorflow {tf.__version__}, keras {keras.__version__}, "
        f"python {platform.python_version()}",
    }
    meta = replace(DEMO_META, sha256=file_sha256(out / TFLITE_FILE), extra=extra)
    write_metadata(out, meta)
    total = time.perf_counter() - started
    print(f"wrote {out} (sha256 {meta.sha256[:16]}) in {total:.0f}s total", flush=True)
    return meta.to_json()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "demo")
    parser.add_argument("--per-class", type=int, default=500, help="training leaves per label")
    parser.add_argument("--held-out", type=int, default=100, help="held-out leaves per label")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes rendering leaves")
    args = parser.parse_args(argv)
    train(args.out, args.per_class, args.held_out, args.epochs, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
