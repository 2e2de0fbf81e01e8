"""The committed model/demo: intact, accurate on unseen synthetic leaves, the same in both runtimes."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.metadata import TFLITE_FILE, file_sha256, read_metadata
from model.runtime import load_classifier
from model.synthetic import LABELS, make_leaf

DEMO = Path(__file__).resolve().parents[3] / "model" / "demo"
# Training used seeds 0..499 and the build-time held-out set 1_000_000..1_000_099: these were never seen.
FRESH_SEED = 2_000_000
PER_LABEL = 20


def upload(label: int, seed: int) -> Image.Image:
    """A fresh leaf as uploaded: random size and aspect, JPEG, odd seeds draft-decoded like the handler."""
    rng = np.random.default_rng([seed, label, 99])
    width = int(rng.integers(160, 900))
    height = int(width * rng.uniform(0.6, 1.6))
    buffer = io.BytesIO()
    make_leaf(label, seed, (width, height)).save(buffer, "JPEG", quality=int(rng.integers(50, 96)))
    image = Image.open(io.BytesIO(buffer.getvalue()))
    if seed % 2:
        image.draft("RGB", (96, 96))
    return image.convert("RGB")


@pytest.fixture(scope="module")
def meta():
    return read_metadata(DEMO)


@pytest.fixture(scope="module")
def litert():
    return load_classifier(DEMO, "litert", top_k=len(LABELS), verify=True)


def test_metadata_describes_the_synthetic_demo(meta):
    assert meta.labels == LABELS
    assert meta.name == "synthleaf-demo"
    assert meta.preprocess == "unit"
    assert meta.source_format == "keras"
    assert meta.keras_file and (DEMO / meta.keras_file).is_file()
    assert meta.extra["synthetic_only"] is True
    assert meta.extra["held_out_accuracy"] >= 0.95
    assert meta.extra["parity_top1_agreement"] == 1.0


def test_metadata_sha256_matches_model_tflite(meta):
    assert file_sha256(DEMO / TFLITE_FILE) == meta.sha256
    assert meta.model_version == meta.sha256[:16]


def test_artifacts_are_small():
    total = sum(path.stat().st_size for path in DEMO.iterdir() if path.is_file())
    assert total < 10 * 1024 * 1024


def test_litert_classifies_unseen_synthetic_leaves(litert, meta):
    wrong = []
    for label in range(len(LABELS)):
        for i in range(PER_LABEL):
            prediction = litert.classify(upload(label, FRESH_SEED + i))
            assert prediction.model_version == meta.model_version
            assert abs(sum(p for _, p in prediction.top_k) - 1.0) < 1e-3
            if prediction.label != LABELS[label]:
                wrong.append((LABELS[label], FRESH_SEED + i, prediction.label, prediction.confidence))
    accuracy = 1 - len(wrong) / (PER_LABEL * len(LABELS))
    assert accuracy >= 0.95, f"accuracy {accuracy:.3f}; misclassified (first 10): {wrong[:10]}"


def test_litert_and_keras_agree(litert):
    keras_classifier = load_classifier(DEMO, "keras", top_k=len(LABELS))
    for label in range(len(LABELS)):
        image = upload(label, FRESH_SEED + 1_000 + label)
        lite, full = litert.classify(image), keras_classifier.classify(image)
        assert lite.label == full.label
        lite_probs, full_probs = dict(lite.top_k), dict(full.top_k)
        assert lite_probs.keys() == full_probs.keys() == set(LABELS)
        for name in LABELS:
            assert lite_probs[name] == pytest.approx(full_probs[name], abs=1e-4)
