"""Python snippets for process executions and jobs: OWSLib for WPS 1.0.0, requests for OGC API -
Processes. The ``widgets`` flavour shows a job's progress with ipywidgets instead of printing it
(process targets) or follows an eo-jlab job with ``eo_jlab.widgets.JobProgress`` (job targets)."""

from __future__ import annotations

from urllib.parse import urlsplit

from .processing import Auth, JobPlan, ProcessPlan, WpsInput, sandbox_path
from .quoting import py

REPORT = '''\
def report(status, progress, message):
    """One line per status the service reports."""
    percent = "" if progress is None else f" {progress}%"
    print(f"{status}{percent} {message or ''}".rstrip())
'''

REPORT_WIDGETS = '''\
bar = ipywidgets.IntProgress(min=0, max=100, description="submitted")
note = ipywidgets.Label()
display(ipywidgets.HBox([bar, note]))


def report(status, progress, message):
    """The progress bar follows the status the service reports."""
    bar.description = str(status)
    bar.value = int(progress or 0)
    note.value = str(message or "")
'''

PRINT_RESULTS = """\
for name, value in results.items():
    print(f"{name}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}")
"""

# After ``execution`` was submitted (or pointed at a status document): follow it to its end and
# read its outputs the way eo-jlab does (references as links, JSON content parsed).
REPORT_WPS = "report(execution.status, execution.percentCompleted, execution.statusMessage)\n"
WAIT_WPS = """\
failures = 0
while not execution.isComplete():
    time.sleep(1)
    execution.response = None
    execution.checkStatus(sleepSecs=0)
    if execution.response is None:  # unreadable (caught half written?): read it again
        failures += 1
        if failures == 10:
            raise RuntimeError(f"The status document {execution.statusLocation} cannot be read.")
        continue
    failures = 0
    report(execution.status, execution.percentCompleted, execution.statusMessage)
"""

READ_WPS = (
    """\
if not execution.isSucceeded():
    reasons = "; ".join(e.text or e.code or "" for e in execution.errors)
    reasons = reasons or execution.statusMessage or execution.status
    raise RuntimeError(f"The process failed: {reasons}")

JSON_TYPES = ("application/json", "application/geo+json", "application/vnd.geo+json")
# CRS spellings whose corners come latitude first (OWSLib swaps the corners of more codes).
LAT_FIRST = ("urn:ogc:def:crs:epsg::4326", "urn:ogc:def:crs:epsg:6.6:4326",
             "urn:x-ogc:def:crs:epsg:4326", "http://www.opengis.net/def/crs/epsg/0/4326",
             "http://www.opengis.net/gml/srs/epsg.xml#4326")


def bbox_value(box):  # as eo-jlab gives a bounding box: [west, south, east, north], CRS
    crs = box.crs.id if box.crs else "urn:ogc:def:crs:OGC:1.3:CRS84"
    corners = (box.minx, box.miny, box.maxx, box.maxy)
    if None in corners:
        return {"bbox": None, "crs": crs}
    x0, y0, x1, y1 = (float(v) for v in corners)
    if (box.crs is not None and box.crs.axisorder == "yx") != (crs.strip().lower() in LAT_FIRST):
        x0, y0, x1, y1 = y0, x0, y1, x1  # the corners in the order the service wrote them
    return {"bbox": [x0, y0, x1, y1], "crs": crs}


results = {}  # output id: link (by reference) or value
for output in execution.processOutputs:
    if output.reference:
        results[output.identifier] = output.reference
        continue
    value = output.data[0] if output.data else None
    if isinstance(value, bytes):  # XML content
        value = value.decode("utf-8")
    if output.dataType == "BoundingBoxData" and value is not None:
        value = bbox_value(value)
    if output.dataType == "ComplexData" and (output.mimeType or JSON_TYPES[0]) in JSON_TYPES:
        try:
            value = json.loads(value)
        except (TypeError, ValueError):
            pass
    results[output.identifier] = value
"""
    + PRINT_RESULTS
)

LINKS = '''\
JSON = {"Accept": "application/json"}
RESULTS = ("http://www.opengis.net/def/rel/ogc/1.0/results", "results")
MONITOR = ("monitor", "status", "http://www.opengis.net/def/rel/ogc/1.0/job")


def link(document, rels, base):
    """The first JSON link of ``document`` with one of ``rels``, absolute."""
    for entry in document.get("links") or [] if isinstance(document, dict) else []:
        json_type = "json" in (entry.get("type") or "json")
        if entry.get("rel") in rels and entry.get("href") and json_type:
            return urljoin(base, entry["href"])
    return None


def outputs_of(response, requested=()):
    """{output id: link or value} of a results document, or of a raw answer."""
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    fallback = requested[0] if len(requested) == 1 else "result"
    if not (kind == "application/json" or kind.endswith("+json")):
        text = kind.startswith("text/") or kind.endswith("xml")
        return {fallback: response.text if text else response.content}
    body = response.json()

    def one(value):
        if isinstance(value, dict) and "href" in value:
            return value["href"]
        if isinstance(value, dict) and "value" in value:
            return value["value"]
        return value

    if isinstance(body, dict):
        outputs = body.get("outputs")
        if isinstance(outputs, list):
            return {str(o.get("id", fallback)): one(o) for o in outputs if isinstance(o, dict)}
        if isinstance(outputs, dict):
            return {key: one(value) for key, value in outputs.items()}
        if isinstance(body.get("id"), str) and ("value" in body or "href" in body):
            return {body["id"]: one(body)}
        if requested and set(body) <= set(requested) or not requested and body:
            return {key: one(value) for key, value in body.items()}
    return {fallback: body}
'''

# Follow ``job_url`` to the end of the job, then read its results.
FOLLOW_OGC = """\
while True:
    answer = requests.get(job_url, headers={**JSON, **auth_for(job_url)}, timeout=60)
    if answer.status_code in (404, 410):
        raise RuntimeError("The service no longer knows this job (dismissed or expired).")
    answer.raise_for_status()
    job = answer.json()
    status = {"succeeded": "successful"}.get(str(job["status"]).lower(), str(job["status"]).lower())
    report(status, job.get("progress"), job.get("message"))
    if status in ("successful", "failed", "dismissed"):
        break
    time.sleep(1)
if status != "successful":
    raise RuntimeError(f"The job ended {status}: {job.get('message') or 'no reason given'}")
results_url = link(job, RESULTS, job_url) or job_url.rstrip("/") + "/results"
response = requests.get(results_url, headers={**JSON, **auth_for(results_url)}, timeout=60)
response.raise_for_status()
requested = []
"""


# The local sandbox: no address and no token in the code (both change at each start).
SANDBOX = """\
# The local sandbox writes its address and token here each time it starts.
CONNECTION = Path(__PATH__).expanduser()
"""
SANDBOX_CONNECT = """\
if not CONNECTION.is_file():
    raise RuntimeError(f"The local sandbox is not running ({CONNECTION} is missing): start it "
                       "in eo-jlab's Processes section.")
sandbox = json.loads(CONNECTION.read_text(encoding="utf-8"))
AUTH = {"Authorization": "Bearer " + sandbox["token"]}  # for the sandbox only
"""
SANDBOX_FILE = '''

def sandbox_file(href):
    """A result of the sandbox as its file here (outputs outlive the sandbox), else href."""
    parts = urlsplit(href)
    names = parts.path.split("/")[2:]
    if (parts.hostname in (None, "127.0.0.1", "localhost") and parts.path.startswith("/outputs/")
            and ".." not in names):
        return str(CONNECTION.parent.joinpath("outputs", *names))
    return href
'''
REFERENCE = "results[output.identifier] = output.reference"


def _sandbox(path: str, connect: bool) -> tuple[list[str], str]:
    """Imports and code finding the sandbox through its connection file ``path``: ``sandbox``
    (url, wps, token) and ``AUTH`` when ``connect``; ``sandbox_file(href)`` always."""
    imports = ["from pathlib import Path", "from urllib.parse import urlsplit"]
    code = SANDBOX.replace("__PATH__", py(path))
    if connect:
        imports.append("import json")
        code += SANDBOX_CONNECT
    return imports, code + SANDBOX_FILE


def _sandbox_results(read: str) -> str:
    """``READ_WPS`` with the sandbox's results by reference as their files."""
    assert REFERENCE in read
    return read.replace(REFERENCE, "results[output.identifier] = sandbox_file(output.reference)")


def _auth(auth: Auth | None) -> tuple[list[str], str]:
    """Imports and code defining ``auth_for(url)``: the credentials' headers for URLs of the
    endpoint's origin (read from the environment), else none."""
    if auth is None:
        return [], "def auth_for(url):\n    return {}  # the service needs no credentials\n"
    imports = ["import os", "from urllib.parse import urlsplit"]
    lines = [
        "# The service's credentials come from the environment, never from the notebook.",
        "def secret(name):",
        "    value = os.environ.get(name)",
        "    if not value:",
        "        raise RuntimeError(f\"Set the environment variable {name} (the service's "
        'credentials).")',
        "    return value",
        "",
        "",
    ]
    if auth.kind == "bearer":
        lines.append(f'AUTH = {{"Authorization": "Bearer " + secret({py(auth.token_env)})}}')
    else:
        imports.insert(0, "import base64")
        user = f"secret({py(auth.username_env)})" if auth.username_env else py(auth.username)
        lines += [
            f'_pair = {user} + ":" + secret({py(auth.password_env)})',
            'AUTH = {"Authorization": "Basic " + base64.b64encode(_pair.encode()).decode()}',
        ]
    lines += [
        f"ORIGIN = urlsplit({py(auth.origin)})[:2]",
        "",
        "",
        "def auth_for(url):",
        '    """Credentials go to the service\'s own origin only."""',
        "    return AUTH if urlsplit(url)[:2] == ORIGIN else {}",
    ]
    return imports, "\n".join(lines) + "\n"


def _ordered(imports: list[str]) -> list[str]:
    unique = set(imports)
    plain = sorted((i for i in unique if i.startswith("import ")), key=str.lower)
    return plain + sorted((i for i in unique if i.startswith("from ")), key=str.lower)


def _header(imports: list[str], third_party: list[str], widgets: bool) -> str:
    if widgets:
        third_party = [*third_party, "import ipywidgets", "from IPython.display import display"]
    code = "\n".join(_ordered(imports)) + "\n"
    if third_party:
        code += "\n" + "\n".join(_ordered(third_party)) + "\n"
    code += "\n\n" + (REPORT_WIDGETS if widgets else REPORT) + "\n"
    return code


def _owslib_input(found: WpsInput) -> str:
    if found.kind == "literal":
        return py(found.value or "")
    if found.kind == "bbox":
        return (
            f"BoundingBoxDataInput({py(found.corners)}, crs={py(found.crs)}, "
            f"dimensions={found.dimensions})"
        )
    args = [py(found.value or "")]
    for name, value in (
        ("mimeType", found.mime_type),
        ("encoding", found.encoding),
        ("schema", found.schema),
    ):
        if value:
            args.append(f"{name}={py(value)}")
    if found.kind == "reference":
        return f"ComplexDataInput({', '.join(args)})"
    if found.xml:
        return f"XmlContent({', '.join(args)})"
    if _looks_like_reference(found.value or ""):
        return f"InlineContent({', '.join(args)})"
    return f"ComplexDataInput({', '.join(args)})"


def _looks_like_reference(value: str) -> bool:
    """OWSLib's own test (``owslib.wps.is_reference``): any URL scheme means a reference."""
    try:
        return bool(urlsplit(value).scheme)
    except ValueError:
        return False


INLINE_CONTENT = '''

class InlineContent(ComplexDataInput):
    """Content sent inline, even when OWSLib would take it for a link (it has a colon)."""

    def getXml(self):
        return self.complexDataRaw()
'''

XML_CONTENT = '''

class XmlContent(ComplexDataInput):
    """XML content embedded as XML in the request (OWSLib would send it as text)."""

    def getXml(self):
        data = self.complexDataRaw()
        data[0].text = None
        data[0].append(etree.fromstring(self.value.encode("utf-8")))
        return data
'''


def render_process(plan: ProcessPlan, widgets: bool) -> tuple[str, list[str]]:
    if plan.protocol == "wps":
        code, requires = _wps_process(plan, widgets)
    else:
        code, requires = _ogcapi_process(plan, widgets)
    if widgets:
        requires = [*requires, "ipywidgets"]
    return code, requires


def _wps_process(plan: ProcessPlan, widgets: bool) -> tuple[str, list[str]]:
    kinds = {i.kind for i in plan.inputs}
    owslib = ["ASYNC" if plan.use_async else "SYNC", "WebProcessingService"]
    if "bbox" in kinds:
        owslib.append("BoundingBoxDataInput")
    if kinds & {"reference", "complex"}:
        owslib.append("ComplexDataInput")
    extras = ""
    # constants first, then classes (isort's order by type)
    names = sorted(owslib, key=lambda name: (not name.isupper(), name))
    third_party = [f"from owslib.wps import {', '.join(names)}"]
    if any(i.kind == "complex" and i.xml for i in plan.inputs):
        third_party.insert(0, "from lxml import etree")
        extras += XML_CONTENT
    if any(
        i.kind == "complex" and not i.xml and _looks_like_reference(i.value or "")
        for i in plan.inputs
    ):
        extras += INLINE_CONTENT
    auth_imports, auth_code = _auth(plan.auth)
    url = f"url = {py(plan.url)}  # the WPS 1.0.0 service\n"
    read = READ_WPS
    if plan.sandbox:
        auth_imports, auth_code = _sandbox(plan.sandbox, connect=True)
        url = 'url = sandbox["wps"]  # the WPS 1.0.0 service of the sandbox, where it runs now\n'
        read = _sandbox_results(read)
    inputs = "".join(f"    ({py(i.id)}, {_owslib_input(i)}),\n" for i in plan.inputs)
    outputs = "".join(
        f"    ({py(o.id)}, {py(o.reference)}, {py(o.mime_type)}),\n" for o in plan.outputs
    )
    headers = ", headers=AUTH" if plan.auth or plan.sandbox else ""
    code = (
        _header(["import json", "import time", *auth_imports], third_party, widgets)
        + extras
        + "\n"
        + (auth_code + "\n" if plan.auth or plan.sandbox else "")
        + url
        + f"process_id = {py(plan.process)}\n"
        + "# The inputs as eo-jlab sends them: literal values as text, complex data inline or by\n"
        + "# reference, bounding box corners in the axis order of their CRS.\n"
        + "inputs = [\n"
        + inputs
        + "]\n"
        + "# (output, as reference, media type); none listed: every output, as the service likes\n"
        + ("outputs = [\n" + outputs + "]\n" if outputs else "outputs = []\n")
        + f"wps = WebProcessingService(url, skip_caps=True{headers})\n"
        + "execution = wps.execute(process_id, inputs, output=outputs, "
        + f"mode={'ASYNC' if plan.use_async else 'SYNC'})\n"
        + REPORT_WPS
        + (WAIT_WPS if plan.use_async else "")
        + read
    )
    return code, ["OWSLib"]


def _ogcapi_process(plan: ProcessPlan, widgets: bool) -> tuple[str, list[str]]:
    auth_imports, auth_code = _auth(plan.auth)
    lines = [
        f"url = {py(plan.url)}  # the service's landing page",
        f"execution_url = {py(plan.execution_url)}",
        f"body = {py(plan.body)}",
        f"requested = {py(plan.requested)}  # outputs the request names",
    ]
    if plan.mode == "auto":
        lines += [
            "# 'auto': the process's own preference (its first job control option), as eo-jlab.",
            f"process_url = {py(plan.process_url)}",
            "answer = requests.get(process_url, headers={**JSON, **auth_for(process_url)}, "
            "timeout=60)",
            "answer.raise_for_status()",
            'options = [o for o in answer.json().get("jobControlOptions") or []',
            '           if o in ("sync-execute", "async-execute")]',
            'asynchronous = bool(options) and options[0] == "async-execute"',
        ]
    else:
        lines.append(f"asynchronous = {py(plan.mode == 'async')}")
    lines += [
        "headers = {**JSON, **auth_for(execution_url)}",
        "if asynchronous:",
        '    headers["Prefer"] = "respond-async"',
        "response = requests.post(execution_url, json=body, headers=headers, timeout=300)",
        "if response.status_code >= 400:",
        '    raise RuntimeError(f"The service answered HTTP {response.status_code}: "',
        '                       f"{response.text[:500]}")',
        "try:",
        "    document = response.json() if response.content.strip() else None",
        "except ValueError:",
        "    document = None",
        "if response.status_code in (201, 202) or (",
        '    isinstance(document, dict) and "jobID" in document and "status" in document',
        "):",
        "    # The job runs on: follow it at the URL the service gave.",
        '    location = response.headers.get("Location")',
        "    job_url = (urljoin(response.url, location) if location else",
        "               link(document, MONITOR, response.url) or",
        '               url + "/jobs/" + str(document["jobID"]))',
    ]
    follow = "".join(("    " + line if line else "") + "\n" for line in FOLLOW_OGC.splitlines())
    code = (
        _header(
            ["import json", "import time", "from urllib.parse import urljoin", *auth_imports],
            ["import requests"],
            widgets,
        )
        + "\n"
        + LINKS
        + "\n\n"
        + auth_code
        + "\n\n"
        + "\n".join(lines)
        + "\n"
        + follow
        + "results = outputs_of(response, requested)\n"
        + PRINT_RESULTS
    )
    return code, ["requests"]


def render_job(plan: JobPlan, widgets: bool) -> tuple[str, list[str]]:
    if widgets:
        code = (
            "from eo_jlab.widgets import JobProgress\n\n"
            "# The job followed live from eo-jlab's job store; job.results once it ends.\n"
            f"job = JobProgress({py(plan.job_id)})\n"
            "job\n"
        )
        return code, ["eo_jlab", "ipywidgets"]
    if plan.status_url is None:
        return _job_results(plan)
    auth_imports, auth_code = _auth(plan.auth)
    if plan.protocol == "wps":
        status = f"status_url = {py(plan.status_url)}  # the job's status document\n"
        read = READ_WPS
        if plan.sandbox:
            auth_imports, auth_code = _sandbox(plan.sandbox, connect=True)
            path = urlsplit(plan.status_url).path
            status = (
                f'status_url = sandbox["url"] + {py(path)}  # the status document, where the '
                "sandbox runs now\n"
            )
            read = _sandbox_results(read)
        headers = "headers=AUTH" if plan.auth or plan.sandbox else ""
        code = (
            _header(
                ["import json", "import time", *auth_imports],
                ["from owslib.wps import WPSExecution"],
                False,
            )
            + "\n"
            + (auth_code + "\n" if plan.auth or plan.sandbox else "")
            + status
            + f"execution = WPSExecution({headers})\n"
            + "for attempt in range(5):  # a status document caught half written is read again\n"
            + "    execution.checkStatus(url=status_url, sleepSecs=0)\n"
            + "    if execution.status:\n"
            + "        break\n"
            + "    time.sleep(1)\n"
            + "else:\n"
            + '    raise RuntimeError(f"No status document could be read at {status_url}.")\n'
            + REPORT_WPS
            + WAIT_WPS
            + read
        )
        return code, ["OWSLib"]
    code = (
        _header(
            ["import json", "import time", "from urllib.parse import urljoin", *auth_imports],
            ["import requests"],
            False,
        )
        + "\n"
        + LINKS
        + "\n\n"
        + auth_code
        + "\n\n"
        + f"job_url = {py(plan.status_url)}  # the job at the service\n"
        + FOLLOW_OGC
        + "results = outputs_of(response, requested)\n"
        + PRINT_RESULTS
    )
    return code, ["requests"]


def _job_results(plan: JobPlan) -> tuple[str, list[str]]:
    """A job that ran synchronously: the service keeps no record of it."""
    results = {r["id"]: py(r.get("href", r.get("value"))) for r in plan.results}
    head = "import json\n\n"
    if plan.sandbox:  # its results by reference are files of the sandbox
        imports, sandbox = _sandbox(plan.sandbox, connect=False)
        head = "\n".join(_ordered(["import json", *imports])) + "\n\n" + sandbox + "\n\n"
        results.update(
            {
                r["id"]: f"sandbox_file({py(sandbox_path(r['href']))})"
                for r in plan.results
                if "href" in r
            }
        )
    code = (
        head + "# This job ran synchronously: the service keeps no record of it to ask for again.\n"
        "# Its status and results as eo-jlab received them:\n"
        f"status = {py(plan.status)}\n"
        f"error = {py(plan.error)}\n"
        "results = {  # output id: link (by reference) or value\n"
        + "".join(f"    {py(k)}: {v},\n" for k, v in results.items())
        + "}\n"
        'print(f"status: {status}")\n'
        'if status != "successful":\n'
        "    raise RuntimeError(f\"The job ended {status}: {error or 'no reason given'}\")\n"
        + PRINT_RESULTS
    )
    return code, []
