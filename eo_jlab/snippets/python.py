"""Python snippets: pystac for STAC items and static catalogues, pystac-client for STAC APIs,
requests for other metadata documents."""

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
READ_IMPORTS = (
    "import json\nfrom pathlib import Path\nfrom urllib.parse import urljoin\n\n"
    "import pystac\nimport requests\n"
)


def render(plan: ItemPlan | SearchPlan, *, widgets: bool) -> tuple[str, list[str]]:
    if isinstance(plan, ItemPlan):
        code, requires = _item(plan, widgets)
    elif plan.protocol == "static":
        code, requires = _static_search(plan)
    else:
        code, requires = _stac_search(plan)
    if widgets:
        code += "\nfrom eo_jlab.widgets import show_items\n\nshow_items(items)\n"
        requires = [*requires, "eo_jlab", "ipyleaflet"]
    return code, requires


def _item(plan: ItemPlan, widgets: bool) -> tuple[str, list[str]]:
    if plan.loader == "stac":
        code = (
            READ_IMPORTS
            + "\n\n"
            + READ_STAC
            + "\n\n"
            + f"item_href = {py(plan.href)}\n"
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
