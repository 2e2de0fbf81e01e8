"""A seekable, read-only file over an S3 body that is still arriving, so decoding starts at the first bytes.

A thread pulls the HTTP body into memory while the caller (Pillow) reads; a read for bytes that
have not arrived yet waits for them. read(n) returns exactly what io.BytesIO over the whole body
would, so the decoder sees the same bytes in the same pieces and produces the same pixels.
"""

from __future__ import annotations

import io
import threading
from typing import Any

from botocore.exceptions import BotoCoreError

from handler.errors import ImageRejected, RejectedForNow, TransientError

CHUNK = 64 * 1024  # Pillow asks for 64 KiB at a time (ImageFile.SAFEBLOCK / decodermaxblock)


class StreamedBody:
    """The object's bytes as they arrive; a failed transfer is raised where the bytes are read."""

    def __init__(self, body: Any, size: int | None, max_bytes: int, uri: str) -> None:
        self._body = body
        self._size = size
        self._max_bytes = max_bytes
        self._uri = uri
        self._data = bytearray()
        self._pos = 0
        self._finished = False  # no more bytes will arrive (end of body, failure or close)
        self._failure: Exception | None = None
        self._closed = False
        self._arrived = threading.Condition()
        self._thread = threading.Thread(target=self._download, name="s3-body", daemon=True)
        self._thread.start()

    def __len__(self) -> int:
        """The object's size as S3 declared it (Content-Length); without one, what arrived (waits for it)."""
        if self._size is None:
            self._wait_for(None)
            return len(self._data)
        return self._size

    def _download(self) -> None:
        try:
            while not self._closed:
                chunk = self._body.read(CHUNK)
                if not chunk:
                    break
                with self._arrived:
                    if len(self._data) + len(chunk) > self._max_bytes:  # Content-Length lied (or was absent)
                        self._failure = RejectedForNow(
                            f"object is over {self._max_bytes:,} bytes; the limit is {self._max_bytes:,}"
                        )
                        break
                    self._data += chunk
                    self._arrived.notify_all()
        except Exception as exc:  # noqa: BLE001 - handed to the reading thread and raised there
            self._failure = exc
        finally:
            with self._arrived:
                self._finished = True
                self._arrived.notify_all()
            self._body.close()

    def _wait_for(self, end: int | None) -> None:
        """Block until the body holds `end` bytes (None: all of them) or no more will come."""
        with self._arrived:
            while not self._finished and (end is None or len(self._data) < end):
                self._arrived.wait()
        failure = self._failure
        if failure is not None and (end is None or len(self._data) < end):
            if isinstance(failure, ImageRejected):
                raise failure
            raise _reading_error(failure, self._uri) from failure

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            self._wait_for(None)
            end = len(self._data)
        else:
            end = self._pos + size
            self._wait_for(end)
        with self._arrived:  # the download thread may be growing the buffer
            chunk = bytes(self._data[self._pos : end])
        self._pos += len(chunk)
        return chunk

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            self._wait_for(None)
            offset += len(self._data)
        elif whence == io.SEEK_CUR:
            offset += self._pos
        if offset < 0:
            raise ValueError(f"negative seek position {offset}")
        self._pos = offset
        return offset

    def tell(self) -> int:
        return self._pos

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        """Stop downloading (the thread ends after the chunk in flight); bytes already read stay valid."""
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed


def _reading_error(failure: Exception, uri: str) -> Exception:
    if isinstance(failure, (BotoCoreError, OSError)):
        return TransientError(f"reading {uri} failed mid-stream: {failure}")
    return RuntimeError(f"reading {uri} failed mid-stream: {failure!r}")
