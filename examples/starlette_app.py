"""A Starlette provider behind PactMiddleware, requirements declared two ways.

Run it (``pip install 'pact-asgi[demo]'``) with the root authorities you trust, as
identity ids, public keys or paths to ``.pub`` entity files:

    PACT_TRUST=~/.config/pact/alice.pub python examples/starlette_app.py
    PACT_TRUST=sha256:... uvicorn --factory examples.starlette_app:app_from_env

``PACT_AUTHORITIES`` (default ``127.0.0.1:8000,localhost:8000``), ``REDIS_URL``,
``HOST`` and ``PORT`` work as in ``examples/fastapi_app.py``.

Endpoints declare their capability with ``@requires_capability``; routes the app does
not own (here, a mounted file listing) are declared in the middleware's ``routes`` map.
Handlers read the verified agent from ``request.user`` and ``request.scope["pact"]``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from pact_asgi.identity import Entity
from pact_asgi.middleware import PactMiddleware
from pact_asgi.principal import get_principal
from pact_asgi.routes import requires_capability
from pact_asgi.trust import TrustedRoots


async def health(request: Request) -> PlainTextResponse:
    """Public: no signature needed."""
    return PlainTextResponse("ok")


@requires_capability("notes:read,owner={owner}")
async def list_notes(request: Request) -> JSONResponse:
    """Needs ``notes:read`` for the owner named in the path."""
    return JSONResponse(
        {
            "owner": request.path_params["owner"],
            "agent": request.user.display_name,  # a PactUser
            "granted": request.auth.scopes,  # the chain's capabilities
        }
    )


@requires_capability("notes:write,owner={owner}")
async def add_note(request: Request) -> JSONResponse:
    """The body arrives as sent: the middleware read it, checked its digest, replays it."""
    note = await request.json()
    principal = get_principal(request)
    return JSONResponse(
        {"owner": request.path_params["owner"], "saved": note, "by": principal.agent_id},
        status_code=201,
    )


@requires_capability("notes:read,owner={owner}")
async def export_notes(request: Request) -> StreamingResponse:
    """A streaming response."""

    async def lines() -> AsyncIterator[bytes]:
        for number in range(3):
            yield f"note {number}\n".encode()

    return StreamingResponse(lines(), media_type="text/plain")


async def admin(request: Request) -> PlainTextResponse:
    """Declares nothing: a signed request gets 403, and start-up logs the route."""
    return PlainTextResponse("never for agents")  # pragma: no cover


async def files(scope: Scope, receive: Receive, send: Send) -> None:
    """A plain ASGI app mounted below /files: the routes map declares what it needs."""
    principal = scope["pact"]
    listing = {"path": scope["path"], "agent": principal.agent_id}
    await JSONResponse(listing)(scope, receive, send)


def build_app(
    *,
    trust: Any,
    authorities: list[str],
    replay: Any = None,
    revocations: Any = None,
) -> PactMiddleware:
    """The app wrapped in the middleware with this configuration."""
    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/users/{owner}/notes", list_notes, methods=["GET"]),
            Route("/users/{owner}/notes", add_note, methods=["POST"]),
            Route("/users/{owner}/notes/export", export_notes),
            Route("/admin", admin),
            Mount("/files", app=files),
        ]
    )
    return PactMiddleware(
        app,
        trust=trust,
        authorities=authorities,
        routes={"GET /files/{path:path}": "files:read,path=/{path}"},
        public=["/health"],
        replay=replay,
        revocations=revocations,
    )


def config_from_env() -> dict[str, Any]:
    """Middleware settings from the environment (see the module docstring)."""
    trusted = os.environ.get("PACT_TRUST")
    if not trusted:
        raise SystemExit("set PACT_TRUST to the root ids, public keys or .pub files you trust")
    roots: list[str | Entity] = []
    for item in filter(None, (part.strip() for part in trusted.split(","))):
        path = Path(item).expanduser()
        roots.append(Entity.load(path) if path.is_file() else item)
    authorities = os.environ.get("PACT_AUTHORITIES", "127.0.0.1:8000,localhost:8000")
    config: dict[str, Any] = {
        "trust": TrustedRoots(roots),
        "authorities": [a.strip() for a in authorities.split(",") if a.strip()],
    }
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:  # shared by every worker: a replay to one is a replay to all
        import redis.asyncio

        from pact_asgi.stores import RedisReplayCache, RedisRevocationStore

        client = redis.asyncio.Redis.from_url(redis_url, socket_timeout=2)
        config["replay"] = RedisReplayCache(client)
        config["revocations"] = RedisRevocationStore(client)
    return config


def app_from_env() -> PactMiddleware:
    """The app configured from the environment."""
    return build_app(**config_from_env())


if __name__ == "__main__":
    uvicorn.run(
        app_from_env(),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
    )
