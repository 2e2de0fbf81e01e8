"""A model built with an embedding layer serves both outputs from one call, and the gate works on it.

The demo model (model/demo) has no layer named `embedding`; its global-average-pooling layer `gap`
is the penultimate one, so it is built here with --embedding-layer gap and calibrated on labelled
synthetic leaves (tests/integration/model/conftest.py).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from model.build import Source, build
from model.non_photos import non_photos
from model.recognition import UNFAMILIAR, Rules
from model.runtime import WEIGHT_CACHE_FILE, build_weight_cache, load_classifier
from model.synthetic import LABELS, make_leaf
from tests.integration.model.conftest import DEMO_KERAS


@pytest.fixture(scope="module")
def built(tmp_path_factory, samples) -> Path:
    tmp = tmp_path_factory.mktemp("two-outputs")
    (tmp / "labels.txt").write_text("\n".join(LABELS) + "\n", encoding="utf-8")
    build(Source(keras=DEMO_KERAS), tmp / "labels.txt", "unit", tmp / "model", samples=samples, quantize="none",
          embedding_layer="gap", embedding_required=True)
    return tmp / "model"


def leaves():
    return [make_leaf(i % len(LABELS), seed=6_000_000 + i, size=(128, 128)) for i in range(25)]


def not_recognised(classifier, images) -> float:
    return sum(not classifier.classify(image.resize((96, 96))).recognized for image in images) / len(images)


def test_the_build_records_both_outputs_and_the_rules(built):
    meta = load_classifier(built).meta
    assert set(meta.extra["outputs"]) == {"probabilities", "embedding"}
    recognition = meta.extra["recognition"]
    assert recognition["rules"] == ["embedding_distance", "min_confidence"]  # no --no-leaf-label given
    assert recognition["embedding_layer"] == "gap" and len(recognition["embedding"]["centroids"]) == len(LABELS)
    # 40 photos are too few for a 64-dimensional covariance: the build says so and uses cosine centroids
    assert recognition["embedding"]["metric"] == "cosine" and "too few" in recognition["calibration"]["embedding_note"]


def test_non_photos_are_not_recognised_and_leaves_are(built):
    classifier = load_classifier(built)
    images = [image for _, image in non_photos()]
    # A synthetic-leaf model calibrated on 40 photos: a flat green or yellow square is close to what it
    # knows. The 90 % target is for the bundled model (test_bundled_gate.py).
    assert not_recognised(classifier, images) >= 0.75
    # 25 photos set the threshold (the other 25 fit the centroids): the "99 % quantile" is their maximum,
    # a coarse cut for a synthetic model; the 3 % target is for the bundled model.
    assert not_recognised(classifier, leaves()) <= 0.3
    verdict = classifier.classify(images[2].resize((96, 96)))  # solid blue
    assert (verdict.recognized, verdict.reason) == (False, UNFAMILIAR) and verdict.label in LABELS


def test_without_the_embedding_rule_the_non_photos_pass(built):
    """The embedding rule is what refuses them: the confidence rule alone lets most through."""
    classifier = load_classifier(built)
    images = [image for _, image in non_photos()]
    with_rule = not_recognised(classifier, images)
    classifier.rules = replace(classifier.rules, embedding=None)
    assert not_recognised(classifier, images) <= with_rule - 0.2


def test_keras_and_litert_with_and_without_the_weight_cache_give_the_same_verdicts(built, tmp_path):
    cached = tmp_path / "cached"
    shutil.copytree(built, cached)
    build_weight_cache(cached)
    assert (cached / WEIGHT_CACHE_FILE).is_file()
    runtimes = [load_classifier(built), load_classifier(built, runtime="keras"), load_classifier(cached)]
    for image in [image for _, image in non_photos()][::3] + leaves()[:5]:
        small = image.resize((96, 96))
        a, b, c = (r.classify(small) for r in runtimes)
        assert a.label == b.label == c.label and a.recognized == b.recognized == c.recognized, (a, b, c)
        assert abs(a.embedding_distance - b.embedding_distance) <= 1e-3 * max(1.0, a.embedding_distance)


def test_a_model_directory_without_rules_recognises_everything():
    classifier = load_classifier(DEMO_KERAS.parent)  # model/demo: trained by model.train_demo, no calibration
    assert classifier.rules == Rules()
    prediction = classifier.classify(non_photos()[0][1].resize((96, 96)))
    assert prediction.recognized and prediction.reason is None and prediction.embedding_distance is None
