"""All configuration, read once from the environment and validated at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from handler.errors import ConfigError
from handler.model_download import ModelUri
from model.imaging import MAX_IMAGE_PIXELS

BUNDLED_MODEL_DIR = Path(__file__).resolve().parent.parent / "model" / "leaves"
SINKS = ("dynamodb", "s3-metadata", "both")
RUNTIMES = ("litert", "keras")
MODEL_CACHE_DIR = Path("/tmp/models")  # Lambda's only writable disk


@dataclass(frozen=True)
class Settings:
    image_prefix: str = "garden-images/"
    result_sink: str = "dynamodb"
    table_name: str | None = None
    model_dir: Path = BUNDLED_MODEL_DIR
    model_runtime: str = "litert"
    max_image_bytes: int = 20 * 1024 * 1024
    max_image_pixels: int = MAX_IMAGE_PIXELS
    top_k: int = 3
    images_bucket: str | None = None
    model_uri: ModelUri | None = None  # overrides model_dir: fetched into model_cache_dir at init
    model_cache_dir: Path = MODEL_CACHE_DIR
    max_upload_bytes: int | None = None  # presigned POSTs' ceiling; None: max_image_bytes
    # The KMS HMAC key whose MAC marks a result in object metadata as ours (sink s3-metadata; see result_mac.py).
    result_mac_key: str | None = None
    keep_object_acl: bool = False  # an existing bucket with ACLs: the write-back copies the object's grants
    event_bus_name: str | None = None  # an EventBridge bus for "Diagnosis Stored" events; None sends none

    @property
    def writes_table(self) -> bool:
        return self.result_sink in ("dynamodb", "both")

    @property
    def upload_limit(self) -> int:
        """The largest photo a presigned POST lets S3 take."""
        return self.max_upload_bytes or self.max_image_bytes

    @property
    def writes_metadata(self) -> bool:
        return self.result_sink in ("s3-metadata", "both")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Build settings from the environment; the error names the bad variable."""
        sink = env.get("RESULT_SINK", cls.result_sink).strip().lower()
        if sink not in SINKS:
            raise ConfigError(f"RESULT_SINK must be one of {', '.join(SINKS)}; got {sink!r}")
        runtime = env.get("MODEL_RUNTIME", cls.model_runtime).strip().lower()
        if runtime not in RUNTIMES:
            raise ConfigError(f"MODEL_RUNTIME must be one of {', '.join(RUNTIMES)}; got {runtime!r}")
        table = env.get("TABLE_NAME", "").strip() or None
        if sink in ("dynamodb", "both") and not table:
            raise ConfigError(f"TABLE_NAME is required when RESULT_SINK={sink}")
        prefix = env.get("IMAGE_PREFIX", cls.image_prefix)
        if prefix.startswith("/"):
            raise ConfigError(f"IMAGE_PREFIX must not start with '/'; got {prefix!r}")
        model_dir = Path(env.get("MODEL_DIR", "") or BUNDLED_MODEL_DIR)
        model_uri = env.get("MODEL_URI", "").strip()
        max_image_bytes = _positive_int(env, "MAX_IMAGE_BYTES", cls.max_image_bytes)
        max_upload = _positive_int(env, "MAX_UPLOAD_BYTES", max_image_bytes)
        if max_upload > max_image_bytes:  # S3 must not take what the function then refuses
            raise ConfigError(f"MAX_UPLOAD_BYTES must be at most MAX_IMAGE_BYTES ({max_image_bytes}); got {max_upload}")
        mac_key = env.get("RESULT_MAC_KEY", "").strip() or None
        if sink == "s3-metadata" and not mac_key:
            # Metadata is then the only place results live, and anyone who uploads can write it.
            raise ConfigError("RESULT_MAC_KEY (a KMS HMAC key) is required when RESULT_SINK=s3-metadata")
        acl = env.get("KEEP_OBJECT_ACL", "false").strip().lower()
        if acl not in ("true", "false"):
            raise ConfigError(f"KEEP_OBJECT_ACL must be true or false; got {acl!r}")
        return cls(
            max_upload_bytes=max_upload,
            image_prefix=prefix,
            result_sink=sink,
            table_name=table,
            model_dir=model_dir,
            model_runtime=runtime,
            max_image_bytes=max_image_bytes,
            max_image_pixels=_positive_int(env, "MAX_IMAGE_PIXELS", cls.max_image_pixels),
            top_k=_positive_int(env, "TOP_K", cls.top_k),
            images_bucket=env.get("IMAGES_BUCKET", "").strip() or None,
            model_uri=ModelUri.parse(model_uri) if model_uri else None,
            result_mac_key=mac_key,
            keep_object_acl=acl == "true",
            event_bus_name=env.get("EVENT_BUS_NAME", "").strip() or None,
        )


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a positive integer; got {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be a positive integer; got {raw!r}")
    return value
