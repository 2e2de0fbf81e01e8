"""XNNPACK's weight cache: the same answers with it, and without a usable one (another CPU, a damaged file)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from model.runtime import WEIGHT_CACHE_FILE, build_weight_cache, load_classifier
from model.synthetic import LABELS, make_leaf

DEMO = Path(__file__).resolve().parents[2] / "model" / "demo"


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(DEMO, target)
    return target


def probabilities(model_dir: Path) -> np.ndarray:
    classifier = load_classifier(model_dir)
    batch = np.stack([np.asarray(make_leaf(i % len(LABELS), seed=4_000 + i, size=(96, 96)), dtype=np.float32) / 255
                      for i in range(6)])
    return np.concatenate([classifier._backend.probabilities(batch[i : i + 1]) for i in range(len(batch))])


def engine(model_dir: Path) -> str:
    return type(load_classifier(model_dir)._backend._engine).__name__


def test_without_a_cache_the_interpreter_runs_the_model_as_before(model_dir):
    assert engine(model_dir) == "_Interpreter"


def test_with_the_cache_the_compiled_model_gives_exactly_the_interpreters_outputs(model_dir):
    expected = probabilities(model_dir)
    cache = build_weight_cache(model_dir)
    assert cache == model_dir / WEIGHT_CACHE_FILE and cache.stat().st_size > 0
    assert engine(model_dir) == "_CompiledModel"
    assert np.array_equal(probabilities(model_dir), expected)


def test_a_cache_made_on_another_cpu_is_refused_by_its_fingerprints_and_the_weights_are_packed(model_dir, capfd):
    expected = probabilities(model_dir)
    cache = build_weight_cache(model_dir)
    data = bytearray(cache.read_bytes())
    data[-4:] = bytes(b ^ 0xFF for b in data[-4:])  # the last packing fingerprint: another CPU's kernels
    cache.write_bytes(bytes(data))
    capfd.readouterr()
    assert np.array_equal(probabilities(model_dir), expected)
    assert "could not be matched" in capfd.readouterr().err


def test_a_damaged_cache_file_falls_back_to_packing(model_dir):
    expected = probabilities(model_dir)
    cache = build_weight_cache(model_dir)
    cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 3])
    assert np.array_equal(probabilities(model_dir), expected)
