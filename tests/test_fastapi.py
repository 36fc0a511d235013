"""FastAPI: requirements declared as dependencies, found by the middleware, shown in OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import StreamingResponse
from middleware_kit import (
    AGENT,
    BASE_URL,
    CAPABILITIES,
    HOST,
    ROOT,
    Clock,
    Reached,
    TestClient,
    chain_of,
    client,
    problem,
    protect,
    sign,
)
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.routing import Mount

from pact_asgi.client import PactAuth
from pact_asgi.fastapi import (
    CapabilityRequirement,
    get_principal,
    pact_security,
    require_capability,
)
from pact_asgi.middleware import PactMiddleware
from pact_asgi.principal import Principal
from pact_asgi.trust import TrustedRoots


class Pull(BaseModel):
    title: str
    head: str


def fastapi_app(reached: Reached) -> FastAPI:
    app = FastAPI()
    admin = APIRouter(
        prefix="/admin", dependencies=[Depends(require_capability("admin:users:read,name={name}"))]
    )

    @app.get("/items/{item_id}")
    async def item(
        item_id: int,
        principal: Annotated[Principal, Depends(require_capability("items:read,id={item_id}"))],
    ) -> dict[str, object]:
        reached.paths.append(f"/items/{item_id}")
        return {
            "id": item_id,
            "agent": principal.agent_id,
            "required": [str(c) for c in principal.required],
        }

    @app.post("/repos/{owner}/{repo}/pulls", status_code=201)
    async def pulls(
        owner: str,
        repo: str,
        pull: Pull,
        principal: Annotated[Principal, pact_security("github:pr:create,repo={owner}/{repo}")],
    ) -> dict[str, str]:
        reached.paths.append(f"/repos/{owner}/{repo}/pulls")
        return {"title": pull.title, "repo": f"{owner}/{repo}", "root": principal.root_id}

    @app.get("/stream", dependencies=[Depends(require_capability("stream:read"))])
    async def stream() -> StreamingResponse:
        reached.paths.append("/stream")

        async def lines() -> AsyncIterator[bytes]:
            for i in range(3):
                yield f"line {i}\n".encode()

        return StreamingResponse(lines(), media_type="text/plain")

    @app.get("/me")
    async def me(principal: Annotated[Principal, Depends(get_principal)]) -> dict[str, str]:
        reached.paths.append("/me")
        return {"agent": principal.agent_id}

    @app.get("/health")
    async def health() -> dict[str, str]:
        reached.paths.append("/health")
        return {"status": "ok"}

    @app.get("/undeclared")
    async def undeclared() -> dict[str, str]:
        reached.paths.append("/undeclared")  # pragma: no cover - always refused when signed
        return {}  # pragma: no cover

    @admin.get("/users/{name}")
    async def user(name: str) -> dict[str, str]:
        reached.paths.append(f"/admin/users/{name}")
        return {"name": name}

    app.include_router(admin)
    return app


@pytest.fixture
def app(reached: Reached, clock: Clock) -> FastAPI:
    app = fastapi_app(reached)
    app.add_middleware(
        PactMiddleware,
        trust=TrustedRoots([ROOT.id]),
        authorities=[HOST],
        routes={"GET /me": "items:read"},
        public=["/health", "/openapi.json", "/docs"],
        clock=clock,
    )
    return app


async def test_dependency_declares_and_returns_the_principal(app, reached):
    async with client(app) as http:
        ok = await http.get("/items/5", headers=sign("GET", "/items/5"))
    assert ok.status_code == 200
    assert ok.json() == {"id": 5, "agent": AGENT.id, "required": ["items:read,id=5"]}


async def test_security_dependency_with_a_json_body(app, reached):
    body = b'{"title": "Fix", "head": "patch-1"}'
    target = "/repos/myorg/web/pulls"
    headers = {**sign("POST", target, body=body), "content-type": "application/json"}
    async with client(app) as http:
        created = await http.post(target, content=body, headers=headers)
        other = "/repos/evil/web/pulls"
        denied = await http.post(
            other,
            content=body,
            headers={**sign("POST", other, body=body), "content-type": "application/json"},
        )
    assert created.status_code == 201
    assert created.json() == {"title": "Fix", "repo": "myorg/web", "root": ROOT.id}
    assert denied.status_code == 403
    assert problem(denied)["code"] == "capability_denied"
    assert reached.paths == ["/repos/myorg/web/pulls"]


async def test_router_level_dependency_and_streaming(app, reached):
    async with client(app) as http:
        alice = await http.get("/admin/users/alice", headers=sign("GET", "/admin/users/alice"))
        bob = await http.get("/admin/users/bob", headers=sign("GET", "/admin/users/bob"))
        stream = await http.get("/stream", headers=sign("GET", "/stream"))
    assert alice.json() == {"name": "alice"}
    assert bob.status_code == 403
    assert stream.text == "line 0\nline 1\nline 2\n"


async def test_map_entry_with_the_plain_principal_dependency(app):
    async with client(app) as http:
        response = await http.get("/me", headers=sign("GET", "/me"))
    assert response.json() == {"agent": AGENT.id}


async def test_public_and_undeclared(app, reached):
    async with client(app) as http:
        health = await http.get("/health")
        undeclared = await http.get("/undeclared", headers=sign("GET", "/undeclared"))
        unsigned = await http.get("/items/1")
    assert health.json() == {"status": "ok"}
    assert undeclared.status_code == 403
    assert problem(undeclared)["code"] == "route_undeclared"
    assert unsigned.status_code == 401
    assert reached.paths == ["/health"]


def test_openapi_lists_the_pact_scheme_and_capabilities(app):
    with TestClient(app, base_url=BASE_URL) as http:
        schema = http.get("/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["Pact"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "Pact"
    assert "RFC 9421" in scheme["description"]
    paths = schema["paths"]
    assert paths["/repos/{owner}/{repo}/pulls"]["post"]["security"] == [
        {"Pact": ["github:pr:create,repo={owner}/{repo}"]}
    ]
    assert paths["/items/{item_id}"]["get"]["security"] == [{"Pact": []}]
    assert paths["/admin/users/{name}"]["get"]["security"] == [{"Pact": []}]
    assert "security" not in paths["/health"]["get"]


def test_starlette_test_client_against_fastapi(app, reached):
    with TestClient(app, base_url=BASE_URL) as http:
        ok = http.get("/items/8", headers=sign("GET", "/items/8"))
        refused = http.get("/items/8")
    assert ok.status_code == 200
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Pact error="signature_missing"'


async def test_fastapi_app_mounted_in_starlette(reached, clock):
    outer = Starlette(routes=[Mount("/v1", app=fastapi_app(reached))])
    app = protect(outer, clock)
    async with client(app) as http:
        ok = await http.get("/v1/items/2", headers=sign("GET", "/v1/items/2"))
        undeclared = await http.get("/v1/undeclared", headers=sign("GET", "/v1/undeclared"))
    assert ok.status_code == 200
    assert ok.json()["required"] == ["items:read,id=2"]
    assert problem(undeclared)["code"] == "route_undeclared"


async def test_pact_auth_client_with_the_real_clock(reached):
    now = datetime.now(timezone.utc)
    chain = chain_of(CAPABILITIES, depth=3, now=now - timedelta(minutes=1))
    app = fastapi_app(reached)
    app.add_middleware(PactMiddleware, trust=TrustedRoots([ROOT.id]), authorities=[HOST])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE_URL, auth=PactAuth(AGENT, chain)
    ) as http:
        got = await http.get("/items/3")
        posted = await http.post("/repos/myorg/api/pulls", json={"title": "t", "head": "h"})
    assert got.status_code == 200
    assert posted.status_code == 201


def test_dependency_without_the_middleware_refuses_to_run(reached):
    app = fastapi_app(reached)
    with TestClient(app) as http, pytest.raises(RuntimeError, match="PactMiddleware"):
        http.get("/items/1")
    assert reached.paths == []


async def test_include_router_prefix_and_dependencies_apply(reached, clock, caplog):
    inner = APIRouter()

    @inner.get("/reports/{year}")
    async def report(year: int) -> dict[str, int]:
        reached.paths.append(f"/reports/{year}")
        return {"year": year}

    async def open_report() -> dict[str, str]:  # pragma: no cover - refused when signed
        return {}

    app = FastAPI()
    app.include_router(
        inner, prefix="/v2", dependencies=[Depends(require_capability("reports:read,year={year}"))]
    )
    bare = APIRouter()
    bare.add_api_route("/bare", open_report)
    app.include_router(bare, prefix="/v3")
    app.add_middleware(
        PactMiddleware, trust=TrustedRoots([ROOT.id]), authorities=[HOST], clock=clock
    )
    reader = chain_of(["reports:read,year=2026"])
    with TestClient(app, base_url=BASE_URL) as http:
        ok = http.get("/v2/reports/2026", headers=sign("GET", "/v2/reports/2026", chain=reader))
        other = http.get("/v2/reports/2025", headers=sign("GET", "/v2/reports/2025", chain=reader))
        bare_response = http.get("/v3/bare", headers=sign("GET", "/v3/bare", chain=reader))
    assert ok.json() == {"year": 2026}
    assert problem(other)["code"] == "capability_denied"
    assert problem(bare_response)["code"] == "route_undeclared"
    assert reached.paths == ["/reports/2026"]
    (warning,) = [r.getMessage() for r in caplog.records if "declaring no" in r.getMessage()]
    assert "GET /v3/bare" in warning
    assert "/v2/" not in warning


def test_full_match_after_a_partial_one_inside_an_included_router(clock):
    inner = APIRouter()

    @inner.get("/thing")
    async def read_thing(
        _: Annotated[Principal, Depends(require_capability("thing:read"))],
    ) -> dict[str, str]:  # pragma: no cover - not the route under test
        return {"did": "read"}

    app = FastAPI()
    app.include_router(inner, prefix="/v2")

    @app.post("/v2/thing")
    async def write_thing(
        _: Annotated[Principal, Depends(require_capability("thing:write"))],
    ) -> dict[str, str]:
        return {"did": "write"}

    app.add_middleware(
        PactMiddleware, trust=TrustedRoots([ROOT.id]), authorities=[HOST], clock=clock
    )
    writer = chain_of(["thing:write"])
    with TestClient(app, base_url=BASE_URL) as http:
        response = http.post("/v2/thing", headers=sign("POST", "/v2/thing", chain=writer))
    assert response.json() == {"did": "write"}


def test_requirement_object():
    requirement = require_capability("api:write,max_cost<100")
    assert isinstance(requirement, CapabilityRequirement)
    assert requirement.template.text == "api:write,max_cost<100"
    assert repr(requirement) == "require_capability('api:write,max_cost<100')"
    with pytest.raises(ValueError, match="scope segment"):
        require_capability("not valid")
