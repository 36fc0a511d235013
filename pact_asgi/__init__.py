"""pact_asgi: verify AI agents' delegated, signed requests in ASGI apps.

A provider wraps its app in ``PactMiddleware``; an agent signs with ``PactAuth``;
both stand on the documents of the Pact protocol defined in this package.
"""

from __future__ import annotations

from pact_asgi.capability import Capability, CapabilityTemplate, find_cover
from pact_asgi.chain import (
    ChainLimits,
    VerifiedChain,
    averify_chain,
    check_current,
    decode_chain,
    encode_chain,
    verify_chain,
    verify_links,
)
from pact_asgi.delegation import Delegation
from pact_asgi.digest import content_digest
from pact_asgi.errors import (
    AuthorizationError,
    BodyTooLargeError,
    ChainError,
    DelegationError,
    DigestError,
    ErrorCode,
    IdentityError,
    LimitExceededError,
    MalformedError,
    PactError,
    ReplayError,
    RevocationError,
    RevokedError,
    SignatureError,
    StoreUnavailableError,
    TrustError,
)
from pact_asgi.identity import Entity, Identity, derive_id, test_seed
from pact_asgi.middleware import ANY_AUTHORITY, PactMiddleware
from pact_asgi.principal import Evidence, PactUser, Principal, get_principal
from pact_asgi.revocation import Revocation, revocation_map
from pact_asgi.routes import requires_capability
from pact_asgi.session import Session, SessionClosedError
from pact_asgi.signature import PendingRequest, RequestVerifier, VerifiedRequest, sign_request
from pact_asgi.stores import (
    MemoryReplayCache,
    MemoryRevocationStore,
    RedisReplayCache,
    RedisRevocationStore,
    ReplayCache,
    RevocationStore,
)
from pact_asgi.trust import AnyRoot, TrustedRoots, TrustPolicy, TrustResolver

__version__ = "0.1.0"

_CLIENT_NAMES = frozenset({"PactAuth", "PactRedirectError"})


def __getattr__(name: str) -> object:
    # The httpx signer is an optional extra ("client"); import it only when asked for.
    if name in _CLIENT_NAMES:
        from pact_asgi import client

        return getattr(client, name)
    raise AttributeError(f"module 'pact_asgi' has no attribute {name!r}")


__all__ = [
    "ANY_AUTHORITY",
    "AnyRoot",
    "AuthorizationError",
    "BodyTooLargeError",
    "Capability",
    "CapabilityTemplate",
    "ChainError",
    "ChainLimits",
    "Delegation",
    "DelegationError",
    "DigestError",
    "Entity",
    "ErrorCode",
    "Evidence",
    "Identity",
    "IdentityError",
    "LimitExceededError",
    "MalformedError",
    "MemoryReplayCache",
    "MemoryRevocationStore",
    "PactAuth",
    "PactError",
    "PactMiddleware",
    "PactRedirectError",
    "PactUser",
    "PendingRequest",
    "Principal",
    "RedisReplayCache",
    "RedisRevocationStore",
    "ReplayCache",
    "ReplayError",
    "RequestVerifier",
    "Revocation",
    "RevocationError",
    "RevocationStore",
    "RevokedError",
    "Session",
    "SessionClosedError",
    "SignatureError",
    "StoreUnavailableError",
    "TrustError",
    "TrustPolicy",
    "TrustResolver",
    "TrustedRoots",
    "VerifiedChain",
    "VerifiedRequest",
    "__version__",
    "averify_chain",
    "check_current",
    "content_digest",
    "decode_chain",
    "derive_id",
    "encode_chain",
    "find_cover",
    "get_principal",
    "requires_capability",
    "revocation_map",
    "sign_request",
    "test_seed",
    "verify_chain",
    "verify_links",
]
