"""The "not recognised" rules, one at a time: each test fails when its rule is taken out."""

from __future__ import annotations

import numpy as np
import pytest

from model.calibration import CalibrationError, calibrate
from model.recognition import NO_LEAF, NOT_SURE, UNFAMILIAR, EmbeddingCheck, Rules, rules_from_json

LABELS = ("Apple_scab", "Apple_healthy", "Background_without_leaves")


def check(max_distance: float = 2.0) -> EmbeddingCheck:
    centroids = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    return EmbeddingCheck(centroids, np.array([0.05, 0.05]), LABELS[:2], max_distance, 0.99)


def test_a_no_leaf_label_is_not_recognised_however_confident():
    rules = Rules(no_leaf_labels=("Background_without_leaves",), min_confidence=0.5)
    assert rules.judge("Background_without_leaves", 0.999).reason == NO_LEAF
    assert not rules.judge("Background_without_leaves", 0.999).recognized
    assert rules.judge("Apple_scab", 0.999).recognized


def test_a_top1_below_the_threshold_is_not_sure():
    rules = Rules(min_confidence=0.8)
    assert rules.judge("Apple_scab", 0.79) == rules.judge("Apple_scab", 0.5)
    assert (rules.judge("Apple_scab", 0.79).recognized, rules.judge("Apple_scab", 0.79).reason) == (False, NOT_SURE)
    assert rules.judge("Apple_scab", 0.8).recognized
    assert not rules.judge("Apple_scab", float("nan")).recognized


def test_an_embedding_far_from_every_class_is_unlike_the_training_photos():
    rules = Rules(embedding=check())
    near = rules.judge("Apple_scab", 0.99, np.array([0.99, 0.05, 0.0]))
    far = rules.judge("Apple_scab", 0.99, np.array([0.0, 0.0, 1.0]))  # orthogonal to both centroids
    assert near.recognized and near.distance < 2.0
    assert (far.recognized, far.reason) == (False, UNFAMILIAR) and far.distance == pytest.approx(20.0)
    assert rules.judge("Apple_scab", 0.99, np.zeros(3)).reason == UNFAMILIAR  # nothing fired at all
    assert rules.judge("Apple_scab", 0.99, None).recognized  # a model without the embedding output


def test_no_leaf_comes_first_then_the_embedding_then_the_confidence():
    rules = Rules(("Background_without_leaves",), 0.9, check())
    far = np.array([0.0, 0.0, 1.0])
    assert rules.judge("Background_without_leaves", 0.95, far).reason == NO_LEAF
    assert rules.judge("Apple_scab", 0.1, far).reason == UNFAMILIAR
    assert rules.judge("Apple_scab", 0.1, np.array([1.0, 0.0, 0.0])).reason == NOT_SURE


def test_a_no_leaf_answer_is_never_recognised_but_says_no_leaf_only_when_the_model_is_sure():
    rules = Rules(("Background_without_leaves",), 0.9, check())
    near, far = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])
    assert rules.judge("Background_without_leaves", 0.95, near).reason == NO_LEAF
    # unsure of "no leaf" (a houseplant half taken for a scene): unfamiliar when far, else not sure
    assert (rules.judge("Background_without_leaves", 0.5, far).recognized,
            rules.judge("Background_without_leaves", 0.5, far).reason) == (False, UNFAMILIAR)
    assert rules.judge("Background_without_leaves", 0.5, near).reason == NOT_SURE
    assert not Rules(("Background_without_leaves",)).judge("Background_without_leaves", 0.01).recognized
    assert rules.judge("Background_without_leaves", float("nan"), near).reason == NOT_SURE


def test_no_rules_recognise_everything_and_say_so():
    rules = rules_from_json(None)
    assert rules.active_rules == () and rules.judge("anything", 0.0).recognized


def test_rules_survive_metadata_json():
    rules = Rules(("Background_without_leaves",), 0.91, check(3.5))
    again = rules_from_json(rules.to_json())
    assert again.active_rules == ("no_leaf", "embedding_distance", "min_confidence")
    assert (again.no_leaf_labels, again.min_confidence, again.embedding.max_distance) == (
        ("Background_without_leaves",), 0.91, 3.5)
    far = np.array([0.0, 0.0, 1.0])
    assert again.judge("Apple_scab", 0.95, far) == rules.judge("Apple_scab", 0.95, far)
    with pytest.raises(ValueError, match="malformed"):
        rules_from_json({"embedding": {"centroids": [[1, 0]], "scales": [1, 2], "labels": ["a"]}})


def calibration_set(rng: np.random.Generator, per_class: int = 100):
    """Two leaf classes and a no-leaf class: confident probabilities, embeddings around three directions."""
    truth = np.repeat(np.arange(3), per_class)
    probs = np.full((len(truth), 3), 0.01)
    probs[np.arange(len(truth)), truth] = rng.uniform(0.7, 1.0, len(truth))
    embeddings = np.eye(3)[truth] * 5 + rng.normal(0, 0.3, (len(truth), 3)) + 1.0
    return probs, embeddings, truth


def test_calibration_rejects_about_the_asked_share_of_known_photos_and_marks_no_leaf():
    probs, embeddings, truth = calibration_set(np.random.default_rng(0))
    calibration = calibrate(probs, embeddings, truth, LABELS, ("Background_without_leaves",), false_reject=0.02)
    rules, figures = calibration.rules, calibration.figures
    assert rules.active_rules == ("no_leaf", "embedding_distance", "min_confidence")
    assert rules.embedding.labels == LABELS[:2]  # no centroid for the no-leaf class
    assert 0.7 <= rules.min_confidence <= 0.72  # the 2 % quantile of U(0.7, 1.0)
    assert 0.01 <= figures["not_recognised_known"] <= 0.05 and figures["not_recognised_no_leaf"] == 1.0


def test_the_held_out_figure_judges_each_photo_with_rules_calibrated_without_it():
    probs, _, truth = calibration_set(np.random.default_rng(1))
    probs[0, 0] = 0.1  # one unsure photo of a known class: in-sample, the lowest quantile is that photo itself
    calibration = calibrate(probs, None, truth, LABELS, ("Background_without_leaves",), false_reject=0.001)
    figures = calibration.figures
    assert calibration.rules.min_confidence == pytest.approx(0.1) and figures["not_recognised_known"] == 0.0
    # calibrated on the other folds the threshold is about 0.7, so the photo left out is not recognised
    assert figures["not_recognised_known_held_out"] == pytest.approx(1 / 200) and figures["folds"] == 5
    assert "not_recognised_known_held_out" not in calibrate(probs, None, truth, LABELS, folds=0).figures


def test_calibration_without_embeddings_or_with_thin_classes_leaves_the_embedding_rule_off():
    probs, embeddings, truth = calibration_set(np.random.default_rng(1))
    assert calibrate(probs, None, truth, LABELS).rules.active_rules == ("min_confidence",)
    thin = np.concatenate([np.arange(0, 3), np.arange(100, 300)])  # three photos of Apple_scab
    result = calibrate(probs[thin], embeddings[thin], truth[thin], LABELS)
    assert "embedding_distance" not in result.rules.active_rules and "Apple_scab" in result.figures["embedding_note"]


def test_a_no_leaf_label_the_model_does_not_have_is_an_error():
    probs, embeddings, truth = calibration_set(np.random.default_rng(2))
    with pytest.raises(CalibrationError, match="'Background' is not one of the labels"):
        calibrate(probs, embeddings, truth, LABELS, ("Background",))


@pytest.mark.parametrize("metric", ["mahalanobis", "cosine"])
def test_both_embedding_metrics_separate_a_far_embedding_and_survive_the_model_directory(metric, tmp_path):
    probs, embeddings, truth = calibration_set(np.random.default_rng(3))
    rules = calibrate(probs, embeddings, truth, LABELS, ("Background_without_leaves",), metric=metric).rules
    assert rules.embedding.metric == metric
    far = np.array([-4.0, -4.0, 9.0])
    assert rules.judge("Apple_scab", 0.99, far).reason == UNFAMILIAR
    assert rules.judge("Apple_scab", 0.99, embeddings[0]).recognized
    rules.write_arrays(tmp_path)
    assert (tmp_path / "recognition.npz").is_file() == (metric == "mahalanobis")
    again = rules_from_json(rules.to_json(), tmp_path)
    assert again.judge("Apple_scab", 0.99, far).reason == UNFAMILIAR  # float32 arrays on disk: same verdicts
    assert again.judge("Apple_scab", 0.99, embeddings[5]).distance == pytest.approx(
        rules.judge("Apple_scab", 0.99, embeddings[5]).distance, rel=1e-2)  # stored as float32


def test_mahalanobis_needs_two_photos_per_dimension_else_cosine_and_a_note():
    probs, embeddings, truth = calibration_set(np.random.default_rng(4), per_class=10)
    wide = np.concatenate([embeddings, np.zeros((len(embeddings), 3))], axis=1)  # 6 dims, 10 leaf photos to fit on
    result = calibrate(probs, wide, truth, LABELS, ("Background_without_leaves",), metric="mahalanobis")
    assert result.rules.embedding.metric == "cosine" and "too few" in result.figures["embedding_note"]
