"""The verified principal, its Starlette user, and the evidence it keeps."""

from __future__ import annotations

import dataclasses

import pytest
from middleware_kit import AGENT, HOST, ROOT, T0, chain_of, sign
from starlette.requests import Request

from pact_asgi.errors import PactError
from pact_asgi.principal import Evidence, PactUser, Principal, get_principal
from pact_asgi.signature import RequestVerifier
from pact_asgi.trust import TrustedRoots


@pytest.fixture(scope="module")
def principal() -> Principal:
    chain = chain_of(["items:read"], depth=2)
    verified = RequestVerifier(authorities=[HOST]).verify(
        method="GET",
        authority=HOST,
        path="/items/1",
        query="",
        headers=sign("GET", "/items/1", chain=chain),
        body=b"",
        trust=TrustedRoots([ROOT.id]),
        now=T0,
    )
    return Principal(verified, (), ())


def test_principal_reads_from_the_verified_request(principal):
    assert principal.agent_id == AGENT.id
    assert principal.agent.name == "bot"
    assert principal.root_id == ROOT.id
    assert principal.root.type == "human"
    assert len(principal.delegation_ids) == 2
    assert principal.capability_strings == ("items:read",)
    assert principal.created == T0


def test_user_for_starlette(principal):
    user = PactUser(principal)
    assert user.is_authenticated
    assert user.display_name == "bot"
    assert user.identity == AGENT.id
    assert AGENT.id in repr(user)


def test_evidence_verifies_offline_and_catches_tampering(principal):
    evidence = principal.evidence
    assert evidence.verify().agent_id == AGENT.id
    altered = dataclasses.replace(
        evidence, signature_base=evidence.signature_base.replace(b"/items/1", b"/items/2")
    )
    with pytest.raises(PactError) as caught:
        altered.verify()
    assert caught.value.code == "signature_invalid"
    assert isinstance(evidence, Evidence)


def test_get_principal(principal):
    assert get_principal(Request({"type": "http", "pact": principal})) is principal
    with pytest.raises(RuntimeError, match="PactMiddleware"):
        get_principal(Request({"type": "http"}))
    with pytest.raises(RuntimeError):
        get_principal(Request({"type": "http", "pact": "forged"}))
