"""The procedural leaf generator: deterministic, honours sizes, and the conditions look different."""

import numpy as np
import pytest
from PIL import Image

from model.synthetic import LABELS, make_dataset, make_leaf

CONDITIONS = ("healthy", "leaf spot", "rust", "powdery mildew", "chlorosis")
HEALTHY, LEAF_SPOT, RUST, MILDEW, CHLOROSIS = (LABELS.index(f"Synthleaf_{name}") for name in CONDITIONS)


def test_labels_are_the_documented_five_in_order():
    assert LABELS == (
        "Synthleaf_healthy",
        "Synthleaf_leaf spot",
        "Synthleaf_rust",
        "Synthleaf_powdery mildew",
        "Synthleaf_chlorosis",
    )


@pytest.mark.parametrize("label", range(len(LABELS)))
def test_same_seed_gives_same_bytes(label):
    assert make_leaf(label, 42, (160, 120)).tobytes() == make_leaf(label, 42, (160, 120)).tobytes()


def test_different_seed_or_label_gives_different_image():
    base = make_leaf(0, 1, (128, 128)).tobytes()
    assert make_leaf(0, 2, (128, 128)).tobytes() != base
    assert make_leaf(1, 1, (128, 128)).tobytes() != base


@pytest.mark.parametrize("label", range(len(LABELS)))
def test_each_label_renders_an_rgb_photo(label):
    image = make_leaf(label, 3)
    assert isinstance(image, Image.Image)
    assert image.mode == "RGB"
    assert image.size == (320, 320)
    assert np.asarray(image).std() > 10  # not a blank frame


@pytest.mark.parametrize("size", [(64, 64), (320, 200), (150, 480), (37, 91)])
def test_size_is_width_height(size):
    assert make_leaf(2, 9, size).size == size


def test_bad_label_index_is_rejected():
    with pytest.raises(ValueError):
        make_leaf(len(LABELS), 0)
    with pytest.raises(ValueError):
        make_leaf(-1, 0)


def test_make_dataset_covers_every_label_with_distinct_images():
    data = make_dataset(2, seed=100, size=(64, 64))
    assert sorted(label for _, label in data) == sorted(list(range(len(LABELS))) * 2)
    assert len({image.tobytes() for image, _ in data}) == len(data)
    assert data[0][0].tobytes() == make_leaf(data[0][1], 100, (64, 64)).tobytes()


def _stats(label, n=12):
    """Per-condition colour fractions, averaged over n leaves (seeds not used in training)."""
    rows = []
    for i in range(n):
        hsv = np.asarray(make_leaf(label, 5_000 + i, (160, 160)).convert("HSV"), dtype=np.float32) / 255.0
        h, s, v = hsv[..., 0] * 360, hsv[..., 1], hsv[..., 2]
        greenish = (h >= 75) & (h <= 160) & (v > 0.3)
        rows.append(
            (
                np.mean((h >= 42) & (h <= 70) & (s > 0.35) & (v > 0.55)),  # yellow
                np.mean((h >= 8) & (h <= 38) & (s > 0.6) & (v > 0.5)),  # bright orange
                s[greenish].mean(),  # how saturated the green parts are
            )
        )
    yellow, orange, green_saturation = np.mean(rows, axis=0)
    return {"yellow": yellow, "orange": orange, "green_saturation": green_saturation}


@pytest.fixture(scope="module")
def stats():
    return {label: _stats(label) for label in range(len(LABELS))}


def test_chlorosis_is_yellow_and_healthy_is_not(stats):
    assert stats[CHLOROSIS]["yellow"] > 0.08
    assert stats[HEALTHY]["yellow"] < 0.002


def test_leaf_spot_has_yellow_halos_but_far_less_yellow_than_chlorosis(stats):
    assert stats[LEAF_SPOT]["yellow"] > 0.005
    assert stats[LEAF_SPOT]["yellow"] < stats[CHLOROSIS]["yellow"] / 2


def test_rust_has_orange_pustules(stats):
    assert stats[RUST]["orange"] > 0.01
    assert stats[RUST]["orange"] > 10 * stats[HEALTHY]["orange"]


def test_powdery_mildew_washes_out_the_green(stats):
    assert stats[MILDEW]["green_saturation"] < stats[HEALTHY]["green_saturation"] - 0.1
