"""Request signatures (§4): RFC 9421 conformance, interop both ways, one test per code."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import http_sf
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
)
from http_message_signatures.algorithms import ED25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pact_asgi._encoding import b64url_encode
from pact_asgi.chain import encode_chain
from pact_asgi.delegation import ChainLimits, Delegation
from pact_asgi.digest import content_digest
from pact_asgi.errors import (
    DelegationError,
    DigestError,
    ErrorCode,
    LimitExceededError,
    MalformedError,
    PactError,
    RevokedError,
    SignatureError,
    TrustError,
)
from pact_asgi.identity import Identity, test_seed
from pact_asgi.signature import (
    REQUIRED_COMPONENTS,
    PendingRequest,
    RequestVerifier,
    VerifiedRequest,
    normalize_authority,
    sign_request,
    signature_base,
)
from pact_asgi.trust import TrustedRoots, TrustResolver

VECTORS = Path(__file__).parent / "vectors"
HOST = "api.example.com"
PATH = "/v1/repos/acme/widgets/pulls"
QUERY = "draft=false&label=a%20b"
URL = f"https://{HOST}{PATH}?{QUERY}"
BODY = b'{"title": "Fix the widget", "head": "fix"}'
NOW = datetime.now(timezone.utc).replace(microsecond=0)

HUMAN = Identity.from_seed(test_seed("sig-human"), type="human", name="alice")
AGENTS = [Identity.from_seed(test_seed(f"sig-agent-{i}")) for i in range(3)]
AGENT = AGENTS[-1]
STRANGER = Identity.from_seed(test_seed("sig-stranger"))
TRUST = TrustedRoots([HUMAN])


def _chain(issued: datetime = NOW - timedelta(hours=1), ttl: timedelta = timedelta(days=2)):
    root = Delegation.issue(HUMAN, AGENTS[0], ["github:*"], ttl=ttl, max_chain_depth=3, now=issued)
    middle = Delegation.issue(
        AGENTS[0],
        AGENTS[1],
        ["github:pr:*"],
        ttl=ttl,
        max_chain_depth=2,
        parent=root,
        now=issued,
    )
    last = Delegation.issue(
        AGENTS[1], AGENT, ["github:pr:create"], ttl=ttl, parent=[root, middle], now=issued
    )
    return [root, middle, last]


CHAIN = _chain()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def verifier(**kwargs: Any) -> RequestVerifier:
    kwargs.setdefault("authorities", [HOST])
    return RequestVerifier(**kwargs)


def signed(**kwargs: Any) -> dict[str, str]:
    """Headers of a POST to URL with BODY, signed by AGENT under CHAIN at NOW."""
    kwargs.setdefault("method", "POST")
    kwargs.setdefault("url", URL)
    kwargs.setdefault("body", BODY)
    kwargs.setdefault("created", NOW)
    return sign_request(AGENT, kwargs.pop("chain", CHAIN), **kwargs)


def check(
    headers: dict[str, str] | list[tuple[str, str]],
    *,
    using: RequestVerifier | None = None,
    body: bytes = BODY,
    **kwargs: Any,
) -> VerifiedRequest:
    """Verify one request as the provider at HOST would."""
    arguments: dict[str, Any] = {
        "method": "POST",
        "authority": HOST,
        "path": PATH,
        "query": QUERY,
        "trust": TRUST,
        "now": NOW,
    }
    arguments.update(kwargs)
    items = list(headers.items()) if isinstance(headers, dict) else headers
    return (using or verifier()).verify(headers=items, body=body, **arguments)


def refused(code: ErrorCode, headers: Any, **kwargs: Any) -> PactError:
    """Verify and expect exactly ``code``."""
    with pytest.raises(PactError) as caught:
        check(headers, **kwargs)
    assert caught.value.code == code.value, caught.value.detail
    return caught.value


def crafted(
    signature_input: str,
    *,
    headers: dict[str, str] | None = None,
    key: Ed25519PrivateKey = AGENT.private_key,
    label: str = "pact",
    chain: list[Delegation] = CHAIN,
    body: bytes = BODY,
) -> dict[str, str]:
    """A request with a hand-written Signature-Input, signed over the base we build.

    The negative tests use it so that a request fails for the one rule under test, not
    for a bad signature. The base construction itself is held to RFC 9421 by the
    Appendix B.2.6 test and to http-message-signatures by the interop tests.
    """
    if signature_input.startswith("("):
        signature_input = f"{label}={signature_input}"
    fields = {
        "Pact-Chain": encode_chain(chain),
        "Content-Digest": content_digest(body),
        **(headers or {}),
        "Signature-Input": signature_input,
    }
    base = signature_base(
        label=label, method="POST", authority=HOST, path=PATH, query=QUERY, headers=fields
    )
    fields["Signature"] = f"{label}=:{b64(key.sign(base))}:"
    return fields


COMPONENTS = '("@method" "@authority" "@path" "@query" "content-digest" "pact-chain")'


def params(**overrides: Any) -> str:
    """Serialised signature parameters; a value of None leaves the parameter out."""
    values: dict[str, Any] = {
        "created": int(NOW.timestamp()),
        "keyid": AGENT.id,
        "alg": "ed25519",
        "nonce": "c2VjcmV0LW5vbmNlLTEyMw",
        "tag": "pact",
    }
    values.update(overrides)
    out = ""
    for name, value in values.items():
        if value is None:
            continue
        out += f";{name}={value}" if isinstance(value, int) else f';{name}="{value}"'
    return out


# --- RFC 9421 conformance ----------------------------------------------------------------


def test_rfc9421_b26_signature_base_and_signature() -> None:
    vector = json.loads((VECTORS / "rfc9421-b26.json").read_text("utf-8"))
    request = vector["request"]
    headers = [*map(tuple, request["headers"])]
    headers += [("Signature-Input", vector["signature_input"]), ("Signature", vector["signature"])]

    base = signature_base(
        label=vector["label"],
        method=request["method"],
        authority=request["authority"],
        path=request["path"],
        query=request["query"],
        headers=headers,
    )

    assert base == vector["signature_base"].encode("ascii")
    key = load_pem_public_key(vector["key"]["public_key_pem"].encode("ascii"))
    signature = http_sf.parse(vector["signature"].encode(), tltype="dictionary")["sig-b26"][0]
    key.verify(signature, base)  # raises InvalidSignature if the base were wrong


def test_rfc9421_b26_base_is_what_http_message_signatures_builds() -> None:
    vector = json.loads((VECTORS / "rfc9421-b26.json").read_text("utf-8"))
    request = vector["request"]
    message = Message(
        method=request["method"],
        url=f"https://{request['authority']}{request['path']}?{request['query']}",
        headers=dict(request["headers"]),
    )
    signer = HTTPMessageSigner(signature_algorithm=ED25519)
    prepared = signer.prepare(
        message,
        key_id="test-key-ed25519",
        created=datetime.fromtimestamp(1618884473, timezone.utc),
        include_alg=False,
        use_existing_digest=True,
        covered_component_ids=(
            "date",
            "@method",
            "@path",
            "@authority",
            "content-type",
            "content-length",
        ),
    )
    assert prepared.signature_base == vector["signature_base"].encode("ascii")


# --- Interop with http-message-signatures, both directions -------------------------------


@dataclass
class Message:
    """The request shape http-message-signatures signs and verifies."""

    method: str
    url: str
    headers: dict[str, str]


class Keys(HTTPSignatureKeyResolver):
    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    def resolve_public_key(self, key_id: str) -> object:
        return self.identity.private_key.public_key() if key_id == self.identity.id else None

    def resolve_private_key(self, key_id: str) -> object:
        if key_id != self.identity.id:
            raise KeyError(key_id)
        return self.identity.private_key


def library_signed(
    *, label: str = "pact", components: tuple[str, ...] = REQUIRED_COMPONENTS, **extra: str
) -> Message:
    now = datetime.now(timezone.utc)
    message = Message(
        method="POST",
        url=URL,
        headers={"Host": HOST, "Pact-Chain": encode_chain(CHAIN), **extra},
    )
    HTTPMessageSigner(signature_algorithm=ED25519, key_resolver=Keys(AGENT)).sign(
        message,
        key_id=AGENT.id,
        created=now,
        nonce="bGlicmFyeS1zaWduZWQtbm9uY2U",
        label=label,
        tag="pact",
        include_alg=True,
        covered_component_ids=components,
        body=BODY,
    )
    return message


def test_http_message_signer_request_verifies_here() -> None:
    message = library_signed()
    result = check(message.headers, now=datetime.now(timezone.utc))
    assert result.key_id == AGENT.id
    assert result.nonce == "bGlicmFyeS1zaWduZWQtbm9uY2U"
    assert result.covered_components == REQUIRED_COMPONENTS


def test_http_message_signer_with_other_label_order_and_extra_field_verifies_here() -> None:
    # Selection is by tag, never by label (§4); components may come in any order and
    # more may be covered.
    message = library_signed(
        label="agent-sig",
        components=(
            "pact-chain",
            "content-type",
            "@query",
            "@path",
            "content-digest",
            "@authority",
            "@method",
        ),
        **{"Content-Type": "application/json"},
    )
    result = check(message.headers, now=datetime.now(timezone.utc))
    assert result.label == "agent-sig"
    assert "content-type" in result.covered_components


def test_sign_request_verifies_with_http_message_verifier() -> None:
    headers = sign_request(AGENT, CHAIN, method="POST", url=URL, body=BODY)
    message = Message(method="POST", url=URL, headers={"Host": HOST, **headers})
    library = HTTPMessageVerifier(signature_algorithm=ED25519, key_resolver=Keys(AGENT))

    results = library.verify(
        message, expect_tag="pact", require_components=REQUIRED_COMPONENTS, body=BODY
    )

    assert len(results) == 1
    assert results[0].label == "pact"
    assert results[0].body == BODY
    assert results[0].parameters["alg"] == "ed25519"
    assert results[0].parameters["keyid"] == AGENT.id
    with pytest.raises(InvalidSignature):
        library.verify(
            message,
            expect_tag="pact",
            require_components=REQUIRED_COMPONENTS,
            body=BODY + b" tampered",
        )


def test_sign_request_empty_body_verifies_with_http_message_verifier() -> None:
    headers = sign_request(AGENT, CHAIN, method="GET", url=f"https://{HOST}", body=b"")
    message = Message(method="GET", url=f"https://{HOST}", headers=headers)
    library = HTTPMessageVerifier(signature_algorithm=ED25519, key_resolver=Keys(AGENT))
    results = library.verify(
        message, expect_tag="pact", require_components=REQUIRED_COMPONENTS, body=b""
    )
    assert results[0].covered_components['"@path"'] == "/"
    assert results[0].covered_components['"@query"'] == "?"


# --- sign_request ------------------------------------------------------------------------


def test_sign_request_produces_the_profile() -> None:
    headers = signed()
    assert set(headers) == {"Pact-Chain", "Content-Digest", "Signature-Input", "Signature"}
    assert headers["Pact-Chain"] == encode_chain(CHAIN)
    assert headers["Content-Digest"] == content_digest(BODY)
    inputs = http_sf.parse(headers["Signature-Input"].encode(), tltype="dictionary")
    assert list(inputs) == ["pact"]
    components, parameters = inputs["pact"]
    assert tuple(name for name, _ in components) == REQUIRED_COMPONENTS
    assert parameters["tag"] == "pact"
    assert parameters["alg"] == "ed25519"
    assert parameters["keyid"] == AGENT.id
    assert parameters["created"] == int(NOW.timestamp())
    assert len(parameters["nonce"]) == 22  # 128 random bits, base64url


def test_sign_request_nonces_are_fresh() -> None:
    first = http_sf.parse(signed()["Signature-Input"].encode(), tltype="dictionary")
    second = http_sf.parse(signed()["Signature-Input"].encode(), tltype="dictionary")
    assert first["pact"][1]["nonce"] != second["pact"][1]["nonce"]


def test_sign_request_takes_a_nonce_and_expires() -> None:
    headers = signed(nonce="A" * 16, expires=NOW + timedelta(seconds=60))
    result = check(headers)
    assert result.nonce == "A" * 16
    assert result.expires == NOW + timedelta(seconds=60)


def test_sign_request_host_header_is_the_authority() -> None:
    headers = signed(url=f"https://10.0.0.7{PATH}?{QUERY}", headers={"Host": HOST})
    assert check(headers).key_id == AGENT.id


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"nonce": "short"}, "nonce"),
        ({"nonce": "a" * 16 + "="}, "nonce"),
        ({"created": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"url": "/relative/only"}, "cannot sign"),
        ({"method": "post"}, "cannot sign"),
        ({"chain": []}, "at least one"),
        ({"chain": CHAIN[:2]}, "delegate of the chain's last link"),
    ],
)
def test_sign_request_refuses_misuse(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        signed(**kwargs)


# --- What a verified request carries -------------------------------------------------------


def test_verified_request_is_the_evidence() -> None:
    headers = signed()
    result = check(headers)
    assert result.chain.agent_id == AGENT.id == result.agent_id
    assert result.chain.root_id == HUMAN.id
    assert result.chain.root_account == HUMAN.id  # what TrustedRoots hands over
    assert result.chain_header == headers["Pact-Chain"]
    assert result.created == NOW
    assert result.expires is None
    assert result.label == "pact"
    # The evidence checks offline: the base, the signature and the agent's key.
    AGENT.private_key.public_key().verify(result.signature, result.signature_base)
    assert result.signature_base.endswith(
        f'"@signature-params": {result.signature_params}'.encode()
    )
    assert f'"pact-chain": {headers["Pact-Chain"]}'.encode() in result.signature_base


def test_remember_until_without_expires_is_the_end_of_the_age_window() -> None:
    result = check(signed())
    assert result.remember_until == NOW + timedelta(seconds=300) + timedelta(seconds=30)


@pytest.mark.parametrize(("lifetime", "remembered"), [(60, 90), (1000, 330)])
def test_remember_until_with_expires_is_the_earlier_end(lifetime: int, remembered: int) -> None:
    result = check(signed(expires=NOW + timedelta(seconds=lifetime)))
    assert result.remember_until == NOW + timedelta(seconds=remembered)


def test_a_remembered_nonce_outlives_every_moment_the_signature_passes() -> None:
    headers = signed(expires=NOW + timedelta(seconds=100))
    result = check(headers)
    last_good = result.remember_until - timedelta(seconds=1)
    check(headers, now=last_good)
    refused(ErrorCode.SIGNATURE_EXPIRED, headers, now=result.remember_until)


def test_empty_path_and_query_are_slash_and_question_mark() -> None:
    headers = signed(method="GET", url=f"https://{HOST}", body=b"")
    result = check(headers, method="GET", path="", query="", body=b"")
    assert b'"@path": /\n"@query": ?\n' in result.signature_base


def test_path_is_signed_before_percent_decoding() -> None:
    headers = signed(url=f"https://{HOST}/files/a%2Fb?x=%41")
    check(headers, path="/files/a%2Fb", query="x=%41")
    refused(ErrorCode.SIGNATURE_INVALID, headers, path="/files/a/b", query="x=%41")
    refused(ErrorCode.SIGNATURE_INVALID, headers, path="/files/a%2Fb", query="x=A")


@pytest.mark.parametrize(
    ("host", "scheme"),
    [
        ("API.Example.COM", None),
        ("api.example.com:443", "https"),
        ("api.example.com:443", None),
        ("api.example.com:80", "http"),
    ],
)
def test_authority_is_lowercased_without_default_port(host: str, scheme: str | None) -> None:
    check(signed(), authority=host, scheme=scheme)


def test_a_non_default_port_is_part_of_the_authority() -> None:
    headers = signed(url=f"https://{HOST}:8443{PATH}?{QUERY}")
    refused(ErrorCode.AUTHORITY_MISMATCH, headers, authority=f"{HOST}:8443")
    served = verifier(authorities=[f"{HOST}:8443"])
    check(headers, authority=f"{HOST.upper()}:8443", using=served)
    refused(ErrorCode.AUTHORITY_MISMATCH, headers, authority=f"{HOST}:443", scheme="http")


def test_normalize_authority() -> None:
    assert normalize_authority("Example.COM:443") == "example.com"
    assert normalize_authority("example.com:443", "http") == "example.com:443"
    assert normalize_authority("[::1]:8080") == "[::1]:8080"
    assert normalize_authority("example.com:") == "example.com"


def test_authorities_none_is_an_explicit_opt_out(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pact_asgi.signature"):
        anywhere = RequestVerifier(authorities=None)
    assert "authority check disabled" in caplog.text
    headers = signed(url=f"https://elsewhere.example{PATH}?{QUERY}")
    check(headers, authority="elsewhere.example", using=anywhere)


def test_ascii_byte_pairs_as_from_asgi() -> None:
    raw = [(name.lower().encode(), value.encode()) for name, value in signed().items()]
    assert (
        verifier()
        .verify(
            method="POST",
            authority=HOST,
            path=PATH,
            query=QUERY,
            headers=raw,
            body=BODY,
            trust=TRUST,
            now=NOW,
        )
        .key_id
        == AGENT.id
    )


def test_other_signatures_are_ignored_and_lines_are_combined() -> None:
    headers = signed()
    # A second, unrelated signature in its own field lines (RFC 9110 §5.3 combines them).
    items = [*headers.items()]
    items += [
        ("Signature-Input", 'proxy=("@method");created=1;keyid="edge";tag="edge"'),
        ("Signature", f"proxy=:{b64(bytes(64))}:"),
    ]
    assert check(items).label == "pact"


def test_covered_extra_field_combines_its_lines() -> None:
    headers = crafted(
        '("@method" "@authority" "@path" "@query" "content-digest" "pact-chain" "x-trace")'
        + params(),
        headers={"X-Trace": "a"},
    )
    items = [*headers.items(), ("X-Trace", "b")]
    # Signed over "a" alone, received as "a, b": the base differs.
    refused(ErrorCode.SIGNATURE_INVALID, items)
    crafted_ab = crafted(
        '("@method" "@authority" "@path" "@query" "content-digest" "pact-chain" "x-trace")'
        + params(),
        headers={"X-Trace": "a, b"},
    )
    items = [(k, v) for k, v in crafted_ab.items() if k != "X-Trace"]
    items += [("X-Trace", " a "), ("x-trace", "b\t")]
    assert b'"x-trace": a, b\n' in check(items).signature_base


# --- The chain cache -----------------------------------------------------------------------


def test_a_returning_chain_comes_from_the_cache() -> None:
    shared = verifier()
    first = shared.begin(
        method="POST",
        authority=HOST,
        path=PATH,
        query=QUERY,
        headers=signed(),
        now=NOW,
    )
    assert not first.cached
    shared.finish(shared.accept(first, trust=TRUST, now=NOW), BODY)
    assert shared.cached_chains == 1

    second = shared.begin(
        method="POST",
        authority=HOST,
        path=PATH,
        query=QUERY,
        headers=signed(),
        now=NOW,
    )
    assert second.cached


def test_a_cache_hit_checks_no_link_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    shared = verifier()
    check(signed(), using=shared)
    calls: list[int] = []
    real = Delegation.verify_signature

    def counting(self: Delegation) -> bool:
        calls.append(1)
        return real(self)

    monkeypatch.setattr(Delegation, "verify_signature", counting)
    check(signed(), using=shared)
    assert calls == []
    check(signed(), using=verifier())  # a fresh verifier walks the whole chain
    assert len(calls) == len(CHAIN)


def test_a_cached_chain_is_still_checked_for_time() -> None:
    shared = verifier()
    short = _chain(issued=NOW - timedelta(minutes=10), ttl=timedelta(minutes=20))
    check(signed(chain=short), using=shared)
    later = NOW + timedelta(minutes=11)
    with pytest.raises(DelegationError) as caught:
        check(signed(chain=short, created=later), using=shared, now=later)
    assert caught.value.code == ErrorCode.DELEGATION_EXPIRED.value


def test_a_cached_chain_is_still_checked_for_revocation_and_trust() -> None:
    shared = verifier()
    check(signed(), using=shared)
    revoked = {CHAIN[1].id: frozenset({AGENTS[0].id})}
    with pytest.raises(RevokedError):
        check(signed(), using=shared, revoked=revoked)
    with pytest.raises(TrustError) as caught:
        check(signed(), using=shared, trust=TrustedRoots([STRANGER]))
    assert caught.value.code == ErrorCode.UNTRUSTED_ROOT.value
    assert shared.cached_chains == 1


def test_only_accepted_requests_fill_the_cache() -> None:
    shared = verifier()
    with pytest.raises(TrustError):
        check(signed(), using=shared, trust=TrustedRoots([STRANGER]))
    with pytest.raises(DigestError):
        check(signed(), using=shared, body=b"other")
    with pytest.raises(SignatureError):
        check(signed(), using=shared, path="/elsewhere")
    assert shared.cached_chains == 0


def test_the_cache_is_bounded_and_least_recently_used_goes_first() -> None:
    shared = verifier(chain_cache_size=2)
    chains = [_chain() for _ in range(3)]
    check(signed(chain=chains[0]), using=shared)
    check(signed(chain=chains[1]), using=shared)
    check(signed(chain=chains[0]), using=shared)  # 0 is now the most recent
    check(signed(chain=chains[2]), using=shared)  # evicts 1
    assert shared.cached_chains == 2

    def hit(chain: list[Delegation]) -> bool:
        return shared.begin(
            method="POST",
            authority=HOST,
            path=PATH,
            query=QUERY,
            headers=signed(chain=chain),
            now=NOW,
        ).cached

    assert [hit(chains[0]), hit(chains[1]), hit(chains[2])] == [True, False, True]


def test_cache_size_zero_caches_nothing() -> None:
    none = verifier(chain_cache_size=0)
    check(signed(), using=none)
    check(signed(), using=none)
    assert none.cached_chains == 0


def test_clear_cache() -> None:
    shared = verifier()
    check(signed(), using=shared)
    shared.clear_cache()
    assert shared.cached_chains == 0


async def test_aaccept_awaits_an_async_trust_resolver() -> None:
    async def lookup(root_id: str) -> object | None:
        return {"account": "alice"} if root_id == HUMAN.id else None

    shared = verifier()
    pending = shared.begin(
        method="POST", authority=HOST, path=PATH, query=QUERY, headers=signed(), now=NOW
    )
    accepted = await shared.aaccept(pending, trust=TrustResolver(lookup), now=NOW)
    result = shared.finish(accepted, BODY)
    assert result.chain.root_account == {"account": "alice"}
    with pytest.raises(TypeError, match="async"):
        shared.accept(pending, trust=TrustResolver(lookup), now=NOW)


def test_begin_needs_no_body_and_rejects_a_forgery_before_it() -> None:
    headers = signed()
    headers["Signature"] = f"pact=:{b64(STRANGER.sign(b'anything'))}:"
    with pytest.raises(SignatureError) as caught:
        verifier().begin(
            method="POST", authority=HOST, path=PATH, query=QUERY, headers=headers, now=NOW
        )
    assert caught.value.code == ErrorCode.SIGNATURE_INVALID.value


def test_pending_request_holds_the_body_check_for_later() -> None:
    pending = verifier().begin(
        method="POST", authority=HOST, path=PATH, query=QUERY, headers=signed(), now=NOW
    )
    assert isinstance(pending, PendingRequest)
    assert pending.digest.digests[0][0] == "sha-256"


# --- One negative test (at least) per code -----------------------------------------------


@pytest.mark.parametrize("drop", ["Signature-Input", "Signature"])
def test_signature_missing_without_either_field(drop: str) -> None:
    headers = signed()
    del headers[drop]
    refused(ErrorCode.SIGNATURE_MISSING, headers)


def test_signature_missing_without_a_pact_tag() -> None:
    headers = crafted(COMPONENTS + params(tag="other"))
    refused(ErrorCode.SIGNATURE_MISSING, headers)


def test_signature_missing_when_only_the_label_is_pact() -> None:
    headers = crafted(COMPONENTS + params(tag=None))
    refused(ErrorCode.SIGNATURE_MISSING, headers)


def test_signature_ambiguous_with_two_pact_tags() -> None:
    first = crafted("pact=" + COMPONENTS + params())
    second = crafted("again=" + COMPONENTS + params(), label="again")
    headers = {
        **first,
        "Signature-Input": f"{first['Signature-Input']}, {second['Signature-Input']}",
        "Signature": f"{first['Signature']}, {second['Signature']}",
    }
    refused(ErrorCode.SIGNATURE_AMBIGUOUS, headers)


def test_signature_ambiguous_counts_a_token_tag_too() -> None:
    first = crafted("pact=" + COMPONENTS + params())
    headers = {
        **first,
        "Signature-Input": first["Signature-Input"] + ", b=" + COMPONENTS + ";tag=pact",
        "Signature": first["Signature"] + f", b=:{b64(bytes(64))}:",
    }
    refused(ErrorCode.SIGNATURE_AMBIGUOUS, headers)


def _with_input(signature_input: str) -> dict[str, str]:
    headers = signed()
    headers["Signature-Input"] = signature_input
    return headers


@pytest.mark.parametrize(
    "signature_input",
    [
        "pact=(",  # not a dictionary
        "pact=" + COMPONENTS + params() + ", pact=" + COMPONENTS + params(),  # label twice
        "pact=" + COMPONENTS + params() + ";created=1",  # parameter twice
        "pact=" + COMPONENTS + params() + ';extra="x"',  # unknown parameter
        "pact=:AAAA:" + params(),  # not an inner list
        "pact=" + COMPONENTS + params(created="now"),  # created not an integer
        "pact=" + COMPONENTS + params(created=None) + ";created=1.5",
        "pact=" + COMPONENTS + params(created=None) + ";created=?1",  # a boolean
        "pact=" + COMPONENTS + params(created=None),  # no created
        "pact=" + COMPONENTS + params(expires=1),  # expires before created
        "pact=" + COMPONENTS + params(keyid=None),  # no keyid
        "pact=" + COMPONENTS + params(tag=None) + ";tag=pact",  # a Token, not a String
        'pact=(pact-chain "@method" "@authority" "@path" "@query" "content-digest")'
        + params(),  # a Token component
        'pact=("@method" "@method" "@authority" "@path" "@query" "content-digest" '
        '"pact-chain")' + params(),  # a component twice
        'pact=("@method" "@authority" "@path" "@query" "Content-Digest" "pact-chain")'
        + params(),  # field names are lower case
        "pact=" + COMPONENTS + params() + ";created=é",  # not ASCII
    ],
)
def test_signature_malformed_input(signature_input: str) -> None:
    refused(ErrorCode.SIGNATURE_MALFORMED, _with_input(signature_input))


@pytest.mark.parametrize(
    "signature",
    [
        "pact=:not base64:",
        "pact=?1",  # a boolean, not bytes
        f"pact=:{b64(bytes(63))}:",  # not 64 bytes
        f"other=:{b64(bytes(64))}:",  # nothing under the pact label
        f"pact=:{b64(bytes(64))}:, pact=:{b64(bytes(64))}:",  # the label twice
    ],
)
def test_signature_malformed_signature_field(signature: str) -> None:
    headers = signed()
    headers["Signature"] = signature
    refused(ErrorCode.SIGNATURE_MALFORMED, headers)


def test_signature_malformed_when_pact_chain_comes_twice() -> None:
    items = [*signed().items(), ("Pact-Chain", encode_chain(CHAIN))]
    refused(ErrorCode.SIGNATURE_MALFORMED, items)


def test_signature_malformed_when_pact_chain_has_a_line_break() -> None:
    headers = signed()
    headers["Pact-Chain"] += "\n"
    refused(ErrorCode.SIGNATURE_MALFORMED, headers)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "PO ST"},
        {"path": "/caf\u00e9"},
        {"query": "q=a b"},
    ],
)
def test_signature_malformed_request_line(kwargs: dict[str, str]) -> None:
    refused(ErrorCode.SIGNATURE_MALFORMED, signed(), **kwargs)


def test_signature_malformed_covered_field_with_control_characters() -> None:
    headers = crafted(
        '("@method" "@authority" "@path" "@query" "content-digest" "pact-chain" "x-note")'
        + params(),
        headers={"X-Note": "fine"},
    )
    headers["X-Note"] = "line\x00break"
    refused(ErrorCode.SIGNATURE_MALFORMED, headers)


@pytest.mark.parametrize("missing", REQUIRED_COMPONENTS)
def test_signature_components_each_required(missing: str) -> None:
    covered = " ".join(f'"{name}"' for name in REQUIRED_COMPONENTS if name != missing)
    refused(ErrorCode.SIGNATURE_COMPONENTS, crafted(f"({covered})" + params()))


@pytest.mark.parametrize(
    "signature_input",
    [
        '("@method" "@authority" "@path" "@query" "content-digest";sf "pact-chain")',
        '("@method" "@authority" "@path" "@query" "content-digest" "pact-chain" "@target-uri")',
        '("@method" "@authority" "@path" "@query" "content-digest" "pact-chain" "@status")',
        '("@method" "@authority" "@path" "@query" "content-digest" "pact-chain" "x-absent")',
    ],
)
def test_signature_components_unsupported_or_absent(signature_input: str) -> None:
    headers = _with_input("pact=" + signature_input + params())
    refused(ErrorCode.SIGNATURE_COMPONENTS, headers)


def test_signature_components_when_pact_chain_is_absent() -> None:
    headers = signed()
    del headers["Pact-Chain"]
    refused(ErrorCode.SIGNATURE_COMPONENTS, headers)


@pytest.mark.parametrize("alg", [None, "rsa-pss-sha512", "ED25519", "hmac-sha256"])
def test_signature_algorithm(alg: str | None) -> None:
    refused(ErrorCode.SIGNATURE_ALGORITHM, _with_input("pact=" + COMPONENTS + params(alg=alg)))


def test_signature_expired_by_age() -> None:
    headers = signed()
    edge = NOW + timedelta(seconds=300 + 30)
    check(headers, now=edge)
    refused(ErrorCode.SIGNATURE_EXPIRED, headers, now=edge + timedelta(seconds=1))


def test_signature_expired_by_expires() -> None:
    headers = signed(expires=NOW + timedelta(seconds=10))
    check(headers, now=NOW + timedelta(seconds=39))
    refused(ErrorCode.SIGNATURE_EXPIRED, headers, now=NOW + timedelta(seconds=40))


def test_signature_expired_respects_a_configured_max_age() -> None:
    strict = verifier(max_age=timedelta(seconds=10), clock_skew=timedelta(0))
    headers = signed()
    check(headers, using=strict, now=NOW + timedelta(seconds=10))
    refused(ErrorCode.SIGNATURE_EXPIRED, headers, using=strict, now=NOW + timedelta(seconds=11))


def test_signature_future() -> None:
    headers = signed(created=NOW + timedelta(seconds=30))
    check(headers)
    refused(ErrorCode.SIGNATURE_FUTURE, signed(created=NOW + timedelta(seconds=31)))


@pytest.mark.parametrize(
    "nonce",
    [None, "a" * 15, "a" * 129, "a" * 16 + "=", "abc+defghijklmnop", "abc/defghijklmnop", ""],
)
def test_nonce_invalid(nonce: str | None) -> None:
    refused(ErrorCode.NONCE_INVALID, _with_input("pact=" + COMPONENTS + params(nonce=nonce)))


@pytest.mark.parametrize("length", [16, 128])
def test_nonce_length_bounds_are_inclusive(length: int) -> None:
    check(crafted(COMPONENTS + params(nonce="n" * length)))


def test_keyid_mismatch() -> None:
    # Signed with the agent's key but naming the human: refused before any crypto.
    headers = crafted("pact=" + COMPONENTS + params(keyid=HUMAN.id))
    refused(ErrorCode.KEYID_MISMATCH, headers)


def test_keyid_mismatch_with_a_cached_chain() -> None:
    shared = verifier()
    check(signed(), using=shared)
    headers = crafted("pact=" + COMPONENTS + params(keyid=HUMAN.id))
    refused(ErrorCode.KEYID_MISMATCH, headers, using=shared)


def test_keyid_mismatch_is_found_before_the_link_signatures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    real = Delegation.verify_signature

    def counting(self: Delegation) -> bool:
        calls.append(1)
        return real(self)

    monkeypatch.setattr(Delegation, "verify_signature", counting)
    refused(ErrorCode.KEYID_MISMATCH, crafted("pact=" + COMPONENTS + params(keyid=HUMAN.id)))
    assert calls == []


def test_authority_mismatch_for_another_host() -> None:
    headers = signed(url=f"https://other.example{PATH}?{QUERY}")
    refused(ErrorCode.AUTHORITY_MISMATCH, headers, authority="other.example")


@pytest.mark.parametrize("host", ["user@api.example.com", "api.example.com/x", "a b", ""])
def test_authority_mismatch_for_a_malformed_host(host: str) -> None:
    refused(ErrorCode.AUTHORITY_MISMATCH, signed(), authority=host)


def test_signature_signed_for_one_host_replayed_at_another_fails() -> None:
    # Both hosts are served, so only the signed @authority stands in the way.
    both = verifier(authorities=[HOST, "mirror.example.com"])
    headers = signed()
    refused(ErrorCode.SIGNATURE_INVALID, headers, using=both, authority="mirror.example.com")


@pytest.mark.parametrize(
    "tamper",
    [
        {"method": "PUT"},
        {"path": PATH + "/merge"},
        {"query": "draft=true"},
    ],
)
def test_signature_invalid_when_the_request_line_changes(tamper: dict[str, str]) -> None:
    refused(ErrorCode.SIGNATURE_INVALID, signed(), **tamper)


def test_signature_invalid_when_the_digest_field_is_swapped_with_its_body() -> None:
    headers = signed()
    other = b"a different body"
    headers["Content-Digest"] = content_digest(other)
    refused(ErrorCode.SIGNATURE_INVALID, headers, body=other)


def test_signature_invalid_with_another_key() -> None:
    headers = crafted("pact=" + COMPONENTS + params(), key=STRANGER.private_key)
    refused(ErrorCode.SIGNATURE_INVALID, headers)


def test_signature_invalid_when_the_chain_is_swapped() -> None:
    # Another valid chain to the same agent: pact-chain is covered, so it fails.
    headers = signed()
    headers["Pact-Chain"] = encode_chain(_chain())
    refused(ErrorCode.SIGNATURE_INVALID, headers)


def test_signature_invalid_when_a_parameter_changes() -> None:
    headers = signed()
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        f"created={int(NOW.timestamp())}", f"created={int(NOW.timestamp()) - 1}"
    )
    refused(ErrorCode.SIGNATURE_INVALID, headers)


def test_digest_missing() -> None:
    headers = signed()
    del headers["Content-Digest"]
    refused(ErrorCode.DIGEST_MISSING, headers)


def test_digest_unsupported() -> None:
    headers = crafted("pact=" + COMPONENTS + params(), headers={"Content-Digest": "md5=:AAAA:"})
    refused(ErrorCode.DIGEST_UNSUPPORTED, headers)


def test_digest_mismatch() -> None:
    refused(ErrorCode.DIGEST_MISMATCH, signed(), body=BODY + b" ")


def test_digest_mismatch_when_one_of_two_members_is_wrong() -> None:
    field = f"{content_digest(BODY)}, {content_digest(b'else', 'sha-512')}"
    headers = crafted("pact=" + COMPONENTS + params(), headers={"Content-Digest": field})
    refused(ErrorCode.DIGEST_MISMATCH, headers)


def test_digest_sha_512_alone_is_accepted() -> None:
    field = content_digest(BODY, "sha-512")
    check(crafted("pact=" + COMPONENTS + params(), headers={"Content-Digest": field}))


def test_untrusted_root() -> None:
    with pytest.raises(TrustError) as caught:
        check(signed(), trust=TrustedRoots([STRANGER]))
    assert caught.value.code == ErrorCode.UNTRUSTED_ROOT.value


def test_expired_chain() -> None:
    old = _chain(issued=NOW - timedelta(hours=2), ttl=timedelta(hours=1))
    with pytest.raises(DelegationError) as caught:
        check(signed(chain=old))
    assert caught.value.code == ErrorCode.DELEGATION_EXPIRED.value


def test_malformed_chain_header() -> None:
    headers = crafted("pact=" + COMPONENTS + params())
    headers["Pact-Chain"] = "not*base64"
    with pytest.raises(MalformedError):
        check(headers)


def test_chain_header_beyond_the_limit_is_refused_before_decoding() -> None:
    small = verifier(limits=ChainLimits(max_header_bytes=1024))
    with pytest.raises(LimitExceededError) as caught:
        check(signed(), using=small)
    assert caught.value.code == ErrorCode.CHAIN_TOO_LARGE.value


# --- Configuration mistakes are the developer's, not the client's ------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"authorities": "api.example.com"}, TypeError),
        ({"authorities": []}, ValueError),
        ({"authorities": ["bad host"]}, ValueError),
        ({"max_age": timedelta(0)}, ValueError),
        ({"clock_skew": timedelta(seconds=-1)}, ValueError),
        ({"chain_cache_size": -1}, ValueError),
    ],
)
def test_configuration_errors(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        verifier(**kwargs)


def test_authorities_has_no_default() -> None:
    with pytest.raises(TypeError):
        RequestVerifier()  # type: ignore[call-arg]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verifier().begin(
            method="POST",
            authority=HOST,
            path=PATH,
            query=QUERY,
            headers=signed(),
            now=datetime(2026, 1, 1),
        )


# --- Fuzzing: hostile fields give a PactError, never another exception -------------------


def _fuzzed(field: str, value: str) -> PactError | None:
    """Verify a signed request whose ``field`` is replaced; the PactError, if any."""
    headers = signed()
    headers[field] = value
    try:
        check(headers)
    except PactError as exc:
        return exc
    return None


_FIELD_TEXT = st.one_of(
    st.text(max_size=120),
    st.text(alphabet=st.sampled_from(list('pact=():;,"@ -*?1a\\')), max_size=120),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_FIELD_TEXT)
def test_fuzzed_signature_input(value: str) -> None:
    error = _fuzzed("Signature-Input", value)
    if not _parses(value):
        assert error is not None
        assert error.code == ErrorCode.SIGNATURE_MALFORMED.value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_FIELD_TEXT)
def test_fuzzed_signature(value: str) -> None:
    error = _fuzzed("Signature", value)
    assert error is not None
    if not _parses(value):
        assert error.code == ErrorCode.SIGNATURE_MALFORMED.value


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_signature_input_is_refused_cleanly(data: st.DataObject) -> None:
    original = signed()["Signature-Input"]
    where = data.draw(st.integers(min_value=0, max_value=len(original) - 1))
    char = data.draw(st.sampled_from(list('()";=,: \\@*-1a')))
    value = original[:where] + char + original[where + 1 :]
    error = _fuzzed("Signature-Input", value)
    if value != original and not _parses(value):
        assert error is not None
        assert error.code == ErrorCode.SIGNATURE_MALFORMED.value


def _parses(value: str) -> bool:
    try:
        http_sf.parse(value.strip(" \t").encode("ascii"), tltype="dictionary")
    except (ValueError, IndexError):
        return False
    return True


def test_trust_prefilter_refuses_a_strangers_chain_before_its_links() -> None:
    # STRANGER's own chain with a broken link signature: with the prefilter the verifier
    # refuses it as untrusted before any link signature is checked.
    root = Delegation.issue(STRANGER, AGENT, ["github:*"], ttl=timedelta(days=1), now=NOW)
    document = root.to_dict()
    document["signature"] = b64url_encode(bytes(64))
    forged = [Delegation.from_dict(document)]
    headers = signed(chain=forged)
    refused(ErrorCode.DELEGATION_SIGNATURE_INVALID, headers)
    refused(ErrorCode.UNTRUSTED_ROOT, headers, using=verifier(trust=TRUST))


def test_trust_prefilter_lets_trusted_chains_through() -> None:
    accepted = check(signed(), using=verifier(trust=TRUST))
    assert accepted.chain.root_id == HUMAN.id
