"""pycsw 2.6 (CSW 2.0.2 / 3.0, OpenSearch Atom) on 127.0.0.1, loaded with the synthetic products.

``pycsw_url`` is a session fixture: the CSW endpoint URL. pycsw's OpenSearch description is the
same endpoint with ``mode=opensearch`` (see ``opensearch_description``). pycsw runs from its own
venv (``.servers/pycsw``, built by ``make .make/pycsw-server``, see mk/pycsw.mk) under gunicorn.

Records are Dublin Core ``csw:Record`` documents written from ``products()``: identifier, title,
subjects (area, platform, tile, collection), abstract, ``dc:date`` and ``dct:temporal`` (the
sensing instant, whole seconds), ``dct:isPartOf`` = the collection id (pycsw stores it as
``apiso:ParentIdentifier``), ``ows:BoundingBox`` in CRS84 and ``dct:references`` to a thumbnail
and a product URL. The fixture fails (never skips) when the venv or a step is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from eo_jlab.demo.catalogue import products

from . import fail, free_port

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("EO_JLAB_PYCSW_VENV", ROOT / ".servers" / "pycsw"))
DATA_HOST = "https://data.example.org"

CONFIG = """[server]
home={home}
url={url}
mimetype=application/xml; charset=UTF-8
encoding=UTF-8
language=en-US
maxrecords=500
loglevel=WARNING
logfile={home}/pycsw.log
pretty_print=false
federatedcatalogues=
profiles=apiso

[manager]
transactions=false
allowed_ips=127.0.0.1

[metadata:main]
identification_title=eo_jlab test catalogue (synthetic Sentinel products)
identification_abstract=pycsw loaded with eo_jlab's synthetic demo products
identification_keywords=eo_jlab,test
identification_keywords_type=theme
identification_fees=None
identification_accessconstraints=None
provider_name=eo_jlab tests
provider_url=https://example.org
contact_name=eo_jlab
contact_position=tests
contact_address=none
contact_city=none
contact_stateorprovince=none
contact_postalcode=0
contact_country=none
contact_phone=none
contact_fax=none
contact_email=none@example.org
contact_url=https://example.org
contact_hours=none
contact_instructions=none
contact_role=pointOfContact

[repository]
database=sqlite:///{home}/records.db
table=records

[metadata:inspire]
enabled=false
"""


def _seconds(stamp: str) -> str:
    """``2025-01-02T10:20:31.000Z`` -> ``2025-01-02T10:20:31Z`` (what the records store)."""
    return stamp.split(".")[0].rstrip("Z") + "Z"


def record_xml(item: dict) -> str:
    """One product as a Dublin Core csw:Record (CSW 2.0.2 schema)."""
    props = item["properties"]
    west, south, east, north = item["bbox"]
    when = _seconds(props["datetime"])
    subjects = [props["area"], props["platform"], item["collection"]]
    if props.get("s2:mgrs_tile"):
        subjects.append(props["s2:mgrs_tile"])
    base = f"{DATA_HOST}/{item['collection']}/{item['id']}"
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<csw:Record xmlns:csw="http://www.opengis.net/cat/csw/2.0.2"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dct="http://purl.org/dc/terms/"'
        ' xmlns:ows="http://www.opengis.net/ows">',
        f"<dc:identifier>{escape(item['id'])}</dc:identifier>",
        f"<dc:title>{escape(props['title'])}</dc:title>",
        "<dc:type>dataset</dc:type>",
        *(f"<dc:subject>{escape(s)}</dc:subject>" for s in subjects),
        f"<dct:abstract>{escape(props['title'])}, {escape(props['platform'])}</dct:abstract>",
        f"<dct:isPartOf>{escape(item['collection'])}</dct:isPartOf>",
        f"<dc:date>{when}</dc:date>",
        f"<dct:modified>{when}</dct:modified>",
        f"<dct:temporal>{when}</dct:temporal>",
        "<dc:format>SAFE</dc:format>",
        f'<dct:references scheme="WWW:DOWNLOAD-1.0-http--download">{base}.zip</dct:references>',
        f'<dct:references scheme="thumbnail">{base}/thumbnail.png</dct:references>',
        '<ows:BoundingBox crs="urn:ogc:def:crs:OGC:1.3:CRS84">',
        f"<ows:LowerCorner>{west} {south}</ows:LowerCorner>",
        f"<ows:UpperCorner>{east} {north}</ows:UpperCorner>",
        "</ows:BoundingBox>",
        "</csw:Record>",
    ]
    return "\n".join(parts)


def write_records(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for items in products().values():
        for item in items:
            (folder / f"{item['id']}.xml").write_text(record_xml(item), encoding="utf-8")
            count += 1
    return count


def _run(args: list[str], env: dict, what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        fail(f"pycsw fixture: {what} failed ({done.returncode}): {done.stderr[-1500:]}")


@pytest.fixture(scope="session")
def pycsw_url(tmp_path_factory):
    started = time.monotonic()
    python = VENV / "bin" / "python"
    admin = VENV / "bin" / "pycsw-admin.py"
    gunicorn = VENV / "bin" / "gunicorn"
    for needed in (python, admin, gunicorn):
        if not needed.exists():
            fail(f"pycsw fixture: {needed} is missing; run `make .make/pycsw-server` first.")
    home = tmp_path_factory.mktemp("pycsw")
    port = free_port()
    url = f"http://127.0.0.1:{port}/csw"
    config = home / "pycsw.cfg"
    config.write_text(CONFIG.format(home=home, url=url), encoding="utf-8")
    count = write_records(home / "records")
    env = {**os.environ, "PYCSW_CONFIG": str(config), "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)
    _run([str(python), str(admin), "-c", "setup_db", "-f", str(config)], env, "setup_db")
    _run(
        [str(python), str(admin), "-c", "load_records", "-f", str(config), "-p",
         str(home / "records"), "-r"],
        env,
        "load_records",
    )  # fmt: skip
    log = (home / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [
            str(gunicorn),
            "--bind", f"127.0.0.1:{port}",
            "--workers", "2",
            "--max-requests", "200",
            "--graceful-timeout", "2",
            "--timeout", "60",
            "--chdir", str(home),
            "pycsw.wsgi:application",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    probe = f"{url}?service=CSW&version=2.0.2&request=GetCapabilities"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            log.flush()
            fail(
                "pycsw fixture: gunicorn exited early: "
                + (home / "gunicorn.log").read_text()[-1500:]
            )
        try:
            with urllib.request.urlopen(probe, timeout=2) as answer:
                if answer.status == 200 and b"Capabilities" in answer.read():
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            fail(f"pycsw fixture: pycsw did not answer on {url} within 30 s.")
        time.sleep(0.1)
    print(
        f"\npycsw ready on {url} with {count} records in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    try:
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def opensearch_description(csw_url: str) -> str:
    return f"{csw_url}?mode=opensearch&service=CSW&version=2.0.2&request=GetCapabilities"
