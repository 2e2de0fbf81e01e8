"""What the local tools keep off the terminal unless --verbose: the handler's JSON logs, its EMF
metrics (Powertools prints them to stdout) and LiteRT's INFO lines (C++ writes them to descriptor 2)."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import TextIO


def configure(verbose: bool) -> None:
    """Before the handler is imported: its logs at ERROR and no metrics, unless verbose."""
    if not verbose:
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow, when MODEL_RUNTIME=keras


class _MutedThreads(io.TextIOBase):
    """sys.stdout, except for the threads inside handler_output: redirect_stdout swaps sys.stdout for
    every thread at once, so the local API's own lines would vanish while a handler call runs."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self.muted = threading.local()

    def write(self, text: str) -> int:
        return len(text) if getattr(self.muted, "on", False) else self.inner.write(text)

    def flush(self) -> None:
        self.inner.flush()


@contextlib.contextmanager
def handler_output(verbose: bool) -> Iterator[None]:
    """Around a handler call: what it prints in this thread (EMF metrics) is dropped, unless verbose."""
    if verbose:
        yield
        return
    with _LOCK:
        if not isinstance(sys.stdout, _MutedThreads):
            sys.stdout = _MutedThreads(sys.stdout)
        stdout = sys.stdout
    stdout.muted.on = True
    try:
        yield
    finally:
        stdout.muted.on = False


_LOCK = threading.Lock()


@contextlib.contextmanager
def native_stderr(verbose: bool) -> Iterator[None]:
    """Around model loading: what native code writes to descriptor 2 is held back, and shown only if
    the block fails (so a real error still reaches the terminal), unless verbose."""
    if verbose:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode("utf-8", "replace"))
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
