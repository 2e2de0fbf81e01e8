"""The issue's targets for the "not recognised" gate, measured on Test/ with the bundled model, as
model.evaluate measures them (the same decode and classifier as the handler)."""

from __future__ import annotations

import pytest

from handler.config import BUNDLED_MODEL_DIR
from model.evaluate import evaluate
from model.metadata import read_metadata
from tests.conftest import POTATO_DATA, REAL_PHOTO

LEAVES_DATA = POTATO_DATA.parent / "leaves"


@pytest.fixture(scope="module")
def gate(tmp_path_factory):
    recognition = read_metadata(BUNDLED_MODEL_DIR).extra.get("recognition", {})
    if not recognition.get("no_leaf_labels"):
        pytest.skip(f"{BUNDLED_MODEL_DIR.name} has no no-leaf class: the eleven-class model is not bundled yet")
    if not (POTATO_DATA / "Test").is_dir() or not (LEAVES_DATA / "Test").is_dir() or not REAL_PHOTO.is_file():
        pytest.skip("../shared/data (potato, leaves, plantnet) not present")
    result = evaluate(BUNDLED_MODEL_DIR, [POTATO_DATA / "Test", LEAVES_DATA / "Test"],
                      tmp_path_factory.mktemp("gate"), unknown=REAL_PHOTO, non_photos=True, show_progress=False)
    rates = result["gate"]["not_recognised"]
    print("\nthe gate on Test/: " + ", ".join(f"{g} {r['rate']:.2%} of {r['photos']}" for g, r in rates.items()))
    return result["gate"]


def test_at_most_3_percent_of_known_class_photos_are_marked_not_recognised(gate):
    assert gate["not_recognised"]["known"]["rate"] <= 0.03
    # The rules were calibrated on these very photos: the rate for photos they were not calibrated on
    # (the build's 5-fold estimate, what a held-back split can expect) must meet the target too.
    assert gate["known_held_out_at_build"] is not None and gate["known_held_out_at_build"] <= 0.03


def test_at_least_95_percent_of_no_leaf_scenes_are_marked_not_recognised(gate):
    assert gate["not_recognised"]["no-leaf"]["photos"] >= 50
    assert gate["not_recognised"]["no-leaf"]["rate"] >= 0.95


def test_at_least_90_percent_of_synthetic_non_photos_are_marked_not_recognised(gate):
    assert gate["not_recognised"]["non-photo"]["rate"] >= 0.90


def test_the_houseplant_phone_photo_is_not_recognised(gate):
    assert gate["not_recognised"]["unknown"] == {"photos": 1, "not_recognised": 1, "rate": 1.0}
