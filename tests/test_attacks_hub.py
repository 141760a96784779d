"""Issue 6 attack suite, multi-user part: one user acting on another's jobs or shares, and path
traversal / symlink escapes in sharing, proved against a real JupyterHub (tests/servers/hub.py:
alice, bob, carol, group ``class`` = bob, the eo-jlab share service).

Each user server of this module gets a processing endpoint (the loopback OGC API of
tests/servers/faulty.py, ``Hub.server_config``). Alice runs two jobs (one finished with a
result, one still running), bob one. Every refused answer must be 403 or 404 (400 for a
malformed path), carry no stack trace, and leak none of the content it guards.

Attack -> proving test (``[sharing_hub]`` = tests/test_sharing_hub.py, already there):

Jobs
* bob's token (user token, and his server's own token) on alice's server: list, get, exchange,
  result, dismiss, execute, shares -> 403, nothing changed:
  ``test_bobs_tokens_are_refused_on_alices_server``
* bob reaching alice's server through proxy path tricks (``/user/bob/../alice/...``,
  ``%2F``): ``test_proxy_path_tricks_do_not_cross_servers``
* bob's own server knows nothing of alice's jobs (list; get / dismiss / exchange / result of
  her job ids -> 404) and the reverse: ``test_bobs_server_knows_nothing_of_alices_jobs``
* the job stores are separate files: ``test_each_server_keeps_its_own_job_store``. All
  servers here run as one Unix user; the store is per user because it lives in the Jupyter
  data dir under each server's own ``$HOME`` (an operator pointing ``JUPYTER_DATA_DIR`` of
  every server at one folder would make them share it).
* narrow-scope, expired and revoked tokens; alice's server token on bob's server:
  ``test_narrow_expired_revoked_and_foreign_server_tokens_are_refused``
* the event stream (``api/events/subscribe``): bob cannot subscribe to alice's, cannot post
  to it, and his own stream carries none of alice's job events:
  ``test_job_events_stay_on_their_own_server``
* a visitor of alice's server (carol, given access with JupyterHub's server sharing) uses it,
  jobs included, but gets 403 on every sharing route there instead of acting as alice at the
  share service (the server's token is alice's):
  ``test_a_visitor_of_alices_server_cannot_share_in_her_name``

Shares
* bob updates / deletes / versions alice's share through his server:
  ``[sharing_hub] test_alice_shares_a_notebook_with_bob_only`` (DELETE, versions), and here
  ``test_bob_cannot_change_alices_share`` (a version from his own file, PUT / PATCH of the
  recipients)
* the same directly at the service, with his user token and his server's token (versions,
  delete) and by claiming alice's owner name or share id in ``meta``:
  ``test_bob_cannot_change_alices_share`` (DELETE with a user token:
  ``[sharing_hub] test_service_tar_round_trip``)
* carol reading a share not addressed to her: server GET share / files / copy in
  ``[sharing_hub] test_alice_shares_a_notebook_with_bob_only``, service archive in
  ``[sharing_hub] test_service_tar_round_trip``; every other route (files?version, versions,
  delete through her server; share, files, files?version, archive?version, versions, delete
  at the service with her user token and her server's token; the three lists):
  ``test_carol_reads_nothing_of_a_share_not_addressed_to_her``
* share ids that are paths (``..``, ``%2E%2E``, ``%2F``, absolute, the real id with path parts),
  on every share route of the server and the service:
  ``test_share_ids_that_are_paths_are_refused``
* file paths inside a share that climb out (``../``, ``%2E%2E``, ``%2F``, absolute, into a share
  not addressed to the caller) and odd ``version`` values:
  ``test_file_paths_cannot_leave_their_share`` (``../x`` at the service also in
  ``[sharing_hub] test_service_tar_round_trip``)
* copying outside bob's workspace: ``../alice/...``, ``a/../../x``, hidden parts in
  ``[sharing_hub] test_paths_stay_inside_the_workspace``; absolute paths (into alice's home,
  /tmp, a drive letter, backslashes), a symlink in bob's workspace into alice's home (existing
  and new folders below it), a dangling symlink, and a destination name that is itself a
  link to alice's file or folder (a free name is taken, the link is never followed):
  ``test_copies_land_only_in_bobs_workspace``
* sharing from a link leading out of alice's workspace: a path through a linked folder,
  ``..``, /etc/passwd, hidden files in ``[sharing_hub] test_paths_stay_inside_the_workspace``;
  links inside a shared folder left out in
  ``[sharing_hub] test_a_folder_shared_with_the_class_group``; a link as the shared file or
  folder itself (absolute, relative, chained, to /proc/self/environ, to /etc):
  ``test_a_share_cannot_come_from_a_link_leading_out``
* a new version taken after the share's source was swapped for a link leading out (or with a
  ``path`` that is one): ``test_a_new_version_cannot_follow_a_swapped_in_link``
* unsafe tar streams (``..``, absolute, links, garbage) at the service:
  ``[sharing_hub] test_service_refuses_unsafe_tar_streams``; missing, foreign, narrow and
  service tokens at the service:
  ``[sharing_hub] test_service_refuses_missing_foreign_and_narrow_tokens``

Every refusal above goes through ``refused``: the status, no stack trace, none of the guarded
content (and the contract's ``{"error", "details"}`` body on eo-jlab and service routes).
"""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import secrets
import sqlite3
import tarfile
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest
import websocket

from .servers.faulty import Faulty
from .servers.hub import hub  # noqa: F401  (session fixture)

USERS = ("alice", "bob", "carol")
JOB_SCHEMA = "https://events.eo-jlab.dev/eo_jlab/job"
TRACE = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")
FINAL = ("successful", "failed", "dismissed")
LIVE = ("accepted", "running")


# -- plumbing --------------------------------------------------------------------------------


def refused(status: int, body: bytes | str, allowed=(403, 404), hidden=(), contract=True) -> str:
    """Check one refused answer; return its text."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    assert status in allowed, (status, text[:500])
    assert not TRACE.search(text), text[:2000]
    for secret in hidden:
        assert secret not in text, (secret, text[:500])
    if contract:
        data = json.loads(text)
        assert set(data) == {"error", "details"} and data["error"], data
    return text


def call(hub, server: str, method: str, path: str, token: str, **kwargs) -> httpx.Response:  # noqa: F811
    """``{hub}/user/{server}/eo-jlab/{path}`` with ``token`` (httpx: the path is normalised)."""
    headers = {"Authorization": f"token {token}", **kwargs.pop("headers", {})}
    return hub.client.request(
        method, hub.server_url(server) + "eo-jlab/" + path, headers=headers, **kwargs
    )


def raw(base: str, method: str, path: str, token: str, body: bytes | None = None,
        headers: dict | None = None, follow: bool = False) -> tuple[int, bytes]:  # fmt: skip
    """A request with ``path`` sent byte for byte (no normalisation of ``..`` or ``%2F``)
    under ``base`` (the hub's or the service's URL); ``follow``: same-host redirects are
    followed (with the same token), at most 5."""
    url = urlsplit(base)
    target = url.path + path
    for _ in range(6):
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            sent = {"Authorization": f"token {token}", **(headers or {})}
            if body is not None:
                sent.setdefault("Content-Type", "application/json")
            connection.request(method, target, body=body, headers=sent)
            answer = connection.getresponse()
            status, data = answer.status, answer.read()
            location = answer.getheader("Location") or ""
        finally:
            connection.close()
        if not (follow and status in (301, 302, 303, 307, 308) and location.startswith("/")):
            break
        target = location
    return status, data


def service(hub, method: str, path: str, token: str, **kwargs) -> httpx.Response:  # noqa: F811
    headers = {"Authorization": f"token {token}", **kwargs.pop("headers", {})}
    return hub.client.request(method, hub.service_url + path, headers=headers, **kwargs)


def mint(hub, user: str, *scopes: str, expires_in: int = 3600) -> tuple[str, str]:  # noqa: F811
    """A new token of ``user`` (never cached: it may be revoked): (token, token id)."""
    body = {"scopes": list(scopes), "expires_in": expires_in, "note": "eo_jlab attack tests"}
    answer = hub.admin("POST", f"users/{user}/tokens", json=body)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["token"], answer.json()["id"]


def server_token(hub, user: str) -> str:  # noqa: F811
    """The hub token ``user``'s server itself holds ($JUPYTERHUB_API_TOKEN)."""
    return hub.server_environ(user)["JUPYTERHUB_API_TOKEN"]


def write(path: Path, data: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data)
    return path


def link(path: Path, target: str | Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        path.unlink()
    path.symlink_to(target)
    return path


def share(hub, owner: str, path: str, users=(), groups=()) -> dict:  # noqa: F811
    answer = call(hub, owner, "POST", "shares", hub.token(owner), json={
        "path": path, "recipients": {"users": list(users), "groups": list(groups)}})  # fmt: skip
    assert answer.status_code == 201, answer.text
    return answer.json()


def share_ids(hub, user: str, scope: str) -> set[str]:  # noqa: F811
    answer = call(hub, user, "GET", f"shares?scope={scope}", hub.token(user))
    assert answer.status_code == 200, answer.text
    return {s["id"] for s in answer.json()["shares"]}


def tar(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def tree(root: Path) -> dict[str, str]:
    """What a user sees of a home (hidden top-level folders are the servers' state): path ->
    link target, file content or "dir"; links are never followed."""
    out: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if here == root:
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            files = [f for f in files if not f.startswith(".")]
        for name in dirs + files:
            path = here / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                out[rel] = "-> " + os.readlink(path)
            elif path.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = path.read_bytes().decode("utf-8", "replace")
    return out


def leftovers(*roots: Path) -> list[Path]:
    """Partial files of interrupted copies (none may be left behind)."""
    found = []
    for root in roots:
        for folder, dirs, files in os.walk(root):
            found += [Path(folder) / n for n in dirs + files if ".eo-jlab-" in n]
    return found


# -- the users' servers, with a processing endpoint, and their jobs ---------------------------


@pytest.fixture(scope="module")
def faulty():
    server = Faulty().start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def users(hub, faulty):  # noqa: F811
    """alice's, bob's and carol's servers, each with the loopback OGC API as ``ogc``."""
    endpoint = {"id": "ogc", "title": "OGC API (loopback)", "protocol": "ogcapi",
                "url": faulty.url("/ogc")}  # fmt: skip
    hub.stop_servers()  # servers of an earlier module would not have the endpoint
    for user in USERS:
        hub.server_config(user, {"EOJLab": {"processing": [endpoint]}})
    try:
        hub.start_servers(*USERS)
        yield USERS
    finally:
        for user in USERS:  # nothing left running for the next module's servers to follow
            answer = call(hub, user, "GET", "jobs", hub.token(user))
            listed = answer.json()["jobs"] if answer.status_code == 200 else []
            for job in listed:
                if job["status"] not in FINAL:
                    call(hub, user, "DELETE", f"jobs/{job['id']}", hub.token(user))
        hub.stop_servers()
        for user in USERS:
            hub.server_config(user, None)


def execute(hub, user: str, n: int) -> dict:  # noqa: F811
    answer = call(
        hub, user, "POST", "processing/ogc/processes/count/execution", hub.token(user),
        json={"inputs": {"n": n}, "mode": "async"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return answer.json()


def job_of(hub, user: str, job_id: str) -> dict:  # noqa: F811
    answer = call(hub, user, "GET", f"jobs/{job_id}", hub.token(user))
    assert answer.status_code == 200, answer.text
    return answer.json()


def job_ids(hub, user: str) -> set[str]:  # noqa: F811
    answer = call(hub, user, "GET", "jobs", hub.token(user))
    assert answer.status_code == 200, answer.text
    return {j["id"] for j in answer.json()["jobs"]}


@pytest.fixture(scope="module")
def jobs(hub, users, faulty):  # noqa: F811
    """{"done": alice's finished job (result count = 7041), "running": alice's running job,
    "bobs": bob's running job}; alice reading her result proves the routes work."""
    done = execute(hub, "alice", 7041)
    faulty.open_gate()
    deadline = time.monotonic() + 30
    while job_of(hub, "alice", done["id"])["status"] != "successful":
        assert time.monotonic() < deadline, job_of(hub, "alice", done["id"])
        time.sleep(0.3)
    faulty.gate.clear()  # jobs submitted from now on keep running
    running = execute(hub, "alice", 7042)
    bobs = execute(hub, "bob", 7043)
    result = call(hub, "alice", "GET", f"jobs/{done['id']}/results/count", hub.token("alice"))
    assert result.status_code == 200 and result.json() == 7041, result.text
    exchange = call(hub, "alice", "GET", f"jobs/{done['id']}/exchange", hub.token("alice"))
    assert exchange.status_code == 200 and exchange.json()["exchange"], exchange.text
    return {"done": done["id"], "running": running["id"], "bobs": bobs["id"]}


def alices_routes(jobs: dict) -> list[tuple[str, str, dict]]:
    done, running = jobs["done"], jobs["running"]
    return [
        ("GET", "jobs", {}),
        ("GET", "jobs?status=successful", {}),
        ("GET", f"jobs/{done}", {}),
        ("GET", f"jobs/{done}/exchange", {}),
        ("GET", f"jobs/{done}/results/count", {}),
        ("DELETE", f"jobs/{running}", {}),
        ("POST", "processing/ogc/processes/count/execution",
         {"json": {"inputs": {"n": 1}, "mode": "async"}}),
        ("POST", "snippets", {"json": {"target": {"kind": "job", "job": done},
                                       "language": "python", "flavour": "portable"}}),
        ("GET", "shares?scope=by-me", {}),
        ("POST", "shares", {"json": {"path": "notebooks", "recipients": {"users": ["bob"]}}}),
        ("GET", "config", {}),
    ]  # fmt: skip


# -- jobs ------------------------------------------------------------------------------------


def test_bobs_tokens_are_refused_on_alices_server(hub, jobs):  # noqa: F811
    before = job_ids(hub, "alice")
    hidden = (jobs["done"], jobs["running"], "7041")
    for token in (hub.token("bob"), server_token(hub, "bob")):
        for method, path, kwargs in alices_routes(jobs):
            answer = call(hub, "alice", method, path, token, **kwargs)
            refused(answer.status_code, answer.content, (403,), hidden)
    # nothing happened to alice's jobs: none dismissed, none submitted in her name
    assert job_of(hub, "alice", jobs["running"])["status"] in LIVE
    assert job_ids(hub, "alice") == before


def test_proxy_path_tricks_do_not_cross_servers(hub, jobs):  # noqa: F811
    token = hub.token("bob")
    hidden = (jobs["done"], jobs["running"], "7041")
    for path in (
        "user/bob/../alice/eo-jlab/jobs",
        "user/bob/%2E%2E/alice/eo-jlab/jobs",
        "user/bob%2F..%2Falice/eo-jlab/jobs",
        "user/bob/..%2Falice/eo-jlab/jobs",
        "user/bob/eo-jlab/../../alice/eo-jlab/jobs",
        f"user/bob/..%2F..%2Fuser%2Falice%2Feo-jlab%2Fjobs%2F{jobs['done']}",
        "user//alice/eo-jlab/jobs",
        "user/alice%2Feo-jlab%2Fjobs",
    ):
        status, body = raw(hub.url, "GET", path, token, follow=True)
        refused(status, body, (400, 403, 404), hidden, contract=False)
    status, body = raw(hub.url, "DELETE", f"user/bob/../alice/eo-jlab/jobs/{jobs['running']}",
                       token)  # fmt: skip
    refused(status, body, (400, 403, 404, 405), hidden, contract=False)
    assert job_of(hub, "alice", jobs["running"])["status"] in LIVE


def test_bobs_server_knows_nothing_of_alices_jobs(hub, jobs):  # noqa: F811
    assert jobs["bobs"] in job_ids(hub, "bob")
    assert not {jobs["done"], jobs["running"]} & job_ids(hub, "bob")
    assert jobs["bobs"] not in job_ids(hub, "alice")
    token = hub.token("bob")
    for job_id in (jobs["done"], jobs["running"]):
        for method, path in (
            ("GET", f"jobs/{job_id}"),
            ("DELETE", f"jobs/{job_id}"),
            ("GET", f"jobs/{job_id}/exchange"),
            ("GET", f"jobs/{job_id}/results/count"),
        ):
            answer = call(hub, "bob", method, path, token)
            refused(answer.status_code, answer.content, (404,), ("7041", "7042"))
        answer = call(hub, "bob", "POST", "snippets", token, json={
            "target": {"kind": "job", "job": job_id}, "language": "python",
            "flavour": "portable"})  # fmt: skip
        refused(answer.status_code, answer.content, (404,), ("7041", "7042"))
    # and the other way round
    answer = call(hub, "alice", "DELETE", f"jobs/{jobs['bobs']}", hub.token("alice"))
    refused(answer.status_code, answer.content, (404,), ("7043",))
    assert job_of(hub, "bob", jobs["bobs"])["status"] in LIVE
    assert job_of(hub, "alice", jobs["running"])["status"] in LIVE


def test_each_server_keeps_its_own_job_store(hub, jobs):  # noqa: F811
    stores = {}
    for user in ("alice", "bob"):
        env = hub.server_environ(user)
        # The store lives in the Jupyter data dir: from $HOME, unless JUPYTER_DATA_DIR says
        # otherwise (an operator setting it for every server would make them share one).
        assert "JUPYTER_DATA_DIR" not in env
        assert Path(env["HOME"]).resolve() == hub.home_of(user).resolve()
        stores[user] = Path(env["HOME"]) / ".local/share/jupyter/eo_jlab/jobs.sqlite"
        assert stores[user].is_file()
    assert not os.path.samefile(stores["alice"], stores["bob"])
    kept = {}
    for user, path in stores.items():
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            kept[user] = {row[0] for row in db.execute("SELECT id FROM jobs")}
        finally:
            db.close()
    assert {jobs["done"], jobs["running"]} <= kept["alice"]
    assert jobs["bobs"] in kept["bob"]
    assert not kept["alice"] & kept["bob"]


def test_narrow_expired_revoked_and_foreign_server_tokens_are_refused(hub, jobs):  # noqa: F811
    hidden = (jobs["done"], jobs["running"], jobs["bobs"])
    # narrow tokens of the right user: no access to the server
    for scopes in (
        ("access:services!service=eo-jlab-share",),
        ("read:users!user=bob",),
        ("read:servers!user=bob",),
        ("users:activity!user=bob",),
    ):
        token, _ = mint(hub, "bob", *scopes)
        for method, path in (("GET", "jobs"), ("DELETE", f"jobs/{jobs['bobs']}")):
            answer = call(hub, "bob", method, path, token)
            refused(answer.status_code, answer.content, (403,), hidden)
    expired, _ = mint(hub, "alice", "access:servers!user=alice", expires_in=1)
    revoked, revoked_id = mint(hub, "alice", "access:servers!user=alice")
    answer = call(hub, "alice", "GET", "jobs", revoked)
    assert answer.status_code == 200 and jobs["done"] in answer.text  # it worked until revoked
    assert hub.admin("DELETE", f"users/alice/tokens/{revoked_id}").status_code == 204
    deadline = time.monotonic() + 15  # the server keeps the hub's answer 1 s here
    while call(hub, "alice", "GET", "jobs", revoked).status_code == 200:
        assert time.monotonic() < deadline, "a revoked token still opens alice's server"
        time.sleep(0.3)
    time.sleep(1.5)  # whatever is left of the expired token's second
    for token in (revoked, expired):
        for method, path, kwargs in alices_routes(jobs):
            answer = call(hub, "alice", method, path, token, **kwargs)
            refused(answer.status_code, answer.content, (403,), hidden)
    # alice's server's own token (it can reach her server and the share service) on bob's
    foreign = server_token(hub, "alice")
    for method, path in (
        ("GET", "jobs"),
        ("GET", f"jobs/{jobs['bobs']}"),
        ("DELETE", f"jobs/{jobs['bobs']}"),
        ("GET", "shares?scope=by-me"),
    ):
        answer = call(hub, "bob", method, path, foreign)
        refused(answer.status_code, answer.content, (403,), hidden)
    assert job_of(hub, "bob", jobs["bobs"])["status"] in LIVE
    assert job_of(hub, "alice", jobs["running"])["status"] in LIVE


def _subscribe(hub, user: str, token: str, in_query: bool = False) -> websocket.WebSocket:  # noqa: F811
    url = hub.url.replace("http://", "ws://", 1) + f"user/{user}/api/events/subscribe"
    if in_query:
        return websocket.create_connection(url + "?token=" + quote(token), timeout=10)
    return websocket.create_connection(url, header=[f"Authorization: token {token}"], timeout=10)


def _job_events(ws: websocket.WebSocket, seconds: float, job_id: str | None = None) -> list:
    """eo_jlab job events read within ``seconds`` (until one of ``job_id`` when given)."""
    events, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ws.settimeout(left)
        try:
            event = json.loads(ws.recv())
        except websocket.WebSocketTimeoutException:
            break
        if event.get("schema_id") == JOB_SCHEMA:
            events.append(event)
            if job_id and event.get("job_id") == job_id:
                break
    return events


def test_job_events_stay_on_their_own_server(hub, jobs):  # noqa: F811
    bob, bobs_server = hub.token("bob"), server_token(hub, "bob")
    for token, in_query in ((bob, False), (bob, True), (bobs_server, False)):
        with pytest.raises(websocket.WebSocketBadStatusException) as caught:
            _subscribe(hub, "alice", token, in_query)
        refused(caught.value.status_code, caught.value.resp_body or b"", (403,),
                contract=False)  # fmt: skip
    # nor may bob put a forged job event on alice's bus
    forged = {"schema_id": JOB_SCHEMA, "version": "1",
              "data": {"job_id": jobs["running"], "status": "successful"}}  # fmt: skip
    answer = hub.client.post(hub.server_url("alice") + "api/events", json=forged,
                             headers={"Authorization": f"token {bob}"})  # fmt: skip
    refused(answer.status_code, answer.content, (403,), contract=False)

    alices = _subscribe(hub, "alice", hub.token("alice"))
    bobs = _subscribe(hub, "bob", bob)
    try:
        job = execute(hub, "alice", 7044)
        seen = _job_events(alices, 15, job["id"])
        assert job["id"] in {e["job_id"] for e in seen}, seen
        answer = call(hub, "alice", "DELETE", f"jobs/{job['id']}", hub.token("alice"))
        assert answer.status_code == 200 and answer.json()["status"] == "dismissed"
        assert _job_events(alices, 15, job["id"])  # the dismissal, on alice's stream
        # bob's stream works (his own new job is on it) and carries nothing of alice's
        own = execute(hub, "bob", 7045)
        heard = _job_events(bobs, 15, own["id"])
        assert own["id"] in {e["job_id"] for e in heard}, heard
        assert not {e["job_id"] for e in heard} & {job["id"], jobs["done"], jobs["running"]}
        assert call(hub, "bob", "DELETE", f"jobs/{own['id']}", bob).status_code == 200
    finally:
        alices.close()
        bobs.close()
    assert job_of(hub, "alice", jobs["running"])["status"] in LIVE


# -- shares ----------------------------------------------------------------------------------


def test_bob_cannot_change_alices_share(hub, users):  # noqa: F811
    alice, bob = hub.home_of("alice"), hub.home_of("bob")
    write(alice / "atk-mod" / "report.txt", "REPORT-V1")
    write(bob / "atk-bob-own.txt", "BOB WAS HERE")
    made = share(hub, "alice", "atk-mod/report.txt", users=["bob"])
    sid = made["id"]
    token, bobs_server = hub.token("bob"), server_token(hub, "bob")

    # through his server: a version from his own file; recipients rewritten by PUT / PATCH
    answer = call(hub, "bob", "POST", f"shares/{sid}/versions", token,
                  json={"path": "atk-bob-own.txt", "message": "mine now"})  # fmt: skip
    refused(answer.status_code, answer.content, (403,), ("BOB WAS HERE",))
    for method in ("PUT", "PATCH"):
        answer = call(hub, "bob", method, f"shares/{sid}", token,
                      json={"recipients": {"users": ["bob", "carol"], "public": True}})  # fmt: skip
        refused(answer.status_code, answer.content, (403, 404, 405))

    # straight at the service, with his user token and with his server's token
    meta = quote(json.dumps({"message": "mine now"}))
    for key in (token, bobs_server):
        answer = service(hub, "POST", f"shares/{sid}/versions?meta={meta}", key,
                         content=tar("report.txt", b"BOB WAS HERE"))  # fmt: skip
        refused(answer.status_code, answer.content, (403,))
        for method in ("PUT", "PATCH"):
            answer = service(hub, method, f"shares/{sid}", key, json={"recipients": {}})
            refused(answer.status_code, answer.content, (403, 404, 405))
    answer = service(hub, "DELETE", f"shares/{sid}", bobs_server)
    refused(answer.status_code, answer.content, (403,))

    # claiming alice's name or her share's id in meta makes a share of bob's, nothing more
    claim = {"owner": "alice", "id": sid, "name": "report.txt", "kind": "file",
             "recipients": {"users": ["alice"]}, "origin": "atk-mod/report.txt"}  # fmt: skip
    answer = service(hub, "POST", "shares?meta=" + quote(json.dumps(claim)), token,
                     content=tar("report.txt", b"BOB WAS HERE"))  # fmt: skip
    assert answer.status_code == 201, answer.text
    forged = answer.json()
    try:
        assert forged["owner"] == "bob" and forged["id"] != sid
        assert forged["id"] not in share_ids(hub, "alice", "by-me")
    finally:
        assert service(hub, "DELETE", f"shares/{forged['id']}", token).status_code == 204

    # alice's share is as she made it
    answer = call(hub, "alice", "GET", f"shares/{sid}", hub.token("alice"))
    assert answer.status_code == 200
    got = answer.json()
    assert (got["version"], got["owner"], got["recipients"]["users"]) == (1, "alice", ["bob"])
    assert not got["recipients"]["public"]
    answer = call(hub, "bob", "GET", f"shares/{sid}/files/report.txt", token)
    assert answer.status_code == 200 and answer.content == b"REPORT-V1"


def test_carol_reads_nothing_of_a_share_not_addressed_to_her(hub, users):  # noqa: F811
    secret = "CAROL-MUST-NOT-SEE-" + secrets.token_hex(4)
    write(hub.home_of("alice") / "atk-private" / "secret.txt", secret)
    sid = share(hub, "alice", "atk-private/secret.txt", users=["bob"])["id"]
    carol_home = hub.home_of("carol")
    before = tree(carol_home)
    hidden = (secret, "secret.txt", "atk-private")
    token, carols_server = hub.token("carol"), server_token(hub, "carol")

    for scope in ("with-me", "by-me", "public"):
        assert sid not in share_ids(hub, "carol", scope)
    for method, path, kwargs in (
        ("GET", f"shares/{sid}", {}),
        ("GET", f"shares/{sid}/files/secret.txt", {}),
        ("GET", f"shares/{sid}/files/secret.txt?version=1", {}),
        ("POST", f"shares/{sid}/copy", {"json": {"destination": "atk-carol/secret.txt"}}),
        ("POST", f"shares/{sid}/versions", {"json": {"path": "atk-carol.txt"}}),
        ("DELETE", f"shares/{sid}", {}),
    ):
        answer = call(hub, "carol", method, path, token, **kwargs)
        refused(answer.status_code, answer.content, (404,), hidden)
    for key in (token, carols_server):
        for method, path, kwargs in (
            ("GET", f"shares/{sid}", {}),
            ("GET", f"shares/{sid}/files/secret.txt", {}),
            ("GET", f"shares/{sid}/files/secret.txt?version=1", {}),
            ("GET", f"shares/{sid}/archive", {}),
            ("GET", f"shares/{sid}/archive?version=1", {}),
            ("POST", f"shares/{sid}/versions", {"content": tar("secret.txt", b"carol's")}),
            ("DELETE", f"shares/{sid}", {}),
        ):
            answer = service(hub, method, path, key, **kwargs)
            refused(answer.status_code, answer.content, (404,), hidden)
        answer = service(hub, "GET", "shares?scope=with-me", key)
        assert answer.status_code == 200 and sid not in answer.text
    assert tree(carol_home) == before
    # the share is untouched: bob still reads version 1
    answer = call(hub, "bob", "GET", f"shares/{sid}/files/secret.txt", hub.token("bob"))
    assert answer.status_code == 200 and answer.text == secret
    assert call(hub, "alice", "GET", f"shares/{sid}", hub.token("alice")).json()["version"] == 1


def test_share_ids_that_are_paths_are_refused(hub, users):  # noqa: F811
    write(hub.home_of("alice") / "atk-ids" / "notes.txt", "IDS-SECRET")
    sid = share(hub, "alice", "atk-ids/notes.txt", users=["bob"])["id"]
    token = hub.token("bob")
    server = "user/bob/eo-jlab/shares/"
    store_before = sorted(p.name for p in (hub.store / "shares").iterdir())
    for bad in (
        "..",
        ".",
        "%2E%2E",
        "%2e%2e",
        "...",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "%2Ftmp",
        f"%2E%2E%2Fshares%2F{sid}",
        f"{sid}%2F..%2F{sid}",
        f"{sid}%2Fmanifest.json",
        f".%2F{sid}",
        f"{sid}%00",
        f"{sid}%20",
        "~alice",
        "*",
        f"shares%2F{sid}",
        quote(str(hub.store / "shares" / sid), safe=""),
    ):
        for method, route, body in (
            ("GET", "", None),
            ("GET", "/files/notes.txt", None),
            ("POST", "/copy", b"{}"),
            ("POST", "/versions", b"{}"),
            ("DELETE", "", None),
        ):
            status, answer = raw(hub.url, method, server + bad + route, token, body)
            refused(status, answer, (400, 404, 405), ("IDS-SECRET", '"checksums"'), False)
        for method, route, body in (
            ("GET", "", None),
            ("GET", "/files/notes.txt", None),
            ("GET", "/archive", None),
            ("POST", "/versions", tar("notes.txt", b"x")),
            ("DELETE", "", None),
        ):
            status, answer = raw(hub.service_url, method, "shares/" + bad + route, token, body,
                                 {"Content-Type": "application/x-tar"})  # fmt: skip
            refused(status, answer, (400, 404, 405), ("IDS-SECRET", '"checksums"'), False)
    assert sorted(p.name for p in (hub.store / "shares").iterdir()) == store_before
    assert leftovers(hub.home_of("bob")) == []
    answer = call(hub, "bob", "GET", f"shares/{sid}/files/notes.txt", token)
    assert answer.status_code == 200 and answer.text == "IDS-SECRET"


def test_file_paths_cannot_leave_their_share(hub, users):  # noqa: F811
    write(hub.home_of("alice") / "atk-files" / "data" / "a.txt", "SEEN-BY-BOB")
    write(hub.home_of("alice") / "atk-other" / "b.txt", "ONLY-FOR-CAROL")
    sid = share(hub, "alice", "atk-files/data", users=["bob"])["id"]
    other = share(hub, "alice", "atk-other/b.txt", users=["carol"])["id"]
    token = hub.token("bob")
    hidden = ("ONLY-FOR-CAROL", "root:x:0", '"checksums"', "JUPYTERHUB_API_TOKEN")
    for rel in (
        "../manifest.json",
        "%2E%2E/manifest.json",
        "..%2Fmanifest.json",
        "a.txt/../../manifest.json",
        f"../../{other}/v1/b.txt",
        f"%2E%2E%2F%2E%2E%2F{other}%2Fv1%2Fb.txt",
        f"..%2F..%2F{other}%2Fmanifest.json",
        "%2Fetc%2Fpasswd",
        "/etc/passwd",
        "..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "%2Fproc%2Fself%2Fenviron",
        "..%5C..%5Cmanifest.json",
        "a.txt%00.png",
        "%2E",
        "v1%2Fa.txt",
    ):
        status, body = raw(hub.url, "GET", f"user/bob/eo-jlab/shares/{sid}/files/{rel}", token)
        refused(status, body, (400, 404), hidden, contract=False)
        status, body = raw(hub.service_url, "GET", f"shares/{sid}/files/{rel}", token)
        refused(status, body, (400, 404), hidden, contract=False)
    for version in ("0", "-1", "2", "..%2F..%2Fx", "1.5", "1e3", "v1", "1%2F..%2F..%2Fx"):
        status, body = raw(hub.service_url, "GET", f"shares/{sid}/files/a.txt?version={version}",
                           token)  # fmt: skip
        refused(status, body, (400, 404), hidden)
        status, body = raw(hub.service_url, "GET", f"shares/{sid}/archive?version={version}",
                           token)  # fmt: skip
        refused(status, body, (400, 404), hidden)
    answer = call(hub, "bob", "GET", f"shares/{sid}/files/a.txt", token)
    assert answer.status_code == 200 and answer.text == "SEEN-BY-BOB"


def test_copies_land_only_in_bobs_workspace(hub, users):  # noqa: F811
    alice, bob = hub.home_of("alice"), hub.home_of("bob")
    write(alice / "atk-copy" / "gift.txt", "GIFT")
    write(alice / "atk-copy" / "folder" / "inner.txt", "INNER")
    victim = write(alice / "atk-victim.txt", "ALICE'S OWN")
    write(alice / "atk-victim-dir" / "keep.txt", "KEEP")
    file_share = share(hub, "alice", "atk-copy/gift.txt", users=["bob"])["id"]
    dir_share = share(hub, "alice", "atk-copy/folder", users=["bob"])["id"]
    link(bob / "atk-to-alice", alice)
    link(bob / "atk-rel-to-alice", "../alice")
    link(bob / "atk-dangling", alice / "atk-not-yet")
    link(bob / "atk-victim-link.txt", victim)
    link(bob / "atk-victim-dir-link", alice / "atk-victim-dir")
    outside = Path("/tmp") / f"atk-{secrets.token_hex(6)}"
    alice_before = tree(alice)
    token = hub.token("bob")

    for sid in (file_share, dir_share):
        for destination in (
            str(alice / "atk-stolen.txt"),
            str(outside / "stolen.txt"),
            "/atk-stolen.txt",
            "C:/atk-stolen.txt",
            "..\\alice\\atk-stolen.txt",
            "atk-to-alice/atk-stolen.txt",
            "atk-rel-to-alice/atk-stolen.txt",
            "atk-to-alice/atk-newdir/atk-stolen.txt",
            "atk-victim-dir-link/atk-stolen.txt",
            "atk-dangling/atk-stolen.txt",
            "atk-dangling/deeper/atk-stolen.txt",
            "atk-victim-link.txt/atk-stolen.txt",
        ):
            answer = call(hub, "bob", "POST", f"shares/{sid}/copy", token,
                          json={"destination": destination})  # fmt: skip
            refused(answer.status_code, answer.content, (400,), ("GIFT", "INNER"))
    assert tree(alice) == alice_before
    assert not (alice / "atk-not-yet").exists() and not outside.exists()

    # a destination name that is a link to alice's file or folder: a free name is taken
    answer = call(hub, "bob", "POST", f"shares/{file_share}/copy", token,
                  json={"destination": "atk-victim-link.txt"})  # fmt: skip
    assert answer.status_code == 200 and answer.json() == {"path": "atk-victim-link-1.txt"}
    assert (bob / "atk-victim-link-1.txt").read_text() == "GIFT"
    answer = call(hub, "bob", "POST", f"shares/{dir_share}/copy", token,
                  json={"destination": "atk-victim-dir-link"})  # fmt: skip
    assert answer.status_code == 200 and answer.json() == {"path": "atk-victim-dir-link-1"}
    assert (bob / "atk-victim-dir-link-1" / "inner.txt").read_text() == "INNER"
    for destination, expected in (("atk-to-alice", "atk-to-alice-1"),
                                  ("atk-dangling", "atk-dangling-1")):  # fmt: skip
        answer = call(hub, "bob", "POST", f"shares/{file_share}/copy", token,
                      json={"destination": destination})  # fmt: skip
        assert answer.status_code == 200 and answer.json() == {"path": expected}, answer.text
        assert not (bob / expected).is_symlink() and (bob / expected).read_text() == "GIFT"
    assert tree(alice) == alice_before and victim.read_text() == "ALICE'S OWN"
    assert not (alice / "atk-not-yet").exists()
    assert leftovers(alice, bob) == []


def test_a_share_cannot_come_from_a_link_leading_out(hub, users):  # noqa: F811
    alice, bob = hub.home_of("alice"), hub.home_of("bob")
    private = write(bob / "atk-private.txt", "BOB'S PRIVATE")
    link(alice / "atk-link.txt", private)
    link(alice / "atk-rel-link.txt", "../bob/atk-private.txt")
    link(alice / "atk-chain.txt", alice / "atk-link.txt")
    link(alice / "atk-linkdir", bob)
    link(alice / "atk-nest" / "up", "../../bob")
    link(alice / "atk-environ", "/proc/self/environ")
    link(alice / "atk-etc", "/etc")
    by_me = share_ids(hub, "alice", "by-me")
    store_before = sorted(p.name for p in (hub.store / "shares").iterdir())
    for path in (
        "atk-link.txt",
        "atk-rel-link.txt",
        "atk-chain.txt",
        "atk-linkdir",
        "atk-linkdir/atk-private.txt",
        "atk-nest/up",
        "atk-nest/up/atk-private.txt",
        "atk-environ",
        "atk-etc",
        "atk-etc/passwd",
        str(private),
        "%2E%2E/bob/atk-private.txt",
    ):
        answer = call(hub, "alice", "POST", "shares", hub.token("alice"),
                      json={"path": path, "recipients": {"users": ["carol"]}})  # fmt: skip
        refused(answer.status_code, answer.content, (400, 404),
                ("BOB'S PRIVATE", "root:x:0", "JUPYTERHUB_API_TOKEN"))  # fmt: skip
    assert share_ids(hub, "alice", "by-me") == by_me
    assert sorted(p.name for p in (hub.store / "shares").iterdir()) == store_before
    assert os.listdir(hub.store / ".incoming") == []


def test_a_new_version_cannot_follow_a_swapped_in_link(hub, users):  # noqa: F811
    alice, bob = hub.home_of("alice"), hub.home_of("bob")
    private = write(bob / "atk-private.txt", "BOB'S PRIVATE")
    source = write(alice / "atk-v" / "notes.txt", "NOTES V1")
    write(alice / "atk-vdir" / "x.txt", "X V1")
    file_sid = share(hub, "alice", "atk-v/notes.txt", users=["carol"])["id"]
    dir_sid = share(hub, "alice", "atk-vdir", users=["carol"])["id"]
    link(alice / "atk-vlink.txt", private)
    # the share's source swapped for links out of the workspace
    source.unlink()
    link(source, private)
    (alice / "atk-vdir" / "x.txt").unlink()
    (alice / "atk-vdir").rmdir()
    link(alice / "atk-vdir", bob)
    token = hub.token("alice")
    for sid, body in (
        (file_sid, {}),
        (file_sid, {"path": "atk-vlink.txt"}),
        (file_sid, {"path": str(private)}),
        (dir_sid, {}),
        (dir_sid, {"path": "atk-linkdir"}),
    ):
        answer = call(hub, "alice", "POST", f"shares/{sid}/versions", token, json=body)
        refused(answer.status_code, answer.content, (400, 404), ("BOB'S PRIVATE",))
    for sid, name, content in ((file_sid, "notes.txt", "NOTES V1"), (dir_sid, "x.txt", "X V1")):
        assert call(hub, "alice", "GET", f"shares/{sid}", token).json()["version"] == 1
        answer = call(hub, "carol", "GET", f"shares/{sid}/files/{name}", hub.token("carol"))
        assert answer.status_code == 200 and answer.text == content


def test_a_visitor_of_alices_server_cannot_share_in_her_name(hub, jobs):  # noqa: F811
    """carol, given access to alice's server with JupyterHub's own server sharing, uses it
    (that is what sharing a server means) but cannot act as alice at the share service."""
    write(hub.home_of("alice") / "atk-visit" / "mine.txt", "ALICE'S NOTES")
    sid = share(hub, "alice", "atk-visit/mine.txt", users=["bob"])["id"]
    granted = hub.admin("POST", "shares/alice/", json={"user": "carol"})
    assert granted.status_code in (200, 201), granted.text
    try:
        visitor, _ = mint(hub, "carol", "access:servers!server=alice/")
        answer = call(hub, "alice", "GET", "jobs", visitor)
        assert answer.status_code == 200 and jobs["done"] in answer.text  # the server is hers
        by_alice = share_ids(hub, "alice", "by-me")
        for method, path, kwargs in (
            ("GET", "shares?scope=by-me", {}),
            ("POST", "shares", {"json": {"path": "atk-visit/mine.txt",
                                         "recipients": {"users": ["carol"]}}}),
            ("GET", f"shares/{sid}", {}),
            ("GET", f"shares/{sid}/files/mine.txt", {}),
            ("POST", f"shares/{sid}/copy", {"json": {}}),
            ("POST", f"shares/{sid}/versions", {"json": {}}),
            ("DELETE", f"shares/{sid}", {}),
        ):  # fmt: skip
            answer = call(hub, "alice", method, path, visitor, **kwargs)
            refused(answer.status_code, answer.content, (403,), ("ALICE'S NOTES",))
        assert share_ids(hub, "alice", "by-me") == by_alice
    finally:
        revoked = hub.admin("DELETE", "shares/alice/")
        assert revoked.status_code in (200, 204), revoked.text
    got = call(hub, "alice", "GET", f"shares/{sid}", hub.token("alice")).json()
    assert got["version"] == 1 and got["recipients"]["users"] == ["bob"]
