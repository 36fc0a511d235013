"""Route requirements: the map, public paths, Starlette route matching, the decorator."""

from __future__ import annotations

from typing import Any

import pytest
from middleware_kit import AGENT, HOST, T0, TestClient, chain_of, sign
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Host, Match, Mount, Route, Router, WebSocketRoute

from pact_asgi.capability import CapabilityTemplate
from pact_asgi.errors import PactError
from pact_asgi.principal import Principal
from pact_asgi.routes import (
    REQUIREMENT_ATTRIBUTE,
    Requirement,
    RouteRequirements,
    authorize,
    requires_capability,
    route_path,
)
from pact_asgi.signature import RequestVerifier
from pact_asgi.trust import TrustedRoots


def scope(method: str, path: str, root_path: str = "", host: str = HOST) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": root_path,
        "headers": [(b"host", host.encode())],
    }


def found(requirements: RouteRequirements, method: str, path: str, routes: Any = None) -> list:
    return [
        (str(r.capability(params)), dict(params))
        for r, params in requirements.find(scope(method, path), routes)
    ]


async def endpoint(request: Request) -> PlainTextResponse:  # pragma: no cover - not called
    return PlainTextResponse("")


# The map


def test_map_fills_templates_from_its_own_path_parameters():
    requirements = RouteRequirements(
        {
            "GET /repos/{owner}/{repo}": "repo:read,repo={owner}/{repo}",
            "POST,PUT /items/{id:int}": "items:write,id={id}",
            "* /admin/{rest:path}": "admin",
        }
    )
    assert found(requirements, "GET", "/repos/a/b") == [
        ("repo:read,repo=a/b", {"owner": "a", "repo": "b"})
    ]
    assert found(requirements, "HEAD", "/repos/a/b") == [
        ("repo:read,repo=a/b", {"owner": "a", "repo": "b"})
    ]
    assert found(requirements, "PUT", "/items/12") == [("items:write,id=12", {"id": 12})]
    assert found(requirements, "GET", "/items/12") == []
    assert found(requirements, "DELETE", "/admin/x/y") == [("admin:*", {"rest": "x/y"})]
    assert found(requirements, "GET", "/repos/a") == []


def test_map_parameter_that_a_convertor_refuses_is_no_match():
    requirements = RouteRequirements({"GET /items/{id:int}": "items:read"})
    assert found(requirements, "GET", "/items/" + "9" * 5000) == []  # int() refuses 4300+


@pytest.mark.parametrize(
    ("key", "template", "error"),
    [
        ("/x", "a", ValueError),
        ("get /x", "a", ValueError),
        ("GET x", "a", ValueError),
        ("GET", "a", ValueError),
        ("GET /x y", "a", ValueError),
        ("*,GET /x", "a", ValueError),
        ("GET /x/{id:nope}", "a", ValueError),
        ("GET /x/{id}", "a,n={other}", ValueError),
        ("GET /x", "not a capability!", ValueError),
        ("GET /x", 5, TypeError),
    ],
)
def test_map_mistakes_fail_at_construction(key, template, error):
    with pytest.raises(error):
        RouteRequirements({key: template})


# Public paths


def test_public_exact_and_prefix():
    requirements = RouteRequirements(public=["/health", "/static/*"])
    assert requirements.is_public("/health")
    assert not requirements.is_public("/health/x")
    assert not requirements.is_public("/healthz")
    assert requirements.is_public("/static/app.js")
    assert requirements.is_public("/static/")
    assert not requirements.is_public("/static")


@pytest.mark.parametrize("path", ["/static/../admin", "/static/./x", "/static/a/..", "/static/.."])
def test_public_prefix_refuses_dot_segments(path):
    assert not RouteRequirements(public=["/static/*"]).is_public(path)


@pytest.mark.parametrize("public", [["health"], ["/a*b"], [5]])
def test_public_mistakes(public):
    with pytest.raises(ValueError, match="public path"):
        RouteRequirements(public=public)


def test_route_path_strips_the_root_path_like_starlette():
    assert route_path(scope("GET", "/api/items", root_path="/api")) == "/items"
    assert route_path(scope("GET", "/api", root_path="/api")) == ""
    assert route_path(scope("GET", "/apix", root_path="/api")) == "/apix"
    assert route_path(scope("GET", "/other", root_path="/api")) == "/other"


# The application's own routes


def test_decorated_route_is_found_with_starlette_parameters():
    decorated = requires_capability("items:read,id={id}")(endpoint)
    routes = [Route("/items/{id:int}", decorated), Route("/plain", endpoint)]
    requirements = RouteRequirements()
    assert found(requirements, "GET", "/items/3", routes) == [("items:read,id=3", {"id": 3})]
    assert found(requirements, "GET", "/plain", routes) == []
    assert found(requirements, "GET", "/missing", routes) == []


def test_mounts_and_hosts_are_searched_with_their_parameters():
    inner = requires_capability("org:repo:read,org={org},repo={repo}")(endpoint)
    routes = [
        Mount("/orgs/{org}", routes=[Route("/repos/{repo}", inner)]),
        Host(
            "{tenant}.example",
            app=Router([Route("/t", requires_capability("t,n={tenant}")(endpoint))]),
        ),
    ]
    requirements = RouteRequirements()
    assert found(requirements, "GET", "/orgs/acme/repos/web", routes) == [
        ("org:repo:read,org=acme,repo=web", {"org": "acme", "repo": "web"})
    ]
    hosted = requirements.find(scope("GET", "/t", host="blue.example"), routes)
    assert [(str(r.capability(p)), p) for r, p in hosted] == [("t:*,n=blue", {"tenant": "blue"})]


def test_partial_match_still_names_the_route():
    decorated = requires_capability("items:write")(endpoint)
    routes = [Route("/items", decorated, methods=["POST"])]
    assert found(RouteRequirements(), "DELETE", "/items", routes) == [("items:write", {})]


def test_full_match_wins_over_an_earlier_partial_one():
    get = requires_capability("a:get")(endpoint)
    post = requires_capability("a:post")(endpoint)
    routes = [Route("/a", get, methods=["GET"]), Route("/a", post, methods=["POST"])]
    assert found(RouteRequirements(), "POST", "/a", routes) == [("a:post", {})]


def test_map_and_route_declarations_add_up():
    decorated = requires_capability("items:read")(endpoint)
    requirements = RouteRequirements({"* /items": "audit"})
    assert [c for c, _ in found(requirements, "GET", "/items", [Route("/items", decorated)])] == [
        "audit:*",
        "items:read",
    ]


def test_endpoint_class_and_handler_methods():
    @requires_capability("notes:read")
    class Notes(HTTPEndpoint):
        async def get(self, request: Request) -> PlainTextResponse:  # pragma: no cover
            return PlainTextResponse("")

        @requires_capability("notes:delete")
        async def delete(self, request: Request) -> PlainTextResponse:  # pragma: no cover
            return PlainTextResponse("")

    routes = [Route("/notes", Notes)]
    requirements = RouteRequirements()
    assert [c for c, _ in found(requirements, "GET", "/notes", routes)] == ["notes:read"]
    assert [c for c, _ in found(requirements, "HEAD", "/notes", routes)] == ["notes:read"]
    assert [c for c, _ in found(requirements, "DELETE", "/notes", routes)] == [
        "notes:read",
        "notes:delete",
    ]


def test_declarations_are_computed_once_per_route():
    decorated = requires_capability("items:read")(endpoint)
    route = Route("/items", decorated)
    requirements = RouteRequirements()
    first = requirements.find(scope("GET", "/items"), [route])[0][0]
    second = requirements.find(scope("GET", "/items"), [route])[0][0]
    assert first is second
    assert first.fixed is not None  # no parameters: filled once, at first sight


def test_a_foreign_declaration_attribute_is_a_type_error():
    def odd(request: Request) -> None:  # pragma: no cover
        return None

    setattr(odd, REQUIREMENT_ATTRIBUTE, ("items:read",))  # strings, not templates
    with pytest.raises(TypeError):
        RouteRequirements().find(scope("GET", "/odd"), [Route("/odd", odd)])


# The start-up review


def test_review_lists_what_declares_nothing():
    decorated = requires_capability("a")(endpoint)
    routes = [
        Route("/declared", decorated),
        Route("/bare", endpoint, methods=["POST"]),
        Route("/health", endpoint),
        Route("/mapped/{id}", endpoint),
        Mount("/static", app=PlainTextResponse("x")),
        Mount("/sub", routes=[Route("/inner", endpoint)]),
        WebSocketRoute("/ws", endpoint),
    ]
    requirements = RouteRequirements({"GET /mapped/{id}": "m"}, public=["/health"])
    assert requirements.review(routes) == ["POST /bare", "* /static/{path}", "GET,HEAD /sub/inner"]


def test_review_reports_a_route_it_cannot_look_into():
    class Opaque(BaseRoute):
        def matches(self, scope: Any) -> tuple[Match, dict[str, Any]]:
            return Match.NONE, {}

    assert RouteRequirements().review([Mount("/m", routes=[Opaque()])]) == ["* /m (Opaque)"]


def test_review_refuses_a_template_parameter_the_path_lacks():
    decorated = requires_capability("a,id={id}")(endpoint)
    with pytest.raises(ValueError, match="id"):
        RouteRequirements().review([Mount("/m/{org}", routes=[Route("/x", decorated)])])
    ok = requires_capability("a,org={org}")(endpoint)
    assert RouteRequirements().review([Mount("/m/{org}", routes=[Route("/x", ok)])]) == []


# The decorator's own check at the endpoint


def verified_principal(capabilities: list[str]) -> Principal:
    chain = chain_of(capabilities)
    headers = sign("GET", "/x", chain=chain)
    verifier = RequestVerifier(authorities=[HOST])
    verified = verifier.verify(
        method="GET",
        authority=HOST,
        path="/x",
        query="",
        headers=headers,
        body=b"",
        trust=TrustedRoots([chain[0].from_entity.id]),
        now=T0,
    )
    return Principal(verified, (), ())


def request_with(principal: Principal | None, path_params: dict[str, Any]) -> Request:
    found_scope: dict[str, Any] = {"type": "http", "path_params": path_params, "headers": []}
    if principal is not None:
        found_scope["pact"] = principal
    return Request(found_scope)


async def test_guard_passes_with_the_capability_and_returns_the_endpoints_answer():
    @requires_capability("items:read,id={id}")
    async def item(request: Request) -> str:
        return "item " + request.path_params["id"]

    principal = verified_principal(["items:read,id=4"])
    assert principal.agent_id == AGENT.id
    assert await item(request_with(principal, {"id": "4"})) == "item 4"
    with pytest.raises(HTTPException) as denied:
        await item(request_with(principal, {"id": "5"}))
    assert denied.value.status_code == 403


def test_guard_on_a_sync_endpoint_and_with_keyword_request():
    @requires_capability("files:write")
    def upload(request: Request) -> str:
        return "stored"

    assert upload(request=request_with(verified_principal(["files:*"]), {})) == "stored"
    with pytest.raises(HTTPException):
        upload(request_with(verified_principal(["items:read"]), {}))


async def test_guard_without_the_middleware_refuses_to_run():
    calls: list[str] = []

    @requires_capability("items:read")
    async def item(request: Request) -> PlainTextResponse:
        calls.append("ran")  # pragma: no cover
        return PlainTextResponse("")  # pragma: no cover

    app = Starlette(routes=[Route("/items", item)])
    with TestClient(app) as http, pytest.raises(RuntimeError, match="PactMiddleware"):
        http.get("/items")
    assert calls == []


async def test_guard_refuses_a_scope_segment_parameter():
    @requires_capability("{service}:read")
    async def status(request: Request) -> str:  # pragma: no cover
        return "up"

    principal = verified_principal(["*"])
    with pytest.raises(HTTPException) as denied:
        await status(request_with(principal, {"service": "a,b"}))
    assert denied.value.status_code == 403


def test_stacked_decorators_declare_both():
    @requires_capability("a")
    @requires_capability("b")
    async def both(request: Request) -> None:  # pragma: no cover
        return None

    declared = getattr(both, REQUIREMENT_ATTRIBUTE)
    assert [t.text for t in declared] == ["b", "a"]
    assert all(isinstance(t, CapabilityTemplate) for t in declared)


def test_decorator_needs_a_request_parameter_and_a_valid_template():
    with pytest.raises(TypeError, match="request"):

        @requires_capability("a")
        async def no_request(conn: Request) -> None:  # pragma: no cover
            return None

    with pytest.raises(ValueError, match="scope segment"):
        requires_capability("a b")


def test_authorize_without_principal_is_a_runtime_error():
    requirement = Requirement.of(CapabilityTemplate.parse("items:read"), "test")
    with pytest.raises(RuntimeError):
        authorize(request_with(None, {}), requirement)


def test_filled_capabilities_are_remembered_per_parameter_values():
    requirement = Requirement.of(CapabilityTemplate.parse("items:read,id={id}"), "test")
    first = requirement.capability({"id": 5})
    assert requirement.capability({"id": 5}) is first
    assert str(requirement.capability({"id": 5.0})) == "items:read,id=5.0"  # 5 == 5.0
    assert str(requirement.capability({"id": "5"})) == "items:read,id=5"
    for n in range(3000):
        requirement.capability({"id": n})
    assert len(requirement._filled) <= 1024


def test_a_refused_parameter_is_not_remembered():
    requirement = Requirement.of(CapabilityTemplate.parse("{service}:read"), "test")
    for _ in range(2):
        with pytest.raises(PactError):
            requirement.capability({"service": "*"})
    assert requirement._filled == {}
