"""Load a model directory once and classify preprocessed batches with LiteRT or Keras."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from PIL import Image

from model.metadata import TFLITE_FILE, ModelDirError, ModelMetadata, file_sha256, read_metadata
from model.preprocess import to_input
from model.recognition import Rules, rules_from_json

Runtime = Literal["litert", "keras"]
RUNTIMES: tuple[str, ...] = ("litert", "keras")
THREADS_VARIABLE = "MODEL_NUM_THREADS"  # overrides the thread count model.build measured (metadata.json)


@dataclass(frozen=True)
class Prediction:
    """The model's answer. `label`/`confidence`/`top_k` are the top-1 class whatever the verdict; when
    `recognized` is False, `reason` says why in a few words (model/recognition.py) and the label is not
    an answer to show as a diagnosis."""

    label: str
    confidence: float
    top_k: tuple[tuple[str, float], ...]
    model_version: str
    recognized: bool = True
    reason: str | None = None
    embedding_distance: float | None = None  # the embedding rule's score (None: the model has no such rule)
    display_label: str | None = None  # the label as people read it ("Apple — Cedar apple rust"); `label` stays stable


def readable_label(label: str, display_names: Mapping[str, str] | None = None) -> str:
    """The model's own display name for a label, else `Crop___Disease_name` read as "Crop — Disease name"."""
    if display_names and isinstance(display_names.get(label), str):
        return display_names[label]
    crop, sep, rest = label.partition("___") if "___" in label else label.partition("_")
    return f"{crop} — {rest.replace('_', ' ')}" if sep and rest else label.replace("_", " ")


Outputs = tuple[np.ndarray, "np.ndarray | None"]  # (N, classes) probabilities, (N, dim) embeddings or None


class Backend(Protocol):
    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Return the (N, classes) softmax output for an (N, H, W, 3) float32 batch."""


class EmbeddingBackend(Backend, Protocol):
    """A backend whose model also serves its embedding layer: both from one call."""

    serves_embedding: bool

    def outputs(self, batch: np.ndarray) -> Outputs:
        """The softmax output and the embedding (None when the model has none) for one batch."""


# XNNPACK's packed weights, beside model.tflite: built at image build (build_weight_cache), mapped at init.
WEIGHT_CACHE_FILE = "model.xnnpack-cache"


class LiteRTBackend:
    """LiteRT with tensors allocated once; not thread-safe, one per container.

    With a weight cache beside the model, it loads through LiteRT's CompiledModel API, which maps
    XNNPACK's packed weights instead of packing them (float32 InceptionV3: ~100 ms less CPU and ~80 MB
    less RSS at init). A cache made on another CPU or LiteRT build fails XNNPACK's fingerprint check
    and the weights are packed as without one (same outputs).
    """

    def __init__(self, path: Path, threads: int | None, names: Mapping[str, str] | None = None) -> None:
        cache = path.with_name(WEIGHT_CACHE_FILE)
        self._engine = (_CompiledModel(path, threads, cache, names) if cache.is_file()
                        else _Interpreter(path, threads, names))
        self.serves_embedding = bool(names and "embedding" in names)

    def outputs(self, batch: np.ndarray) -> Outputs:
        return self._engine.outputs(batch)

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        return self._engine.outputs(batch)[0]


def _pick(details: list[tuple[str, int]], names: Mapping[str, str] | None) -> tuple[int, int | None]:
    """Positions of the probabilities and embedding among a model's outputs, by the tensor names model.build
    recorded in metadata.json ("outputs"; the converter does not keep Keras's output order)."""
    if not names:
        if len(details) != 1:
            raise ModelDirError(f"the model has {len(details)} outputs and metadata.json does not name them")
        return 0, None
    position = {name: i for i, (name, _) in enumerate(details)}
    missing = [n for n in names.values() if n not in position]
    if missing:
        raise ModelDirError(f"metadata.json names output {missing[0]!r}, the model has {sorted(position)}")
    embedding = names.get("embedding")
    return position[names["probabilities"]], None if embedding is None else position[embedding]


class _Interpreter:
    def __init__(self, path: Path, threads: int | None, names: Mapping[str, str] | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        details = [(d["name"], d["index"]) for d in self._interpreter.get_output_details()]
        probs, embedding = _pick(details, names)
        self._output = details[probs][1]
        self._embedding = None if embedding is None else details[embedding][1]

    def outputs(self, batch: np.ndarray) -> Outputs:
        self._interpreter.set_tensor(self._input, batch)
        self._interpreter.invoke()
        probs = np.array(self._interpreter.get_tensor(self._output))
        return probs, None if self._embedding is None else np.array(self._interpreter.get_tensor(self._embedding))

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        return self.outputs(batch)[0]


class _CompiledModel:
    def __init__(self, path: Path, threads: int | None, cache: Path, names: Mapping[str, str] | None = None) -> None:
        from ai_edge_litert.compiled_model import CompiledModel, CpuOptions, Options

        cpu = CpuOptions(num_threads=threads or 0, xnnpack_weight_cache_path=str(cache))
        self._model = CompiledModel.from_file(str(path), options=Options(cpu_options=cpu))
        (signature,) = self._model.get_signature_list()
        # The output buffers come in the order of this mapping's values.
        details = list(self._model.get_output_tensor_details(signature).values())
        self._probs, self._embedding = _pick([(d["name"], i) for i, d in enumerate(details)], names)
        self._shapes = [tuple(d["shape"]) for d in details]
        self._inputs = self._model.create_input_buffers(0)
        self._outputs = self._model.create_output_buffers(0)

    def _read(self, position: int) -> np.ndarray:
        shape = self._shapes[position]
        return self._outputs[position].read(int(np.prod(shape)), np.float32).reshape(shape)

    def outputs(self, batch: np.ndarray) -> Outputs:
        self._inputs[0].write(np.ascontiguousarray(batch, dtype=np.float32))
        self._model.run_by_index(0, self._inputs, self._outputs)
        return self._read(self._probs), None if self._embedding is None else self._read(self._embedding)

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        return self.outputs(batch)[0]


def build_weight_cache(model_dir: Path, threads: int | None = None) -> Path:
    """Write XNNPACK's weight cache beside model.tflite (run where the function's image is built).

    Checked before it is kept: the model with the cache must answer exactly as without it.
    """
    path, cache = model_dir / TFLITE_FILE, model_dir / WEIGHT_CACHE_FILE
    names = read_metadata(model_dir).extra.get("outputs")
    cache.unlink(missing_ok=True)
    probe = np.random.default_rng(0).random((1, *_input_shape(path)[1:]), dtype=np.float32)
    expected = _Interpreter(path, threads, names).outputs(probe)
    _CompiledModel(path, threads, cache, names)  # XNNPACK packs the weights and writes the cache
    if not cache.is_file() or not _same(_CompiledModel(path, threads, cache, names).outputs(probe), expected):
        cache.unlink(missing_ok=True)
        raise ModelDirError(f"the XNNPACK weight cache for {path} does not reproduce the model's outputs")
    return cache


def _same(a: Outputs, b: Outputs) -> bool:
    return all((x is None and y is None) or (x is not None and y is not None and np.array_equal(x, y))
               for x, y in zip(a, b))


def _input_shape(path: Path) -> tuple[int, ...]:
    from ai_edge_litert.interpreter import Interpreter

    return tuple(Interpreter(model_path=str(path)).get_input_details()[0]["shape"])


class KerasBackend:
    """The same model through Keras/TensorFlow (build stage and MODEL_RUNTIME=keras images)."""

    def __init__(self, path: Path, embedding_layer: str | None = None) -> None:
        self._embedding = False
        if path.is_dir():  # a plain SavedModel (model.build --saved-model): run its serving signature
            import tensorflow as tf

            signature = tf.saved_model.load(str(path)).signatures["serving_default"]
            self._model = lambda batch, training: next(iter(signature(tf.constant(batch)).values()))
            return
        if path.suffix == ".h5":
            import tf_keras as api  # Keras 2 API: legacy HDF5 files

            model = api.models.load_model(path, compile=False)
        else:
            import keras as api

            model = api.saving.load_model(path, compile=False, safe_mode=True)
        if embedding_layer:  # the same two outputs as the LiteRT model
            model = api.Model(model.inputs, [model.outputs[0], model.get_layer(embedding_layer).output])
            self._embedding = True
        self._model = model

    @property
    def serves_embedding(self) -> bool:
        return self._embedding

    def outputs(self, batch: np.ndarray) -> Outputs:
        result = self._model(batch, training=False)
        if self._embedding:
            return np.asarray(result[0]), np.asarray(result[1])
        return np.asarray(result), None

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        return self.outputs(batch)[0]


class Classifier:
    """One typed method does the work: an RGB image in, a Prediction (with its verdict) out."""

    def __init__(self, meta: ModelMetadata, backend: Backend, top_k: int = 3, rules: Rules | None = None) -> None:
        self.meta = meta
        self._backend = backend
        try:
            self.rules: Rules = rules if rules is not None else rules_from_json(meta.extra.get("recognition"))
        except ValueError as exc:
            raise ModelDirError(f"metadata.json: {exc}") from exc
        self._top_k = max(1, min(top_k, len(meta.labels)))
        # The LiteRT interpreter is not thread-safe: threads may share a Classifier, inference takes turns.
        self._lock = threading.Lock()

    @property
    def model_version(self) -> str:
        return self.meta.model_version

    def classify(self, image: Image.Image) -> Prediction:
        batch = to_input(image, self.meta)
        with self._lock:
            if getattr(self._backend, "serves_embedding", False):
                probs, embeddings = self._backend.outputs(batch)  # type: ignore[attr-defined]
            else:  # one output: the plain call (test doubles and the benchmark's timers wrap this one)
                probs, embeddings = self._backend.probabilities(batch), None
        probs = probs[0]
        if probs.shape != (len(self.meta.labels),):
            raise ModelDirError(
                f"model output has shape {probs.shape}, metadata lists {len(self.meta.labels)} labels"
            )
        order = np.argsort(probs)[::-1][: self._top_k]
        top = tuple((self.meta.labels[i], round(float(probs[i]), 6)) for i in order)
        verdict = self.rules.judge(top[0][0], float(probs[order[0]]), None if embeddings is None else embeddings[0])
        distance = None if verdict.distance is None else round(verdict.distance, 4)
        return Prediction(label=top[0][0], confidence=top[0][1], top_k=top, model_version=self.model_version,
                          recognized=verdict.recognized, reason=verdict.reason, embedding_distance=distance,
                          display_label=readable_label(top[0][0], self.meta.extra.get("display_names")))


def load_classifier(
    model_dir: Path, runtime: str = "litert", threads: int | None = None, top_k: int = 3, verify: bool = False
) -> Classifier:
    """Read metadata and load the chosen runtime; errors say which file or setting is wrong."""
    meta = read_metadata(model_dir)
    if runtime == "litert":
        path = model_dir / TFLITE_FILE
        if not path.is_file():
            raise ModelDirError(f"{path} not found")
        if verify and file_sha256(path) != meta.sha256:
            raise ModelDirError(f"{path} does not match the sha256 in metadata.json")
        backend: Backend = LiteRTBackend(path, threads or litert_threads(meta), meta.extra.get("outputs"))
    elif runtime == "keras":
        if not meta.keras_file or not (model_dir / meta.keras_file).exists():
            raise ModelDirError(f"{model_dir} has no Keras model file for MODEL_RUNTIME=keras")
        backend = KerasBackend(model_dir / meta.keras_file, meta.extra.get("recognition", {}).get("embedding_layer"))
    else:
        raise ModelDirError(f"unknown runtime {runtime!r}; choose one of {RUNTIMES}")
    try:
        rules = rules_from_json(meta.extra.get("recognition"), model_dir)
    except ValueError as exc:
        raise ModelDirError(f"{model_dir / 'metadata.json'}: {exc}") from exc
    return Classifier(meta, backend, top_k=top_k, rules=rules)


def litert_threads(meta: ModelMetadata, env: Mapping[str, str] = os.environ) -> int:
    """MODEL_NUM_THREADS if set, else what the build measured as best for this model, else one per vCPU."""
    raw = env.get(THREADS_VARIABLE, "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"{THREADS_VARIABLE} must be a positive integer; got {raw!r}")
        return int(raw)
    measured = meta.extra.get("num_threads")
    if isinstance(measured, int) and measured > 0:
        return measured
    return default_threads()


def default_threads() -> int:
    """Threads for the vCPUs this container actually has (Lambda scales vCPUs with memory)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
