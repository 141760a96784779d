"""Process and job snippets, EXECUTED against the real PyWPS and pygeoapi servers: python and R in
real kernels, shell with bash. Each execution is also run through the REST API
(``POST processing/{sid}/processes/{pid}/execution``, followed to its end) and the snippet must
print the same results; then the job snippet of that REST job must print them too.

Hostile input values (quotes, backslashes, newlines, ``$(...)``, backticks, string breakouts,
``]]>``, unicode) must reach the service as data, never run, and come back unchanged."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path

import pytest

from .kernels import Kernel, has_kernel, run_bash
from .servers.pygeoapi import pygeoapi_url  # noqa: F401  (session fixture)
from .servers.pywps import POLYGON, pywps_url  # noqa: F401  (session fixture)

pytestmark = pytest.mark.timeout(600)

LANGUAGES = ("python", "r", "shell")
CANARY = "pwned"
HOSTILE = [
    "a'b\"c\\d\ne$(touch pwned)`touch pwned` ]]> <x/> &amp;",
    '"); system("touch pwned"); ("\'\'\'; __import__("os").system("touch pwned"); \'\'\'',
    "\\\"\\'\\n\t é ✓ 😀 ${HOME} '\\'' %s {x} \\u00e9 <b>",
]


def pywps_echoable(text: str) -> str:
    """PyWPS 4.8 answers no XML when a complex output it echoes holds "]]>" or "<" (it writes
    them as they are): such values go in literal inputs only."""
    return text.replace("]]>", "]] >").replace("<", "‹")


def data_url(wps_url: str, name: str) -> str:
    return wps_url.rsplit("/wps", 1)[0] + "/data/" + name


# (service, process, execution request); the data URL is filled in per session.
CASES = {
    "wps-echo-sync": (
        "wps",
        "echo",
        {
            "inputs": {
                "message": "hello",
                "count": 3,
                "factor": 2.5,
                "tags": ["a", "b"],
                "area": {"bbox": [10.5, 45.25, 11.75, 46.5], "crs": "urn:ogc:def:crs:EPSG::4326"},
                "geometry": {"href": "DATA/polygon.geojson", "mime_type": "application/geo+json"},
            },
            "mode": "auto",  # echo runs synchronously only
        },
    ),
    "wps-buffer-async-reference": (
        "wps",
        "buffer",
        {
            "inputs": {"polygon": POLYGON, "distance": 0.5},  # a plain value: complex inline
            "outputs": {"buffered": {"reference": True, "mime_type": "application/geo+json"}},
            "mode": "async",
        },
    ),
    "wps-echo-crs84-inline": (
        "wps",
        "echo",
        {
            "inputs": {
                "message": "bye",
                "count": 10,
                "area": {"bbox": [0, 0, 1, 1]},  # the description's default CRS
                "geometry": {"value": POLYGON, "mime_type": "application/json"},
            },
            "mode": "sync",
        },
    ),
    "ogc-hello-auto": (
        "ades",
        "hello-world",
        {"inputs": {"name": "Ada", "message": "hi"}, "mode": "auto"},  # as pygeoapi prefers
    ),
    "ogc-slow-async": (
        "ades",
        "slow",
        {
            "inputs": {
                "steps": 2,
                "colour": "green",
                "tags": ["x", "y"],
                "area": {
                    "bbox": [1, 2, 3, 4],
                    "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                },
                "data": {"href": "http://example.invalid/x.geojson"},
            },
            "outputs": {"count": {}},
            "mode": "async",
        },
    ),
}


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def eo_config(pygeoapi_url, pywps_url):  # noqa: F811
    return {
        "processing": [
            {"id": "ades", "title": "pygeoapi", "protocol": "ogcapi", "url": pygeoapi_url},
            {"id": "wps", "title": "PyWPS", "protocol": "wps", "url": pywps_url},
            {"id": "sandbox", "protocol": "sandbox"},
        ],
    }


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """Where the code runs: a hostile snippet would create the canary here."""
    return tmp_path_factory.mktemp("process-snippet-work")


@pytest.fixture(autouse=True)
def _no_canary(work):
    places = [work / CANARY, Path.cwd() / CANARY]
    before = [p.exists() for p in places]
    yield
    assert [p.exists() for p in places] == before, "a command from a hostile value ran"


@pytest.fixture(scope="module")
def kernels(work):
    if not has_kernel("ir"):
        pytest.fail("the IR kernel is not installed: run `make .make/kernels`")
    started = {"python": Kernel("python3", work), "r": Kernel("ir", work)}
    yield started
    for kernel in started.values():
        kernel.stop()


@pytest.fixture
def call(jp_fetch):
    async def request(*path, method="GET", body=None):
        response = await jp_fetch(
            "eo-jlab", *path, method=method, raise_error=False,
            body=json.dumps(body) if body is not None else None,
        )  # fmt: skip
        return response.code, json.loads(response.body)

    return request


@pytest.fixture
def snippet(call):
    async def make(target: dict, language: str, flavour: str = "portable") -> dict:
        status, answer = await call(
            "snippets",
            method="POST",
            body={"target": target, "language": language, "flavour": flavour},
        )
        assert status == 200, answer
        assert answer["language"] == language and isinstance(answer["requires"], list)
        return answer

    return make


@pytest.fixture
def rest_job(call):
    async def run(service: str, process: str, request: dict, timeout: float = 60) -> dict:
        status, job = await call(
            "processing", service, "processes", process, "execution", method="POST", body=request
        )
        assert status in (200, 201), job
        deadline = time.monotonic() + timeout
        while job["status"] not in ("successful", "failed", "dismissed"):
            assert time.monotonic() < deadline, job
            await asyncio.sleep(0.2)
            status, job = await call("jobs", job["id"])
            assert status == 200, job
        return job

    return run


# --- helpers --------------------------------------------------------------------------------


def execute(kernels, work: Path, language: str, code: str, expect_error: bool = False):
    if language == "shell":
        run = run_bash(code, work, timeout=120)
    else:
        run = kernels[language].run(code, timeout=120)
    if not expect_error:
        run.check(code)
    return run


def printed(stdout: str, name: str) -> str:
    """The text the code printed for one output (its last ``name: text`` line)."""
    lines = [line for line in stdout.splitlines() if line.startswith(f"{name}: ")]
    assert lines, (name, stdout)
    return lines[-1][len(name) + 2 :]


def fetch(url: str):
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.loads(answer.read())


def same_result(result: dict, text: str, *, same_job: bool) -> None:
    """``text`` (printed by a snippet) is the REST job's ``result``."""
    if result.get("href"):
        if same_job:
            assert text == result["href"]
        else:  # another run of the process: another output file, the same content
            assert text.startswith(("http://", "https://")), text
            assert fetch(text) == fetch(result["href"])
        return
    value = result.get("value")
    if isinstance(value, str):
        if text == value:
            return
        assert json.loads(text) == json.loads(value), (text, value)
    else:
        assert json.loads(text) == value, (text, value)


def check_results(job: dict, stdout: str, *, same_job: bool) -> None:
    assert job["status"] == "successful", job
    assert job["results"], job
    for result in job["results"]:
        same_result(result, printed(stdout, result["id"]), same_job=same_job)


def request_of(case: str, wps_url: str) -> tuple[str, str, dict]:
    service, process, request = CASES[case]
    text = json.dumps(request).replace("DATA/", data_url(wps_url, ""))
    return service, process, json.loads(text)


# --- executed: processes and their jobs -------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
async def test_process_and_job_snippets_give_the_rest_results(
    case,
    snippet,
    rest_job,
    kernels,
    work,
    pywps_url,  # noqa: F811
):
    service, process, request = request_of(case, pywps_url)
    job = await rest_job(service, process, request)
    assert job["status"] == "successful", job
    target = {"kind": "process", "service": service, "process": process, "request": request}
    for language in LANGUAGES:
        made = await snippet(target, language)
        assert "eo_jlab" not in made["code"]
        run = execute(kernels, work, language, made["code"])
        check_results(job, run.stdout, same_job=False)
    for language in LANGUAGES:
        made = await snippet({"kind": "job", "job": job["id"]}, language)
        run = execute(kernels, work, language, made["code"])
        check_results(job, run.stdout, same_job=True)


# --- executed: failures, hostile values, widgets ------------------------------------------------


@pytest.mark.parametrize(
    ("service", "request_"),
    [
        ("wps", {"mode": "async"}),
        ("ades", {"inputs": {"reason": 'it\'s "broken" $(touch pwned)'}, "mode": "async"}),
    ],
)
async def test_failures_stop_the_code_with_the_service_reason(
    service, request_, snippet, rest_job, kernels, work
):
    job = await rest_job(service, "fail", request_)
    assert job["status"] == "failed", job
    reason = "Deliberate failure" if service == "wps" else "broken"
    assert reason in (job["error"] or ""), job
    targets = [
        {"kind": "process", "service": service, "process": "fail", "request": request_},
        {"kind": "job", "job": job["id"]},
    ]
    for target in targets:
        for language in LANGUAGES:
            made = await snippet(target, language)
            run = execute(kernels, work, language, made["code"], expect_error=True)
            assert run.error, (language, run.stdout, made["code"])
            said = f"{run.error}\n{run.stderr}"
            assert reason in said, (target["kind"], language, said)


@pytest.mark.parametrize(
    ("service", "process", "request_"),
    [
        (
            "wps",
            "echo",
            {
                "inputs": {
                    "message": "hello",
                    "count": 1,
                    "tags": HOSTILE,
                    "area": {"bbox": [-1.5, -2.25, 3, 4]},
                    "geometry": {
                        "value": {
                            **POLYGON,
                            "note": pywps_echoable(HOSTILE[0]),
                            "more": [pywps_echoable(text) for text in HOSTILE[1:]],
                        },
                        "mime_type": "application/geo+json",
                    },
                },
                "mode": "sync",
            },
        ),
        (
            "wps",
            "buffer",
            {  # "]]>" inside inline complex content (the request cannot use CDATA as is)
                "inputs": {"polygon": {**POLYGON, "note": HOSTILE[0]}, "distance": 0.25},
                "mode": "async",
            },
        ),
        (
            "ades",
            "hello-world",
            {"inputs": {"name": HOSTILE[0], "message": HOSTILE[1] + HOSTILE[2]}, "mode": "sync"},
        ),
    ],
)
async def test_hostile_values_travel_as_data(
    service, process, request_, snippet, rest_job, kernels, work
):
    job = await rest_job(service, process, request_)
    assert job["status"] == "successful", job
    if process != "buffer":
        echoed = json.dumps(job["results"], ensure_ascii=False)
        assert "touch pwned" in echoed and "😀" in echoed  # the service got them as they are
    target = {"kind": "process", "service": service, "process": process, "request": request_}
    for language in LANGUAGES:
        made = await snippet(target, language)
        run = execute(kernels, work, language, made["code"])
        same_printed(job, run.stdout, same_job=process != "buffer")
        made = await snippet({"kind": "job", "job": job["id"]}, language)
        run = execute(kernels, work, language, made["code"])
        same_printed(job, run.stdout, same_job=True)


def same_printed(job: dict, stdout: str, *, same_job: bool) -> None:
    """Like check_results, for values that may hold newlines (printed as they are)."""
    for result in job["results"]:
        value = result.get("value")
        if isinstance(value, str) and "\n" in value:
            assert f"{result['id']}: {value}\n" in stdout, stdout
        else:
            same_result(result, printed(stdout, result["id"]), same_job=same_job)


@pytest.mark.parametrize("service", ["ades", "wps"])
async def test_hostile_process_ids_never_run(service, call, kernels, work):
    for language in LANGUAGES:
        for process in HOSTILE[:2]:
            target = {"kind": "process", "service": service, "process": process, "request": {}}
            status, answer = await call(
                "snippets", method="POST", body={"target": target, "language": language}
            )
            if service == "wps":  # the adapter describes it first: no such process
                assert status == 404 and "no process" in answer["error"], answer
                continue
            if "\n" in process:  # no URL can hold it
                assert status == 400 and "URL" in answer["error"], answer
                continue
            assert status == 200, answer
            run = execute(kernels, work, language, answer["code"], expect_error=True)
            assert run.error, (language, run.stdout)  # the service has no such process


async def test_widgets_flavours(snippet, call, rest_job, kernels, work):
    # A process: the same run, its progress in an ipywidgets bar.
    service, process, request = CASES["ogc-slow-async"]
    target = {"kind": "process", "service": service, "process": process, "request": request}
    made = await snippet(target, "python", "widgets")
    assert "ipywidgets" in made["requires"] and "eo_jlab" not in made["code"]
    run = execute(kernels, work, "python", made["code"])
    assert any("application/vnd.jupyter.widget-view+json" in d for d in run.displays)
    assert printed(run.stdout, "count") == "2"

    # A job: eo_jlab.widgets.JobProgress in a kernel that sees this server's job store.
    status, job = await call(
        "processing", "wps", "processes", "slow", "execution", method="POST",
        body={"inputs": {"steps": 3}, "mode": "async"},
    )  # fmt: skip
    assert status == 201, job
    made = await snippet({"kind": "job", "job": job["id"]}, "python", "widgets")
    assert made["requires"] == ["eo_jlab", "ipywidgets"]
    kernel = Kernel("python3", work)  # started here: its JUPYTER_DATA_DIR is this server's
    try:
        run = kernel.run(made["code"]).check(made["code"])
        assert any("application/vnd.jupyter.widget-view+json" in d for d in run.displays)
        assert kernel.run("print(job.polling, job.status)").check().stdout.split()[0] == "True"
        deadline = time.monotonic() + 60
        while True:  # the server follows the job (its loop must run: await, never block)
            status, job = await call("jobs", job["id"])
            if job["status"] in ("successful", "failed", "dismissed"):
                break
            assert time.monotonic() < deadline, job
            await asyncio.sleep(0.2)
        assert job["status"] == "successful", job
        run = kernel.run(
            "import json\nprint(job.wait(20), job.polling, job.status, json.dumps(job.results))"
        ).check()
        done, polling, state, results = run.stdout.strip().split(" ", 3)
        assert (done, polling, state) == ("True", "False", "successful"), run.stdout
        assert json.loads(results) == job["results"]
    finally:
        kernel.stop()


# --- generation rules -------------------------------------------------------------------------


async def test_requires_and_refusals(snippet, call, rest_job):
    wps_echo = {"kind": "process", "service": "wps", "process": "echo", "request": {}}
    ades = {"kind": "process", "service": "ades", "process": "hello-world", "request": {}}
    expected = {
        ("python", "wps"): ["OWSLib"],
        ("r", "wps"): ["httr", "xml2", "jsonlite"],
        ("shell", "wps"): ["bash", "curl", "xmllint", "jq"],
        ("python", "ades"): ["requests"],
        ("r", "ades"): ["httr", "jsonlite", "xml2"],
        ("shell", "ades"): ["bash", "curl", "jq"],
    }
    for (language, service), requires in expected.items():
        target = wps_echo if service == "wps" else ades
        assert (await snippet(target, language))["requires"] == requires
    made = await snippet(ades, "python", "widgets")
    assert made["requires"] == ["requests", "ipywidgets"]

    async def refused(target, language="python", flavour="portable"):
        status, answer = await call(
            "snippets", method="POST",
            body={"target": target, "language": language, "flavour": flavour},
        )  # fmt: skip
        assert "Traceback" not in answer["error"]
        return status, answer["error"]

    status, error = await refused({**ades, "service": "sandbox"})
    assert status == 400 and "sandbox" in error
    status, error = await refused({**ades, "service": "nope"})
    assert status == 404 and "nope" in error
    status, error = await refused({"kind": "job", "job": "nope"})
    assert status == 404 and "nope" in error
    status, error = await refused({**wps_echo, "request": {"mode": "async"}})
    assert status == 400 and "cannot run asynchronously" in error
    status, error = await refused({**wps_echo, "request": {"inputs": {"bogus": 1}}})
    assert status == 400 and "bogus" in error
    status, error = await refused(ades, "r", "widgets")
    assert status == 400 and "widgets" in error
    job = await rest_job("ades", "hello-world", {"inputs": {"name": "x"}, "mode": "sync"})
    status, error = await refused({"kind": "job", "job": job["id"]}, "shell", "widgets")
    assert status == 400 and "widgets" in error


SECRET = "s3cr3t-value-never-in-code"


async def test_credentials_are_read_from_the_environment(
    call,
    kernels,
    work,
    jp_serverapp,
    pygeoapi_url,  # noqa: F811
    pywps_url,  # noqa: F811
):
    from eo_jlab.app import EOJLab, Services
    from eo_jlab.processing.base import ProcessDescription
    from eo_jlab.snippets import SnippetRequest, generate

    status, echo = await call("processing", "wps", "processes", "echo")
    assert status == 200
    services = Services(
        EOJLab(
            processing=[
                {"id": "ades", "protocol": "ogcapi", "url": pygeoapi_url,
                 "auth": {"type": "bearer", "token_env": "EO_JLAB_TEST_TOKEN"}},
                {"id": "wps", "protocol": "wps", "url": pywps_url,
                 "auth": {"type": "basic", "username": "ada'\"$(touch pwned)",
                          "password_env": "EO_JLAB_TEST_PASSWORD"}},
            ]
        )
    )  # fmt: skip
    _, process, request = request_of("wps-echo-sync", pywps_url)
    targets = {
        "ades": ({"kind": "process", "service": "ades", "process": "hello-world",
                  "request": {"inputs": {"name": "Ada"}, "mode": "sync"}}, None),
        "wps": ({"kind": "process", "service": "wps", "process": process, "request": request},
                ProcessDescription.model_validate(echo)),
    }  # fmt: skip
    setup = {
        "python": "import os\n"
        "os.environ['EO_JLAB_TEST_TOKEN'] = os.environ['EO_JLAB_TEST_PASSWORD'] = 'x'",
        "r": 'Sys.setenv(EO_JLAB_TEST_TOKEN = "x", EO_JLAB_TEST_PASSWORD = "x")',
        "shell": "export EO_JLAB_TEST_TOKEN=x EO_JLAB_TEST_PASSWORD=x\n",
    }
    unset = {
        "python": "os.environ.pop('EO_JLAB_TEST_TOKEN'); os.environ.pop('EO_JLAB_TEST_PASSWORD')",
        "r": 'Sys.unsetenv(c("EO_JLAB_TEST_TOKEN", "EO_JLAB_TEST_PASSWORD"))',
    }
    try:
        for service, (target, description) in targets.items():
            for language in LANGUAGES:
                made = generate(
                    SnippetRequest.model_validate({"target": target, "language": language}),
                    services,
                    description=description,
                )
                name = "EO_JLAB_TEST_TOKEN" if service == "ades" else "EO_JLAB_TEST_PASSWORD"
                assert name in made.code and SECRET not in made.code
                # Without the variable: a clear stop, naming it.
                code = made.code
                run = execute(kernels, work, language, code, expect_error=True)
                assert run.error and name in f"{run.error}{run.stderr}", (language, run.stderr)
                # With it: the same results as without credentials.
                if language == "shell":
                    run = execute(kernels, work, language, setup["shell"] + code)
                else:
                    kernels[language].run(setup[language]).check()
                    run = execute(kernels, work, language, code)
                    kernels[language].run(unset[language]).check()
                expected = "Hello Ada!" if service == "ades" else "hello"
                assert expected in run.stdout, run.stdout
    finally:
        await services.close()


def test_credential_names_must_be_identifiers():
    from eo_jlab.errors import BadRequest
    from eo_jlab.models import ProcessingEndpoint
    from eo_jlab.snippets.processing import auth_of

    endpoint = ProcessingEndpoint(
        id="x", protocol="ogcapi", url="http://h.example",
        auth={"type": "bearer", "token_env": "A B$(touch pwned)"},
    )  # fmt: skip
    with pytest.raises(BadRequest, match="environment variable"):
        auth_of(endpoint)


WPS = "{http://www.opengis.net/wps/1.0.0}"


def execute_document(xml: str | bytes) -> dict:
    """What a WPS Execute document asks, attribute defaults applied (``lineage`` and the
    literal ``dataType`` annotation aside: OWSLib writes the one, cannot write the other)."""
    from lxml import etree

    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)

    def ident(element):
        return element.find("{http://www.opengis.net/ows/1.1}Identifier").text

    inputs = []
    for element in root.iter(f"{WPS}Input"):
        reference = element.find(f"{WPS}Reference")
        literal = element.find(f"{WPS}Data/{WPS}LiteralData")
        content = element.find(f"{WPS}Data/{WPS}ComplexData")
        box = element.find(f"{WPS}Data/{WPS}BoundingBoxData")
        if reference is not None:
            attrs = {k.rsplit("}", 1)[-1]: v for k, v in reference.attrib.items()}
            inputs.append(("reference", ident(element), attrs))
        elif literal is not None:
            inputs.append(("literal", ident(element), literal.text or ""))
        elif content is not None:
            children = [c for c in content if isinstance(c.tag, str)]
            body = (
                etree.tostring(children[0], method="c14n", exclusive=True).decode()
                if children
                else content.text or ""
            )
            inputs.append(("complex", ident(element), dict(content.attrib), body))
        else:
            corners = [[float(v) for v in c.text.split()] for c in box]
            inputs.append(("bbox", ident(element), box.get("crs"), box.get("dimensions"), corners))
    document = root.find(f"{WPS}ResponseForm/{WPS}ResponseDocument")
    return {
        "process": ident(root),
        "inputs": inputs,
        "store": document.get("storeExecuteResponse", "false"),
        "status": document.get("status", "false"),
        "outputs": [
            (ident(o), o.get("asReference", "false"), o.get("mimeType"))
            for o in document.iter(f"{WPS}Output")
        ],
    }


@pytest.mark.parametrize(
    ("process", "inputs", "outputs", "mode"),
    [
        (
            "echo",
            {
                "message": "hello",
                "count": 3,
                "factor": True,
                "tags": ["a", {"k": "v"}, HOSTILE[0]],
                "area": {"bbox": [10.5, 45.25, 11.75, 46.5], "crs": "urn:ogc:def:crs:EPSG::4326"},
                "geometry": {"href": "http://h.example/p.json?a=1&b='2'", "mime_type": "a/b"},
            },
            None,
            "auto",
        ),
        (
            "echo",
            {  # XML embedded as XML; CRS84 by default; a URN-looking inline value
                "area": {"bbox": [-180, -90, 180, 90]},
                "geometry": {"value": "<g:a xmlns:g='urn:g'><g:b>x &amp; y</g:b></g:a>",
                             "mime_type": "text/xml"},
                "tags": "urn:x:y",
            },
            {"summary": {}, "geometry": {"reference": False, "mime_type": "text/xml"}},
            "sync",
        ),
        (
            "echo",
            {"geometry": {"value": "urn:ogc:inline-not-a-link", "mime_type": "text/plain",
                          "encoding": "utf-8", "schema": "http://s.example/x.xsd"}},
            None,
            "sync",
        ),
        ("buffer", {"polygon": {**POLYGON, "note": HOSTILE[0]}}, {"buffered": {"reference": True}},
         "auto"),
        ("slow", {}, None, "async"),
    ],
)  # fmt: skip
async def test_owslib_builds_the_adapters_execute_document(
    process, inputs, outputs, mode, call, jp_serverapp
):
    """The Python snippet's OWSLib inputs and outputs make the very request eo-jlab sends."""
    from owslib.wps import WPSExecution

    from eo_jlab.processing.base import ProcessDescription
    from eo_jlab.snippets import SnippetRequest, generate
    from eo_jlab.snippets.processing import wps_plan

    services = jp_serverapp.web_app.settings["eo_jlab_services"]
    status, body = await call("processing", "wps", "processes", process)
    assert status == 200, body
    description = ProcessDescription.model_validate(body)
    request = {"inputs": inputs, "mode": mode, **({"outputs": outputs} if outputs else {})}
    target = {"kind": "process", "service": "wps", "process": process, "request": request}
    made = generate(
        SnippetRequest.model_validate({"target": target, "language": "python"}),
        services,
        description=description,
    )
    text = json.dumps(inputs)
    assert ("XmlContent(" in made.code) == ("text/xml" in text)
    assert ("InlineContent(" in made.code) == ("inline-not-a-link" in text)
    head = made.code.split("wps = WebProcessingService(")[0]
    namespace: dict = {}
    exec(head, namespace)  # imports, classes, url, inputs and outputs: nothing is sent
    mode_ = namespace["ASYNC"] if "ASYNC" in namespace else namespace["SYNC"]
    built = WPSExecution().buildRequest(
        namespace["process_id"], namespace["inputs"], namespace["outputs"], mode=mode_
    )
    from lxml import etree

    adapter = services.processing.get("wps")
    from eo_jlab.processing.base import ExecutionRequest

    plan = wps_plan(
        services.endpoints.get("wps"), adapter, description, ExecutionRequest(**request)
    )
    sent = adapter._execute_document(description, ExecutionRequest(**request), plan.use_async)
    assert execute_document(etree.tostring(built)) == execute_document(sent)
    assert execute_document(plan.document) == execute_document(sent)  # the R / shell text
