"""PactAuth: the flow stepped by hand, real httpx clients, redirects, and interop."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from http_message_signatures import HTTPMessageVerifier, HTTPSignatureKeyResolver
from http_message_signatures.algorithms import ED25519

from pact_asgi.client import PactAuth, PactRedirectError
from pact_asgi.delegation import Delegation
from pact_asgi.errors import PactError
from pact_asgi.identity import Identity, test_seed
from pact_asgi.signature import REQUIRED_COMPONENTS, RequestVerifier, VerifiedRequest
from pact_asgi.trust import TrustedRoots

HOST = "api.example.com"
BASE = f"https://{HOST}"
HUMAN = Identity.from_seed(test_seed("client-human"), type="human")
MIDDLE = Identity.from_seed(test_seed("client-middle"))
AGENT = Identity.from_seed(test_seed("client-agent"))
ROOT_LINK = Delegation.issue(HUMAN, MIDDLE, ["api:*"], ttl=timedelta(hours=2), max_chain_depth=2)
CHAIN = [
    ROOT_LINK,
    Delegation.issue(MIDDLE, AGENT, ["api:read"], ttl=timedelta(hours=1), parent=ROOT_LINK),
]
TRUST = TrustedRoots([HUMAN])


def verify(request: httpx.Request, verifier: RequestVerifier) -> VerifiedRequest:
    """What a provider does with the request as it arrives (raw path and raw query)."""
    path, _, query = request.url.raw_path.partition(b"?")
    return verifier.verify(
        method=request.method,
        authority=request.headers["Host"],
        path=path.decode("ascii"),
        query=query.decode("ascii"),
        headers=request.headers.raw,
        body=request.read(),
        trust=TRUST,
    )


@dataclass
class Provider:
    """A MockTransport handler that verifies like a Pact provider and records what came."""

    verifier: RequestVerifier
    seen: list[httpx.Request]
    redirects: dict[str, tuple[int, str]]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        redirect = self.redirects.get(str(request.url))
        if redirect is not None:
            status, location = redirect
            return httpx.Response(status, headers={"Location": location})
        if request.url.host != HOST:
            return httpx.Response(200, json={"signed": "Signature" in request.headers})
        try:
            verified = verify(request, self.verifier)
        except PactError as exc:
            return httpx.Response(401, json={"code": exc.code})
        return httpx.Response(200, json={"agent": verified.key_id, "nonce": verified.nonce})


@pytest.fixture
def provider() -> Provider:
    return Provider(verifier=RequestVerifier(authorities=[HOST]), seen=[], redirects={})


def client(provider: Provider, **kwargs: Any) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(provider), base_url=BASE, **kwargs)


def async_client(provider: Provider, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(provider), base_url=BASE, **kwargs)


# --- The flow, stepped -----------------------------------------------------------------


def test_sync_flow_signs_once_and_stops() -> None:
    auth = PactAuth(AGENT, CHAIN)
    request = httpx.Request("POST", f"{BASE}/items?x=1", content=b'{"a": 1}')
    flow = auth.sync_auth_flow(request)

    signed = next(flow)
    assert signed is request
    for name in ("Pact-Chain", "Content-Digest", "Signature-Input", "Signature"):
        assert name in signed.headers
    verified = verify(signed, RequestVerifier(authorities=[HOST]))
    assert verified.key_id == AGENT.id

    with pytest.raises(StopIteration):
        flow.send(httpx.Response(200, request=signed))


async def test_async_flow_signs_a_streamed_body() -> None:
    async def chunks() -> Any:
        yield b'{"part": 1, '
        yield b'"more": 2}'

    auth = PactAuth(AGENT, CHAIN)
    request = httpx.Request("PUT", f"{BASE}/items/7", content=chunks())
    flow = auth.async_auth_flow(request)
    signed = await flow.__anext__()
    assert signed.content == b'{"part": 1, "more": 2}'
    assert verify(signed, RequestVerifier(authorities=[HOST])).key_id == AGENT.id
    with pytest.raises(StopAsyncIteration):
        await flow.asend(httpx.Response(204, request=signed))


def test_stale_pact_headers_are_replaced() -> None:
    auth = PactAuth(AGENT, CHAIN)
    request = httpx.Request(
        "GET", f"{BASE}/items", headers={"Signature": "pact=:AAAA:", "Content-Digest": "x"}
    )
    signed = next(auth.sync_auth_flow(request))
    assert len(signed.headers.get_list("Signature")) == 1
    assert verify(signed, RequestVerifier(authorities=[HOST])).key_id == AGENT.id


def test_pact_auth_refuses_a_chain_for_another_agent() -> None:
    with pytest.raises(ValueError, match="delegate"):
        PactAuth(MIDDLE, CHAIN)
    with pytest.raises(ValueError, match="at least one"):
        PactAuth(AGENT, [])


# --- Real clients over a transport that verifies -------------------------------------


def test_client_requests_verify(provider: Provider) -> None:
    auth = PactAuth(AGENT, CHAIN)
    with client(provider, auth=auth) as http:
        responses = [
            http.get("/items", params={"q": "a b", "page": 2}),
            http.post("/items", json={"name": "widget"}),
            http.put("/items/1", content=b"\x00\x01binary"),
            http.delete("/items/1"),
            http.get("/"),
            http.get("/files/a%2Fb"),
        ]
    assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
    assert {r.json()["agent"] for r in responses} == {AGENT.id}
    assert len({r.json()["nonce"] for r in responses}) == 6  # a fresh nonce each time


async def test_async_client_requests_verify(provider: Provider) -> None:
    auth = PactAuth(AGENT, CHAIN)
    async with async_client(provider, auth=auth) as http:
        responses = [
            await http.get("/items", params={"q": "x"}),
            await http.post("/items", json={"name": "widget"}),
        ]
    assert [r.status_code for r in responses] == [200, 200]


def test_a_tampered_body_is_refused(provider: Provider) -> None:
    auth = PactAuth(AGENT, CHAIN)
    request = httpx.Request("POST", f"{BASE}/items", content=b"original")
    signed = next(auth.sync_auth_flow(request))
    forged = httpx.Request("POST", signed.url, headers=signed.headers, content=b"changed!")
    response = provider(forged)
    assert response.status_code == 401
    assert json.loads(response.content)["code"] == "digest_mismatch"


def test_pact_auth_request_verifies_with_http_message_verifier() -> None:
    class Keys(HTTPSignatureKeyResolver):
        def resolve_public_key(self, key_id: str) -> object:
            return AGENT.private_key.public_key() if key_id == AGENT.id else None

    @dataclass
    class Message:
        method: str
        url: str
        headers: httpx.Headers

    library = HTTPMessageVerifier(signature_algorithm=ED25519, key_resolver=Keys())
    checked: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        message = Message(method=request.method, url=str(request.url), headers=request.headers)
        checked.extend(
            library.verify(
                message,
                expect_tag="pact",
                require_components=REQUIRED_COMPONENTS,
                body=request.read(),
            )
        )
        return httpx.Response(200)

    transport = httpx.MockTransport(handler)
    with httpx.Client(transport=transport, auth=PactAuth(AGENT, CHAIN)) as http:
        http.post(f"{BASE}/items?draft=1", json={"a": [1, 2, 3]})
        http.get(f"{BASE}")
    assert [result.label for result in checked] == ["pact", "pact"]
    assert checked[0].body == b'{"a":[1,2,3]}'


# --- Redirects -------------------------------------------------------------------------


def test_manual_redirect_to_another_origin_goes_unsigned(provider: Provider) -> None:
    provider.redirects[f"{BASE}/items"] = (307, "https://elsewhere.example/collect")
    with client(provider, auth=PactAuth(AGENT, CHAIN)) as http:
        first = http.post("/items", content=b"secret payload")
        assert first.status_code == 307
        assert first.next_request is not None
        # httpx copied the signed headers into next_request; sending it must strip them.
        assert "Signature" in first.next_request.headers
        second = http.send(first.next_request)
    assert second.json() == {"signed": False}
    arrived = provider.seen[-1]
    assert arrived.url.host == "elsewhere.example"
    for name in ("Pact-Chain", "Content-Digest", "Signature-Input", "Signature"):
        assert name not in arrived.headers


def test_manual_redirect_on_the_same_origin_is_signed_afresh(provider: Provider) -> None:
    provider.redirects[f"{BASE}/old"] = (308, f"{BASE}/new?v=2")
    with client(provider, auth=PactAuth(AGENT, CHAIN)) as http:
        first = http.post("/old", content=b"payload")
        assert first.next_request is not None
        second = http.send(first.next_request)
    assert second.status_code == 200, second.text
    assert second.json()["agent"] == AGENT.id


def test_followed_redirect_without_the_hook_fails_loudly(provider: Provider) -> None:
    provider.redirects[f"{BASE}/items"] = (302, "https://elsewhere.example/collect")
    with (
        client(provider, auth=PactAuth(AGENT, CHAIN), follow_redirects=True) as http,
        pytest.raises(PactRedirectError, match=r"elsewhere\.example") as caught,
    ):
        http.get("/items")
    assert caught.value.request.url.host == "elsewhere.example"
    # Why it must be loud: httpx did send the signature to the other origin.
    assert "Signature" in provider.seen[-1].headers


def test_followed_same_origin_redirect_without_the_hook_is_not_an_error(
    provider: Provider,
) -> None:
    provider.redirects[f"{BASE}/old"] = (301, f"{BASE}/new")
    with client(provider, auth=PactAuth(AGENT, CHAIN), follow_redirects=True) as http:
        response = http.get("/old")
    # The stale signature covers /old, so the provider refuses /new: no leak, no crash.
    assert response.status_code == 401
    assert response.json()["code"] == "signature_invalid"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_followed_redirects_with_the_hook(provider: Provider, status: int) -> None:
    auth = PactAuth(AGENT, CHAIN)
    provider.redirects[f"{BASE}/a"] = (status, f"{BASE}/b")
    provider.redirects[f"{BASE}/b"] = (status, "https://elsewhere.example/c")
    provider.redirects["https://elsewhere.example/c"] = (status, f"{BASE}/d")
    hooks = {"request": [auth.redirect_hook]}
    with client(provider, auth=auth, follow_redirects=True, event_hooks=hooks) as http:
        response = http.post("/a", content=b"body")
    # /b is re-signed (same origin), elsewhere gets nothing, and /d, back on the
    # first origin but reached through another one, is not signed either.
    assert [r.url.path for r in provider.seen] == ["/a", "/b", "/c", "/d"]
    assert verify(provider.seen[1], RequestVerifier(authorities=[HOST])).key_id == AGENT.id
    for hop in provider.seen[2:]:
        assert "Signature" not in hop.headers
        assert "Pact-Chain" not in hop.headers
    assert response.status_code == 401
    assert response.json()["code"] == "signature_missing"


async def test_followed_redirects_with_the_async_hook(provider: Provider) -> None:
    auth = PactAuth(AGENT, CHAIN)
    provider.redirects[f"{BASE}/a"] = (307, f"{BASE}/b")
    provider.redirects[f"{BASE}/b"] = (307, "https://elsewhere.example/c")
    hooks = {"request": [auth.async_redirect_hook]}
    async with async_client(provider, auth=auth, follow_redirects=True, event_hooks=hooks) as http:
        response = await http.post("/a", content=b"body")
    assert response.json() == {"signed": False}
    assert verify(provider.seen[1], RequestVerifier(authorities=[HOST])).key_id == AGENT.id


def test_https_upgrade_of_the_same_host_is_signed(provider: Provider) -> None:
    provider.redirects[f"http://{HOST}/items"] = (301, f"{BASE}/items")
    auth = PactAuth(AGENT, CHAIN)
    hooks = {"request": [auth.redirect_hook]}
    with client(provider, auth=auth, follow_redirects=True, event_hooks=hooks) as http:
        response = http.get(f"http://{HOST}/items")
    assert response.status_code == 200, response.text


def test_the_hook_leaves_requests_it_did_not_sign_alone(provider: Provider) -> None:
    auth = PactAuth(AGENT, CHAIN)
    hooks = {"request": [auth.redirect_hook]}
    with client(provider, event_hooks=hooks) as http:  # no auth on this client
        response = http.get("https://elsewhere.example/")
    assert response.json() == {"signed": False}


def test_signatures_expire_with_their_requests() -> None:
    # A request signed now and sent much later is refused: the flow signs at send time.
    auth = PactAuth(AGENT, CHAIN)
    signed = next(auth.sync_auth_flow(httpx.Request("GET", f"{BASE}/items")))
    later = datetime.now(timezone.utc) + timedelta(minutes=10)
    path, _, query = signed.url.raw_path.partition(b"?")
    with pytest.raises(PactError) as caught:
        RequestVerifier(authorities=[HOST]).verify(
            method="GET",
            authority=HOST,
            path=path.decode(),
            query=query.decode(),
            headers=signed.headers.raw,
            body=b"",
            trust=TRUST,
            now=later,
        )
    assert caught.value.code == "signature_expired"
