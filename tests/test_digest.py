"""Content-Digest (RFC 9530): the standard's examples, every rejection code, and fuzzing."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

import http_sf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pact_asgi.digest import (
    DIGEST_ALGORITHMS,
    ContentDigest,
    _parse_dictionary,
    content_digest,
    verify_content_digest,
)
from pact_asgi.errors import DigestError, ErrorCode, MalformedError, PactError

VECTORS = json.loads(
    (Path(__file__).parent / "vectors" / "rfc9530-content-digest.json").read_text("utf-8")
)["cases"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.mark.parametrize("case", VECTORS, ids=[case["name"] for case in VECTORS])
def test_rfc9530_examples(case: dict[str, str]) -> None:
    body = case["body"].encode("utf-8")
    if case["expect"] == "valid":
        parsed = verify_content_digest(case["field"], body)
        assert parsed.digests
    else:
        with pytest.raises(DigestError) as caught:
            verify_content_digest(case["field"], body)
        assert caught.value.code == case["expect"]


@pytest.mark.parametrize(
    "case",
    [case for case in VECTORS if case["expect"] == "valid" and "," not in case["field"]],
    ids=lambda case: case["name"],
)
def test_content_digest_reproduces_the_examples(case: dict[str, str]) -> None:
    algorithm = case["field"].split("=", 1)[0]
    assert content_digest(case["body"].encode("utf-8"), algorithm) == case["field"]


def test_empty_body_has_a_digest_too() -> None:
    # §4: Content-Digest is always present and covered, also for an empty body.
    assert content_digest(b"") == "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"


def test_content_digest_refuses_unknown_algorithms() -> None:
    with pytest.raises(ValueError, match="sha-256"):
        content_digest(b"x", "md5")


def test_both_algorithms_are_checked() -> None:
    body = b'{"amount": 100}'
    field = f"{content_digest(body, 'sha-512')}, {content_digest(body)}"
    parsed = verify_content_digest(field, body)
    assert [name for name, _ in parsed.digests] == ["sha-512", "sha-256"]


def test_unknown_members_beside_a_known_one_are_ignored() -> None:
    body = b"hello"
    field = f"md5=:XUFAKrxLKna5cZ2REBfFkg==:, unixsum=3, {content_digest(body)}"
    assert [name for name, _ in verify_content_digest(field, body).digests] == ["sha-256"]


def test_members_may_carry_parameters() -> None:
    body = b"hello"
    assert verify_content_digest(content_digest(body) + ";note=1", body).digests


def test_missing_field_is_digest_missing() -> None:
    with pytest.raises(DigestError) as caught:
        ContentDigest.parse(None)
    assert caught.value.code == ErrorCode.DIGEST_MISSING.value


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_field_is_digest_missing(value: str) -> None:
    # An empty dictionary is the same as an absent field (RFC 9651 §3.2).
    with pytest.raises(DigestError) as caught:
        ContentDigest.parse(value)
    assert caught.value.code == ErrorCode.DIGEST_MISSING.value


@pytest.mark.parametrize(
    "value",
    [
        "md5=:XUFAKrxLKna5cZ2REBfFkg==:",
        "sha=:qvTGHdzF6KLavt4PO0gs2a6pQ00=:",
        "sha-384=:" + b64(hashlib.sha384(b"").digest()) + ":",
        "unixsum=3",
    ],
)
def test_only_unknown_algorithms_is_digest_unsupported(value: str) -> None:
    with pytest.raises(DigestError) as caught:
        ContentDigest.parse(value)
    assert caught.value.code == ErrorCode.DIGEST_UNSUPPORTED.value


def test_wrong_body_is_digest_mismatch() -> None:
    with pytest.raises(DigestError) as caught:
        verify_content_digest(content_digest(b"signed body"), b"another body")
    assert caught.value.code == ErrorCode.DIGEST_MISMATCH.value


@pytest.mark.parametrize("order", ["good-first", "bad-first"])
def test_a_good_member_does_not_excuse_a_bad_one(order: str) -> None:
    body = b"the body"
    good = content_digest(body, "sha-256")
    bad = content_digest(b"another body", "sha-512")
    field = f"{good}, {bad}" if order == "good-first" else f"{bad}, {good}"
    with pytest.raises(DigestError) as caught:
        verify_content_digest(field, body)
    assert caught.value.code == ErrorCode.DIGEST_MISMATCH.value


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_known_member_of_wrong_length_is_digest_mismatch(size: int) -> None:
    with pytest.raises(DigestError) as caught:
        ContentDigest.parse(f"sha-256=:{b64(bytes(size))}:")
    assert caught.value.code == ErrorCode.DIGEST_MISMATCH.value


@pytest.mark.parametrize(
    "value",
    [
        "sha-256=1",  # an integer, not a byte sequence
        'sha-256="RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg="',  # a string
        "sha-256=(:AAAA:)",  # an inner list
        "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=",  # no closing colon
        "SHA-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:",  # keys are lower case
        "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:,",  # trailing comma
        "sha-256=:é:",  # not ASCII
        # A duplicate key: RFC 9651 keeps the last, which another reader may not.
        "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:, "
        "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:",
    ],
)
def test_malformed_field_is_malformed_encoding(value: str) -> None:
    with pytest.raises(MalformedError) as caught:
        ContentDigest.parse(value)
    assert caught.value.code == ErrorCode.MALFORMED_ENCODING.value


def test_check_is_over_the_bytes_as_sent() -> None:
    # RFC 9530 §2: the digest is over the content as sent, before any decoding.
    body = "café".encode()
    parsed = ContentDigest.parse(content_digest(body))
    parsed.check(body)
    with pytest.raises(DigestError):
        parsed.check("café".encode("latin-1"))


def test_supported_algorithms_are_the_profiles() -> None:
    assert DIGEST_ALGORITHMS == ("sha-256", "sha-512")


# --- The fast path of the dictionary parser must answer exactly as http-sf does --------

_KEYS = st.from_regex(r"[a-z*][a-z0-9_.*-]{0,6}", fullmatch=True)
_STRINGS = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
_BARE = st.one_of(
    st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1),
    _STRINGS,
    st.binary(max_size=40),
    st.booleans(),
)
_PARAMS = st.dictionaries(_KEYS, _BARE, max_size=4)
_MEMBER = st.one_of(
    st.tuples(_BARE, _PARAMS),
    st.tuples(st.lists(st.tuples(_STRINGS, _PARAMS), max_size=6), _PARAMS),
)
_PLAIN = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"\\'),
    max_size=12,
)
# The shapes the fast path takes: one byte sequence, or one inner list of strings.
_FAST_SHAPES = st.one_of(
    st.dictionaries(
        _KEYS, st.tuples(st.binary(min_size=1, max_size=70), st.just({})), min_size=1, max_size=1
    ),
    st.dictionaries(
        _KEYS,
        st.tuples(
            st.lists(st.tuples(_PLAIN, st.just({})), max_size=7),
            st.dictionaries(_KEYS, st.one_of(st.integers(-(10**15) + 1, 10**15 - 1), _PLAIN)),
        ),
        min_size=1,
        max_size=1,
    ),
)
_DICTIONARIES = st.one_of(_FAST_SHAPES, st.dictionaries(_KEYS, _MEMBER, min_size=1, max_size=3))


def _outcome(parse: Any, text: str) -> object:
    try:
        return ("ok", parse(text))
    except (ValueError, IndexError):
        return "error"
    except PactError as exc:
        return ("pact", exc.code)


def _duplicate(key: str, context: str) -> None:
    raise MalformedError(ErrorCode.MALFORMED_ENCODING, f"duplicate {context} {key}")


def _reference(text: str) -> object:
    return http_sf.parse(text.encode("ascii"), tltype="dictionary", on_duplicate_key=_duplicate)


def _ours(text: str) -> object:
    return _parse_dictionary(text, _duplicate)


@settings(max_examples=400, deadline=None)
@given(_DICTIONARIES)
def test_fast_path_agrees_with_http_sf_on_serialised_dictionaries(value: Any) -> None:
    text = http_sf.ser(value)
    assert _outcome(_ours, text) == _outcome(_reference, text)


_NOISE = st.sampled_from(list('abc=;,()": \\-*.0123456789+/AZé\t'))


@settings(max_examples=600, deadline=None)
@given(_DICTIONARIES, st.data())
def test_fast_path_agrees_with_http_sf_on_mutated_input(value: Any, data: st.DataObject) -> None:
    text = list(http_sf.ser(value))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        where = data.draw(st.integers(min_value=0, max_value=len(text)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert" or not text:
            text.insert(where, data.draw(_NOISE))
        elif action == "delete":
            del text[min(where, len(text) - 1)]
        else:
            text[min(where, len(text) - 1)] = data.draw(_NOISE)
    mutated = "".join(text)
    assert _outcome(_ours, mutated) == _outcome(_reference, mutated)


@pytest.mark.parametrize(
    "text",
    [
        "pact=:AAAA:",
        "pact=:AA:",  # unpadded: RFC 9651 §4.2.7 says parsers should accept it
        "pact=:A:",  # an impossible length
        "pact=:AA=A:",
        "pact=()",
        'pact=("@method" "x");created=007;keyid="k";n=-0',
        'pact=("a"  "b")',  # two spaces: http-sf's business
        'pact=("a";p=1)',
        'pact=("a");p=1;p=2',
        'pact=("a");p=1.5',
        'pact=("a");p=1234567890123456',  # sixteen digits
    ],
)
def test_fast_path_edge_cases(text: str) -> None:
    assert _outcome(_ours, text) == _outcome(_reference, text)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80))
def test_any_text_is_parsed_or_refused_with_a_pact_error(text: str) -> None:
    with contextlib.suppress(PactError):
        ContentDigest.parse(text)
