"""Records made from a prediction or a rejection, stamped with the time they were made."""

from __future__ import annotations

from datetime import UTC, datetime

from handler.domain import CONDITIONAL, FINAL, DiagnosisRecord
from model.runtime import Prediction


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ok_record(image: str, prediction: Prediction, latency_ms: float, *, etag: str | None = None,
              version_id: str | None = None, sequencer: str | None = None) -> DiagnosisRecord:
    return DiagnosisRecord(
        image=image,
        status="ok",
        label=prediction.label,
        confidence=prediction.confidence,
        top_k=prediction.top_k,
        recognized=prediction.recognized,
        reason=None if prediction.recognized else prediction.reason,
        display_label=prediction.display_label,
        model_version=prediction.model_version,
        diagnosed_at=utc_now(),
        latency_ms=round(latency_ms, 1),
        etag=etag,
        version_id=version_id,
        sequencer=sequencer,
    )


def rejected_record(image: str, error: str, model_version: str, latency_ms: float, *, etag: str | None = None,
                    version_id: str | None = None, sequencer: str | None = None,
                    conditional: bool = False) -> DiagnosisRecord:
    return DiagnosisRecord(
        image=image,
        status="rejected",
        error=error,
        model_version=model_version,
        diagnosed_at=utc_now(),
        latency_ms=round(latency_ms, 1),
        etag=etag,
        version_id=version_id,
        sequencer=sequencer,
        rejection=CONDITIONAL if conditional else FINAL,
    )
