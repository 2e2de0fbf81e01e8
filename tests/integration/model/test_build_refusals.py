"""model.build refuses what cannot work, says which, and builds it anyway with --accept-untrained."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model.build import BuildError, Source, build, main
from model.metadata import read_metadata
from model.quiet import QUIET_ENVIRONMENT
from model.synthetic import LABELS
from tests.conftest import ROOT
from tests.integration.model.conftest import DEMO_KERAS, PER_CLASS


@pytest.fixture
def labels_file(tmp_path: Path) -> Path:
    path = tmp_path / "labels.txt"
    path.write_text("\n".join(LABELS) + "\n", encoding="utf-8")
    return path


def constant_model(tmp: Path, fill: float = 0.0) -> Source:
    """A model answering [0.2] * 5 for every input (zero weights), or NaN for every input."""
    import keras
    from keras import layers

    inputs = keras.Input((32, 32, 3))
    x = layers.GlobalAveragePooling2D()(inputs)
    dense = layers.Dense(len(LABELS), activation="softmax")
    model = keras.Model(inputs, dense(x))
    dense.set_weights([np.full((3, len(LABELS)), fill, np.float32), np.zeros(len(LABELS), np.float32)])
    model.save(tmp / "constant.keras")
    return Source(keras=tmp / "constant.keras")


def test_a_model_whose_output_does_not_depend_on_the_input_is_refused(tmp_path, labels_file):
    with pytest.raises(BuildError, match=r"do not depend on the input: .* all give \[0\.2, 0\.2, 0\.2, 0\.2, 0\.2\]"
                                         r".*--accept-untrained"):
        build(constant_model(tmp_path), labels_file, "unit", tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    meta = build(constant_model(tmp_path), labels_file, "unit", tmp_path / "kept", accept_untrained=True)
    assert meta.extra["checks"]["accepted_untrained"] is True
    assert "do not depend on the input" in meta.extra["checks"]["problems"][0]


def test_a_model_answering_nan_is_refused(tmp_path, labels_file):
    with pytest.raises(BuildError, match=r"probabilities are NaN or infinite for 32 of 32 inputs"):
        build(constant_model(tmp_path, fill=np.nan), labels_file, "unit", tmp_path / "refused")


def test_top1_below_the_floor_on_the_labelled_photos_is_refused(tmp_path, samples):
    shuffled = tmp_path / "labels.txt"
    shuffled.write_text("\n".join(LABELS[1:] + LABELS[:1]) + "\n", encoding="utf-8")  # every label one off
    with pytest.raises(BuildError, match=rf"top-1 on the {PER_CLASS * len(LABELS)} labelled --samples photos is "
                                         r"\d+\.\d%, below the floor 50%"):
        build(Source(keras=DEMO_KERAS), shuffled, "unit", tmp_path / "refused", samples=samples, quantize="none")


def test_a_preprocessing_that_clearly_does_not_fit_is_refused_and_the_one_that_does_is_named(tmp_path, samples,
                                                                                              labels_file):
    with pytest.raises(BuildError, match=r"--preprocess raw gives top-1 .* unit gives 100\.0%: pass --preprocess unit"):
        build(Source(keras=DEMO_KERAS), labels_file, "raw", tmp_path / "refused", samples=samples, quantize="none")
    meta = build(Source(keras=DEMO_KERAS), labels_file, "unit", tmp_path / "kept", samples=samples, quantize="none")
    assert meta.extra["checks"]["preprocess_fit"] == "unit" and meta.extra["checks"]["samples_top1"] == 1.0


def test_presets_are_named_after_keras_applications_families(tmp_path, labels_file):
    meta = build(constant_model(tmp_path), labels_file, "mobilenet_v2", tmp_path / "out", accept_untrained=True)
    assert (meta.preprocess, meta.extra["preprocess_preset"]) == ("inception", "mobilenet_v2")
    assert read_metadata(tmp_path / "out").preprocess == "inception"


def test_a_rescaling_layer_inside_the_model_is_noticed(tmp_path, labels_file):
    import keras
    from keras import layers

    keras.utils.set_random_seed(5)
    inputs = keras.Input((32, 32, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(4, 3, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    keras.Model(inputs, layers.Dense(len(LABELS), activation="softmax")(x)).save(tmp_path / "m.keras")
    meta = build(Source(keras=tmp_path / "m.keras"), labels_file, "unit", tmp_path / "out")
    (warning,) = meta.extra["checks"]["warnings"]
    assert "scales its own input (Rescaling" in warning and "--preprocess raw" in warning


def test_the_cli_says_which_and_exits_non_zero(tmp_path, labels_file, capsys):
    source = constant_model(tmp_path)
    code = main(["--keras", str(source.keras), "--labels", str(labels_file), "--preprocess", "unit",
                 "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 2 and captured.err.startswith("model.build: error: refused: the model's outputs do not depend")
    assert "XNNPACK" not in captured.err + captured.out and "tensorflow" not in captured.out.lower()


def test_the_build_is_quiet_unless_verbose(tmp_path, labels_file):
    """TensorFlow's and LiteRT's own lines reach the terminal only with --verbose (fresh processes: the
    logging variables must be set before TensorFlow's first import)."""
    source = constant_model(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in QUIET_ENVIRONMENT}
    common = [sys.executable, "-m", "model.build", "--keras", str(source.keras), "--labels", str(labels_file),
              "--preprocess", "unit", "--accept-untrained", "--quantize", "none"]
    runs = {}
    for name, extra in (("quiet", []), ("verbose", ["--verbose"])):
        runs[name] = subprocess.run([*common, "--out", str(tmp_path / name), *extra], cwd=ROOT, env=env,
                                    capture_output=True, text=True, timeout=600, check=True)
    noise = ("XNNPACK", "cuda", "absl::InitializeLog", "Saved artifact")
    assert any(word in runs["verbose"].stderr for word in noise)  # what the quiet build must keep out
    assert not any(word in runs["quiet"].stderr + runs["quiet"].stdout for word in noise), runs["quiet"].stderr
    assert runs["quiet"].stdout.startswith("built quiet (keras, none)") and "ACCEPTED UNTRAINED" in runs["quiet"].stdout
    assert "steps" in runs["quiet"].stderr  # the progress bar
