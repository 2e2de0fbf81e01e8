"""Labelled synthetic photos for the model-building tests: a user's --samples folder, one folder per label."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.synthetic import LABELS, make_leaf

DEMO_KERAS = Path(__file__).resolve().parents[3] / "model" / "demo" / "model.keras"
PER_CLASS = 10  # the calibration fits on half: 5 per class, its minimum


@pytest.fixture(scope="session")
def samples(tmp_path_factory) -> Path:
    """PER_CLASS synthetic leaves per demo label, seeds far from the demo model's training range."""
    root = tmp_path_factory.mktemp("samples")
    for i, label in enumerate(LABELS):
        (root / label).mkdir()
        for k in range(PER_CLASS):
            make_leaf(i, seed=3_000_000 + 10 * k + i, size=(128, 128)).save(root / label / f"{k}.jpg", quality=90)
    return root
