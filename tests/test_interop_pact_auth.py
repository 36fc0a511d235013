"""Interoperability with the reference SDK pact-auth 0.1.1, in both directions.

Documents issued by either side verify in the other: delegation chains of depth 1 to
3 (pact-auth's ``new_delegation`` and ``sub_delegate``; our ``Delegation.issue`` with
``parent=``), the ``X-Pact-Chain`` / ``Pact-Chain`` header encoding, revocations, and
the deterministic test identities.

The two differ in what they accept; the interop chains use capabilities both read
alike. Where pact-auth is more permissive, the tests at the end show that we refuse:

- scopes: pact-auth lets ``github:read`` cover ``github:pr:read`` (a resource prefix
  covers longer resources); we compare segment by segment, so it does not;
- globs: pact-auth's ``*`` matches any text, ``/`` included; ours stops at ``/``
  (``**`` crosses it);
- numeric bounds: pact-auth cannot parse ``api:write,max_cost<100`` and reads
  ``flights:book<500USD`` as ``max=500USD``; we parse the first and refuse the second;
- depth: pact-auth checks only the root's ``max_chain_depth``; we check every link's;
- keys: pact-auth accepts small-order public keys, under which one signature can
  verify for every message; we refuse them.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pact  # pact-auth, the reference SDK
import pytest

from pact_asgi import (
    Capability,
    Delegation,
    DelegationError,
    Identity,
    IdentityError,
    MalformedError,
    Revocation,
    RevokedError,
    TrustedRoots,
    decode_chain,
    encode_chain,
    revocation_map,
    test_seed,
    verify_chain,
)
from pact_asgi._encoding import parse_time

PEOPLE = [("alice", "human", "Alice"), ("agent-1", "agent", "research bot")]
PEOPLE += [(f"agent-{n}", "agent", "") for n in (2, 3)]
# Granted at each depth; every step narrows, and both libraries agree on each step.
CAPABILITIES = [
    ["storage:read", "storage:write", "github:pr:create,repo=myorg/*"],
    ["storage:read", "github:pr:create,repo=myorg/api"],
    ["storage:read"],
]


def ours(label: str) -> Identity:
    kind, name = next((k, n) for lab, k, n in PEOPLE if lab == label)
    return Identity.from_seed(test_seed(label), type=kind, name=name)


def theirs(label: str) -> Any:
    kind, name = next((k, n) for lab, k, n in PEOPLE if lab == label)
    return pact.identity_from_seed(pact.test_vector_seed(label), kind, name)


HOLDERS = ["agent-1", "agent-2", "agent-3"]
ALICE_ID = ours("alice").id


def pact_chain(depth: int) -> list[Any]:
    """A chain issued by pact-auth: a root delegation, then ``sub_delegate`` steps."""
    chain = [
        pact.new_delegation(
            theirs("alice"),
            theirs(HOLDERS[0]),
            CAPABILITIES[0],
            ttl=timedelta(hours=1),
            max_chain_depth=3,
        )
    ]
    for i in range(1, depth):
        _, chain = pact.sub_delegate(
            chain,
            theirs(HOLDERS[i - 1]),
            theirs(HOLDERS[i]),
            CAPABILITIES[i],
            ttl=timedelta(minutes=30),
        )
    return chain


def our_chain(depth: int) -> list[Delegation]:
    """A chain issued by pact_asgi, each link narrowing its ``parent``."""
    chain = [
        Delegation.issue(
            ours("alice"),
            ours(HOLDERS[0]),
            CAPABILITIES[0],
            ttl=timedelta(hours=1),
            max_chain_depth=3,
        )
    ]
    for i in range(1, depth):
        # Both forms of parent: the link above (depth 2), the whole chain (depth 3).
        parent = chain[-1] if i == 1 else chain
        chain.append(
            Delegation.issue(
                ours(HOLDERS[i - 1]),
                ours(HOLDERS[i]).entity,
                CAPABILITIES[i],
                ttl=timedelta(minutes=30),
                max_chain_depth=3,  # clamped to what the parent chain leaves
                parent=parent,
            )
        )
    return chain


def signed_request(agent: Any, chain: list[Any]) -> Any:
    request = pact.HttpRequest("POST", "https://api.example.com/v1/items?x=1", body=b"{}")
    pact.sign_request(request, agent, chain)
    return request


@pytest.mark.parametrize("label", ["alice", "agent-1", "zoë", "", "pact-test"])
def test_deterministic_identities_equal(label):
    mine = Identity.from_seed(test_seed(label), type="human", name=label)
    reference = pact.identity_from_seed(pact.test_vector_seed(label), "human", label)
    assert test_seed(label) == pact.test_vector_seed(label)
    assert (mine.id, mine.public_key) == (reference.id, reference.public_key)
    assert mine.entity.to_dict() == reference.to_entity_dict()


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_pact_auth_chain_verifies_here(depth):
    chain = pact_chain(depth)
    agent = theirs(HOLDERS[depth - 1])
    request = signed_request(agent, chain)
    assert pact.verify_request(request, pact.VerifyOptions(trusted_roots={ALICE_ID})).valid

    decoded = decode_chain(request.get_header(pact.HEADER_DELEGATION_CHAIN))
    assert [link.to_dict() for link in decoded] == [link.to_dict() for link in chain]
    result = verify_chain(decoded, trust=TrustedRoots([ALICE_ID]))
    assert result.agent_id == agent.id
    assert result.root_id == ALICE_ID
    assert list(result.capability_strings) == CAPABILITIES[depth - 1]
    assert list(result.delegation_ids) == [link.id for link in chain]
    # pact-auth always writes not_before (its "now"); the window starts there.
    assert result.not_before == max(
        parse_time(link.constraints.not_before, "nb") for link in chain
    )


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_our_chain_verifies_in_pact_auth(depth):
    chain = our_chain(depth)
    assert [link.max_chain_depth for link in chain] == [3, 2, 1][:depth]
    reference = [pact.Delegation.from_dict(link.to_dict()) for link in chain]
    verdict = pact.verify_chain(reference, pact.VerifyOptions(trusted_roots={ALICE_ID}))
    assert verdict.valid, verdict.error
    assert verdict.agent_id == ours(HOLDERS[depth - 1]).id
    assert verdict.capabilities == CAPABILITIES[depth - 1]
    assert verdict.chain_depth == depth
    assert verify_chain(chain, trust=TrustedRoots([ALICE_ID])).agent_id == verdict.agent_id


@pytest.mark.parametrize("depth", [1, 3])
def test_our_header_is_pact_auths_header(depth):
    chain = our_chain(depth)
    reference = [pact.Delegation.from_dict(link.to_dict()) for link in chain]
    request = signed_request(theirs(HOLDERS[depth - 1]), reference)
    # Byte for byte the value pact-auth sends, so its decoder reads ours.
    assert request.get_header(pact.HEADER_DELEGATION_CHAIN) == encode_chain(chain)
    extracted = pact.extract_signature_data(request)["chain"]
    assert [link.to_dict() for link in extracted] == [link.to_dict() for link in chain]
    assert pact.verify_request(request, pact.VerifyOptions(trusted_roots={ALICE_ID})).valid


def test_pact_auth_decodes_our_header_directly():
    chain = our_chain(2)
    raw = pact.decode_base64url(encode_chain(chain))
    decoded = [pact.Delegation.from_dict(d) for d in json.loads(raw)]
    assert [d.signing_payload() for d in decoded] == [link.signing_payload() for link in chain]


def test_padded_pact_chain_header_is_tolerated():
    value = signed_request(theirs("agent-1"), pact_chain(1)).get_header(
        pact.HEADER_DELEGATION_CHAIN
    )
    padded = base64.urlsafe_b64encode(pact.decode_base64url(value)).decode()
    assert decode_chain(padded)[0].to_dict() == decode_chain(value)[0].to_dict()


def test_pact_auth_revocation_verifies_here():
    chain = our_chain(2)
    revocation = pact.new_revocation(chain[1].id, theirs("alice"), reason="device lost")
    parsed = Revocation.from_dict(revocation.to_dict())
    parsed.verify(ours("alice").entity)
    assert parsed.verify_for_chain(chain).id == ALICE_ID  # alice issued the link above
    with pytest.raises(RevokedError) as caught:
        verify_chain(chain, trust=TrustedRoots([ALICE_ID]), revoked=revocation_map([parsed]))
    assert caught.value.link == 1


def test_our_revocation_verifies_in_pact_auth():
    chain = our_chain(1)
    for reason in ("", "rotated keys"):
        mine = Revocation.issue(ours("alice"), chain[0].id, reason)
        reference = pact.Revocation.from_dict(mine.to_dict())
        assert reference.to_dict() == mine.to_dict()  # "reason" omitted when empty, as theirs
        assert pact.verify_revocation(reference, ours("alice").public_key)
        assert not pact.verify_revocation(reference, ours("agent-1").public_key)


@pytest.mark.parametrize(
    ("granted", "required", "expected"),
    [
        ("storage:read", "storage:read", True),
        ("storage:read", "storage:write", False),
        ("storage", "storage:read", True),
        ("storage:*", "storage:read", True),
        ("*", "github:pr:create", True),
        ("github:pr:create,repo=myorg/*", "github:pr:create,repo=myorg/api", True),
        ("github:pr:create,repo=myorg/*", "github:pr:create,repo=other/api", False),
        ("github:pr:create,repo=myorg/*", "github:pr:create", False),
        ("github:pr:create", "github:pr:create,repo=myorg/api", True),
    ],
)
def test_capabilities_both_read_alike(granted, required, expected):
    assert Capability.parse(granted).covers(Capability.parse(required)) is expected
    reference = pact.parse_capability(granted).covers(pact.parse_capability(required))
    assert reference is expected


# ---------------------------------------------------------------- where we are stricter


def escalated_pact_chain(parent: str, child: str) -> list[Any]:
    root = pact.new_delegation(
        theirs("alice"), theirs("agent-1"), [parent], ttl=timedelta(hours=1), max_chain_depth=2
    )
    _, chain = pact.sub_delegate(
        [root], theirs("agent-1"), theirs("agent-2"), [child], ttl=timedelta(minutes=5)
    )
    return chain


@pytest.mark.parametrize(
    ("parent", "child"),
    [
        ("github:read", "github:pr:read"),  # resource prefix hierarchy
        ("storage:read,path=/data/*", "storage:read,path=/data/a/b"),  # '*' crossing '/'
    ],
)
def test_pact_auth_widening_is_refused_here(parent, child):
    chain = escalated_pact_chain(parent, child)  # pact-auth's sub_delegate allows it
    assert pact.verify_chain(chain, pact.VerifyOptions(trusted_roots={ALICE_ID})).valid
    assert not Capability.parse(parent).covers(Capability.parse(child))
    header = signed_request(theirs("agent-2"), chain).get_header(pact.HEADER_DELEGATION_CHAIN)
    with pytest.raises(DelegationError) as caught:
        verify_chain(decode_chain(header), trust=TrustedRoots([ALICE_ID]))
    assert caught.value.code == "capability_escalation"
    assert caught.value.link == 1


def test_numeric_bounds_are_ours_alone():
    with pytest.raises(ValueError, match="no '='"):
        pact.parse_capability("api:write,max_cost<100")
    assert str(Capability.parse("api:write,max_cost<100")) == "api:write,max_cost<100"
    assert pact.parse_capability("flights:book<500USD").constraints == {"max": "500USD"}
    with pytest.raises(MalformedError):
        Capability.parse("flights:book<500USD")


def test_inner_depth_bound_is_enforced_here_only():
    # The root allows three links; link 1 allows only itself, yet a link follows it.
    root = pact.new_delegation(
        theirs("alice"),
        theirs("agent-1"),
        ["storage:*"],
        ttl=timedelta(hours=1),
        max_chain_depth=3,
    )
    middle = pact.new_delegation(
        theirs("agent-1"),
        theirs("agent-2"),
        ["storage:read"],
        ttl=timedelta(hours=1),
        max_chain_depth=1,
    )
    last = pact.new_delegation(
        theirs("agent-2"), theirs("agent-3"), ["storage:read"], ttl=timedelta(hours=1)
    )
    chain = [root, middle, last]
    assert pact.verify_chain(chain, pact.VerifyOptions(trusted_roots={ALICE_ID})).valid
    header = signed_request(theirs("agent-3"), chain).get_header(pact.HEADER_DELEGATION_CHAIN)
    with pytest.raises(DelegationError) as caught:
        verify_chain(decode_chain(header), trust=TrustedRoots([ALICE_ID]))
    assert (caught.value.code, caught.value.link) == ("chain_too_deep", 1)


def test_small_order_root_is_refused_here_only():
    vectors = json.loads(
        (Path(__file__).parent / "vectors" / "chains.json").read_text(encoding="utf-8")
    )["vectors"]
    vector = next(v for v in vectors if v["name"] == "invalid-key-small-order-root")
    forged = [pact.Delegation.from_dict(d) for d in vector["documents"]]
    at = parse_time(vector["now"], "now")
    # The neutral element as key, (neutral element, 0) as signature: valid for any text.
    verdict = pact.verify_chain(
        forged, pact.VerifyOptions(trusted_roots=set(vector["trusted_roots"]), now=lambda: at)
    )
    assert verdict.valid
    with pytest.raises(IdentityError) as caught:
        decode_chain(vector["header"])
    assert caught.value.code == "invalid_public_key"


def test_valid_chain_vectors_verify_in_pact_auth():
    vectors = json.loads(
        (Path(__file__).parent / "vectors" / "chains.json").read_text(encoding="utf-8")
    )["vectors"]
    checked = 0
    for vector in vectors:
        if not vector["expected"]["valid"]:
            continue
        at = parse_time(vector["now"], "now")
        starts = [
            parse_time(d["constraints"]["not_before"], "nb")
            for d in vector["documents"]
            if "not_before" in d["constraints"]
        ]
        if any(start > at for start in starts):
            continue  # pact-auth grants no skew on not_before
        if any("<" in text for d in vector["documents"] for text in d["capabilities"]):
            continue  # pact-auth cannot parse numeric bounds
        chain = [pact.Delegation.from_dict(d) for d in vector["documents"]]
        # Revocations are left out: pact-auth's checker cannot tell who revoked.
        options = pact.VerifyOptions(
            trusted_roots=set(vector["trusted_roots"]), now=lambda at=at: at
        )
        verdict = pact.verify_chain(chain, options)
        assert verdict.valid, (vector["name"], verdict.error)
        checked += 1
    assert checked >= 10
