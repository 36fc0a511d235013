"""Wire encodings shared by the documents: base64url, RFC 3339 times, strict JSON."""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from datetime import datetime, timezone
from typing import Any

import rfc8785

from pact_asgi.errors import ErrorCode, MalformedError

_B64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")
# RFC 3339 in UTC with a "Z" (or +00:00) designator; fractions allowed, a zone required.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})"
)
MAX_JSON_DEPTH = 16


def b64url_encode(data: bytes) -> str:
    """Encode bytes as base64url without padding (RFC 4648 §5)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; anything else is malformed.

    Raises:
        MalformedError: ``malformed_encoding``.
    """
    if not _B64URL.fullmatch(text) or len(text.rstrip("=")) % 4 == 1:
        raise MalformedError(ErrorCode.MALFORMED_ENCODING, "not base64url")
    stripped = text.rstrip("=")
    if "=" in text and len(text) % 4:
        raise MalformedError(ErrorCode.MALFORMED_ENCODING, "bad base64url padding")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedError(ErrorCode.MALFORMED_ENCODING, "not base64url") from exc


def format_time(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC with whole seconds, e.g. ``...T17:00:00Z``."""
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: object, field: str) -> datetime:
    """Parse an RFC 3339 time that carries a zone; the result is aware, in UTC.

    Raises:
        MalformedError: ``malformed_time`` for anything else, a naive time included.
    """
    if not isinstance(text, str) or not _RFC3339.fullmatch(text):
        raise MalformedError(ErrorCode.MALFORMED_TIME, f"{field} is not an RFC 3339 time")
    normal = text.upper().replace("Z", "+00:00")
    try:
        # OverflowError: an offset that moves 0001-01-01 or 9999-12-31 out of range.
        moment = datetime.fromisoformat(normal).astimezone(timezone.utc)
    except (ValueError, OverflowError) as exc:
        raise MalformedError(ErrorCode.MALFORMED_TIME, f"{field} is not a valid time") from exc
    return moment


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedError(ErrorCode.MALFORMED_JSON, "duplicate key in JSON object")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise MalformedError(ErrorCode.MALFORMED_JSON, f"non-standard JSON constant {name}")


def _check_tree(value: Any, depth: int = 0) -> None:
    # Depth is bounded so hostile nesting costs little; strings are checked for lone
    # surrogates, which no UTF-8 text can carry and which canonicalization would reject.
    if depth > MAX_JSON_DEPTH:
        raise MalformedError(ErrorCode.MALFORMED_JSON, "JSON nested too deeply")
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_tree(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_tree(item, depth + 1)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedError(ErrorCode.MALFORMED_JSON, "lone surrogate in JSON string") from exc


def loads_strict(raw: str | bytes) -> Any:
    """Parse JSON refusing duplicate keys, NaN/Infinity, lone surrogates and deep nesting.

    Raises:
        MalformedError: ``malformed_json``.
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedError(ErrorCode.MALFORMED_JSON, "JSON is not UTF-8") from exc
    try:
        value = json.loads(
            raw, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except (ValueError, RecursionError) as exc:
        raise MalformedError(ErrorCode.MALFORMED_JSON, "not valid JSON") from exc
    _check_tree(value)
    return value


def canonical(value: Any) -> bytes:
    """RFC 8785 (JCS) serialisation, the bytes that Pact documents sign."""
    return rfc8785.dumps(value)


class SignedDocument:
    """The wire form shared by delegations and revocations (kept as parsed, in ``_wire``)."""

    __slots__ = ()
    _wire: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The wire document, exactly as issued or parsed."""
        return copy.deepcopy(self._wire)

    def to_json(self, *, indent: int | None = None) -> str:
        """The wire document as JSON text."""
        separators = (",", ": ") if indent else (",", ":")
        return json.dumps(self._wire, indent=indent, separators=separators)

    def signing_payload(self) -> bytes:
        """The RFC 8785 bytes that were signed: the document with ``signature`` ``""``."""
        return canonical({**self._wire, "signature": ""})
