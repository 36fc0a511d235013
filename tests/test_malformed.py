"""Hostile input of every kind ends in a PactError (or a success), never another exception.

Covers the four entry points that read network input: ``decode_chain`` (then the walk),
``Delegation.from_json`` / ``from_dict``, ``Revocation.from_json`` / ``from_dict`` and
``Entity.from_dict``. Hand-written cases name each kind of malformation; hypothesis
then throws random text, bytes, JSON values and field-by-field mutations at them.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pact_asgi import (
    ChainLimits,
    Delegation,
    Entity,
    Identity,
    IdentityError,
    LimitExceededError,
    MalformedError,
    PactError,
    Revocation,
    TrustedRoots,
    decode_chain,
    derive_id,
    test_seed,
    verify_chain,
)
from pact_asgi._encoding import b64url_encode, canonical

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
ALICE = Identity.from_seed(test_seed("alice"), type="human", name="Alice")
A1 = Identity.from_seed(test_seed("agent-1"), name="bot")
A2 = Identity.from_seed(test_seed("agent-2"))
TRUST = TrustedRoots([ALICE])
ROOT = Delegation.issue(
    ALICE,
    A1,
    ["storage:*"],
    ttl=timedelta(hours=2),
    max_chain_depth=2,
    not_before=NOW,
    now=NOW,
)
SUB = Delegation.issue(A1, A2, ["storage:read"], ttl=timedelta(hours=1), parent=ROOT, now=NOW)
DOC = ROOT.to_dict()
REV = Revocation.issue(ALICE, ROOT.id, "lost", now=NOW).to_dict()
ENTITY = A1.entity.to_dict()

SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
]
# Values of a JSON type no field of any document accepts in that place.
WRONG = [None, True, False, 0, -1, 1.5, 2**64, "", [], [1], {}, {"a": 1}]


def header_of(documents: Any) -> str:
    return b64url_encode(json.dumps(documents, separators=(",", ":")).encode("utf-8"))


def header_text(text: str | bytes) -> str:
    return b64url_encode(text.encode("utf-8") if isinstance(text, str) else text)


def run_header(value: str, limits: ChainLimits | None = None) -> object:
    """Decode and verify a header; only a result or a PactError may come out."""
    try:
        chain = decode_chain(value, limits=limits or ChainLimits())
        return verify_chain(chain, trust=TRUST, now=NOW)
    except PactError as exc:
        return exc


def run_delegation(data: object) -> object:
    """Parse a document and use it every way a verifier does."""
    try:
        link = Delegation.from_dict(data)
        link.signing_payload()
        link.verify_signature()
        link.to_json()
        return verify_chain([link], trust=TRUST, now=NOW)
    except PactError as exc:
        return exc


def run_revocation(data: object) -> object:
    try:
        revocation = Revocation.from_dict(data)
        revocation.signing_payload()
        revocation.verify(ALICE.entity)
        return revocation.verify_for_chain([ROOT, SUB])
    except PactError as exc:
        return exc


def refused(outcome: object, code: str | None = None) -> PactError:
    assert isinstance(outcome, PactError), f"accepted: {outcome!r}"
    if code is not None:
        assert outcome.code == code
    return outcome


def test_the_fixtures_are_valid():
    assert not isinstance(run_header(header_of([DOC, SUB.to_dict()])), PactError)
    assert not isinstance(run_delegation(copy.deepcopy(DOC)), PactError)
    assert Entity.from_dict(ENTITY) == A1.entity


# ---------------------------------------------------------------- hand-written


@pytest.mark.parametrize(
    "value",
    [
        "!!!",
        "eyJ9*",
        "a",  # one base64 character cannot encode a byte
        "abc=d",
        "YQ===",
        "W10\n=",
        "Wy\u00e9",  # non-ASCII
        "W10" + "\x00",
        "\ud800",
    ],
)
def test_bad_base64(value):
    refused(run_header(value), "malformed_encoding")


@pytest.mark.parametrize("value", ["", " ", "=="])
def test_empty_header(value):
    refused(run_header(value))


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"[",
        b"[{]",
        b"[1,]",
        b"[] []",
        b"\xef\xbb\xbf[]",  # a byte-order mark is not JSON
        b"\xc3\x28",  # invalid UTF-8
        b'["\xed\xa0\x80"]',  # a surrogate encoded in UTF-8
        b'["\\ud800"]',
        b'[{"a":"\\udc00x"}]',
        b"[NaN]",
        b"[-Infinity]",
        b"[1e400]",  # parses to infinity; refused as a document, not a crash
        b'[{"type":"delegation","type":"delegation"}]',
        b"[" + b"1" * 5000 + b"]",  # beyond Python's int digit limit
    ],
)
def test_bad_json_in_a_header(text):
    outcome = refused(run_header(header_text(text)))
    assert isinstance(outcome, MalformedError)


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ((), "malformed_json"),
        (("constraints",), "malformed_json"),
        (("from",), "malformed_json"),
    ],
)
def test_duplicate_keys_at_every_level(path, code):
    # The duplicate would widen the grant for a reader that keeps the last value.
    text = json.dumps(DOC, separators=(",", ":"))
    target = {
        (): '"capabilities":["storage:*"]',
        ("constraints",): '"max_chain_depth":2',
        ("from",): '"type":"human"',
    }[path]
    widened = {
        (): '"capabilities":["storage:*"],"capabilities":["*"]',
        ("constraints",): '"max_chain_depth":2,"max_chain_depth":8',
        ("from",): '"type":"human","type":"agent"',
    }[path]
    assert text.count(target) == 1
    hostile = text.replace(target, widened)
    with pytest.raises(MalformedError) as caught:
        Delegation.from_json(hostile)
    assert caught.value.code == code
    refused(run_header(header_text("[" + hostile + "]")), code)


def test_duplicate_keys_in_revocations_and_entities():
    text = json.dumps(REV, separators=(",", ":"))
    with pytest.raises(MalformedError):
        Revocation.from_json(text.replace('"reason":', '"reason":"x","reason":'))
    entity_text = '{"type":"agent","type":"human","id":"x","public_key":"y"}'
    with pytest.raises(MalformedError):
        Delegation.from_json(json.dumps(DOC).replace(json.dumps(DOC["to"]), entity_text))


def test_deep_nesting():
    deep = "[" * 100_000 + "]" * 100_000
    for parse in (Delegation.from_json, Revocation.from_json):
        with pytest.raises(MalformedError) as caught:
            parse(deep)
        assert caught.value.code == "malformed_json"
    refused(run_header(header_text("[" * 10_000 + "]" * 10_000)), "malformed_json")
    refused(run_header(header_text(deep)), "chain_too_large")  # the size check comes first
    nested: Any = "x"
    for _ in range(100_000):
        nested = [nested]
    for run in (run_delegation, run_revocation):
        refused(run({**DOC, "capabilities": nested}))


def test_huge_header():
    value = header_text(b"[" + b" " * 200_000 + b"]")
    assert len(value) > 200_000
    outcome = refused(run_header(value), "chain_too_large")
    assert isinstance(outcome, LimitExceededError)


def test_forty_links():
    links = [DOC] * 40
    refused(run_header(header_of(links)), "chain_too_large")
    refused(run_header(header_of([{}] * 40)), "chain_too_large")  # small, but too many
    with pytest.raises(LimitExceededError):
        verify_chain([ROOT] * 40, trust=TRUST, now=NOW)


@pytest.mark.parametrize(
    "path",
    [("from", "name"), ("to", "name"), ("capabilities", 0), ("id",), ("signature",)],
)
def test_lone_surrogates(path):
    # As a JSON escape (the wire) and as a Python string (a dict handed to from_dict).
    data = copy.deepcopy(DOC)
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = "a\ud800b"
    text = json.dumps(data)  # ensure_ascii writes the escape "\ud800"
    assert "\\ud800" in text
    refused(run_header(header_text("[" + text + "]")))
    with pytest.raises(PactError):
        Delegation.from_json(text)
    refused(run_delegation(data))


@pytest.mark.parametrize("field", ["delegation_id", "revoked_by", "reason", "signature"])
def test_lone_surrogates_in_revocations(field):
    data = {**REV, field: "r\udfffr"}
    with pytest.raises(PactError):
        Revocation.from_json(json.dumps(data))
    refused(run_revocation(data))


def test_lone_surrogate_in_an_entity_name():
    with pytest.raises(MalformedError):
        Entity.from_dict({**ENTITY, "name": "\ud83d"})


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["constraints"].update(expires="2026-03-01T14:00:00"),
        lambda d: d["constraints"].update(not_before="2026-03-01T12:00:00"),
        lambda d: d.update(issued_at="2026-03-01T12:00:00"),
        lambda d: d.update(issued_at="2026-03-01T12:00:00.123456"),
        lambda d: d["constraints"].update(expires="2026-03-01 14:00:00Z"),
        lambda d: d["constraints"].update(expires="20260301T140000Z"),
        lambda d: d["constraints"].update(expires="2026-03-01T25:00:00Z"),
        lambda d: d["constraints"].update(expires="2026-03-01T14:00:00+25:00"),
        lambda d: d["constraints"].update(expires="\uff12026-03-01T14:00:00Z"),  # fullwidth
    ],
)
def test_times_without_a_zone_or_invalid(change):
    data = copy.deepcopy(DOC)
    change(data)
    refused(run_delegation(data), "malformed_time")
    refused(run_header(header_of([data])), "malformed_time")


@pytest.mark.parametrize(
    "text",
    ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "0000-01-01T00:00:00Z"],
)
def test_times_out_of_range(text):
    # Valid RFC 3339 text whose UTC instant no datetime can hold.
    for path in [("constraints", "expires"), ("constraints", "not_before"), ("issued_at",)]:
        refused(run_delegation(replaced(DOC, path, text)), "malformed_time")
    refused(run_revocation({**REV, "revoked_at": text}), "malformed_time")


def test_extreme_times_do_not_overflow_the_walk():
    # A self-signed chain reaches the time checks before any trust decision.
    data = copy.deepcopy(DOC)
    data["constraints"]["not_before"] = "0001-01-01T00:00:00Z"
    data["constraints"]["expires"] = "9999-12-31T23:59:59Z"
    data["signature"] = ""
    data["signature"] = b64url_encode(ALICE.sign(canonical(data)))
    assert not isinstance(run_header(header_of([data])), PactError)


def test_revocation_time_without_a_zone():
    refused(run_revocation({**REV, "revoked_at": "2026-03-01T12:00:00"}), "malformed_time")


@pytest.mark.parametrize("side", ["from", "to"])
@pytest.mark.parametrize("point", SMALL_ORDER)
def test_small_order_keys(side, point):
    raw = bytes.fromhex(point)
    data = copy.deepcopy(DOC)
    data[side] = {"type": "agent", "id": derive_id(raw), "public_key": b64url_encode(raw)}
    refused(run_header(header_of([data])), "invalid_public_key")
    with pytest.raises(IdentityError):
        Entity.from_dict(data[side])


@pytest.mark.parametrize("side", ["from", "to"])
def test_id_not_matching_key(side):
    data = copy.deepcopy(DOC)
    data[side]["id"] = A2.id
    refused(run_header(header_of([data])), "identity_mismatch")
    data[side]["id"] = data[side]["id"].upper().replace("SHA256", "sha256")
    refused(run_delegation(data))


def test_huge_integers():
    for depth in (2**53, 10**30, -(10**30)):
        refused(
            run_delegation(
                {**DOC, "constraints": {**DOC["constraints"], "max_chain_depth": depth}}
            )
        )
    text = json.dumps(DOC).replace('"max_chain_depth": 2', '"max_chain_depth": 1' + "0" * 5000)
    with pytest.raises(MalformedError):
        Delegation.from_json(text)


# ---------------------------------------------------------------- every field, every type


def paths(document: dict[str, Any]) -> list[tuple[str, ...]]:
    found = []
    for key, value in document.items():
        found.append((key,))
        if isinstance(value, dict):
            found.extend((key, inner) for inner in value)
    return found


def replaced(document: dict[str, Any], path: tuple[str, ...], value: object) -> dict[str, Any]:
    data = copy.deepcopy(document)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def removed(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    data = copy.deepcopy(document)
    target = data
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return data


OPTIONAL = {("from", "name"), ("to", "name"), ("constraints", "not_before"), ("reason",)}


@pytest.mark.parametrize("path", paths(DOC), ids="/".join)
def test_delegation_field_of_wrong_type(path):
    for value in WRONG:
        data = replaced(DOC, path, value)
        refused(run_delegation(data))
        refused(run_header(header_of([data])))


@pytest.mark.parametrize("path", paths(DOC), ids="/".join)
def test_delegation_field_missing_or_extra(path):
    data = removed(DOC, path)
    if path in OPTIONAL:  # the parser takes the document, the signature covered the field
        refused(run_delegation(data), "delegation_signature_invalid")
    else:
        refused(run_delegation(data))
    refused(run_delegation(replaced(DOC, (*path[:-1], "zz_extra"), "x")))


@pytest.mark.parametrize("path", paths(REV), ids="/".join)
def test_revocation_field_of_wrong_type(path):
    for value in WRONG:
        data = replaced(REV, path, value)
        refused(run_revocation(data))
        with pytest.raises(PactError):
            Revocation.from_json(json.dumps(data))
    if path not in OPTIONAL:
        refused(run_revocation(removed(REV, path)))


@pytest.mark.parametrize("path", paths(ENTITY), ids="/".join)
def test_entity_field_of_wrong_type(path):
    for value in WRONG:
        with pytest.raises(PactError):
            Entity.from_dict(replaced(ENTITY, path, value))


@pytest.mark.parametrize("value", [None, [], "agent", 7, [ENTITY], b"{}"])
def test_entity_of_wrong_type(value):
    with pytest.raises(MalformedError):
        Entity.from_dict(value)


@pytest.mark.parametrize("value", [None, [], "delegation", 7, 1.5, True])
def test_documents_of_wrong_type(value):
    refused(run_delegation(value), "malformed_document")
    refused(run_revocation(value), "malformed_document")
    refused(run_header(header_of([value])), "malformed_document")
    refused(run_header(header_of(value)))


# ---------------------------------------------------------------- hypothesis

TEXT = st.text(st.characters(exclude_categories=()), max_size=40)  # surrogates included
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def never_crashes(run: Callable[[Any], object], value: Any) -> None:
    run(value)  # any exception but PactError fails the test


@FUZZ
@given(st.text(max_size=300))
def test_fuzz_header_text(value):
    never_crashes(run_header, value)


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_header_bytes(value):
    never_crashes(run_header, b64url_encode(value))


@FUZZ
@given(JSON_VALUES)
def test_fuzz_header_json(value):
    never_crashes(run_header, header_text(json.dumps(value)))
    never_crashes(run_header, header_text(json.dumps([value])))


@FUZZ
@given(JSON_VALUES)
def test_fuzz_documents(value):
    never_crashes(run_delegation, value)
    never_crashes(run_revocation, value)
    with contextlib.suppress(PactError):
        Entity.from_dict(value)


@FUZZ
@given(st.sampled_from(paths(DOC)), JSON_VALUES)
def test_fuzz_delegation_fields(path, value):
    data = replaced(DOC, path, value)
    never_crashes(run_delegation, data)
    never_crashes(run_header, header_text(json.dumps([data])))


@FUZZ
@given(st.sampled_from(paths(REV)), JSON_VALUES)
def test_fuzz_revocation_fields(path, value):
    never_crashes(run_revocation, replaced(REV, path, value))


@FUZZ
@given(st.sampled_from(paths(ENTITY)), JSON_VALUES)
def test_fuzz_entity_fields(path, value):
    with contextlib.suppress(PactError):
        Entity.from_dict(replaced(ENTITY, path, value))


VALID_TEXT = json.dumps([DOC, SUB.to_dict()], separators=(",", ":"))


@FUZZ
@given(st.integers(0, len(VALID_TEXT) - 1), st.integers(1, 8), TEXT)
def test_fuzz_spliced_json_text(start, length, insert):
    text = VALID_TEXT[:start] + insert + VALID_TEXT[start + length :]
    never_crashes(run_header, header_text(text.encode("utf-8", "surrogatepass")))
    for parse in (Delegation.from_json, Revocation.from_json):
        with contextlib.suppress(PactError):
            parse(text)


VALID_HEADER = header_of([DOC, SUB.to_dict()])


@FUZZ
@given(st.integers(0, len(VALID_HEADER) - 1), st.sampled_from("AZaz09-_=+/ !\n"))
def test_fuzz_header_characters(position, char):
    value = VALID_HEADER[:position] + char + VALID_HEADER[position + 1 :]
    never_crashes(run_header, value)
