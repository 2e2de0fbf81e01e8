"""MODEL_URI: copy a built model directory from S3 into /tmp once, verify it, and reuse the verified copy."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.client_errors import S3_MISSING, error_code
from handler.errors import ConfigError, ModelUnavailable
from handler.s3_uri import BUCKET_NAME, s3_uri, split_s3_uri
from model.metadata import (
    METADATA_FILE,
    TFLITE_FILE,
    ModelDirError,
    ModelMetadata,
    file_sha256,
    read_metadata,
)


@dataclass(frozen=True)
class ModelUri:
    bucket: str
    prefix: str  # "" or ends with "/"

    @classmethod
    def parse(cls, uri: str) -> ModelUri:
        """`s3://bucket/prefix/` (the trailing slash is optional); the error names MODEL_URI."""
        try:
            bucket, prefix = split_s3_uri(uri)
        except ValueError as exc:
            raise ConfigError(f"MODEL_URI must look like s3://bucket/prefix/; got {uri!r}") from exc
        if not BUCKET_NAME.fullmatch(bucket):
            raise ConfigError(f"MODEL_URI must look like s3://bucket/prefix/; got {uri!r}")
        return cls(bucket=bucket, prefix=prefix if not prefix or prefix.endswith("/") else prefix + "/")

    def key(self, name: str) -> str:
        return self.prefix + name

    def __str__(self) -> str:
        return s3_uri(self.bucket, self.prefix)


def fetch_model_dir(s3: Any, uri: ModelUri, runtime: str, cache_root: Path) -> Path:
    """The verified local copy of the model at `uri`, downloading only what is missing or stale."""
    cache_root.mkdir(parents=True, exist_ok=True)
    staging = cache_root / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        _download(s3, uri, METADATA_FILE, staging / METADATA_FILE)
        meta = _read(staging, uri)
        target = cache_root / meta.model_version
        if _is_verified(target, meta, runtime, staging / METADATA_FILE):
            return target
        _download(s3, uri, TFLITE_FILE, staging / TFLITE_FILE)
        actual = file_sha256(staging / TFLITE_FILE)
        if actual != meta.sha256:
            raise ModelUnavailable(
                f"{uri}{TFLITE_FILE} has sha256 {actual}, but {uri}{METADATA_FILE} says {meta.sha256}: "
                "the upload is incomplete or the files come from different builds"
            )
        if runtime == "keras":
            _download_keras(s3, uri, _keras_name(meta, uri), staging)
        shutil.rmtree(target, ignore_errors=True)  # a stale or half-verified copy
        staging.rename(target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _read(directory: Path, uri: ModelUri) -> ModelMetadata:
    try:
        return read_metadata(directory)
    except ModelDirError as exc:
        raise ModelUnavailable(f"{uri}{METADATA_FILE} is not valid model metadata: {exc}") from exc


def _is_verified(target: Path, meta: ModelMetadata, runtime: str, fresh_metadata: Path) -> bool:
    """A copy left by an earlier init in this /tmp: same metadata, model.tflite still hashes right."""
    try:
        same = (target / METADATA_FILE).read_bytes() == fresh_metadata.read_bytes()
    except FileNotFoundError:
        return False
    if not same or not (target / TFLITE_FILE).is_file() or file_sha256(target / TFLITE_FILE) != meta.sha256:
        return False
    return runtime != "keras" or bool(meta.keras_file and (target / meta.keras_file).exists())


def _keras_name(meta: ModelMetadata, uri: ModelUri) -> str:
    name = meta.keras_file
    if not name or PurePosixPath(name).name != name or name in (".", ".."):
        raise ModelUnavailable(f"{uri}{METADATA_FILE} names no usable keras_file ({name!r}) for MODEL_RUNTIME=keras")
    return name


def _download_keras(s3: Any, uri: ModelUri, name: str, staging: Path) -> None:
    """The Keras copy: one file (model.keras, model.h5) or a SavedModel folder."""
    folder = uri.key(name) + "/"
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=uri.bucket, Prefix=folder)
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    except (ClientError, BotoCoreError) as exc:
        raise ModelUnavailable(f"cannot list {uri}{name}/: {exc}") from exc
    if not keys:
        _download(s3, uri, name, staging / name)
        return
    for key in keys:
        segments = key[len(folder):].split("/")
        if any(segment in ("", ".", "..") for segment in segments):
            continue  # only plain relative paths: "/tmp/x" (a key "name//tmp/x") would be joined as absolute
        relative = PurePosixPath(*segments)
        destination = staging / name / Path(*relative.parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        _download(s3, uri, f"{name}/{relative}", destination)


def _download(s3: Any, uri: ModelUri, name: str, destination: Path) -> None:
    try:
        s3.download_file(uri.bucket, uri.key(name), str(destination))
    except ClientError as exc:
        code = error_code(exc)
        reason = "not found" if code in S3_MISSING | {"NoSuchBucket"} else code or str(exc)
        raise ModelUnavailable(f"cannot fetch {uri}{name}: {reason}") from exc
    except (BotoCoreError, OSError) as exc:
        raise ModelUnavailable(f"cannot fetch {uri}{name}: {exc}") from exc
