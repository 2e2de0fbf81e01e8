"""A minimal Lambda Runtime API on 127.0.0.1: hands out queued events, records what comes back."""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"


@dataclass
class Invocation:
    event: dict[str, Any]
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    done: threading.Event = field(default_factory=threading.Event)
    response: Any = None
    error: dict[str, Any] | None = None


class RuntimeAPI:
    """Serve /runtime/invocation/next, /response, /error and /init/error like Lambda's service does."""

    def __init__(self) -> None:
        self.pending: queue.Queue[Invocation] = queue.Queue()
        self.by_id: dict[str, Invocation] = {}
        self.next_calls = 0
        self._next_called = threading.Condition()
        self.init_error: dict[str, Any] | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> RuntimeAPI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def invoke(self, event: dict[str, Any], alive: Callable[[], bool], timeout: float = 60.0) -> Invocation:
        """Queue one event and wait for its answer; fail at once if the runtime process died."""
        invocation = Invocation(event)
        self.by_id[invocation.request_id] = invocation
        self.pending.put(invocation)
        deadline = time.monotonic() + timeout
        while not invocation.done.wait(0.1):
            if not alive():
                raise RuntimeError(f"the runtime process exited; init error: {self.init_error}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer for {invocation.request_id} within {timeout} s")
        return invocation

    def wait_for_next_calls(self, count: int, timeout: float = 30.0) -> bool:
        """Wait until the runtime has asked for `count` events: it finished the ones before and waits for more."""
        with self._next_called:
            return self._next_called.wait_for(lambda: self.next_calls >= count, timeout)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # the runtime client keeps its connection open

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    return self._reply(404, {"errorMessage": "unknown path"})
                with api._next_called:
                    api.next_calls += 1
                    api._next_called.notify_all()
                invocation = api.pending.get()  # long poll, as the real API does
                body = json.dumps(invocation.event).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int((time.time() + 60) * 1000)))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 "arn:aws:lambda:us-east-1:000000000000:function:leaf-diagnosis")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
                # awslambdaric's native client dereferences Content-Type: without it, it segfaults.
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"null")
                parts = self.path.removeprefix(PREFIX).strip("/").split("/")
                if parts == ["init", "error"]:
                    api.init_error = payload
                    return self._reply(202, {})
                if len(parts) == 3 and parts[0] == "invocation" and parts[1] in api.by_id:
                    invocation = api.by_id[parts[1]]
                    if parts[2] == "response":
                        invocation.response = payload
                    else:
                        invocation.error = payload
                    invocation.done.set()
                    return self._reply(202, {})
                return self._reply(404, {"errorMessage": "unknown path"})

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
