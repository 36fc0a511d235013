"""Shared pieces of the middleware tests: identities, chains, signing, a provider app.

Loaded as a pytest plugin (tests/conftest.py), so its fixtures serve every test module.

Everything is real: Ed25519 keys from deterministic seeds, delegations issued and
signed by ``pact_asgi``, requests signed by ``sign_request``. The provider app counts
the requests that reach a handler, so a test can prove that a refused one did not.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

with warnings.catch_warnings():
    # Starlette 1.x wants httpx2 behind its TestClient and warns when it falls back to
    # httpx; either serves these tests.
    warnings.filterwarnings("ignore", message=".*install `httpx2`")
    from starlette.testclient import TestClient

from pact_asgi.delegation import Delegation
from pact_asgi.identity import Identity, test_seed
from pact_asgi.middleware import PactMiddleware
from pact_asgi.principal import Principal
from pact_asgi.routes import requires_capability
from pact_asgi.signature import sign_request
from pact_asgi.trust import TrustedRoots

__all__ = ["TestClient"]  # re-exported for the test modules

T0 = datetime(2026, 12, 3, 17, 0, 0, tzinfo=timezone.utc)
ISSUED = T0 - timedelta(minutes=10)
HOST = "api.test"
BASE_URL = f"http://{HOST}"

ROOT = Identity.from_seed(test_seed("mw-root"), type="human", name="alice")
MID1 = Identity.from_seed(test_seed("mw-mid1"), name="planner")
MID2 = Identity.from_seed(test_seed("mw-mid2"), name="worker")
AGENT = Identity.from_seed(test_seed("mw-agent"), name="bot")
STRANGER = Identity.from_seed(test_seed("mw-stranger"), type="human", name="mallory")

CAPABILITIES = (
    "items:read",
    "github:pr:create,repo=myorg/*",
    "stream:read",
    "files:write",
    "search:run",
    "admin:users:read,name=alice",
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def chain_of(
    capabilities: Sequence[str] = CAPABILITIES,
    *,
    depth: int = 1,
    root: Identity = ROOT,
    agent: Identity = AGENT,
    now: datetime = ISSUED,
    ttl: timedelta = timedelta(hours=1),
) -> list[Delegation]:
    """A chain root -> (MID1 -> MID2 ->) agent of ``depth`` links, all granting the same."""
    holders = [root, *(MID1, MID2)[: depth - 1], agent]
    links: list[Delegation] = []
    for i in range(depth):
        links.append(
            Delegation.issue(
                holders[i],
                holders[i + 1],
                list(capabilities),
                ttl=ttl,
                max_chain_depth=depth - i,
                parent=links or None,
                now=now,
            )
        )
    return links


DEFAULT_CHAIN = chain_of()


def sign(
    method: str,
    target: str,
    *,
    body: bytes = b"",
    chain: Sequence[Delegation] = DEFAULT_CHAIN,
    identity: Identity = AGENT,
    host: str = HOST,
    created: datetime = T0,
    expires: datetime | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The four Pact headers for ``method target`` (path and query) on ``host``."""
    return sign_request(
        identity,
        chain,
        method=method,
        url=f"http://{host}{target}",
        body=body,
        created=created,
        expires=expires,
        nonce=nonce,
    )


class Reached:
    """Counts the requests that reached a handler."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __len__(self) -> int:
        return len(self.paths)


@pytest.fixture
def clock() -> Clock:
    """A clock of its own for each test, at ``T0``."""
    return Clock()


@pytest.fixture
def reached() -> Reached:
    """A fresh count of the requests that reach a handler."""
    return Reached()


def provider_app(reached: Reached) -> Starlette:
    """A Starlette provider with templated, streaming, public, undeclared and mounted routes."""

    def mark(request: Request) -> Principal | None:
        reached.paths.append(request.url.path)
        found = request.scope.get("pact")
        return found if isinstance(found, Principal) else None

    @requires_capability("items:read,id={item_id}")
    async def item(request: Request) -> JSONResponse:
        principal = mark(request)
        assert principal is not None
        return JSONResponse(
            {
                "id": request.path_params["item_id"],
                "agent": principal.agent_id,
                "user": request.user.display_name,
                "authenticated": request.user.is_authenticated,
                "scopes": request.auth.scopes,
                "required": [str(c) for c in principal.required],
                "covered_by": [str(c) for c in principal.covered_by],
            }
        )

    @requires_capability("github:pr:create,repo={owner}/{repo}")
    async def pulls(request: Request) -> JSONResponse:
        principal = mark(request)
        assert principal is not None
        payload = await request.json()
        return JSONResponse(
            {"received": payload, "agent": principal.agent_id, "root": principal.root_id},
            status_code=201,
        )

    @requires_capability("stream:read")
    async def stream(request: Request) -> StreamingResponse:
        mark(request)

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(5):
                yield f"chunk {i}\n".encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    @requires_capability("files:write")
    def upload(request: Request) -> PlainTextResponse:  # a sync endpoint, run in a thread
        mark(request)
        return PlainTextResponse("stored")

    @requires_capability("search:run")
    async def search(request: Request) -> JSONResponse:
        mark(request)
        return JSONResponse({"q": request.query_params.get("q")})

    async def health(request: Request) -> PlainTextResponse:
        mark(request)
        return PlainTextResponse("ok")

    async def undeclared(request: Request) -> PlainTextResponse:
        mark(request)
        return PlainTextResponse("should not be reached when signed")

    @requires_capability("admin:users:read,name={name}")
    async def admin_user(request: Request) -> JSONResponse:
        mark(request)
        return JSONResponse({"name": request.path_params["name"]})

    @requires_capability("notes:read")
    class Notes(HTTPEndpoint):
        async def get(self, request: Request) -> PlainTextResponse:
            mark(request)
            return PlainTextResponse("notes")

        @requires_capability("notes:delete")
        async def delete(self, request: Request) -> PlainTextResponse:
            mark(request)
            return PlainTextResponse("deleted")

    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    return Starlette(
        routes=[
            Route("/items/{item_id:int}", item),
            Route("/repos/{owner}/{repo}/pulls", pulls, methods=["POST"]),
            Route("/stream", stream),
            Route("/upload", upload, methods=["POST"]),
            Route("/search", search),
            Route("/health", health),
            Route("/undeclared", undeclared),
            Route("/notes", Notes),
            Mount("/admin", routes=[Route("/users/{name}", admin_user)]),
            WebSocketRoute("/ws", socket),
            WebSocketRoute("/public-ws", socket),
        ]
    )


def protect(app: Any, clock: Clock, **overrides: Any) -> PactMiddleware:
    """``app`` wrapped in the middleware with the kit's defaults, which tests override."""
    config: dict[str, Any] = {
        "trust": TrustedRoots([ROOT.id]),
        "authorities": [HOST],
        "public": ["/health", "/public-ws"],
        "clock": clock,
    }
    config.update(overrides)
    return PactMiddleware(app, **config)


def client(app: Any) -> httpx.AsyncClient:
    """An httpx client that calls ``app`` in-process (no sockets)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


def problem(response: httpx.Response) -> dict[str, Any]:
    """The refusal's problem document, checked for its RFC 9457 shape."""
    assert response.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = json.loads(response.content)
    assert set(document) == {"type", "title", "status", "detail", "code"}
    assert document["status"] == response.status_code
    assert document["type"] == "urn:pact:error:" + document["code"]
    return document
