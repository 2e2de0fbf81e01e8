"""Serve the API on 127.0.0.1, the no-Docker equivalent of `sam local start-api`.

    python -m local.api [--port 3000]      (or LOCAL_API_PORT=3001, or make api PORT=3001)

Starts the embedded S3/DynamoDB/SQS (moto server), creates the bucket, table and S3→SQS
notifications as `local.demo` does, uploads a few sample leaves, and turns each HTTP request into
the API Gateway proxy event template.yaml's API would send to `handler.app.lambda_handler`. Objects
uploaded to the local bucket under garden-images/ are diagnosed from their S3 events too.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import errno
import json
import os
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local import quiet
from local.apievents import (
    API_GATEWAY_MAX_BODY,
    LAMBDA_MAX_PAYLOAD,
    Route,
    match_route,
    proxy_event,
    template_api,
)
from local.aws import (
    DEFAULT_BUCKET,
    DEFAULT_TABLE,
    create_resources,
    drain_events,
    moto_server,
    use_local_credentials,
)
from local.context import LocalContext

SAMPLE_PREFIX = "garden-images/samples/"
DEFAULT_PORT = 3000
# A path or method template.yaml does not route: the function answers it (a 404 pointing to / and /docs),
# as a greedy proxy resource would hand it over, instead of API Gateway's bare 403.
UNROUTED = Route("ANY", "/{proxy+}", re.compile(r"^/(?P<proxy>.*)$"))
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class LocalApi:
    url: str
    bucket: str
    endpoint: str


class Gateway:
    """Invokes the handler one request at a time: Powertools keeps the request being resolved in a
    process-wide attribute (BaseRouter.current_event), so two requests at once would read each other's."""

    def __init__(self, handler: Handler, lock: threading.Lock | None = None) -> None:
        self._handler = handler
        self._lock = lock or threading.Lock()
        self.routes, self.binary_types = template_api()

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._handler(event, LocalContext(timeout_s=30.0))


def _request_handler(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class ProxyHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "local-api-gateway"

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in two writes; with Nagle on, the second waits ~40 ms for a delayed ACK.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            self._proxy()

        do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

        def _proxy(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > API_GATEWAY_MAX_BODY:
                self._send(413, {"message": "Request Too Long"})
                return
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            matched = match_route(gateway.routes, self.command, path)
            route, params = matched if matched is not None else (UNROUTED, {"proxy": path.lstrip("/")})
            event = proxy_event(self.command, self.path, list(self.headers.items()), body, route, params,
                                gateway.binary_types, source_ip=self.client_address[0])
            if len(json.dumps(event)) > LAMBDA_MAX_PAYLOAD:
                self._send(413, {"message": f"Request must be smaller than {LAMBDA_MAX_PAYLOAD} bytes for the InvokeFunction operation"})
                return
            try:
                response = gateway.invoke(event)
            except Exception as exc:  # noqa: BLE001 - what API Gateway shows for a failed invocation
                self.log_error("handler raised %s: %s", type(exc).__name__, exc)
                self._send(502, {"message": "Internal server error"})
                return
            self._reply(response)

        def _reply(self, response: dict[str, Any]) -> None:
            raw = response.get("body") or ""
            data = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode("utf-8")
            self.send_response(int(response.get("statusCode", 200)))
            headers = {k: [v] for k, v in (response.get("headers") or {}).items()}
            headers.update(response.get("multiValueHeaders") or {})
            for name, values in headers.items():
                if name.lower() != "content-length":
                    for value in values:
                        self.send_header(name, str(value))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            if os.environ.get("LOCAL_API_QUIET") != "1":
                super().log_message(format, *args)

    return ProxyHandler


@contextmanager
def serve(handler: Handler, host: str = "127.0.0.1", port: int = 0, lock: threading.Lock | None = None) -> Iterator[str]:
    """Serve `handler` behind the local gateway in a background thread; yield the base URL."""
    gateway = Gateway(handler, lock)
    server = ThreadingHTTPServer((host, port), _request_handler(gateway))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="local-api", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def deliver_s3_events(queue_url: str, handler: Handler, lock: threading.Lock | None = None) -> Iterator[None]:
    """Feed the S3 events of uploads to the handler in the background, as the S3 trigger would.

    Without `lock` an event runs beside API requests, as in Lambda, where they are separate containers:
    a GET ?wait=20 long-poll then sees the result it waits for (the model serialises its own calls).
    """
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            for event in drain_events(queue_url, wait_seconds=1):
                with lock or contextlib.nullcontext():
                    handler(event, LocalContext())

    thread = threading.Thread(target=loop, name="s3-events", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


@dataclass(frozen=True)
class RunningApi:
    url: str
    endpoint: str
    bucket: str
    table: str
    samples: list[str]


@contextmanager
def api_stack(host: str = "127.0.0.1", port: int = 0, *, samples: bool = True, verbose: bool = False) -> Iterator[RunningApi]:
    """moto's server with the bucket, table (and its index) and S3 -> queue notifications, the bucket's CORS
    open to the API's origin, the API served, and S3 events delivered: what `make api` runs.

    Sets the process's AWS variables to the local endpoint (and TABLE_NAME, IMAGES_BUCKET, RESULT_SINK
    unless set), as the handler reads them.
    """
    from handler.config import Settings
    from handler.container import build_container
    from handler.invocation import make_handler

    os.environ.setdefault("TABLE_NAME", DEFAULT_TABLE)
    os.environ.setdefault("IMAGES_BUCKET", DEFAULT_BUCKET)
    os.environ.setdefault("RESULT_SINK", "both")
    with ExitStack() as stack:
        endpoint = stack.enter_context(moto_server())
        use_local_credentials(endpoint)
        local = create_resources(bucket=os.environ["IMAGES_BUCKET"], table=os.environ["TABLE_NAME"])
        os.environ["RESULT_MAC_KEY"] = local.mac_key or ""  # signs results in object metadata, as ResultMacKey does
        container = build_container(Settings.from_env())
        with quiet.native_stderr(verbose):
            container.classifier  # noqa: B018 - the model loads here, where LiteRT's init lines are held back
        # One container (model and clients), two handlers: API requests take turns among themselves; S3
        # events do not wait for them, unless metrics are on (Powertools' metric set is process-wide too).
        api_handler, event_handler = make_handler(container), make_handler(container)
        api_call = api_handler.lambda_handler if verbose else _without_output(api_handler.lambda_handler)
        event_call = event_handler.lambda_handler if verbose else _without_output(event_handler.lambda_handler)
        api_lock = threading.Lock()
        stack.enter_context(deliver_s3_events(local.queue_url or "", event_call, api_lock if verbose else None))
        url = stack.enter_context(serve(api_call, host, port, api_lock))
        allow_browser_posts(local.bucket, url)
        keys = seed_samples(local.bucket) if samples else []
        yield RunningApi(url=url, endpoint=endpoint, bucket=local.bucket, table=local.table, samples=keys)


def allow_browser_posts(bucket: str, origin: str) -> None:
    """The bucket's CORS rule as template.yaml writes it, for the page's origin: its presigned POSTs and thumbnails."""
    import boto3

    boto3.client("s3").put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{
        "ID": "presigned-post-uploads", "AllowedMethods": ["POST"], "AllowedOrigins": [origin],
        "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag", "Location"], "MaxAgeSeconds": 3000,
    }]})


def seed_samples(bucket: str) -> list[str]:
    """Upload one photo per label of the served model (local/samples.py); their S3 events get them diagnosed."""
    import boto3

    from local.samples import sample_photos, served_labels

    s3 = boto3.client("s3")
    keys = []
    for label, body in sample_photos(served_labels()):
        # the synthetic model's keep their short names (rust.jpg); real labels repeat a condition across crops
        name = label.split("_", 1)[1] if label.startswith("Synthleaf_") else label.replace(" ", "_")
        key = f"{SAMPLE_PREFIX}{name}.jpg"
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="image/jpeg")
        keys.append(key)
    return keys


class PortTaken(Exception):
    """The port the API should listen on is in use."""


def check_port(host: str, port: int) -> None:
    """PortTaken, saying how to choose another, when host:port cannot be bound (before anything starts)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise PortTaken(
                f"port {port} on {host} is already in use (another `make api`, or another server).\n"
                f"Choose another: make api PORT={port + 1}, python -m local.api --port {port + 1}, "
                f"or LOCAL_API_PORT={port + 1}; --port 0 picks a free one."
            ) from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCAL_API_PORT") or DEFAULT_PORT),
                        help=f"default $LOCAL_API_PORT or {DEFAULT_PORT}; 0 picks a free port")
    parser.add_argument("--no-samples", action="store_true", help="do not upload the sample leaves")
    parser.add_argument("--verbose", action="store_true", help="show the handler's JSON logs and metrics")
    args = parser.parse_args(argv)
    try:
        check_port(args.host, args.port)
    except PortTaken as exc:
        print(exc, file=sys.stderr)
        return 2
    if not args.verbose:
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    quiet.configure(args.verbose)
    with api_stack(args.host, args.port, samples=not args.no_samples, verbose=args.verbose) as running:
        print(f"local S3/DynamoDB (moto server) at {running.endpoint}; bucket {running.bucket}, table {running.table}")
        print(f"API at {running.url}  (results page: {running.url}/, docs: {running.url}/docs, OpenAPI: {running.url}/openapi.json)")
        for key in running.samples:
            print(f"  sample: {key}")
        print("Ctrl-C to stop", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopping")
    return 0


def _without_output(handler: Callable[..., Any]) -> Callable[..., Any]:
    """The handler with what it prints (EMF metrics) dropped: the terminal is the person's."""

    def call(*args: Any) -> Any:
        with quiet.handler_output(verbose=False):
            return handler(*args)

    return call


if __name__ == "__main__":
    sys.exit(main())
