"""The seed's own model (Keras 2.4 InceptionV3 JSON + weights) built by model.build and served from S3 events."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from handler.config import Settings
from handler.container import Container
from model.build import MAX_ABS_DIFF, Source, build
from model.imaging import decode_image
from model.metadata import ModelMetadata
from model.runtime import load_classifier
from tests.conftest import REAL_PHOTO, SHARED
from tests.e2e.conftest import BUCKET, TABLE, stored

pytestmark = pytest.mark.slow  # one InceptionV3 build per session: deselect with -m "not slow"
# Building needs TensorFlow, which the runtime-only run (make runtime-test) deliberately lacks.
pytest.importorskip("tf_keras", reason="model building needs TensorFlow (absent in the runtime-only run)")

ARCHITECTURE = SHARED / "inceptionModelArchitecture.json"
LABELS = SHARED / "labels.txt"


def stand_in_weights(path: Path, seed: int = 7) -> None:
    """Weights of the right shapes (the trained ones are not available), with BatchNorm statistics
    taken from one batch so activations have a trained model's scale instead of fading to a uniform
    softmax; without that every input scores ~1/38 and top-1 parity would compare ties."""
    import tf_keras

    tf_keras.utils.set_random_seed(seed)
    model = tf_keras.models.model_from_json(ARCHITECTURE.read_text(encoding="utf-8"))
    norms = [layer for layer in model.layers if isinstance(layer, tf_keras.layers.BatchNormalization)]
    for layer in norms:
        layer.momentum = 0.0  # the next training-mode pass sets moving mean/variance to the batch's
    model(np.random.default_rng(seed).uniform(-1, 1, (8, 256, 256, 3)).astype(np.float32), training=True)
    model.save_weights(path)


@pytest.fixture(scope="session")
def seed_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ModelMetadata, float]:
    """Built once per session: InceptionV3, 24M parameters, ~97 MB model.tflite (never committed)."""
    if not ARCHITECTURE.is_file() or not REAL_PHOTO.is_file():
        pytest.skip(f"{SHARED} not present (../shared sits beside the clone in CI)")
    root = tmp_path_factory.mktemp("seed-model")
    started = time.perf_counter()
    stand_in_weights(root / "weights.h5")
    (root / "samples").mkdir()
    (root / "samples" / REAL_PHOTO.name).symlink_to(REAL_PHOTO)
    source = Source(json=ARCHITECTURE, weights=root / "weights.h5")
    meta = build(source, LABELS, "inception", root / "plantnet", samples=root / "samples")
    return root / "plantnet", meta, time.perf_counter() - started


def test_seed_model_builds_with_the_seeds_input_and_labels(seed_model):
    _model_dir, meta, seconds = seed_model
    figures = meta.extra["parity"]
    print(f"\nseed model built in {seconds:.0f}s: {figures}")
    lines = LABELS.read_text(encoding="utf-8").splitlines()
    assert meta.labels == tuple(line.strip() for line in lines if line.strip()) and len(meta.labels) == 38
    assert (meta.height, meta.width, meta.preprocess) == (256, 256, "inception")
    assert (meta.source_format, meta.keras_file) == ("json-keras2", "model.h5")
    assert figures["real_samples"] == 1
    assert figures["max_abs_diff"] <= MAX_ABS_DIFF and figures["top1_agreement"] == 1.0, figures


@pytest.fixture
def seed_app(app, seed_model, monkeypatch):
    """The real handler module, its container pointed at the seed model directory."""
    model_dir, _, _ = seed_model
    settings = Settings(model_dir=model_dir, table_name=TABLE, result_sink="both", images_bucket=BUCKET)
    monkeypatch.setattr(app, "container", Container(settings))
    return app


def test_seed_model_serves_s3_uploads_with_the_answer_keras_gives(
    seed_app, seed_model, s3, deliver, real_photo, leaf_jpeg
):
    model_dir, meta, _ = seed_model
    uploads = {"garden-images/seed/phone.jpg": real_photo, "garden-images/seed/leaf.jpg": leaf_jpeg(2)}
    for key, body in uploads.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType="image/jpeg")
    deliver()
    keras = load_classifier(model_dir, "keras")
    for key, body in uploads.items():
        item = stored(seed_app, BUCKET, key)
        assert item is not None and item["status"] == "ok", (key, item)
        assert item["model_version"] == meta.model_version
        expected = keras.classify(decode_image(body, max_pixels=50_000_000, target=(256, 256)))
        assert item["label"] == expected.label, (key, item["label"], expected)
        assert abs(float(item["confidence"]) - expected.confidence) <= MAX_ABS_DIFF
