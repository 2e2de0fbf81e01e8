"""model.build --quantize auto: int8 only when it agrees with Keras on enough real photos, float32 otherwise."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from model.build import Source, build, main
from model.metadata import TFLITE_FILE, read_metadata
from model.runtime import THREADS_VARIABLE, litert_threads, load_classifier
from model.tuning import MIN_JUDGING_PHOTOS, choose_threads

DEMO = Path(__file__).resolve().parents[3] / "model" / "demo"
POTATO = Path(__file__).resolve().parents[3] / "model" / "potato"


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MIN_JUDGING_PHOTOS leaf JPEGs in class folders, as a user's --samples folder looks."""
    from model.synthetic import LABELS, make_leaf

    root = tmp_path_factory.mktemp("samples")
    for i in range(MIN_JUDGING_PHOTOS):
        folder = root / LABELS[i % len(LABELS)]
        folder.mkdir(exist_ok=True)
        buffer = io.BytesIO()
        make_leaf(i % len(LABELS), seed=700_000 + i, size=(96, 96)).save(buffer, format="JPEG", quality=90)
        (folder / f"leaf {i}.jpg").write_bytes(buffer.getvalue())
    return root


def labels_file(tmp_path: Path, labels: tuple[str, ...]) -> Path:
    path = tmp_path / "labels.txt"
    path.write_text("\n".join(labels) + "\n", encoding="utf-8")
    return path


def coarse_model(tmp_path: Path) -> Source:
    """A model int8 weights cannot represent: one weight of 100 sets the int8 step (~0.8) for weights of
    ~0.05, which all round to 0, so every class ties after quantization while Keras still tells them apart."""
    import keras
    from keras import layers

    inputs = keras.Input((16, 16, 3))
    dense = layers.Dense(3, activation="softmax", use_bias=False)
    model = keras.Model(inputs, dense(layers.Flatten()(inputs)))
    weights = np.random.default_rng(0).normal(0, 0.05, (16 * 16 * 3, 3)).astype(np.float32)
    weights[0, :] = 100.0  # the same for every class: it moves no decision, only the quantization scale
    dense.set_weights([weights])
    model.save(tmp_path / "coarse.keras")
    return Source(keras=tmp_path / "coarse.keras")


def test_int8_is_kept_when_it_agrees_with_keras_on_the_real_photos(tmp_path, photos):
    meta = build(Source(keras=DEMO / "model.keras"), labels_file(tmp_path, read_metadata(DEMO).labels), "unit",
                 tmp_path / "out", samples=photos)
    int8, float32 = meta.extra["parity_by_variant"]["dynamic"], meta.extra["parity_by_variant"]["none"]
    assert int8["real_samples"] == MIN_JUDGING_PHOTOS and int8["real_top1_agreement"] >= 0.99, int8
    assert meta.extra["quantize"] == "dynamic" and meta.extra["quantize_reason"].startswith("int8: agrees")
    assert (tmp_path / "out" / TFLITE_FILE).stat().st_size == int8["tflite_bytes"] < float32["tflite_bytes"] / 2
    assert meta.extra["num_threads"] == choose_threads({int(k): v for k, v in meta.extra["thread_timings_ms"].items()})


def test_int8_that_disagrees_with_keras_is_refused_and_float32_served(tmp_path, photos, capsys):
    source = coarse_model(tmp_path)
    code = main(["--keras", str(source.keras), "--labels", str(labels_file(tmp_path, ("a", "b", "c"))),
                 "--preprocess", "unit", "--samples", str(photos), "--out", str(tmp_path / "out")])
    printed = capsys.readouterr().out
    assert code == 0, printed
    meta = read_metadata(tmp_path / "out")
    int8 = meta.extra["parity_by_variant"]["dynamic"]
    assert int8["real_top1_agreement"] < 0.99, int8
    assert meta.extra["quantize"] == "none" and meta.extra["parity"] == meta.extra["parity_by_variant"]["none"]
    assert f"kept float32: int8 agrees with Keras on top-1 for {int8['real_top1_agreement']:.2%} of 100 real photos" in printed
    assert (tmp_path / "out" / TFLITE_FILE).stat().st_size == meta.extra["parity_by_variant"]["none"]["tflite_bytes"]


def test_a_threshold_above_the_measured_agreement_keeps_float32(tmp_path, photos):
    meta = build(Source(keras=DEMO / "model.keras"), labels_file(tmp_path, read_metadata(DEMO).labels), "unit",
                 tmp_path / "out", samples=photos, min_int8_agreement=1.01)
    assert meta.extra["quantize"] == "none" and "(< 101%)" in meta.extra["quantize_reason"]


def test_too_few_real_photos_keep_float32_saying_why(tmp_path, photos):
    few = tmp_path / "few"
    few.mkdir()
    for path in sorted(photos.rglob("*.jpg"))[:5]:
        (few / path.name).write_bytes(path.read_bytes())
    meta = build(Source(keras=DEMO / "model.keras"), labels_file(tmp_path, read_metadata(DEMO).labels), "unit",
                 tmp_path / "out", samples=few)
    assert meta.extra["quantize"] == "none"
    assert meta.extra["quantize_reason"].startswith(f"float32: only 5 real photos in --samples; int8 is judged on at least {MIN_JUDGING_PHOTOS}")


def test_thread_count_comes_from_the_build_unless_the_variable_overrides_it(monkeypatch):
    meta = read_metadata(POTATO)
    assert meta.extra["num_threads"] == 1 and set(meta.extra["thread_timings_ms"]) >= {"1"}
    assert litert_threads(meta, {}) == 1
    assert litert_threads(meta, {THREADS_VARIABLE: "3"}) == 3
    for bad in ("0", "-1", "two", "1.5"):
        with pytest.raises(ValueError, match=f"{THREADS_VARIABLE} must be a positive integer"):
            litert_threads(meta, {THREADS_VARIABLE: bad})

    import model.runtime

    seen = []
    monkeypatch.setattr(model.runtime.LiteRTBackend, "__init__", lambda self, path, threads, names=None: seen.append(threads))
    monkeypatch.setenv(THREADS_VARIABLE, "2")
    load_classifier(POTATO)
    monkeypatch.delenv(THREADS_VARIABLE)
    load_classifier(POTATO)
    assert seen == [2, 1]


def test_choose_threads_takes_another_thread_only_when_it_pays():
    assert choose_threads({1: 20.0, 2: 19.0}) == 1  # 5 % faster: not worth a second core
    assert choose_threads({1: 30.0, 2: 16.0}) == 2
    assert choose_threads({1: 30.0, 2: 16.0, 3: 15.5, 4: 12.0}) == 4
