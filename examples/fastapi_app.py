"""A FastAPI provider behind PactMiddleware: every route says which capability it needs.

Run it (``pip install 'pact-asgi[fastapi,demo]'``) with the root authorities you trust,
as identity ids, public keys or paths to ``.pub`` entity files (``pact init`` writes them):

    PACT_TRUST=~/.config/pact/alice.pub python examples/fastapi_app.py
    PACT_TRUST=sha256:... uvicorn --factory examples.fastapi_app:app_from_env

Optional: ``PACT_AUTHORITIES`` (default ``127.0.0.1:8000,localhost:8000``), the host
names requests must be signed for; ``REDIS_URL`` to share the replay cache and the
revocations between workers; ``HOST`` and ``PORT`` for ``python examples/fastapi_app.py``.

An agent holding a delegation from one of those roots calls it with ``PactAuth``::

    httpx.get("http://127.0.0.1:8000/repos/acme/web", auth=PactAuth(agent, chain))
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from pact_asgi.fastapi import pact_security, require_capability
from pact_asgi.middleware import PactMiddleware
from pact_asgi.principal import Principal

sys.path.insert(0, str(Path(__file__).resolve().parent))
from starlette_app import config_from_env  # PACT_TRUST, REDIS_URL, ...

ReadRepo = Depends(require_capability("repo:read,repo={owner}/{repo}"))


class PullRequest(BaseModel):
    title: str
    head: str
    base: str = "main"


def build_app(
    *,
    trust: Any,
    authorities: list[str],
    replay: Any = None,
    revocations: Any = None,
) -> FastAPI:
    """The API, wrapped in the middleware with this configuration."""
    app = FastAPI(title="Repositories, for agents")

    @app.get("/health")
    async def health() -> dict[str, str]:
        """Public: listed in ``public`` below, no signature needed."""
        return {"status": "ok"}

    @app.get("/repos/{owner}/{repo}")
    async def read_repo(
        owner: str, repo: str, principal: Annotated[Principal, ReadRepo]
    ) -> dict[str, Any]:
        """Needs ``repo:read`` for this very repository, filled from the path."""
        return {"repo": f"{owner}/{repo}", "read_by": principal.agent_id}

    @app.post("/repos/{owner}/{repo}/pulls", status_code=201)
    async def open_pull(
        owner: str,
        repo: str,
        pull: PullRequest,
        principal: Annotated[Principal, pact_security("repo:pr:create,repo={owner}/{repo}")],
    ) -> dict[str, Any]:
        """Declared with ``pact_security``: the capability shows in /openapi.json."""
        return {
            "repo": f"{owner}/{repo}",
            "title": pull.title,
            "opened_by": principal.agent_id,
            "on_behalf_of": principal.root_id,
            "delegations": list(principal.delegation_ids),
        }

    @app.get("/repos/{owner}/{repo}/events", dependencies=[ReadRepo])
    async def events(owner: str, repo: str) -> StreamingResponse:
        """A streaming response: the principal was checked before the first byte."""

        async def lines() -> AsyncIterator[bytes]:
            for number in range(3):
                yield f"event {number} in {owner}/{repo}\n".encode()

        return StreamingResponse(lines(), media_type="text/plain")

    @app.get("/internal/metrics")
    async def metrics() -> dict[str, int]:
        """Declares nothing: a signed request gets 403, and start-up logs the route."""
        return {"requests": 0}  # pragma: no cover - never reached by a signed request

    app.add_middleware(
        PactMiddleware,
        trust=trust,
        authorities=authorities,
        public=["/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"],
        replay=replay,
        revocations=revocations,
    )
    return app


def app_from_env() -> FastAPI:
    """The app configured from the environment (see the module docstring)."""
    return build_app(**config_from_env())


if __name__ == "__main__":
    uvicorn.run(
        app_from_env(),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
    )
