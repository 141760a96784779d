"""NDVI of a small red/near-infrared scene: an eo_jlab sandbox example process.

The scene (toulouse_red_nir.tif, beside this file) is a synthetic Sentinel-2-like two-band
GeoTIFF around Toulouse (1.20..1.70 E, 43.45..43.95 N, 0.002 degree pixels), made by
``python -m eo_jlab.demo.scene``. NDVI = (NIR - red) / (NIR + red).

Inputs: ``item`` (optional) replaces the scene by a STAC item, e.g. one of the demo
catalogue's Sentinel-2 items: its absolute path, ``file:`` URL or http(s) URL. Its red (asset
``B04``, or the asset whose ``eo:bands`` common name is ``red``) and near-infrared (``B08`` or
``nir``) rasters are read with rasterio, scaled by their ``raster:bands`` scale and offset,
reprojected to EPSG:4326 (bilinear, pixels of the item's resolution / 111,320 degrees), and
the pixels its ``SCL`` asset (when it has one) classes as no data, defective, cloud shadow,
cloud or cirrus (0, 1, 3, 8, 9, 10) are left out: transparent in the PNG, NaN in the GeoTIFF,
not counted in the mean and fraction. ``bbox`` (optional, CRS84 lon/lat or EPSG:4326
lat/lon) clips the scene and must intersect it; ``threshold`` (optional, -1..1) hides the
pixels below it in the picture and gives the share of pixels at or above it. Outputs:
``ndvi_png`` (colour map, by reference), ``ndvi_tiff`` (float32 GeoTIFF, by reference),
``extent`` (bounding box of the clipped area, where a map places the PNG), ``mean_ndvi`` and
``vegetation_fraction``.

A sandbox process file offers its processes as a module-level ``processes`` list or, as here,
as pywps.Process subclasses whose ``__init__`` takes no arguments.
"""

import json
import struct
import urllib.parse
import urllib.request
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
# Scene classes (Sentinel-2 SCL) left out of an item's NDVI: no data, defective, cloud shadow,
# cloud (medium, high probability), cirrus.
NOT_CLEAR = (0, 1, 3, 8, 9, 10)
ITEM_TIMEOUT = 30  # seconds, for an item and its rasters over HTTP
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


def _item_error(href, why):
    return ProcessError(f"The item {href} {why}.", allowed_chars=MESSAGE_CHARS)


def load_item(href):
    """The STAC item at an absolute path, file: URL or http(s) URL, and the base of its hrefs."""
    scheme = urllib.parse.urlsplit(href).scheme.lower()
    try:
        if scheme in ("http", "https"):
            with urllib.request.urlopen(href, timeout=ITEM_TIMEOUT) as answer:  # noqa: S310
                item = json.loads(answer.read(10_000_000))
            base = href
        else:
            path = (
                Path(urllib.request.url2pathname(urllib.parse.urlsplit(href).path))
                if (scheme == "file")
                else Path(href)
            )
            if not path.is_absolute():
                raise _item_error(href, "is not an absolute path or a URL")
            with path.open("rb") as handle:  # at most 10 MB read, as for a URL
                item = json.loads(handle.read(10_000_000))
            base = str(path)
    except ProcessError:
        raise
    except (OSError, ValueError) as error:
        kind = "cannot be read" if isinstance(error, OSError) else "is not JSON"
        raise _item_error(href, kind) from None
    if (
        not isinstance(item, dict)
        or item.get("type") != "Feature"
        or not isinstance(item.get("assets"), dict)
    ):
        raise _item_error(href, "is not a STAC item with assets")
    return item, base


def _asset(item, href, key, common_name):
    """The asset ``key`` or the one whose eo:bands common name is ``common_name``."""
    assets = item["assets"]
    found = assets.get(key)
    if not isinstance(found, dict):
        found = next(
            (
                a
                for a in assets.values()
                if isinstance(a, dict)
                and any(
                    isinstance(b, dict) and b.get("common_name") == common_name
                    for b in a.get("eo:bands") or []
                )
            ),
            None,
        )
    if not isinstance(found, dict) or not isinstance(found.get("href"), str):
        raise _item_error(href, f"has no {key} ({common_name}) asset")
    return found


def _resolve(base, href):
    if urllib.parse.urlsplit(base).scheme.lower() in ("http", "https"):
        return urllib.parse.urljoin(base, href)
    if urllib.parse.urlsplit(href).scheme.lower() in ("http", "https"):
        return href
    if href.startswith("file:"):
        href = urllib.request.url2pathname(urllib.parse.urlsplit(href).path)
    return str((Path(base).parent / href).resolve())


def read_item(href):
    """An item's red and NIR reflectance on an EPSG:4326 grid (NaN where not clear), and the
    grid's (west, north, pixel size)."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.warp import Resampling, reproject, transform_bounds

    item, base = load_item(href)
    red_asset, nir_asset = _asset(item, href, "B04", "red"), _asset(item, href, "B08", "nir")
    scl_asset = item["assets"].get("SCL")
    env = {"GDAL_HTTP_TIMEOUT": str(ITEM_TIMEOUT), "GDAL_HTTP_CONNECTTIMEOUT": "10"}
    try:
        with rasterio.Env(**env):
            with rasterio.open(_resolve(base, red_asset["href"])) as src:
                west, south, east, north = transform_bounds(
                    src.crs, "EPSG:4326", *src.bounds, densify_pts=21
                )
                pixel = min(abs(src.res[0]), abs(src.res[1]))
            pixel = pixel / 111320 if src.crs.is_projected else pixel
            cols = int(np.ceil((east - west) / pixel))
            rows = int(np.ceil((north - south) / pixel))
            grid = from_origin(west, north, pixel, pixel)

            def band(asset, resampling, nodata):
                out = np.full((rows, cols), nodata, dtype="float32")
                with rasterio.open(_resolve(base, asset["href"])) as src:
                    reproject(
                        rasterio.band(src, 1),
                        out,
                        dst_transform=grid,
                        dst_crs="EPSG:4326",
                        dst_nodata=nodata,
                        resampling=resampling,
                    )
                info = (asset.get("raster:bands") or [{}])[0]
                info = info if isinstance(info, dict) else {}
                return out * float(info.get("scale", 1)) + float(info.get("offset", 0))

            red = band(red_asset, Resampling.bilinear, np.nan)
            nir = band(nir_asset, Resampling.bilinear, np.nan)
            if isinstance(scl_asset, dict) and isinstance(scl_asset.get("href"), str):
                scl = band({"href": scl_asset["href"]}, Resampling.nearest, 0)
                cloudy = np.isin(scl, NOT_CLEAR)
                red[cloudy], nir[cloudy] = np.nan, np.nan
    except rasterio.errors.RasterioError as error:
        raise _item_error(href, f"has a raster that cannot be read ({error})") from None
    return red, nir, (west, north, pixel)


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
    """An RGBA PNG of the NDVI (pixels below ``threshold`` or NaN transparent), numpy and zlib
    only."""
    stops = np.array(STOPS)
    colours = np.array(COLOURS, dtype="float32")
    known = np.isfinite(ndvi)
    rgb = [np.interp(np.where(known, ndvi, 0), stops, colours[:, i]) for i in range(3)]
    alpha = np.where(known, 255.0, 0.0)
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


def write_geotiff(path, ndvi, extent, pixel, nodata=False):
    tags = [
        (33550, "d", 3, (pixel, pixel, 0.0), True),
        (33922, "d", 6, (0.0, 0.0, 0.0, extent[0], extent[3], 0.0), True),
        (34735, "H", 20, (1, 1, 0, 4, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326,
                          2054, 0, 1, 9102), True),
    ] + ([(42113, "s", 0, "nan", True)] if nodata else [])  # fmt: skip
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
            "synthetic Sentinel-2-like scene around Toulouse or of a STAC item's red and "
            "near-infrared rasters, optionally clipped to a bounding box. Answers a "
            "colour-mapped PNG and a float32 GeoTIFF by reference, the "
            "extent of the clipped area (to place the PNG on a map) and the mean NDVI.",
            keywords=["NDVI", "vegetation", "Sentinel-2", "raster", "demo"],
            version="1.0",
            inputs=[
                LiteralInput(
                    "item",
                    "STAC item",
                    data_type="string",
                    abstract="A STAC item with red (B04) and near-infrared (B08) rasters, e.g. "
                    "a Sentinel-2 item of the demo catalogue: its absolute path, file: URL or "
                    "http(s) URL. Clouds and shadows its SCL asset marks are left out. "
                    "Default: the demo scene around Toulouse.",
                    min_occurs=0,
                ),
                BoundingBoxInput(
                    "bbox",
                    "Area of interest",
                    crss=[CRS84, EPSG4326],
                    abstract="Clips the scene (1.20..1.70 E, 43.45..43.95 N) or the item; "
                    "must intersect it. Default: the whole scene or item.",
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
        item = None
        if "item" in request.inputs:
            item = str(request.inputs["item"][0].data).strip() or None  # blank: the scene
        red, nir, origin = read_item(item) if item else read_scene()
        west, north, pixel = origin
        rows, cols = red.shape
        scene = [west, north - rows * pixel, west + cols * pixel, north]
        if "bbox" in request.inputs:
            bbox = lonlat_bbox(request.inputs["bbox"][0])
            window = clip_window(bbox, origin, red.shape)
            if window is None:
                raise ProcessError(
                    f"The bbox {bbox} does not intersect the {'item' if item else 'scene'}, "
                    "which covers "
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
        clear = np.isfinite(total)
        if not clear.any():
            raise ProcessError(
                "The item has no clear pixel in the area (clouds, shadows or no data).",
                allowed_chars=MESSAGE_CHARS,
            )
        ndvi = np.where(clear, ndvi, np.nan).astype("float32")

        response.update_status("Writing the PNG", 60)
        png = Path(self.workdir) / "ndvi.png"
        png.write_bytes(colour_png(ndvi, threshold))
        response.outputs["ndvi_png"].file = str(png)

        response.update_status("Writing the GeoTIFF", 80)
        tiff = Path(self.workdir) / "ndvi.tif"
        write_geotiff(tiff, ndvi, extent, pixel, nodata=item is not None)
        response.outputs["ndvi_tiff"].file = str(tiff)

        response.outputs["extent"].data = [round(v, 6) for v in extent]
        values = ndvi if clear.all() else ndvi[clear]
        response.outputs["mean_ndvi"].data = round(float(values.mean()), 4)
        cut = 0.3 if threshold is None else threshold
        share = float((values >= cut).mean())
        response.outputs["vegetation_fraction"].data = round(share, 4)
        return response
