"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

from typing import Any


async def start_sandbox(call: Any, service: str = "sandbox") -> dict[str, Any]:
    """``POST processing/{service}/sandbox/start``, as the Processes section does before it
    lists processes (no GET route starts the sandbox); the sandbox's status, running.
    ``call(*path, method=, body=)`` is a module's REST fixture (status and JSON body first)."""
    status, info, *_ = await call("processing", service, "sandbox", "start", method="POST", body={})
    assert status == 200 and info["running"] is True, info
    return info
