"""Keep TensorFlow, absl, XNNPACK and CUDA chatter out of a command's output (unless --verbose).

The environment variables must be set before TensorFlow is imported; the C++ libraries write
straight to file descriptors 1 and 2, so those are pointed at /dev/null while the work runs (Python
warnings from Keras with them); the progress bar writes to a copy of the real stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO

QUIET_ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow's C++ logging: errors only
    "GLOG_minloglevel": "3",
    "ABSL_MIN_LOG_LEVEL": "3",
    "CUDA_VISIBLE_DEVICES": "",  # no GPU probing (and its "could not find cuda drivers" lines)
}


def quiet_environment() -> None:
    """Before TensorFlow's first import: set its logging variables (values already set are kept)."""
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


@contextlib.contextmanager
def native_output_silenced() -> Iterator[TextIO]:
    """fds 1 and 2 go to /dev/null while the block runs; yields a stream on the real stderr (for tqdm)."""
    quiet_environment()
    with contextlib.suppress(ImportError):
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    err = os.fdopen(os.dup(saved_err), "w", buffering=1, encoding="utf-8", errors="replace")
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield err
    finally:
        err.flush()
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        for fd in (saved_out, saved_err, devnull):
            os.close(fd)
        err.close()
