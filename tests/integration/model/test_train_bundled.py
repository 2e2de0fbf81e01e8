"""The committed leaf model (model/leaves): complete, small, attributed, and accurate on Test/ as served."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from model.evaluate import label_key
from model.imaging import decode_image
from model.metadata import read_metadata
from model.runtime import load_classifier
from tests.conftest import ROOT

LEAVES_MODEL_DIR = ROOT / "model" / "leaves"
SHARED_DATA = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared")) / "data"
LABELS = tuple((ROOT / "model" / "recipes" / "leaves" / "labels.txt").read_text(encoding="utf-8").split("\n")[:12])
MAX_TFLITE_BYTES = 3_000_000
MIN_OVERALL, MIN_PER_CLASS = 0.97, 0.90


def test_the_model_directory_names_its_classes_for_people_and_its_no_leaf_class():
    meta = read_metadata(LEAVES_MODEL_DIR)
    assert meta.labels == LABELS and len(LABELS) == 12
    assert meta.extra["no_leaf_labels"] == ["Background_without_leaves"]
    assert meta.extra["display_names"]["Apple_Cedar apple rust"] == "Apple — Cedar apple rust"
    assert set(meta.extra["display_names"]) == set(meta.labels)
    assert meta.extra["embedding_layer"] == "embedding"
    assert "CC BY 4.0" in meta.extra["attribution"] and "CC BY-SA 3.0" in meta.extra["attribution"]
    assert "Hughes & Salathé" in (LEAVES_MODEL_DIR / "ATTRIBUTION.md").read_text(encoding="utf-8")


def test_the_served_model_is_int8_small_and_matches_its_sha256():
    meta = read_metadata(LEAVES_MODEL_DIR)
    assert meta.extra["quantize"] == "dynamic", meta.extra["quantize_reason"]
    assert (LEAVES_MODEL_DIR / "model.tflite").stat().st_size <= MAX_TFLITE_BYTES
    assert load_classifier(LEAVES_MODEL_DIR, verify=True).model_version == meta.model_version


def test_accuracy_on_every_test_photo_through_the_serving_decode_meets_the_targets():
    if not (SHARED_DATA / "leaves" / "Test").is_dir():
        pytest.skip(f"{SHARED_DATA} not present (../shared sits beside the clone in CI)")
    classifier = load_classifier(LEAVES_MODEL_DIR)
    meta = classifier.meta
    by_key = {label_key(label): label for label in LABELS}
    per_class: dict[str, list[bool]] = {label: [] for label in LABELS}
    for dataset in ("potato", "leaves"):
        for folder in sorted((SHARED_DATA / dataset / "Test").iterdir()):
            truth = by_key[label_key(folder.name)]
            for path in sorted(folder.iterdir()):
                image = decode_image(path.read_bytes(), max_pixels=50_000_000, target=(meta.width, meta.height))
                per_class[truth].append(classifier.classify(image).label == truth)
    results = [ok for oks in per_class.values() for ok in oks]
    rates = {label: sum(oks) / len(oks) for label, oks in per_class.items()}
    print(f"\nmodel/leaves on Test/: {sum(results) / len(results):.2%} of {len(results)}; {rates}")
    assert len(results) == 995
    assert sum(results) / len(results) >= MIN_OVERALL
    assert all(rate >= MIN_PER_CLASS for rate in rates.values()), rates
