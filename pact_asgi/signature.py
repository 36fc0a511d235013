"""Request signatures: the RFC 9421 profile of protocol §4, signed and verified.

The agent side, :func:`sign_request`, builds the four Pact headers with
``http-message-signatures``' own :class:`~http_message_signatures.HTTPMessageSigner`.

The provider side, :class:`RequestVerifier`, is a lean path on ``http-sf`` parsing and
``cryptography``, because it runs in front of every request: the tests keep it honest
against ``HTTPMessageVerifier`` in both directions. It works in two phases, so that an
ASGI middleware can refuse a request before reading its body and can await trust and
revocation lookups in between::

    pending = verifier.begin(method=..., authority=..., path=..., query=...,
                             headers=..., now=now)        # no body, no I/O
    pending = await verifier.aaccept(pending, trust=..., now=now, revoked=...)
    verified = verifier.finish(pending, body)             # Content-Digest

:meth:`RequestVerifier.verify` does all three for synchronous callers. Replay is the
caller's: each :class:`VerifiedRequest` names its ``(key_id, nonce)`` and the moment
until which that pair must be remembered.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit, urlunsplit

import http_sf
from cryptography.exceptions import InvalidSignature
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver
from http_message_signatures.algorithms import ED25519
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from pact_asgi.chain import (
    DEFAULT_SKEW,
    VerifiedChain,
    check_current,
    decode_chain,
    encode_chain,
    verify_links,
)
from pact_asgi.delegation import DEFAULT_LIMITS, ChainLimits, Delegation
from pact_asgi.digest import ContentDigest, Members
from pact_asgi.digest import _parse_dictionary as parse_dictionary
from pact_asgi.errors import ErrorCode, LimitExceededError, SignatureError, TrustError
from pact_asgi.identity import Identity
from pact_asgi.trust import Resolver, TrustPolicy, as_trust_policy

__all__ = [
    "ALGORITHM",
    "DEFAULT_MAX_AGE",
    "LABEL",
    "REQUIRED_COMPONENTS",
    "TAG",
    "PendingRequest",
    "RequestVerifier",
    "VerifiedRequest",
    "normalize_authority",
    "sign_request",
    "signature_base",
]

logger = logging.getLogger(__name__)

LABEL = "pact"
TAG = "pact"
ALGORITHM = "ed25519"
REQUIRED_COMPONENTS: tuple[str, ...] = (
    "@method",
    "@authority",
    "@path",
    "@query",
    "content-digest",
    "pact-chain",
)
"""What every Pact signature covers (§4); the signer covers exactly these, in this order."""
DEFAULT_MAX_AGE = timedelta(seconds=300)

Headers = Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[tuple[bytes, bytes]]
"""Request headers: a mapping, or the field lines in order (ASGI byte pairs allowed)."""

_REQUIRED = frozenset(REQUIRED_COMPONENTS)
_CHECKED = frozenset({"pact-chain", "content-digest"})  # validated before the base is built
_PARAMETERS = frozenset({"created", "expires", "nonce", "keyid", "alg", "tag"})
# Derived components this verifier can compute from its inputs. @target-uri, @scheme,
# @request-target and @query-param are refused (signature_components): their values
# depend on what a proxy did to the request, and no Pact signer uses them.
_DERIVED = frozenset({"@method", "@authority", "@path", "@query"})
_FIELD_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")  # RFC 9110 §5.1 token, lowercase
_METHOD = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_TARGET = re.compile(r"[\x21-\x7e]*")  # raw path or query: visible ASCII, no spaces
_FIELD_VALUE = re.compile(r"[\x20-\x7e\t]*")  # what a signature base line may hold
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_HOST = re.compile(
    r"(?P<host>\[[0-9a-f:.]+\]|[a-z0-9._~!$&'()*+,;=%-]+)(?::(?P<port>[0-9]{0,5}))?"
)
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_SIGNATURE_LENGTH = 64


def _error(code: ErrorCode, detail: str, key_id: str | None = None) -> SignatureError:
    return SignatureError(code, detail, key_id=key_id)


def normalize_authority(authority: str, scheme: str | None = None) -> str:
    """``@authority`` as RFC 9421 §2.2.3 wants it: lower case, without a default port.

    Without ``scheme`` both 80 and 443 count as default ports.

    Raises:
        SignatureError: ``authority_mismatch`` when the value is not a host[:port].
    """
    lowered = authority.strip().lower()
    match = _HOST.fullmatch(lowered)
    if match is None:
        raise _error(ErrorCode.AUTHORITY_MISMATCH, "authority is not a host name and port")
    host, port = match["host"], match["port"]
    if not port:
        return host
    number = int(port)
    if number > 65535:
        raise _error(ErrorCode.AUTHORITY_MISMATCH, "authority has an invalid port")
    default = (_DEFAULT_PORTS.get(scheme.lower()),) if scheme else (80, 443)
    return host if number in default else f"{host}:{number}"


# --- Agent side ------------------------------------------------------------------------


class _KeyResolver(HTTPSignatureKeyResolver):
    """Hands the one identity's private key to ``HTTPMessageSigner``."""

    def __init__(self, identity: Identity) -> None:
        self._identity = identity

    def resolve_private_key(self, key_id: str) -> object:
        if key_id != self._identity.id:
            raise KeyError(key_id)
        return self._identity.private_key

    def resolve_public_key(self, key_id: str) -> object:
        return self._identity.private_key.public_key() if key_id == self._identity.id else None


@dataclass
class _Message:
    """The message shape ``HTTPMessageSigner`` resolves components from."""

    method: str
    url: str
    headers: dict[str, str]


def sign_request(
    identity: Identity,
    chain: Sequence[Delegation],
    *,
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    created: datetime | None = None,
    expires: datetime | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Sign a request as ``identity`` under ``chain``; return the headers to add.

    The result holds ``Pact-Chain``, ``Content-Digest``, ``Signature-Input`` and
    ``Signature``; they replace any fields of the same names. ``url`` is the absolute,
    already percent-encoded URL the request goes to; a ``Host`` in ``headers`` takes the
    place of the URL's authority, as it does on the wire. ``body`` is the content exactly
    as sent. The nonce is 128 fresh random bits unless one is given.

    Raises:
        ValueError: the identity is not the chain's agent, or a value cannot be signed
            (naive times, a malformed nonce, a relative URL, a lowercase method).
    """
    if not chain:
        raise ValueError("a chain has at least one delegation")
    if chain[-1].to_entity.id != identity.id:
        raise ValueError("the identity must be the delegate of the chain's last link")
    if not isinstance(body, bytes):
        raise TypeError("body must be bytes, exactly as sent")
    for moment in (created, expires):
        if moment is not None and moment.tzinfo is None:
            raise ValueError("created and expires must be timezone-aware")
    if nonce is None:
        nonce = secrets.token_urlsafe(16)
    elif not _NONCE.fullmatch(nonce):
        raise ValueError("a nonce is 16 to 128 base64url characters")
    host = next((v for k, v in (headers or {}).items() if k.lower() == "host"), None)
    if host is not None:
        parts = urlsplit(url)
        url = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))

    message = _Message(method=method, url=url, headers={"Pact-Chain": encode_chain(chain)})
    signer = HTTPMessageSigner(signature_algorithm=ED25519, key_resolver=_KeyResolver(identity))
    try:
        signer.sign(
            message,
            key_id=identity.id,
            created=created or datetime.now(timezone.utc),
            expires=expires,
            nonce=nonce,
            label=LABEL,
            tag=TAG,
            include_alg=True,
            covered_component_ids=REQUIRED_COMPONENTS,
            body=body,
        )
    except HTTPMessageSignaturesException as exc:
        raise ValueError(f"cannot sign this request: {exc}") from exc
    names = ("Pact-Chain", "Content-Digest", "Signature-Input", "Signature")
    return {name: message.headers[name] for name in names}


# --- Provider side ---------------------------------------------------------------------


@dataclass(frozen=True)
class PendingRequest:
    """A request whose signature verified before its body was read (see ``begin``).

    ``chain`` has passed :func:`~pact_asgi.verify_links` only: its time windows,
    revocations and root are still to be checked (``accept`` / ``aaccept``), and the
    body still has to match ``Content-Digest`` (``finish``).
    """

    chain: VerifiedChain
    chain_header: str
    key_id: str
    nonce: str
    created: datetime
    expires: datetime | None
    remember_until: datetime
    label: str
    covered_components: tuple[str, ...]
    signature_params: str
    signature_base: bytes
    signature: bytes
    digest: ContentDigest
    cached: bool


@dataclass(frozen=True)
class VerifiedRequest:
    """A request that passed every check of §4 and the chain rules of §3.

    ``signature_base``, ``signature`` and ``chain_header`` are the evidence: with them
    anyone can later check offline that the agent signed this request under this chain.
    Remember ``(key_id, nonce)`` until ``remember_until`` to refuse replays.
    """

    chain: VerifiedChain
    chain_header: str
    key_id: str
    nonce: str
    created: datetime
    expires: datetime | None
    remember_until: datetime
    label: str
    covered_components: tuple[str, ...]
    signature_params: str
    signature_base: bytes
    signature: bytes

    @property
    def agent_id(self) -> str:
        """The signing agent's id (the same as ``key_id``)."""
        return self.chain.agent_id


class _ChainCache:
    """A bounded LRU map from an exact ``Pact-Chain`` value to its verified links.

    Only chains that were accepted (trust, time, revocation) and carried a request
    whose signature verified are stored, so strangers cannot flush real agents out.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[str, VerifiedChain] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, header: str) -> VerifiedChain | None:
        with self._lock:
            found = self._entries.get(header)
            if found is not None:
                self._entries.move_to_end(header)
            return found

    def put(self, header: str, chain: VerifiedChain) -> None:
        if self._size == 0:
            return
        with self._lock:
            self._entries[header] = chain
            self._entries.move_to_end(header)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _reject_duplicate(key: str, context: str) -> None:
    # RFC 9651 lets the last duplicate win; a second "pact" label or a second "created"
    # could be read differently by an intermediary, so duplicates are malformed.
    raise _error(ErrorCode.SIGNATURE_MALFORMED, f"duplicate {context} key {key!r}")


def _parse_dictionary(value: str, name: str) -> Members:
    try:
        return parse_dictionary(value, _reject_duplicate)
    except (ValueError, IndexError) as exc:  # StructuredFieldError, UnicodeEncodeError
        raise _error(ErrorCode.SIGNATURE_MALFORMED, f"{name} is not a dictionary") from exc


def _collect(headers: Headers) -> dict[str, list[str]]:
    """Field lines by lower-case name; each value trimmed as RFC 9421 §2.1 asks."""
    items: Iterable[tuple[str | bytes, str | bytes]]
    items = headers.items() if isinstance(headers, Mapping) else headers
    fields: dict[str, list[str]] = {}
    for name, value in items:
        # ASGI gives byte pairs (RFC 9110 field values are Latin-1 at most).
        key = (name.decode("latin-1") if isinstance(name, bytes) else name).lower()
        text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip(" \t")
        lines = fields.get(key)
        if lines is None:
            fields[key] = [text]
        else:
            lines.append(text)
    return fields


def _combined(fields: Mapping[str, list[str]], name: str) -> str | None:
    # RFC 9110 §5.3: several lines of one field are one value joined by ", ".
    lines = fields.get(name)
    return None if lines is None else ", ".join(lines)


def _sf_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _timestamp(value: int, name: str) -> datetime:
    try:
        return datetime.fromtimestamp(value, timezone.utc)
    except (OverflowError, OSError, ValueError) as exc:
        raise _error(ErrorCode.SIGNATURE_MALFORMED, f"{name} is out of range") from exc


def _components(covered: object) -> tuple[str, ...]:
    """The covered components of one signature (RFC 9421 §2), as far as we support them."""
    if type(covered) is not list:
        raise _error(ErrorCode.SIGNATURE_MALFORMED, "signature input is not an inner list")
    components: list[str] = []
    for item, item_params in covered:
        if type(item) is not str:
            raise _error(ErrorCode.SIGNATURE_MALFORMED, "component names are strings")
        if item_params:
            # TODO: component parameters (sf, key, bs, req, tr, name) are refused.
            raise _error(ErrorCode.SIGNATURE_COMPONENTS, f"{item} has parameters")
        if item in components:
            # RFC 9421 §2.5: a component listed twice makes the signature invalid.
            raise _error(ErrorCode.SIGNATURE_MALFORMED, f"{item} is covered twice")
        if item.startswith("@"):
            if item not in _DERIVED:
                raise _error(ErrorCode.SIGNATURE_COMPONENTS, f"{item} is not supported")
        elif not _FIELD_NAME.fullmatch(item):
            raise _error(ErrorCode.SIGNATURE_MALFORMED, f"{item!r} is not a field name")
        components.append(item)
    return tuple(components)


def _derived(method: str, authority: str, path: str, query: str) -> dict[str, str]:
    """The derived component values of RFC 9421 §2.2 from the request line and Host."""
    if not _METHOD.fullmatch(method):
        raise _error(ErrorCode.SIGNATURE_MALFORMED, "method is not a token")
    if not (_TARGET.fullmatch(path) and _TARGET.fullmatch(query)):
        raise _error(ErrorCode.SIGNATURE_MALFORMED, "path or query is not visible ASCII")
    # §2.2.6: an empty path is "/"; §2.2.7: an absent query is "?" alone.
    return {
        "@method": method,
        "@authority": authority,
        "@path": path or "/",
        "@query": "?" + query,
    }


def _build_base(
    components: tuple[str, ...],
    params: Mapping[str, object],
    derived: Mapping[str, str],
    fields: Mapping[str, list[str]],
    checked: Collection[str] = (),
) -> tuple[str, bytes]:
    """The ``@signature-params`` value and the signature base (RFC 9421 §2.3, §2.5)."""
    lines = []
    for name in components:
        value = derived.get(name)
        if value is None:
            value = _combined(fields, name)
            if value is None:
                raise _error(ErrorCode.SIGNATURE_COMPONENTS, f"covered {name} is absent")
            # RFC 9421 §2.5: no line of the base may break. Pact-Chain (base64url, or
            # equal to a value that decoded before) and Content-Digest (a parsed
            # Structured Field) were checked already in begin; the scan over the long
            # chain value is not repeated per request.
            if name not in checked and not _FIELD_VALUE.fullmatch(value):
                raise _error(ErrorCode.SIGNATURE_MALFORMED, f"{name} has invalid characters")
        lines.append(f'"{name}": {value}\n')
    # Re-serialised rather than copied from the header: §2.3 signs the canonical form.
    serialized = []
    for key, param in params.items():
        if key not in _PARAMETERS:
            raise _error(ErrorCode.SIGNATURE_MALFORMED, f"unknown signature parameter {key}")
        if type(param) is int:
            serialized.append(f";{key}={param}")
        elif type(param) is str:
            serialized.append(f";{key}={_sf_string(param)}")
        else:
            raise _error(ErrorCode.SIGNATURE_MALFORMED, f"{key} is neither integer nor string")
    quoted = " ".join(f'"{name}"' for name in components)
    signature_params = f"({quoted}){''.join(serialized)}"
    lines.append(f'"@signature-params": {signature_params}')
    return signature_params, "".join(lines).encode("ascii")


def signature_base(
    *,
    label: str,
    method: str,
    authority: str,
    path: str,
    query: str,
    headers: Headers,
    scheme: str | None = None,
) -> bytes:
    """The signature base (RFC 9421 §2.5) of signature ``label``, built as the verifier does.

    It checks no signature and no Pact rule: it serves evidence and conformance checks.

    Raises:
        SignatureError: no such label, or a component that cannot be resolved.
    """
    fields = _collect(headers)
    text = _combined(fields, "signature-input")
    inputs = {} if text is None else _parse_dictionary(text, "Signature-Input")
    if label not in inputs:
        raise _error(ErrorCode.SIGNATURE_MISSING, f"no signature labelled {label!r}")
    covered, params = inputs[label]
    derived = _derived(method, normalize_authority(authority, scheme), path, query)
    return _build_base(_components(covered), params, derived, fields)[1]


class RequestVerifier:
    """Verifies Pact request signatures (§4) and their chains (§3) without a framework.

    Build one per application and share it: it holds the bounded cache of verified
    chains. ``authorities`` are the host names (with a port when not the default) that
    this provider serves; a request signed for any other is refused. Passing
    ``authorities=None`` explicitly turns that check off, which lets a signature made
    for another host be replayed here: do it only behind something that already pins
    the host. ``trust``, when given, is asked :meth:`~pact_asgi.TrustPolicy.may_accept`
    before the links of a chain not seen before are verified, so that a chain from a
    root that is surely refused costs no link signatures; the trust decision itself is
    still made per request by :meth:`accept`.
    """

    def __init__(
        self,
        *,
        authorities: Collection[str] | None,
        max_age: timedelta = DEFAULT_MAX_AGE,
        clock_skew: timedelta = DEFAULT_SKEW,
        chain_cache_size: int = 4096,
        limits: ChainLimits = DEFAULT_LIMITS,
        trust: TrustPolicy | None = None,
    ) -> None:
        if authorities is None:
            logger.warning("RequestVerifier: authority check disabled (authorities=None)")
            self.authorities: frozenset[str] | None = None
        else:
            if isinstance(authorities, str):
                raise TypeError("authorities is a collection of host names, not one string")
            if not authorities:
                raise ValueError("authorities is empty: name the hosts served, or pass None")
            try:
                self.authorities = frozenset(normalize_authority(a) for a in authorities)
            except SignatureError as exc:
                raise ValueError(f"invalid authority in {sorted(authorities)!r}") from exc
        if max_age <= timedelta(0) or clock_skew < timedelta(0):
            raise ValueError("max_age must be positive and clock_skew not negative")
        if chain_cache_size < 0:
            raise ValueError("chain_cache_size must not be negative")
        self.max_age = max_age
        self.clock_skew = clock_skew
        self.limits = limits
        self._max_age_s = max_age.total_seconds()
        self._skew_s = clock_skew.total_seconds()
        self._cache = _ChainCache(chain_cache_size)
        # Asked before the links of an unseen chain are verified (see TrustPolicy.may_accept).
        self._prefilter = trust.may_accept if trust is not None else None

    def begin(
        self,
        *,
        method: str,
        authority: str,
        path: str,
        query: str,
        headers: Headers,
        now: datetime,
        scheme: str | None = None,
    ) -> PendingRequest:
        """Check everything that does not need the body, the request signature included.

        ``path`` is the raw path as sent, before percent-decoding and without the query;
        ``query`` the raw query string without ``?``; ``authority`` the ``Host``.

        A chain whose header was seen before comes from the cache, so it costs no link
        signature checks, but the cache says nothing about the present: every request
        must still pass :meth:`accept` or :meth:`aaccept` (time windows, revocations,
        trust) before :meth:`finish`.

        Raises:
            SignatureError: a rule of the §4 profile fails.
            DigestError: ``Content-Digest`` is missing or has no known algorithm.
            PactError: the chain does not decode or its links do not verify.
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        fields = _collect(headers)
        label, components, params, signature = self._select(fields)
        key_id, nonce, created, expires, remember_until = self._check_parameters(params, now)
        authority = self._check_authority(authority, scheme)
        digest = ContentDigest.parse(_combined(fields, "content-digest"))

        # The chain: cheap structural checks are done, now the links (or the cache).
        chain_lines = fields.get("pact-chain")
        if not chain_lines:
            raise _error(ErrorCode.SIGNATURE_COMPONENTS, "Pact-Chain is missing")
        if len(chain_lines) > 1:
            raise _error(ErrorCode.SIGNATURE_MALFORMED, "Pact-Chain appears more than once")
        chain_header = chain_lines[0]
        if len(chain_header) > self.limits.max_header_bytes:
            # Checked before the cache lookup, which would hash the whole value.
            raise LimitExceededError(ErrorCode.CHAIN_TOO_LARGE, "chain header too large")
        found = self._cache.get(chain_header)
        if found is None:
            logger.debug("chain cache miss for key id %s", key_id)
            if not _FIELD_VALUE.fullmatch(chain_header):
                raise _error(ErrorCode.SIGNATURE_MALFORMED, "Pact-Chain has invalid characters")
            links = decode_chain(chain_header, limits=self.limits)
            if links[-1].to_entity.id != key_id:  # before the link signatures are checked
                raise _error(ErrorCode.KEYID_MISMATCH, "keyid is not the chain's agent", key_id)
            root = links[0].from_entity
            if self._prefilter is not None and not self._prefilter(root):
                # A stranger's chain costs no link signatures and no pattern comparisons.
                raise TrustError(
                    ErrorCode.UNTRUSTED_ROOT, "root authority is not trusted", key_id=root.id
                )
            chain = verify_links(links, limits=self.limits)
        elif found.agent_id != key_id:
            raise _error(ErrorCode.KEYID_MISMATCH, "keyid is not the chain's agent", key_id)
        else:
            chain = found

        # RFC 9421 §3.2: rebuild the signature base and verify it with the agent's key.
        # The signature covers Content-Digest, not the body, so this needs no body yet.
        derived = _derived(method, authority, path, query)
        signature_params, base = _build_base(components, params, derived, fields, _CHECKED)
        try:
            chain.agent.key.verify(signature, base)
        except InvalidSignature:
            raise _error(
                ErrorCode.SIGNATURE_INVALID, "request signature does not verify", key_id
            ) from None

        return PendingRequest(
            chain=chain,
            chain_header=chain_header,
            key_id=key_id,
            nonce=nonce,
            created=created,
            expires=expires,
            remember_until=remember_until,
            label=label,
            covered_components=components,
            signature_params=signature_params,
            signature_base=base,
            signature=signature,
            digest=digest,
            cached=found is not None,
        )

    def accept(
        self,
        pending: PendingRequest,
        *,
        trust: TrustPolicy | Resolver,
        now: datetime,
        revoked: Mapping[str, Collection[str]] | None = None,
    ) -> PendingRequest:
        """Check the chain at ``now`` (windows, revocations) and its root against ``trust``.

        Raises:
            DelegationError: a link expired or is not valid yet.
            RevokedError: a link was revoked.
            TrustError: the root is not accepted.
            TypeError: ``trust`` is async; use :meth:`aaccept`.
        """
        policy = as_trust_policy(trust)
        check_current(pending.chain, now=now, skew=self.clock_skew, revoked=revoked)
        return _with_account(pending, policy.resolve(pending.chain.root))

    async def aaccept(
        self,
        pending: PendingRequest,
        *,
        trust: TrustPolicy | Resolver,
        now: datetime,
        revoked: Mapping[str, Collection[str]] | None = None,
    ) -> PendingRequest:
        """:meth:`accept` for async trust policies.

        Raises:
            PactError: as :meth:`accept`.
        """
        policy = as_trust_policy(trust)
        check_current(pending.chain, now=now, skew=self.clock_skew, revoked=revoked)
        return _with_account(pending, await policy.aresolve(pending.chain.root))

    def finish(self, pending: PendingRequest, body: bytes) -> VerifiedRequest:
        """Check the body against ``Content-Digest`` and complete the verification.

        Call it only with a request that :meth:`accept` or :meth:`aaccept` returned: its
        chain is then remembered, so that the agent's next request skips the link checks.

        Raises:
            DigestError: ``digest_mismatch`` when any known digest differs.
        """
        pending.digest.check(body)
        if not pending.cached and pending.chain.root_account is not None:
            self._cache.put(pending.chain_header, pending.chain.with_root_account(None))
        return VerifiedRequest(
            chain=pending.chain,
            chain_header=pending.chain_header,
            key_id=pending.key_id,
            nonce=pending.nonce,
            created=pending.created,
            expires=pending.expires,
            remember_until=pending.remember_until,
            label=pending.label,
            covered_components=pending.covered_components,
            signature_params=pending.signature_params,
            signature_base=pending.signature_base,
            signature=pending.signature,
        )

    def verify(
        self,
        *,
        method: str,
        authority: str,
        path: str,
        query: str,
        headers: Headers,
        body: bytes,
        trust: TrustPolicy | Resolver,
        now: datetime | None = None,
        revoked: Mapping[str, Collection[str]] | None = None,
        scheme: str | None = None,
    ) -> VerifiedRequest:
        """Verify a whole request at once: :meth:`begin`, :meth:`accept`, :meth:`finish`.

        Replay is not checked here: remember the result's ``(key_id, nonce)``.

        Raises:
            PactError: the first check that fails, with its code.
        """
        moment = now or datetime.now(timezone.utc)
        pending = self.begin(
            method=method,
            authority=authority,
            path=path,
            query=query,
            headers=headers,
            now=moment,
            scheme=scheme,
        )
        pending = self.accept(pending, trust=trust, now=moment, revoked=revoked)
        return self.finish(pending, body)

    def clear_cache(self) -> None:
        """Forget every cached chain."""
        self._cache.clear()

    @property
    def cached_chains(self) -> int:
        """How many verified chains the cache holds."""
        return len(self._cache)

    def _select(
        self, fields: dict[str, list[str]]
    ) -> tuple[str, tuple[str, ...], dict[str, object], bytes]:
        """The one ``tag="pact"`` signature: label, components, parameters, bytes."""
        inputs_text = _combined(fields, "signature-input")
        signatures_text = _combined(fields, "signature")
        if inputs_text is None or signatures_text is None:
            raise _error(ErrorCode.SIGNATURE_MISSING, "Signature-Input or Signature is missing")
        inputs = _parse_dictionary(inputs_text, "Signature-Input")
        signatures = _parse_dictionary(signatures_text, "Signature")

        # §4: select by tag, never by label. Other signatures may be present and are
        # ignored; a Token tag pact is counted too, and refused below, so that no
        # spelling of the tag can hide a second Pact signature.
        found = [
            label
            for label, (_, params) in inputs.items()
            if str(params.get("tag", "")) == TAG
            and isinstance(params.get("tag"), (str, http_sf.Token))
        ]
        if not found:
            raise _error(ErrorCode.SIGNATURE_MISSING, 'no signature has tag="pact"')
        if len(found) > 1:
            raise _error(ErrorCode.SIGNATURE_AMBIGUOUS, 'more than one tag="pact" signature')
        label = found[0]
        covered, params = inputs[label]
        signature_member = signatures.get(label)
        signature = None if signature_member is None else signature_member[0]
        if type(signature) is not bytes or len(signature) != _SIGNATURE_LENGTH:
            raise _error(ErrorCode.SIGNATURE_MALFORMED, "no 64-byte signature for the label")

        components = _components(covered)
        if not _REQUIRED.issubset(components):
            missing = ", ".join(sorted(_REQUIRED.difference(components)))
            raise _error(ErrorCode.SIGNATURE_COMPONENTS, f"signature does not cover {missing}")
        return label, components, params, signature

    def _check_parameters(
        self, params: dict[str, object], now: datetime
    ) -> tuple[str, str, datetime, datetime | None, datetime]:
        """Check the parameters of §4; return keyid, nonce, created, expires, remember."""
        tag, alg, key_id = params.get("tag"), params.get("alg"), params.get("keyid")
        if type(tag) is not str:
            raise _error(ErrorCode.SIGNATURE_MALFORMED, "tag is not a string")
        if type(alg) is not str or alg != ALGORITHM:
            raise _error(ErrorCode.SIGNATURE_ALGORITHM, 'alg must be "ed25519"')
        if type(key_id) is not str or not key_id:
            raise _error(ErrorCode.SIGNATURE_MALFORMED, "keyid is missing")
        nonce = params.get("nonce")
        if type(nonce) is not str or not _NONCE.fullmatch(nonce):
            raise _error(ErrorCode.NONCE_INVALID, "nonce is not 16-128 base64url chars", key_id)

        # Times compare as integers of seconds first, so that any value fits.
        created, expires = params.get("created"), params.get("expires")
        if type(created) is not int or (expires is not None and type(expires) is not int):
            raise _error(ErrorCode.SIGNATURE_MALFORMED, "created/expires must be integers")
        current = now.timestamp()
        if created > current + self._skew_s:
            raise _error(ErrorCode.SIGNATURE_FUTURE, "signature created in the future", key_id)
        if created < current - self._max_age_s - self._skew_s:
            raise _error(ErrorCode.SIGNATURE_EXPIRED, "signature is too old", key_id)
        if expires is not None:
            if expires < created:
                raise _error(ErrorCode.SIGNATURE_MALFORMED, "expires precedes created", key_id)
            if current >= expires + self._skew_s:
                raise _error(ErrorCode.SIGNATURE_EXPIRED, "signature has expired", key_id)

        # The pair must be remembered as long as this signature could pass the checks
        # above: until the age limit runs out, or until expiry if that comes first.
        created_at = _timestamp(created, "created")
        expires_at = None if expires is None else _timestamp(expires, "expires")
        remember = created_at + self.max_age + self.clock_skew
        if expires_at is not None:
            remember = min(remember, expires_at + self.clock_skew)
        return key_id, nonce, created_at, expires_at, remember

    def _check_authority(self, authority: str, scheme: str | None) -> str:
        normal = normalize_authority(authority, scheme)
        if self.authorities is not None and normal not in self.authorities:
            raise _error(ErrorCode.AUTHORITY_MISMATCH, "request is for a host not served here")
        return normal


def _with_account(pending: PendingRequest, account: object | None) -> PendingRequest:
    return PendingRequest(
        chain=pending.chain.accepted_as(account),
        chain_header=pending.chain_header,
        key_id=pending.key_id,
        nonce=pending.nonce,
        created=pending.created,
        expires=pending.expires,
        remember_until=pending.remember_until,
        label=pending.label,
        covered_components=pending.covered_components,
        signature_params=pending.signature_params,
        signature_base=pending.signature_base,
        signature=pending.signature,
        digest=pending.digest,
        cached=pending.cached,
    )
