"""The one exception tree of pact_asgi.

Every failure of verification raises a subclass of :class:`PactError`. Each
carries a stable machine-readable ``code`` (an :class:`ErrorCode`), the HTTP
``status`` a provider answers with, and operator context (link index, key id,
delegation id) that goes to logs, never to clients::

    PactError                      any verification failure
    ├── MalformedError       401   bytes, base64, JSON, document shape, times
    ├── LimitExceededError   401   chain too long, too many or too long capabilities
    ├── IdentityError        401   bad or small-order key, id not matching the key
    ├── DelegationError      401   a link's signature, time window, depth, narrowing
    ├── ChainError           401   empty or broken chain
    ├── TrustError           401   root authority not accepted
    ├── RevokedError         401   a link was revoked
    ├── RevocationError      401   a revocation document that does not verify
    ├── SignatureError       401   the RFC 9421 request signature profile
    ├── DigestError          401   Content-Digest missing, unsupported or wrong
    ├── ReplayError          401   nonce seen before
    ├── StoreUnavailableError 503  a store or trust resolver full or failing (fail closed)
    ├── AuthorizationError   403   valid principal lacking the route's capability
    └── BodyTooLargeError    413   body beyond the configured limit

Misuse by the developer (bad configuration, a missing private key) raises
``ValueError`` or ``TypeError`` instead: only input an attacker controls
produces a ``PactError``.
"""

from __future__ import annotations

from enum import Enum
from typing import ClassVar

__all__ = [
    "AuthorizationError",
    "BodyTooLargeError",
    "ChainError",
    "DelegationError",
    "DigestError",
    "ErrorCode",
    "IdentityError",
    "LimitExceededError",
    "MalformedError",
    "PactError",
    "ReplayError",
    "RevocationError",
    "RevokedError",
    "SignatureError",
    "StoreUnavailableError",
    "TrustError",
]


class ErrorCode(str, Enum):
    """Stable, machine-readable error codes; their values never change."""

    # Decoding (MalformedError)
    MALFORMED_ENCODING = "malformed_encoding"
    MALFORMED_JSON = "malformed_json"
    MALFORMED_DOCUMENT = "malformed_document"
    MALFORMED_TIME = "malformed_time"
    MALFORMED_CAPABILITY = "malformed_capability"
    # Size limits (LimitExceededError)
    CHAIN_TOO_LARGE = "chain_too_large"
    # Keys and ids (IdentityError)
    INVALID_PUBLIC_KEY = "invalid_public_key"
    IDENTITY_MISMATCH = "identity_mismatch"
    # One link (DelegationError)
    DELEGATION_SIGNATURE_INVALID = "delegation_signature_invalid"
    DELEGATION_EXPIRED = "delegation_expired"
    DELEGATION_NOT_YET_VALID = "delegation_not_yet_valid"
    CHAIN_TOO_DEEP = "chain_too_deep"
    CAPABILITY_ESCALATION = "capability_escalation"
    # The chain as a whole (ChainError)
    CHAIN_EMPTY = "chain_empty"
    CHAIN_BROKEN = "chain_broken"
    # Policy and state
    UNTRUSTED_ROOT = "untrusted_root"
    DELEGATION_REVOKED = "delegation_revoked"
    REVOCATION_INVALID = "revocation_invalid"
    REVOCATION_UNAUTHORIZED = "revocation_unauthorized"
    # Request signature, RFC 9421 profile (SignatureError)
    SIGNATURE_MISSING = "signature_missing"
    SIGNATURE_MALFORMED = "signature_malformed"
    SIGNATURE_AMBIGUOUS = "signature_ambiguous"
    SIGNATURE_COMPONENTS = "signature_components"
    SIGNATURE_ALGORITHM = "signature_algorithm"
    SIGNATURE_EXPIRED = "signature_expired"
    SIGNATURE_FUTURE = "signature_future"
    NONCE_INVALID = "nonce_invalid"
    KEYID_MISMATCH = "keyid_mismatch"
    AUTHORITY_MISMATCH = "authority_mismatch"
    SIGNATURE_INVALID = "signature_invalid"
    # Body digest, RFC 9530 (DigestError)
    DIGEST_MISSING = "digest_missing"
    DIGEST_UNSUPPORTED = "digest_unsupported"
    DIGEST_MISMATCH = "digest_mismatch"
    # Replay (ReplayError, StoreUnavailableError)
    REPLAYED = "replayed"
    REPLAY_STORE_UNAVAILABLE = "replay_store_unavailable"
    TRUST_UNAVAILABLE = "trust_unavailable"
    REVOCATION_STORE_UNAVAILABLE = "revocation_store_unavailable"
    # Authorization (AuthorizationError)
    CAPABILITY_DENIED = "capability_denied"
    ROUTE_UNDECLARED = "route_undeclared"
    # Body (BodyTooLargeError)
    BODY_TOO_LARGE = "body_too_large"


class PactError(Exception):
    """Root of every verification failure.

    ``str(error)`` is the operator-facing detail: log it, never send it.
    """

    status: ClassVar[int] = 401
    title: ClassVar[str] = "Unauthorized"
    codes: ClassVar[frozenset[ErrorCode]] = frozenset()

    def __init__(
        self,
        code: ErrorCode,
        detail: str,
        *,
        link: int | None = None,
        key_id: str | None = None,
        delegation_id: str | None = None,
    ) -> None:
        if self.codes and code not in self.codes:
            raise TypeError(f"{type(self).__name__} cannot carry code {code.value!r}")
        super().__init__(detail)
        self.error_code = code
        self.detail = detail
        self.link = link
        self.key_id = key_id
        self.delegation_id = delegation_id

    @property
    def code(self) -> str:
        """The stable machine-readable code, e.g. ``"delegation_expired"``."""
        return self.error_code.value

    def context(self) -> dict[str, str | int]:
        """Operator context for a log line: never keys, signatures or headers."""
        found: dict[str, str | int | None] = {
            "link": self.link,
            "key_id": self.key_id,
            "delegation_id": self.delegation_id,
        }
        return {k: v for k, v in found.items() if v is not None}


def _codes(*codes: ErrorCode) -> frozenset[ErrorCode]:
    return frozenset(codes)


class MalformedError(PactError):
    """Input that cannot be decoded: encoding, JSON, document shape, times, grammar."""

    codes = _codes(
        ErrorCode.MALFORMED_ENCODING,
        ErrorCode.MALFORMED_JSON,
        ErrorCode.MALFORMED_DOCUMENT,
        ErrorCode.MALFORMED_TIME,
        ErrorCode.MALFORMED_CAPABILITY,
    )


class LimitExceededError(PactError):
    """Input beyond a hard size or count limit, refused before it is parsed further."""

    codes = _codes(ErrorCode.CHAIN_TOO_LARGE)


class IdentityError(PactError):
    """A public key that is not a usable Ed25519 key, or an id that does not match it."""

    codes = _codes(ErrorCode.INVALID_PUBLIC_KEY, ErrorCode.IDENTITY_MISMATCH)


class DelegationError(PactError):
    """One link of a chain fails: signature, time window, depth bound or narrowing."""

    codes = _codes(
        ErrorCode.DELEGATION_SIGNATURE_INVALID,
        ErrorCode.DELEGATION_EXPIRED,
        ErrorCode.DELEGATION_NOT_YET_VALID,
        ErrorCode.CHAIN_TOO_DEEP,
        ErrorCode.CAPABILITY_ESCALATION,
    )


class ChainError(PactError):
    """The chain as a whole is empty or its links do not connect."""

    codes = _codes(ErrorCode.CHAIN_EMPTY, ErrorCode.CHAIN_BROKEN)


class TrustError(PactError):
    """The chain's root authority is not accepted by the provider's trust policy."""

    codes = _codes(ErrorCode.UNTRUSTED_ROOT)


class RevokedError(PactError):
    """A link of the chain has been revoked by an entity entitled to revoke it."""

    codes = _codes(ErrorCode.DELEGATION_REVOKED)


class RevocationError(PactError):
    """A revocation document whose signature or revoker does not hold up."""

    codes = _codes(ErrorCode.REVOCATION_INVALID, ErrorCode.REVOCATION_UNAUTHORIZED)


class SignatureError(PactError):
    """The request's RFC 9421 signature is missing, malformed or does not verify."""

    codes = _codes(
        ErrorCode.SIGNATURE_MISSING,
        ErrorCode.SIGNATURE_MALFORMED,
        ErrorCode.SIGNATURE_AMBIGUOUS,
        ErrorCode.SIGNATURE_COMPONENTS,
        ErrorCode.SIGNATURE_ALGORITHM,
        ErrorCode.SIGNATURE_EXPIRED,
        ErrorCode.SIGNATURE_FUTURE,
        ErrorCode.NONCE_INVALID,
        ErrorCode.KEYID_MISMATCH,
        ErrorCode.AUTHORITY_MISMATCH,
        ErrorCode.SIGNATURE_INVALID,
    )


class DigestError(PactError):
    """The RFC 9530 Content-Digest is missing, unsupported or does not match the body."""

    codes = _codes(
        ErrorCode.DIGEST_MISSING, ErrorCode.DIGEST_UNSUPPORTED, ErrorCode.DIGEST_MISMATCH
    )


class ReplayError(PactError):
    """The ``(keyid, nonce)`` pair was already accepted while still fresh."""

    codes = _codes(ErrorCode.REPLAYED)


class StoreUnavailableError(PactError):
    """A replay or revocation store, or a trust resolver, failed: refused (fail closed)."""

    status = 503
    title = "Service Unavailable"
    codes = _codes(
        ErrorCode.REPLAY_STORE_UNAVAILABLE,
        ErrorCode.REVOCATION_STORE_UNAVAILABLE,
        ErrorCode.TRUST_UNAVAILABLE,
    )


class AuthorizationError(PactError):
    """A verified principal lacks the capability the route requires."""

    status = 403
    title = "Forbidden"
    codes = _codes(ErrorCode.CAPABILITY_DENIED, ErrorCode.ROUTE_UNDECLARED)


class BodyTooLargeError(PactError):
    """The request body exceeds the provider's limit."""

    status = 413
    title = "Content Too Large"
    codes = _codes(ErrorCode.BODY_TOO_LARGE)
