"""Buffer a GeoJSON polygon by a distance in metres and measure its area: an eo_jlab sandbox
example process.

The polygon (longitude/latitude, as GeoJSON: a Polygon or MultiPolygon geometry, a Feature or
a FeatureCollection of them) is projected to a local Lambert azimuthal equal-area projection
centred on it, on a sphere whose radius is the WGS 84 Gaussian radius at the centre (axes
rescaled so that distances are true north-south and east-west at the centre). Areas are then
exact up to the ellipsoid's curvature across the polygon (< 0.1 % for polygons of a few
hundred kilometres) and buffer distances true to about 0.1 % nearby; edges are densified
first, as GeoJSON edges are straight in longitude/latitude. No pyproj needed, only shapely.

A sandbox process file offers its processes as a module-level ``processes`` list (as here) or
as pywps.Process subclasses whose ``__init__`` takes no arguments.
"""

import json
import math

import numpy as np
import shapely
from pywps import FORMATS, ComplexInput, ComplexOutput, LiteralInput, LiteralOutput, Process
from pywps.app.exceptions import ProcessError
from pywps.inout.literaltypes import ALLOWEDVALUETYPE, AllowedValue
from shapely.geometry import mapping, shape

WGS84_A = 6378137.0
WGS84_E2 = 0.00669437999014
MAX_SPAN_DEGREES = 20.0
MESSAGE_CHARS = ".:!?=,;-_/()[]'"


class LocalEqualArea:
    """Lambert azimuthal equal-area around (lon0, lat0), in metres."""

    def __init__(self, lon0, lat0):
        self.lon0, self.lat0 = math.radians(lon0), math.radians(lat0)
        w = 1 - WGS84_E2 * math.sin(self.lat0) ** 2
        meridional = WGS84_A * (1 - WGS84_E2) / w**1.5
        normal = WGS84_A / math.sqrt(w)
        self.radius = math.sqrt(meridional * normal)
        self.sx = math.sqrt(normal / meridional)  # x * sx, y / sx keeps areas, trues distances
        self.sin0, self.cos0 = math.sin(self.lat0), math.cos(self.lat0)

    def forward(self, coords):
        lon, lat = np.radians(coords[:, 0]) - self.lon0, np.radians(coords[:, 1])
        k = np.sqrt(2 / (1 + self.sin0 * np.sin(lat) + self.cos0 * np.cos(lat) * np.cos(lon)))
        x = self.radius * k * np.cos(lat) * np.sin(lon)
        y = self.radius * k * (self.cos0 * np.sin(lat) - self.sin0 * np.cos(lat) * np.cos(lon))
        return np.column_stack([x * self.sx, y / self.sx])

    def inverse(self, coords):
        x, y = coords[:, 0] / self.sx, coords[:, 1] * self.sx
        rho = np.hypot(x, y)
        c = 2 * np.arcsin(np.clip(rho / (2 * self.radius), -1, 1))
        safe = np.where(rho == 0, 1, rho)
        lat = np.arcsin(np.cos(c) * self.sin0 + y * np.sin(c) * self.cos0 / safe)
        lon = self.lon0 + np.arctan2(
            x * np.sin(c), safe * self.cos0 * np.cos(c) - y * self.sin0 * np.sin(c)
        )
        lat = np.where(rho == 0, self.lat0, lat)
        return np.column_stack([np.degrees(lon), np.degrees(lat)])


def polygon_from_geojson(text):
    """A shapely (Multi)Polygon from GeoJSON text, or a ProcessError saying what is wrong."""
    try:
        document = json.loads(text)
    except ValueError:
        raise ProcessError("The polygon is not valid JSON.") from None
    if not isinstance(document, dict):
        raise ProcessError("The polygon must be a GeoJSON object.")
    if document.get("type") == "FeatureCollection":
        geometries = [f.get("geometry") for f in document.get("features") or []]
    elif document.get("type") == "Feature":
        geometries = [document.get("geometry")]
    else:
        geometries = [document]
    shapes = []
    for geometry in geometries:
        try:
            item = shape(geometry)
        except Exception:
            raise ProcessError(
                "The input is not a GeoJSON geometry, Feature or FeatureCollection."
            ) from None
        if item.geom_type not in ("Polygon", "MultiPolygon"):
            raise ProcessError(f"The input must be polygons, not a {item.geom_type}.")
        shapes.append(shapely.make_valid(item))
    if not shapes:
        raise ProcessError("The input holds no polygon.")
    polygon = shapely.union_all(shapes)
    west, south, east, north = polygon.bounds
    if west < -180 or east > 180 or south < -90 or north > 90:
        raise ProcessError(
            "The coordinates must be longitude, latitude in degrees (EPSG:4326).",
            allowed_chars=MESSAGE_CHARS,
        )
    if east - west > MAX_SPAN_DEGREES or north - south > MAX_SPAN_DEGREES:
        raise ProcessError(
            f"This example measures regional polygons: at most {MAX_SPAN_DEGREES:g} degrees "
            "across.",
        )
    return polygon


def buffer_and_area(polygon, buffer_m):
    """The polygon grown by buffer_m metres (lon/lat) and its area in square kilometres."""
    centre = polygon.envelope.centroid
    projection = LocalEqualArea(centre.x, centre.y)
    dense = shapely.segmentize(polygon, 0.005)  # degrees: edges straight in lon/lat
    metric = shapely.transform(dense, projection.forward)
    grown = metric.buffer(buffer_m, quad_segs=16) if buffer_m > 0 else metric
    area_km2 = grown.area / 1e6
    result = shapely.transform(shapely.segmentize(grown, 500.0), projection.inverse)
    return result, area_km2


def _handler(request, response):
    response.update_status("Reading the polygon", 10)
    polygon = polygon_from_geojson(request.inputs["polygon"][0].data)
    buffer_m = float(request.inputs["buffer_m"][0].data) if "buffer_m" in request.inputs else 1000.0
    response.update_status("Buffering in a local equal-area projection", 50)
    result, area_km2 = buffer_and_area(polygon, buffer_m)
    result = shapely.set_precision(result, 1e-7)
    feature = {
        "type": "Feature",
        "properties": {"buffer_m": buffer_m, "area_km2": round(area_km2, 6)},
        "geometry": mapping(result),
    }
    response.outputs["buffered"].data = json.dumps(feature)
    response.outputs["area_km2"].data = round(area_km2, 6)
    return response


processes = [
    Process(
        _handler,
        identifier="area_buffer",
        title="Buffer a polygon and measure its area",
        abstract="Grows a GeoJSON polygon (longitude/latitude) by a distance in metres, in a "
        "local equal-area projection, and answers the buffered polygon as GeoJSON with its "
        "area in square kilometres (accurate to better than 0.1 % for regional polygons).",
        keywords=["buffer", "area", "GeoJSON", "vector", "demo"],
        version="1.0",
        inputs=[
            ComplexInput(
                "polygon",
                "Polygon",
                abstract="A GeoJSON Polygon or MultiPolygon, or a Feature / FeatureCollection "
                "of them, in longitude/latitude; inline or by reference.",
                supported_formats=[FORMATS.GEOJSON, FORMATS.JSON],
            ),
            LiteralInput(
                "buffer_m",
                "Buffer distance (m)",
                data_type="float",
                abstract="Distance to grow the polygon by, in metres (0 keeps it as is).",
                default=1000.0,
                min_occurs=0,
                allowed_values=[
                    AllowedValue(allowed_type=ALLOWEDVALUETYPE.RANGE, minval=0, maxval=100000)
                ],
            ),
        ],
        outputs=[
            ComplexOutput(
                "buffered",
                "Buffered polygon",
                abstract="A GeoJSON Feature: the buffered polygon, its buffer_m and area_km2.",
                supported_formats=[FORMATS.GEOJSON],
            ),
            LiteralOutput("area_km2", "Area (km2)", data_type="float"),
        ],
        store_supported=True,
        status_supported=True,
    )
]
