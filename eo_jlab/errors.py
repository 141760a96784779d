"""Domain errors of eo_jlab, each carrying the HTTP status the REST contract gives it.

Services raise these; handlers turn them into ``{"error": ..., "details": ...}`` bodies.
The message is a short sentence meant for the person using JupyterLab: it never holds
a stack trace, a secret, or more than an excerpt of what an upstream service sent.
"""

from __future__ import annotations

from typing import Any


class EOJLabError(Exception):
    """Base class: ``status`` is the HTTP status of the contract."""

    status = 500

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_json(self) -> dict[str, Any]:
        return {"error": self.message, "details": self.details}


class BadRequest(EOJLabError):
    status = 400


class Forbidden(EOJLabError):
    status = 403


class NotFound(EOJLabError):
    status = 404


class Conflict(EOJLabError):
    status = 409


class UpstreamError(EOJLabError):
    """The upstream service could not be reached or answered badly."""

    status = 502


class UpstreamTimeout(EOJLabError):
    status = 504
