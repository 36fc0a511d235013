"""PactMiddleware through real clients: httpx's ASGITransport and Starlette's TestClient.

The attack catalogue is in test_attacks.py, the Redis stores in test_middleware_redis.py,
a real server in test_e2e_uvicorn.py.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import pact  # pact-auth, the reference SDK
import pytest
from middleware_kit import (
    AGENT,
    BASE_URL,
    CAPABILITIES,
    DEFAULT_CHAIN,
    HOST,
    ISSUED,
    ROOT,
    T0,
    Clock,
    Reached,
    TestClient,
    chain_of,
    client,
    problem,
    protect,
    provider_app,
    sign,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

from pact_asgi.delegation import Delegation
from pact_asgi.errors import PactError
from pact_asgi.middleware import ANY_AUTHORITY, PactMiddleware
from pact_asgi.principal import Principal
from pact_asgi.revocation import Revocation
from pact_asgi.routes import requires_capability
from pact_asgi.stores import MemoryReplayCache, MemoryRevocationStore
from pact_asgi.trust import AnyRoot, TrustedRoots


@pytest.fixture
def app(reached: Reached, clock: Clock) -> PactMiddleware:
    return protect(provider_app(reached), clock)


# Requests that pass


async def test_get_fills_the_template_from_a_path_parameter(app, reached):
    async with client(app) as http:
        response = await http.get("/items/7", headers=sign("GET", "/items/7"))
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": 7,
        "agent": AGENT.id,
        "user": "bot",
        "authenticated": True,
        "scopes": list(CAPABILITIES),
        "required": ["items:read,id=7"],
        "covered_by": ["items:read"],
    }
    assert reached.paths == ["/items/7"]


async def test_post_json_reaches_the_handler_with_its_body(app, reached):
    payload = json.dumps({"title": "Fix", "head": "patch-1"}).encode()
    target = "/repos/myorg/widgets/pulls"
    headers = {**sign("POST", target, body=payload), "content-type": "application/json"}
    async with client(app) as http:
        response = await http.post(target, content=payload, headers=headers)
    assert response.status_code == 201
    assert response.json() == {
        "received": {"title": "Fix", "head": "patch-1"},
        "agent": AGENT.id,
        "root": ROOT.id,
    }


async def test_template_filled_outside_the_grant_is_forbidden(app, reached):
    target = "/repos/otherorg/widgets/pulls"
    async with client(app) as http:
        response = await http.post(target, content=b"{}", headers=sign("POST", target, body=b"{}"))
    assert response.status_code == 403
    assert problem(response)["code"] == "capability_denied"
    assert "www-authenticate" not in response.headers
    assert len(reached) == 0


async def test_streaming_response_arrives_whole(app):
    async with client(app) as http:
        response = await http.get("/stream", headers=sign("GET", "/stream"))
    assert response.status_code == 200
    assert response.text == "".join(f"chunk {i}\n" for i in range(5))


async def test_sync_endpoint_receives_a_one_kib_body(app):
    body = bytes(range(256)) * 4
    async with client(app) as http:
        response = await http.post(
            "/upload", content=body, headers=sign("POST", "/upload", body=body)
        )
    assert response.status_code == 200
    assert response.text == "stored"


async def test_query_string_is_signed_and_passed_on(app):
    async with client(app) as http:
        response = await http.get(
            "/search?q=a%20b&n=1", headers=sign("GET", "/search?q=a%20b&n=1")
        )
    assert response.status_code == 200
    assert response.json() == {"q": "a b"}


async def test_mounted_route_is_found_through_the_mount(app, reached):
    async with client(app) as http:
        allowed = await http.get("/admin/users/alice", headers=sign("GET", "/admin/users/alice"))
        denied = await http.get("/admin/users/bob", headers=sign("GET", "/admin/users/bob"))
    assert allowed.status_code == 200
    assert allowed.json() == {"name": "alice"}
    assert denied.status_code == 403
    assert problem(denied)["code"] == "capability_denied"
    assert reached.paths == ["/admin/users/alice"]


async def test_endpoint_class_declares_per_handler_method(reached, clock):
    reader = chain_of(["notes:read"])
    writer = chain_of(["notes:read", "notes:delete"])
    app = protect(provider_app(reached), clock)
    async with client(app) as http:
        read = await http.get("/notes", headers=sign("GET", "/notes", chain=reader))
        refused = await http.delete("/notes", headers=sign("DELETE", "/notes", chain=reader))
        deleted = await http.delete("/notes", headers=sign("DELETE", "/notes", chain=writer))
    assert read.status_code == 200
    assert refused.status_code == 403
    assert problem(refused)["code"] == "capability_denied"
    assert deleted.status_code == 200
    assert reached.paths == ["/notes", "/notes"]


async def test_depth_three_chain_is_accepted(reached, clock):
    app = protect(provider_app(reached), clock)
    captured: list[Principal] = []
    chain = chain_of(depth=3)

    async def spy(scope: Scope, receive: Receive, send: Send) -> None:
        captured.append(scope["pact"])
        await app.app(scope, receive, send)

    app_with_spy = protect(spy, clock, routes={"GET /items/{item_id:int}": "items:read"})
    async with client(app_with_spy) as http:
        response = await http.get("/items/3", headers=sign("GET", "/items/3", chain=chain))
    assert response.status_code == 200
    (principal,) = captured
    assert principal.delegation_ids == tuple(link.id for link in chain)
    assert principal.root_id == ROOT.id
    assert principal.agent_id == AGENT.id


async def test_principal_carries_identity_window_and_evidence(reached, clock):
    captured: list[Principal] = []

    async def endpoint(request: Request) -> PlainTextResponse:
        captured.append(request.scope["pact"])
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/x/{n}", requires_capability("items:read,id={n}")(endpoint))])
    app = protect(inner, clock)
    headers = sign("GET", "/x/5?y=1", nonce="bm9uY2UtZm9yLXByaW5jaXBhbA")
    async with client(app) as http:
        assert (await http.get("/x/5?y=1", headers=headers)).status_code == 200

    (principal,) = captured
    assert principal.agent == AGENT.entity
    assert principal.root == ROOT.entity
    assert principal.root_account == ROOT.id  # what TrustedRoots maps a root to
    assert principal.capability_strings == CAPABILITIES
    assert [str(c) for c in principal.capabilities] == list(CAPABILITIES)
    assert principal.delegation_ids == (DEFAULT_CHAIN[0].id,)
    assert principal.not_before is None
    assert principal.expires_at == ISSUED + timedelta(hours=1)
    assert principal.created == T0
    assert principal.nonce == "bm9uY2UtZm9yLXByaW5jaXBhbA"
    assert [str(c) for c in principal.required] == ["items:read,id=5"]
    assert [str(c) for c in principal.covered_by] == ["items:read"]

    evidence = principal.evidence
    assert evidence.chain_header == headers["Pact-Chain"]
    assert b'"@path": /x/5\n' in evidence.signature_base
    assert b'"@query": ?y=1\n' in evidence.signature_base
    assert evidence.verify().agent_id == AGENT.id
    with pytest.raises(dataclasses.FrozenInstanceError):
        principal.required = ()  # type: ignore[misc]


async def test_async_trust_resolver_maps_the_root_to_an_account(reached, clock):
    accounts = {ROOT.id: {"user": "alice", "plan": "pro"}}

    async def lookup(root_id: str) -> object | None:
        await asyncio.sleep(0)
        return accounts.get(root_id)

    captured: list[Principal] = []

    async def spy(scope: Scope, receive: Receive, send: Send) -> None:
        captured.append(scope["pact"])
        await PlainTextResponse("ok")(scope, receive, send)

    app = protect(spy, clock, trust=lookup, routes={"GET /items/{n}": "items:read"})
    async with client(app) as http:
        accepted = await http.get("/items/1", headers=sign("GET", "/items/1"))
        accounts.clear()
        refused = await http.get("/items/1", headers=sign("GET", "/items/1"))
    assert accepted.status_code == 200
    assert captured[0].root_account == {"user": "alice", "plan": "pro"}
    assert refused.status_code == 401
    assert problem(refused)["code"] == "untrusted_root"


async def test_failing_trust_resolver_refuses_with_503_not_500(reached, clock, caplog):
    async def lookup(root_id: str) -> object | None:
        raise ConnectionError("accounts database is down")

    app = protect(counting(reached), clock, trust=lookup, routes={"GET /items/{n}": "*"})
    async with client(app) as http:
        response = await http.get("/items/1", headers=sign("GET", "/items/1"))
    assert response.status_code == 503
    assert problem(response)["code"] == "trust_unavailable"
    assert "database" not in response.text
    assert len(reached) == 0
    assert any(record.exc_info for record in caplog.records), "the failure is logged"


def counting(reached: Reached) -> Any:
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        reached.paths.append(scope["path"])
        await PlainTextResponse("ok")(scope, receive, send)

    return endpoint


async def test_chain_issued_by_pact_auth_is_accepted(reached):
    """Interop: a delegation from the reference SDK (real clock: it stamps the time)."""
    human = pact.identity.identity_from_seed(b"\x01" * 32, "human", "alice")
    robot = pact.identity.identity_from_seed(b"\x02" * 32, "agent", "bot")
    issued = pact.delegation.new_delegation(human, robot, ["items:read"], ttl=timedelta(minutes=5))
    chain = [Delegation.from_dict(issued.to_dict())]
    robot_here = type(AGENT).from_seed(b"\x02" * 32, name="bot")
    app = protect(provider_app(reached), clock=None, trust=TrustedRoots([human.id]))
    headers = sign(
        "GET", "/items/9", chain=chain, identity=robot_here, created=datetime.now(timezone.utc)
    )
    async with client(app) as http:
        response = await http.get("/items/9", headers=headers)
    assert response.status_code == 200
    assert response.json()["agent"] == robot.id


# Routes: public, undeclared, the map


async def test_public_route_passes_untouched_without_signature(app, reached):
    async with client(app) as http:
        plain = await http.get("/health")
        garbage = await http.get("/health", headers={"Signature": "nonsense"})
    assert (plain.status_code, plain.text) == (200, "ok")
    assert garbage.status_code == 200
    assert reached.paths == ["/health", "/health"]


async def test_public_route_sees_an_unauthenticated_user(clock):
    seen: list[Any] = []

    async def endpoint(request: Request) -> PlainTextResponse:
        seen.append((request.user.is_authenticated, request.auth.scopes, "pact" in request.scope))
        return PlainTextResponse("ok")

    app = protect(Starlette(routes=[Route("/open", endpoint)]), clock, public=["/open"])
    async with client(app) as http:
        assert (await http.get("/open")).status_code == 200
    assert seen == [(False, [], False)]


async def test_a_declaration_beats_a_public_path(clock, reached):
    app = protect(provider_app(reached), clock, public=["/admin/*", "/undeclared"])
    async with client(app) as http:
        declared = await http.get("/admin/users/bob")
        undeclared = await http.get("/undeclared")
    assert declared.status_code == 401
    assert problem(declared)["code"] == "signature_missing"
    assert undeclared.status_code == 200
    assert reached.paths == ["/undeclared"]


async def test_undeclared_route_is_forbidden_once_authenticated(app, reached):
    async with client(app) as http:
        signed = await http.get("/undeclared", headers=sign("GET", "/undeclared"))
        unsigned = await http.get("/undeclared")
    assert signed.status_code == 403
    assert problem(signed)["code"] == "route_undeclared"
    assert unsigned.status_code == 401
    assert problem(unsigned)["code"] == "signature_missing"
    assert len(reached) == 0


async def test_unknown_path_and_wrong_method_are_denied_by_default(app, reached):
    async with client(app) as http:
        unknown = await http.get("/nowhere", headers=sign("GET", "/nowhere"))
        wrong_method = await http.put(
            "/repos/myorg/w/pulls", headers=sign("PUT", "/repos/myorg/w/pulls")
        )
    assert unknown.status_code == 403
    assert problem(unknown)["code"] == "route_undeclared"
    # A method the route does not serve still needs its capability, then gets 405.
    assert wrong_method.status_code == 405
    assert len(reached) == 0


async def test_map_entry_and_route_declaration_both_apply(reached, clock):
    routes = {"* /items/{item_id:int}": "items:audit,id={item_id}"}
    app = protect(provider_app(reached), clock, routes=routes)
    auditor = chain_of([*CAPABILITIES, "items:audit"])
    async with client(app) as http:
        without = await http.get("/items/4", headers=sign("GET", "/items/4"))
        with_both = await http.get("/items/4", headers=sign("GET", "/items/4", chain=auditor))
    assert without.status_code == 403
    assert problem(without)["code"] == "capability_denied"
    assert with_both.status_code == 200
    assert with_both.json()["required"] == ["items:audit,id=4", "items:read,id=4"]


async def test_map_alone_protects_a_plain_asgi_app(clock):
    async def plain(scope: Scope, receive: Receive, send: Send) -> None:
        principal = scope["pact"]
        await JSONResponse({"required": [str(c) for c in principal.required]})(
            scope, receive, send
        )

    routes = {"GET /things/{name}": "items:read,name={name}", "POST /things": "files:write"}
    app = protect(plain, clock, routes=routes)
    async with client(app) as http:
        get = await http.get("/things/lamp", headers=sign("GET", "/things/lamp"))
        head = await http.head("/things/lamp", headers=sign("HEAD", "/things/lamp"))
        post = await http.post("/things", headers=sign("POST", "/things"))
        other = await http.delete("/things/lamp", headers=sign("DELETE", "/things/lamp"))
    assert get.json() == {"required": ["items:read,name=lamp"]}
    assert head.status_code == 200  # GET in the map covers HEAD, as Starlette routes do
    assert post.status_code == 200
    assert other.status_code == 403
    assert problem(other)["code"] == "route_undeclared"


# Starlette's TestClient


def test_starlette_test_client_get_and_post(reached, clock):
    app = protect(provider_app(reached), clock)
    with TestClient(app, base_url=BASE_URL) as http:
        got = http.get("/items/11", headers=sign("GET", "/items/11"))
        body = b'{"title": "t"}'
        target = "/repos/myorg/app/pulls"
        posted = http.post(target, content=body, headers=sign("POST", target, body=body))
        unsigned = http.get("/items/11")
    assert got.status_code == 200
    assert got.json()["required"] == ["items:read,id=11"]
    assert posted.status_code == 201
    assert unsigned.status_code == 401
    assert reached.paths == ["/items/11", "/repos/myorg/app/pulls"]


def test_websocket_is_refused_unless_public(reached, clock):
    app = protect(provider_app(reached), clock)
    with TestClient(app, base_url=BASE_URL) as http:
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            http.websocket_connect("/ws", headers=sign("GET", "/ws")),
        ):
            pass  # pragma: no cover - the handshake is refused
        assert refused.value.code == 1008
        with http.websocket_connect("/public-ws") as socket:
            assert socket.receive_text() == "hello"


# Refusals: shape, headers, hooks


async def test_unauthenticated_refusal_carries_the_challenges(app):
    async with client(app) as http:
        response = await http.get("/items/1")
    assert response.status_code == 401
    document = problem(response)
    assert document == {
        "type": "urn:pact:error:signature_missing",
        "title": "Unauthorized",
        "status": 401,
        "detail": "The request carries no Pact signature.",
        "code": "signature_missing",
    }
    assert response.headers["www-authenticate"] == 'Pact error="signature_missing"'
    assert response.headers["accept-signature"] == (
        'pact=("@method" "@authority" "@path" "@query" "content-digest" "pact-chain")'
        ';created;alg="ed25519";tag="pact"'
    )
    assert response.headers["cache-control"] == "no-store"


async def test_on_error_hook_reshapes_refusals(reached, clock):
    seen: list[str] = []

    def sync_hook(scope: Scope, error: PactError) -> Any:
        seen.append(error.code)
        return JSONResponse({"error": error.code}, status_code=error.status)

    async def async_hook(scope: Scope, error: PactError) -> Any:
        seen.append(error.code)
        return None  # keep the default problem document

    async with client(protect(provider_app(reached), clock, on_error=sync_hook)) as http:
        reshaped = await http.get("/items/1")
    async with client(protect(provider_app(reached), clock, on_error=async_hook)) as http:
        default = await http.get("/undeclared", headers=sign("GET", "/undeclared"))
    assert reshaped.status_code == 401
    assert reshaped.json() == {"error": "signature_missing"}
    assert default.status_code == 403
    assert problem(default)["code"] == "route_undeclared"
    assert seen == ["signature_missing", "route_undeclared"]
    assert len(reached) == 0


async def test_refusal_log_names_the_code_never_the_secrets(app, caplog):
    headers = sign("GET", "/items/1")
    headers["Signature"] = "pact=:" + base64.b64encode(bytes(64)).decode() + ":"
    caplog.set_level(logging.INFO, logger="pact_asgi")
    async with client(app) as http:
        response = await http.get("/items/1", headers=headers)
    assert problem(response)["code"] == "signature_invalid"
    (message,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused")]
    assert message.startswith("refused GET '/items/1': signature_invalid 401")
    assert f"key_id={AGENT.id}" in message
    for secret in (headers["Signature"], headers["Pact-Chain"], headers["Signature-Input"]):
        assert secret not in caplog.text


async def test_audit_line_per_accepted_request(app, caplog):
    caplog.set_level(logging.INFO, logger="pact_asgi.audit")
    headers = sign("GET", "/items/2")
    async with client(app) as http:
        assert (await http.get("/items/2", headers=headers)).status_code == 200
    (record,) = [r for r in caplog.records if r.name == "pact_asgi.audit"]
    message = record.getMessage()
    for part in (
        f"agent={AGENT.id}",
        f"root={ROOT.id}",
        f"delegations={DEFAULT_CHAIN[0].id}",
        "GET '/items/2'",
        "required=items:read,id=2",
        "covered_by=items:read",
        "created=2026-12-03T17:00:00+00:00",
    ):
        assert part in message
    assert headers["Signature"] not in caplog.text
    assert headers["Pact-Chain"] not in caplog.text


# State: revocation and replay stores


async def test_revoked_delegation_is_refused(reached, clock):
    revocations = MemoryRevocationStore()
    app = protect(provider_app(reached), clock, revocations=revocations)
    async with client(app) as http:
        before = await http.get("/items/1", headers=sign("GET", "/items/1"))
        revocation = Revocation.issue(ROOT, DEFAULT_CHAIN[0].id, "lost laptop", now=T0)
        await revocations.add(revocation, ROOT.entity)
        after = await http.get("/items/1", headers=sign("GET", "/items/1"))
    assert before.status_code == 200
    assert after.status_code == 401
    assert problem(after)["code"] == "delegation_revoked"
    assert len(reached) == 1


async def test_full_replay_cache_refuses_with_503(reached, clock):
    app = protect(provider_app(reached), clock, replay=MemoryReplayCache(1, clock=clock))
    async with client(app) as http:
        first = await http.get("/items/1", headers=sign("GET", "/items/1"))
        second = await http.get("/items/1", headers=sign("GET", "/items/1"))
        clock.advance(400)  # the first nonce can no longer be replayed: room again
        fresh = sign("GET", "/items/1", created=clock.now)
        third = await http.get("/items/1", headers=fresh)
    assert first.status_code == 200
    assert second.status_code == 503
    assert problem(second)["code"] == "replay_store_unavailable"
    assert third.status_code == 200
    assert len(reached) == 2


async def test_nonce_is_claimed_only_after_the_signature_verified(reached, clock):
    app = protect(provider_app(reached), clock)
    headers = sign("GET", "/items/1")
    forged = dict(headers, **{"Signature": "pact=:" + "A" * 86 + "==:"})
    async with client(app) as http:
        bad = await http.get("/items/1", headers=forged)
        good = await http.get("/items/1", headers=headers)
    assert bad.status_code == 401
    assert problem(bad)["code"] == "signature_invalid"
    assert good.status_code == 200  # the forgery did not burn the nonce


# The body: limits and the replaying receive, driven at the ASGI level


def _scope(method: str, target: str, headers: dict[str, str], body_length: int | None) -> Scope:
    path, _, query = target.partition("?")
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"host", HOST.encode()))
    if body_length is not None:
        raw.append((b"content-length", str(body_length).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": raw,
        "server": (HOST, 80),
        "client": ("127.0.0.1", 5000),
    }


class Wire:
    """A server's side of one request: queued messages in, sent messages out."""

    def __init__(self, messages: list[Message]) -> None:
        self.incoming = list(messages)
        self.received = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        self.received += 1
        if self.incoming:
            return self.incoming.pop(0)
        await asyncio.sleep(3600)  # a server waits for the client; a test must not
        raise AssertionError("unreachable")

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int | None:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        return starts[0]["status"] if starts else None

    @property
    def code(self) -> str:
        body = b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")
        return str(json.loads(body)["code"])


async def _run(app: Any, scope: Scope, wire: Wire) -> None:
    await asyncio.wait_for(app(scope, wire.receive, wire.send), timeout=5)


async def test_body_over_limit_by_content_length_is_refused_before_reading(reached, clock):
    app = protect(provider_app(reached), clock, max_body=1024)
    body = b"x" * 2048
    wire = Wire([{"type": "http.request", "body": body}])
    await _run(app, _scope("POST", "/upload", sign("POST", "/upload", body=body), 2048), wire)
    assert wire.status == 413
    assert wire.code == "body_too_large"
    assert wire.received == 0
    assert len(reached) == 0


async def test_streamed_body_over_limit_stops_reading_at_the_limit(reached, clock):
    app = protect(provider_app(reached), clock, max_body=1024)
    chunks = [{"type": "http.request", "body": b"y" * 600, "more_body": True} for _ in range(10)]
    body = b"y" * 6000
    wire = Wire(chunks)
    await _run(app, _scope("POST", "/upload", sign("POST", "/upload", body=body), None), wire)
    assert wire.status == 413
    assert wire.code == "body_too_large"
    assert wire.received == 2  # 1200 bytes seen, the other eight chunks never read
    assert len(reached) == 0


async def test_content_length_understating_the_body_still_counts_bytes(reached, clock):
    app = protect(provider_app(reached), clock, max_body=1024)
    body = b"z" * 2000
    wire = Wire([{"type": "http.request", "body": body}])
    await _run(app, _scope("POST", "/upload", sign("POST", "/upload", body=body), 10), wire)
    assert wire.status == 413
    assert len(reached) == 0


async def test_body_in_chunks_is_reassembled_for_the_digest(reached, clock):
    app = protect(provider_app(reached), clock)
    parts = [b"first,", b"second,", b"third"]
    messages = [{"type": "http.request", "body": p, "more_body": True} for p in parts]
    messages.append({"type": "http.request", "body": b"", "more_body": False})
    wire = Wire(messages)
    signed = sign("POST", "/upload", body=b"".join(parts))
    await _run(app, _scope("POST", "/upload", signed, None), wire)
    assert wire.status == 200
    assert reached.paths == ["/upload"]


async def test_client_gone_while_the_body_is_read_ends_quietly(reached, clock):
    app = protect(provider_app(reached), clock)
    wire = Wire(
        [
            {"type": "http.request", "body": b"part", "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    await _run(app, _scope("POST", "/upload", sign("POST", "/upload", body=b"partial"), 7), wire)
    assert wire.sent == []  # nobody to answer
    assert len(reached) == 0


async def test_app_gets_the_body_then_the_servers_own_messages(clock):
    seen: list[Message] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(await receive())
        seen.append(await receive())  # falls through to the server: the disconnect
        await PlainTextResponse("done")(scope, receive, send)

    app = protect(inner, clock, routes={"POST /upload": "files:write"})
    body = b'{"k": "v"}'
    wire = Wire([{"type": "http.request", "body": body}, {"type": "http.disconnect"}])
    await _run(app, _scope("POST", "/upload", sign("POST", "/upload", body=body), len(body)), wire)
    assert seen == [
        {"type": "http.request", "body": body, "more_body": False},
        {"type": "http.disconnect"},
    ]
    assert wire.status == 200


async def test_missing_raw_path_falls_back_to_the_path(clock, reached):
    app = protect(provider_app(reached), clock)
    scope = _scope("GET", "/items/5", sign("GET", "/items/5"), None)
    del scope["raw_path"]
    wire = Wire([{"type": "http.request", "body": b""}])
    await _run(app, scope, wire)
    assert wire.status == 200


# Lifespan, start-up review, other scope types


def test_start_up_lists_routes_that_declare_nothing(reached, clock, caplog):
    caplog.set_level(logging.WARNING, logger="pact_asgi.middleware")
    app = protect(provider_app(reached), clock)
    with TestClient(app, base_url=BASE_URL):
        pass
    (record,) = [r for r in caplog.records if "declaring no capability" in r.getMessage()]
    assert record.getMessage().endswith(": GET,HEAD /undeclared")


async def test_first_request_reviews_when_there_was_no_lifespan(reached, clock, caplog):
    caplog.set_level(logging.WARNING, logger="pact_asgi.middleware")
    app = protect(provider_app(reached), clock)
    async with client(app) as http:
        await http.get("/items/1", headers=sign("GET", "/items/1"))
        await http.get("/items/2", headers=sign("GET", "/items/2"))
    records = [r for r in caplog.records if "declaring no capability" in r.getMessage()]
    assert len(records) == 1


def test_start_up_fails_on_a_template_parameter_the_route_lacks(clock):
    @requires_capability("items:read,id={item_id}")
    async def endpoint(request: Request) -> PlainTextResponse:  # pragma: no cover
        return PlainTextResponse("never")

    app = protect(Starlette(routes=[Route("/items/{other}", endpoint)]), clock)
    with pytest.raises(ValueError, match="item_id"), TestClient(app, base_url=BASE_URL):
        pass  # pragma: no cover


async def test_lifespan_passes_through(clock):
    events: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "lifespan"
        while True:
            message = await receive()
            events.append(message["type"])
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return

    app = protect(inner, clock, routes={"GET /x": "items:read"})
    wire = Wire([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    await asyncio.wait_for(app({"type": "lifespan"}, wire.receive, wire.send), timeout=5)
    assert events == ["lifespan.startup", "lifespan.shutdown"]
    assert [m["type"] for m in wire.sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


# Configuration


def _inner(scope: Scope, receive: Receive, send: Send) -> None:  # pragma: no cover
    raise AssertionError("never called")


@pytest.mark.parametrize(
    ("config", "error", "message"),
    [
        ({"authorities": [HOST]}, TypeError, "trust"),
        ({"trust": AnyRoot()}, TypeError, "authorities"),
        ({"trust": "alice", "authorities": [HOST]}, TypeError, "trust"),
        ({"trust": AnyRoot(), "authorities": None}, TypeError, "ANY_AUTHORITY"),
        ({"trust": AnyRoot(), "authorities": []}, ValueError, "authorities"),
        ({"trust": AnyRoot(), "authorities": HOST}, TypeError, "authorities"),
        ({"trust": AnyRoot(), "authorities": ["bad host!"]}, ValueError, "authority"),
        ({"trust": AnyRoot(), "authorities": [HOST], "max_body": -1}, ValueError, "max_body"),
        ({"trust": AnyRoot(), "authorities": [HOST], "max_age": "5"}, TypeError, "max_age"),
        ({"trust": AnyRoot(), "authorities": [HOST], "replay": {}}, TypeError, "replay"),
        ({"trust": AnyRoot(), "authorities": [HOST], "revocations": []}, TypeError, "revoc"),
        ({"trust": AnyRoot(), "authorities": [HOST], "on_error": 1}, TypeError, "on_error"),
        ({"trust": AnyRoot(), "authorities": [HOST], "public": "/x"}, TypeError, "public"),
        ({"trust": AnyRoot(), "authorities": [HOST], "public": ["x"]}, ValueError, "'/'"),
        (
            {"trust": AnyRoot(), "authorities": [HOST], "routes": {"/x": "a"}},
            ValueError,
            "METHOD",
        ),
        (
            {"trust": AnyRoot(), "authorities": [HOST], "routes": {"GET /x/{id}": "a,n={m}"}},
            ValueError,
            "m",
        ),
        (
            {"trust": AnyRoot(), "authorities": [HOST], "routes": {"GET /x": "a b"}},
            ValueError,
            "template",
        ),
    ],
)
def test_configuration_mistakes_fail_at_construction(config, error, message):
    with pytest.raises(error, match=message):
        PactMiddleware(_inner, **config)


async def test_any_authority_is_an_explicit_opt_out(reached, clock):
    app = protect(provider_app(reached), clock, authorities=ANY_AUTHORITY)
    headers = sign("GET", "/items/1", host="elsewhere.example")
    async with client(app) as http:
        response = await http.get("/items/1", headers={**headers, "host": "elsewhere.example"})
    assert response.status_code == 200


async def test_max_age_and_skew_as_timedelta_or_seconds(reached, clock):
    for max_age in (60, timedelta(seconds=60)):
        app = protect(provider_app(reached), clock, max_age=max_age, clock_skew=0)
        old = sign("GET", "/items/1", created=T0 - timedelta(seconds=61))
        async with client(app) as http:
            response = await http.get("/items/1", headers=old)
        assert problem(response)["code"] == "signature_expired"
