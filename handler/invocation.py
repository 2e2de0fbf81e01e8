"""The Lambda handler on one container: API requests go to the resolver; events are parsed, diagnosed, answered."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler.container import Container
from handler.domain import ObjectRef, Outcome
from handler.errors import TransientError
from handler.observability import logger, metrics, safe_traceback, shorten, tracer
from handler.report import report_outcome
from handler.sources.api import FrontDoor, front_door
from handler.sources.dispatch import recognise

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

# Stop starting new records when less than this is left, so nothing is half-written: a fifth of the
# invocation's time, at most 5 s. A 5 s function then starts records for 4 s, a 900 s one for 895 s.
MAX_START_MARGIN_MS = 5_000
START_MARGIN_FRACTION = 0.2


def start_margin_ms(timeout_ms: int) -> int:
    """How much time must be left to start a record: a fraction of the invocation's time, capped."""
    return min(MAX_START_MARGIN_MS, int(timeout_ms * START_MARGIN_FRACTION))


class Handler:
    """`lambda_handler(event, context)` on this container's model and clients."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self._resolvers: dict[FrontDoor, ApiGatewayResolver] = {}
        self.lambda_handler: Callable[[Mapping[str, Any], LambdaContext], dict[str, Any]] = (
            logger.inject_lambda_context(clear_state=True)(
                tracer.capture_lambda_handler(capture_response=False)(
                    metrics.log_metrics(capture_cold_start_metric=True)(self._handle)
                )
            )
        )

    def __call__(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        return self.lambda_handler(event, context)

    def warm(self) -> None:
        """Load the model and create the clients now (Lambda's init has full CPU; the first invocation then
        costs what a warm one does: creating the S3 client alone is ~80 ms)."""
        self.container.diagnoser  # noqa: B018
        self.container.completion_events  # noqa: B018 - the EventBridge client, only when EVENT_BUS_NAME is set

    @property
    def resolver(self) -> ApiGatewayResolver:
        """The REST API's resolver (the default front door)."""
        return self.resolver_for(FrontDoor.REST_API)

    def resolver_for(self, door: FrontDoor) -> ApiGatewayResolver:
        """The door's resolver, built on its first request: its imports (pydantic for validation and OpenAPI,
        ~100 ms) are not paid by containers that only see S3 events. Every door gets the same routes."""
        if door not in self._resolvers:
            from handler.api.routes import make_resolver

            self._resolvers[door] = make_resolver(self.container, door)
        return self._resolvers[door]

    def _handle(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        door = front_door(event)
        if door is not None:
            return dict(self.resolver_for(door).resolve(dict(event), context))
        source = recognise(event)
        parsed = source.parse(event)
        return source.reply(parsed, self.diagnose_each(parsed.refs, context), context)

    def diagnose_each(self, refs: Sequence[ObjectRef], context: LambdaContext) -> list[Outcome | TransientError]:
        """Diagnose every record (a few at a time, see RecordPipeline); a TransientError marks one to retry."""
        if not refs:  # a test event: the pipeline is not needed
            return []
        # The time left now, at the start of the invocation, is the function's Timeout (less init).
        margin = start_margin_ms(_remaining_ms(context))
        futures = self.container.pipeline.start(refs, out_of_time=lambda: _remaining_ms(context) < margin)
        results = [finish(ref, future) for ref, future in zip(refs, futures)]
        if self.container.completion_events is not None:  # after every store; one PutEvents per 10 results
            self.container.completion_events.announce(results)
        return results


def make_handler(container: Container) -> Handler:
    return Handler(container)


def finish(ref: ObjectRef, future: Future[Outcome]) -> Outcome | TransientError:
    """Wait for one record, then log and count it here, on the handler's thread, in record order."""
    fields = {"bucket": ref.bucket, "key": shorten(ref.key), **ref.log_fields}
    try:
        outcome = future.result()
    except TransientError as exc:
        logger.warning("transient failure; this record will be retried", extra={**fields, "error": str(exc)})
        return TransientError(f"{ref.uri}: {exc}")
    except Exception as exc:  # noqa: BLE001 - a bug or an unclassified library error: this record alone is retried
        # Not logger.exception(): the exception's own text may quote the upload's bytes.
        logger.error("unexpected error; this record will be retried",
                     extra={**fields, "exception_name": type(exc).__name__, "exception": safe_traceback(exc)})
        metrics.add_metric(name="RecordErrors", unit=MetricUnit.Count, value=1)
        return TransientError(f"{shorten(ref.uri)}: unexpected {type(exc).__name__}")
    report_outcome(ref, outcome)
    return outcome


def _remaining_ms(context: LambdaContext) -> int:
    get = getattr(context, "get_remaining_time_in_millis", None)
    return int(get()) if callable(get) else 900_000
