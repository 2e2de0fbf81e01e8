"""A STAND-IN for the deployed API and its bucket, for the folder client's tests (not the real stack).

POST /uploads hands out a form posting to /bucket on the same server; GET /diagnoses/{key} answers
404 on its first look (a long-poll that timed out) and the result after; GET /diagnoses pages.
Every request is recorded with its raw path, headers and body, so tests can check signatures.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from multipart import MultipartParser, parse_options_header


@dataclass
class Seen:
    method: str
    path: str  # raw, still percent-encoded, with the query
    headers: dict[str, str]
    body: bytes


@dataclass
class StandInApi:
    url: str = ""
    requests: list[Seen] = field(default_factory=list)
    stored: dict[str, bytes] = field(default_factory=dict)  # key -> the bytes posted to the "bucket"
    looks: dict[str, int] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)  # what GET /diagnoses pages through
    refuse: set[str] = field(default_factory=set)  # file names the "bucket" refuses

    def result_for(self, key: str) -> dict[str, Any]:
        return {"image": f"s3://stand-in/{key}", "status": "ok", "label": "Potato___healthy", "confidence": 0.97,
                "model_version": "stand-in"}


def _handler(api: StandInApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _read(self) -> Seen:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen = Seen(self.command, self.path, dict(self.headers.items()), body)
            api.requests.append(seen)
            return seen

        def do_POST(self) -> None:
            seen = self._read()
            path = urlsplit(self.path).path
            if path == "/uploads":
                asked = json.loads(seen.body)
                key = f"garden-images/uploads/{len(api.stored):04d}-{asked['filename']}"
                self._json(200, {"url": f"{api.url}/bucket", "key": key,
                                 "fields": {"key": key, "Content-Type": asked["content_type"], "policy": "stand-in"}})
            elif path == "/bucket":
                _, options = parse_options_header(self.headers["Content-Type"])
                parts = {p.name: p for p in MultipartParser(io.BytesIO(seen.body), options["boundary"], content_length=len(seen.body))}
                if parts["file"].filename in api.refuse:
                    self._json(403, {"message": "Policy Condition failed"})
                    return
                api.stored[parts["key"].value] = parts["file"].raw
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._json(404, {"message": "no such route in the stand-in"})

        def do_GET(self) -> None:
            self._read()
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            if url.path == "/diagnoses":
                start = int(query.get("next", ["0"])[0])
                size = int(query["limit"][0])
                rest = start + size < len(api.results)
                self._json(200, {"items": api.results[start:start + size], "next": str(start + size) if rest else None})
            elif url.path.startswith("/diagnoses/"):
                key = unquote(url.path.removeprefix("/diagnoses/"))
                api.looks[key] = api.looks.get(key, 0) + 1
                if key in api.stored and api.looks[key] > 1:
                    self._json(200, api.result_for(key))
                else:
                    self._json(404, {"statusCode": 404, "message": f"no diagnosis stored for {key}"})
            else:
                self._json(404, {"message": "no such route in the stand-in"})

    return Handler


@contextmanager
def stand_in_api() -> Iterator[StandInApi]:
    api = StandInApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
