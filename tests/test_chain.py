from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from pact_asgi import (
    AnyRoot,
    ChainError,
    ChainLimits,
    Delegation,
    DelegationError,
    Identity,
    LimitExceededError,
    MalformedError,
    RevokedError,
    TrustedRoots,
    TrustError,
    TrustResolver,
    averify_chain,
    check_current,
    decode_chain,
    encode_chain,
    test_seed,
    verify_chain,
    verify_links,
)
from pact_asgi._encoding import b64url_encode
from pact_asgi.chain import DEFAULT_SKEW

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
ALICE = Identity.from_seed(test_seed("alice"), type="human", name="Alice")
BOB = Identity.from_seed(test_seed("bob"), type="human")
A1, A2, A3 = (Identity.from_seed(test_seed(f"agent-{n}")) for n in (1, 2, 3))
TRUST = TrustedRoots([ALICE])


def chain_of(depth: int = 2, *, not_before: datetime | None = None) -> list[Delegation]:
    links = [
        Delegation.issue(
            ALICE, A1, ["storage:*", "github:*"], ttl=2 * HOUR, max_chain_depth=3, now=NOW
        )
    ]
    holders = [A1, A2, A3]
    for i in range(1, depth):
        links.append(
            Delegation.issue(
                holders[i - 1],
                holders[i],
                ["storage:read"],
                ttl=HOUR,
                max_chain_depth=3,
                not_before=not_before if i == depth - 1 else None,
                parent=links,
                now=NOW,
            )
        )
    return links


# ---------------------------------------------------------------- encoding


def test_encode_decode_round_trip():
    chain = chain_of(3)
    header = encode_chain(chain)
    assert "=" not in header
    assert decode_chain(header) == chain
    assert decode_chain(f"  {header} ") == chain  # surrounding whitespace of a header


def test_encode_refuses_an_empty_chain():
    with pytest.raises(ValueError, match="at least one"):
        encode_chain([])


def test_decode_refuses_non_text():
    with pytest.raises(MalformedError) as caught:
        decode_chain(b"eyJ9")  # type: ignore[arg-type]
    assert caught.value.code == "malformed_encoding"


def test_header_size_limit_is_exact():
    with pytest.raises(LimitExceededError):
        decode_chain("A" * (32 * 1024 + 1))
    with pytest.raises(MalformedError):  # at the limit: decoded, then refused as JSON
        decode_chain("A" * (32 * 1024))


def test_limits_can_only_be_lowered():
    assert ChainLimits(max_links=1, max_header_bytes=100).max_links == 1
    for name, value in [
        ("max_links", 9),
        ("max_capabilities", 65),
        ("max_capability_length", 513),
        ("max_header_bytes", 32 * 1024 + 1),
        ("max_links", 0),
        ("max_links", "8"),
    ]:
        with pytest.raises(ValueError, match=name):
            ChainLimits(**{name: value})


def test_link_count_is_checked_before_documents_are_parsed():
    # Nine bogus documents: the count alone refuses them.
    header = b64url_encode(b"[" + b",".join([b"{}"] * 9) + b"]")
    with pytest.raises(LimitExceededError):
        decode_chain(header)


# ---------------------------------------------------------------- the walk


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_verify_chain_happy_path(depth):
    chain = chain_of(depth)
    result = verify_chain(chain, trust=TRUST, now=NOW + timedelta(minutes=5))
    assert result.delegations == tuple(chain)
    assert result.root == ALICE.entity
    assert result.root_id == ALICE.id
    assert result.agent == chain[-1].to_entity
    assert result.agent_id == chain[-1].to_entity.id
    assert result.delegation_ids == tuple(link.id for link in chain)
    assert result.capabilities == chain[-1].granted
    assert result.capability_strings == chain[-1].capabilities
    assert result.expires_at == min(link.expires for link in chain)
    assert result.not_before is None
    assert result.root_account == ALICE.id


def test_verify_chain_default_clock_is_now():
    link = Delegation.issue(ALICE, A1, ["x:y"], ttl=HOUR)
    assert verify_chain([link], trust=TRUST).agent_id == A1.id


def test_not_before_is_granted_the_skew():
    start = NOW + timedelta(minutes=10)
    chain = chain_of(2, not_before=start)
    assert verify_chain(chain, trust=TRUST, now=start - DEFAULT_SKEW).not_before == start
    with pytest.raises(DelegationError) as caught:
        verify_chain(chain, trust=TRUST, now=start - DEFAULT_SKEW - timedelta(seconds=1))
    assert (caught.value.code, caught.value.link) == ("delegation_not_yet_valid", 1)
    wide = timedelta(minutes=10)
    assert verify_chain(chain, trust=TRUST, now=NOW, skew=wide).agent_id == A2.id
    with pytest.raises(DelegationError):
        verify_chain(chain, trust=TRUST, now=start - timedelta(seconds=1), skew=timedelta(0))


def test_expiry_is_granted_no_skew():
    chain = chain_of(2)
    end = min(link.expires for link in chain)
    verify_chain(chain, trust=TRUST, now=end - timedelta(microseconds=1))
    with pytest.raises(DelegationError) as caught:
        verify_chain(chain, trust=TRUST, now=end, skew=timedelta(hours=5))
    assert (caught.value.code, caught.value.link) == ("delegation_expired", 1)


def test_check_current_needs_an_aware_clock():
    verified = verify_links(chain_of(1))
    with pytest.raises(ValueError, match="aware"):
        check_current(verified, now=datetime(2026, 3, 1, 12))


def test_verify_links_is_time_independent():
    chain = chain_of(2)
    verified = verify_links(chain)  # long after expiry: still no time check here
    assert verified.expires_at == NOW + HOUR
    check_current(verified, now=NOW)
    with pytest.raises(DelegationError):
        check_current(verified, now=NOW + 2 * HOUR)


def test_verify_links_refusals():
    with pytest.raises(ChainError) as caught:
        verify_links([])
    assert caught.value.code == "chain_empty"
    with pytest.raises(LimitExceededError):
        verify_links(chain_of(3), limits=ChainLimits(max_links=2))


def test_empty_chain_refused_by_verify_chain():
    with pytest.raises(ChainError) as caught:
        verify_chain([], trust=TRUST, now=NOW)
    assert caught.value.code == "chain_empty"


def test_broken_chain_names_the_link():
    first = chain_of(1)[0]
    stray = Delegation.issue(A2, A3, ["storage:read"], ttl=HOUR, now=NOW)
    with pytest.raises(ChainError) as caught:
        verify_chain([first, stray], trust=TRUST, now=NOW)
    assert (caught.value.code, caught.value.link, caught.value.delegation_id) == (
        "chain_broken",
        1,
        stray.id,
    )


def test_signatures_are_checked_before_narrowing():
    # Comparing globs can cost more than a signature, so a forged link that also widens
    # is refused for its signature; a signed link that widens, for escalation.
    chain = chain_of(2)
    wire = chain[1].to_dict()
    wire["capabilities"] = ["payments:send"]
    with pytest.raises(DelegationError) as caught:
        verify_chain([chain[0], Delegation.from_dict(wire)], trust=TRUST, now=NOW)
    assert (caught.value.code, caught.value.link) == ("delegation_signature_invalid", 1)
    assert caught.value.key_id == A1.id
    signed = Delegation.issue(A1, A2, ["payments:send"], ttl=HOUR, now=NOW)
    with pytest.raises(DelegationError) as caught:
        verify_chain([chain[0], signed], trust=TRUST, now=NOW)
    assert (caught.value.code, caught.value.link) == ("capability_escalation", 1)


def test_revoked_links():
    chain = chain_of(3)
    verify_chain(chain, trust=TRUST, now=NOW, revoked={chain[2].id: {BOB.id}})
    with pytest.raises(RevokedError) as caught:
        verify_chain(chain, trust=TRUST, now=NOW, revoked={chain[2].id: {ALICE.id}})
    assert (caught.value.code, caught.value.link) == ("delegation_revoked", 2)


# ---------------------------------------------------------------- trust


def test_untrusted_root():
    with pytest.raises(TrustError) as caught:
        verify_chain(chain_of(1), trust=TrustedRoots([BOB]), now=NOW)
    assert caught.value.code == "untrusted_root"
    assert caught.value.key_id == ALICE.id


def test_sync_resolver_account_is_the_root_account():
    accounts = {ALICE.id: {"user": 42}}
    result = verify_chain(chain_of(2), trust=accounts.get, now=NOW)
    assert result.root_account == {"user": 42}
    with pytest.raises(TrustError):
        verify_chain(chain_of(2), trust=lambda root_id: None, now=NOW)


async def test_averify_chain_with_async_resolver():
    seen = []

    async def lookup(root_id: str) -> object | None:
        await asyncio.sleep(0)
        seen.append(root_id)
        return {"account": "acme"} if root_id == ALICE.id else None

    result = await averify_chain(chain_of(3), trust=TrustResolver(lookup), now=NOW)
    assert result.root_account == {"account": "acme"}
    assert seen == [ALICE.id]
    bobs = [Delegation.issue(BOB, A1, ["x:y"], ttl=HOUR, now=NOW)]
    with pytest.raises(TrustError):
        await averify_chain(bobs, trust=lookup, now=NOW)


async def test_averify_chain_takes_sync_policies_too():
    result = await averify_chain(chain_of(1), trust=TRUST, now=NOW)
    assert result.root_account == ALICE.id


async def test_averify_chain_checks_everything_verify_chain_does():
    with pytest.raises(DelegationError):
        await averify_chain(chain_of(2), trust=TRUST, now=NOW + 3 * HOUR)


def test_trust_decision_on_cached_links():
    verified = verify_links(chain_of(2))
    assert verified.accepted_as(TRUST.resolve(verified.root)).root_account == ALICE.id
    with pytest.raises(TrustError):
        verified.accepted_as(TrustedRoots([BOB]).resolve(verified.root))


def test_verify_chain_refuses_an_async_resolver():
    async def lookup(root_id: str) -> object | None:
        return root_id

    with pytest.raises(TypeError, match="averify_chain"):
        verify_chain(chain_of(1), trust=TrustResolver(lookup), now=NOW)
    with pytest.raises(TypeError, match="averify_chain"):
        verify_chain(chain_of(1), trust=lookup, now=NOW)
    # A configuration error is reported even for a chain that would be refused.
    with pytest.raises(TypeError):
        verify_chain([], trust=lookup, now=NOW)


def test_any_root_accepts_a_self_issued_chain(caplog):
    self_issued = [Delegation.issue(A1, A1, ["*"], ttl=HOUR, now=NOW)]
    with pytest.raises(TrustError):
        verify_chain(self_issued, trust=TRUST, now=NOW)
    assert verify_chain(self_issued, trust=AnyRoot(), now=NOW).root_account == A1.id
    assert "AnyRoot" in caplog.text


def test_trust_must_be_a_policy():
    with pytest.raises(TypeError, match="TrustPolicy"):
        verify_chain(chain_of(1), trust="alice", now=NOW)  # type: ignore[arg-type]
    # The class instead of an instance must not turn into "accept every root".
    bobs = [Delegation.issue(BOB, A1, ["x:y"], ttl=HOUR, now=NOW)]
    with pytest.raises(TypeError, match="not a class"):
        verify_chain(bobs, trust=TrustedRoots, now=NOW)  # type: ignore[arg-type]
