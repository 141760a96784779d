"""Notebook-side helpers on ipywidgets / ipyleaflet (imported lazily: the server never needs them).

    from eo_jlab.widgets import show_items
    show_items(items)   # a map of the footprints, with title / date / cloud cover on hover

``items`` may be contract Items (dicts, as the eo-jlab search returns them), STAC Items as
dicts, pystac Items, a pystac / pystac-client ItemCollection (or an ItemSearch), a GeoJSON
FeatureCollection, or a list mixing any of these.
"""

from __future__ import annotations

import html
import math
from typing import Any

__all__ = ["features_of", "show_items"]


def _feature(obj: Any) -> dict[str, Any]:
    if hasattr(obj, "to_dict") and not isinstance(obj, dict):
        try:  # pystac: do not resolve links (they may point to documents not at hand)
            obj = obj.to_dict(transform_hrefs=False)
        except TypeError:
            obj = obj.to_dict()
    if not isinstance(obj, dict) or obj.get("type") != "Feature":
        raise TypeError(f"not an item or a GeoJSON Feature: {type(obj).__name__}")
    return obj


def features_of(items: Any) -> list[dict[str, Any]]:
    """Every accepted input as a list of GeoJSON Feature dicts (one per item)."""
    if items is None:
        return []
    if hasattr(items, "item_collection") and callable(items.item_collection):  # ItemSearch
        items = items.item_collection()
    if isinstance(items, dict):
        if items.get("type") == "FeatureCollection":
            return [_feature(f) for f in items.get("features") or []]
        return [_feature(items)]
    if hasattr(items, "to_dict") and hasattr(items, "geometry"):  # a pystac Item
        return [_feature(items)]
    out: list[dict[str, Any]] = []
    for entry in items:  # list / ItemCollection / generator
        if isinstance(entry, dict) and entry.get("type") == "FeatureCollection":
            out += features_of(entry)
        else:
            out.append(_feature(entry))
    return out


def _summary(feature: dict[str, Any]) -> dict[str, Any]:
    props = feature.get("properties") or {}
    cloud = props.get("cloud_cover", props.get("eo:cloud_cover"))
    return {
        "id": str(feature.get("id")),
        "title": str(props.get("title") or feature.get("id")),
        "datetime": props.get("datetime") or props.get("start_datetime"),
        "cloud_cover": cloud,
    }


def _bbox2d(bbox: list[float]) -> tuple[float, float, float, float]:
    """[w, s, e, n] of a 2D or 3D GeoJSON bbox."""
    if len(bbox) == 6:
        return bbox[0], bbox[1], bbox[3], bbox[4]
    return bbox[0], bbox[1], bbox[2], bbox[3]


def _bounds(features: list[dict[str, Any]]) -> list[float] | None:
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords: Any) -> None:
        if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
            xs.append(float(coords[0]))
            ys.append(float(coords[1]))
        elif isinstance(coords, (list, tuple)):
            for c in coords:
                walk(c)

    for feature in features:
        geometry = feature.get("geometry") or {}
        walk(geometry.get("coordinates"))
        for g in geometry.get("geometries") or []:
            walk(g.get("coordinates"))
        if not geometry and feature.get("bbox"):
            w, s, e, n = _bbox2d(feature["bbox"])
            walk([[w, s], [e, n]])
    if not xs:
        return None
    return [min(xs), min(ys), max(xs), max(ys)]


def _describe(summary: dict[str, Any]) -> str:
    """HTML for a hover box: every catalogue text escaped (untrusted, shown as text)."""
    rows = [f"<b>{html.escape(summary['title'])}</b>", html.escape(summary["id"])]
    if summary["datetime"]:
        rows.append(f"Date: {html.escape(str(summary['datetime']))}")
    if summary["cloud_cover"] is not None:
        rows.append(f"Cloud cover: {html.escape(str(summary['cloud_cover']))} %")
    return "<br>".join(rows)


def show_items(
    items: Any,
    *,
    basemap: Any = None,
    height: str = "400px",
    style: dict[str, Any] | None = None,
    hover_style: dict[str, Any] | None = None,
):
    """An ipyleaflet ``Map`` with one GeoJSON layer of the items' footprints (one feature per
    item), a hover box with title / date / cloud cover, a popup on click, fitted to the items.
    The map's ``eo_layer`` attribute is that GeoJSON layer."""
    import ipyleaflet
    import ipywidgets

    features = []
    for feature in features_of(items):
        if not feature.get("geometry") and feature.get("bbox"):
            w, s, e, n = (feature["bbox"][i] for i in (0, 1, -2, -1))
            geometry = {
                "type": "Polygon",
                "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]],
            }
        else:
            geometry = feature.get("geometry")
        summary = _summary(feature)
        features.append(
            {"type": "Feature", "id": summary["id"], "geometry": geometry, "properties": summary}
        )
    bounds = _bounds(features)
    kwargs: dict[str, Any] = {"scroll_wheel_zoom": True, "layout": ipywidgets.Layout(height=height)}
    if basemap is not None:
        kwargs["basemap"] = basemap
    if bounds:
        west, south, east, north = bounds
        span = max(east - west, north - south, 1e-6)
        kwargs["center"] = ((south + north) / 2, (west + east) / 2)
        kwargs["zoom"] = max(0, min(18, int(math.log2(360 / span))))
    m = ipyleaflet.Map(**kwargs)
    layer = ipyleaflet.GeoJSON(
        data={"type": "FeatureCollection", "features": features},
        name="footprints",
        style=style or {"color": "#1f6feb", "weight": 2, "fillOpacity": 0.1},
        hover_style=hover_style or {"weight": 4, "fillOpacity": 0.3},
    )
    info = ipywidgets.HTML("Hover over a footprint")
    m.add(layer)
    m.add(ipyleaflet.WidgetControl(widget=info, position="topright"))

    def on_hover(feature=None, **_):
        if feature:
            info.value = _describe(feature.get("properties") or {})

    def on_click(feature=None, **_):
        if not feature:
            return
        props = feature.get("properties") or {}
        bounds_ = _bounds([feature])
        location = (
            ((bounds_[1] + bounds_[3]) / 2, (bounds_[0] + bounds_[2]) / 2) if bounds_ else m.center
        )
        popup = ipyleaflet.Popup(
            location=location, child=ipywidgets.HTML(_describe(props)), close_button=True
        )
        m.add(popup)

    layer.on_hover(on_hover)
    layer.on_click(on_click)
    m.eo_layer = layer
    m.eo_bounds = bounds
    if bounds:
        west, south, east, north = bounds
        try:
            import asyncio

            asyncio.get_running_loop()
            m.fit_bounds([[south, west], [north, east]])
        except RuntimeError:  # no event loop (plain script): center and zoom set above
            pass
    return m
