"""End to end: the example providers served by a real uvicorn on 127.0.0.1, called by
an agent through ``httpx`` with ``PactAuth``, over real sockets and the real clock.

Both ``examples/fastapi_app.py`` and ``examples/starlette_app.py`` are built with their
own ``build_app`` and served with uvicorn's lifespan on, so the start-up review runs.
"""

from __future__ import annotations

import importlib.util
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvicorn
from middleware_kit import AGENT, ROOT, chain_of

from pact_asgi.client import PactAuth
from pact_asgi.signature import sign_request
from pact_asgi.trust import TrustedRoots

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TIMEOUT = 10.0
UNDECLARED = {"fastapi_app": ": GET /internal/metrics", "starlette_app": ": GET,HEAD /admin"}
GRANTS = [
    "repo:read,repo=acme/*",
    "repo:pr:create,repo=acme/web",
    "notes:read,owner=alice",
    "notes:write,owner=alice",
    "files:read,path=/public/**",
]


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Served:
    """A running provider: its base URL, and an agent client signing with PactAuth."""

    kind: str
    base_url: str
    http: httpx.Client
    chain: list[Any]


@pytest.fixture(params=["fastapi_app", "starlette_app"])
def served(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[Served]:
    caplog.set_level(logging.WARNING, logger="pact_asgi.middleware")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))  # bound here and handed over: no port race
    port = listener.getsockname()[1]
    authority = f"127.0.0.1:{port}"
    example = load_example(request.param)
    app = example.build_app(trust=TrustedRoots([ROOT.id]), authorities=[authority])
    config = uvicorn.Config(app, lifespan="on", ws="none", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + TIMEOUT
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail(f"uvicorn did not start the {request.param} example")
        time.sleep(0.02)
    # The start-up review ran in the lifespan and named the one route that declares nothing.
    (review,) = [r.getMessage() for r in caplog.records if "declaring no" in r.getMessage()]
    assert review.endswith(UNDECLARED[request.param])

    chain = chain_of(GRANTS, depth=2, now=datetime.now(timezone.utc) - timedelta(minutes=1))
    base_url = f"http://{authority}"
    try:
        with httpx.Client(base_url=base_url, auth=PactAuth(AGENT, chain), timeout=TIMEOUT) as http:
            yield Served(request.param, base_url, http, chain)
    finally:
        server.should_exit = True
        thread.join(TIMEOUT)
        listener.close()
    assert not thread.is_alive(), "uvicorn did not stop"


def is_fastapi(served: Served) -> bool:
    return served.kind == "fastapi_app"


def test_get_with_a_path_template(served):
    if is_fastapi(served):
        ok, other = served.http.get("/repos/acme/api"), served.http.get("/repos/evil/api")
        assert ok.json() == {"repo": "acme/api", "read_by": AGENT.id}
    else:
        ok, other = served.http.get("/users/alice/notes"), served.http.get("/users/bob/notes")
        assert ok.json()["owner"] == "alice"
        assert ok.json()["agent"] == "bot"
        assert set(ok.json()["granted"]) == set(GRANTS)
    assert ok.status_code == 200
    assert other.status_code == 403
    assert other.json()["code"] == "capability_denied"


def test_post_json(served):
    if is_fastapi(served):
        response = served.http.post(
            "/repos/acme/web/pulls", json={"title": "Fix the build", "head": "fix-1"}
        )
        body = response.json()
        assert body["title"] == "Fix the build"
        assert body["on_behalf_of"] == ROOT.id
        assert body["delegations"] == [link.id for link in served.chain]
    else:
        response = served.http.post("/users/alice/notes", json={"text": "remember the milk"})
        assert response.json()["saved"] == {"text": "remember the milk"}
    assert response.status_code == 201


def test_streaming_response(served):
    path = "/repos/acme/web/events" if is_fastapi(served) else "/users/alice/notes/export"
    with served.http.stream("GET", path) as response:
        assert response.status_code == 200
        lines = list(response.iter_lines())
    assert len(lines) == 3


def test_public_route_without_signature(served):
    response = httpx.get(served.base_url + "/health", timeout=TIMEOUT)
    assert response.status_code == 200


def test_undeclared_route_is_forbidden(served):
    path = "/internal/metrics" if is_fastapi(served) else "/admin"
    response = served.http.get(path)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "route_undeclared"


def test_unsigned_request_is_challenged(served):
    path = "/repos/acme/web" if is_fastapi(served) else "/users/alice/notes"
    response = httpx.get(served.base_url + path, timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.json()["code"] == "signature_missing"
    assert response.headers["www-authenticate"] == 'Pact error="signature_missing"'
    assert response.headers["accept-signature"].startswith('pact=("@method"')


def test_replay_over_the_wire(served):
    path = "/repos/acme/web" if is_fastapi(served) else "/users/alice/notes"
    headers = sign_request(AGENT, served.chain, method="GET", url=served.base_url + path)
    with httpx.Client(base_url=served.base_url, timeout=TIMEOUT) as plain:
        first = plain.get(path, headers=headers)
        second = plain.get(path, headers=headers)
    assert first.status_code == 200
    assert second.status_code == 401
    assert second.json()["code"] == "replayed"


def test_request_signed_for_another_port(served):
    path = "/repos/acme/web" if is_fastapi(served) else "/users/alice/notes"
    elsewhere = served.base_url.rsplit(":", 1)[0] + ":1"
    headers = sign_request(AGENT, served.chain, method="GET", url=elsewhere + path)
    as_sent = httpx.get(served.base_url + path, headers=headers, timeout=TIMEOUT)
    as_signed = httpx.get(
        served.base_url + path, headers={**headers, "Host": "127.0.0.1:1"}, timeout=TIMEOUT
    )
    # Sent with this server's Host, the signature covers another authority; sent with
    # the signed Host, that authority is not one this server answers to.
    assert as_sent.json()["code"] == "signature_invalid"
    assert as_signed.json()["code"] == "authority_mismatch"


@pytest.mark.parametrize("served", ["starlette_app"], indirect=True)
def test_mounted_app_declared_in_the_routes_map(served):
    allowed = served.http.get("/files/public/readme.txt")
    denied = served.http.get("/files/private/keys.txt")
    assert allowed.json() == {"path": "/files/public/readme.txt", "agent": AGENT.id}
    assert denied.status_code == 403
