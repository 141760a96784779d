"""Attack suite, outside review of the running demo (issue 18 finding 2, "no side effect behind
a GET"; issue 19 bug 2): the local PyWPS sandbox answers its token holder only.

The sandbox is a child process on a loopback port. Before, any local program (another user
of a shared host), any web page (a no-cors POST or an ``<img>`` GET from another origin) and
DNS rebinding could make it run the user's processes. Every case runs the real child with a
process that leaves a file when it runs (``mark``), and talks to it with raw HTTP requests.

1. Without the token (no header, a wrong one, a token in the URL), an Execute by POST or by
   KVP GET, a status document or an output is 403 with a sentence and runs nothing:
   test_requests_without_the_token_are_refused_and_run_nothing.
2. With the token but a foreign ``Host`` (DNS rebinding: evil.example, the sandbox's address
   under another name or port, no Host at all): 403, nothing runs:
   test_foreign_host_is_refused_even_with_the_token.
3. With the token but sent by a browser for a page: ``Origin: http://evil.example`` on a
   no-cors-like text/plain POST, ``Origin: null``, ``Sec-Fetch-Site: cross-site`` or
   ``same-site``: 403, nothing runs: test_browser_requests_are_refused_even_with_the_token.
4. With the token and the right Host the sandbox works, and eo-jlab's own REST execution (its
   HTTP client sends the token to that origin only) still does:
   test_the_token_holder_and_eo_jlab_are_served.
5. The token reaches no REST answer (config, processing, the sandbox's status/start/reload/log,
   processes, executions, jobs, exchanges, results, snippets in every language), no log line
   of the server or of the sandbox, no file of the data folder but the two 0600 files it lives
   in: test_the_token_is_in_no_answer_no_log_and_only_in_private_files.
6. ``GET processing/{sid}/sandbox`` reports and starts nothing; ``POST processing/{sid}/
   sandbox/start`` starts it: test_get_sandbox_status_does_not_start_the_sandbox.
   No other GET starts it either (it did: the process list and descriptions, and a job's
   result, started a stopped sandbox):
   ``GET processing/{sid}/processes`` and ``.../processes/{pid}`` of a stopped sandbox are
   409 with a sentence (start it from the Processes section) and it stays stopped:
   test_get_processes_of_a_stopped_sandbox_is_409_and_starts_nothing;
   ``GET jobs/{jid}/results/{output}`` of a sandbox job answers the file of the sandbox's
   outputs folder, read from disk with the results' type rule, and the sandbox stays stopped:
   test_results_of_a_stopped_sandbox_are_read_from_its_outputs_folder;
   a result's link that leaves that folder (``/outputs/../connection.json``, encoded dots,
   a symlink or a symlinked folder pointing out, a FIFO, a folder) is 403 with a sentence, a
   missing file 404, and nothing outside is read:
   test_result_links_out_of_the_outputs_folder_are_refused.
7. Python code for a sandbox job, generated before the sandbox restarts on another port with
   a new token, still follows the job and gives its result (a file of the sandbox's outputs)
   in a real kernel: test_job_code_still_gets_its_result_after_a_restart_on_another_port.
   The demo's example notebook reaches the sandbox the same way:
   test_the_demo_notebook_reaches_the_sandbox_with_its_token.
"""

# ruff: noqa: F811  (fixtures imported from test_sandbox are parameters of the tests)
from __future__ import annotations

import asyncio
import http.client
import json
import logging
import socket
import stat
from pathlib import Path

import pytest

from eo_jlab.demo import write_sandbox
from eo_jlab.errors import UpstreamError
from eo_jlab.processing.base import RemoteJob, Result

from .helpers import start_sandbox
from .test_sandbox import (  # noqa: F401  (fixtures)
    _execute,
    _png_size,
    _results,
    _until_final,
    call,
    kernels,
    sandbox_service,
)

MARK = """from pathlib import Path

from pywps import LiteralInput, LiteralOutput, Process

HERE = Path(__file__).parent


def _mark(request, response):
    name = request.inputs["name"][0].data
    (HERE / ("ran-" + name)).write_text("ran")
    response.outputs["done"].data = name
    return response


processes = [
    Process(_mark, identifier="mark", title="Leaves a file when it runs",
            inputs=[LiteralInput("name", "Name", data_type="string")],
            outputs=[LiteralOutput("done", "Done", data_type="string")],
            store_supported=True, status_supported=True),
]
"""

EXECUTE = """<?xml version="1.0" encoding="UTF-8"?>
<wps:Execute service="WPS" version="1.0.0" xmlns:wps="http://www.opengis.net/wps/1.0.0"
    xmlns:ows="http://www.opengis.net/ows/1.1">
  <ows:Identifier>mark</ows:Identifier>
  <wps:DataInputs><wps:Input><ows:Identifier>name</ows:Identifier>
    <wps:Data><wps:LiteralData>{name}</wps:LiteralData></wps:Data>
  </wps:Input></wps:DataInputs>
</wps:Execute>"""


@pytest.fixture
def sandbox_dir(tmp_path):
    folder = tmp_path / "sandbox"
    write_sandbox(folder)
    (folder / "mark.py").write_text(MARK)
    return folder


@pytest.fixture
def eo_config(sandbox_dir):
    return {
        "processing": [{"id": "sandbox", "title": "Local sandbox", "protocol": "sandbox"}],
        "sandbox_dir": str(sandbox_dir),
    }


@pytest.fixture
def log_text(caplog):
    caplog.set_level(logging.DEBUG)
    return lambda: caplog.text


def _raw(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""):
    """One request exactly as given (the Host header included, or none): (status, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        if body or method == "POST":
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


async def _send(port, method, path, headers, body=b""):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, _raw, port, method, path, headers, body)


async def _running(call, sandbox_service):
    """The sandbox started (by POST, as the Processes section does), its port and its token
    (None when it has no connection file)."""
    await start_sandbox(call)
    status, body, _ = await call("processing", "sandbox", "processes")
    assert status == 200 and "mark" in {p["id"] for p in body["processes"]}, body
    service = sandbox_service()
    port = int(service._base.rsplit(":", 1)[1])
    connection = service.state / "connection.json"
    token = json.loads(connection.read_text())["token"] if connection.exists() else None
    return port, token


def _bearer(token: str | None) -> dict[str, str]:
    """The token's header (none when the sandbox has no token: what a page could send)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def _execute_body(name: str) -> bytes:
    return EXECUTE.format(name=name).encode()


def _refusal(status: int, body: bytes) -> str:
    assert status == 403, body
    sentence = json.loads(body)["error"]
    assert sentence.endswith(".") and "Traceback" not in sentence, sentence
    return sentence


async def test_requests_without_the_token_are_refused_and_run_nothing(
    call, sandbox_service, sandbox_dir
):
    port, token = await _running(call, sandbox_service)
    host = {"Host": f"127.0.0.1:{port}"}
    xml = {**host, "Content-Type": "text/xml"}
    attempts = [
        ("POST", "/wps", xml, _execute_body("post")),
        ("POST", "/wps", {**xml, "Authorization": "Bearer wrong"}, _execute_body("wrong")),
        ("POST", "/wps", {**xml, "Authorization": "Basic " + "x" * 20}, _execute_body("basic")),
        ("POST", f"/wps?token={token}", xml, _execute_body("query")),
        ("GET", "/wps?service=WPS&request=Execute&version=1.0.0&identifier=mark"
                "&datainputs=name=get", host, b""),
        ("GET", "/wps?service=WPS&request=GetCapabilities", host, b""),
        ("GET", "/eo-jlab-sandbox/status", host, b""),
        ("POST", "/eo-jlab-sandbox/dismiss/0", host, b""),
        ("GET", "/outputs/", host, b""),
    ]  # fmt: skip
    for method, path, headers, body in attempts:
        status, answer = await _send(port, method, path, headers, body)
        assert "token" in _refusal(status, answer), (method, path)
    await asyncio.sleep(1)  # a job started asynchronously would have run by now
    assert sorted(p.name for p in sandbox_dir.glob("ran-*")) == []


async def test_foreign_host_is_refused_even_with_the_token(call, sandbox_service, sandbox_dir):
    port, token = await _running(call, sandbox_service)
    for host in (
        f"evil.example:{port}", "evil.example", f"127.0.0.1:{port + 1}", f"127.0.0.1.nip.io:{port}",
        f"localhost.evil.example:{port}", "127.0.0.1",
    ):  # fmt: skip
        headers = {"Host": host, **_bearer(token), "Content-Type": "text/xml"}
        status, answer = await _send(port, "POST", "/wps", headers, _execute_body("host"))
        assert "loopback address" in _refusal(status, answer), host
    headers = {**_bearer(token), "Content-Type": "text/xml"}  # no Host at all
    status, answer = await _send(port, "POST", "/wps", headers, _execute_body("nohost"))
    _refusal(status, answer)
    await asyncio.sleep(1)
    assert sorted(p.name for p in sandbox_dir.glob("ran-*")) == []


async def test_browser_requests_are_refused_even_with_the_token(call, sandbox_service, sandbox_dir):
    port, token = await _running(call, sandbox_service)
    base = {"Host": f"127.0.0.1:{port}", **_bearer(token)}
    for marks in (
        {"Origin": "http://evil.example", "Content-Type": "text/plain"},  # a no-cors POST
        {"Origin": "null", "Content-Type": "text/plain"},
        {"Origin": f"http://127.0.0.1:{port}"},
        {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        status, answer = await _send(port, "POST", "/wps", {**base, **marks}, _execute_body("web"))
        assert "web pages" in _refusal(status, answer), marks
    status, answer = await _send(
        port, "GET",
        "/wps?service=WPS&request=Execute&version=1.0.0&identifier=mark&datainputs=name=img",
        {**base, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "image"},
    )  # fmt: skip
    _refusal(status, answer)
    await asyncio.sleep(1)
    assert sorted(p.name for p in sandbox_dir.glob("ran-*")) == []


async def test_the_token_holder_and_eo_jlab_are_served(call, sandbox_service, sandbox_dir):
    port, token = await _running(call, sandbox_service)
    assert token, "the sandbox wrote no connection file"
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        headers = {"Host": host, "Authorization": f"Bearer {token}", "Content-Type": "text/xml",
                   "Sec-Fetch-Site": "none"}  # fmt: skip
        name = "direct" + str(len(list(sandbox_dir.glob("ran-*"))))
        status, answer = await _send(port, "POST", "/wps", headers, _execute_body(name))
        assert status == 200 and b"ProcessSucceeded" in answer, answer
        assert (sandbox_dir / f"ran-{name}").exists()

    # eo-jlab's own executions, sync and async (status documents and results fetched too).
    status, job, _ = await _execute(call, "mark", {"name": "rest"})
    assert status == 200 and job["status"] == "successful", job
    assert (sandbox_dir / "ran-rest").exists()
    status, job, _ = await _execute(call, "mark", {"name": "async"}, mode="async")
    assert status == 201, job
    job = await _until_final(call, job["id"])
    assert job["status"] == "successful" and _results(job)["done"]["value"] == "async", job
    status, job, _ = await _execute(call, "ndvi", {"bbox": {"bbox": [1.4, 43.6, 1.45, 43.65]}})
    status, png, _ = await call("jobs", job["id"], "results", "ndvi_png", raw=True)
    assert status == 200 and _png_size(png) == (25, 25)


async def test_the_token_is_in_no_answer_no_log_and_only_in_private_files(
    call, sandbox_service, sandbox_dir, jp_data_dir, log_text
):
    answers = []

    async def ask(*path, **kwargs):
        status, body, _ = await call(*path, raw=True, **kwargs)
        answers.append((path, status, body.decode("utf-8", "replace")))
        return status, body

    await ask("processing", "sandbox", "sandbox", "start", method="POST", body={})
    service = sandbox_service()
    token = json.loads(service.connection_path.read_text())["token"]
    await ask("config")
    await ask("processing")
    await ask("processing", "sandbox", "sandbox")
    await ask("processing", "sandbox", "processes")
    await ask("processing", "sandbox", "processes", "ndvi")
    _, body = await ask(
        "processing", "sandbox", "processes", "ndvi", "execution", method="POST",
        body={"inputs": {"bbox": {"bbox": [1.4, 43.6, 1.45, 43.65]}}, "mode": "async"},
    )  # fmt: skip
    job = await _until_final(call, json.loads(body)["id"])
    assert job["status"] == "successful", job
    _, body = await ask(
        "processing", "sandbox", "processes", "mark", "execution", method="POST",
        body={"inputs": {"name": "log"}, "mode": "sync"},
    )  # fmt: skip
    await ask("jobs")
    for job_id in (job["id"], json.loads(body)["id"]):
        await ask("jobs", job_id)
        await ask("jobs", job_id, "exchange")
        for language in ("python", "r", "shell"):
            target = {"kind": "job", "job": job_id}
            await ask("snippets", method="POST", body={"target": target, "language": language})
    await ask("jobs", job["id"], "results", "ndvi_png")
    for language in ("python", "r", "shell"):
        target = {"kind": "process", "service": "sandbox", "process": "mark",
                  "request": {"inputs": {"name": "code"}}}  # fmt: skip
        await ask("snippets", method="POST", body={"target": target, "language": language})
    await ask("processing", "sandbox", "log")
    await ask("processing", "sandbox", "reload", method="POST", body={})
    new_token = json.loads(service.connection_path.read_text())["token"]
    assert new_token != token  # one per start
    await ask("processing", "sandbox", "sandbox")

    assert len(answers) > 20
    for path, status, text in answers:
        assert status in (200, 201), (path, status, text)
        assert token not in text and new_token not in text, path
    for secret in (token, new_token):
        assert secret not in log_text()
        assert secret not in (service.state / "sandbox.log").read_text()
    private = {service.connection_path, service.state / "ready.json"}
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in [*Path(jp_data_dir).rglob("*"), *sandbox_dir.rglob("*")]:
        if path.is_file() and path not in private:
            data = path.read_bytes()
            assert token.encode() not in data and new_token.encode() not in data, path


async def test_get_sandbox_status_does_not_start_the_sandbox(call, sandbox_service, sandbox_dir):
    service = sandbox_service()
    for _ in range(2):
        status, info, _ = await call("processing", "sandbox", "sandbox")
        assert status == 200, info
        assert info == {"dir": str(sandbox_dir), "running": False, "processes": [], "errors": []}
        assert not service.running and service.pid is None
        assert not service.connection_path.exists()

    status, info, _ = await call(
        "processing", "sandbox", "sandbox", "start", method="POST", body={}
    )
    assert status == 200 and info["running"] is True and service.running, info
    assert "mark" in {p["id"] for p in info["processes"]}
    pid = service.pid
    status, again, _ = await call(
        "processing", "sandbox", "sandbox", "start", method="POST", body={}
    )
    assert status == 200 and service.pid == pid  # already running: not restarted
    status, info, _ = await call("processing", "sandbox", "sandbox")
    assert info["running"] is True and "mark" in {p["id"] for p in info["processes"]}

    await service.close()
    status, info, _ = await call("processing", "sandbox", "sandbox")
    assert info["running"] is False and not service.running
    assert not service.connection_path.exists()  # the stopped child removed its own


async def test_job_code_still_gets_its_result_after_a_restart_on_another_port(
    call,
    sandbox_service,
    kernels,
):
    status, job, _ = await _execute(
        call, "ndvi", {"bbox": {"bbox": [1.4, 43.6, 1.45, 43.65]}}, mode="async"
    )
    assert status == 201, job
    job = await _until_final(call, job["id"])
    assert job["status"] == "successful", job
    status, png, _ = await call("jobs", job["id"], "results", "ndvi_png", raw=True)
    assert status == 200
    status, made, _ = await call(
        "snippets", method="POST", body={"target": {"kind": "job", "job": job["id"]},
                                         "language": "python"},
    )  # fmt: skip
    assert status == 200, made

    service = sandbox_service()
    old_port = int(service._base.rsplit(":", 1)[1])
    await service.close()
    taken = socket.socket()  # the old port is taken: the sandbox starts on another one
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # (its old connections linger)
    taken.bind(("127.0.0.1", old_port))
    taken.listen()
    try:
        await _running(call, sandbox_service)  # started again: on another port
    finally:
        taken.close()  # code that still names the old port finds nothing there
    assert int(service._base.rsplit(":", 1)[1]) != old_port
    loop = asyncio.get_running_loop()
    run = await loop.run_in_executor(None, kernels["python"].run, made["code"], 120)
    run.check(made["code"])
    printed = dict(line.split(": ", 1) for line in run.stdout.splitlines() if ": " in line)
    assert Path(printed["ndvi_png"]).read_bytes() == png, run.stdout


async def test_the_demo_notebook_reaches_the_sandbox_with_its_token(
    call, sandbox_service, kernels, jp_data_dir
):
    """The demo's example notebook finds the sandbox through its connection file and sends
    its token (it read the port from ready.json and sent nothing)."""
    from eo_jlab.demo.shares import notebook

    cell = [c["source"] for c in notebook()["cells"] if c["cell_type"] == "code"][-1]
    assert "SANDBOX_URL" in cell
    await _running(call, sandbox_service)
    data_dir = str(jp_data_dir)  # the server's, where the sandbox writes its connection file
    code = f"import os\nfrom pathlib import Path\nos.environ['JUPYTER_DATA_DIR'] = {data_dir!r}\n"
    code += cell
    loop = asyncio.get_running_loop()
    run = await loop.run_in_executor(None, kernels["python"].run, code, 120)
    run.check(code)
    assert "mean NDVI: " in run.stdout and "ndvi" in run.stdout, run.stdout


def _stopped(service) -> None:
    assert not service.running and service.pid is None
    assert not service.connection_path.exists()


async def test_get_processes_of_a_stopped_sandbox_is_409_and_starts_nothing(call, sandbox_service):
    service = sandbox_service()
    for _ in range(2):  # never started, then stopped after a start
        for path in (("processes",), ("processes", "mark"), ("processes", "nope")):
            status, body, _ = await call("processing", "sandbox", *path)
            assert status == 409, (path, body)
            assert body["error"] == (
                "The local sandbox is not running: start it from the Processes section "
                "(POST processing/sandbox/sandbox/start)."
            ), body
            assert body["details"] == {"running": False}
            _stopped(service)
        await start_sandbox(call)
        status, body, _ = await call("processing", "sandbox", "processes", "mark")
        assert status == 200 and body["id"] == "mark", body
        await service.close()
    _stopped(service)


async def _result_job(jp_serverapp, results: list[Result]) -> str:
    """A successful sandbox job with these results, as a run of the sandbox left it."""
    store = jp_serverapp.web_app.settings["eo_jlab_services"].jobs.store
    job = await store.create("sandbox", "ndvi", {}, RemoteJob(status="successful",
                             results=results), [])  # fmt: skip
    return job.id


async def test_results_of_a_stopped_sandbox_are_read_from_its_outputs_folder(
    call, sandbox_service, jp_serverapp
):
    service = sandbox_service()
    outputs = service.state / "outputs"
    # A job of an earlier run (its sandbox on another port), never started in this server.
    (outputs / "earlier").mkdir(parents=True)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
    (outputs / "earlier" / "picture.png").write_bytes(png)
    (outputs / "earlier" / "page.html").write_text("<script>alert(1)</script>")
    job_id = await _result_job(jp_serverapp, [
        Result(id="picture", href="http://127.0.0.1:9/outputs/earlier/picture.png",
               mime_type="image/png"),
        Result(id="page", href="http://localhost:9/outputs/earlier/page%2Ehtml",
               mime_type="text/html"),
    ])  # fmt: skip
    status, body, headers = await call("jobs", job_id, "results", "picture", raw=True)
    assert status == 200 and body == png and headers["Content-Type"] == "image/png"
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, body, headers = await call("jobs", job_id, "results", "page", raw=True)
    assert status == 200 and body == b"<script>alert(1)</script>"
    assert headers["Content-Type"] == "application/octet-stream"  # the results' type rule
    assert headers["Content-Disposition"] == 'attachment; filename="page.html"'
    _stopped(service)

    # A job of this run: its sandbox stopped since.
    status, job, _ = await _execute(call, "ndvi", {"bbox": {"bbox": [1.4, 43.6, 1.45, 43.65]}})
    assert status == 200 and job["status"] == "successful", job
    await service.close()
    _stopped(service)
    href = _results(job)["ndvi_png"]["href"]
    on_disk = outputs / href.split("/outputs/", 1)[1]
    status, body, headers = await call("jobs", job["id"], "results", "ndvi_png", raw=True)
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert body == on_disk.read_bytes() and _png_size(body) == (25, 25)
    _stopped(service)


async def test_result_links_out_of_the_outputs_folder_are_refused(
    call, sandbox_service, jp_serverapp, tmp_path
):
    import os

    service = sandbox_service()
    outputs = service.state / "outputs"
    (outputs / "job").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = "SECRET-NOT-FOR-THE-BROWSER"
    (outside / "secret.txt").write_text(secret)
    (service.state / "connection.json").write_text(json.dumps({"token": secret}))
    (outputs / "leak.txt").symlink_to(outside / "secret.txt")
    (outputs / "away").symlink_to(outside, target_is_directory=True)
    os.mkfifo(outputs / "pipe.png")
    base = "http://127.0.0.1:9/outputs/"
    refused = {
        "symlink": base + "leak.txt",
        "symlinked_folder": base + "away/secret.txt",
        "dots": base + "../connection.json",
        "deep_dots": base + "job/../../connection.json",
        "encoded_dots": base + "%2e%2e/connection.json",
        "encoded_slash": base + "job%2F..%2F..%2Fconnection.json",
        "dot": base + "./leak.txt",
        "double_slash": base + "job//x",
        "nul": base + "job/x%00.png",
        "fifo": base + "pipe.png",
        "folder": base + "job",
    }
    job_id = await _result_job(jp_serverapp, [
        *(Result(id=key, href=href, mime_type="text/plain") for key, href in refused.items()),
        Result(id="missing", href=base + "job/gone.png", mime_type="image/png"),
        Result(id="nothing", href=base, mime_type="image/png"),
    ])  # fmt: skip
    for key in refused:
        status, body, _ = await call("jobs", job_id, "results", key, raw=True)
        assert status == 403 and secret.encode() not in body, (key, body[:300])
        assert json.loads(body)["error"].endswith("it is not served."), (key, body)
    for key in ("missing", "nothing"):
        status, body, _ = await call("jobs", job_id, "results", key)
        assert status == 404 and body["error"].endswith("."), (key, body)
    (outputs / "job" / "big.bin").write_bytes(b"x" * 11)  # over a cap of 10 bytes: a sentence
    with pytest.raises(UpstreamError, match=r"larger than the limit of 10 bytes"):
        await service.read_output(base + "job/big.bin", 10)
    assert (await service.read_output(base + "job/big.bin", 11))[0] == b"x" * 11
    (service.state / "connection.json").unlink()
    _stopped(service)
