from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from pact_asgi import (
    Delegation,
    Identity,
    MalformedError,
    Revocation,
    RevocationError,
    RevokedError,
    TrustedRoots,
    check_current,
    revocation_map,
    test_seed,
    verify_chain,
    verify_links,
)
from pact_asgi._encoding import b64url_decode, canonical

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
ALICE = Identity.from_seed(test_seed("alice"), type="human", name="Alice")
MALLORY = Identity.from_seed(test_seed("mallory"))
A1, A2, A3 = (Identity.from_seed(test_seed(f"agent-{n}")) for n in (1, 2, 3))


def three_links() -> list[Delegation]:
    first = Delegation.issue(ALICE, A1, ["storage:*"], ttl=HOUR, max_chain_depth=3, now=NOW)
    second = Delegation.issue(
        A1, A2, ["storage:read"], ttl=HOUR, max_chain_depth=2, parent=first, now=NOW
    )
    third = Delegation.issue(A2, A3, ["storage:read"], ttl=HOUR, parent=[first, second], now=NOW)
    return [first, second, third]


CHAIN = three_links()


def test_issue_builds_the_wire_document():
    revocation = Revocation.issue(ALICE, CHAIN[0].id, "lost laptop", now=NOW)
    wire = revocation.to_dict()
    assert list(wire) == [
        "type",
        "delegation_id",
        "revoked_by",
        "revoked_at",
        "reason",
        "signature",
    ]
    assert wire["revoked_by"] == ALICE.id
    assert wire["revoked_at"] == "2026-03-01T12:00:00Z"
    payload = canonical({**wire, "signature": ""})
    assert revocation.signing_payload() == payload
    assert ALICE.entity.verify(b64url_decode(wire["signature"]), payload)
    assert "reason" not in Revocation.issue(ALICE, CHAIN[0].id, now=NOW).to_dict()


def test_round_trips():
    revocation = Revocation.issue(ALICE, CHAIN[0].id, "rotated", now=NOW)
    assert Revocation.from_dict(revocation.to_dict()) == revocation
    assert Revocation.from_json(revocation.to_json()) == revocation
    assert Revocation.from_json(revocation.to_json(indent=2)) == revocation
    assert revocation.revoked_at == NOW
    assert revocation.reason == "rotated"


def test_issue_refuses_an_empty_delegation_id():
    with pytest.raises(ValueError, match="delegation_id"):
        Revocation.issue(ALICE, "")


def test_verify():
    revocation = Revocation.issue(ALICE, CHAIN[0].id, now=NOW)
    revocation.verify(ALICE.entity)
    with pytest.raises(RevocationError) as caught:
        revocation.verify(MALLORY.entity)
    assert caught.value.code == "revocation_invalid"
    assert caught.value.delegation_id == CHAIN[0].id


def test_verify_refuses_a_tampered_document():
    wire = Revocation.issue(ALICE, CHAIN[0].id, now=NOW).to_dict()
    wire["delegation_id"] = CHAIN[1].id
    with pytest.raises(RevocationError) as caught:
        Revocation.from_dict(wire).verify(ALICE.entity)
    assert caught.value.code == "revocation_invalid"


def test_verify_refuses_a_forged_revoker():
    wire = Revocation.issue(MALLORY, CHAIN[0].id, now=NOW).to_dict()
    wire["revoked_by"] = ALICE.id
    with pytest.raises(RevocationError) as caught:
        Revocation.from_dict(wire).verify(ALICE.entity)
    assert caught.value.code == "revocation_invalid"


# ---------------------------------------------------------------- §7 authority


@pytest.mark.parametrize(
    ("link", "revoker"),
    [(0, ALICE), (1, ALICE), (1, A1), (2, ALICE), (2, A1), (2, A2)],
)
def test_issuers_at_or_above_a_link_may_revoke_it(link, revoker):
    revocation = Revocation.issue(revoker, CHAIN[link].id, now=NOW)
    assert revocation.verify_for_chain(CHAIN) == revoker.entity
    verified = verify_links(CHAIN)
    with pytest.raises(RevokedError) as caught:
        check_current(verified, now=NOW, revoked=revocation_map([revocation]))
    assert (caught.value.code, caught.value.link) == ("delegation_revoked", link)
    assert caught.value.delegation_id == CHAIN[link].id


@pytest.mark.parametrize(
    ("link", "revoker"),
    [(0, A1), (0, A3), (1, A2), (1, A3), (2, A3), (0, MALLORY), (2, MALLORY)],
)
def test_others_may_not_revoke(link, revoker):
    # Delegates (who could otherwise only escape a link) and strangers do not count.
    revocation = Revocation.issue(revoker, CHAIN[link].id, now=NOW)
    with pytest.raises(RevocationError) as caught:
        revocation.verify_for_chain(CHAIN)
    assert caught.value.code == "revocation_unauthorized"
    check_current(verify_links(CHAIN), now=NOW, revoked=revocation_map([revocation]))


def test_revocation_of_a_link_outside_the_chain_is_unauthorized():
    elsewhere = Delegation.issue(ALICE, MALLORY, ["x:y"], ttl=HOUR, now=NOW)
    with pytest.raises(RevocationError) as caught:
        Revocation.issue(ALICE, elsewhere.id, now=NOW).verify_for_chain(CHAIN)
    assert caught.value.code == "revocation_unauthorized"


def test_verify_for_chain_checks_the_signature():
    wire = Revocation.issue(MALLORY, CHAIN[1].id, now=NOW).to_dict()
    wire["revoked_by"] = ALICE.id
    with pytest.raises(RevocationError) as caught:
        Revocation.from_dict(wire).verify_for_chain(CHAIN)
    assert caught.value.code == "revocation_invalid"


def test_revocation_map_groups_revokers():
    revocations = [
        Revocation.issue(ALICE, CHAIN[2].id, now=NOW),
        Revocation.issue(A1, CHAIN[2].id, now=NOW),
        Revocation.issue(ALICE, CHAIN[0].id, now=NOW),
    ]
    assert revocation_map(revocations) == {
        CHAIN[2].id: frozenset({ALICE.id, A1.id}),
        CHAIN[0].id: frozenset({ALICE.id}),
    }
    assert revocation_map([]) == {}


def test_verify_chain_with_revocations():
    trust = TrustedRoots([ALICE])
    by_delegate = revocation_map([Revocation.issue(A3, CHAIN[2].id, now=NOW)])
    assert verify_chain(CHAIN, trust=trust, now=NOW, revoked=by_delegate).agent_id == A3.id
    by_root = revocation_map([Revocation.issue(ALICE, CHAIN[1].id, now=NOW)])
    with pytest.raises(RevokedError) as caught:
        verify_chain(CHAIN, trust=trust, now=NOW, revoked=by_root)
    assert caught.value.link == 1


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: d.pop("revoked_at"), "malformed_document"),
        (lambda d: d.update(note="x"), "malformed_document"),
        (lambda d: d.update(type="delegation"), "malformed_document"),
        (lambda d: d.update(delegation_id=""), "malformed_document"),
        (lambda d: d.update(revoked_by=None), "malformed_document"),
        (lambda d: d.update(reason=""), "malformed_document"),
        (lambda d: d.update(reason=["x"]), "malformed_document"),
        (lambda d: d.update(reason="x" * 1025), "malformed_document"),
        (lambda d: d.update(reason="\ud800"), "malformed_json"),
        (lambda d: d.update(delegation_id="d-\udfff"), "malformed_json"),
        (lambda d: d.update(revoked_at="2026-03-01T12:00:00"), "malformed_time"),
        (lambda d: d.update(signature="AAAA"), "malformed_encoding"),
        (lambda d: d.update(signature="not base64"), "malformed_encoding"),
    ],
)
def test_from_dict_is_strict(mutate, code):
    wire = Revocation.issue(ALICE, CHAIN[0].id, "r", now=NOW).to_dict()
    mutate(wire)
    with pytest.raises(MalformedError) as caught:
        Revocation.from_dict(wire)
    assert caught.value.code == code


@pytest.mark.parametrize("value", [None, [], "revocation", 7])
def test_from_dict_needs_an_object(value):
    with pytest.raises(MalformedError):
        Revocation.from_dict(value)


def test_issue_refuses_overlong_reason():
    revoker = Identity.generate(type="human")
    with pytest.raises(ValueError, match="reason is longer"):
        Revocation.issue(revoker, "d-" + "0" * 32, reason="x" * 1025)
