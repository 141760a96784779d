"""Real servers for the tests, started on 127.0.0.1 free ports by fixtures."""

from __future__ import annotations

import socket

import pytest


def free_port() -> int:
    """A loopback port nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fail(message: str) -> None:
    """Stop a fixture with a sentence (never a skip: a missing server is a failure)."""
    pytest.fail(message, pytrace=False)
