"""Completion events: one "Diagnosis Stored" event on EventBridge per stored result, so apps need not poll.

The event is put after the result is stored (the conditional write succeeded), never before, and only
for a stored result: skips and duplicates put none. A put that still fails after the retries is logged
and counted (CompletionEventsFailed); the record is not failed for it, since a retry of the record would
find its result stored and skip it, putting no event either, at the cost of a second read and inference.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from handler.client_errors import error_code
from handler.domain import DiagnosisRecord, Outcome
from handler.observability import logger, metrics, shorten

SOURCE = "leaf-diagnosis"
DETAIL_TYPE = "Diagnosis Stored"  # the role may put only this source and detail type (template.yaml)
MAX_ENTRIES = 10  # PutEvents takes at most 10 entries per call
ATTEMPTS = 3
BACKOFF_S = 0.1  # then 0.2 s: botocore has already retried throttling and 5xx of each call


def stored_records(results: Sequence[object]) -> list[DiagnosisRecord]:
    """The records an invocation stored: outcomes carrying one (ok, rejected); skips carry none."""
    return [r.record for r in results if isinstance(r, Outcome) and r.record is not None and r.status != "skipped"]


def event_entry(bus_name: str, record: DiagnosisRecord) -> dict[str, Any]:
    """The PutEvents entry for one stored result: its detail is the record as stored (no image bytes)."""
    return {"EventBusName": bus_name, "Source": SOURCE, "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(record.as_dict(), ensure_ascii=False)}


class CompletionEvents:
    """Puts completion events onto one bus; failures are logged and counted, never raised."""

    def __init__(self, events: Any, bus_name: str, *, attempts: int = ATTEMPTS, backoff_s: float = BACKOFF_S,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._events = events
        self._bus = bus_name
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._sleep = sleep

    def announce(self, results: Sequence[object]) -> int:
        """Put one event per stored result among `results`; the number that could not be put."""
        entries = [event_entry(self._bus, record) for record in stored_records(results)]
        return sum(self._put(entries[i:i + MAX_ENTRIES]) for i in range(0, len(entries), MAX_ENTRIES))

    def _put(self, entries: list[dict[str, Any]]) -> int:
        pending, error = entries, ""
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(self._backoff_s * 2 ** (attempt - 1))
            try:
                response = self._events.put_events(Entries=pending)
            except ClientError as exc:
                error = error_code(exc) or "ClientError"
                break  # botocore retried what a retry can fix (throttling, 5xx); AccessDenied stays
            except BotoCoreError as exc:
                error = type(exc).__name__
                continue
            # A 200 may still report entries that failed (ThrottlingException, InternalFailure): retry those.
            answers = response.get("Entries") or []
            failed = [(entry, answer) for entry, answer in zip(pending, answers) if answer.get("ErrorCode")]
            if not failed:
                return 0
            pending, error = [entry for entry, _ in failed], str(failed[0][1].get("ErrorCode"))
        for entry in pending:
            image = json.loads(entry["Detail"]).get("image", "")
            logger.warning("completion event not put; the result is stored",
                           extra={"image": shorten(image), "bus": self._bus, "error": shorten(error)})
        metrics.add_metric(name="CompletionEventsFailed", unit=MetricUnit.Count, value=len(pending))
        return len(pending)
