"""``PactMiddleware``: every request reaches the app verified and authorized, or is refused.

A plain ASGI middleware (not ``BaseHTTPMiddleware``)::

    app.add_middleware(
        PactMiddleware,
        trust=TrustedRoots([alice_id]),
        authorities=["api.example.com"],
        routes={"POST /repos/{owner}/{repo}/pulls": "github:pr:create,repo={owner}/{repo}"},
        public=["/health"],
    )

The path of one HTTP request (architecture.md):

1. a public path passes through untouched;
2. the signature fields are parsed and checked, cheapest first, and the chain comes
   from a bounded cache when its header was seen before (``RequestVerifier.begin``);
3. revocations, time windows and the trust policy are checked on every request;
4. the body is read up to ``max_body`` and checked against ``Content-Digest``;
5. the ``(keyid, nonce)`` pair is claimed in the replay store;
6. the route's requirements are filled from its path parameters and must be covered;
7. the principal goes into the scope, one audit line is logged, and the app is called
   with a ``receive`` that replays the body and then falls through to the server's.

WebSocket connections are refused unless their path is public (see ``__call__``);
lifespan and other scope types pass through.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Final, Protocol

from starlette.authentication import AuthCredentials, UnauthenticatedUser
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pact_asgi.capability import Capability, find_cover
from pact_asgi.chain import DEFAULT_SKEW
from pact_asgi.delegation import DEFAULT_LIMITS, ChainLimits
from pact_asgi.errors import (
    AuthorizationError,
    BodyTooLargeError,
    ErrorCode,
    PactError,
    ReplayError,
    SignatureError,
)
from pact_asgi.principal import SCOPE_KEY, PactUser, Principal
from pact_asgi.problem import problem_for
from pact_asgi.routes import RouteRequirements, route_path
from pact_asgi.signature import DEFAULT_MAX_AGE, PendingRequest, RequestVerifier
from pact_asgi.stores import MemoryReplayCache, MemoryRevocationStore
from pact_asgi.stores.base import ReplayCache, RevocationStore
from pact_asgi.trust import Resolver, TrustPolicy, as_trust_policy

__all__ = ["ANY_AUTHORITY", "DEFAULT_MAX_BODY", "ErrorHook", "PactMiddleware"]

logger = logging.getLogger(__name__)
audit = logging.getLogger("pact_asgi.audit")

DEFAULT_MAX_BODY = 1024 * 1024
# A WebSocket close before accept makes the server answer the handshake with 403;
# 1008 is "policy violation" (RFC 6455 §7.4.1).
_WS_POLICY_VIOLATION = 1008
# Steps from the wrapped app down its ``.app`` attributes to the object with ``routes``.
_MAX_APP_DEPTH = 32


class _AnyAuthority:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ANY_AUTHORITY"


ANY_AUTHORITY: Final = _AnyAuthority()
"""Pass as ``authorities`` to accept requests signed for any host (not recommended).

A signature made for another service could then be replayed here: use it only behind
something that already pins the host.
"""

ErrorHook = Callable[[Scope, PactError], ASGIApp | Awaitable[ASGIApp | None] | None]
"""``on_error(scope, error)``: an ASGI response (e.g. a Starlette ``Response``) to send
instead of the default problem document, or ``None`` to keep the default."""


class _Router(Protocol):
    routes: list[BaseRoute]


class _ClientGone(Exception):
    """The client disconnected while its body was read: there is nobody to answer."""


class PactMiddleware:
    """Verify, authorize per route and put the principal in the scope (see module doc).

    Keyword arguments:

    - ``trust``: a :class:`~pact_asgi.TrustPolicy` (``TrustedRoots``, ``AnyRoot()``) or
      a sync or async function of the root id. Required.
    - ``authorities``: host names (``"api.example.com"``, ``"localhost:8000"``) that
      requests must be signed for; :data:`ANY_AUTHORITY` turns the check off. Required.
    - ``routes``: ``{"METHOD /path/{param}": "capability template"}``, ``*`` for any
      method; adds to what endpoints declare themselves.
    - ``public``: paths that need no signature; ``"/static/*"`` is a prefix. A route
      that declares a capability needs a signature even under a public path.
    - ``replay``: a replay cache (default: in memory, this process only).
    - ``revocations``: a revocation store (default: empty, in memory).
    - ``max_body`` (bytes, default 1 MiB), ``max_age`` and ``clock_skew`` (seconds or
      ``timedelta``; default 300 and 30), ``clock`` (for tests), ``on_error``,
      ``chain_cache_size`` and ``limits`` for the chain checks.

    Raises:
        TypeError: a missing or wrongly typed argument.
        ValueError: an invalid value (authorities, routes, public paths, limits).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        trust: TrustPolicy | Resolver,
        authorities: Collection[str] | _AnyAuthority,
        routes: Mapping[str, str] | None = None,
        public: Iterable[str] = (),
        replay: ReplayCache | None = None,
        revocations: RevocationStore | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        max_age: float | timedelta = DEFAULT_MAX_AGE,
        clock_skew: float | timedelta = DEFAULT_SKEW,
        clock: Callable[[], datetime] | None = None,
        on_error: ErrorHook | None = None,
        chain_cache_size: int = 4096,
        limits: ChainLimits = DEFAULT_LIMITS,
    ) -> None:
        self.app = app
        self.trust = as_trust_policy(trust)
        if authorities is None:
            raise TypeError(
                "authorities is required: the host names this service answers to, "
                "or ANY_AUTHORITY to accept requests signed for any host"
            )
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 0:
            raise ValueError("max_body must be a non-negative number of bytes")
        if clock is not None and not callable(clock):
            raise TypeError("clock must be a function returning an aware datetime")
        if on_error is not None and not callable(on_error):
            raise TypeError("on_error must be a function of (scope, error)")
        if replay is not None and not isinstance(replay, ReplayCache):
            raise TypeError("replay must be a ReplayCache (MemoryReplayCache, RedisReplayCache)")
        if revocations is not None and not isinstance(revocations, RevocationStore):
            raise TypeError("revocations must be a RevocationStore")

        self.verifier = RequestVerifier(
            authorities=None if isinstance(authorities, _AnyAuthority) else authorities,
            max_age=_seconds(max_age, "max_age"),
            clock_skew=_seconds(clock_skew, "clock_skew"),
            chain_cache_size=chain_cache_size,
            limits=limits,
            trust=self.trust,
        )
        self.requirements = RouteRequirements(routes, public)
        self.clock = clock or _utc_now
        # The default cache follows the middleware's clock, or a test clock would see
        # its nonces expire at once (or never).
        self.replay = replay if replay is not None else MemoryReplayCache(clock=clock)
        self.revocations = revocations if revocations is not None else MemoryRevocationStore()
        self.max_body = max_body
        self.on_error = on_error
        self._router = _find_router(app)
        self._reviewed = False
        if self._router is None and not self.requirements.has_map:
            logger.warning(
                "PactMiddleware sees no routes and has no routes map: "
                "every signed request will be refused (route_undeclared)"
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            # TODO: WebSocket handshakes are not verified; they are refused unless public.
            if self.requirements.is_public(route_path(scope)):
                await self.app(scope, receive, send)
                return
            logger.info("refused websocket %.200r: not a public path", scope["path"])
            await send({"type": "websocket.close", "code": _WS_POLICY_VIOLATION})
        elif kind == "lifespan":
            await self.app(scope, receive, self._lifespan_send(send))
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A declaration is more specific than a public path or prefix: it wins.
        requirements = self.requirements
        if requirements.is_public(route_path(scope)) and not requirements.find(
            scope, self._routes()
        ):
            if "user" not in scope:
                scope["user"] = UnauthenticatedUser()
                scope["auth"] = AuthCredentials()
            await self.app(scope, receive, send)
            return
        if not self._reviewed:
            self._review()

        try:
            principal, body = await self._verify(scope, receive)
        except PactError as error:
            await self._refuse(scope, receive, send, error)
            return
        except _ClientGone:
            return

        scope[SCOPE_KEY] = principal
        scope["user"] = PactUser(principal)
        scope["auth"] = AuthCredentials(list(principal.capability_strings))
        if audit.isEnabledFor(logging.INFO):
            _audit(scope, principal)
        await self.app(scope, _replaying(body, receive), send)

    async def _verify(self, scope: Scope, receive: Receive) -> tuple[Principal, bytes]:
        pending: PendingRequest | None = None
        try:
            host, length = _host_and_length(scope["headers"])
            if length is not None and length > self.max_body:
                raise BodyTooLargeError(ErrorCode.BODY_TOO_LARGE, "Content-Length over limit")
            now = self.clock()
            pending = self.verifier.begin(
                method=scope["method"],
                authority=host,
                path=_raw_path(scope),
                query=scope.get("query_string", b"").decode("latin-1"),
                headers=scope["headers"],
                now=now,
                scheme=scope.get("scheme"),
            )
            chain = pending.chain
            revoked = await self.revocations.lookup(chain.delegation_ids)
            pending = await self.verifier.aaccept(
                pending, trust=self.trust, now=now, revoked=revoked
            )

            body = await self._read_body(receive)
            verified = self.verifier.finish(pending, body)
            # §4: the nonce is recorded only now, after the signature verified, so that
            # unsigned traffic cannot fill the store.
            if not await self.replay.claim(
                verified.key_id, verified.nonce, verified.remember_until
            ):
                raise ReplayError(ErrorCode.REPLAYED, "nonce already used", key_id=verified.key_id)

            found = self.requirements.find(scope, self._routes())
            if not found:
                raise AuthorizationError(
                    ErrorCode.ROUTE_UNDECLARED, "no capability declared", key_id=verified.key_id
                )
            granted = chain.capabilities
            required: list[Capability] = []
            covering: list[Capability] = []
            for requirement, params in found:
                capability = requirement.capability(params)
                cover = find_cover(granted, capability)
                if cover is None:
                    raise AuthorizationError(
                        ErrorCode.CAPABILITY_DENIED,
                        f"{requirement.source} requires {capability}",
                        key_id=verified.key_id,
                    )
                required.append(capability)
                covering.append(cover)
        except PactError as error:
            if logger.isEnabledFor(logging.INFO):
                _log_refusal(scope, error, pending)
            raise
        return Principal(verified, tuple(required), tuple(covering)), body

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _ClientGone  # http.disconnect, or nothing a server should send
            chunk: bytes = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > self.max_body:
                    # Stop here: the rest of the body is never read into memory.
                    raise BodyTooLargeError(ErrorCode.BODY_TOO_LARGE, "body over limit")
                chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error: PactError) -> None:
        if self.on_error is not None:
            response = self.on_error(scope, error)
            if inspect.isawaitable(response):
                response = await response
            if response is not None:
                await response(scope, receive, send)
                return
        problem = problem_for(error)
        await send(
            {"type": "http.response.start", "status": problem.status, "headers": problem.headers}
        )
        await send({"type": "http.response.body", "body": problem.body})

    def _routes(self) -> Sequence[BaseRoute] | None:
        router = self._router
        return None if router is None else router.routes

    def _review(self) -> None:
        """Check the app's declarations once and log the routes that declare nothing.

        Raises:
            ValueError: a route's template uses a parameter its path lacks.
        """
        routes = self._routes()
        undeclared = self.requirements.review(routes) if routes else []
        if undeclared:
            logger.warning(
                "routes declaring no capability (signed requests to them get 403 "
                "route_undeclared): %s",
                ", ".join(undeclared),
            )
        self._reviewed = True

    def _lifespan_send(self, send: Send) -> Send:
        async def checked(message: Message) -> None:
            # Review after the app's own start-up, when every route has been added. A
            # broken declaration raises here, inside the app's lifespan handler, which
            # reports "lifespan.startup.failed" (Starlette's router does) and the server
            # does not start.
            if message["type"] == "lifespan.startup.complete" and not self._reviewed:
                self._review()
            await send(message)

        return checked


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _seconds(value: float | timedelta, name: str) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} is a number of seconds or a timedelta")
    return timedelta(seconds=value)


def _find_router(app: ASGIApp) -> _Router | None:
    """The object holding the app's routes: the app itself, or below its middleware."""
    current: object = app
    for _ in range(_MAX_APP_DEPTH):
        if isinstance(getattr(current, "routes", None), list):
            return current  # type: ignore[return-value]
        below = getattr(current, "app", None)
        if below is None or below is current:
            return None
        current = below
    return None


def _host_and_length(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, int | None]:
    """The Host value and the largest Content-Length (None when absent or not a number).

    Raises:
        SignatureError: ``authority_mismatch`` for more than one Host line (RFC 9112
            §3.2 makes that a bad request: two hosts cannot both be the one signed).
    """
    host: str | None = None
    length: int | None = None
    for name, value in headers:
        if name == b"host":
            if host is not None:
                raise SignatureError(ErrorCode.AUTHORITY_MISMATCH, "more than one Host field")
            host = value.decode("latin-1")
        elif name == b"content-length" and value.isdigit():
            number = int(value) if len(value) < 20 else 1 << 64
            length = number if length is None else max(length, number)
    return host or "", length


def _raw_path(scope: Scope) -> str:
    # RFC 9421 §2.2.6: @path is the path as sent, before percent-decoding. Some servers
    # leave the query in raw_path (ASGI allows it); it is never part of @path.
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        return str(scope["path"])
    return raw.partition(b"?")[0].decode("latin-1")


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the buffered body, then the server's messages."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # http.disconnect reaches streaming responses

    return replay


def _log_refusal(scope: Scope, error: PactError, pending: PendingRequest | None) -> None:
    context = error.context()
    chain = None if pending is None else pending.chain
    logger.info(
        "refused %.16s %.200r: %s %d (%.300s) key_id=%.100s root_id=%s delegations=%s link=%s",
        scope["method"],
        scope["path"],
        error.code,
        error.status,
        error.detail,
        context.get("key_id", None if pending is None else pending.key_id),
        None if chain is None else chain.root_id,
        None if chain is None else ",".join(chain.delegation_ids),
        context.get("link"),
    )


def _audit(scope: Scope, principal: Principal) -> None:
    audit.info(
        "accepted agent=%s root=%s delegations=%s %s %.200r required=%s covered_by=%s created=%s",
        principal.agent_id,
        principal.root_id,
        ",".join(principal.delegation_ids),
        scope["method"],
        scope["path"],
        "; ".join(map(str, principal.required)),
        "; ".join(map(str, principal.covered_by)),
        principal.created.isoformat(),
    )
