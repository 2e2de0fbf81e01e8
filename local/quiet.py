"""What the local tools keep off the terminal unless --verbose: the handler's JSON logs, its EMF
metrics (Powertools prints them to stdout) and LiteRT's INFO lines (C++ writes them to descriptor 2)."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator


def configure(verbose: bool) -> None:
    """Before the handler is imported: its logs at ERROR and no metrics, unless verbose."""
    if not verbose:
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow, when MODEL_RUNTIME=keras


@contextlib.contextmanager
def handler_output(verbose: bool) -> Iterator[None]:
    """Around a handler call: what it prints (EMF metrics) is dropped, unless verbose."""
    if verbose:
        yield
        return
    with contextlib.redirect_stdout(io.StringIO()):
        yield


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
