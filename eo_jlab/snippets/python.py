"""Python snippets: pystac for STAC items and static catalogues, pystac-client for STAC APIs,
requests for other metadata documents, OpenSearch and CSW (the standard library's XML parser
for the answers)."""

from __future__ import annotations

from .plan import ItemPlan, SearchPlan
from .quoting import py

PRINT_ITEM = """\
    print(item.id)
    for key, asset in item.assets.items():
        print(f"  {key}: {absolute_href(asset.href, item_href)}")
"""

PRINT_API_ITEM = """\
    print(item.id)
    for key, asset in item.assets.items():
        print(f"  {key}: {asset.get_absolute_href() or asset.href}")
"""

# Read STAC JSON from a URL or a local file, and resolve relative hrefs, without pystac's own
# I/O (which rewrites backslashes in local paths).
READ_STAC = """\
def read_stac(href):
    if href.startswith(("http://", "https://")):
        response = requests.get(href, headers={"Accept": "application/json"}, timeout=60)
        response.raise_for_status()
        return response.json()
    return json.loads(Path(href).read_text(encoding="utf-8"))


def absolute_href(href, base):
    if "://" in href or href.startswith("/"):
        return href
    if "://" in base:
        return urljoin(base, href)
    return str((Path(base).parent / href).resolve())
"""


def render(plan: ItemPlan | SearchPlan, *, widgets: bool) -> tuple[str, list[str]]:
    if isinstance(plan, ItemPlan):
        code, requires = _item(plan, widgets)
    elif plan.protocol == "static":
        code, requires = _static_search(plan)
    elif plan.protocol == "opensearch":
        code, requires = _opensearch_search(plan)
    elif plan.protocol == "csw":
        code, requires = _csw_search(plan)
    else:
        code, requires = _stac_search(plan)
    if widgets:
        code += "\nfrom eo_jlab.widgets import show_items\n\nshow_items(items)\n"
        requires = [*requires, "eo_jlab", "ipyleaflet"]
    return code, requires


# One item: pystac reads it and makes its asset links absolute. pystac (1.15) turns every
# backslash of a path or link into a slash: an item whose location or links hold one is read
# with the helpers of the search code instead.
ITEM = """\
import pystac

item = pystac.Item.from_file({href})
item.make_asset_hrefs_absolute()
items = [item]
print(item.id)
for key, asset in item.assets.items():
    print(f"  {{key}}: {{asset.href}}")
"""


def _item(plan: ItemPlan, widgets: bool) -> tuple[str, list[str]]:
    if plan.loader == "stac":
        href = plan.href or ""
        if "\\" not in href and not any("\\" in a for a in plan.assets.values()):
            return ITEM.format(href=py(href)), ["pystac"]
        code = (
            "import json\nfrom pathlib import Path\nfrom urllib.parse import urljoin\n\n"
            "import pystac\nimport requests\n\n\n"
            + READ_STAC
            + "\n\n"
            + f"item_href = {py(href)}\n"
            + "item = pystac.Item.from_dict(read_stac(item_href))\n"
            + "items = [item]\n"
            + PRINT_ITEM.replace("    ", "", 1).replace("\n    ", "\n")
        )
        return code, ["pystac", "requests"]
    assets = py(plan.assets)
    if plan.loader == "document":
        code = (
            "import requests\n\n"
            f"response = requests.get({py(plan.href)}, timeout=60)\n"
            "response.raise_for_status()\n"
            "metadata = response.text  # the catalogue's own metadata document\n"
            f"item_id = {py(plan.id)}\n"
            f"assets = {assets}\n"
            "print(item_id)\n"
            "for key, href in assets.items():\n"
            '    print(f"  {key}: {href}")\n'
        )
        requires = ["requests"]
    else:
        code = (
            "# This item carries no link to load it from: its id and asset links as found.\n"
            f"item_id = {py(plan.id)}\n"
            f"assets = {assets}\n"
            "print(item_id)\n"
            "for key, href in assets.items():\n"
            '    print(f"  {key}: {href}")\n'
        )
        requires = []
    if widgets:
        code += f"items = {py(plan.items)}\n"
    return code, requires


def _static_search(plan: SearchPlan) -> tuple[str, list[str]]:
    requires = ["pystac", "requests"]
    lines = [
        "import json",
        "from datetime import datetime, timezone",
        "from pathlib import Path",
        "from urllib.parse import urljoin",
        "",
        "import pystac",
        "import requests",
    ]
    if plan.boxes:
        lines += ["from shapely.geometry import box, shape"]
        requires.append("shapely")
    lines += [
        "",
        "",
        READ_STAC,
        "",
        "# A static STAC catalogue has no search service: walk it and match each item.",
        f"catalog = {py(plan.url)}",
        f"collections = {py(plan.collections)}",
        f"boxes = {py(plan.boxes)}  # [west, south, east, north] (lon/lat)",
        f"start, end = {py(plan.start)}, {py(plan.end)}",
        f"words = {py(plan.words)}",
        "filters = [  # (property names, operator, value)",
        *[f"    ({py(f.keys)}, {py(op)}, {py(v)})," for f in plan.filters for op, v in f.ops],
        "]",
        f"limit = {py(plan.limit)}",
        "",
        "",
        "def instant(value):",
        "    if not isinstance(value, str):",
        "        return None",
        '    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))',
        "    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)",
        "",
        "",
        "def compare(value, op, expected):",
        "    if value is None:",
        "        return False",
        '    if op == "eq":',
        "        return value == expected or str(value) == str(expected)",
        '    return {"lt": value < expected, "lte": value <= expected,',
        '            "gt": value > expected, "gte": value >= expected}[op]',
        "",
        "",
        "def matches(item):",
        "    props = item.properties",
        "    if collections and item.collection_id not in collections:",
        "        return False",
        "    if boxes:",
        "        area = box(*boxes[0])",
        "        for extra in boxes[1:]:",
        "            area = area.union(box(*extra))",
        "        footprint = shape(item.geometry) if item.geometry else (",
        "            box(*item.bbox) if item.bbox else None)",
        "        if footprint is None or not footprint.intersects(area):",
        "            return False",
        "    first = instant(props.get('start_datetime')) or instant(props.get('datetime'))",
        "    last = instant(props.get('end_datetime')) or instant(props.get('datetime'))",
        "    first, last = first or last, last or first",
        "    if start or end:",
        "        if first is None:",
        "            return False",
        "        if start and last < instant(start) or end and first > instant(end):",
        "            return False",
        "    if words:",
        "        text = ' '.join(str(v) for v in (",
        "            item.id, props.get('title'), item.collection_id, props.get('platform'),",
        "            props.get('description'), ' '.join(props.get('keywords') or []),",
        "        ) if v).lower()",
        "        if not all(word in text for word in words):",
        "            return False",
        "    for keys, op, expected in filters:",
        "        value = next((props[k] for k in keys if k in props), None)",
        "        if not compare(value, op, expected):",
        "            return False",
        "    return True",
        "",
        "",
        "def newest_first(item):",
        "    when = instant(item.properties.get('start_datetime'))",
        "    when = when or instant(item.properties.get('datetime'))",
        "    return (when.timestamp() if when else 0.0, item.id)",
        "",
        "",
        "matched, seen, queue = [], set(), [(catalog, None)]",
        "while queue:",
        "    href, collection = queue.pop(0)",
        "    if href in seen:",
        "        continue",
        "    seen.add(href)",
        "    doc = read_stac(href)",
        '    if doc.get("type") == "Collection":',
        '        collection = doc.get("id")',
        '    if doc.get("type") == "Feature":',
        '        doc.setdefault("collection", collection)',
        "        item = pystac.Item.from_dict(doc)",
        "        if matches(item):",
        "            matched.append((item, href))",
        "        continue",
        '    for link in doc.get("links") or []:',
        '        if link.get("rel") in ("child", "item"):',
        '            queue.append((absolute_href(link["href"], href), collection))',
        "",
        "found = sorted(matched, key=lambda pair: newest_first(pair[0]), reverse=True)[:limit]",
        "items = [item for item, _ in found]",
        'print(f"{len(matched)} items match; the first {len(items)}:")',
        "for item, item_href in found:",
        PRINT_ITEM.rstrip("\n"),
    ]
    return "\n".join(lines) + "\n", requires


def _stac_search(plan: SearchPlan) -> tuple[str, list[str]]:
    url = py(plan.url)
    if plan.q:
        # pystac-client has no free-text parameter: POST the search body itself.
        code = (
            "import pystac\nimport requests\n\n"
            f"body = {py(plan.stac_body())}\n"
            f'response = requests.post({url}.rstrip("/") + "/search", json=body, timeout=60)\n'
            "response.raise_for_status()\n"
            "items = pystac.ItemCollection.from_dict(response.json())\n"
            "for item in items:\n" + PRINT_API_ITEM
        )
        return code, ["pystac", "requests"]
    args = []
    if plan.collections:
        args.append(f"    collections={py(plan.collections)},")
    if plan.bbox is not None:
        args.append(f"    bbox={py(plan.bbox)},")
    if plan.intersects is not None:
        args.append(f"    intersects={py(plan.intersects)},")
    if plan.datetime is not None:
        args.append(f"    datetime={py(plan.datetime)},")
    if plan.filters:
        args.append(f"    query={py(plan.stac_query())},")
    args += [f"    limit={py(plan.limit)},", f"    max_items={py(plan.limit)},"]
    code = (
        "from pystac_client import Client\n\n"
        f"client = Client.open({url})\n"
        "search = client.search(\n" + "\n".join(args) + "\n)\n"
        "items = search.item_collection()\n"
        "for item in items:\n" + PRINT_API_ITEM
    )
    return code, ["pystac-client"]


OPENSEARCH = """\
OS = "http://a9.com/-/spec/opensearch/1.1/"
JSON_TYPES = ("application/geo+json", "application/json", "application/vnd.geo+json")
PAGING = (OS + "count", OS + "startIndex", OS + "startPage")


def local(element):
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def media_type(url):
    return (url.get("type") or "").split(";")[0].strip().lower()


# The description document: its results template, GeoJSON when offered, else Atom.
response = requests.get(
    description, headers={"Accept": "application/opensearchdescription+xml"}, timeout=60
)
response.raise_for_status()
prefixes = {}
for _, (prefix, uri) in ET.iterparse(BytesIO(response.content), events=("start-ns",)):
    prefixes.setdefault(prefix, uri)
urls = [
    u for u in ET.fromstring(response.content)
    if local(u) == "Url" and (u.get("rel") or "results") == "results"
]
url = next((u for u in urls if media_type(u) in JSON_TYPES), None) or next(
    u for u in urls if "atom" in media_type(u)
)
values[(OS, "count")] = str(limit)
values[(OS, "startIndex")] = url.get("indexOffset") or "1"
values[(OS, "startPage")] = url.get("pageOffset") or "1"

# Fill the template; optional parameters left empty are left out.
base, _, query = url.get("template").partition("?")
pairs, offered = [], set()
for name, value in parse_qsl(query, keep_blank_values=True):
    tokens = re.findall(r"\\{([^{}?]+)(\\??)\\}", value)
    given = not tokens
    for token, optional in tokens:
        prefix, _, name_in_ns = token.rpartition(":")
        key = (prefixes.get(prefix, prefix) if prefix else OS, name_in_ns)
        offered.add(key)
        text = values.get(key, "")
        if not text and not optional:
            raise RuntimeError(f"The catalogue requires the parameter {token!r}.")
        given = given or bool(text)
        value = value.replace("{" + token + optional + "}", text)
    if given:
        pairs.append((name, value))
unused = [k[1] for k in values if k not in offered and k[0] + k[1] not in PAGING]
if unused:
    raise RuntimeError(f"The catalogue's template has no parameter for {', '.join(unused)}.")
search = base + "?" + urlencode(pairs, safe=":,/[]")

response = requests.get(search, headers={"Accept": media_type(url) or "application/atom+xml"},
                        timeout=60)
response.raise_for_status()
if media_type(url) in JSON_TYPES:
    for feature in response.json()["features"][:limit]:
        print(feature["id"])
        props = feature.get("properties") or {}
        download = (props.get("services") or {}).get("download") or {}
        for key, href in (("thumbnail", props.get("thumbnail") or props.get("quicklook")),
                          ("data", download.get("url"))):
            if href:
                print(f"  {key}: {href}")
else:
    feed = ET.fromstring(response.content)
    for entry in [e for e in feed if local(e) == "entry"][:limit]:
        texts = {}
        for child in entry:
            if child.text and child.text.strip():
                texts.setdefault(local(child), child.text.strip())
        print(texts.get("identifier") or texts.get("id"))
        for link in entry:
            if local(link) == "link" and link.get("href"):
                print(f"  {link.get('rel') or 'alternate'}: {link.get('href')}")
"""

CSW = """\
def local(element):
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def check(root):
    if local(root) == "ExceptionReport":
        reasons = " ".join(e.text or "" for e in root.iter() if local(e) == "ExceptionText")
        raise RuntimeError(f"The catalogue refused the request: {reasons.strip()}")
    return root


# GetCapabilities: the version the server answers in, and whether it lists the ISO time
# queryables (apiso:TempExtent_begin/end) or only dc:date.
response = requests.get(capabilities, headers={"Accept": "application/xml"}, timeout=60)
response.raise_for_status()
root = check(ET.fromstring(response.content))
if version is None:
    version = "3.0.0" if (root.get("version") or "").startswith("3") else "2.0.2"
times = "iso" if b"TempExtent_begin" in response.content else "dc"

# GetRecords: the first way the server does not refuse (HTTP 405/501 or an exception).
for method, request in attempts[f"{version} {times}"]:
    if method == "POST":
        response = requests.post(
            url,
            data=request.encode("utf-8"),
            headers={"Content-Type": "application/xml", "Accept": "application/xml"},
            timeout=60,
        )
    else:
        response = requests.get(request, headers={"Accept": "application/xml"}, timeout=60)
    if response.status_code in (405, 501) or b"ExceptionReport" in response.content[:1000]:
        continue
    response.raise_for_status()
    break
results = next(e for e in check(ET.fromstring(response.content)).iter()
               if local(e) == "SearchResults")
for record in results:
    if local(record) not in ("Record", "SummaryRecord", "BriefRecord"):
        continue
    print(next((c.text or "").strip() for c in record if local(c) == "identifier"))
    for ref in record:
        href = (ref.text or "").strip()
        if local(ref) in ("references", "URI") and href.startswith(("http://", "https://")):
            print(f"  {ref.get('scheme') or ref.get('protocol') or 'link'}: {href}")
"""


def _opensearch_search(plan: SearchPlan) -> tuple[str, list[str]]:
    values = "\n".join(
        f"    ({py(ns)}, {py(name)}): {py(value)}," for ns, name, value in plan.parameters
    )
    code = (
        "import re\nimport xml.etree.ElementTree as ET\nfrom io import BytesIO\n"
        "from urllib.parse import parse_qsl, urlencode\n\nimport requests\n\n"
        f"description = {py(plan.url)}\n"
        "# The search as eo-jlab runs it: template parameters by (namespace, name).\n"
        "values = {\n" + values + ("\n" if values else "") + "}\n"
        f"limit = {py(plan.limit)}\n\n" + OPENSEARCH
    )
    return code, ["requests"]


def _csw_search(plan: SearchPlan) -> tuple[str, list[str]]:
    versions = sorted({key.split()[0] for key in plan.attempts})
    attempts = "\n".join(
        f"    {py(key)}: [\n"
        + "".join(f"        ({py(m)}, {py(r)}),\n" for m, r in ways)
        + "    ],"
        for key, ways in plan.attempts.items()
    )
    code = (
        "import xml.etree.ElementTree as ET\n\nimport requests\n\n"
        f"url = {py(plan.url)}\n"
        f"capabilities = {py(plan.capabilities)}\n"
        f"version = {py(versions[0] if len(versions) == 1 else None)}  # None: as the server says\n"
        f"limit = {py(plan.limit)}\n"
        "# GetRecords exactly as eo-jlab asks it, per CSW version and time queryables.\n"
        "attempts = {\n" + attempts + "\n}\n\n" + CSW
    )
    return code, ["requests"]
