"""The demo catalogue's rasters: real cloud-optimised GeoTIFFs read back with rasterio (GDAL
and PROJ, independent of the generator's own UTM code), and the sandbox NDVI process run on
a demo item through the REST API."""

from __future__ import annotations

import io
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.warp import transform, transform_bounds
from shapely.geometry import Point, shape

from eo_jlab.demo import catalogue, rasters, write_sandbox
from eo_jlab.demo.catalogue import S1, S2, write_catalogue
from eo_jlab.demo.scene import EXTENT

from .test_sandbox import _execute, _results, call  # noqa: F401

S2_KEYS = ["B02", "B03", "B04", "B08", "SCL"]
CLOUD = (rasters.SCL_CLOUD_MEDIUM, rasters.SCL_CLOUD_HIGH)


@pytest.fixture(scope="module")
def demo_catalogue(tmp_path_factory) -> Path:
    return write_catalogue(tmp_path_factory.getbasetemp() / "synthetic-catalogue")


@pytest.fixture(scope="module")
def items(demo_catalogue) -> dict[str, list[tuple[Path, dict]]]:
    """Every item as written on disk, by collection: (item file, item)."""
    found: dict[str, list[tuple[Path, dict]]] = {S2: [], S1: []}
    for cid in found:
        for path in sorted((demo_catalogue.parent / cid).glob("*/*.json")):
            found[cid].append((path, json.loads(path.read_text())))
    assert len(found[S2]) == 216 and len(found[S1]) == 90
    return found


def _open(item_file: Path, asset: dict):
    return rasterio.open(item_file.parent / asset["href"])


def _pixel(dataset, lon: float, lat: float):
    """The value at a lon/lat point, located with PROJ (not the generator's projection)."""
    xs, ys = transform("EPSG:4326", dataset.crs, [lon], [lat])
    row, col = dataset.index(xs[0], ys[0])
    assert 0 <= row < dataset.height and 0 <= col < dataset.width, (lon, lat)
    return dataset.read(1, window=((row, row + 1), (col, col + 1)))[0, 0]


def _check_cog(dataset, item: dict, asset: dict) -> None:
    props, band = item["properties"], asset["raster:bands"][0]
    assert dataset.driver == "GTiff"
    assert dataset.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
    assert dataset.profile["tiled"] and dataset.overviews(1), asset["href"]
    assert dataset.crs.to_epsg() == props["proj:epsg"]
    assert list(dataset.transform)[:6] == props["proj:transform"]
    assert [dataset.height, dataset.width] == props["proj:shape"]
    assert dataset.dtypes[0] == band["data_type"] and dataset.nodata == band["nodata"]
    assert "TIFFTAG_DATETIME" not in dataset.tags()


def test_sentinel2_items_carry_cogs_that_match_their_metadata(items):
    for item_file, item in items[S2]:
        assert {rasters.PROJECTION_EXT, rasters.RASTER_EXT} <= set(item["stac_extensions"])
        assert list(item["assets"]) == ["thumbnail", "visual", *S2_KEYS]
        tile = item["properties"]["s2:mgrs_tile"]
        assert item["properties"]["proj:epsg"] == rasters.utm_epsg(tile)
        for key in S2_KEYS:
            asset = item["assets"][key]
            assert asset["type"] == "image/tiff; application=geotiff; profile=cloud-optimized"
            assert asset["roles"] == ["data"]
            if key != "SCL":
                assert asset["eo:bands"][0]["name"] == key
                assert asset["raster:bands"][0]["scale"] == 0.0001
            with _open(item_file, asset) as dataset:
                _check_cog(dataset, item, asset)
    assert {i["properties"]["proj:epsg"] for _, i in items[S2]} == {
        32631,
        32633,
        32737,
        32632,
        32629,
    }


def test_sentinel1_items_carry_vv_and_vh_cogs(items):
    for item_file, item in items[S1]:
        assert list(item["assets"]) == ["thumbnail", "visual", "VV", "VH"]
        for key in ("VV", "VH"):
            asset = item["assets"][key]
            assert asset["raster:bands"][0]["data_type"] == "float32"
            with _open(item_file, asset) as dataset:
                _check_cog(dataset, item, asset)
                values = dataset.read(1)
            assert values.min() > 0 and 0.001 < float(np.median(values)) < 0.3, key
    # Linear backscatter: the lake is dark in VV, cross-polarised VH is weaker than VV.
    item_file, item = items[S1][0]
    grid = catalogue._grids(*_area(item)[1:2], *_area(item)[3:7])[1]
    lon, lat = rasters.landmark(grid, rasters.LAKE)
    with _open(item_file, item["assets"]["VV"]) as vv, _open(item_file, item["assets"]["VH"]) as vh:
        assert _pixel(vv, lon, lat) < 0.02
        assert float(vh.read(1).mean()) < float(vv.read(1).mean())


def _area(item: dict):
    return next(a for a in catalogue.AREAS if a[0] == item["properties"]["area"])


def _is_cut(item: dict) -> bool:
    """A product whose west part has no data (its footprint is narrower than its raster)."""
    props = item["properties"]
    pixel, _, x0, _, _, y0 = props["proj:transform"]
    height, width = props["proj:shape"]
    grid = rasters.Grid(props["proj:epsg"], x0, y0, pixel, width, height, (0, 0))
    return shape(item["geometry"]).area < 0.9 * shape(grid.footprint()[0]).area


def test_footprints_are_the_rasters_extent(items):
    cut = 0
    for item_file, item in [*items[S2], *items[S1]]:
        footprint = shape(item["geometry"])
        key = "B04" if item["collection"] == S2 else "VV"
        with _open(item_file, item["assets"][key]) as dataset:
            bounds = transform_bounds(dataset.crs, "EPSG:4326", *dataset.bounds, densify_pts=100)
            left, bottom, right, top = dataset.bounds
            xs, ys = transform(dataset.crs, "EPSG:4326", [(left + right) / 2], [(top + bottom) / 2])
            assert footprint.contains(Point(xs[0], ys[0])), item["id"]
            # A point just inside each corner of the footprint reads data.
            ring = item["geometry"]["coordinates"][0]
            centre = footprint.centroid
            for lon, lat in ring[::4][:4]:
                inside = (lon + (centre.x - lon) * 0.02, lat + (centre.y - lat) * 0.02)
                assert _pixel(dataset, *inside) != 0, (item["id"], inside)
            west, south, east, north = item["bbox"]
            if _is_cut(item):
                cut += 1
                assert bounds[0] < west - 0.25  # its raster reaches further west: no data there
                assert _pixel(dataset, (bounds[0] + west) / 2, centre.y) == 0
            else:
                # The same box to 3 m (a 200th of a pixel; edges sampled at different points).
                assert item["bbox"] == pytest.approx(list(bounds), abs=3e-5)
    assert cut == 6 * 5  # k % 7 == 3 of 36 products per area


def test_pixels_are_what_the_generator_meant(items):
    clear_lakes = clear_forests = 0
    for item_file, item in items[S2]:
        arrays = {}
        with rasterio.Env():
            for key in S2_KEYS:
                with _open(item_file, item["assets"][key]) as dataset:
                    arrays[key] = dataset.read(1).astype("float32")
                    if key == "SCL":
                        grid = catalogue._grids(*_area(item)[1:2], *_area(item)[3:7])[0]
                        lake = _pixel(dataset, *rasters.landmark(grid, rasters.LAKE))
                        forest = _pixel(dataset, *rasters.landmark(grid, rasters.FOREST))
        scl, red, nir = arrays["SCL"], arrays["B04"], arrays["B08"]
        valid = scl != rasters.SCL_NODATA
        assert ((red > 0) == valid).all() and ((nir > 0) == valid).all()
        # Water: near infrared below red; vegetation: near infrared over twice the red.
        water, vegetation = scl == rasters.SCL_WATER, scl == rasters.SCL_VEGETATION
        assert (nir[water] < red[water]).all()
        assert (nir[vegetation] > 2 * red[vegetation]).all()
        # Clouds: bright in blue; their share of the valid pixels is the item's cloud cover.
        clouds = np.isin(scl, CLOUD)
        assert (arrays["B02"][clouds] > 3000).all()
        cover = 100 * clouds[valid].mean()
        assert cover == pytest.approx(item["properties"]["eo:cloud_cover"], abs=1.0), item["id"]
        # The landmarks, where the sky is clear.
        clear_lakes += lake == rasters.SCL_WATER
        clear_forests += forest == rasters.SCL_VEGETATION
        assert lake in (rasters.SCL_WATER, rasters.SCL_SHADOW, *CLOUD)
        assert forest in (rasters.SCL_VEGETATION, rasters.SCL_SHADOW, *CLOUD)
    assert clear_lakes > 100 and clear_forests > 100


def test_rasters_are_the_same_bytes_every_run(items, tmp_path):
    """Files regenerated now (no cache) are the files the catalogue fixture wrote."""
    cut = next(pair for pair in items[S2] if _is_cut(pair[1]))
    chosen = [items[S2][0], cut, items[S1][0]]
    for item_file, item in chosen:
        area_index = catalogue.AREAS.index(_area(item))
        s2_grid, s1_grid = catalogue._grids(*_area(item)[1:2], *_area(item)[3:7])
        month = int(item["properties"]["datetime"][5:7])
        again = tmp_path / item["id"]
        again.mkdir()
        if item["collection"] == S2:
            first_col = catalogue._first_col(3 if _is_cut(item) else 0)
            arrays = rasters.sentinel2(
                s2_grid, area_index, item["id"], month, item["properties"]["eo:cloud_cover"],
                first_col,
            )  # fmt: skip
            catalogue._write_s2(again, arrays, s2_grid)
            keys = S2_KEYS
        else:
            catalogue._write_s1(
                again, rasters.sentinel1(s1_grid, area_index, item["id"], month), s1_grid
            )
            keys = ["VV", "VH"]
        for key in keys:
            assert (again / f"{key}.tif").read_bytes() == (
                item_file.parent / f"{key}.tif"
            ).read_bytes()


def test_the_catalogue_is_written_once_per_destination_and_version(demo_catalogue, tmp_path):
    source = demo_catalogue.parent
    expected = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
    # What the written folder holds besides the catalogue is not copied (a FIFO would hang).
    stray, fifo = source / "stray.txt", source / S2 / "stray.fifo"
    stray.write_text("not the generator's")
    os.mkfifo(fifo)
    try:
        dest = tmp_path / "copy"
        started = time.monotonic()
        root = write_catalogue(dest)  # a copy of what this process wrote
        assert time.monotonic() - started < 20
    finally:
        stray.unlink()
        fifo.unlink()
    assert (dest / ".complete").read_text() == rasters.GENERATOR_VERSION
    assert sorted(p.relative_to(dest) for p in dest.rglob("*") if p.is_file()) == expected
    tif = next(dest.glob(f"{S2}/*/B04.tif"))
    assert tif.read_bytes() == (source / tif.relative_to(dest)).read_bytes()
    stamp = tif.stat().st_mtime_ns
    assert write_catalogue(dest) == root and tif.stat().st_mtime_ns == stamp  # skipped
    # A catalogue of another generator version (or unfinished) is written again.
    (dest / ".complete").write_text("1")
    tif.unlink()
    write_catalogue(dest)
    assert tif.is_file() and (dest / ".complete").read_text() == rasters.GENERATOR_VERSION
    shutil.rmtree(dest)


# -- the sandbox NDVI process on a demo item ---------------------------------------------------


@pytest.fixture
def eo_config(tmp_path):
    folder = tmp_path / "sandbox"
    write_sandbox(folder)
    return {
        "processing": [{"id": "sandbox", "title": "Local sandbox", "protocol": "sandbox"}],
        "sandbox_dir": str(folder),
    }


async def test_ndvi_of_a_demo_item(call, items):  # noqa: F811
    # Toulouse, 2 May 2025: spring crops, 0.08 % cloud cover.
    item_file, item = next(
        (f, i) for f, i in items[S2] if i["properties"]["datetime"].startswith("2025-05-02")
        and i["properties"]["area"] == "Toulouse"
    )  # fmt: skip
    assert item["properties"]["eo:cloud_cover"] < 1
    status, job, _ = await _execute(call, "ndvi", {"item": str(item_file)})
    assert status == 200 and job["status"] == "successful", job
    results = _results(job)
    assert 0.5 < results["mean_ndvi"]["value"] < 0.75
    assert 0.6 < results["vegetation_fraction"]["value"] < 0.95
    # The extent is the rasters' (lon/lat, to a pixel of 600 m), the GeoTIFF holds NaN where
    # there is no data (this product's west part is cut) and outside the rasters.
    assert _is_cut(item)
    with _open(item_file, item["assets"]["B04"]) as dataset:
        bounds = transform_bounds(dataset.crs, "EPSG:4326", *dataset.bounds, densify_pts=100)
    extent = results["extent"]["value"]["bbox"]
    assert extent == pytest.approx(list(bounds), abs=600 / 111320)
    status, tiff, _ = await call("jobs", job["id"], "results", "ndvi_tiff", raw=True)
    assert status == 200
    with rasterio.open(io.BytesIO(tiff)) as dataset:
        values = dataset.read(1)
    assert np.isnan(values).any()
    assert float(np.nanmean(values)) == pytest.approx(results["mean_ndvi"]["value"], abs=1e-3)

    # Winter, same place: lower; a file: URL reads the same item; a bbox clips it.
    winter_file, _ = next(
        (f, i) for f, i in items[S2] if i["properties"]["area"] == "Toulouse"
        and i["properties"]["datetime"].startswith("2025-01-02")
    )  # fmt: skip
    status, job, _ = await _execute(
        call, "ndvi", {"item": winter_file.as_uri(), "bbox": {"bbox": [1.0, 43.5, 1.4, 43.9]}}
    )
    assert job["status"] == "successful", job
    assert 0.2 < _results(job)["mean_ndvi"]["value"] < results["mean_ndvi"]["value"] - 0.1
    assert _results(job)["extent"]["value"]["bbox"] == pytest.approx(
        [1.0, 43.5, 1.4, 43.9], abs=0.01
    )

    # A blank item is no item: the demo scene, as before.
    status, job, _ = await _execute(call, "ndvi", {"item": " "})
    assert job["status"] == "successful", job
    assert _results(job)["extent"]["value"]["bbox"] == pytest.approx(list(EXTENT), abs=1e-6)

    # Items it cannot use: sentences.
    s1_file = items[S1][0][0]
    for value, sentence in (
        (str(s1_file), "has no B04 (red) asset"),
        ("demo/item.json", "is not an absolute path or a URL"),
        (str(item_file.parent / "B04.tif"), "is not JSON"),
        (str(item_file.parent / "missing.json"), "cannot be read"),
    ):
        status, job, _ = await _execute(call, "ndvi", {"item": value})
        assert job["status"] == "failed" and sentence in job["message"], (value, job)
