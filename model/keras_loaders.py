"""Load a user's model from each format in use, safely, into one shape the build can convert and check."""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

KERAS3_FILE = "model.keras"
KERAS2_FILE = "model.h5"
SAVED_MODEL_DIR = "saved_model"


class BuildError(Exception):
    """The source model cannot be built into a model directory; the message says why."""


@dataclass(frozen=True)
class LoadedModel:
    """A source model loaded for conversion: how to run it, convert it and keep a servable copy.

    With an embedding layer attached (`with_embedding`), `predict` returns the probabilities and that
    layer's output, and the converter makes a LiteRT model with both outputs (one interpreter call).
    """

    source_format: str  # keras, h5, h5-keras3, json-keras2, json-keras3, saved-model-keras2, saved-model
    input_shape: tuple[Any, ...]  # (None, H, W, C)
    output_width: int
    predict: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]  # probabilities, embeddings
    converter: Callable[[], Any]  # a fresh tf.lite.TFLiteConverter
    keep: Callable[[Path], str]  # writes the Keras copy into the model directory, returns its name
    keras_model: Any = None  # the Keras (3 or 2) model, when the source is one
    embedding_layer: str | None = None
    scaling_layers: tuple[str, ...] = ()  # Rescaling / Normalization layers inside the model


SCALING_LAYERS = ("Rescaling", "Normalization")


def with_embedding(loaded: LoadedModel, layer: str, required: bool) -> LoadedModel:
    """Serve `layer`'s output beside the probabilities, if the model has that layer (else as it was)."""
    import tensorflow as tf

    model = loaded.keras_model
    names = {sub.name for sub in getattr(model, "layers", ())}
    if model is None or layer not in names:
        if required:
            raise BuildError(f"--embedding-layer {layer!r}: the model has no layer of that name"
                             + ("" if model is None else f" (its last layers: {', '.join(list(names)[-4:])})"))
        return loaded
    output = model.get_layer(layer).output
    if len(output.shape) != 2:
        raise BuildError(f"layer {layer!r} outputs shape {tuple(output.shape)}; a flat (None, dim) vector is needed")
    if type(model).__module__.startswith("tf_keras"):
        import tf_keras as api
    else:
        import keras as api
    try:
        both = api.Model(model.inputs, [model.outputs[0], output])
    except Exception as exc:  # a subclassed model has no graph to read a layer's output from
        raise BuildError(f"cannot read layer {layer!r} of this {type(model).__name__}: {exc}") from exc

    def predict(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        probs, embeddings = both.predict(batch, batch_size=16, verbose=0)
        return np.asarray(probs), np.asarray(embeddings)

    return replace(loaded, predict=predict, converter=lambda: tf.lite.TFLiteConverter.from_keras_model(both),
                   embedding_layer=layer)


def scaling_layers(model: Any) -> tuple[str, ...]:
    """Names of the Rescaling and Normalization layers anywhere in a Keras model (nested models too)."""
    found: list[str] = []
    for layer in getattr(model, "layers", ()):
        if type(layer).__name__ in SCALING_LAYERS:
            found.append(f"{type(layer).__name__} {layer.name}")
        found.extend(scaling_layers(layer))
    return tuple(found)


def contains_lambda(config: Any) -> bool:
    """True if a serialized Keras config holds a Lambda layer anywhere (nested models included)."""
    if isinstance(config, dict):
        if config.get("class_name") == "Lambda":
            return True
        return any(contains_lambda(value) for value in config.values())
    if isinstance(config, list):
        return any(contains_lambda(value) for value in config)
    return False


def refuse_lambda(config: Any, path: Path, allow_lambda: bool) -> None:
    if contains_lambda(config) and not allow_lambda:
        raise BuildError(
            f"{path} contains a Lambda layer: loading it runs code stored in the file. "
            "Rebuild the model without it, or pass --allow-lambda-layers if you trust the file"
        )


def require_file(path: Path, what: str) -> None:
    if not path.exists():
        raise BuildError(f"{what} {path} not found")


def load_keras3(path: Path, allow_lambda: bool) -> LoadedModel:
    """A Keras 3 `.keras` archive, read with safe_mode on unless Lambda layers were allowed."""
    import keras

    require_file(path, "Keras file")
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError) as exc:
        raise BuildError(f"{path} is not a readable Keras 3 .keras archive: {exc}") from exc
    refuse_lambda(config, path, allow_lambda)
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=not allow_lambda)
    except Exception as exc:  # Keras raises ValueError, OSError, TypeError... for a broken archive
        raise BuildError(f"Keras could not load {path}: {exc}") from exc
    return _from_keras(model, "keras", _copy_file(path, KERAS3_FILE))


def load_h5(path: Path, allow_lambda: bool) -> LoadedModel:
    """A legacy full-model HDF5 file (Keras 2), read with the Keras 2 API, tf_keras."""
    import h5py
    import tf_keras

    require_file(path, "HDF5 file")
    try:
        with h5py.File(path, "r") as h5:
            raw, version = h5.attrs.get("model_config"), str(h5.attrs.get("keras_version", ""))
    except OSError as exc:
        raise BuildError(f"{path} is not a readable HDF5 file: {exc}") from exc
    if raw is None:
        raise BuildError(f"{path} holds no model_config: weights only? Use --json ARCH --weights {path}")
    refuse_lambda(json.loads(raw), path, allow_lambda)
    if version.startswith("3."):  # written by Keras 3's model.save("x.h5"): tf_keras cannot read its config
        import keras

        try:
            model = keras.saving.load_model(path, compile=False, safe_mode=not allow_lambda)
        except Exception as exc:
            raise BuildError(f"Keras could not load {path}: {exc}") from exc
        return _from_keras(model, "h5-keras3", _save_keras3(model))
    try:
        model = tf_keras.models.load_model(path, compile=False, safe_mode=not allow_lambda)
    except Exception as exc:
        raise BuildError(f"tf_keras could not load {path}: {exc}") from exc
    return _from_keras(model, "h5", _copy_file(path, KERAS2_FILE))


def load_json(arch: Path, weights: Path, allow_lambda: bool) -> LoadedModel:
    """Architecture JSON plus weights; Keras 3 JSON carries a "module" key, Keras 2 JSON does not."""
    require_file(arch, "architecture JSON")
    require_file(weights, "weights file")
    try:
        config = json.loads(arch.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BuildError(f"{arch} is not valid JSON: {exc}") from exc
    if not isinstance(config, dict) or "config" not in config:
        raise BuildError(f"{arch} is not a Keras model JSON (no 'config' key)")
    refuse_lambda(config, arch, allow_lambda)
    text = json.dumps(config)
    if "module" in config:
        import keras

        try:
            model = keras.models.model_from_json(text)
        except Exception as exc:
            raise BuildError(f"Keras 3 could not read the architecture in {arch}: {exc}") from exc
        with tempfile.TemporaryDirectory() as tmp:
            # Keras 3 insists on the .weights.h5 suffix.
            named = weights if weights.name.endswith(".weights.h5") else Path(tmp) / "model.weights.h5"
            if named != weights:
                shutil.copyfile(weights, named)
            _load_weights(model, named, weights)
        return _from_keras(model, "json-keras3", _save_keras3(model))
    import tf_keras

    try:
        model = tf_keras.models.model_from_json(text)
    except Exception as exc:
        raise BuildError(f"tf_keras could not read the architecture in {arch}: {exc}") from exc
    _load_weights(model, weights, weights)
    return _from_keras(model, "json-keras2", _save_keras2(model))


def load_saved_model(path: Path, allow_lambda: bool) -> LoadedModel:
    """A TensorFlow SavedModel: a Keras 2 one is revived as a Keras model, any other runs its signature."""
    require_file(path / "saved_model.pb", "SavedModel")
    metadata = path / "keras_metadata.pb"
    if metadata.is_file() and b'"class_name": "Lambda"' in metadata.read_bytes() and not allow_lambda:
        refuse_lambda({"class_name": "Lambda"}, path, allow_lambda)
    if metadata.is_file():
        import tf_keras

        try:
            model = tf_keras.models.load_model(path, compile=False, safe_mode=not allow_lambda)
        except Exception as exc:
            raise BuildError(f"tf_keras could not load the SavedModel {path}: {exc}") from exc
        return _from_keras(model, "saved-model-keras2", _save_keras2(model))
    return _from_signature(path)


def _from_signature(path: Path) -> LoadedModel:
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(path))
        signature = loaded.signatures["serving_default"]
    except KeyError as exc:
        raise BuildError(f"SavedModel {path} has no 'serving_default' signature") from exc
    except Exception as exc:
        raise BuildError(f"TensorFlow could not load the SavedModel {path}: {exc}") from exc
    (spec,) = signature.structured_input_signature[1].values()
    outputs = signature.structured_outputs
    if len(outputs) != 1:
        raise BuildError(f"SavedModel {path} has {len(outputs)} outputs; one (the class probabilities) is needed")
    (out_spec,) = outputs.values()

    def predict(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        (result,) = signature(tf.constant(batch, dtype=tf.float32)).values()
        return result.numpy(), None

    def keep(out: Path) -> str:
        shutil.copytree(path, out / SAVED_MODEL_DIR)
        return SAVED_MODEL_DIR

    return LoadedModel(
        source_format="saved-model",
        input_shape=tuple(spec.shape.as_list()),
        output_width=int(out_spec.shape[-1]),
        predict=predict,
        converter=lambda: tf.lite.TFLiteConverter.from_saved_model(str(path)),
        keep=keep,
    )


def _from_keras(model: Any, source_format: str, keep: Callable[[Path], str]) -> LoadedModel:
    import tensorflow as tf

    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise BuildError(
            f"the model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; one of each is needed"
        )
    return LoadedModel(
        source_format=source_format,
        input_shape=tuple(model.inputs[0].shape),
        output_width=int(model.outputs[0].shape[-1]),
        predict=lambda batch: (np.asarray(model.predict(batch, batch_size=16, verbose=0)), None),
        converter=lambda: tf.lite.TFLiteConverter.from_keras_model(model),
        keep=keep,
        keras_model=model,
        scaling_layers=scaling_layers(model),
    )


def _load_weights(model: Any, path: Path, shown: Path) -> None:
    try:
        model.load_weights(path)
    except Exception as exc:  # h5py OSError for a broken file, ValueError for shapes that do not fit
        raise BuildError(f"could not load weights from {shown} into the architecture: {exc}") from exc


def _copy_file(source: Path, name: str) -> Callable[[Path], str]:
    def keep(out: Path) -> str:
        shutil.copyfile(source, out / name)
        return name

    return keep


def _save_keras3(model: Any) -> Callable[[Path], str]:
    def keep(out: Path) -> str:
        model.save(out / KERAS3_FILE)
        return KERAS3_FILE

    return keep


def _save_keras2(model: Any) -> Callable[[Path], str]:
    def keep(out: Path) -> str:
        model.save(out / KERAS2_FILE, save_format="h5")
        return KERAS2_FILE

    return keep
