"""Revocation documents: an issuer withdraws a delegation before it expires (§7)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pact_asgi._encoding import (
    SignedDocument,
    _check_text,
    b64url_decode,
    b64url_encode,
    canonical,
    format_time,
    loads_strict,
    parse_time,
)
from pact_asgi.delegation import Delegation
from pact_asgi.errors import ErrorCode, MalformedError, RevocationError
from pact_asgi.identity import Entity, Identity

__all__ = ["Revocation", "revocation_map"]

_REQUIRED = frozenset({"type", "delegation_id", "revoked_by", "revoked_at", "signature"})
_MAX_REASON = 1024


def _malformed(detail: str) -> MalformedError:
    return MalformedError(ErrorCode.MALFORMED_DOCUMENT, detail)


@dataclass(frozen=True)
class Revocation(SignedDocument):
    """A signed statement that ``revoked_by`` withdraws delegation ``delegation_id``."""

    delegation_id: str
    revoked_by: str
    revoked_at: datetime
    reason: str
    signature: bytes = field(repr=False)
    _wire: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @classmethod
    def issue(
        cls,
        revoker: Identity,
        delegation_id: str,
        reason: str = "",
        *,
        now: datetime | None = None,
    ) -> Revocation:
        """Sign a revocation of ``delegation_id`` by ``revoker``."""
        if not isinstance(delegation_id, str) or not delegation_id:
            raise ValueError("delegation_id must be a non-empty string")
        if len(reason) > _MAX_REASON:
            raise ValueError(f"reason is longer than {_MAX_REASON} characters")
        wire: dict[str, Any] = {
            "type": "revocation",
            "delegation_id": delegation_id,
            "revoked_by": revoker.id,
            "revoked_at": format_time(now or datetime.now(timezone.utc)),
        }
        if reason:
            wire["reason"] = reason
        wire["signature"] = ""
        wire["signature"] = b64url_encode(revoker.sign(canonical(wire)))
        return cls.from_dict(wire)

    @classmethod
    def from_dict(cls, data: object) -> Revocation:
        """Parse a revocation document strictly.

        Raises:
            MalformedError: missing or unknown fields, wrong types, bad time or encoding.
        """
        if not isinstance(data, dict):
            raise _malformed("revocation must be an object")
        keys = data.keys()
        if not (keys >= _REQUIRED and keys <= _REQUIRED | {"reason"}):
            raise _malformed("revocation has missing or unknown fields")
        if data["type"] != "revocation":
            raise _malformed("not a revocation document")
        for name in ("delegation_id", "revoked_by", "signature"):
            if not isinstance(data[name], str) or not data[name]:
                raise _malformed(f"{name} must be a non-empty string")
        reason = data.get("reason", "")
        if "reason" in data and (not isinstance(reason, str) or not reason):
            raise _malformed("reason must be a non-empty string when present")
        if len(reason) > _MAX_REASON:
            raise _malformed("reason is too long")
        for text in (data["delegation_id"], data["revoked_by"], reason):
            _check_text(text)  # RFC 8785 cannot serialise a lone surrogate
        signature = b64url_decode(data["signature"])
        if len(signature) != 64:
            raise MalformedError(ErrorCode.MALFORMED_ENCODING, "signature is not 64 bytes")
        return cls(
            delegation_id=data["delegation_id"],
            revoked_by=data["revoked_by"],
            revoked_at=parse_time(data["revoked_at"], "revoked_at"),
            reason=reason,
            signature=signature,
            _wire=copy.deepcopy(data),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Revocation:
        """Parse a revocation from JSON text.

        Raises:
            PactError: as :meth:`from_dict`, or ``malformed_json``.
        """
        return cls.from_dict(loads_strict(text))

    def verify(self, revoker: Entity) -> None:
        """Check that ``revoker`` is ``revoked_by`` and signed this document.

        Raises:
            RevocationError: ``revocation_invalid``.
        """
        if revoker.id != self.revoked_by:
            raise RevocationError(
                ErrorCode.REVOCATION_INVALID,
                "revocation names another revoker",
                key_id=self.revoked_by,
                delegation_id=self.delegation_id,
            )
        if not revoker.verify(self.signature, self.signing_payload()):
            raise RevocationError(
                ErrorCode.REVOCATION_INVALID,
                "revocation signature does not verify",
                key_id=self.revoked_by,
                delegation_id=self.delegation_id,
            )

    def verify_for_chain(self, chain: Sequence[Delegation]) -> Entity:
        """Check this revocation against a chain holding the revoked link (§7).

        It counts when signed by the issuer of the revoked link or of any link above it.
        Returns the revoker's entity, taken from the chain.

        Raises:
            RevocationError: ``revocation_unauthorized`` when the link is not in the chain
                or the revoker is not entitled; ``revocation_invalid`` for a bad signature.
        """
        for j, link in enumerate(chain):
            if link.id == self.delegation_id:
                for above in chain[: j + 1]:
                    if above.from_entity.id == self.revoked_by:
                        self.verify(above.from_entity)
                        return above.from_entity
                break
        raise RevocationError(
            ErrorCode.REVOCATION_UNAUTHORIZED,
            "revoker did not issue the revoked link or any link above it",
            key_id=self.revoked_by,
            delegation_id=self.delegation_id,
        )


def revocation_map(revocations: Iterable[Revocation]) -> dict[str, frozenset[str]]:
    """Group verified revocations as ``verify_chain(revoked=...)`` expects them."""
    grouped: dict[str, set[str]] = {}
    for revocation in revocations:
        grouped.setdefault(revocation.delegation_id, set()).add(revocation.revoked_by)
    return {ident: frozenset(ids) for ident, ids in grouped.items()}
