"""A fault-injecting HTTP proxy on 127.0.0.1, in front of the local S3/DynamoDB (moto's server).

    with FaultProxy("http://127.0.0.1:5000", FaultPlan(error_rate=0.1, seed=7)) as proxy:
        boto3.client("s3", endpoint_url=proxy.endpoint)  # now sees 500/503 SlowDown, throttling, delays

Each request draws from one seeded RNG: answer with an injected error instead of forwarding,
forward and then lose the reply (the write happened, the client sees a 500), forward after a
delay; and every so many requests an outage begins, a spell in which everything fails for
longer than botocore's retries last. Errors have the shapes AWS sends, so botocore classifies and retries them as it would in
AWS. Every request is recorded (method, service, operation, path) so tests can also prove what
was never asked for. Loopback only; upstream must be loopback too.

Simulated S3 (`SIMULATED_S3`): every S3 reply starts ~15 ms after its request arrived and its body
streams at 50-100 MB/s, roughly what a Lambda function sees from S3 in its region; moto on loopback
answers in a millisecond at memory speed, which hides what overlapping download and decode gains.

DynamoDB requests are forwarded one at a time: moto evaluates a ConditionExpression and writes
without a lock, so two concurrent conditional writes could both pass, where DynamoDB applies
writes to one item atomically. Serialising them here gives moto DynamoDB's guarantee.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import unquote, urlsplit

from local.fault_plan import DYNAMODB_ERRORS, S3_ERRORS, SIMULATED_S3, FaultPlan, FaultStats, Seen

PACE_CHUNK = 32 * 1024  # a simulated-S3 body is written in pieces this big, each on time
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
__all__ = ["SIMULATED_S3", "FaultPlan", "FaultProxy", "FaultStats", "Seen"]


class FaultProxy:
    """A threaded HTTP proxy; start with `with`, point clients at `.endpoint`."""

    def __init__(self, upstream: str, plan: FaultPlan | None = None) -> None:
        parts = urlsplit(upstream)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"upstream must be on loopback; got {upstream!r}")
        self.upstream = (parts.hostname, parts.port or 80)
        plan = plan or FaultPlan()  # none: a proxy that only relays
        self.plan = plan
        self.stats = FaultStats()
        self._rng = random.Random(plan.seed)
        self._pace_rng = random.Random(plan.seed)  # its own draws: pacing never shifts the fault sequence
        self._touched = 0
        self._outage_until = 0.0
        self._lock = threading.Lock()
        self.dynamodb_lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def set_plan(self, plan: FaultPlan) -> None:
        """Change the rates mid-run (e.g. calm the proxy down to check the final state)."""
        with self._lock:
            self.plan = plan
            self._rng = random.Random(plan.seed)
            self._pace_rng = random.Random(plan.seed)
            self._touched = 0
            self._outage_until = 0.0

    def decide(self, service: str, operation: str) -> tuple[str, float, int]:
        """(fault, delay seconds, error index) for one request; one lock keeps the draws reproducible."""
        with self._lock:
            plan, rng = self.plan, self._rng
            if service not in plan.services or (plan.operations and operation not in plan.operations):
                return "", 0.0, 0
            draw = rng.random()
            index = rng.randrange(3)
            delay = rng.random() * plan.max_delay_s
            # Outages are timed, not counted: concurrent callers must not share one out.
            self._touched += 1
            now = time.monotonic()
            if plan.outage_every and self._touched % plan.outage_every == 0 and now >= self._outage_until:
                self._outage_until = now + plan.outage_s
            if now < self._outage_until:
                return "outage", 0.0, index
            if draw < plan.error_rate:
                return "error", 0.0, index
            if draw < plan.error_rate + plan.lost_reply_rate:
                return "lost-reply", 0.0, index
            if draw < plan.error_rate + plan.lost_reply_rate + plan.delay_rate:
                return "delay", delay, index
            return "", 0.0, index


    def s3_pace(self, service: str) -> tuple[float, float | None]:
        """(first byte delay s, body rate bytes/s or None) for one reply under the simulated-S3 settings."""
        with self._lock:
            plan = self.plan
            if service != "s3":
                return 0.0, None
            rate = None
            if plan.s3_mb_per_s is not None:
                rate = self._pace_rng.uniform(*plan.s3_mb_per_s) * 1e6
            return plan.s3_first_byte_s, rate


def _dynamo_path(body: bytes) -> str:
    try:
        request = json.loads(body or b"{}")
        key = request.get("Item") or request.get("Key") or {}
        first = next((v.get("S", "") for v in key.values() if isinstance(v, dict)), "")
        return f"/{request.get('TableName', '')}/{first}"
    except (ValueError, AttributeError):
        return "/"


def _handler_class(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

        def log_message(self, format: str, *args: object) -> None:
            return  # quiet: tests read proxy.stats, not stderr

        def do_GET(self) -> None:
            self._relay()

        do_PUT = do_POST = do_HEAD = do_DELETE = do_GET

        def _relay(self) -> None:
            arrived = time.monotonic()
            body = self._read_body()
            target = self.headers.get("X-Amz-Target", "")
            service = "dynamodb" if target.startswith("DynamoDB_") else ("sqs" if target.startswith("AmazonSQS") else "s3")
            operation = target.split(".", 1)[-1] if target else ""
            path = unquote(urlsplit(self.path).path) if service == "s3" else _dynamo_path(body)
            fault, delay, index = proxy.decide(service, operation or self.command)
            upstream = 0
            if fault in ("error", "outage"):
                status = self._send_error(service, index)
            else:
                if delay:
                    time.sleep(delay)
                if service == "dynamodb":
                    with proxy.dynamodb_lock:
                        upstream, headers, payload = self._forward(body)
                else:
                    upstream, headers, payload = self._forward(body)
                if fault == "lost-reply":
                    status = self._send_error(service, index)
                else:
                    status = upstream
                    first_byte, rate = proxy.s3_pace(service)
                    time.sleep(max(0.0, arrived + first_byte - time.monotonic()))
                    self._send(status, headers, payload, rate)
            proxy.stats.record(Seen(self.command, service, operation, path, status, upstream, fault))

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
            connection = http.client.HTTPConnection(*proxy.upstream, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                headers["Content-Length"] = str(len(body))
                headers.pop("Transfer-Encoding", None)
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
                return response.status, kept, payload
            finally:
                connection.close()

        def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes, rate: float | None = None) -> None:
            self.send_response(status)
            has_length = False
            for name, value in headers:
                if name.lower() == "content-length":
                    has_length = True
                    if self.command != "HEAD":
                        value = str(len(payload))
                self.send_header(name, value)
            if not has_length:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if rate is None:
                self.wfile.write(payload)
                return
            started = time.monotonic()
            for offset in range(0, len(payload), PACE_CHUNK):
                end = min(offset + PACE_CHUNK, len(payload))
                # Each piece goes out when its last byte would have arrived at `rate` bytes/s.
                time.sleep(max(0.0, started + end / rate - time.monotonic()))
                self.wfile.write(payload[offset:end])

        def _send_error(self, service: str, index: int) -> int:
            if service == "dynamodb":
                status, code, message = DYNAMODB_ERRORS[index]
                payload = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()
                content_type = "application/x-amz-json-1.0"
            else:
                status, code, message = S3_ERRORS[index]
                payload = (
                    '<?xml version="1.0" encoding="UTF-8"?>\n'
                    f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>FAULT{index}</RequestId></Error>"
                ).encode()
                content_type = "application/xml"
            self._send(status, [("Content-Type", content_type), ("x-amzn-RequestId", f"fault-{index}")], payload)
            return status

    return Handler
