"""The verified principal a handler sees: who signed, on whose authority, for what.

``PactMiddleware`` puts a :class:`Principal` in ``scope["pact"]``, a :class:`PactUser`
in ``scope["user"]`` and ``AuthCredentials`` listing the agent's capabilities in
``scope["auth"]``, so that Starlette's ``request.user`` and ``request.auth`` work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.authentication import BaseUser
from starlette.requests import HTTPConnection

from pact_asgi.capability import Capability
from pact_asgi.chain import VerifiedChain, decode_chain, verify_links
from pact_asgi.errors import ErrorCode, SignatureError
from pact_asgi.identity import Entity
from pact_asgi.signature import VerifiedRequest

__all__ = ["SCOPE_KEY", "Evidence", "PactUser", "Principal", "get_principal"]

SCOPE_KEY = "pact"
"""The ASGI scope key under which the middleware puts the :class:`Principal`."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """What proves, later and offline, that the agent signed this request under this chain.

    ``signature_base`` is the exact RFC 9421 §2.5 signature base (it names the method,
    authority, path, query, body digest and chain header that were signed), and
    ``signature`` the agent's Ed25519 signature over it.
    """

    signature_base: bytes
    signature: bytes
    chain_header: str

    def verify(self) -> VerifiedChain:
        """Check again that the chain's links hold and its agent signed the base.

        Time windows, trust and revocation are not checked: they describe the moment
        of the request, which has passed.

        Raises:
            PactError: the chain does not verify, or ``signature_invalid``.
        """
        chain = verify_links(decode_chain(self.chain_header))
        if not chain.agent.verify(self.signature, self.signature_base):
            raise SignatureError(ErrorCode.SIGNATURE_INVALID, "evidence signature does not verify")
        return chain


@dataclass(frozen=True, slots=True)
class Principal:
    """A request that verified: the agent, its chain, and what the route required.

    ``required`` holds the capabilities the matched route declared, filled from the
    request's path parameters; ``covered_by[i]`` is the granted capability that
    covered ``required[i]``.
    """

    request: VerifiedRequest
    required: tuple[Capability, ...]
    covered_by: tuple[Capability, ...]

    @property
    def chain(self) -> VerifiedChain:
        """The verified delegation chain, trust decision included."""
        return self.request.chain

    @property
    def agent(self) -> Entity:
        """The agent that signed the request (the chain's last delegate)."""
        return self.request.chain.agent

    @property
    def agent_id(self) -> str:
        """The agent's identity id, equal to the signature's ``keyid``."""
        return self.request.key_id

    @property
    def root(self) -> Entity:
        """The root authority that issued the first delegation (normally a human)."""
        return self.request.chain.root

    @property
    def root_id(self) -> str:
        """The root authority's identity id."""
        return self.request.chain.root_id

    @property
    def root_account(self) -> object | None:
        """What the trust policy mapped the root to (for ``TrustedRoots``, its id)."""
        return self.request.chain.root_account

    @property
    def capabilities(self) -> tuple[Capability, ...]:
        """The agent's effective capabilities: those of the chain's last link."""
        return self.request.chain.capabilities

    @property
    def capability_strings(self) -> tuple[str, ...]:
        """The effective capabilities as written in the last link."""
        return self.request.chain.capability_strings

    @property
    def delegation_ids(self) -> tuple[str, ...]:
        """The ids of the chain's delegations, root first."""
        return self.request.chain.delegation_ids

    @property
    def not_before(self) -> datetime | None:
        """Start of the chain's validity window (the latest ``not_before``), if any."""
        return self.request.chain.not_before

    @property
    def expires_at(self) -> datetime:
        """End of the chain's validity window (the earliest expiry), exclusive."""
        return self.request.chain.expires_at

    @property
    def created(self) -> datetime:
        """The signature's ``created`` time."""
        return self.request.created

    @property
    def nonce(self) -> str:
        """The signature's ``nonce``."""
        return self.request.nonce

    @property
    def evidence(self) -> Evidence:
        """The signature base, signature and chain header of this request."""
        request = self.request
        return Evidence(request.signature_base, request.signature, request.chain_header)


class PactUser(BaseUser):
    """The agent as a Starlette user: ``request.user`` in handlers."""

    __slots__ = ("principal",)

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    @property
    def is_authenticated(self) -> bool:
        """Always true: the middleware creates a user only for a verified request."""
        return True

    @property
    def display_name(self) -> str:
        """The agent's name when its delegation gives one, else its id."""
        agent = self.principal.agent
        return agent.name or agent.id

    @property
    def identity(self) -> str:
        """The agent's identity id."""
        return self.principal.agent_id

    def __repr__(self) -> str:
        return f"PactUser({self.principal.agent_id!r})"


def get_principal(request: HTTPConnection) -> Principal:
    """The principal the middleware verified for ``request``.

    Usable as a FastAPI dependency. A missing principal is a deployment mistake (no
    middleware, or a route listed as public), never a request to let through.

    Raises:
        RuntimeError: ``PactMiddleware`` did not verify this request.
    """
    principal = request.scope.get(SCOPE_KEY)
    if not isinstance(principal, Principal):
        raise RuntimeError(
            "no verified Pact principal on this request: wrap the app in PactMiddleware "
            "and do not list this route as public"
        )
    return principal
