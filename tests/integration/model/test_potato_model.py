"""The potato model/potato (the worked third-party example; model/leaves is the bundled default): intact,
attributed, and accurate on real Test/ photos through the handler."""

from __future__ import annotations

import pytest

from handler.config import BUNDLED_MODEL_DIR, Settings
from handler.container import Container
from model.evaluate import label_key
from model.metadata import read_metadata
from model.runtime import load_classifier
from tests.conftest import POTATO_DATA, POTATO_MODEL_DIR, ROOT

LABELS = ("Potato_Early blight", "Potato_Late blight", "Potato_healthy")
MIN_ACCURACY = 0.97


def test_the_potato_model_keeps_its_licence_and_provenance_beside_the_leaf_default():
    assert BUNDLED_MODEL_DIR == ROOT / "model" / "leaves"
    meta = read_metadata(POTATO_MODEL_DIR)
    assert meta.labels == LABELS and (meta.height, meta.width, meta.preprocess) == (224, 224, "raw")
    assert meta.source_format == "h5" and meta.keras_file == "model.h5"
    assert load_classifier(POTATO_MODEL_DIR, verify=True).model_version == meta.model_version  # sha256 matches
    licence = (POTATO_MODEL_DIR / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License") and "HSAkash" in licence
    provenance = (POTATO_MODEL_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "HSAkash/Potato-Leaf-Disease-Dataset" in provenance and "CC BY-SA 3.0" in provenance


def test_the_build_kept_int8_because_it_agreed_with_keras_on_all_300_test_photos():
    extra = read_metadata(POTATO_MODEL_DIR).extra
    int8, float32 = extra["parity_by_variant"]["dynamic"], extra["parity_by_variant"]["none"]
    assert extra["quantize"] == "dynamic", extra["quantize_reason"]
    assert int8["real_samples"] == float32["real_samples"] == 300
    assert int8["real_top1_agreement"] >= 0.99 and float32["real_top1_agreement"] == 1.0


def test_accuracy_on_every_test_photo_through_the_handler_is_at_least_97_percent():
    if not POTATO_DATA.is_dir():
        pytest.skip(f"{POTATO_DATA} not present (../shared sits beside the clone in CI)")
    # The handler's own path for bytes: model.imaging.decode_image, then the LiteRT classifier.
    diagnoser = Container(Settings(model_dir=POTATO_MODEL_DIR)).diagnoser
    by_key = {label_key(label): label for label in LABELS}
    per_class: dict[str, list[bool]] = {label: [] for label in LABELS}
    for folder in sorted((POTATO_DATA / "Test").iterdir()):
        truth = by_key[label_key(folder.name)]
        for path in sorted(folder.iterdir()):
            per_class[truth].append(diagnoser.classify_bytes(path.read_bytes()).label == truth)
    results = [ok for oks in per_class.values() for ok in oks]
    accuracy = sum(results) / len(results)
    print(f"\nbundled model through the handler on Test/: {accuracy:.2%} of {len(results)}; "
          + ", ".join(f"{label} {sum(oks) / len(oks):.0%}" for label, oks in per_class.items()))
    assert len(results) == 300 and all(len(oks) == 100 for oks in per_class.values())
    assert accuracy >= MIN_ACCURACY
    assert all(sum(oks) / len(oks) >= 0.95 for oks in per_class.values()), per_class


@pytest.mark.slow
def test_make_model_rebuilds_the_committed_model_bit_for_bit(tmp_path):
    """The bundled model is what the project's own build makes of the shared .h5 (the Makefile's recipe)."""
    if not POTATO_DATA.is_dir():
        pytest.skip(f"{POTATO_DATA} not present (../shared sits beside the clone in CI)")
    pytest.importorskip("tf_keras", reason="model building needs TensorFlow")
    from model.build import Source, build

    labels = ROOT / "model" / "recipes" / "potato" / "labels.txt"
    meta = build(Source(h5=POTATO_DATA / "potato_pretrain_model.h5"), labels, "raw", tmp_path / "potato",
                 samples=POTATO_DATA / "Test", name="potato-plantvillage")
    committed = read_metadata(POTATO_MODEL_DIR)
    assert (meta.sha256, meta.labels, meta.name) == (committed.sha256, committed.labels, committed.name)
    for variant, figures in committed.extra["parity_by_variant"].items():  # the floats may vary by CPU
        rebuilt = meta.extra["parity_by_variant"][variant]
        assert (rebuilt["real_samples"], rebuilt["real_top1_agreement"]) == (300, figures["real_top1_agreement"])
    # The recognition rules calibrated on the same photos: the confidence rule only (no embedding layer).
    rebuilt, kept = meta.extra["recognition"], committed.extra["recognition"]
    assert rebuilt["rules"] == kept["rules"] == ["min_confidence"]
    assert rebuilt["min_confidence"] == pytest.approx(kept["min_confidence"], abs=1e-3)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--preprocess raw --samples $(POTATO)/Test --name potato-plantvillage" in makefile
