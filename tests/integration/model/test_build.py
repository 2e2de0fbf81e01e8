"""`python -m model.build`: every source format in use becomes a model directory both runtimes serve alike."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from handler.config import Settings
from handler.container import Container
from model.build import MAX_ABS_DIFF, BuildError, Source, build, main
from model.metadata import TFLITE_FILE, file_sha256, read_metadata

LABELS = ("Tinyleaf_healthy", "Tinyleaf_rust", "Tinyleaf_spot")
SIZE = 40
DEMO_KERAS = Path(__file__).resolve().parents[3] / "model" / "demo" / "model.keras"
PARITY: dict[str, dict] = {}  # every build's figures, printed at the end of the module


def keras3_model():
    import keras
    from keras import layers

    keras.utils.set_random_seed(3)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Conv2D(6, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D(4)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(len(LABELS), activation="softmax")(x)
    return keras.Model(inputs, outputs)


def keras2_model():
    import tf_keras
    from tf_keras import layers

    tf_keras.utils.set_random_seed(3)
    inputs = tf_keras.Input((SIZE, SIZE, 3))
    x = layers.Conv2D(6, 3, activation="relu")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(4)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(len(LABELS), activation="softmax")(x)
    return tf_keras.Model(inputs, outputs)


def save_keras3(tmp: Path) -> Source:
    keras3_model().save(tmp / "tiny.keras")
    return Source(keras=tmp / "tiny.keras")


def save_h5_keras2(tmp: Path) -> Source:
    keras2_model().save(tmp / "tiny.h5", save_format="h5")
    return Source(h5=tmp / "tiny.h5")


def save_h5_keras3(tmp: Path) -> Source:
    keras3_model().save(tmp / "tiny.h5")
    return Source(h5=tmp / "tiny.h5")


def save_json_keras2(tmp: Path) -> Source:
    model = keras2_model()
    (tmp / "arch.json").write_text(model.to_json(), encoding="utf-8")
    model.save_weights(tmp / "weights.h5")
    return Source(json=tmp / "arch.json", weights=tmp / "weights.h5")


def save_json_keras3(tmp: Path) -> Source:
    model = keras3_model()
    (tmp / "arch.json").write_text(model.to_json(), encoding="utf-8")
    model.save_weights(tmp / "tiny.weights.h5")
    return Source(json=tmp / "arch.json", weights=tmp / "tiny.weights.h5")


def save_saved_model_keras2(tmp: Path) -> Source:
    keras2_model().save(tmp / "saved", save_format="tf")
    return Source(saved_model=tmp / "saved")


def save_exported_keras3(tmp: Path) -> Source:
    keras3_model().export(tmp / "exported", verbose=False)
    return Source(saved_model=tmp / "exported")


FORMATS: dict[str, tuple[Callable[[Path], Source], str, str]] = {
    # name: (how the test saves it, source_format in metadata, the Keras copy kept beside model.tflite)
    "keras3 .keras": (save_keras3, "keras", "model.keras"),
    "keras2 .h5": (save_h5_keras2, "h5", "model.h5"),
    "keras3 .h5": (save_h5_keras3, "h5-keras3", "model.keras"),
    "keras2 json+weights": (save_json_keras2, "json-keras2", "model.h5"),
    "keras3 json+weights": (save_json_keras3, "json-keras3", "model.keras"),
    "keras2 SavedModel": (save_saved_model_keras2, "saved-model-keras2", "model.h5"),
    "keras3 export() SavedModel": (save_exported_keras3, "saved-model", "saved_model"),
}


@pytest.fixture(scope="module", autouse=True)
def _print_parity():
    yield
    print("\nparity LiteRT vs Keras per build (model/build.py):")
    for name, figures in PARITY.items():
        print(f"  {name:28s} max abs diff {figures['max_abs_diff']:.2e}  top-1 {figures['top1_agreement']:.4f}"
              f"  on {figures['samples']} inputs")


@pytest.fixture
def labels_file(tmp_path: Path) -> Path:
    path = tmp_path / "labels.txt"
    path.write_text("\n".join(LABELS) + "\n", encoding="utf-8")
    return path


def serve(model_dir: Path, runtime: str):
    """The handler's own classifier, as the container loads it for MODEL_DIR and MODEL_RUNTIME."""
    return Container(Settings(model_dir=model_dir, model_runtime=runtime)).classifier


@pytest.mark.parametrize("name", FORMATS)
def test_each_format_builds_and_both_runtimes_serve_the_same_answers(name, tmp_path, labels_file, leaf_jpeg):
    save, source_format, keras_file = FORMATS[name]
    (tmp_path / "src").mkdir()
    out = tmp_path / "built"
    meta = build(save(tmp_path / "src"), labels_file, "unit", out)
    figures = meta.extra["parity"]
    PARITY[name] = figures
    assert figures["max_abs_diff"] <= MAX_ABS_DIFF and figures["top1_agreement"] == 1.0, f"{name}: {figures}"
    assert (meta.source_format, meta.keras_file, meta.labels) == (source_format, keras_file, LABELS)
    assert (meta.height, meta.width) == (SIZE, SIZE)
    assert read_metadata(out) == meta and file_sha256(out / TFLITE_FILE) == meta.sha256

    from model.imaging import decode_image

    litert, keras = serve(out, "litert"), serve(out, "keras")
    for label in range(5):
        image = decode_image(leaf_jpeg(label, size=(200, 150)), max_pixels=10**7, target=(SIZE, SIZE))
        a, b = litert.classify(image), keras.classify(image)
        assert a.label == b.label and abs(a.confidence - b.confidence) <= MAX_ABS_DIFF, (name, a, b)
        assert a.model_version == b.model_version == meta.model_version


def test_real_samples_join_the_parity_check(tmp_path, labels_file, real_photo, leaf_jpeg):
    samples = tmp_path / "photos"
    samples.mkdir()
    (samples / "phone.jpg").write_bytes(real_photo)
    (samples / "leaf.jpg").write_bytes(leaf_jpeg(1))
    (samples / "notes.txt").write_text("not an image")
    meta = build(save_keras3(tmp_path), labels_file, "inception", tmp_path / "out", samples=samples)
    figures = meta.extra["parity"]
    assert (figures["real_samples"], figures["samples"]) == (2, 34)
    assert figures["top1_agreement"] == figures["real_top1_agreement"] == 1.0
    assert figures["real_max_abs_diff"] <= figures["max_abs_diff"]


def test_cli_prints_the_parity_figures(tmp_path, labels_file, capsys):
    source = save_keras3(tmp_path)
    code = main(["--keras", str(source.keras), "--labels", str(labels_file), "--preprocess", "unit",
                 "--out", str(tmp_path / "out")])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "top-1 agreement 1.0000" in printed and "max abs diff" in printed
    assert json.loads(printed.splitlines()[-1])["parity"]["samples"] >= 32


def test_quantized_demo_model_reports_its_agreement(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(read_metadata(DEMO_KERAS.parent).labels), encoding="utf-8")
    meta = build(Source(keras=DEMO_KERAS), labels, "unit", tmp_path / "q", quantize="dynamic")
    figures = meta.extra["parity"]
    PARITY["demo model, dynamic int8"] = figures
    assert meta.extra["quantize"] == "dynamic"
    assert figures["top1_agreement"] >= 0.99, figures
    float_size = (DEMO_KERAS.parent / TFLITE_FILE).stat().st_size
    assert meta.extra["tflite_bytes"] < float_size / 2


def test_quantized_build_below_99_percent_is_refused_unless_drift_is_accepted(tmp_path, labels_file, monkeypatch):
    import model.variants  # where each conversion is compared with Keras

    real_compare = model.variants.compare

    def one_in_three_flipped(expected, actual):
        actual = actual.copy()
        actual[::3] = np.roll(actual[::3], 1, axis=1)  # the top-1 of every third input moves to the next class
        return real_compare(expected, actual)

    monkeypatch.setattr(model.variants, "compare", one_in_three_flipped)
    source = save_keras3(tmp_path)
    with pytest.raises(BuildError, match=r"agrees with Keras on top-1 for \d+\.\d+% .*--accept-drift"):
        build(source, labels_file, "unit", tmp_path / "refused", quantize="dynamic")
    assert not (tmp_path / "refused").exists()
    meta = build(source, labels_file, "unit", tmp_path / "kept", quantize="dynamic", accept_drift=True)
    assert meta.extra["accepted_drift"] is True and meta.extra["parity"]["top1_agreement"] < 0.99


def test_float32_build_that_drifts_past_1e_4_is_refused(tmp_path, labels_file, monkeypatch):
    import model.variants  # where each conversion is compared with Keras

    real_compare = model.variants.compare
    monkeypatch.setattr(model.variants, "compare", lambda expected, actual: real_compare(expected, actual + 2e-4))
    with pytest.raises(BuildError, match=r"LiteRT and Keras disagree: max abs diff 0\.0002 \(limit 0\.0001\)"):
        build(save_keras3(tmp_path), labels_file, "unit", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_wrong_label_count_names_both_numbers(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("only\ntwo\n", encoding="utf-8")
    with pytest.raises(BuildError, match=r"has 2 labels but the model outputs 3 classes"):
        build(save_keras3(tmp_path), labels, "unit", tmp_path / "out")


@pytest.mark.parametrize("name", ["keras3 .keras", "keras2 .h5"])
def test_corrupt_model_file_fails_clearly(name, tmp_path, labels_file):
    source = FORMATS[name][0](tmp_path)
    path = source.keras or source.h5
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(BuildError, match=rf"{path.name} is not a readable"):
        build(source, labels_file, "unit", tmp_path / "out")


def test_missing_weights_file_fails_clearly(tmp_path, labels_file):
    source = save_json_keras2(tmp_path)
    source.weights.unlink()
    with pytest.raises(BuildError, match=r"weights file .*weights\.h5 not found"):
        build(source, labels_file, "unit", tmp_path / "out")


def test_weights_that_do_not_fit_the_architecture_fail_clearly(tmp_path, labels_file):
    import tf_keras

    source = save_json_keras2(tmp_path)
    other = tf_keras.Sequential([tf_keras.Input((4,)), tf_keras.layers.Dense(3)])
    other.save_weights(source.weights)  # weights of some other model, under the expected name
    with pytest.raises(BuildError, match=r"could not load weights from .*weights\.h5"):
        build(source, labels_file, "unit", tmp_path / "out")


def lambda_model_keras3(tmp: Path) -> Source:
    import keras

    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(len(LABELS), activation="softmax")(x)
    keras.Model(inputs, outputs).save(tmp / "lambda.keras")
    return Source(keras=tmp / "lambda.keras")


def lambda_model_keras2(tmp: Path) -> Source:
    import tf_keras

    model = tf_keras.Sequential([
        tf_keras.Input((SIZE, SIZE, 3)),
        tf_keras.layers.Lambda(lambda t: t * 2.0),
        tf_keras.layers.Flatten(),
        tf_keras.layers.Dense(len(LABELS), activation="softmax"),
    ])
    model.save(tmp / "lambda.h5", save_format="h5")
    return Source(h5=tmp / "lambda.h5")


def lambda_model_saved_model(tmp: Path) -> Source:
    import tf_keras

    h5 = lambda_model_keras2(tmp).h5
    tf_keras.models.load_model(h5, compile=False).save(tmp / "saved", save_format="tf")
    return Source(saved_model=tmp / "saved")


@pytest.mark.parametrize("save", [lambda_model_keras3, lambda_model_keras2, lambda_model_saved_model])
def test_lambda_layer_is_refused_unless_allowed(save, tmp_path, labels_file):
    source = save(tmp_path)
    with pytest.raises(BuildError, match=r"contains a Lambda layer.*--allow-lambda-layers"):
        build(source, labels_file, "unit", tmp_path / "refused")
    meta = build(source, labels_file, "unit", tmp_path / "allowed", allow_lambda=True)
    assert meta.extra["parity"]["top1_agreement"] == 1.0


def test_cli_error_is_one_line_on_stderr(tmp_path, labels_file, capsys):
    code = main(["--json", str(tmp_path / "arch.json"), "--weights", str(tmp_path / "w.h5"),
                 "--labels", str(labels_file), "--preprocess", "raw", "--out", str(tmp_path / "out")])
    assert code == 2
    assert capsys.readouterr().err.startswith("model.build: error: architecture JSON")

