"""``LocalSharing``: the share store inside this Jupyter server (``c.EOJLab.shared_root``).

Paths from the browser are API paths relative to the server's root_dir ("notebooks/x.ipynb").
They are confined here: no absolute path, no "..", no hidden component, nothing that resolves
(through links) outside the workspace or into the share store itself. Every store call runs in
an executor: the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

from ..errors import BadRequest, Forbidden
from .store import Caller, ShareStore, clean_relative


class LocalSharing:
    def __init__(self, store: ShareStore, workspace: Path, caller: Caller):
        self.store = store
        self.workspace = Path(workspace).resolve()
        self.caller = caller

    async def _run(self, fn, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))

    def source_path(self, path: str) -> tuple[Path, str]:
        """The resolved, confined file or folder at API path ``path``, and its name."""
        rel = clean_relative(path, "path")
        if any(part.startswith(".") for part in rel.parts):
            raise BadRequest(f"The path {path!r} has a hidden part; hidden files are not shared.")
        resolved = self.workspace.joinpath(*rel.parts).resolve()
        if not resolved.is_relative_to(self.workspace) or resolved == self.workspace:
            raise BadRequest(f"The path {path!r} leads outside your workspace.")
        store_root = self.store.root.resolve()
        if resolved.is_relative_to(store_root) or store_root.is_relative_to(resolved):
            raise BadRequest(f"The path {path!r} holds the share store; it cannot be shared.")
        return resolved, rel.name

    def _destination(self, destination: str | None) -> str | None:
        if destination is None or destination == "":
            return None
        rel = clean_relative(destination, "destination")
        if any(part.startswith(".") for part in rel.parts):
            raise BadRequest(f"The destination {destination!r} has a hidden part.")
        if self.workspace.joinpath(*rel.parts).resolve().is_relative_to(self.store.root.resolve()):
            raise BadRequest(f"The destination {destination!r} is inside the share store.")
        return rel.as_posix()

    async def list(self, scope: str) -> list[dict[str, Any]]:
        return await self._run(self.store.list, self.caller, scope)

    async def create(self, path: str, recipients: dict, message: str = "") -> dict[str, Any]:
        source, name = await self._run(self.source_path, path)
        origin = clean_relative(path).as_posix()
        return await self._run(
            self.store.create, self.caller, source, recipients, message, name, origin=origin
        )

    async def get(self, share_id: str) -> dict[str, Any]:
        return await self._run(self.store.get, self.caller, share_id)

    async def new_version(
        self, share_id: str, message: str = "", path: str | None = None
    ) -> dict[str, Any]:
        """A new version from the owner's current file(s): ``path``, by default the path the
        share was made from."""
        share = await self.get(share_id)
        if share["owner"] != self.caller.name:
            raise Forbidden(f"Only {share['owner']} (the owner) can add a version to this share.")
        source = path or share.get("source")
        if not source:
            raise BadRequest(f"The share {share['name']!r} does not record where it came from.")
        resolved, _ = await self._run(self.source_path, source)
        return await self._run(self.store.new_version, self.caller, share_id, resolved, message)

    async def delete(self, share_id: str) -> None:
        await self._run(self.store.delete, self.caller, share_id)

    async def copy(self, share_id: str, destination: str | None = None) -> str:
        dest = await self._run(self._destination, destination)
        return await self._run(self.store.copy_out, self.caller, share_id, self.workspace, dest)

    async def read_file(self, share_id: str, rel_path: str) -> tuple[Path, str]:
        from . import content_type

        path = await self._run(self.store.file_path, self.caller, share_id, rel_path)
        return path, content_type(path.name)[0]
