"""The model directory's contract: `metadata.json` beside the model files."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

METADATA_FILE = "metadata.json"
TFLITE_FILE = "model.tflite"
KERAS_FILE = "model.keras"

Preprocess = Literal["inception", "unit", "raw", "caffe", "torch"]
PREPROCESS_MODES: tuple[str, ...] = ("inception", "unit", "raw", "caffe", "torch")
# keras.applications families and the scaling their preprocess_input applies (model/preprocess.py).
PREPROCESS_PRESETS: dict[str, str] = {
    "mobilenet_v2": "inception", "inception_v3": "inception", "xception": "inception",
    "inception_resnet_v2": "inception", "nasnet": "inception",
    "mobilenet_v3": "raw", "efficientnet": "raw", "efficientnet_v2": "raw", "convnext": "raw",  # scale inside
    "resnet": "caffe", "resnet50": "caffe", "vgg16": "caffe", "vgg19": "caffe",
    "densenet": "torch",
}


class ModelDirError(Exception):
    """The model directory is missing, incomplete or inconsistent."""


@dataclass(frozen=True)
class ModelMetadata:
    """What the handler needs to know about a model, read from its directory."""

    labels: tuple[str, ...]
    height: int
    width: int
    preprocess: Preprocess
    sha256: str
    name: str = "model"
    source_format: str = "keras"
    keras_file: str | None = KERAS_FILE
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def model_version(self) -> str:
        """Short content hash of model.tflite: changes whenever the weights do."""
        return self.sha256[:16]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["labels"] = list(self.labels)
        data["model_version"] = self.model_version
        extra = data.pop("extra")
        return {**extra, **data}


def label_key(name: str) -> str:
    """`Potato___Early_blight` and `Potato_Early blight` both become `potato early blight`."""
    return re.sub(r"[\s_]+", " ", name).strip().casefold()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_metadata(model_dir: Path) -> ModelMetadata:
    """Read and validate `metadata.json`; errors name the file and the bad field."""
    path = model_dir / METADATA_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelDirError(f"{path} not found: MODEL_DIR must hold a built model") from exc
    except json.JSONDecodeError as exc:
        raise ModelDirError(f"{path} is not valid JSON: {exc}") from exc
    try:
        labels = tuple(str(label) for label in raw["labels"])
        meta = ModelMetadata(
            labels=labels,
            height=int(raw["height"]),
            width=int(raw["width"]),
            preprocess=raw["preprocess"],
            sha256=str(raw["sha256"]),
            name=str(raw.get("name", "model")),
            source_format=str(raw.get("source_format", "keras")),
            keras_file=raw.get("keras_file"),
            extra={k: v for k, v in raw.items() if k not in _KNOWN},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelDirError(f"{path} is missing or has a bad field: {exc!r}") from exc
    if meta.preprocess not in PREPROCESS_MODES:
        raise ModelDirError(f"{path}: preprocess must be one of {PREPROCESS_MODES}, got {meta.preprocess!r}")
    if not labels:
        raise ModelDirError(f"{path}: labels is empty")
    return meta


def write_metadata(model_dir: Path, meta: ModelMetadata) -> Path:
    path = model_dir / METADATA_FILE
    path.write_text(json.dumps(meta.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


_KNOWN = {"labels", "height", "width", "preprocess", "sha256", "name", "source_format", "keras_file", "model_version"}
