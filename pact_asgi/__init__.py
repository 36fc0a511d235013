"""pact_asgi: verify AI agents' delegated, signed requests in ASGI apps.

A provider wraps its app in ``PactMiddleware``; an agent signs with ``PactAuth``;
both stand on the documents of the Pact protocol defined in this package.
"""

from __future__ import annotations

from pact_asgi.capability import Capability, CapabilityTemplate
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
from pact_asgi.revocation import Revocation, revocation_map
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

__all__ = [
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
    "Identity",
    "IdentityError",
    "LimitExceededError",
    "MalformedError",
    "MemoryReplayCache",
    "MemoryRevocationStore",
    "PactError",
    "RedisReplayCache",
    "RedisRevocationStore",
    "ReplayCache",
    "ReplayError",
    "Revocation",
    "RevocationError",
    "RevocationStore",
    "RevokedError",
    "SignatureError",
    "StoreUnavailableError",
    "TrustError",
    "TrustPolicy",
    "TrustResolver",
    "TrustedRoots",
    "VerifiedChain",
    "__version__",
    "averify_chain",
    "check_current",
    "decode_chain",
    "derive_id",
    "encode_chain",
    "revocation_map",
    "test_seed",
    "verify_chain",
    "verify_links",
]
