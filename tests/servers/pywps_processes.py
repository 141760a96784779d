"""The PyWPS processes the WPS adapter tests run against (imported by the PyWPS server only).

* ``echo`` (sync only): a string literal with allowed values, an integer with an ``ows:Range``
  1..10, an optional float with a default, a repeatable string, a bbox and a GeoJSON complex
  input; answers a JSON summary of what it received, the GeoJSON back and the bbox back (a
  ``BoundingBoxData`` output in the input's CRS).
* ``buffer``: a GeoJSON polygon grown by ``distance`` (its bounding box, widened) as GeoJSON,
  by reference when asked.
* ``slow`` (async-capable): reports progress five times over about 3 s.
* ``fail``: raises with its own message.

This module runs inside the PyWPS venv (.servers/pywps), never in the eo_jlab venv.
"""

from __future__ import annotations

import json
import time

from pywps import (
    BoundingBoxInput,
    BoundingBoxOutput,
    ComplexInput,
    ComplexOutput,
    Format,
    LiteralInput,
    LiteralOutput,
    Process,
)
from pywps.app.exceptions import ProcessError
from pywps.inout.literaltypes import ALLOWEDVALUETYPE, AllowedValue

GEOJSON = Format("application/geo+json", extension=".geojson")
JSON = Format("application/json", extension=".json")
FAIL_MESSAGE = "Deliberate failure: the fail process always stops here"


def _echo(request, response):
    inputs = request.inputs
    area = inputs["area"][0]
    geometry = json.loads(inputs["geometry"][0].data)
    summary = {
        "message": inputs["message"][0].data,
        "count": inputs["count"][0].data,
        "factor": inputs["factor"][0].data,
        "tags": [tag.data for tag in inputs.get("tags", [])],
        "bbox": [float(v) for v in area.data],
        "crs": area.crs,
        "geometry_type": geometry.get("type"),
    }
    response.outputs["summary"].data = json.dumps(summary)
    response.outputs["geometry"].data = json.dumps(geometry)
    response.outputs["area"].crs = area.crs
    response.outputs["area"].data = area.data
    return response


def _coordinates(geometry: dict) -> list[list[float]]:
    if geometry.get("type") == "FeatureCollection":
        return [c for f in geometry["features"] for c in _coordinates(f)]
    if geometry.get("type") == "Feature":
        return _coordinates(geometry["geometry"])
    points: list[list[float]] = []

    def walk(value):
        if value and isinstance(value[0], (int, float)):
            points.append(value)
        else:
            for part in value:
                walk(part)

    walk(geometry["coordinates"])
    return points


def _buffer(request, response):
    geometry = json.loads(request.inputs["polygon"][0].data)
    distance = request.inputs["distance"][0].data
    points = _coordinates(geometry)
    if not points:
        raise ProcessError("The polygon has no coordinates")
    west = min(p[0] for p in points) - distance
    east = max(p[0] for p in points) + distance
    south = min(p[1] for p in points) - distance
    north = max(p[1] for p in points) + distance
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    result = {
        "type": "Feature",
        "properties": {"distance": distance},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    response.outputs["buffered"].data = json.dumps(result)
    return response


def _slow(request, response):
    steps = request.inputs["steps"][0].data
    for step in range(steps):
        response.update_status(f"step {step + 1} of {steps}", int(100 * step / steps))
        time.sleep(3.0 / steps)
    response.outputs["done"].data = f"finished {steps} steps"
    return response


def _fail(request, response):
    raise ProcessError(FAIL_MESSAGE)


def processes() -> list[Process]:
    return [
        Process(
            _echo,
            identifier="echo",
            title="Echo",
            abstract="Answers what it received (every kind of input).",
            version="1.0",
            inputs=[
                LiteralInput(
                    "message",
                    "Message",
                    data_type="string",
                    allowed_values=["hello", "world", "bye"],
                    abstract="One of the allowed words.",
                ),
                LiteralInput(
                    "count",
                    "Count",
                    data_type="integer",
                    allowed_values=[
                        AllowedValue(
                            allowed_type=ALLOWEDVALUETYPE.RANGE, minval=1, maxval=10, spacing=1
                        )
                    ],
                ),
                LiteralInput("factor", "Factor", data_type="float", default=1.5, min_occurs=0),
                LiteralInput("tags", "Tags", data_type="string", min_occurs=0, max_occurs=3),
                BoundingBoxInput(
                    "area",
                    "Area",
                    crss=["urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326"],
                ),
                ComplexInput("geometry", "Geometry", supported_formats=[GEOJSON, JSON]),
            ],
            outputs=[
                LiteralOutput("summary", "Summary", data_type="string"),
                ComplexOutput("geometry", "Geometry", supported_formats=[GEOJSON]),
                BoundingBoxOutput(
                    "area",
                    "Area",
                    crss=["urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326"],
                ),
            ],
            store_supported=False,
            status_supported=False,
        ),
        Process(
            _buffer,
            identifier="buffer",
            title="Buffer",
            abstract="Grows a GeoJSON polygon by a distance (its widened bounding box).",
            version="1.0",
            inputs=[
                ComplexInput("polygon", "Polygon", supported_formats=[GEOJSON]),
                LiteralInput("distance", "Distance", data_type="float", default=0.1, min_occurs=0),
            ],
            outputs=[ComplexOutput("buffered", "Buffered", supported_formats=[GEOJSON])],
            store_supported=True,
            status_supported=True,
        ),
        Process(
            _slow,
            identifier="slow",
            title="Slow",
            abstract="Reports its progress several times over about three seconds.",
            version="1.0",
            inputs=[LiteralInput("steps", "Steps", data_type="integer", default=5, min_occurs=0)],
            outputs=[LiteralOutput("done", "Done", data_type="string")],
            store_supported=True,
            status_supported=True,
        ),
        Process(
            _fail,
            identifier="fail",
            title="Fail",
            abstract="Always fails with its own message.",
            version="1.0",
            inputs=[],
            outputs=[LiteralOutput("never", "Never", data_type="string")],
            store_supported=True,
            status_supported=True,
        ),
    ]
