"""What the fault proxy does to requests (FaultPlan), and what it saw (FaultStats); see local.faults."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

S3_ERRORS = (
    (500, "InternalError", "We encountered an internal error. Please try again."),
    (503, "SlowDown", "Please reduce your request rate."),
    (503, "ServiceUnavailable", "Service is unable to handle request."),
)
DYNAMODB_ERRORS = (
    (400, "ProvisionedThroughputExceededException",
     "The level of configured provisioned throughput for the table was exceeded."),
    (400, "ThrottlingException", "Rate of requests exceeds the allowed throughput."),
    (500, "InternalServerError", "Internal server error"),
)


@dataclass(frozen=True)
class FaultPlan:
    """Rates are per request and independent; services limits which ones are touched."""

    error_rate: float = 0.0  # answered with an injected error, never forwarded
    lost_reply_rate: float = 0.0  # forwarded (the change happens), reply replaced by a 500/503
    delay_rate: float = 0.0  # forwarded after a delay of up to max_delay_s
    max_delay_s: float = 0.05
    outage_every: int = 0  # every Nth touched request starts an outage (0: never) ...
    outage_s: float = 1.0  # ... during which every touched request fails: longer than botocore's retries
    seed: int = 7
    services: tuple[str, ...] = ("s3", "dynamodb")
    operations: tuple[str, ...] = ()  # e.g. ("PutItem", "GET"): only these (X-Amz-Target action or HTTP method)
    s3_first_byte_s: float = 0.0  # every S3 reply starts this long after its request arrived ...
    s3_mb_per_s: tuple[float, float] | None = None  # ... and streams at a rate drawn from this range (MB/s)

    def __post_init__(self) -> None:
        if self.outage_every < 0 or not 0.0 <= self.outage_s <= 30.0:
            raise ValueError("outage_every must be >= 0 and outage_s in [0, 30]: outages end")
        for name in ("error_rate", "lost_reply_rate", "delay_rate"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1): a proxy that always fails proves nothing")
        if not 0.0 <= self.max_delay_s <= 30.0:
            raise ValueError("max_delay_s must be in [0, 30]")
        if not 0.0 <= self.s3_first_byte_s <= 5.0:
            raise ValueError("s3_first_byte_s must be in [0, 5]")
        if self.s3_mb_per_s is not None and not 0.0 < self.s3_mb_per_s[0] <= self.s3_mb_per_s[1]:
            raise ValueError("s3_mb_per_s must be (low, high) with 0 < low <= high")


# What a function sees from S3 in its own region: first byte after ~15 ms, then 50-100 MB/s.
SIMULATED_S3 = FaultPlan(s3_first_byte_s=0.015, s3_mb_per_s=(50.0, 100.0), services=())


@dataclass(frozen=True)
class Seen:
    """One request as the proxy saw it, and what it did to it."""

    method: str
    service: str
    operation: str  # DynamoDB's X-Amz-Target action, or "" for S3
    path: str  # URL-decoded /bucket/key for S3; /table/<first key value> for DynamoDB
    status: int  # what the client got
    upstream: int  # what moto answered; 0 when the request was never forwarded
    fault: str  # "", "error", "outage", "lost-reply", "delay"


@dataclass
class FaultStats:
    seen: list[Seen] = field(default_factory=list)
    _recorded: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def count(self, fault: str) -> int:
        return sum(1 for s in self.seen if s.fault == fault)

    def record(self, seen: Seen) -> None:
        with self._recorded:
            self.seen.append(seen)
            self._recorded.notify_all()

    def wait_for(self, done: Callable[[list[Seen]], bool], timeout: float = 30.0) -> bool:
        """Wait until `done(seen)` holds: a request is recorded just after its reply is sent."""
        with self._recorded:
            return self._recorded.wait_for(lambda: done(self.seen), timeout)
