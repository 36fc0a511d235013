"""Content-Digest (RFC 9530): the body digest that a Pact request signature covers.

The field is a Structured Field Dictionary (RFC 9651 §3.2) from algorithm to Byte
Sequence. This profile knows ``sha-256`` and ``sha-512``; members of other algorithms
are ignored (RFC 9530 §2 lets a recipient ignore any digest), but a field holding only
such members is refused, and every known member must match: a good member never
excuses a bad one, or an attacker could pair a wrong ``sha-512`` with a right
``sha-256`` for a recipient that checks only the former.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import http_sf

from pact_asgi.errors import DigestError, ErrorCode, MalformedError

__all__ = ["DIGEST_ALGORITHMS", "ContentDigest", "content_digest", "verify_content_digest"]

_HASHES: dict[str, Callable[[bytes], Any]] = {
    "sha-256": hashlib.sha256,
    "sha-512": hashlib.sha512,
}
_SIZES = {"sha-256": 32, "sha-512": 64}
DIGEST_ALGORITHMS: tuple[str, ...] = tuple(_HASHES)
"""The algorithms this profile checks (RFC 9530 §5, both "Active" in the IANA registry)."""


# Fast paths for the shapes Pact signers send, one member each: ``k=:base64:`` and
# ``k=("a" "b");p=1;q="s"`` (no escapes, single spaces, no item parameters). Whatever
# else arrives goes to http-sf, and a property test holds the two to the same answers.
_KEY = r"[a-z*][a-z0-9_.*-]*"
_PLAIN_STRING = r'"[\x20\x21\x23-\x5b\x5d-\x7e]*"'
_BYTES_MEMBER = re.compile(rf"({_KEY})=:([A-Za-z0-9+/]+={{0,2}}):")
_LIST_MEMBER = re.compile(
    rf"({_KEY})=\(((?:{_PLAIN_STRING}(?: {_PLAIN_STRING})*)?)\)"
    rf"((?:;{_KEY}=(?:-?[0-9]{{1,15}}|{_PLAIN_STRING}))*)"
)
_LIST_ITEM = re.compile(r'"([^"]*)"')
_PARAMETER = re.compile(rf';({_KEY})=(?:(-?[0-9]{{1,15}})|"([^"]*)")')

Members = dict[str, tuple[Any, dict[str, Any]]]
"""A parsed Structured Field Dictionary: name to (value, parameters), as http-sf gives."""


def _parse_dictionary(value: str, on_duplicate: Callable[[str, str], None]) -> Members:
    """Parse a Structured Field Dictionary (RFC 9651 §4.2.2), ``value`` already trimmed.

    Raises:
        ValueError: not a valid dictionary (``StructuredFieldError``, or non-ASCII text).
        IndexError: kept for safety should http-sf ever read past the end.
    """
    match = _BYTES_MEMBER.fullmatch(value)
    if match is not None:
        unpadded = match[2].rstrip("=")
        try:
            decoded = base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)
        except binascii.Error:
            pass  # let http-sf refuse it with its own error
        else:
            return {match[1]: (decoded, {})}
    match = _LIST_MEMBER.fullmatch(value)
    if match is not None:
        params: dict[str, Any] = {}
        for key, number, text in _PARAMETER.findall(match[3]):
            if key in params:
                on_duplicate(key, "parameter")
            params[key] = int(number) if number else text
        items: list[tuple[str, dict[str, Any]]] = [(i, {}) for i in _LIST_ITEM.findall(match[2])]
        return {match[1]: (items, params)}
    parsed: Any = http_sf.parse(
        value.encode("ascii"), tltype="dictionary", on_duplicate_key=on_duplicate
    )
    result: Members = parsed
    return result


def _reject_duplicate(key: str, context: str) -> None:
    # RFC 9651 lets the last duplicate win; two digests under one name could be read one
    # way by an intermediary and another way here, so a duplicate is malformed.
    raise MalformedError(ErrorCode.MALFORMED_ENCODING, f"duplicate {context} key in field")


@dataclass(frozen=True)
class ContentDigest:
    """The known members of a parsed ``Content-Digest`` field, in field order."""

    digests: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, value: str | None) -> ContentDigest:
        """Parse a ``Content-Digest`` field value; ``None`` means the field is absent.

        Raises:
            DigestError: ``digest_missing`` (absent or empty), ``digest_unsupported`` (no
                sha-256 or sha-512 member), ``digest_mismatch`` (a known member of the
                wrong length, which no body can match).
            MalformedError: ``malformed_encoding`` for a value that is not a dictionary
                of byte sequences.
        """
        if value is None:
            raise DigestError(ErrorCode.DIGEST_MISSING, "Content-Digest is missing")
        try:
            parsed = _parse_dictionary(value.strip(" \t"), _reject_duplicate)
        except (ValueError, IndexError) as exc:  # StructuredFieldError, UnicodeEncodeError
            raise MalformedError(
                ErrorCode.MALFORMED_ENCODING, "Content-Digest is not a Structured Field dictionary"
            ) from exc
        if not parsed:
            # An empty dictionary is the same as no field at all (RFC 9651 §3.2).
            raise DigestError(ErrorCode.DIGEST_MISSING, "Content-Digest is empty")
        known: list[tuple[str, bytes]] = []
        for algorithm, member in parsed.items():
            if algorithm not in _HASHES:
                continue
            digest = member[0]
            if type(digest) is not bytes:
                raise MalformedError(
                    ErrorCode.MALFORMED_ENCODING, f"{algorithm} digest is not a byte sequence"
                )
            if len(digest) != _SIZES[algorithm]:
                raise DigestError(
                    ErrorCode.DIGEST_MISMATCH, f"{algorithm} digest has a bad length"
                )
            known.append((algorithm, digest))
        if not known:
            raise DigestError(
                ErrorCode.DIGEST_UNSUPPORTED, "Content-Digest has no sha-256 or sha-512 member"
            )
        return cls(digests=tuple(known))

    def check(self, body: bytes) -> None:
        """Check every known member against ``body`` (the content as sent, before decoding).

        Raises:
            DigestError: ``digest_mismatch`` when any member differs.
        """
        for algorithm, expected in self.digests:
            actual = _HASHES[algorithm](body).digest()
            if not hmac.compare_digest(expected, actual):
                raise DigestError(ErrorCode.DIGEST_MISMATCH, f"{algorithm} digest does not match")


def content_digest(body: bytes, algorithm: str = "sha-256") -> str:
    """The ``Content-Digest`` value for ``body``, e.g. ``sha-256=:47DEQ...=:``."""
    if algorithm not in _HASHES:
        raise ValueError(f"algorithm must be one of {', '.join(DIGEST_ALGORITHMS)}")
    encoded = base64.b64encode(_HASHES[algorithm](body).digest()).decode("ascii")
    return f"{algorithm}=:{encoded}:"


def verify_content_digest(value: str | None, body: bytes) -> ContentDigest:
    """Parse a ``Content-Digest`` value and check it against ``body``.

    Raises:
        DigestError: missing, unsupported or mismatching digest.
        MalformedError: a value that is not a dictionary of byte sequences.
    """
    parsed = ContentDigest.parse(value)
    parsed.check(body)
    return parsed
