"""Delegation chains: the ``Pact-Chain`` encoding and the walk of §3.

Verification is split by what can be cached. :func:`verify_links` checks everything
that does not depend on the time or on provider state (signatures, ids, continuity,
depth bounds, narrowing) and is safe to memoise per exact header value.
:func:`check_current` checks time windows and revocations and must run on every
request, as must the trust decision. :func:`verify_chain` and :func:`averify_chain`
do all three.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from pact_asgi._encoding import b64url_decode, b64url_encode, loads_strict
from pact_asgi.capability import Capability, CoverBudget, find_cover
from pact_asgi.delegation import DEFAULT_LIMITS, ChainLimits, Delegation
from pact_asgi.errors import (
    ChainError,
    DelegationError,
    ErrorCode,
    LimitExceededError,
    MalformedError,
    RevokedError,
    TrustError,
)
from pact_asgi.identity import Entity
from pact_asgi.trust import Resolver, TrustPolicy, as_trust_policy

__all__ = [
    "DEFAULT_SKEW",
    "ChainLimits",
    "VerifiedChain",
    "averify_chain",
    "check_current",
    "decode_chain",
    "encode_chain",
    "verify_chain",
    "verify_links",
]

DEFAULT_SKEW = timedelta(seconds=30)
Revoked = Mapping[str, Collection[str]]
"""Delegation id to the ids of the entities that revoked it (signatures already checked)."""


@dataclass(frozen=True)
class VerifiedChain:
    """A chain whose links verified; its effective capabilities are the last link's."""

    delegations: tuple[Delegation, ...]
    capabilities: tuple[Capability, ...]
    not_before: datetime | None
    expires_at: datetime
    delegation_ids: tuple[str, ...]
    root_account: object | None = field(default=None, compare=False)

    @property
    def agent(self) -> Entity:
        """The entity that signs requests: the last link's delegate."""
        return self.delegations[-1].to_entity

    @property
    def agent_id(self) -> str:
        """Id of :attr:`agent`."""
        return self.delegations[-1].to_entity.id

    @property
    def root(self) -> Entity:
        """The root authority: the first link's issuer."""
        return self.delegations[0].from_entity

    @property
    def root_id(self) -> str:
        """Id of :attr:`root`."""
        return self.delegations[0].from_entity.id

    def with_root_account(self, account: object | None) -> VerifiedChain:
        """The same chain carrying the account the trust policy mapped its root to."""
        # Spelled out rather than dataclasses.replace, which costs microseconds per call.
        return VerifiedChain(
            delegations=self.delegations,
            capabilities=self.capabilities,
            not_before=self.not_before,
            expires_at=self.expires_at,
            delegation_ids=self.delegation_ids,
            root_account=account,
        )

    def accepted_as(self, account: object | None) -> VerifiedChain:
        """Apply a trust decision: the account for the root, or ``None`` to refuse it.

        Raises:
            TrustError: ``untrusted_root`` when ``account`` is ``None``.
        """
        if account is None:
            raise TrustError(
                ErrorCode.UNTRUSTED_ROOT, "root authority is not trusted", key_id=self.root_id
            )
        return self.with_root_account(account)

    @property
    def capability_strings(self) -> tuple[str, ...]:
        """The effective capabilities as written in the last link."""
        return self.delegations[-1].capabilities


def encode_chain(chain: Sequence[Delegation]) -> str:
    """The ``Pact-Chain`` header value: base64url of the JSON array, root first."""
    if not chain:
        raise ValueError("a chain has at least one delegation")
    documents = [link.to_dict() for link in chain]
    return b64url_encode(json.dumps(documents, separators=(",", ":")).encode("utf-8"))


def decode_chain(header_value: str, *, limits: ChainLimits = DEFAULT_LIMITS) -> list[Delegation]:
    """Decode a ``Pact-Chain`` header value into delegations (not yet verified).

    Sizes are checked before any work that grows with the input.

    Raises:
        LimitExceededError: the header, the number of links or a capability list is too big.
        MalformedError: bad base64url, JSON or document.
        IdentityError: an entity with a bad key or mismatching id.
    """
    if not isinstance(header_value, str):
        raise MalformedError(ErrorCode.MALFORMED_ENCODING, "chain header must be text")
    if len(header_value) > limits.max_header_bytes:
        raise LimitExceededError(ErrorCode.CHAIN_TOO_LARGE, "chain header too large")
    documents = loads_strict(b64url_decode(header_value.strip()))
    if not isinstance(documents, list):
        raise MalformedError(ErrorCode.MALFORMED_DOCUMENT, "chain must be a JSON array")
    if not documents:
        raise ChainError(ErrorCode.CHAIN_EMPTY, "chain has no delegations")
    if len(documents) > limits.max_links:
        raise LimitExceededError(ErrorCode.CHAIN_TOO_LARGE, "chain has too many links")
    # The documents were parsed just now and are ours: no defensive copy on this path.
    return [Delegation._from_owned(document, limits) for document in documents]


def verify_links(
    chain: Sequence[Delegation], *, limits: ChainLimits = DEFAULT_LIMITS
) -> VerifiedChain:
    """Check the time-independent rules of §3: continuity, depth, narrowing, signatures.

    The result may be cached per exact chain; it says nothing about time, trust or
    revocation, which :func:`check_current` and the trust policy decide per request.

    Raises:
        ChainError: empty chain, or a link not issued by the previous link's delegate.
        LimitExceededError: more links than the limit.
        DelegationError: a depth bound, a widened capability or a bad signature.
    """
    if not chain:
        raise ChainError(ErrorCode.CHAIN_EMPTY, "chain has no delegations")
    if len(chain) > limits.max_links:
        raise LimitExceededError(ErrorCode.CHAIN_TOO_LARGE, "chain has too many links")

    # Cheap structural rules first (3 and 5), so a forged chain costs no signature check.
    for i, link in enumerate(chain):
        if i > 0 and not link.from_entity.same_key(chain[i - 1].to_entity):
            raise ChainError(
                ErrorCode.CHAIN_BROKEN,
                f"link {i} is not issued by the delegate of link {i - 1}",
                link=i,
                delegation_id=link.id,
            )
        if len(chain) - i > link.max_chain_depth:
            raise DelegationError(
                ErrorCode.CHAIN_TOO_DEEP,
                f"link {i} allows {link.max_chain_depth} links to the end, chain has "
                f"{len(chain) - i}",
                link=i,
                delegation_id=link.id,
            )

    # Rules 1 and 2 (ids were matched to keys when the entities were parsed).
    for i, link in enumerate(chain):
        if not link.verify_signature():
            raise DelegationError(
                ErrorCode.DELEGATION_SIGNATURE_INVALID,
                f"signature of link {i} does not verify",
                link=i,
                key_id=link.from_entity.id,
                delegation_id=link.id,
            )

    # Rule 6 last: comparing glob patterns can cost more than a signature, so it runs
    # only on signed links and within a budget for the whole walk.
    budget = CoverBudget()
    for i in range(1, len(chain)):
        for cap in chain[i].granted:
            if find_cover(chain[i - 1].granted, cap, budget) is None:
                raise DelegationError(
                    ErrorCode.CAPABILITY_ESCALATION,
                    f"link {i} grants {cap}, which link {i - 1} does not",
                    link=i,
                    delegation_id=chain[i].id,
                )

    starts = [link.not_before for link in chain if link.not_before is not None]
    return VerifiedChain(
        delegations=tuple(chain),
        capabilities=chain[-1].granted,
        not_before=max(starts) if starts else None,
        expires_at=min(link.expires for link in chain),
        delegation_ids=tuple(link.id for link in chain),
    )


def check_current(
    verified: VerifiedChain,
    *,
    now: datetime,
    skew: timedelta = DEFAULT_SKEW,
    revoked: Revoked | None = None,
) -> None:
    """Check rules 4 and 7 of §3 at ``now``: every link in its window, none revoked.

    Skew is granted on ``not_before`` only, never on expiry.

    Raises:
        DelegationError: a link expired or not yet valid.
        RevokedError: a link was revoked by its issuer or an issuer above it.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    # now + skew, not not_before - skew: a wire time near year 1 cannot overflow.
    too_early = verified.not_before is not None and now + skew < verified.not_before
    if too_early or now >= verified.expires_at:
        _raise_window(verified, now, skew)
    if revoked:
        _check_revoked(verified, revoked)


def _raise_window(verified: VerifiedChain, now: datetime, skew: timedelta) -> None:
    for i, link in enumerate(verified.delegations):
        if now >= link.expires:
            raise DelegationError(
                ErrorCode.DELEGATION_EXPIRED,
                f"link {i} expired",
                link=i,
                delegation_id=link.id,
            )
        if link.not_before is not None and now + skew < link.not_before:
            raise DelegationError(
                ErrorCode.DELEGATION_NOT_YET_VALID,
                f"link {i} is not valid yet",
                link=i,
                delegation_id=link.id,
            )


def _check_revoked(verified: VerifiedChain, revoked: Revoked) -> None:
    # §7: a revocation of link j counts when signed by the issuer of link j or of any
    # link before it; a revocation by anyone else (the delegate, a stranger) is ignored.
    issuers: set[str] = set()
    for i, link in enumerate(verified.delegations):
        issuers.add(link.from_entity.id)
        revokers = revoked.get(link.id)
        if revokers and not issuers.isdisjoint(revokers):
            raise RevokedError(
                ErrorCode.DELEGATION_REVOKED,
                f"link {i} was revoked",
                link=i,
                delegation_id=link.id,
            )


def verify_chain(
    chain: Sequence[Delegation],
    *,
    trust: TrustPolicy | Resolver,
    now: datetime | None = None,
    revoked: Revoked | None = None,
    skew: timedelta = DEFAULT_SKEW,
    limits: ChainLimits = DEFAULT_LIMITS,
) -> VerifiedChain:
    """Verify every rule of §3 and the trust decision of §8, synchronously.

    Raises:
        PactError: the first rule that fails (see :func:`verify_links`,
            :func:`check_current`), or ``TrustError`` for an unaccepted root.
        TypeError: ``trust`` is async; use :func:`averify_chain`.
    """
    policy = as_trust_policy(trust)
    if policy.is_async:  # a configuration error, reported whatever the chain holds
        raise TypeError("this trust policy is async: use averify_chain or the middleware")
    verified = verify_links(chain, limits=limits)
    check_current(verified, now=now or datetime.now(timezone.utc), skew=skew, revoked=revoked)
    return verified.accepted_as(policy.resolve(verified.root))


async def averify_chain(
    chain: Sequence[Delegation],
    *,
    trust: TrustPolicy | Resolver,
    now: datetime | None = None,
    revoked: Revoked | None = None,
    skew: timedelta = DEFAULT_SKEW,
    limits: ChainLimits = DEFAULT_LIMITS,
) -> VerifiedChain:
    """:func:`verify_chain` for async trust policies.

    Raises:
        PactError: as :func:`verify_chain`.
    """
    policy = as_trust_policy(trust)
    verified = verify_links(chain, limits=limits)
    check_current(verified, now=now or datetime.now(timezone.utc), skew=skew, revoked=revoked)
    return verified.accepted_as(await policy.aresolve(verified.root))
