"""Delegation documents: one identity grants another capabilities until a time (§2)."""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from pact_asgi._encoding import (
    SignedDocument,
    b64url_decode,
    b64url_encode,
    canonical,
    format_time,
    loads_strict,
    parse_time,
)
from pact_asgi.capability import MAX_CAPABILITY_LENGTH, Capability, find_cover
from pact_asgi.errors import ErrorCode, LimitExceededError, MalformedError
from pact_asgi.identity import Entity, Identity

__all__ = ["ChainLimits", "Delegation", "new_delegation_id"]

_KEYS = frozenset(
    {
        "type",
        "version",
        "id",
        "from",
        "to",
        "capabilities",
        "constraints",
        "issued_at",
        "signature",
    }
)
_CONSTRAINT_KEYS = frozenset({"expires", "max_chain_depth", "not_before"})
_ID = re.compile(r"d-[0-9a-f]{32}")
_MAX_SAFE_INTEGER = 2**53 - 1  # beyond this, RFC 8785 cannot serialise the number exactly


@dataclass(frozen=True)
class ChainLimits:
    """Hard limits on chains (§3); a provider may lower them, never raise them."""

    max_links: int = 8
    max_capabilities: int = 64
    max_capability_length: int = MAX_CAPABILITY_LENGTH
    max_header_bytes: int = 32 * 1024

    def __post_init__(self) -> None:
        ceiling = ChainLimits.__dataclass_fields__
        for name in ("max_links", "max_capabilities", "max_capability_length", "max_header_bytes"):
            value = getattr(self, name)
            default = ceiling[name].default
            if not isinstance(value, int) or not 1 <= value <= default:  # type: ignore[operator]
                raise ValueError(f"{name} must be an integer from 1 to {default}")


DEFAULT_LIMITS = ChainLimits()


def new_delegation_id() -> str:
    """A fresh delegation id: ``d-`` and 128 random bits in lowercase hex."""
    return "d-" + secrets.token_hex(16)


def _malformed(detail: str) -> MalformedError:
    return MalformedError(ErrorCode.MALFORMED_DOCUMENT, detail)


@dataclass(frozen=True)
class Delegation(SignedDocument):
    """A signed grant of capabilities from ``from_entity`` to ``to_entity``.

    Instances come only from :meth:`issue` or the strict :meth:`from_dict`, so every
    field has been checked; the signature is verified by the chain walk, not here.
    """

    id: str
    from_entity: Entity
    to_entity: Entity
    capabilities: tuple[str, ...]
    granted: tuple[Capability, ...] = field(repr=False)
    expires: datetime
    max_chain_depth: int
    not_before: datetime | None
    issued_at: datetime
    signature: bytes = field(repr=False)
    _wire: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @classmethod
    def issue(
        cls,
        issuer: Identity,
        to: Identity | Entity,
        capabilities: Sequence[str],
        *,
        ttl: timedelta,
        max_chain_depth: int = 1,
        not_before: datetime | None = None,
        parent: Delegation | Sequence[Delegation] | None = None,
        now: datetime | None = None,
    ) -> Delegation:
        """Sign a new delegation from ``issuer`` to ``to``.

        With ``parent`` (the link above, or the whole chain so far) the new link must
        narrow it: the issuer must be the parent's delegate, every capability must be
        covered by one of the parent's, the depth bounds must allow one more link, and
        the expiry is clamped to the parent's. ``max_chain_depth`` is clamped likewise.

        Raises:
            ValueError: the request breaks one of those rules or is otherwise invalid.
        """
        if isinstance(capabilities, str):
            raise TypeError("capabilities is a sequence of strings, not one string")
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        if not capabilities:
            raise ValueError("a delegation grants at least one capability")
        if max_chain_depth < 1:
            raise ValueError("max_chain_depth must be at least 1")
        if len(capabilities) > DEFAULT_LIMITS.max_capabilities:
            raise ValueError(f"at most {DEFAULT_LIMITS.max_capabilities} capabilities per link")
        try:
            granted = tuple(Capability.parse(text) for text in capabilities)
        except MalformedError as exc:  # the caller's mistake, not hostile input
            raise ValueError(f"invalid capability: {exc}") from exc
        moment = (now or datetime.now(timezone.utc)).replace(microsecond=0)
        expires = moment + ttl
        if isinstance(parent, Delegation):
            chain: Sequence[Delegation] = (parent,)
        else:
            chain = parent or ()
        if chain:
            last = chain[-1]
            if not issuer.entity.same_key(last.to_entity):
                raise ValueError("the issuer of a sub-delegation must be the parent's delegate")
            for cap in granted:
                if find_cover(last.granted, cap) is None:
                    raise ValueError(
                        f"cannot grant {cap}: the parent delegation grants only "
                        + ", ".join(last.capabilities)
                    )
            # Rule 5 of §3: every link bounds the links from itself to the end.
            room = min(link.max_chain_depth - (len(chain) - i) for i, link in enumerate(chain))
            if room < 1:
                raise ValueError("the parent chain's max_chain_depth allows no further link")
            max_chain_depth = min(max_chain_depth, room)
            expires = min(expires, min(link.expires for link in chain))
            if expires <= moment:
                raise ValueError("the parent delegation has expired")
        wire: dict[str, Any] = {
            "type": "delegation",
            "version": "1.0",
            "id": new_delegation_id(),
            "from": issuer.entity.to_dict(),
            "to": to.entity.to_dict() if isinstance(to, Identity) else to.to_dict(),
            "capabilities": list(capabilities),
            "constraints": {"expires": format_time(expires), "max_chain_depth": max_chain_depth},
            "issued_at": format_time(moment),
            "signature": "",
        }
        if not_before is not None:
            if not_before.tzinfo is None:
                raise ValueError("not_before must be timezone-aware")
            if not_before >= expires:
                raise ValueError("not_before must come before the expiry")
            wire["constraints"]["not_before"] = format_time(not_before)
        wire["signature"] = b64url_encode(issuer.sign(canonical(wire)))
        return cls._from_owned(wire, DEFAULT_LIMITS)

    @classmethod
    def from_dict(cls, data: object, *, limits: ChainLimits = DEFAULT_LIMITS) -> Delegation:
        """Parse a delegation document strictly (§2): unknown or missing fields are refused.

        Raises:
            MalformedError: wrong shape, types, times, encodings or capability grammar.
            LimitExceededError: too many or too long capabilities.
            IdentityError: an entity's key is invalid or its id does not match.
        """
        return cls._parse(data, limits, owned=False)

    @classmethod
    def _from_owned(cls, data: object, limits: ChainLimits) -> Delegation:
        # ``data`` was just parsed from JSON and nobody else holds it: it becomes _wire.
        return cls._parse(data, limits, owned=True)

    @classmethod
    def _parse(cls, data: object, limits: ChainLimits, *, owned: bool) -> Delegation:
        if not isinstance(data, dict):
            raise _malformed("delegation must be an object")
        if data.keys() != _KEYS:
            raise _malformed("delegation has missing or unknown fields")
        if data["type"] != "delegation" or data["version"] != "1.0":
            raise _malformed("unknown document type or version")
        ident = data["id"]
        if not isinstance(ident, str) or not _ID.fullmatch(ident):
            raise _malformed("delegation id is not d- and 32 hex digits")
        caps = data["capabilities"]
        if not isinstance(caps, list) or not caps:
            raise _malformed("capabilities must be a non-empty list")
        if len(caps) > limits.max_capabilities:
            raise LimitExceededError(
                ErrorCode.CHAIN_TOO_LARGE, "too many capabilities", delegation_id=ident
            )
        for text in caps:
            if not isinstance(text, str):
                raise _malformed("capabilities must be strings")
            if len(text) > limits.max_capability_length:
                raise LimitExceededError(
                    ErrorCode.CHAIN_TOO_LARGE, "capability too long", delegation_id=ident
                )
        constraints = data["constraints"]
        if not isinstance(constraints, dict):
            raise _malformed("constraints must be an object")
        required = {"expires", "max_chain_depth"}
        if not _CONSTRAINT_KEYS.issuperset(constraints) or not required <= constraints.keys():
            raise _malformed("constraints have missing or unknown fields")
        depth = constraints["max_chain_depth"]
        if type(depth) is not int or not 1 <= depth <= _MAX_SAFE_INTEGER:
            raise _malformed("max_chain_depth must be a positive integer")
        not_before = None
        if "not_before" in constraints:
            not_before = parse_time(constraints["not_before"], "not_before")
        signature_text = data["signature"]
        if not isinstance(signature_text, str):
            raise _malformed("signature must be a string")
        signature = b64url_decode(signature_text)
        if len(signature) != 64:
            raise MalformedError(ErrorCode.MALFORMED_ENCODING, "signature is not 64 bytes")
        return cls(
            id=ident,
            from_entity=Entity.from_dict(data["from"]),
            to_entity=Entity.from_dict(data["to"]),
            capabilities=tuple(caps),
            granted=tuple(Capability.parse(text) for text in caps),
            expires=parse_time(constraints["expires"], "expires"),
            max_chain_depth=depth,
            not_before=not_before,
            issued_at=parse_time(data["issued_at"], "issued_at"),
            signature=signature,
            # A caller's dict is copied (once it is known to be a valid document): it
            # may change it later, and the signed form must not change with it.
            _wire=data if owned else copy.deepcopy(data),
        )

    @classmethod
    def from_json(cls, text: str | bytes, *, limits: ChainLimits = DEFAULT_LIMITS) -> Delegation:
        """Parse a delegation from JSON text, refusing duplicate keys and other ambiguity.

        Raises:
            PactError: as :meth:`from_dict`, or ``malformed_json``.
        """
        return cls._from_owned(loads_strict(text), limits)

    def verify_signature(self) -> bool:
        """True when the signature verifies under ``from_entity``'s key."""
        return self.from_entity.verify(self.signature, self.signing_payload())
