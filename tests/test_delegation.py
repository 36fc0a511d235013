from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from pact_asgi import (
    ChainLimits,
    Delegation,
    DelegationError,
    Identity,
    LimitExceededError,
    MalformedError,
    TrustedRoots,
    test_seed,
    verify_chain,
)
from pact_asgi._encoding import b64url_decode, canonical

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def person(label: str, kind: str = "agent") -> Identity:
    return Identity.from_seed(test_seed(label), type=kind, name=label)


ALICE = person("alice", "human")
A1, A2, A3, A4 = (person(f"agent-{n}") for n in range(1, 5))


def root(caps=("storage:*",), depth=3, ttl=HOUR, **kw) -> Delegation:
    return Delegation.issue(ALICE, A1, list(caps), ttl=ttl, max_chain_depth=depth, now=NOW, **kw)


def test_issue_builds_the_wire_document():
    link = root(not_before=NOW + timedelta(minutes=1))
    wire = link.to_dict()
    assert list(wire) == [
        "type",
        "version",
        "id",
        "from",
        "to",
        "capabilities",
        "constraints",
        "issued_at",
        "signature",
    ]
    assert (wire["type"], wire["version"]) == ("delegation", "1.0")
    assert re.fullmatch(r"d-[0-9a-f]{32}", wire["id"])
    assert wire["from"] == ALICE.entity.to_dict()
    assert wire["to"] == A1.entity.to_dict()
    assert wire["constraints"] == {
        "expires": "2026-03-01T13:00:00Z",
        "max_chain_depth": 3,
        "not_before": "2026-03-01T12:01:00Z",
    }
    assert wire["issued_at"] == "2026-03-01T12:00:00Z"
    assert len(b64url_decode(wire["signature"])) == 64
    assert "=" not in wire["signature"]


def test_signature_covers_jcs_with_empty_signature_member():
    link = root()
    payload = canonical({**link.to_dict(), "signature": ""})
    assert link.signing_payload() == payload
    assert ALICE.entity.verify(link.signature, payload)
    assert link.verify_signature()


def test_ids_are_fresh():
    assert root().id != root().id


def test_round_trips():
    link = root(not_before=NOW)
    assert Delegation.from_dict(link.to_dict()) == link
    assert Delegation.from_json(link.to_json()) == link
    assert Delegation.from_json(link.to_json(indent=2)) == link
    assert Delegation.from_json(link.to_json().encode("utf-8")) == link
    assert json.loads(link.to_json()) == link.to_dict()


def test_to_dict_is_a_copy():
    link = root()
    wire = link.to_dict()
    wire["capabilities"].append("*")
    wire["constraints"]["max_chain_depth"] = 99
    assert link.to_dict()["capabilities"] == ["storage:*"]
    assert link.verify_signature()


def test_parsed_fields():
    link = root(caps=("storage:read", "github"), not_before=NOW)
    assert link.from_entity == ALICE.entity
    assert link.to_entity == A1.entity
    assert link.capabilities == ("storage:read", "github")
    assert [str(c) for c in link.granted] == ["storage:read", "github:*"]
    assert link.expires == NOW + HOUR
    assert link.not_before == NOW
    assert link.issued_at == NOW
    assert link.max_chain_depth == 3


def test_issue_to_an_entity_or_identity():
    assert Delegation.issue(ALICE, A1.entity, ["x:y"], ttl=HOUR).to_entity == A1.entity


def test_issue_drops_microseconds():
    link = Delegation.issue(ALICE, A1, ["x:y"], ttl=HOUR, now=NOW.replace(microsecond=999))
    assert link.issued_at == NOW


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"capabilities": "storage:read"}, TypeError, "sequence of strings"),
        ({"capabilities": []}, ValueError, "at least one"),
        ({"ttl": timedelta(0)}, ValueError, "ttl"),
        ({"ttl": -HOUR}, ValueError, "ttl"),
        ({"max_chain_depth": 0}, ValueError, "max_chain_depth"),
        ({"capabilities": ["github::read"]}, ValueError, "invalid capability"),
        ({"capabilities": [7]}, ValueError, "invalid capability"),
        ({"capabilities": [f"s:op{n}" for n in range(65)]}, ValueError, "at most 64"),
        ({"not_before": datetime(2026, 3, 1)}, ValueError, "aware"),
    ],
)
def test_issue_refuses_bad_requests(kwargs, error, match):
    request = {"capabilities": ["storage:read"], "ttl": HOUR, "max_chain_depth": 1, **kwargs}
    with pytest.raises(error, match=match):
        Delegation.issue(ALICE, A1, request.pop("capabilities"), now=NOW, **request)


# ---------------------------------------------------------------- sub-delegation


def test_sub_delegation_narrows_and_verifies():
    parent = root(caps=("storage:*", "github:pr:create,repo=myorg/*"))
    child = Delegation.issue(
        A1, A2, ["github:pr:create,repo=myorg/api"], ttl=HOUR / 2, parent=parent, now=NOW
    )
    assert child.from_entity == A1.entity
    result = verify_chain(
        [parent, child], trust=TrustedRoots([ALICE]), now=NOW + timedelta(minutes=1)
    )
    assert result.capability_strings == ("github:pr:create,repo=myorg/api",)


def test_sub_delegation_refuses_an_issuer_who_is_not_the_delegate():
    with pytest.raises(ValueError, match="parent's delegate"):
        Delegation.issue(A2, A3, ["storage:read"], ttl=HOUR, parent=root(), now=NOW)


@pytest.mark.parametrize(
    "capability",
    ["storage", "github:read", "*", "storage:read,path=/a/*"],
)
def test_sub_delegation_refuses_escalation(capability):
    parent = root(caps=("storage:read,path=/a/b",))
    with pytest.raises(ValueError, match="cannot grant"):
        Delegation.issue(A1, A2, [capability], ttl=HOUR, parent=parent, now=NOW)


def test_depth_exhausted_at_the_root_is_seen_through_the_whole_chain():
    # Links 1 and 2 were issued without parent, so their own bounds are generous; the
    # root allows 3 links in all. Given the whole chain, the 4th link is refused; given
    # only the last link, the root's bound cannot be seen.
    first = root(depth=3)
    second = Delegation.issue(A1, A2, ["storage:read"], ttl=HOUR, max_chain_depth=5, now=NOW)
    third = Delegation.issue(A2, A3, ["storage:read"], ttl=HOUR, max_chain_depth=5, now=NOW)
    chain = [first, second, third]
    verify_chain(chain, trust=TrustedRoots([ALICE]), now=NOW)
    with pytest.raises(ValueError, match="max_chain_depth allows no further link"):
        Delegation.issue(A3, A4, ["storage:read"], ttl=HOUR, parent=chain, now=NOW)
    unchecked = Delegation.issue(A3, A4, ["storage:read"], ttl=HOUR, parent=third, now=NOW)
    with pytest.raises(DelegationError) as caught:
        verify_chain([*chain, unchecked], trust=TrustedRoots([ALICE]), now=NOW)
    assert (caught.value.code, caught.value.link) == ("chain_too_deep", 0)


def test_depth_exhausted_at_the_parent():
    parent = root(depth=1)
    with pytest.raises(ValueError, match="no further link"):
        Delegation.issue(A1, A2, ["storage:read"], ttl=HOUR, parent=parent, now=NOW)


def test_depth_is_clamped_by_every_link_above():
    first = root(depth=4)
    second = Delegation.issue(
        A1, A2, ["storage:read"], ttl=HOUR, max_chain_depth=2, parent=first, now=NOW
    )
    third = Delegation.issue(
        A2, A3, ["storage:read"], ttl=HOUR, max_chain_depth=8, parent=[first, second], now=NOW
    )
    assert (second.max_chain_depth, third.max_chain_depth) == (2, 1)
    verify_chain([first, second, third], trust=TrustedRoots([ALICE]), now=NOW)


def test_expiry_is_clamped_to_the_chain():
    first = root(ttl=HOUR)
    second = Delegation.issue(
        A1,
        A2,
        ["storage:read"],
        ttl=timedelta(minutes=20),
        max_chain_depth=2,
        parent=first,
        now=NOW,
    )
    third = Delegation.issue(
        A2,
        A3,
        ["storage:read"],
        ttl=timedelta(days=7),
        parent=[first, second],
        now=NOW + timedelta(minutes=10),
    )
    assert second.expires == NOW + timedelta(minutes=20)
    assert third.expires == second.expires


def test_expired_parent_is_refused():
    parent = root(ttl=HOUR)
    with pytest.raises(ValueError, match="expired"):
        Delegation.issue(A1, A2, ["storage:read"], ttl=HOUR, parent=parent, now=NOW + HOUR)


# ---------------------------------------------------------------- parsing


def test_from_dict_honours_lowered_limits():
    link = root(caps=("a:b", "c:d", "e:f"))
    with pytest.raises(LimitExceededError) as caught:
        Delegation.from_dict(link.to_dict(), limits=ChainLimits(max_capabilities=2))
    assert caught.value.code == "chain_too_large"
    assert caught.value.delegation_id == link.id
    with pytest.raises(LimitExceededError):
        Delegation.from_dict(link.to_dict(), limits=ChainLimits(max_capability_length=2))
    assert Delegation.from_dict(link.to_dict(), limits=ChainLimits(max_capabilities=3)) == link


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: d.update(extra=1), "malformed_document"),
        (lambda d: d.pop("signature"), "malformed_document"),
        (lambda d: d.update(version="1.1"), "malformed_document"),
        (lambda d: d.update(id="d-" + "0" * 31), "malformed_document"),
        (lambda d: d["constraints"].update(max_chain_depth=2**53 - 1), None),
        (lambda d: d["constraints"].update(max_chain_depth=2**53), "malformed_document"),
        (lambda d: d["constraints"].update(max_chain_depth=1.0), "malformed_document"),
        (lambda d: d["constraints"].update(not_before="2026-03-01 12:00:00Z"), "malformed_time"),
        (lambda d: d.update(issued_at="2026-03-01T12:00:00+01:00"), None),
        (lambda d: d.update(signature=d["signature"] + "=="), None),
        (lambda d: d.update(signature=d["signature"][:-4]), "malformed_encoding"),
        (lambda d: d.update(capabilities=["ok:cap", "bad cap"]), "malformed_capability"),
        (lambda d: d["from"].update(name="\ud800"), "malformed_json"),
    ],
)
def test_from_dict_is_strict(mutate, code):
    wire = root().to_dict()
    mutate(wire)
    if code is None:
        Delegation.from_dict(wire)  # accepted (the signature is another matter)
        return
    with pytest.raises(MalformedError) as caught:
        Delegation.from_dict(wire)
    assert caught.value.code == code


def test_lone_surrogate_name_cannot_reach_the_canonicalizer():
    # A dict handed to from_dict skips the JSON checks; the entity check still refuses.
    wire = root().to_dict()
    wire["to"]["name"] = "bot\udc80"
    with pytest.raises(MalformedError):
        Delegation.from_dict(wire)


def test_issue_refuses_not_before_after_expiry():
    issuer, delegate = Identity.generate(type="human"), Identity.generate()
    start = datetime.now(timezone.utc) + timedelta(hours=2)
    with pytest.raises(ValueError, match="not_before"):
        Delegation.issue(issuer, delegate, ["api:read"], ttl=timedelta(hours=1), not_before=start)


def test_from_dict_keeps_its_own_copy_of_the_document():
    issuer, delegate = Identity.generate(type="human"), Identity.generate()
    original = Delegation.issue(issuer, delegate, ["api:read"], ttl=timedelta(hours=1))
    wire = original.to_dict()
    parsed = Delegation.from_dict(wire)
    wire["capabilities"].append("api:write")  # the caller changes its dict afterwards
    assert parsed.capabilities == ("api:read",)
    assert parsed.to_dict()["capabilities"] == ["api:read"]
    assert parsed.verify_signature()
