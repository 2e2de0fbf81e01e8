"""One record's metrics and log line, the same whether an event or an API request asked for it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from handler.domain import ObjectRef, Outcome
from handler.observability import logger, metrics, read_denied, shorten
from model.runtime import Prediction

UPLOAD_ORIGIN = "api-upload"  # bytes sent in the request: no S3 object, nothing stored


def report_outcome(ref: ObjectRef, outcome: Outcome) -> None:
    """Count and log what happened to one object: ImagesDiagnosed/Rejected/Skipped and the outcome's own metric."""
    fields = {"bucket": ref.bucket, "key": shorten(ref.key), "status": outcome.status, **ref.log_fields}
    if outcome.metric == "ObjectReadDenied":
        read_denied(ref.bucket, ref.key)
    elif outcome.metric:
        metrics.add_metric(name=outcome.metric, unit=MetricUnit.Count, value=1)
    if outcome.status == "ok" and outcome.record is not None:
        record = outcome.record
        _diagnosed(fields, record.label, record.confidence, record.latency_ms, record.model_version,
                   record.recognized is not False, record.reason)
    elif outcome.status == "rejected":
        metrics.add_metric(name="ImagesRejected", unit=MetricUnit.Count, value=1)
        logger.warning("rejected", extra={**fields, "error": outcome.reason})
    else:
        metrics.add_metric(name="ImagesSkipped", unit=MetricUnit.Count, value=1)
        logger.info("skipped", extra={**fields, "reason": outcome.reason})


def report_upload(prediction: Prediction, latency_ms: float) -> None:
    """Count and log an image diagnosed from the request's own bytes."""
    fields = {"status": "ok", "origin": UPLOAD_ORIGIN}
    _diagnosed(fields, prediction.label, prediction.confidence, latency_ms, prediction.model_version,
               prediction.recognized, prediction.reason)


def _diagnosed(fields: dict[str, Any], label: str | None, confidence: float | None, latency_ms: float,
               model_version: str, recognized: bool = True, reason: str | None = None) -> None:
    metrics.add_metric(name="ImagesDiagnosed", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="DiagnosisLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
    verdict: dict[str, Any] = {"recognized": recognized}
    if not recognized:
        metrics.add_metric(name="ImagesNotRecognised", unit=MetricUnit.Count, value=1)
        verdict["reason"] = reason
    logger.info("diagnosed", extra={**fields, "label": label, "confidence": confidence, **verdict,
                                    "latency_ms": latency_ms, "model_version": model_version})
