"""model.training fits a classifier reproducibly: the same photos and recipe give the same weights."""

from __future__ import annotations

import numpy as np
import pytest

from model.synthetic import make_leaf
from model.training.data import Photos
from model.training.fit import Recipe, class_weights, train
from model.training.network import EMBEDDING_LAYER, Architecture

TINY = Recipe(arch=Architecture(size=32, stem=(8,), blocks=(16,)), epochs=2, batch_size=8, learning_rate=5e-3)


def leaves(per_class: int, seed: int) -> Photos:
    rows, labels = [], []
    for i in range(per_class):
        for label in range(3):
            rows.append(np.asarray(make_leaf(label, seed=seed + i, size=(32, 32)), dtype=np.uint8))
            labels.append(label)
    return Photos(np.stack(rows), np.array(labels, dtype=np.int32), tuple(f"{i}" for i in range(len(rows))))


@pytest.fixture(scope="module")
def two_runs():
    photos, test = leaves(8, 0), leaves(3, 10_000)
    return train(photos, test, 3, TINY), train(photos, test, 3, TINY)


def test_two_runs_give_identical_weights(two_runs) -> None:
    first, second = two_runs
    for a, b in zip(first.model.get_weights(), second.model.get_weights(), strict=True):
        assert np.array_equal(a, b)
    assert first.history == second.history


def test_a_different_seed_gives_different_weights(two_runs) -> None:
    from dataclasses import replace

    other = train(leaves(8, 0), leaves(3, 10_000), 3, replace(TINY, seed=TINY.seed + 1))
    assert not np.array_equal(other.model.get_weights()[0], two_runs[0].model.get_weights()[0])


def test_the_served_model_has_an_embedding_before_the_softmax(two_runs) -> None:
    model = two_runs[0].model
    assert model.get_layer(EMBEDDING_LAYER).output.shape == (None, 16)
    assert model.layers[-1].name == "probabilities" and model.output.shape == (None, 3)
    assert 1 <= two_runs[0].best_epoch <= TINY.epochs


def test_scarce_classes_weigh_more() -> None:
    weights = class_weights(np.array([0, 0, 0, 1]), 2)
    assert weights[1] == 3 * weights[0]
