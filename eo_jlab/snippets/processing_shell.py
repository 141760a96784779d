"""Shell (bash) snippets for process executions and jobs: curl for HTTP, xmllint (libxml2) for
WPS documents (XPath on local names), jq for OGC API - Processes JSON. Every value is one
single-quoted word; requests are sent from standard input, never as command-line arguments."""

from __future__ import annotations

from urllib.parse import urlsplit

from .processing import Auth, JobPlan, ProcessPlan, sandbox_path
from .quoting import json_text, sh

HEADER = r"""set -euo pipefail
report() {  # status, progress, message: one line per status reported
  local line="$1${2:+ $2%} $3"
  printf '%s\n' "${line%"${line##*[![:space:]]}"}"
}
"""

NO_AUTH = r"""call() {  # curl URL [options]
  local url=$1
  shift
  curl "$@" --url "$url"
}
"""

WPS_HELPERS = r"""doc=$(mktemp)
trap 'rm -f "$doc"' EXIT
xpath() {  # XPath 1.0 on the last document (elements by local name); empty when unreadable
  xmllint --nonet --xpath "$1" "$doc" 2>/dev/null || true
}
STATE="/*/*[local-name()='Status']/*"
bbox_value() {  # the bounding box at XPath $1 as eo-jlab gives it: [west, south, east, north], CRS
  jq -cn --arg crs "$(xpath "string($1/@crs)")" \
    --arg lower "$(xpath "string($1/*[local-name()='LowerCorner'])")" \
    --arg upper "$(xpath "string($1/*[local-name()='UpperCorner'])")" "$BBOX"
}
BBOX='def numbers: [splits("[[:space:]]+") | select(length > 0) | tonumber?];
  # CRS spellings whose corners come latitude first
  ["urn:ogc:def:crs:epsg::4326", "urn:ogc:def:crs:epsg:6.6:4326", "urn:x-ogc:def:crs:epsg:4326",
   "http://www.opengis.net/def/crs/epsg/0/4326", "http://www.opengis.net/gml/srs/epsg.xml#4326"]
  as $lat_first
  | (if $crs == "" then "urn:ogc:def:crs:OGC:1.3:CRS84" else $crs end) as $crs
  | ($lower | numbers) as $l | ($upper | numbers) as $u
  | if ($l | length) < 2 or ($u | length) < 2 then {bbox: null, crs: $crs}
    elif any($lat_first[]; . == ($crs | ascii_downcase | gsub("^[[:space:]]+|[[:space:]]+$"; "")))
    then {bbox: [$l[1], $l[0], $u[1], $u[0]], crs: $crs}
    else {bbox: [$l[0], $l[1], $u[0], $u[1]], crs: $crs} end'
"""

# Follow "$doc" (an ExecuteResponse, unreadable when caught half written) at "$status_url" to
# its end, then print its outputs as eo-jlab reads them (references as links, JSON compacted).
FOLLOW_WPS = r"""failures=0
while :; do
  state=$(xpath "local-name($STATE)")
  if [ -n "$state" ]; then
    failures=0
    percent=$(xpath "string($STATE/@percentCompleted)")
    [ "$state" = ProcessSucceeded ] && percent=100
    report "$state" "$percent" "$(xpath "normalize-space($STATE)")"
    case "$state" in ProcessSucceeded|ProcessFailed) break ;; esac
  elif [ $((failures += 1)) -ge 10 ]; then
    echo "The status document at $status_url cannot be read." >&2
    exit 1
  fi
  if [ -z "$status_url" ]; then
    echo "The service sent no status document to follow." >&2
    exit 1
  fi
  sleep 1
  call "$status_url" -sS -o "$doc" || true
done
if [ "$state" = ProcessFailed ]; then
  echo "The process failed: $(xpath "normalize-space(//*[local-name()='ExceptionText'])")" >&2
  exit 1
fi
outputs="/*/*[local-name()='ProcessOutputs']/*[local-name()='Output']"
count=$(xpath "count($outputs)")
for ((i = 1; i <= ${count:-0}; i++)); do
  output="($outputs)[$i]"
  id=$(xpath "string($output/*[local-name()='Identifier'])")
  if [ "$(xpath "count($output/*[local-name()='Reference'])")" != 0 ]; then
    value=$(xpath "string($output/*[local-name()='Reference']/@*[local-name()='href'])")
  elif [ "$(xpath "count($output/*[local-name()='Data']/*[local-name()='BoundingBoxData'])")" != 0 ]
  then
    value=$(bbox_value "$output/*[local-name()='Data']/*")
  elif [ "$(xpath "count($output/*[local-name()='Data']/*/*)")" != 0 ]; then
    value=$(xpath "$output/*[local-name()='Data']/*/*")  # XML content
  else
    value=$(xpath "string($output/*[local-name()='Data']/*)")
    type=$(xpath "string($output/*[local-name()='Data']/*[local-name()='ComplexData']/@mimeType)")
    complex=$(xpath "count($output/*[local-name()='Data']/*[local-name()='ComplexData'])")
    case "$complex:$type" in
      1:|1:application/json|1:application/geo+json|1:application/vnd.geo+json)
        value=$(printf '%s' "$value" | jq -c . 2>/dev/null || printf '%s' "$value") ;;
    esac
  fi
  printf '%s: %s\n' "$id" "$value"
done
"""

OGC_HELPERS = r"""headers=$(mktemp) answer=$(mktemp)
trap 'rm -f "$headers" "$answer"' EXIT
header() {  # the last value of one header of the last answer
  tr -d '\r' <"$headers" | grep -i "^$1:" | tail -n 1 | sed 's/^[^:]*:[[:space:]]*//' || true
}
absolute() {  # $1 relative to the URL $2
  case "$1" in
    [A-Za-z]*://*) printf '%s' "$1" ;;
    //*) printf '%s:%s' "${2%%:*}" "$1" ;;
    /*) printf '%s%s' "$(printf '%s' "$2" | sed -E 's#^([^:/]+://[^/?#]*).*#\1#')" "$1" ;;
    *) printf '%s%s' "$(printf '%s' "${2%%[?#]*}" | sed 's#[^/]*$##')" "$1" ;;
  esac
}
link() {  # the first JSON link of the last answer with one of the rels (a JSON array)
  jq -r --argjson rels "$1" '[.links[]? | select((.rel as $r | any($rels[]; . == $r))
    and .href and ((.type // "json") | contains("json"))) | .href][0] // empty' "$answer" \
    2>/dev/null || true
}
print_results() {  # output id: link or value, from a results document or a raw answer
  local kind fallback
  kind=$(header content-type | sed 's/;.*//' | tr 'A-Z' 'a-z' | tr -d ' \t')
  fallback=$(jq -rn --argjson r "$requested" 'if ($r | length) == 1 then $r[0] else "result" end')
  case "$kind" in
    application/json|*+json)
      jq -r --argjson requested "$requested" --arg fallback "$fallback" "$OUTPUTS" "$answer" ;;
    text/*|*xml) printf '%s: %s\n' "$fallback" "$(cat "$answer")" ;;
    *) printf '%s: (%s bytes of %s)\n' "$fallback" "$(wc -c <"$answer")" "${kind:-data}" ;;
  esac
}
OUTPUTS=__OUTPUTS__
"""

OUTPUTS = r"""def one: if type == "object" and has("href") then .href
  elif type == "object" and has("value") then .value else . end;
def show: if type == "string" then . else tojson end;
(if type == "object" then
   if (.outputs | type) == "array" then
     [.outputs[] | select(type == "object") | {key: ((.id // $fallback) | tostring), value: one}]
   elif (.outputs | type) == "object" then [.outputs | to_entries[] | {key, value: (.value | one)}]
   elif (.id | type) == "string" and (has("value") or has("href")) then [{key: .id, value: one}]
   elif (($requested | length) > 0 and ((keys - $requested) | length) == 0)
        or (($requested | length) == 0 and length > 0) then
     [to_entries[] | {key, value: (.value | one)}]
   else [{key: $fallback, value: .}] end
 else [{key: $fallback, value: .}] end)[] | "\(.key): \(.value | show)"
"""

OGC_HELPERS = OGC_HELPERS.replace("__OUTPUTS__", sh(OUTPUTS))

# Follow "$job_url" to the end of the job, then fetch its results into "$answer".
FOLLOW_OGC = r"""while :; do
  code=$(call "$job_url" -sS -D "$headers" -o "$answer" -w '%{http_code}' \
    -H 'Accept: application/json')
  case "$code" in
    404|410) echo "The service no longer knows this job (dismissed or expired)." >&2; exit 1 ;;
    2*) ;;
    *) echo "The service answered HTTP $code about the job: $(head -c 500 "$answer")" >&2; exit 1 ;;
  esac
  state=$(jq -r '.status | ascii_downcase | if . == "succeeded" then "successful" else . end' \
    "$answer")
  report "$state" "$(jq -r '.progress // empty' "$answer")" \
    "$(jq -r '.message // empty | tostring' "$answer")"
  case "$state" in successful|failed|dismissed) break ;; esac
  sleep 1
done
if [ "$state" != successful ]; then
  echo "The job ended $state: $(jq -r '.message // "no reason given" | tostring' "$answer")" >&2
  exit 1
fi
results_url=$(link '["http://www.opengis.net/def/rel/ogc/1.0/results","results"]')
if [ -n "$results_url" ]; then
  results_url=$(absolute "$results_url" "$job_url")
else
  results_url="${job_url%/}/results"
fi
code=$(call "$results_url" -sS -D "$headers" -o "$answer" -w '%{http_code}' \
  -H 'Accept: application/json')
case "$code" in
  2*) ;;
  *) echo "The service answered HTTP $code for the results: $(head -c 500 "$answer")" >&2; exit 1 ;;
esac
requested='[]'
"""


# The local sandbox: no address and no token in the script (both change at each start).
SANDBOX = r"""# The local sandbox writes its address and token here each time it starts.
connection=__PATH__
sandbox_file() {  # a result of the sandbox as its file here (outputs outlive it), else the link
  local path
  path=$(printf '%s' "$1" | sed -nE 's#^(http://(127\.0\.0\.1|localhost)(:[0-9]+)?)?/outputs/##p')
  case "/$path/" in
    //|*/../*) printf '%s' "$1" ;;
    *) printf '%s/outputs/%s' "$(dirname "$connection")" "$path" ;;
  esac
}
"""
SANDBOX_CONNECT = r"""if [ ! -f "$connection" ]; then
  echo "The local sandbox is not running ($connection is missing): start it in eo-jlab's" \
    "Processes section." >&2
  exit 1
fi
sandbox_url=$(jq -r .url "$connection")
call() {  # curl URL [options]; the token goes to the sandbox only, never on a command line
  local url=$1
  shift
  case "$url" in
    "$sandbox_url"/*)
      curl -H @<(jq -r '"Authorization: Bearer " + .token' "$connection") "$@" --url "$url" ;;
    *) curl "$@" --url "$url" ;;
  esac
}
"""
REFERENCE = (
    """value=$(xpath "string($output/*[local-name()='Reference']/@*[local-name()='href'])")"""
)


def _sandbox(path: str, connect: bool) -> str:
    """Code finding the sandbox through its connection file ``path``: ``sandbox_file HREF``;
    with ``connect``, ``$sandbox_url`` and ``call`` sending the token to it."""
    if path.startswith("~/"):
        where = '"$HOME"/' + sh(path[2:])
    else:
        where = sh(path)
    return SANDBOX.replace("__PATH__", where) + (SANDBOX_CONNECT if connect else "")


def _follow(plan_sandbox: str | None) -> str:
    """``FOLLOW_WPS``, with a sandbox's results by reference as their files."""
    if not plan_sandbox:
        return FOLLOW_WPS
    assert REFERENCE in FOLLOW_WPS
    return FOLLOW_WPS.replace(REFERENCE, REFERENCE + '\n    value=$(sandbox_file "$value")')


def _auth(auth: Auth | None) -> str:
    if auth is None:
        return NO_AUTH
    lines = ["# The service's credentials come from the environment, never from the script."]
    if auth.kind == "bearer":
        name = auth.token_env or ""
        lines.append(
            f'auth=(-H "Authorization: Bearer ${{{name}:?set the environment variable {name}}}")'
        )
    else:
        if auth.username_env:
            user = f"${{{auth.username_env}:?set the environment variable {auth.username_env}}}"
            lines.append(f'user="{user}"')
        else:
            lines.append(f"user={sh(auth.username or '')}")
        name = auth.password_env or ""
        lines.append(f'auth=(-u "$user:${{{name}:?set the environment variable {name}}}")')
    lines += [
        f"origin={sh(auth.origin)}",
        "call() {  # curl URL [options]; credentials go to the service's own origin only",
        "  local url=$1",
        "  shift",
        '  case "$url" in',
        '    "$origin"|"$origin"/*) curl "${auth[@]}" "$@" --url "$url" ;;',
        '    *) curl "$@" --url "$url" ;;',
        "  esac",
        "}",
    ]
    return "\n".join(lines) + "\n"


def render_process(plan: ProcessPlan, widgets: bool) -> tuple[str, list[str]]:
    if plan.protocol == "wps":
        url = f"url={sh(plan.url)}  # the WPS 1.0.0 service\n"
        if plan.sandbox:
            url = 'url="$sandbox_url/wps"  # the sandbox\'s WPS, where it runs now\n'
        code = (
            HEADER
            + (_sandbox(plan.sandbox, connect=True) if plan.sandbox else _auth(plan.auth))
            + WPS_HELPERS
            + "\n"
            + url
            + "# The Execute request eo-jlab sends for this execution.\n"
            + f"execute={sh(plan.document)}\n"
            + 'status=$(printf \'%s\' "$execute" | call "$url" -sS -o "$doc" -w \'%{http_code}\' '
            + "-X POST \\\n  -H 'Content-Type: text/xml; charset=utf-8' --data-binary @-)\n"
            + 'if [ "$(xpath "local-name(/*)")" = ExceptionReport ]; then\n'
            + "  reason=$(xpath \"normalize-space(//*[local-name()='ExceptionText'])\")\n"
            + '  echo "The service refused the request: $reason" >&2\n'
            + "  exit 1\n"
            + "fi\n"
            + 'case "$status" in\n'
            + "  2*) ;;\n"
            + '  *) echo "The service answered HTTP $status." >&2; exit 1 ;;\n'
            + "esac\n"
            + "status_url=$(xpath 'string(/*/@statusLocation)')  # empty: it ran synchronously\n"
            + _follow(plan.sandbox)
        )
        return code, ["bash", "curl", "xmllint", "jq"]
    lines = [
        f"url={sh(plan.url)}  # the service's landing page",
        f"execution_url={sh(plan.execution_url)}",
        f"body={sh(json_text(plan.body))}",
        f"requested={sh(json_text(plan.requested))}  # outputs the request names",
    ]
    if plan.mode == "auto":
        lines += [
            "# 'auto': the process's own preference (its first job control option), as eo-jlab.",
            f"process_url={sh(plan.process_url)}",
            'call "$process_url" -fsS -H \'Accept: application/json\' -o "$answer"',
            'asynchronous=$(jq -r \'[.jobControlOptions[]? | select(. == "sync-execute" or '
            '. == "async-execute")][0] == "async-execute"\' "$answer")',
        ]
    else:
        lines.append(f"asynchronous={'true' if plan.mode == 'async' else 'false'}")
    lines += [
        "prefer=()",
        "if [ \"$asynchronous\" = true ]; then prefer=(-H 'Prefer: respond-async'); fi",
        'status=$(printf \'%s\' "$body" | call "$execution_url" -sS -D "$headers" '
        "-o \"$answer\" -w '%{http_code}' \\",
        "  -X POST -H 'Content-Type: application/json' -H 'Accept: application/json' "
        '"${prefer[@]}" --data-binary @-)',
        'case "$status" in',
        "  2*) ;;",
        '  *) echo "The service answered HTTP $status: $(head -c 500 "$answer")" >&2; exit 1 ;;',
        "esac",
        'if [ "$status" = 201 ] || [ "$status" = 202 ] ||',
        '  jq -e \'type == "object" and has("jobID") and has("status")\' "$answer" '
        ">/dev/null 2>&1; then",
        "  # The job runs on: follow it at the URL the service gave.",
        "  location=$(header location)",
        '  if [ -n "$location" ]; then',
        '    job_url=$(absolute "$location" "$execution_url")',
        "  else",
        '    job_url=$(link \'["monitor","status","http://www.opengis.net/def/rel/ogc/1.0/job"]\')',
        '    if [ -n "$job_url" ]; then',
        '      job_url=$(absolute "$job_url" "$execution_url")',
        "    else",
        '      job_url="$url/jobs/$(jq -r \'.jobID\' "$answer")"',
        "    fi",
        "  fi",
    ]
    follow = "".join(("  " + line if line else "") + "\n" for line in FOLLOW_OGC.splitlines())
    code = (
        HEADER
        + _auth(plan.auth)
        + OGC_HELPERS
        + "\n"
        + "\n".join(lines)
        + "\n"
        + follow
        + "fi\n"
        + "print_results\n"
    )
    return code, ["bash", "curl", "jq"]


def render_job(plan: JobPlan, widgets: bool) -> tuple[str, list[str]]:
    if plan.status_url is None:
        results = {res["id"]: res.get("href", res.get("value")) for res in plan.results}
        files = ""
        if plan.sandbox:  # its results by reference are files of the sandbox
            results.update({r["id"]: sandbox_path(r["href"]) for r in plan.results if "href" in r})
            files = "".join(
                f'results=$(printf \'%s\' "$results" | jq --arg file "$(sandbox_file '
                f"{sh(sandbox_path(res['href']))})\" --arg id {sh(res['id'])} '.[$id] = $file')\n"
                for res in plan.results
                if "href" in res
            )
        code = (
            HEADER
            + (_sandbox(plan.sandbox, connect=False) if plan.sandbox else "")
            + "# This job ran synchronously: the service keeps no record of it to ask for again.\n"
            + "# Its status and results as eo-jlab received them:\n"
            + f"status={sh(plan.status)}\n"
            + f"error={sh(plan.error or '')}\n"
            + f"results={sh(json_text(results))}  # output id: link (by reference) or value\n"
            + files
            + 'echo "status: $status"\n'
            + 'if [ "$status" != successful ]; then\n'
            + '  echo "The job ended $status: ${error:-no reason given}" >&2\n'
            + "  exit 1\n"
            + "fi\n"
            + "printf '%s' \"$results\" | jq -r "
            + sh(
                'to_entries[] | "\\(.key): \\(.value | if type == "string" then . else tojson end)"'
            )
            + "\n"
        )
        return code, ["bash", "jq"]
    if plan.protocol == "wps":
        status = f"status_url={sh(plan.status_url)}  # the job's status document\n"
        if plan.sandbox:
            path = sh(urlsplit(plan.status_url).path)
            status = f'status_url="$sandbox_url"{path}  # where the sandbox runs now\n'
        code = (
            HEADER
            + (_sandbox(plan.sandbox, connect=True) if plan.sandbox else _auth(plan.auth))
            + WPS_HELPERS
            + "\n"
            + status
            + 'call "$status_url" -sS -o "$doc" || true\n'
            + _follow(plan.sandbox)
        )
        return code, ["bash", "curl", "xmllint", "jq"]
    code = (
        HEADER
        + _auth(plan.auth)
        + OGC_HELPERS
        + f"\njob_url={sh(plan.status_url)}  # the job at the service\n"
        + FOLLOW_OGC
        + "print_results\n"
    )
    return code, ["bash", "curl", "jq"]
