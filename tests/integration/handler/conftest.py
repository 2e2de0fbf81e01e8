"""The in-process AWS fixtures of the handler's unit tests, for the handler tests that load TensorFlow."""

from tests.handler.conftest import aws, container  # noqa: F401  (pytest finds fixtures by name here)
