"""The stored result of one diagnosis: what DynamoDB, S3 metadata and the API all show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from model.runtime import Prediction


@dataclass(frozen=True)
class DiagnosisRecord:
    image: str  # s3://<bucket>/<decoded key>: the table's partition key
    status: str  # "ok" | "rejected"
    model_version: str
    diagnosed_at: str
    latency_ms: float
    label: str | None = None
    confidence: float | None = None
    top_k: tuple[tuple[str, float], ...] = ()
    error: str | None = None
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict without empty fields."""
        data: dict[str, Any] = {
            "image": self.image,
            "status": self.status,
            "label": self.label,
            "confidence": self.confidence,
            "top_k": [{"label": label, "confidence": conf} for label, conf in self.top_k],
            "model_version": self.model_version,
            "error": self.error,
            "etag": self.etag,
            "version_id": self.version_id,
            "sequencer": self.sequencer,
            "diagnosed_at": self.diagnosed_at,
            "latency_ms": self.latency_ms,
        }
        return {k: v for k, v in data.items() if v is not None and v != []}


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ok_record(image: str, prediction: Prediction, latency_ms: float, **identity: str | None) -> DiagnosisRecord:
    return DiagnosisRecord(
        image=image,
        status="ok",
        label=prediction.label,
        confidence=prediction.confidence,
        top_k=prediction.top_k,
        model_version=prediction.model_version,
        diagnosed_at=utc_now(),
        latency_ms=round(latency_ms, 1),
        **identity,
    )


def rejected_record(
    image: str, error: str, model_version: str, latency_ms: float, **identity: str | None
) -> DiagnosisRecord:
    return DiagnosisRecord(
        image=image,
        status="rejected",
        error=error,
        model_version=model_version,
        diagnosed_at=utc_now(),
        latency_ms=round(latency_ms, 1),
        **identity,
    )
