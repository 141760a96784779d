"""Code snippets for a catalogue item or search, per language (python, r, shell) and flavour.

``portable`` snippets use only well-known libraries (pystac / pystac-client / requests; httr +
jsonlite; curl + jq) and never eo_jlab, so a notebook runs on any platform. ``widgets`` (python
only) adds a map of the footprints through ``eo_jlab.widgets.show_items``.

Every value from the item or the request reaches the code through ``quoting`` (the language's
own string escaping), never through comments or code text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..catalogue.base import SearchRequest
from ..errors import BadRequest, NotFound
from .plan import ItemPlan, SearchPlan, item_plan, search_plan

if TYPE_CHECKING:
    from ..app import Services

LANGUAGES = ("python", "r", "shell")
FLAVOURS = ("portable", "widgets")
TARGET_KINDS = ("item", "search")
LATER_KINDS = ("process", "job")

__all__ = ["LANGUAGES", "FLAVOURS", "Snippet", "SnippetRequest", "generate"]


class ItemTarget(BaseModel):
    kind: str
    catalogue: str = Field(min_length=1, max_length=200)
    item: dict[str, Any]

    @field_validator("item")
    @classmethod
    def _item(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(value.get("id"), str) or not value["id"]:
            raise ValueError("the item must have a non-empty string id")
        return value


class SearchTarget(BaseModel):
    kind: str
    catalogue: str = Field(min_length=1, max_length=200)
    request: SearchRequest = Field(default_factory=SearchRequest)


class SnippetRequest(BaseModel):
    """``POST snippets`` (DESIGN.md)."""

    model_config = ConfigDict(extra="forbid")
    target: ItemTarget | SearchTarget
    language: str
    flavour: str = "portable"

    @field_validator("target", mode="before")
    @classmethod
    def _target(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("target must be an object with a 'kind'")
        kind = value.get("kind")
        if kind in LATER_KINDS:
            raise ValueError(f"snippets for {kind} targets are not available yet")
        if kind == "item":
            return ItemTarget.model_validate(value)
        if kind == "search":
            return SearchTarget.model_validate(value)
        raise ValueError(f"target kind must be one of {', '.join(TARGET_KINDS)}, not {kind!r}")

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {value!r}")
        return value

    @field_validator("flavour")
    @classmethod
    def _flavour(cls, value: str) -> str:
        if value not in FLAVOURS:
            raise ValueError(f"flavour must be one of {', '.join(FLAVOURS)}, not {value!r}")
        return value


class Snippet(BaseModel):
    code: str
    language: str
    requires: list[str]


def generate(request: SnippetRequest, services: Services | None = None) -> Snippet:
    """The code for ``request``; search targets need ``services`` (the catalogue's endpoint)."""
    if request.flavour == "widgets" and request.language != "python":
        raise BadRequest(
            "The widgets flavour exists for python only; use the portable flavour for "
            f"{request.language}."
        )
    target = request.target
    plan: ItemPlan | SearchPlan
    if isinstance(target, ItemTarget):
        plan = item_plan(target.item)
    else:
        if services is None:
            raise BadRequest("Search snippets need the catalogue configuration.")
        # The endpoint's configuration only: no adapter is built, nothing is fetched.
        endpoint = next(
            (e for e in services.endpoints.catalogues if e.id == target.catalogue), None
        )
        if endpoint is None:
            raise NotFound(f"No catalogue is configured with the id {target.catalogue!r}.")
        plan = search_plan(endpoint, target.request)
    if request.language == "python":
        from . import python as module
    elif request.language == "r":
        from . import r as module
    else:
        from . import shell as module
    code, requires = module.render(plan, widgets=request.flavour == "widgets")
    return Snippet(code=code, language=request.language, requires=requires)
