"""Shell (bash) snippets: curl for HTTP, jq for JSON (and for OpenSearch description documents),
sed on the few XML elements needed (Atom ids, CSW identifiers); every value single-quoted."""

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
    if plan.protocol == "opensearch":
        return _opensearch_search(plan)
    if plan.protocol == "csw":
        return _csw_search(plan)
    return _stac_search(plan)


def _needs_curl(href: str) -> list[str]:
    return ["curl", "jq"] if href.startswith(("http://", "https://")) else ["jq"]


def _item(plan: ItemPlan) -> tuple[str, list[str]]:
    if plan.loader == "stac":
        href = plan.href or ""
        read = (
            "curl -fsSL -H 'Accept: application/json' \"$href\" | "
            if href.startswith(("http://", "https://"))
            else ""
        )
        code = (
            HEADER
            + f"href={sh(href)}  # the STAC item\n"
            + f'{read}jq -r --arg base "$href" {sh(PRINT_ITEM)}'
            + ("\n" if read else ' <"$href"\n')
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


UNXML = r"""unxml() {  # the five XML entities
  sed -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&quot;/"/g' -e "s/&apos;/'/g" -e 's/&amp;/\&/g'
}
"""

# jq over the description document (raw text): the results template (GeoJSON when offered, else
# Atom) filled with $values; prints its media type, then the search URL.
OPENSEARCH_FILL = r"""
def unxml: gsub("&lt;"; "<") | gsub("&gt;"; ">") | gsub("&quot;"; "\"") | gsub("&apos;"; "'")
  | gsub("&amp;"; "&");
def attr($name): (capture("\\s" + $name + "\\s*=\\s*\"(?<v>[^\"]*)\"")
  // capture("\\s" + $name + "\\s*=\\s*'(?<v>[^']*)'") // {v: null}).v
  | if . == null then null else unxml end;
"http://a9.com/-/spec/opensearch/1.1/" as $os
| ([scan("xmlns:([A-Za-z0-9_.-]+)\\s*=\\s*\"([^\"]*)\"") | {key: .[0], value: .[1]}]
   | from_entries) as $prefixes
| [scan("<(?:[A-Za-z0-9_.-]+:)?Url\\s[^>]*>")
   | {type: ((attr("type") // "") | split(";")[0] | ascii_downcase | gsub("^\\s+|\\s+$"; "")),
      template: attr("template"), rel: (attr("rel") // "results"),
      index: (attr("indexOffset") // "1"), page: (attr("pageOffset") // "1")}
   | select(.rel == "results")] as $urls
| ([$urls[] | select(.type == "application/geo+json" or .type == "application/json"
                     or .type == "application/vnd.geo+json")]
   + [$urls[] | select(.type | contains("atom"))]) as $usable
| if ($usable | length) == 0 then error("The catalogue offers neither GeoJSON nor Atom results.")
  else $usable[0] end
| . as $url
| ($values | map({key: (.[0] + " " + .[1]), value: .[2]}) | from_entries) as $given
| ($given + {($os + " count"): $limit, ($os + " startIndex"): $url.index,
             ($os + " startPage"): $url.page}) as $all
| ($url.template | index("?")) as $at
| (if $at == null then [$url.template, ""]
   else [$url.template[:$at], $url.template[$at + 1:]] end) as [$base, $query]
| [$query | split("&")[] | select(. != "")
   | index("=") as $eq
   | (if $eq == null then [., ""] else [.[:$eq], .[$eq + 1:]] end) as [$name, $value]
   | [$value | scan("\\{([^{}?]+)(\\??)\\}")] as $tokens
   | reduce $tokens[] as [$token, $mark] ({name: $name, text: $value, keys: [],
                                          given: (($tokens | length) == 0)};
       ($mark // "") as $optional
       | ($token | rindex(":")) as $colon
       | (if $colon == null then $os + " " + $token
          else ($prefixes[$token[:$colon]] // $token[:$colon]) + " " + $token[$colon + 1:]
          end) as $key
       | ($all[$key] // "") as $text
       | if $text == "" and $optional == "" then
           error("The catalogue requires the parameter " + $token + ".")
         else . end
       | .keys += [$key]
       | .given = (.given or $text != "")
       | .text = (.text | split("{" + $token + $optional + "}") | join($text | @uri)))] as $pairs
| [$pairs[].keys[]] as $offered
| [$given | keys[] | select(. as $k | $offered | index([$k]) | not)] as $unused
| if ($unused | length) > 0 then
    error("The catalogue's template has no parameter for "
          + ($unused | map(split(" ")[1]) | join(", ")) + ".")
  else . end
| $url.type,
  $base + ([$pairs[] | select(.given) | "\(.name)=\(.text)"] | join("&")
           | if . == "" then "" else "?" + . end)
"""

GEOJSON_PRINT = (
    r""".features[:$limit][] | (.id | tostring), ((.properties // {})"""
    r""" | ((.thumbnail // .quicklook // empty) | "  thumbnail: \(.)"),"""
    r""" ((.services.download.url? // empty) | "  data: \(.)"))"""
)


def _opensearch_search(plan: SearchPlan) -> tuple[str, list[str]]:
    values = [list(v) for v in plan.parameters]
    code = (
        HEADER
        + UNXML
        + f"description={sh(plan.url)}\n"
        + "# The search as eo-jlab runs it: template parameters as [namespace, name, value].\n"
        + f"values={sh(json_text(values))}\n"
        + f"limit={plan.limit}\n"
        + "doc=$(curl -fsSL -H 'Accept: application/opensearchdescription+xml' \"$description\")\n"
        + "# Fill the description's template; optional parameters left empty are left out.\n"
        + 'filled=$(printf \'%s\' "$doc" | jq -Rsr --argjson values "$values" --arg limit "$limit" '
        + sh(OPENSEARCH_FILL)
        + ")\n"
        + "kind=${filled%%$'\\n'*} search=${filled#*$'\\n'}\n"
        + 'answer=$(curl -fsSL -H "Accept: ${kind:-application/atom+xml}" "$search")\n'
        + 'case "$kind" in\n'
        + "  application/geo+json|application/json|application/vnd.geo+json)\n"
        + '    printf \'%s\' "$answer" | jq -r --argjson limit "$limit" '
        + sh(GEOJSON_PRINT)
        + " ;;\n"
        + "  *)  # Atom: one line per entry, then its dc:identifier, else its atom:id\n"
        + "    printf '%s' \"$answer\" | tr '\\n\\r' '  ' \\\n"
        + "      | sed 's/<\\([A-Za-z0-9_.-]*:\\)\\{0,1\\}entry[ >]/\\n&/g' | tail -n +2 \\\n"
        + '      | sed -n "1,${limit}p" \\\n'
        + "      | sed -n -e 's/.*<\\([A-Za-z0-9_.-]*:\\)\\{0,1\\}identifier\\( [^>]*\\)\\{0,1\\}"
        + ">\\([^<]*\\)<.*/\\3/p;t' \\\n"
        + "          -e 's/.*<\\([A-Za-z0-9_.-]*:\\)\\{0,1\\}id\\( [^>]*\\)\\{0,1\\}>\\([^<]*\\)<.*"
        + "/\\3/p' \\\n"
        + "      | unxml ;;\n"
        + "esac\n"
    )
    return code, ["bash", "curl", "jq"]


CSW = r"""# GetCapabilities: the version the server answers in, and whether it lists the ISO time
# queryables (apiso:TempExtent_begin/end) or only dc:date.
caps=$(curl -fsSL -H 'Accept: application/xml' "$capabilities")
if [ -z "$version" ]; then
  answered=$(printf '%s' "$caps" | tr '\n\r' '  ' \
    | sed -n -e 's/.*<\([A-Za-z0-9_.-]*:\)\{0,1\}Capabilities \([^>]*\)>.*/ \2/' \
        -e 's/.* version="\([^"]*\)".*/\1/p')
  case "$answered" in 3*) version=3.0.0 ;; *) version=2.0.2 ;; esac
fi
case "$caps" in *TempExtent_begin*) times=iso ;; *) times=dc ;; esac

# GetRecords: the first way the server does not refuse (HTTP 405/501 or an exception).
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=''
while IFS= read -r -d '' method && IFS= read -r -d '' request; do
  if [ "$method" = POST ]; then
    status=$(printf '%s' "$request" | curl -sS -o "$out" -w '%{http_code}' -X POST \
      -H 'Content-Type: application/xml' -H 'Accept: application/xml' --data-binary @- "$url")
  else
    status=$(curl -sS -o "$out" -w '%{http_code}' -H 'Accept: application/xml' "$request")
  fi
  case "$status" in 405|501) continue ;; esac
  head -c 1000 "$out" | grep -q ExceptionReport && continue
  break
done < <(printf '%s' "$attempts" \
  | jq -j --arg key "$version $times" '.[$key][] | .[0], "\u0000", .[1], "\u0000"')
if grep -q ExceptionReport "$out"; then
  echo "The catalogue refused the request:" >&2
  tr '\n\r' '  ' <"$out" | sed -n 's/.*ExceptionText[^>]*>\([^<]*\)<.*/\1/p' >&2
  exit 1
fi
case "$status" in 2*) ;; *) echo "The catalogue answered HTTP $status." >&2; exit 1 ;; esac
# One line per record, then its dc:identifier.
tr '\n\r' '  ' <"$out" \
  | sed 's/<\([A-Za-z0-9_.-]*:\)\{0,1\}\(Record\|SummaryRecord\|BriefRecord\)[ >]/\n&/g' \
  | tail -n +2 \
  | sed -n 's/.*<\([A-Za-z0-9_.-]*:\)\{0,1\}identifier\( [^>]*\)\{0,1\}>\([^<]*\)<.*/\3/p' \
  | unxml
"""


def _csw_search(plan: SearchPlan) -> tuple[str, list[str]]:
    versions = sorted({key.split()[0] for key in plan.attempts})
    attempts = {key: [list(way) for way in ways] for key, ways in plan.attempts.items()}
    code = (
        HEADER
        + UNXML
        + f"url={sh(plan.url)}\n"
        + f"capabilities={sh(plan.capabilities or '')}\n"
        + f"version={sh(versions[0] if len(versions) == 1 else '')}  # empty: as the server says\n"
        + "# GetRecords exactly as eo-jlab asks it, per CSW version and time queryables:\n"
        + '# {"<version> iso|dc": [["POST", xml] or ["GET", url], ...]}\n'
        + f"attempts={sh(json_text(attempts))}\n"
        + CSW
    )
    return code, ["bash", "curl", "jq"]
