"""The language-neutral vectors under tests/vectors/, replayed against pact_asgi.

The files are written by scripts/gen_vectors.py; the first test regenerates them in
memory, so a vector can neither drift from its generator nor be edited by hand.
"""

from __future__ import annotations

import importlib.util
import json
import struct
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pact  # pact-auth, the reference SDK
import pytest
import rfc8785

from pact_asgi import (
    AuthorizationError,
    Capability,
    CapabilityTemplate,
    ChainLimits,
    Delegation,
    Entity,
    Identity,
    PactError,
    Revocation,
    TrustedRoots,
    decode_chain,
    derive_id,
    test_seed,
    verify_chain,
)
from pact_asgi._encoding import b64url_decode, canonical, loads_strict, parse_time

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors"


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))["vectors"]


def cases(vectors: list[dict[str, Any]]) -> Any:
    return pytest.mark.parametrize("vector", vectors, ids=[v["name"] for v in vectors])


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_vectors", ROOT / "scripts" / "gen_vectors.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


IDENTITIES = load("identities.json")
JCS = load("jcs.json")
CAPABILITIES = load("capabilities.json")
DELEGATIONS = load("delegations.json")
CHAINS = load("chains.json")
REVOCATIONS = load("revocations.json")


def test_files_are_what_the_generator_writes():
    built = generator().build()
    on_disk = {path.name for path in VECTORS.glob("*.json")}
    assert set(built) <= on_disk
    for name, text in built.items():
        assert (VECTORS / name).read_text(encoding="utf-8") == text, f"{name} is stale"


def test_at_least_100_vectors():
    counts = [
        len(IDENTITIES),
        len(JCS),
        sum(len(group) for group in CAPABILITIES.values()),
        len(DELEGATIONS),
        len(CHAINS),
        len(REVOCATIONS),
    ]
    assert sum(counts) >= 100


def test_every_chain_level_code_has_a_vector():
    codes = {v["expected"].get("error") for v in CHAINS} - {None}
    assert codes >= {
        "chain_empty",
        "chain_broken",
        "chain_too_large",
        "delegation_signature_invalid",
        "delegation_expired",
        "delegation_not_yet_valid",
        "chain_too_deep",
        "capability_escalation",
        "untrusted_root",
        "delegation_revoked",
        "identity_mismatch",
        "invalid_public_key",
        "malformed_encoding",
        "malformed_json",
        "malformed_document",
        "malformed_time",
        "malformed_capability",
    }
    assert any(
        v["expected"].get("error") == "chain_too_deep" and v["expected"]["link"] > 0
        for v in CHAINS
    )


# ---------------------------------------------------------------- identities


@cases(IDENTITIES)
def test_identity(vector):
    seed = bytes.fromhex(vector["seed"])
    assert test_seed(vector["label"]) == seed
    entity = vector["entity"]
    ours = Identity.from_seed(seed, type=entity["type"], name=entity.get("name", ""))
    assert ours.entity.key.public_bytes_raw().hex() == vector["public_key_hex"]
    assert ours.public_key == vector["public_key"]
    assert ours.id == vector["id"] == derive_id(bytes.fromhex(vector["public_key_hex"]))
    assert ours.entity.to_dict() == entity
    assert Entity.from_dict(entity) == ours.entity
    theirs = pact.identity_from_seed(
        pact.test_vector_seed(vector["label"]), entity["type"], entity.get("name", "")
    )
    assert (theirs.id, theirs.public_key) == (vector["id"], vector["public_key"])
    assert theirs.to_entity_dict() == entity


# ---------------------------------------------------------------- RFC 8785


@cases(JCS)
def test_rfc8785(vector):
    if vector["kind"] == "document":
        produced = canonical(loads_strict(vector["input_json"]))
        assert produced == bytes.fromhex(vector["canonical_hex"])
        assert produced.decode("utf-8") == vector["canonical_utf8"]
        return
    (number,) = struct.unpack(">d", bytes.fromhex(vector["ieee754_hex"]))
    if "error" in vector:
        with pytest.raises(rfc8785.CanonicalizationError):
            canonical(number)
    else:
        assert canonical(number) == bytes.fromhex(vector["canonical_hex"])
        assert canonical(number).decode("ascii") == vector["canonical_utf8"]


# ---------------------------------------------------------------- capabilities


@cases(CAPABILITIES["parse"])
def test_capability_parse(vector):
    if "error" in vector:
        with pytest.raises(PactError) as caught:
            Capability.parse(vector["input"])
        assert caught.value.code == vector["error"]
    else:
        parsed = Capability.parse(vector["input"])
        assert str(parsed) == vector["canonical"]
        assert Capability.parse(str(parsed)) == parsed  # the canonical text is a fixed point


@cases(CAPABILITIES["covers"])
def test_capability_covers(vector):
    granted = Capability.parse(vector["granted"])
    required = Capability.parse(vector["required"])
    assert granted.covers(required) is vector["covers"]


@cases(CAPABILITIES["templates"])
def test_capability_template(vector):
    granted = Capability.parse(vector["granted"])
    template = CapabilityTemplate.parse(vector["template"])
    if "error" in vector:
        with pytest.raises(AuthorizationError) as caught:
            template.fill(vector["params"])
        assert caught.value.code == vector["error"]
    else:
        assert granted.covers(template.fill(vector["params"])) is vector["covers"]


# ---------------------------------------------------------------- delegations


@cases(DELEGATIONS)
def test_delegation(vector):
    document = vector["document"]
    payload = bytes.fromhex(vector["signing_payload_hex"])
    assert payload.decode("utf-8") == vector["signing_payload_utf8"]
    parsed = Delegation.from_dict(document)
    assert parsed.signing_payload() == payload
    assert parsed.to_dict() == document
    assert Delegation.from_json(json.dumps(document)).signing_payload() == payload
    assert parsed.signature == b64url_decode(vector["signature"])
    assert parsed.verify_signature() is vector["verifies"]
    signer = Entity.from_public_key(b64url_decode(vector["signer_public_key"]))
    assert signer.verify(parsed.signature, payload) is vector["verifies"]
    # pact-auth computes the same payload and reaches the same verdict.
    theirs = pact.Delegation.from_dict(document)
    assert theirs.signing_payload() == payload
    verdict = pact.verify_chain(
        [theirs], pact.VerifyOptions(now=lambda: parse_time(document["issued_at"], "t"))
    )
    assert verdict.valid is vector["verifies"], verdict.error


# ---------------------------------------------------------------- chains


def chain_options(vector: dict[str, Any]) -> dict[str, Any]:
    return {
        "trust": TrustedRoots(vector["trusted_roots"]),
        "now": parse_time(vector["now"], "now"),
        "skew": timedelta(seconds=vector["skew_seconds"]),
        "revoked": {k: frozenset(v) for k, v in vector["revoked"].items()},
        "limits": ChainLimits(**vector.get("limits", {})),
    }


def run_chain(vector: dict[str, Any]) -> Any:
    options = chain_options(vector)
    chain = decode_chain(vector["header"], limits=options["limits"])
    return verify_chain(chain, **options)


@cases([v for v in CHAINS if "documents" in v])
def test_chain_header_holds_the_documents(vector):
    assert json.loads(b64url_decode(vector["header"])) == vector["documents"]


@cases([v for v in CHAINS if v["expected"]["valid"]])
def test_chain_verifies(vector):
    expected = vector["expected"]
    result = run_chain(vector)
    assert result.root_id == expected["root_id"]
    assert result.agent_id == expected["agent_id"]
    assert list(result.capability_strings) == expected["capabilities"]
    assert [str(c) for c in result.capabilities] == [
        str(Capability.parse(text)) for text in expected["capabilities"]
    ]
    assert list(result.delegation_ids) == expected["delegation_ids"]
    assert result.expires_at == parse_time(expected["expires_at"], "expires_at")
    if expected["not_before"] is None:
        assert result.not_before is None
    else:
        assert result.not_before == parse_time(expected["not_before"], "not_before")
    assert result.root_account == expected["root_id"]


@cases([v for v in CHAINS if not v["expected"]["valid"]])
def test_chain_refused(vector):
    expected = vector["expected"]
    with pytest.raises(PactError) as caught:
        run_chain(vector)
    assert caught.value.code == expected["error"]
    if "link" in expected:
        assert caught.value.link == expected["link"]


# ---------------------------------------------------------------- revocations


def parse_revocation(vector: dict[str, Any]) -> Revocation:
    if "document" in vector:
        return Revocation.from_dict(vector["document"])
    return Revocation.from_json(vector["document_json"])


def check_revocation(vector: dict[str, Any]) -> str | None:
    revocation = parse_revocation(vector)
    if "document" in vector:
        payload = bytes.fromhex(vector["signing_payload_hex"])
        assert revocation.signing_payload() == payload
        assert pact.Revocation.from_dict(vector["document"]).signing_payload() == payload
    if "revoker" in vector:
        revocation.verify(Entity.from_dict(vector["revoker"]))
    if "chain_header" in vector:
        return revocation.verify_for_chain(decode_chain(vector["chain_header"])).id
    return None


@cases([v for v in REVOCATIONS if v["expected"]["valid"]])
def test_revocation_accepted(vector):
    revoker_id = check_revocation(vector)
    assert revoker_id == vector["expected"].get("revoker_id")
    if "revoker" in vector:  # pact-auth agrees
        theirs = pact.Revocation.from_dict(vector["document"])
        assert pact.verify_revocation(theirs, vector["revoker"]["public_key"])


@cases([v for v in REVOCATIONS if not v["expected"]["valid"]])
def test_revocation_refused(vector):
    with pytest.raises(PactError) as caught:
        check_revocation(vector)
    assert caught.value.code == vector["expected"]["error"]
