"""Session identities: ephemeral keys delegated from a stored agent identity.

Requests are checked by the provider's own verifier and by the real middleware
through httpx's ASGI transport.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pact_asgi import (
    Delegation,
    ErrorCode,
    Identity,
    PactError,
    TrustedRoots,
    test_seed,
    verify_chain,
)
from pact_asgi.middleware import PactMiddleware
from pact_asgi.principal import get_principal
from pact_asgi.session import MAX_SESSION_TTL, Session, SessionClosedError
from pact_asgi.signature import RequestVerifier, sign_request

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
URL = "https://api.example/items/7?full=1"
HUMAN = Identity.from_seed(test_seed("session-human"), type="human", name="alice")
AGENT = Identity.from_seed(test_seed("session-agent"), type="agent", name="planner")
TRUST = TrustedRoots([HUMAN])


def stored_chain(
    *, depth: int = 2, caps: tuple[str, ...] = ("api:read", "api:write"), ttl: float = 24
) -> list[Delegation]:
    """What the agent keeps on disk: one link from its human, allowing one more."""
    link = Delegation.issue(
        HUMAN, AGENT, list(caps), ttl=timedelta(hours=ttl), max_chain_depth=depth, now=T0
    )
    return [link]


def provider_verify(session: Session, *, at: datetime, body: bytes = b"") -> object:
    """Sign with the session at ``at`` and verify as a provider would."""
    headers = session.sign_request(method="POST", url=URL, body=body, created=at)
    verifier = RequestVerifier(authorities=["api.example"])
    return verifier.verify(
        method="POST",
        authority="api.example",
        path="/items/7",
        query="full=1",
        headers=headers,
        body=body,
        trust=TRUST,
        now=at,
    )


def test_session_requests_verify_at_the_provider() -> None:
    session = Session.open(AGENT, stored_chain(), now=T0)

    verified = provider_verify(session, at=T0 + timedelta(minutes=1), body=b'{"n": 1}')

    chain = verified.chain  # type: ignore[attr-defined]
    assert verified.key_id == session.identity.id  # type: ignore[attr-defined]
    assert chain.root_id == HUMAN.id
    assert len(chain.delegations) == 2
    assert chain.delegations[1].from_entity.id == AGENT.id
    assert chain.capability_strings == ("api:read", "api:write")


def test_session_key_is_fresh_and_its_link_short_and_final() -> None:
    session = Session.open(AGENT, stored_chain(), ttl=timedelta(minutes=5), now=T0)

    link = session.chain[-1]
    assert session.identity.id not in {AGENT.id, HUMAN.id}
    assert link.to_entity.id == session.identity.id
    assert link.from_entity.id == AGENT.id
    assert link.expires == T0 + timedelta(minutes=5)
    assert session.expires_at == T0 + timedelta(minutes=5)
    assert link.max_chain_depth == 1  # a session key cannot delegate further
    assert session.identity.name == "planner session"
    with pytest.raises(ValueError, match="no further link"):
        Delegation.issue(
            session.identity,
            HUMAN,
            ["api:read"],
            ttl=timedelta(minutes=1),
            parent=session.chain,
            now=T0,
        )


def test_session_capabilities_may_narrow_but_not_widen() -> None:
    narrow = Session.open(AGENT, stored_chain(), capabilities=["api:read"], now=T0)
    assert narrow.chain[-1].capabilities == ("api:read",)
    assert narrow.capabilities == ("api:read",)
    verified = provider_verify(narrow, at=T0)
    assert verified.chain.capability_strings == ("api:read",)  # type: ignore[attr-defined]

    with pytest.raises(ValueError, match="cannot grant deploy:create"):
        Session.open(AGENT, stored_chain(), capabilities=["deploy:create"], now=T0)
    with pytest.raises(TypeError):
        Session.open(AGENT, stored_chain(), capabilities="api:read", now=T0)


def test_session_expiry_is_cut_to_the_stored_chain() -> None:
    session = Session.open(AGENT, stored_chain(ttl=0.1), ttl=timedelta(hours=1), now=T0)
    assert session.expires_at == T0 + timedelta(minutes=6)


def test_closed_session_refuses_to_sign() -> None:
    session = Session.open(AGENT, stored_chain(), now=T0)
    session.close()

    assert session.closed
    with pytest.raises(SessionClosedError, match="closed"):
        session.sign_request(method="GET", url=URL, created=T0)
    with pytest.raises(SessionClosedError):
        _ = session.identity
    with pytest.raises(SessionClosedError):
        _ = session.chain
    with pytest.raises(SessionClosedError):
        session.renew(now=T0)
    session.close()  # closing twice is harmless
    assert repr(session) == "Session(closed)"


def test_close_keeps_no_reference_to_the_keys() -> None:
    session = Session.open(AGENT, stored_chain(), now=T0)
    key = session.identity.private_key
    session.close()
    # Best effort in Python: the session holds neither the session key nor the root.
    held = [getattr(session, name, None) for name in Session.__slots__]
    assert key not in held
    assert all(not isinstance(value, Identity) for value in held)


def test_context_manager_closes_the_session() -> None:
    with Session.open(AGENT, stored_chain(), now=T0) as session:
        provider_verify(session, at=T0)
    assert session.closed
    with pytest.raises(SessionClosedError):
        session.sign_request(method="GET", url=URL, created=T0)


def test_renewed_session_works_and_old_chain_lasts_only_to_its_expiry() -> None:
    session = Session.open(AGENT, stored_chain(), ttl=timedelta(minutes=10), now=T0)
    old_id, old_chain = session.identity.id, session.chain

    session.renew(now=T0 + timedelta(minutes=5))

    assert session.identity.id != old_id
    assert session.chain[-1].id != old_chain[-1].id
    assert session.chain[0] == old_chain[0]
    assert session.expires_at == T0 + timedelta(minutes=15)
    verified = provider_verify(session, at=T0 + timedelta(minutes=11))
    assert verified.key_id == session.identity.id  # type: ignore[attr-defined]
    # The old chain is not revoked: it verifies until its own expiry, and not after.
    verify_chain(old_chain, trust=TRUST, now=T0 + timedelta(minutes=9, seconds=59))
    with pytest.raises(PactError) as caught:
        verify_chain(old_chain, trust=TRUST, now=T0 + timedelta(minutes=10))
    assert caught.value.error_code is ErrorCode.DELEGATION_EXPIRED
    assert caught.value.link == 1


def test_auto_renew_replaces_a_fading_key() -> None:
    session = Session.open(AGENT, stored_chain(), ttl=timedelta(minutes=10), now=T0)
    first = session.identity.id

    session.sign_request(method="GET", url=URL, created=T0 + timedelta(minutes=8))
    assert session.identity.id == first  # 2 minutes left: more than a tenth of the ttl

    late = T0 + timedelta(minutes=9, seconds=30)
    provider_verify(session, at=late)
    assert session.identity.id != first
    assert session.expires_at == late.replace(microsecond=0) + timedelta(minutes=10)


def test_without_auto_renew_an_expired_session_refuses_to_sign() -> None:
    session = Session.open(
        AGENT, stored_chain(), ttl=timedelta(minutes=10), auto_renew=False, now=T0
    )
    first = session.identity.id
    session.sign_request(method="GET", url=URL, created=T0 + timedelta(minutes=9, seconds=59))
    assert session.identity.id == first

    with pytest.raises(ValueError, match=r"expired.*renew"):
        session.sign_request(method="GET", url=URL, created=T0 + timedelta(minutes=10))
    session.renew(now=T0 + timedelta(minutes=10))
    provider_verify(session, at=T0 + timedelta(minutes=10))


def test_a_session_cannot_outlive_the_stored_chain() -> None:
    session = Session.open(AGENT, stored_chain(ttl=0.1), now=T0)  # stored chain: 6 minutes
    end = T0 + timedelta(minutes=6)
    with pytest.raises(ValueError, match="ask for a new delegation"):
        session.sign_request(method="GET", url=URL, created=end)
    with pytest.raises(ValueError, match="parent delegation has expired"):
        session.renew(now=end)


def test_open_refuses_a_chain_without_room_for_the_session_link() -> None:
    with pytest.raises(ValueError, match=r"max chain depth of at least 2.*--max-depth 2"):
        Session.open(AGENT, stored_chain(depth=1), now=T0)


def test_open_refuses_a_chain_delegated_to_someone_else() -> None:
    other = Identity.from_seed(test_seed("session-other"))
    with pytest.raises(ValueError, match="not to this identity"):
        Session.open(other, stored_chain(), now=T0)
    with pytest.raises(ValueError, match="needs the chain"):
        Session.open(AGENT, [], now=T0)


def test_open_refuses_an_expired_stored_chain() -> None:
    with pytest.raises(ValueError, match="parent delegation has expired"):
        Session.open(AGENT, stored_chain(ttl=1), now=T0 + timedelta(hours=1))


def test_open_refuses_a_tampered_stored_chain() -> None:
    link = stored_chain()[0]
    forged = link.to_dict()
    forged["capabilities"] = ["*"]
    with pytest.raises(PactError) as caught:
        Session.open(AGENT, [Delegation.from_dict(forged)], now=T0)
    assert caught.value.error_code is ErrorCode.DELEGATION_SIGNATURE_INVALID


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(seconds=-1), MAX_SESSION_TTL * 2])
def test_open_refuses_a_ttl_that_is_not_short_and_positive(ttl: timedelta) -> None:
    with pytest.raises(ValueError, match="ttl"):
        Session.open(AGENT, stored_chain(), ttl=ttl, now=T0)


def test_a_sub_agent_can_open_a_session_under_a_longer_chain() -> None:
    sub = Identity.from_seed(test_seed("session-sub"))
    top = Delegation.issue(
        HUMAN, AGENT, ["api:*"], ttl=timedelta(hours=1), max_chain_depth=3, now=T0
    )
    below = Delegation.issue(
        AGENT, sub, ["api:read"], ttl=timedelta(hours=1), max_chain_depth=2, parent=top, now=T0
    )
    session = Session.open(sub, [top, below], now=T0)
    verified = provider_verify(session, at=T0)
    assert len(verified.chain.delegations) == 3  # type: ignore[attr-defined]


def test_renew_and_sign_from_many_threads_never_mix_key_and_chain() -> None:
    session = Session.open(AGENT, stored_chain(), now=T0)
    mixed: list[str] = []

    def sign() -> None:
        for _ in range(50):
            identity, chain = session.credentials(now=T0)
            if chain[-1].to_entity.id != identity.id:
                mixed.append(identity.id)

    def renew() -> None:
        for _ in range(50):
            session.renew(now=T0)

    threads = [threading.Thread(target=sign) for _ in range(3)] + [threading.Thread(target=renew)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert mixed == []


# -- through the real middleware ----------------------------------------------------------


async def whoami(request: Request) -> JSONResponse:
    principal = get_principal(request)
    return JSONResponse(
        {
            "agent": principal.agent_id,
            "root": principal.root_id,
            "links": len(principal.delegation_ids),
            "body": (await request.body()).decode(),
        }
    )


def provider() -> PactMiddleware:
    app = Starlette(
        routes=[
            Route("/items/{id}", whoami, methods=["GET"]),
            Route("/items", whoami, methods=["POST"]),
        ]
    )
    return PactMiddleware(
        app,
        trust=TRUST,
        authorities=["api.example"],
        routes={"GET /items/{id}": "api:read", "POST /items": "api:write"},
    )


def client_for(app: PactMiddleware, auth: httpx.Auth) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="https://api.example", auth=auth)


def live_chain() -> list[Delegation]:
    return [
        Delegation.issue(
            HUMAN, AGENT, ["api:read", "api:write"], ttl=timedelta(hours=1), max_chain_depth=2
        )
    ]


async def test_session_requests_pass_the_middleware() -> None:
    session = Session.open(AGENT, live_chain())
    async with client_for(provider(), session.auth()) as client:
        read = await client.get("/items/7")
        write = await client.post("/items", content=b'{"name": "x"}')

    assert read.status_code == 200, read.text
    assert read.json() == {"agent": session.identity.id, "root": HUMAN.id, "links": 2, "body": ""}
    assert write.status_code == 200, write.text
    assert write.json()["body"] == '{"name": "x"}'


async def test_a_narrowed_session_is_denied_what_it_dropped() -> None:
    session = Session.open(AGENT, live_chain(), capabilities=["api:read"])
    async with client_for(provider(), session.auth()) as client:
        read = await client.get("/items/7")
        write = await client.post("/items", content=b"{}")
    assert read.status_code == 200
    assert write.status_code == 403
    assert write.json()["code"] == "capability_denied"


async def test_one_client_follows_renewals_and_refuses_once_closed() -> None:
    session = Session.open(AGENT, live_chain())
    async with client_for(provider(), session.auth()) as client:
        first = await client.get("/items/1")
        session.renew()
        second = await client.get("/items/1")
        session.close()
        with pytest.raises(SessionClosedError):
            await client.get("/items/1")

    assert first.status_code == second.status_code == 200
    assert first.json()["agent"] != second.json()["agent"]


async def test_close_is_local_and_the_link_expiry_bounds_a_leaked_key() -> None:
    # A provider never learns of close(): what ends the use of a copied key is the
    # expiry of its link, which is why session links are short.
    session = Session.open(AGENT, live_chain(), ttl=timedelta(minutes=2))
    identity, chain = session.credentials()
    session.close()
    headers = sign_request(identity, chain, method="GET", url="https://api.example/items/1")

    async with client_for(provider(), httpx.Auth()) as client:
        response = await client.get("/items/1", headers=headers)

    assert response.status_code == 200
    assert chain[-1].expires <= datetime.now(timezone.utc) + timedelta(minutes=2)


def test_session_module_imports_without_httpx() -> None:
    code = (
        "import sys; sys.modules['httpx'] = None\n"
        "from pact_asgi import Identity, Delegation\n"
        "from pact_asgi.session import Session\n"
        "from datetime import timedelta\n"
        "h = Identity.generate('human'); a = Identity.generate()\n"
        "c = [Delegation.issue(h, a, ['x:y'], ttl=timedelta(hours=1), max_chain_depth=2)]\n"
        "s = Session.open(a, c); s.sign_request(method='GET', url='https://h/')\n"
        "try:\n    s.auth()\nexcept ImportError:\n    print('no httpx')\n"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no httpx"


def test_open_refuses_a_chain_already_at_the_link_limit() -> None:
    holders = [HUMAN] + [Identity.from_seed(test_seed(f"session-long-{i}")) for i in range(8)]
    chain: list[Delegation] = []
    for i in range(8):
        chain.append(
            Delegation.issue(
                holders[i],
                holders[i + 1],
                ["api:read"],
                ttl=timedelta(hours=1),
                max_chain_depth=9 - i,
                parent=chain or None,
                now=T0,
            )
        )
    with pytest.raises(ValueError, match="limit of 8"):
        Session.open(holders[8], chain, now=T0)
