"""Pydantic models of the configuration and of the REST contract (../DESIGN.md).

Endpoints are validated once, when the server starts, so a typo in an operator's
configuration is a clear start-up error rather than a 500 on the first search.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CATALOGUE_PROTOCOLS = ("stac", "opensearch", "csw", "static")
PROCESSING_PROTOCOLS = ("wps", "ogcapi", "sandbox")

ENDPOINT_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class BearerAuth(BaseModel):
    """``Authorization: Bearer <token>``; the token is read from an environment variable."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["bearer"]
    token_env: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {_secret(self.token_env)}"}


class BasicAuth(BaseModel):
    """HTTP basic auth; the password (and optionally the user name) come from the environment."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["basic"]
    username: str | None = None
    username_env: str | None = None
    password_env: str

    @model_validator(mode="after")
    def _one_username(self) -> BasicAuth:
        if bool(self.username) == bool(self.username_env):
            raise ValueError("basic auth needs exactly one of 'username' or 'username_env'")
        return self

    def headers(self) -> dict[str, str]:
        import base64

        user = self.username if self.username else _secret(self.username_env or "")
        pair = f"{user}:{_secret(self.password_env)}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def _secret(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        # Imported here: models must stay importable without the server side.
        from .errors import Forbidden

        raise Forbidden(
            f"The credentials for this service are missing: environment variable {name} is not set."
        )
    return value


EndpointAuth = Annotated[BearerAuth | BasicAuth, Field(discriminator="type")]


class Endpoint(BaseModel):
    """A configured catalogue or processing service (``c.EOJLab.catalogues`` / ``processing``)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=ENDPOINT_ID)
    title: str = ""
    protocol: str
    url: str = ""
    auth: EndpointAuth | None = None

    @model_validator(mode="after")
    def _defaults(self) -> Endpoint:
        if not self.title:
            self.title = self.id
        if self.protocol != "sandbox" and not self.url:
            raise ValueError(f"endpoint {self.id!r} needs a 'url'")
        if self.protocol != "static" and self.url and not re.match(r"^https?://", self.url):
            raise ValueError(f"endpoint {self.id!r}: 'url' must start with http:// or https://")
        return self

    @property
    def is_remote(self) -> bool:
        return bool(re.match(r"^https?://", self.url))

    def public(self) -> dict[str, str]:
        """The contract's ``Endpoint``: never the auth block."""
        return {"id": self.id, "title": self.title, "protocol": self.protocol, "url": self.url}


class CatalogueEndpoint(Endpoint):
    @field_validator("protocol")
    @classmethod
    def _protocol(cls, value: str) -> str:
        if value not in CATALOGUE_PROTOCOLS:
            raise ValueError(f"catalogue protocol must be one of {', '.join(CATALOGUE_PROTOCOLS)}")
        return value


class ProcessingEndpoint(Endpoint):
    @field_validator("protocol")
    @classmethod
    def _protocol(cls, value: str) -> str:
        if value not in PROCESSING_PROTOCOLS:
            raise ValueError(
                f"processing protocol must be one of {', '.join(PROCESSING_PROTOCOLS)}"
            )
        return value


class ProbeResult(BaseModel):
    """What ``GET endpoints/{id}/probe`` learns about a configured endpoint."""

    id: str
    ok: bool
    status: int | None = None
    title: str | None = None
    elapsed_ms: float
    detail: str | None = None


def describe_validation_error(exc: Any) -> str:
    """One readable sentence from a pydantic ``ValidationError``."""
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
        msg = err.get("msg", "is invalid").removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)
