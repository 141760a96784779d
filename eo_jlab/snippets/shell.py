"""Shell (bash) snippets: curl for HTTP, jq for JSON; every value single-quoted."""

from __future__ import annotations

from .plan import ItemPlan, SearchPlan
from .quoting import json_text, sh

HEADER = "set -euo pipefail\n"

READ_STAC = r"""read_stac() {  # a URL or a local file
  case "$1" in
    http://*|https://*) curl -fsSL -H 'Accept: application/json' "$1" ;;
    *) cat -- "$1" ;;
  esac
}
"""

# jq: the item's id, then "  key: href" per asset, relative hrefs made absolute against $base.
ABSOLUTE_DEF = (
    r"""def absolute($base): if test("^[A-Za-z][A-Za-z0-9+.-]*:") or startswith("/") then . """
    r"""else ($base | sub("[^/]*$"; "")) + sub("^\\./"; "") end;"""
)
PRINT_BODY = (
    r""".id, ((.assets // {}) | to_entries[] """
    r"""| "  \(.key): \(.value.href | absolute($base))")"""
)
PRINT_ITEM = ABSOLUTE_DEF + "\n" + PRINT_BODY


def render(plan: ItemPlan | SearchPlan, *, widgets: bool) -> tuple[str, list[str]]:
    if isinstance(plan, ItemPlan):
        return _item(plan)
    if plan.protocol == "static":
        return _static_search(plan)
    return _stac_search(plan)


def _needs_curl(href: str) -> list[str]:
    return ["curl", "jq"] if href.startswith(("http://", "https://")) else ["jq"]


def _item(plan: ItemPlan) -> tuple[str, list[str]]:
    if plan.loader == "stac":
        href = plan.href or ""
        code = (
            HEADER
            + READ_STAC
            + f"href={sh(href)}\n"
            + f'read_stac "$href" | jq -r --arg base "$href" {sh(PRINT_ITEM)}\n'
        )
        return code, ["bash", *_needs_curl(href)]
    lines = [HEADER.rstrip("\n")]
    requires = ["bash"]
    if plan.loader == "document":
        lines += [
            "# the catalogue's own metadata document",
            f"metadata=$(curl -fsSL {sh(plan.href or '')})",
        ]
        requires.append("curl")
    else:
        lines.append("# This item carries no link to load it from: its id and asset links.")
    lines.append(f"printf '%s\\n' {sh(plan.id)}")
    for key, href in plan.assets.items():
        lines.append(f"printf '  %s: %s\\n' {sh(key)} {sh(href)}")
    return "\n".join(lines) + "\n", requires


# jq over the collected items (one JSON array): match, newest first, limit, print.
STATIC_FILTER = (
    r"""
def instant: if type == "string" then .[0:19] else null end;
def compare($op; $expected):
  if . == null then false
  elif $op == "eq" then (. == $expected or tostring == ($expected | tostring))
  elif $op == "lt" then . < $expected elif $op == "lte" then . <= $expected
  elif $op == "gt" then . > $expected else . >= $expected end;
def matches($c):
  .properties as $p
  | (($c.collections | length) == 0
     or (.collection as $col | $c.collections | index([$col]) != null))
  and (($c.boxes | length) == 0 or ((.bbox // []) as $b | ($b | length) >= 4 and
       ([$c.boxes[] | select($b[0] <= .[2] and $b[2] >= .[0] and $b[1] <= .[3] and $b[3] >= .[1])]
        | length) > 0))
  and (($p.start_datetime // $p.datetime | instant) as $first
       | ($p.end_datetime // $p.datetime | instant) as $last
       | ($c.start == null and $c.end == null) or ($first != null and
         ($c.start == null or $last >= $c.start) and ($c.end == null or $first <= $c.end)))
  and (($c.words | length) == 0 or
       ([.id, $p.title, .collection, $p.platform, $p.description, (($p.keywords // []) | join(" "))]
        | map(select(. != null) | tostring) | join(" ") | ascii_downcase) as $text
       | all($c.words[]; . as $w | $text | contains($w)))
  and all($c.filters[]; . as $f | [$f.keys[] as $k | $p | select(has($k)) | .[$k]]
       | (.[0]) | compare($f.op; $f.value));
[.[] | select(matches($criteria))] as $matched
| ($matched | sort_by([(.properties.start_datetime // .properties.datetime // ""), .id])
   | reverse | .[0:$criteria.limit]) as $items
| "\($matched | length) items match; the first \($items | length):",
  ($items[] | .self_href as $base | """
    + PRINT_BODY
    + ")"
)


def _static_search(plan: SearchPlan) -> tuple[str, list[str]]:
    criteria = {
        "collections": plan.collections,
        "boxes": plan.boxes,
        "start": plan.start[:19] if plan.start else None,
        "end": plan.end[:19] if plan.end else None,
        "words": plan.words,
        "filters": [
            {"keys": f.keys, "op": op, "value": value} for f in plan.filters for op, value in f.ops
        ],
        "limit": plan.limit,
    }
    code = (
        HEADER
        + READ_STAC
        + f"catalog={sh(plan.url)}\n"
        + f"criteria={sh(json_text(criteria))}\n"
        + r"""resolve() {  # href relative to base
  case "$1" in
    /*|[A-Za-z]*://*) printf '%s' "$1" ;;
    *) printf '%s%s' "${2%/*}/" "${1#./}" ;;
  esac
}
# A static STAC catalogue has no search service: walk it and match each item.
found=$(mktemp)
trap 'rm -f "$found"' EXIT
queue=("$catalog") collections=("")
declare -A seen=()
# One jq per document: its kind, then the item (with its collection and location) or the
# collection id and the child/item links, NUL-separated.
walk='(.type // "") as $t
| if $t == "Feature" then
    "F", "\u0000",
    (.collection //= (if $c == "" then null else $c end) | .self_href = $h | tojson), "\u0000"
  else
    "N", "\u0000", (if $t == "Collection" then (.id | tostring) else $c end), "\u0000",
    (.links[]? | select(.rel == "child" or .rel == "item") | .href, "\u0000")
  end'
while [ "${#queue[@]}" -gt 0 ]; do
  href=${queue[0]} collection=${collections[0]}
  queue=("${queue[@]:1}") collections=("${collections[@]:1}")
  [ -n "${seen[$href]+x}" ] && continue
  seen[$href]=1
  {
    IFS= read -r -d '' kind || continue
    if [ "$kind" = F ]; then
      IFS= read -r -d '' item && printf '%s\n' "$item" >>"$found"
    else
      IFS= read -r -d '' collection
      while IFS= read -r -d '' link; do
        queue+=("$(resolve "$link" "$href")") collections+=("$collection")
      done
    fi
  } < <(read_stac "$href" | jq -j --arg c "$collection" --arg h "$href" "$walk")
done
jq -rs --argjson criteria "$criteria" """
        + sh(ABSOLUTE_DEF + "\n" + STATIC_FILTER)
        + ' "$found"\n'
    )
    return code, ["bash", *_needs_curl(plan.url)]


def _stac_search(plan: SearchPlan) -> tuple[str, list[str]]:
    jq_program = (
        ABSOLUTE_DEF
        + '\n.features[] | ((.links // []) | map(select(.rel == "self")) | .[0].href // "")'
        + " as $base | "
        + PRINT_BODY
    )
    code = (
        HEADER
        + f"url={sh(plan.url)}\n"
        + f"body={sh(json_text(plan.stac_body()))}\n"
        + "curl -fsSL -X POST -H 'Content-Type: application/json' --data-binary \"$body\" \\\n"
        + '  "${url%/}/search" | jq -r '
        + sh(jq_program)
        + "\n"
    )
    return code, ["bash", "curl", "jq"]
