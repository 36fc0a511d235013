"""Refusals as RFC 9457 problem details, with the challenge headers of protocol §9.

Every refusal of the middleware is one of these: ``application/problem+json`` with
``type``, ``title``, ``status``, a ``detail`` sentence that depends only on the code,
and the stable ``code`` itself. The body never carries exception text, key material,
or anything that says which of several checks passed; the operator's log does.

A 401 also carries ``WWW-Authenticate`` (RFC 9110 §11.6.1 requires a challenge) and
``Accept-Signature`` (RFC 9421 §5.1), which tells a client what to sign and how.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pact_asgi.errors import ErrorCode, PactError
from pact_asgi.signature import ALGORITHM, LABEL, REQUIRED_COMPONENTS, TAG

__all__ = [
    "ACCEPT_SIGNATURE",
    "PROBLEM_CONTENT_TYPE",
    "Problem",
    "problem_for",
    "problem_type",
]

PROBLEM_CONTENT_TYPE = "application/problem+json"

# RFC 9421 §5.1: the label, the covered components, then the requested parameters.
# "created" without a value asks the signer to include a creation time.
ACCEPT_SIGNATURE = (
    f"{LABEL}=("
    + " ".join(f'"{name}"' for name in REQUIRED_COMPONENTS)
    + f');created;alg="{ALGORITHM}";tag="{TAG}"'
)
"""The ``Accept-Signature`` value sent with every 401: what a Pact signature covers."""

_DETAILS: dict[ErrorCode, str] = {
    ErrorCode.MALFORMED_ENCODING: "A Pact header could not be decoded.",
    ErrorCode.MALFORMED_JSON: "The delegation chain is not valid JSON.",
    ErrorCode.MALFORMED_DOCUMENT: "A delegation document does not have the required shape.",
    ErrorCode.MALFORMED_TIME: "A time in the delegation chain is not a valid timestamp.",
    ErrorCode.MALFORMED_CAPABILITY: "A capability in the delegation chain is malformed.",
    ErrorCode.CHAIN_TOO_LARGE: "The delegation chain exceeds this service's size limits.",
    ErrorCode.INVALID_PUBLIC_KEY: "A public key in the delegation chain is not usable.",
    ErrorCode.IDENTITY_MISMATCH: "An identity in the delegation chain does not match its key.",
    ErrorCode.DELEGATION_SIGNATURE_INVALID: "A delegation signature does not verify.",
    ErrorCode.DELEGATION_EXPIRED: "A delegation in the chain has expired.",
    ErrorCode.DELEGATION_NOT_YET_VALID: "A delegation in the chain is not valid yet.",
    ErrorCode.CHAIN_TOO_DEEP: "The delegation chain is longer than one of its links allows.",
    ErrorCode.CAPABILITY_ESCALATION: "A delegation grants more than the link above it.",
    ErrorCode.CHAIN_EMPTY: "The delegation chain is empty.",
    ErrorCode.CHAIN_BROKEN: "The links of the delegation chain do not connect.",
    ErrorCode.UNTRUSTED_ROOT: "The root authority of the delegation chain is not accepted.",
    ErrorCode.DELEGATION_REVOKED: "A delegation in the chain has been revoked.",
    ErrorCode.REVOCATION_INVALID: "A revocation does not verify.",
    ErrorCode.REVOCATION_UNAUTHORIZED: "A revocation was not issued by an entitled party.",
    ErrorCode.SIGNATURE_MISSING: "The request carries no Pact signature.",
    ErrorCode.SIGNATURE_MALFORMED: "The request signature fields are malformed.",
    ErrorCode.SIGNATURE_AMBIGUOUS: "The request carries more than one Pact signature.",
    ErrorCode.SIGNATURE_COMPONENTS: "The request signature does not cover what is required.",
    ErrorCode.SIGNATURE_ALGORITHM: "The request signature does not use ed25519.",
    ErrorCode.SIGNATURE_EXPIRED: "The request signature is too old.",
    ErrorCode.SIGNATURE_FUTURE: "The request signature was created in the future.",
    ErrorCode.NONCE_INVALID: "The request signature has no acceptable nonce.",
    ErrorCode.KEYID_MISMATCH: "The signing key is not the delegation chain's agent.",
    ErrorCode.AUTHORITY_MISMATCH: "The request was not signed for this host.",
    ErrorCode.SIGNATURE_INVALID: "The request signature does not verify.",
    ErrorCode.DIGEST_MISSING: "The request carries no Content-Digest.",
    ErrorCode.DIGEST_UNSUPPORTED: "The Content-Digest uses no supported algorithm.",
    ErrorCode.DIGEST_MISMATCH: "The body does not match its Content-Digest.",
    ErrorCode.REPLAYED: "This request was already received.",
    ErrorCode.REPLAY_STORE_UNAVAILABLE: "Requests cannot be checked for replay right now.",
    ErrorCode.REVOCATION_STORE_UNAVAILABLE: "Revocations cannot be checked right now.",
    ErrorCode.TRUST_UNAVAILABLE: "The root authority cannot be checked right now.",
    ErrorCode.CAPABILITY_DENIED: "The delegation does not grant the capability required.",
    ErrorCode.ROUTE_UNDECLARED: "This route accepts no delegated requests.",
    ErrorCode.BODY_TOO_LARGE: "The request body exceeds this service's limit.",
}


def problem_type(code: ErrorCode) -> str:
    """The RFC 9457 ``type`` URI of a code, e.g. ``urn:pact:error:signature_invalid``."""
    return "urn:pact:error:" + code.value


@dataclass(frozen=True)
class Problem:
    """One ready-made refusal: status, header lines and body bytes."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def content(self) -> dict[str, object]:
        """The problem document as a dict (for ``on_error`` hooks that reshape it)."""
        document: dict[str, object] = json.loads(self.body)
        return document


_CACHE: dict[ErrorCode, Problem] = {}


def problem_for(error: PactError) -> Problem:
    """The refusal for ``error``: built once per code, then served from a table."""
    found = _CACHE.get(error.error_code)
    if found is None:
        found = _CACHE[error.error_code] = _build(error)
    return found


def _build(error: PactError) -> Problem:
    code = error.error_code
    body = json.dumps(
        {
            "type": problem_type(code),
            "title": error.title,
            "status": error.status,
            "detail": _DETAILS.get(code, "The request was refused."),
            "code": code.value,
        },
        separators=(",", ":"),
    ).encode("ascii")
    headers = [
        (b"content-type", PROBLEM_CONTENT_TYPE.encode("ascii")),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"cache-control", b"no-store"),
    ]
    if error.status == 401:
        # A challenge per RFC 9110 §11.6.1; the error parameter follows RFC 6750 §3.
        challenge = f'Pact error="{code.value}"'
        headers.append((b"www-authenticate", challenge.encode("ascii")))
        headers.append((b"accept-signature", ACCEPT_SIGNATURE.encode("ascii")))
    return Problem(status=error.status, headers=tuple(headers), body=body)
