"""Notebook-side helpers on ipywidgets / ipyleaflet (imported lazily: the server never needs them).

    from eo_jlab.widgets import show_items
    show_items(items)   # a map of the footprints, with title / date / cloud cover on hover

``items`` may be contract Items (dicts, as the eo-jlab search returns them), STAC Items as
dicts, pystac Items, a pystac / pystac-client ItemCollection (or an ItemSearch), a GeoJSON
FeatureCollection, or a list mixing any of these.

    from eo_jlab.widgets import JobProgress
    JobProgress(job_id)  # an eo-jlab job's status, progress, message, elapsed time, results

``JobProgress`` reads the job store the Jupyter server writes (SQLite, read-only) from a
background thread, about once a second, until the job ends.
"""

from __future__ import annotations

import html
import json
import math
import sqlite3
import threading
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["JobProgress", "features_of", "job_store_path", "show_items"]


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


# --- jobs -----------------------------------------------------------------------------------

FINAL_STATUSES = ("successful", "failed", "dismissed")
_BAR_STYLES = {"successful": "success", "failed": "danger", "dismissed": "warning"}
_SELECT_JOB = (
    "SELECT id, service, process, status, progress, message, created, updated, finished,"
    " results, error FROM jobs WHERE id = ?"
)


def job_store_path() -> Path:
    """Where the Jupyter server keeps its jobs (``<Jupyter data dir>/eo_jlab/jobs.sqlite``)."""
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "eo_jlab" / "jobs.sqlite"


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _result_html(result: dict[str, Any]) -> str:
    """One result as HTML: every text escaped (results are untrusted), links only for http(s)."""
    name = html.escape(str(result.get("id", "")))
    href = result.get("href")
    if isinstance(href, str) and href:
        text = html.escape(href)
        if href.lower().startswith(("http://", "https://")):
            link = html.escape(href, quote=True)
            shown = f'<a href="{link}" target="_blank" rel="noopener noreferrer">{text}</a>'
        else:
            shown = text
    else:
        value = result.get("value")
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if len(text) > 2000:
            text = text[:2000] + "…"
        shown = f"<code>{html.escape(text)}</code>"
    kind = result.get("mime_type")
    suffix = f" <small>({html.escape(str(kind))})</small>" if kind else ""
    return f"<li><b>{name}</b>: {shown}{suffix}</li>"


class JobProgress:
    """A live view of one eo-jlab job: status, progress bar, message, elapsed time, and its
    results (links and values) once it ends.

    The job store (``store``, default ``job_store_path()``) is opened read-only for each look,
    from a daemon thread every ``interval`` seconds, which stops once the job is final (or
    gone); the kernel is never blocked. Display the object (last expression of a cell) or its
    ``widget``. ``status``, ``progress``, ``message``, ``results`` and ``job`` (the last record
    read, a dict) follow the store; ``wait()`` blocks until the job ends.
    """

    def __init__(
        self,
        job_id: str,
        *,
        store: str | Path | None = None,
        interval: float = 1.0,
        start: bool = True,
    ):
        import ipywidgets

        self.job_id = str(job_id)
        self.store = Path(store) if store is not None else job_store_path()
        self.interval = interval
        self.job: dict[str, Any] | None = None
        self.problem: str | None = None  # why the job cannot be followed (no store, no job)
        self.title = ipywidgets.HTML()
        self.bar = ipywidgets.IntProgress(min=0, max=100, value=0, description="")
        self.state = ipywidgets.HTML()
        self.elapsed = ipywidgets.Label()
        self.output = ipywidgets.HTML()
        self.widget = ipywidgets.VBox(
            [self.title, ipywidgets.HBox([self.bar, self.state]), self.elapsed, self.output]
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()
        if start and not self.done:
            self._thread = threading.Thread(
                target=self._poll, name=f"eo-jlab job {self.job_id}", daemon=True
            )
            self._thread.start()

    # --- what the store says ---------------------------------------------------------------

    @property
    def status(self) -> str | None:
        return self.job["status"] if self.job else None

    @property
    def progress(self) -> int | None:
        return self.job["progress"] if self.job else None

    @property
    def message(self) -> str:
        return (self.job or {}).get("message") or ""

    @property
    def results(self) -> list[dict[str, Any]]:
        return (self.job or {}).get("results") or []

    @property
    def done(self) -> bool:
        """True once the job is final, or cannot be followed (``problem`` says why)."""
        return self.problem is not None or self.status in FINAL_STATUSES

    @property
    def polling(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _read(self) -> dict[str, Any] | None:
        if not self.store.is_file():
            self.problem = f"There is no eo-jlab job store at {self.store}."
            return None
        uri = self.store.resolve().as_uri() + "?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=5)) as db:
            db.row_factory = sqlite3.Row
            row = db.execute(_SELECT_JOB, (self.job_id,)).fetchone()
        if row is None:
            self.problem = f"There is no job {self.job_id!r} in eo-jlab's job store."
            return None
        job = dict(row)
        try:
            job["results"] = json.loads(job["results"] or "[]")
        except ValueError:
            job["results"] = []
        return job

    def refresh(self) -> dict[str, Any] | None:
        """Read the job once and update the widgets; returns the record (None if unreadable)."""
        try:
            job = self._read()
        except sqlite3.Error:  # busy or being created: the next look will tell
            return self.job
        if job is not None:
            self.job = job
        self._show()
        return job

    # --- showing ---------------------------------------------------------------------------

    def _show(self) -> None:
        job = self.job
        if job is None:
            self.title.value = f"<b>Job</b> {html.escape(self.job_id)}"
            self.state.value = html.escape(self.problem or "reading the job store…")
            self.bar.bar_style = "danger" if self.problem else ""
            return
        self.title.value = (
            f"<b>{html.escape(str(job['process']))}</b> on {html.escape(str(job['service']))}"
            f" <small>(job {html.escape(str(job['id']))})</small>"
        )
        status = str(job["status"])
        final = status in FINAL_STATUSES
        progress = job["progress"]
        self.bar.value = 100 if status == "successful" else max(0, min(100, int(progress or 0)))
        self.bar.bar_style = _BAR_STYLES.get(status, "info")
        self.bar.description = status
        message = job["error"] if status == "failed" and job.get("error") else job["message"]
        percent = f" {progress}%" if progress is not None and not final else ""
        self.state.value = f"<b>{html.escape(status)}</b>{percent} {html.escape(message or '')}"
        start = _instant(job["created"])
        end = _instant(job["finished"]) if final else datetime.now(timezone.utc)
        if start and end:
            self.elapsed.value = f"Elapsed {_duration((end - start).total_seconds())}"
        if final and job["results"]:
            items = "".join(_result_html(r) for r in job["results"] if isinstance(r, dict))
            self.output.value = f"<ul>{items}</ul>"
        elif final:
            self.output.value = "<i>No results.</i>"

    # --- following -------------------------------------------------------------------------

    def _poll(self) -> None:
        while not self._stop.wait(self.interval):
            self.refresh()
            if self.done:
                break

    def stop(self) -> None:
        """Stop following the job (the widgets keep what they show)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (or ``timeout`` seconds); True when it is done."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.done

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<JobProgress {self.job_id} {self.status or self.problem}>"
