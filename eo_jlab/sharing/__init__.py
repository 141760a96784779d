"""Sharing of files and folders between users of one platform.

``Sharing`` is what the REST handlers use, one object per request and caller:

* ``LocalSharing`` (local.py): ``c.EOJLab.shared_root`` is set and ``share_service_url`` is
  empty; the share store (store.py) runs inside this Jupyter server, in an executor.
* ``HubSharing`` (hub.py): ``c.EOJLab.share_service_url`` is set; a JupyterHub service alone
  writes the store and this server talks to it.

``make_sharing`` picks one from the configuration (``None`` when sharing is off).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field

from ..errors import BadRequest
from ..proxied import file_type
from .store import Caller, ShareLimits, ShareStore

if TYPE_CHECKING:
    from ..app import EOJLab

__all__ = ["Caller", "ShareStore", "Sharing", "content_type", "make_sharing", "sharing_off"]

SHARING_OFF = (
    "Sharing is off: an operator turns it on with c.EOJLab.shared_root or "
    "c.EOJLab.share_service_url."
)
ADMINS_ENV = "EO_JLAB_SHARE_ADMINS"  # comma list of user names that are admins in local mode
QUOTA_ENV = "EO_JLAB_SHARE_QUOTA_BYTES"  # default of c.EOJLab.share_quota_bytes (bytes)


class Sharing(Protocol):
    """The async sharing operations of one caller (see DESIGN.md, REST "Sharing")."""

    async def list(self, scope: str) -> list[dict[str, Any]]: ...

    async def create(self, path: str, recipients: dict, message: str = "") -> dict[str, Any]: ...

    async def get(self, share_id: str) -> dict[str, Any]: ...

    async def new_version(self, share_id: str, message: str = "") -> dict[str, Any]: ...

    async def delete(self, share_id: str) -> None: ...

    async def copy(self, share_id: str, destination: str | None = None) -> str: ...

    async def read_file(self, share_id: str, rel_path: str) -> tuple[bytes | Path, str]: ...


def sharing_off() -> BadRequest:
    return BadRequest(SHARING_OFF)


def content_type(name: str) -> tuple[str, bool]:
    """(safe Content-Type, attachment?) of a shared file by its name (``proxied.file_type``)."""
    served = file_type(name)
    return served.content_type, served.attachment


_stores: dict[str, ShareStore] = {}
_stores_lock = threading.Lock()


def local_store(root: str | Path, limits: ShareLimits | None = None) -> ShareStore:
    """One ShareStore per root in this process (its locks must be shared by all requests);
    ``limits``, when given, are the ones the configuration sets now."""
    key = str(Path(root).expanduser().resolve())
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = ShareStore(Path(key), limits=limits)
            _stores[key] = store
        elif limits is not None:
            store.limits = limits
        return store


def local_caller(user_name: str) -> Caller:
    admins = {a.strip() for a in os.environ.get(ADMINS_ENV, "").split(",") if a.strip()}
    return Caller(name=user_name, admin=user_name in admins)


def make_sharing(config: EOJLab, user_name: str, workspace_root: str | Path) -> Sharing | None:
    """The sharing of ``user_name`` whose workspace is ``workspace_root``; None when off."""
    if config.share_service_url:
        # ---- hub mode: a JupyterHub service writes the store (eo_jlab/sharing/hub.py) ----
        try:
            from . import hub
        except ImportError:
            raise BadRequest("hub sharing is not available in this build") from None
        factory = getattr(hub, "make_hub_sharing", None) or hub.HubSharing
        return factory(config, user_name, Path(workspace_root))
    if config.shared_root:
        from .local import LocalSharing

        store = local_store(config.shared_root, config.share_limits)
        return LocalSharing(store, Path(workspace_root), local_caller(user_name))
    return None


# -- request bodies of the REST routes ---------------------------------------------------------


class Recipients(BaseModel):
    users: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    public: bool = False


class CreateShareRequest(BaseModel):
    path: str
    recipients: Recipients = Field(default_factory=Recipients)
    message: str = ""


class NewVersionRequest(BaseModel):
    message: str = ""
    path: str | None = None  # default: the path the share was made from


class CopyRequest(BaseModel):
    destination: str | None = None
