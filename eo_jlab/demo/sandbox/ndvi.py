"""NDVI of a small red/near-infrared scene: an eo_jlab sandbox example process.

The scene (toulouse_red_nir.tif, beside this file) is a synthetic Sentinel-2-like two-band
GeoTIFF around Toulouse (1.20..1.70 E, 43.45..43.95 N, 0.002 degree pixels), made by
``python -m eo_jlab.demo.scene``. NDVI = (NIR - red) / (NIR + red).

Inputs: ``bbox`` (optional, CRS84 lon/lat or EPSG:4326 lat/lon) clips the scene and must
intersect it; ``threshold`` (optional, -1..1) hides the pixels below it in the picture and
gives the share of pixels at or above it. Outputs: ``ndvi_png`` (colour map, by reference),
``ndvi_tiff`` (float32 GeoTIFF, by reference), ``extent`` (bounding box of the clipped area,
where a map places the PNG), ``mean_ndvi`` and ``vegetation_fraction``.

A sandbox process file offers its processes as a module-level ``processes`` list or, as here,
as pywps.Process subclasses whose ``__init__`` takes no arguments.
"""

import struct
import zlib
from pathlib import Path

import numpy as np
import tifffile
from pywps import (
    BoundingBoxInput,
    BoundingBoxOutput,
    ComplexOutput,
    Format,
    LiteralInput,
    LiteralOutput,
    Process,
)
from pywps.app.exceptions import ProcessError
from pywps.inout.literaltypes import ALLOWEDVALUETYPE, AllowedValue

SCENE = Path(__file__).with_name("toulouse_red_nir.tif")
CRS84 = "urn:ogc:def:crs:OGC:1.3:CRS84"
EPSG4326 = "urn:ogc:def:crs:EPSG::4326"
# Latitude-first spellings of EPSG:4326 (the plain "EPSG:4326" code is read lon/lat).
LATLON = ("urn:ogc:def:crs:epsg::4326", "http://www.opengis.net/def/crs/epsg/0/4326")
MESSAGE_CHARS = ".:!?=,;-_/()[]'"
# NDVI colour ramp: water blue, bare soil beige, sparse to dense vegetation greens.
STOPS = [-1.0, -0.05, 0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
COLOURS = [
    (40, 70, 160), (70, 110, 190), (190, 170, 130), (215, 200, 120),
    (170, 200, 90), (90, 170, 60), (30, 120, 40), (10, 80, 25),
]  # fmt: skip


def read_scene():
    """The red and NIR bands (reflectance) and the scene's (west, north, pixel size)."""
    with tifffile.TiffFile(SCENE) as tif:
        page = tif.pages[0]
        bands = tif.series[0].asarray().astype("float32") * 0.0001
        scale = page.tags["ModelPixelScaleTag"].value
        tiepoint = page.tags["ModelTiepointTag"].value
    return bands[0], bands[1], (tiepoint[3], tiepoint[4], scale[0])


def clip_window(bbox, origin, shape):
    """Rows and columns of the pixels inside bbox [w, s, e, n], or None when outside."""
    west, north, pixel = origin
    rows, cols = shape
    tolerance = 1e-6  # of a pixel: 1.4 degrees is pixel 100, not 99.99999

    def first(value):
        return int(np.floor(value / pixel + tolerance))

    def last(value):
        return int(np.ceil(value / pixel - tolerance))

    c0, c1 = max(0, first(bbox[0] - west)), min(cols, last(bbox[2] - west))
    r0, r1 = max(0, first(north - bbox[3])), min(rows, last(north - bbox[1]))
    if c0 >= c1 or r0 >= r1:
        return None
    return r0, r1, c0, c1


def colour_png(ndvi, threshold=None):
    """An RGBA PNG of the NDVI (pixels below ``threshold`` transparent), numpy and zlib only."""
    stops = np.array(STOPS)
    colours = np.array(COLOURS, dtype="float32")
    rgb = [np.interp(ndvi, stops, colours[:, i]) for i in range(3)]
    alpha = np.full(ndvi.shape, 255.0)
    if threshold is not None:
        alpha[ndvi < threshold] = 0
    pixels = np.stack([*rgb, alpha], axis=-1).round().astype("uint8")
    height, width = ndvi.shape
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def write_geotiff(path, ndvi, extent, pixel):
    tags = [
        (33550, "d", 3, (pixel, pixel, 0.0), True),
        (33922, "d", 6, (0.0, 0.0, 0.0, extent[0], extent[3], 0.0), True),
        (34735, "H", 20, (1, 1, 0, 4, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326,
                          2054, 0, 1, 9102), True),
    ]  # fmt: skip
    tifffile.imwrite(
        path, ndvi.astype("float32"), compression="zlib", metadata=None, extratags=tags
    )


def lonlat_bbox(box):
    """A BoundingBoxInput as [west, south, east, north] in longitude/latitude."""
    values = [float(v) for v in box.data]
    if (box.crs or CRS84).strip().lower() in LATLON:
        return [values[1], values[0], values[3], values[2]]
    return values


class Ndvi(Process):
    def __init__(self):
        super().__init__(
            self._handler,
            identifier="ndvi",
            title="NDVI of the demo scene",
            abstract="Normalized difference vegetation index, (NIR - red) / (NIR + red), of a "
            "synthetic Sentinel-2-like scene around Toulouse, optionally clipped to a bounding "
            "box. Answers a colour-mapped PNG and a float32 GeoTIFF by reference, the "
            "extent of the clipped area (to place the PNG on a map) and the mean NDVI.",
            keywords=["NDVI", "vegetation", "Sentinel-2", "raster", "demo"],
            version="1.0",
            inputs=[
                BoundingBoxInput(
                    "bbox",
                    "Area of interest",
                    crss=[CRS84, EPSG4326],
                    abstract="Clips the scene (1.20..1.70 E, 43.45..43.95 N); must "
                    "intersect it. Default: the whole scene.",
                    min_occurs=0,
                ),
                LiteralInput(
                    "threshold",
                    "Vegetation threshold",
                    data_type="float",
                    abstract="NDVI from which a pixel counts as vegetation: the picture hides "
                    "the pixels below it. Default: none (every pixel shown).",
                    min_occurs=0,
                    allowed_values=[
                        AllowedValue(allowed_type=ALLOWEDVALUETYPE.RANGE, minval=-1, maxval=1)
                    ],
                ),
            ],
            outputs=[
                ComplexOutput(
                    "ndvi_png",
                    "NDVI picture",
                    abstract="Colour-mapped NDVI (water blue, soil beige, vegetation green).",
                    supported_formats=[Format("image/png", extension=".png")],
                    as_reference=True,
                ),
                ComplexOutput(
                    "ndvi_tiff",
                    "NDVI GeoTIFF",
                    abstract="NDVI values, float32, EPSG:4326.",
                    supported_formats=[Format("image/tiff; subtype=geotiff", extension=".tif")],
                    as_reference=True,
                ),
                BoundingBoxOutput(
                    "extent", "Extent", crss=[CRS84], abstract="Area of the NDVI, lon/lat."
                ),
                LiteralOutput("mean_ndvi", "Mean NDVI", data_type="float"),
                LiteralOutput(
                    "vegetation_fraction",
                    "Vegetation fraction",
                    data_type="float",
                    abstract="Share of the pixels at or above the threshold (0 to 1); without "
                    "a threshold, of the pixels with an NDVI of 0.3 or more.",
                ),
            ],
            store_supported=True,
            status_supported=True,
        )

    def _handler(self, request, response):
        response.update_status("Reading the scene", 10)
        red, nir, origin = read_scene()
        west, north, pixel = origin
        rows, cols = red.shape
        scene = [west, north - rows * pixel, west + cols * pixel, north]
        if "bbox" in request.inputs:
            bbox = lonlat_bbox(request.inputs["bbox"][0])
            window = clip_window(bbox, origin, red.shape)
            if window is None:
                raise ProcessError(
                    f"The bbox {bbox} does not intersect the scene, which covers "
                    f"{[round(v, 3) for v in scene]} (west, south, east, north).",
                    allowed_chars=MESSAGE_CHARS,
                )
        else:
            window = (0, rows, 0, cols)
        threshold = None
        if "threshold" in request.inputs:
            threshold = float(request.inputs["threshold"][0].data)
        r0, r1, c0, c1 = window
        red, nir = red[r0:r1, c0:c1], nir[r0:r1, c0:c1]
        extent = [west + c0 * pixel, north - r1 * pixel, west + c1 * pixel, north - r0 * pixel]

        response.update_status("Computing the NDVI", 40)
        total = nir + red
        ndvi = np.where(total > 0, (nir - red) / np.where(total > 0, total, 1), 0.0)

        response.update_status("Writing the PNG", 60)
        png = Path(self.workdir) / "ndvi.png"
        png.write_bytes(colour_png(ndvi, threshold))
        response.outputs["ndvi_png"].file = str(png)

        response.update_status("Writing the GeoTIFF", 80)
        tiff = Path(self.workdir) / "ndvi.tif"
        write_geotiff(tiff, ndvi, extent, pixel)
        response.outputs["ndvi_tiff"].file = str(tiff)

        response.outputs["extent"].data = [round(v, 6) for v in extent]
        response.outputs["mean_ndvi"].data = round(float(ndvi.mean()), 4)
        cut = 0.3 if threshold is None else threshold
        response.outputs["vegetation_fraction"].data = round(float((ndvi >= cut).mean()), 4)
        return response
