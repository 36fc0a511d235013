"""Generate the language-neutral test vectors of the Pact protocol under tests/vectors/.

Run from anywhere: ``python scripts/gen_vectors.py`` (``--check`` compares instead of
writing). Every key is derived with ``test_seed(label)``, every time and delegation id
is fixed, and Ed25519 signatures are deterministic (RFC 8032), so each run reproduces
the files byte for byte; ``tests/test_vectors.py`` regenerates them in memory and
compares. The expected verdicts are written down here, by hand, from the protocol
(SPEC.md); they are never read back from the library under test.

Documents are built as plain JSON objects and signed over their RFC 8785 bytes, not
through ``Delegation.issue``, which would draw a random id and read the clock. Some
are produced by the reference SDK ``pact-auth`` itself (``source: "pact-auth"``).

Every value is text: keys and signatures base64url, payloads hex, times RFC 3339.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pact  # pact-auth 0.1.1, the reference SDK

from pact_asgi._encoding import b64url_encode, canonical
from pact_asgi.identity import Identity, derive_id, test_seed

VECTOR_DIR = Path(__file__).resolve().parents[1] / "tests" / "vectors"

Json = dict[str, Any]

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
NOW = T0 + timedelta(hours=1)
DAY = timedelta(days=1)
SKEW = 30  # seconds, the protocol's default

# label, entity type, name ("" is omitted from the entity object)
IDENTITIES: list[tuple[str, str, str]] = [
    ("alice", "human", "Alice"),
    ("bob", "human", "Bob"),
    ("zoë", "human", "Zoë Ünïcode-Bjørk"),
    ("mallory", "agent", "mallory"),
    ("agent-1", "agent", "research bot"),
    *[(f"agent-{n}", "agent", "") for n in range(2, 10)],
]
IDS: dict[str, Identity] = {
    label: Identity.from_seed(test_seed(label), type=kind, name=name)
    for label, kind, name in IDENTITIES
}
PACT_IDS: dict[str, Any] = {
    label: pact.identity_from_seed(pact.test_vector_seed(label), kind, name)
    for label, kind, name in IDENTITIES
}

# Two of the eight small-order points of edwards25519: the neutral element (order 1)
# and the point of order 2. Signatures under such keys prove nothing (SPEC §1).
SMALL_ORDER = {
    "order-1": bytes.fromhex("01" + "00" * 31),
    "order-2": bytes.fromhex("ec" + "ff" * 30 + "7f"),
}


def ts(moment: datetime) -> str:
    """RFC 3339 UTC with whole seconds, as documents carry it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def did(label: str) -> str:
    """A fixed delegation id for ``label``: ``d-`` and 32 hex digits."""
    return "d-" + hashlib.sha256(f"pact-vector-delegation:{label}".encode()).hexdigest()[:32]


def entity(label: str) -> Json:
    """The entity object of a test identity."""
    return IDS[label].entity.to_dict()


def raw_entity(raw: bytes, kind: str = "agent") -> Json:
    """An entity object for raw key bytes, with the id derived from them."""
    return {"type": kind, "id": derive_id(raw), "public_key": b64url_encode(raw)}


def unsigned(
    label: str,
    issuer: str,
    to: str,
    capabilities: Sequence[str],
    *,
    depth: int = 1,
    issued: datetime = T0,
    expires: datetime = T0 + DAY,
    not_before: datetime | None = None,
) -> Json:
    """A delegation document with an empty signature."""
    constraints: Json = {"expires": ts(expires), "max_chain_depth": depth}
    if not_before is not None:
        constraints["not_before"] = ts(not_before)
    return {
        "type": "delegation",
        "version": "1.0",
        "id": did(label),
        "from": entity(issuer),
        "to": entity(to),
        "capabilities": list(capabilities),
        "constraints": constraints,
        "issued_at": ts(issued),
        "signature": "",
    }


def sign(document: Json, signer: str) -> Json:
    """Sign over the RFC 8785 bytes with ``signature`` set to ``""`` (SPEC §2)."""
    out = copy.deepcopy(document)
    out["signature"] = ""
    out["signature"] = b64url_encode(IDS[signer].sign(canonical(out)))
    return out


def pact_sign(document: Json, signer: str) -> Json:
    """Let pact-auth sign the same document, through its own dataclass and payload."""
    produced = pact.Delegation.from_dict(copy.deepcopy(document))
    produced._sign(PACT_IDS[signer])
    result: Json = produced.to_dict()
    return result


def issue(label: str, issuer: str, to: str, capabilities: Sequence[str], **kw: Any) -> Json:
    """A signed delegation from ``issuer`` to ``to``."""
    return sign(unsigned(label, issuer, to, capabilities, **kw), issuer)


def header(documents: Sequence[Json], *, ascii_only: bool = True) -> str:
    """The ``Pact-Chain`` value: base64url of the compact JSON array (SPEC §4)."""
    text = json.dumps(list(documents), separators=(",", ":"), ensure_ascii=ascii_only)
    return b64url_encode(text.encode("utf-8"))


def raw_header(text: str | bytes) -> str:
    """A ``Pact-Chain`` value around arbitrary JSON text or bytes."""
    return b64url_encode(text.encode("utf-8") if isinstance(text, str) else text)


def to_json(document: Any) -> str:
    """Compact JSON text (the form a peer sends)."""
    return json.dumps(document, separators=(",", ":"))


def replace_once(text: str, old: str, new: str) -> str:
    """Replace exactly one occurrence, so a vector never silently loses its defect."""
    if text.count(old) != 1:
        raise SystemExit(f"expected one {old!r} in the vector text")
    return text.replace(old, new)


# ---------------------------------------------------------------- identities.json


def identity_vectors() -> list[Json]:
    """Seed derivation and ids (SPEC §1)."""
    out = []
    for label, kind, name in IDENTITIES:
        seed = hashlib.sha256(f"pact-test-vector:{label}".encode()).digest()
        raw = IDS[label].entity.key.public_bytes_raw()
        out.append(
            {
                "name": f"identity-{label}",
                "description": f"seed = SHA-256(UTF-8('pact-test-vector:{label}'))",
                "label": label,
                "seed": seed.hex(),
                "public_key_hex": raw.hex(),
                "public_key": b64url_encode(raw),
                "id": "sha256:" + hashlib.sha256(raw).hexdigest(),
                "entity": {**raw_entity(raw, kind), **({"name": name} if name else {})},
            }
        )
    return out


# ---------------------------------------------------------------- jcs.json

# RFC 8785 Appendix B: IEEE 754 bit patterns and their serialisation (None: refused).
RFC8785_NUMBERS: list[tuple[str, str | None, str]] = [
    ("0000000000000000", "0", "zero"),
    ("8000000000000000", "0", "minus zero"),
    ("0000000000000001", "5e-324", "min pos number"),
    ("8000000000000001", "-5e-324", "min neg number"),
    ("7fefffffffffffff", "1.7976931348623157e+308", "max pos number"),
    ("ffefffffffffffff", "-1.7976931348623157e+308", "max neg number"),
    ("4340000000000000", "9007199254740992", "max pos int"),
    ("c340000000000000", "-9007199254740992", "max neg int"),
    ("4430000000000000", "295147905179352830000", "~2**68"),
    ("7fffffffffffffff", None, "NaN"),
    ("7ff0000000000000", None, "Infinity"),
    ("44b52d02c7e14af5", "9.999999999999997e+22", ""),
    ("44b52d02c7e14af6", "1e+23", ""),
    ("44b52d02c7e14af7", "1.0000000000000001e+23", ""),
    ("444b1ae4d6e2ef4e", "999999999999999700000", ""),
    ("444b1ae4d6e2ef4f", "999999999999999900000", ""),
    ("444b1ae4d6e2ef50", "1e+21", ""),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7", ""),
    ("3eb0c6f7a0b5ed8d", "0.000001", ""),
    ("41b3de4355555553", "333333333.3333332", ""),
    ("41b3de4355555554", "333333333.33333325", ""),
    ("41b3de4355555555", "333333333.3333333", ""),
    ("41b3de4355555556", "333333333.3333334", ""),
    ("41b3de4355555557", "333333333.33333343", ""),
    ("becbf647612f3696", "-0.0000033333333333333333", ""),
    ("43143ff3c1cb0959", "1424953923781206.2", "round to even"),
]

# RFC 8785 §3.2.2 (whitespace, numbers, string escapes), §3.2.3 (property sorting by
# UTF-16 code units) and §3.2.4 (UTF-8 output, no Unicode normalisation).
RFC8785_DOCUMENTS: list[tuple[str, str, str]] = [
    (
        "rfc8785-3.2.2",
        "{\n"
        '  "numbers": [333333333.33333329, 1E30, 4.50,\n'
        "              2e-3, 0.000000000000000000000000001],\n"
        '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n'
        '  "literals": [null, true, false]\n'
        "}",
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    ),
    (
        "rfc8785-3.2.3",
        "{\n"
        '  "\\u20ac": "Euro Sign",\n'
        '  "\\r": "Carriage Return",\n'
        '  "\\ufb33": "Hebrew Letter Dalet With Dagesh",\n'
        '  "1": "One",\n'
        '  "\\ud83d\\ude00": "Emoji: Grinning Face",\n'
        '  "\\u0080": "Control",\n'
        '  "\\u00f6": "Latin Small Letter O With Diaeresis"\n'
        "}",
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    ),
    (
        "rfc8785-3.2.4",
        '{\n  "Unnormalized Unicode":"A\\u030a"\n}',
        '{"Unnormalized Unicode":"A\u030a"}',
    ),
]


def jcs_vectors() -> list[Json]:
    """RFC 8785's own examples; the expected bytes are the RFC's, not computed here."""
    out: list[Json] = []
    for name, source, text in RFC8785_DOCUMENTS:
        out.append(
            {
                "name": name,
                "description": f"RFC 8785 section {name.split('-')[1]} example",
                "kind": "document",
                "input_json": source,
                "canonical_hex": text.encode("utf-8").hex(),
                "canonical_utf8": text,
            }
        )
    for bits, expected, comment in RFC8785_NUMBERS:
        vector: Json = {
            "name": f"rfc8785-b-{bits}",
            "description": "RFC 8785 Appendix B" + (f": {comment}" if comment else ""),
            "kind": "number",
            "ieee754_hex": bits,
        }
        if expected is None:
            vector["error"] = "not representable in JSON"
        else:
            vector["canonical_utf8"] = expected
            vector["canonical_hex"] = expected.encode("ascii").hex()
        out.append(vector)
    return out


# ---------------------------------------------------------------- capabilities.json

LONG_OK = "storage:read,path=/" + "a" * (512 - len("storage:read,path=/"))
LONG_BAD = LONG_OK + "a"

CAPABILITY_PARSE: list[tuple[str, str | None, str]] = [
    ("*", "*", "everything"),
    ("*:*", "*:*", "two wildcard segments"),
    ("github", "github:*", "a one-segment scope s means s:*"),
    ("github:*", "github:*", "trailing wildcard"),
    ("github:pr:create", "github:pr:create", "three segments"),
    ("x:*:y", "x:*:y", "a wildcard inner segment"),
    ("k8s.pods_v1:delete-all", "k8s.pods_v1:delete-all", "segment characters . _ -"),
    ("github:pr:create,repo=myorg/*", "github:pr:create,repo=myorg/*", "a glob constraint"),
    ("storage:read,path=/data/public/**", "storage:read,path=/data/public/**", "a ** glob"),
    ("email:send,to=*@example.com", "email:send,to=*@example.com", "a leading glob"),
    ("files:get,name=a=b", "files:get,name=a=b", "'=' inside a pattern is literal text"),
    ("api:write,max_cost<100", "api:write,max_cost<100", "a strict bound"),
    ("api:write,max_cost<100.50", "api:write,max_cost<100.5", "trailing zeros dropped"),
    ("api:write,max_cost<=007", "api:write,max_cost<=7", "leading zeros dropped"),
    ("a:b,z=1,a<=2.000", "a:b,a<=2,z=1", "constraints sorted by key"),
    (LONG_OK, LONG_OK, "exactly 512 characters"),
    ("", None, "empty"),
    ("github::read", None, "empty segment"),
    (":read", None, "empty first segment"),
    ("read:", None, "empty last segment"),
    ("a b", None, "space"),
    (" a:b", None, "leading space (pact-auth strips it; we refuse)"),
    ("a:b\n", None, "trailing newline"),
    ("a*:b", None, "'*' inside a segment"),
    ("a:**", None, "'**' as a segment"),
    ("\u00e9:read", None, "non-ASCII segment"),
    ("a:b,", None, "empty constraint"),
    ("a:b,k", None, "constraint without operator"),
    ("a:b,k=", None, "empty pattern"),
    ("a:b,=x", None, "empty key"),
    ("a:b,k=\u00e9", None, "non-ASCII pattern"),
    ("a:b,k=x,y", None, "',' cannot appear in a pattern"),
    ("a:b,k=1,k=2", None, "repeated key"),
    ("a:b,k<=", None, "bound without number"),
    ("a:b,k<1e5", None, "exponent in a number"),
    ("a:b,k<-1", None, "negative number"),
    ("a:b,k<.5", None, "number without integer part"),
    ("flights:book<500USD", None, "pact-auth's '<' shorthand is not in the grammar"),
    (LONG_BAD, None, "513 characters"),
]

CAPABILITY_COVERS: list[tuple[str, str, bool, str]] = [
    ("*", "github:pr:create", True, "'*' covers everything"),
    ("*", "*", True, "'*' covers itself"),
    ("github:*", "*", False, "a scope never covers '*'"),
    ("github", "github:pr:create", True, "'github' means 'github:*'"),
    ("github:*", "github", True, "both mean github:*"),
    ("github:*", "gitlab:read", False, "other first segment"),
    ("github:pr:*", "github:pr", False, "a trailing '*' needs one or more segments"),
    ("github:read", "github:pr:read", False, "no prefix hierarchy (pact-auth says true)"),
    ("github:*:read", "github:pr:read", True, "inner '*' matches one segment"),
    ("github:*:read", "github:*:read", True, "a pattern covers itself"),
    ("github:pr:read", "github:*:read", False, "a fixed segment does not cover '*'"),
    ("github:*:read", "github:pr:*", False, "'*' open scope is wider"),
    ("github:pr:create,repo=myorg/*", "github:pr:create,repo=myorg/api", True, "glob match"),
    (
        "github:pr:create,repo=myorg/*",
        "github:pr:create,repo=myorg/api/v2",
        False,
        "'*' does not match '/' (pact-auth says true)",
    ),
    ("storage:read,path=/data/**", "storage:read,path=/data/a/b", True, "'**' matches '/'"),
    ("storage:read,path=/data/**", "storage:read,path=/data/*", True, "glob containment"),
    ("storage:read,path=/data/*", "storage:read,path=/data/**", False, "'**' is wider"),
    ("a:b,k=x**y", "a:b,k=x*y", True, "'**' contains '*'"),
    ("a:b,k=x*y", "a:b,k=x**y", False, "'*' does not contain '**'"),
    ("github:pr:create,repo=myorg/*", "github:pr:create", False, "missing constrained key"),
    ("github:pr:create", "github:pr:create,repo=x", True, "extra keys are unconstrained"),
    ("email:send,to=*@example.com", "email:send,to=bob@example.com", True, "suffix glob"),
    ("email:send,to=*@example.com", "email:send,to=bob@example.org", False, "suffix differs"),
    ("api:write,max_cost<100", "api:write,max_cost<50", True, "tighter bound"),
    ("api:write,max_cost<100", "api:write,max_cost<100", True, "equal strict bounds"),
    ("api:write,max_cost<100", "api:write,max_cost<=100", False, "'<=100' admits 100"),
    ("api:write,max_cost<=100", "api:write,max_cost<100", True, "'<100' within '<=100'"),
    ("api:write,max_cost<=100", "api:write,max_cost=100", True, "value on the bound"),
    ("api:write,max_cost<100", "api:write,max_cost=100", False, "value on a strict bound"),
    ("api:write,max_cost<100", "api:write,max_cost=99.999", True, "decimal value"),
    ("api:write,max_cost<100", "api:write,max_cost=abc", False, "not a number"),
    ("api:write,max_cost<100", "api:write,max_cost=9*", False, "a pattern is not a number"),
    ("api:write,max_cost=5", "api:write,max_cost<5", False, "a pattern never admits a bound"),
    ("a:b,n<0.3", "a:b,n<=0.29999999999999999", True, "exact decimals, not floats"),
    ("a:b,n<=0.1", "a:b,n=0.10", True, "0.10 equals 0.1"),
]

CAPABILITY_TEMPLATES: list[tuple[str, str, dict[str, str], bool | str, str]] = [
    (
        "github:pr:create,repo=myorg/*",
        "github:pr:create,repo={owner}/{repo}",
        {"owner": "myorg", "repo": "api"},
        True,
        "parameters fill a literal value",
    ),
    (
        "github:pr:create,repo=myorg/*",
        "github:pr:create,repo={owner}/{repo}",
        {"owner": "other", "repo": "api"},
        False,
        "another owner",
    ),
    (
        "github:pr:create,repo=myorg/*",
        "github:pr:create,repo={owner}/{repo}",
        {"owner": "myorg", "repo": "a/b"},
        False,
        "a '/' in a parameter is literal and '*' does not match it",
    ),
    (
        "github:pr:create,repo=myorg/api",
        "github:pr:create,repo={owner}/{repo}",
        {"owner": "myorg", "repo": "*"},
        False,
        "a '*' in a parameter is literal text, not a wildcard",
    ),
    (
        "github:pr:create,repo=myorg/api",
        "github:pr:create,repo={owner}/{repo}",
        {"owner": "myorg", "repo": "api,admin=true"},
        False,
        "a ',' in a parameter cannot add a constraint",
    ),
    ("storage:*", "storage:{op}", {"op": "read"}, True, "a parameter fills a scope segment"),
    ("storage:*", "storage:{op}", {"op": "*"}, "capability_denied", "'*' is no segment"),
    (
        "storage:*",
        "storage:{op}",
        {"op": "read:write"},
        "capability_denied",
        "':' cannot add a segment",
    ),
]


def capability_vectors() -> Json:
    """Parsing, covering and route templates (SPEC §5, §6)."""
    parse: list[Json] = []
    for text, canonical_text, description in CAPABILITY_PARSE:
        vector: Json = {"name": f"parse-{len(parse):02d}", "description": description}
        vector["input"] = text
        if canonical_text is None:
            vector["error"] = "malformed_capability"
        else:
            vector["canonical"] = canonical_text
        parse.append(vector)
    covers = [
        {
            "name": f"covers-{i:02d}",
            "description": description,
            "granted": granted,
            "required": required,
            "covers": expected,
        }
        for i, (granted, required, expected, description) in enumerate(CAPABILITY_COVERS)
    ]
    templates = []
    for i, (granted, template, params, outcome, description) in enumerate(CAPABILITY_TEMPLATES):
        vector = {
            "name": f"template-{i:02d}",
            "description": description,
            "granted": granted,
            "template": template,
            "params": params,
        }
        if isinstance(outcome, bool):
            vector["covers"] = outcome
        else:
            vector["error"] = outcome
        templates.append(vector)
    return {"parse": parse, "covers": covers, "templates": templates}


# ---------------------------------------------------------------- delegations.json


def delegation_vector(
    name: str, description: str, document: Json, *, source: str, signer: Json, verifies: bool
) -> Json:
    payload = canonical({**document, "signature": ""})
    return {
        "name": name,
        "description": description,
        "source": source,
        "document": document,
        "signing_payload_utf8": payload.decode("utf-8"),
        "signing_payload_hex": payload.hex(),
        "signer_public_key": signer["public_key"],
        "signature": document["signature"],
        "verifies": verifies,
    }


def delegation_vectors() -> list[Json]:
    """Documents, the exact bytes that are signed, and whether the signature verifies."""
    root = issue("deleg-root", "alice", "agent-1", ["storage:read"])
    full = issue(
        "deleg-full",
        "alice",
        "agent-1",
        ["github:pr:create,repo=myorg/*", "storage:read", "api:write,max_cost<100"],
        depth=3,
        not_before=T0,
    )
    sub = issue(
        "deleg-sub",
        "agent-1",
        "agent-2",
        ["github:pr:create,repo=myorg/api"],
        depth=2,
        issued=T0 + timedelta(minutes=5),
        expires=T0 + timedelta(hours=12),
    )
    unicode = issue("deleg-unicode", "zoë", "agent-2", ["notes:write"], depth=1)
    pact_doc = pact_sign(
        unsigned(
            "deleg-pact",
            "alice",
            "agent-3",
            ["storage:read", "storage:write"],
            depth=2,
            not_before=T0,
        ),
        "alice",
    )
    ours_same = sign(
        unsigned(
            "deleg-pact",
            "alice",
            "agent-3",
            ["storage:read", "storage:write"],
            depth=2,
            not_before=T0,
        ),
        "alice",
    )
    if pact_doc != ours_same:  # the two signers must agree byte for byte
        raise SystemExit("pact-auth and pact_asgi sign the same document differently")
    tampered = copy.deepcopy(root)
    tampered["constraints"]["expires"] = ts(T0 + 30 * DAY)
    wrong_signer = sign(unsigned("deleg-wrong", "alice", "agent-1", ["storage:read"]), "mallory")
    alice = entity("alice")
    return [
        delegation_vector(
            "root-minimal",
            "root delegation, depth 1, no not_before",
            root,
            source="pact_asgi",
            signer=alice,
            verifies=True,
        ),
        delegation_vector(
            "root-full",
            "three capabilities, depth 3, not_before",
            full,
            source="pact_asgi",
            signer=alice,
            verifies=True,
        ),
        delegation_vector(
            "sub-delegation",
            "agent-1 narrows to agent-2 (unnamed)",
            sub,
            source="pact_asgi",
            signer=entity("agent-1"),
            verifies=True,
        ),
        delegation_vector(
            "unicode-name",
            "non-ASCII issuer name: payload holds UTF-8",
            unicode,
            source="pact_asgi",
            signer=entity("zoë"),
            verifies=True,
        ),
        delegation_vector(
            "pact-auth",
            "signed by pact-auth's Delegation._sign",
            pact_doc,
            source="pact-auth",
            signer=alice,
            verifies=True,
        ),
        delegation_vector(
            "tampered-expiry",
            "expires changed after signing",
            tampered,
            source="pact_asgi",
            signer=alice,
            verifies=False,
        ),
        delegation_vector(
            "wrong-signer",
            "from is alice, signed by mallory",
            wrong_signer,
            source="pact_asgi",
            signer=alice,
            verifies=False,
        ),
    ]


# ---------------------------------------------------------------- chains.json


def ok(documents: Sequence[Json]) -> Json:
    """The expected result of a chain that verifies (SPEC §3)."""
    starts = [
        d["constraints"]["not_before"] for d in documents if "not_before" in d["constraints"]
    ]
    return {
        "valid": True,
        "root_id": documents[0]["from"]["id"],
        "agent_id": documents[-1]["to"]["id"],
        "capabilities": documents[-1]["capabilities"],
        "not_before": max(starts) if starts else None,  # same format: text order is time order
        "expires_at": min(d["constraints"]["expires"] for d in documents),
        "delegation_ids": [d["id"] for d in documents],
    }


def fail(code: str, link: int | None = None) -> Json:
    """The expected refusal: its error code, and the failing link when the walk knows it."""
    out: Json = {"valid": False, "error": code}
    if link is not None:
        out["link"] = link
    return out


class Chains:
    """Collects chain vectors; each error vector has exactly one defect."""

    def __init__(self) -> None:
        self.vectors: list[Json] = []

    def add(
        self,
        name: str,
        description: str,
        chain: Sequence[Json] | str,
        expected: Json,
        *,
        now: datetime = NOW,
        trusted: Iterable[str] = ("alice",),
        revoked: dict[str, list[str]] | None = None,
        skew: int = SKEW,
        limits: dict[str, int] | None = None,
        chain_header: str | None = None,
    ) -> None:
        vector: Json = {"name": name, "description": description}
        if isinstance(chain, str):
            vector["header"] = chain
        else:
            vector["header"] = chain_header or header(chain)
            vector["documents"] = list(chain)
        vector["now"] = ts(now)
        vector["skew_seconds"] = skew
        vector["trusted_roots"] = [IDS[r].id if r in IDS else r for r in trusted]
        vector["revoked"] = revoked or {}
        if limits:
            vector["limits"] = limits
        vector["expected"] = expected
        self.vectors.append(vector)


def linear(
    prefix: str,
    labels: Sequence[str],
    capabilities: Sequence[Sequence[str]],
    depths: Sequence[int],
    **kw: Any,
) -> list[Json]:
    """A chain through ``labels`` (root issuer first), one signed link per step."""
    return [
        issue(f"{prefix}-{i}", labels[i], labels[i + 1], capabilities[i], depth=depths[i], **kw)
        for i in range(len(labels) - 1)
    ]


def chain_vectors() -> list[Json]:
    """Chains and their verdicts: one vector per chain-level error code, and more."""
    c = Chains()
    one = [issue("c1", "alice", "agent-1", ["storage:read", "storage:write"])]
    two = linear(
        "c2",
        ["alice", "agent-1", "agent-2"],
        [["github:pr:create,repo=myorg/*", "storage:read"], ["github:pr:create,repo=myorg/api"]],
        [2, 1],
    )
    three = linear(
        "c3",
        ["alice", "agent-1", "agent-2", "agent-3"],
        [["storage:*"], ["storage:read"], ["storage:read,path=/data/public/**"]],
        [3, 2, 1],
    )

    # --- chains that verify
    c.add("valid-depth-1", "one link from a trusted human", one, ok(one))
    c.add("valid-depth-2", "a sub-delegation that narrows a glob", two, ok(two))
    c.add("valid-depth-3", "two sub-delegations", three, ok(three))
    agents = ["alice", *[f"agent-{n}" for n in range(1, 9)]]
    eight = linear("c8", agents, [["storage:read"]] * 8, list(range(8, 0, -1)))
    c.add("valid-8-links", "the hard limit of 8 links", eight, ok(eight))
    many = [issue("c64", "alice", "agent-1", [f"svc:op{n:02d}" for n in range(64)])]
    c.add("valid-64-capabilities", "the hard limit of 64 capabilities", many, ok(many))
    longest = [issue("c512", "alice", "agent-1", [LONG_OK])]
    c.add(
        "valid-512-character-capability", "the hard limit of 512 characters", longest, ok(longest)
    )
    c.add(
        "valid-padded-header",
        "base64url padding is tolerated",
        one,
        ok(one),
        chain_header=header(one) + "=" * (-len(header(one)) % 4),
    )
    c.add(
        "valid-header-whitespace-json",
        "whitespace and key order in the header JSON do "
        "not matter: the signature covers the RFC 8785 form",
        one,
        ok(one),
        chain_header=raw_header(json.dumps([dict(reversed(list(one[0].items())))], indent=2)),
    )
    uni = [issue("cuni", "zoë", "agent-1", ["notes:write"])]
    c.add(
        "valid-unicode-escaped",
        "non-ASCII name sent as \\u escapes",
        uni,
        ok(uni),
        trusted=["zoë"],
    )
    c.add(
        "valid-unicode-raw-utf8",
        "non-ASCII name sent as raw UTF-8",
        uni,
        ok(uni),
        trusted=["zoë"],
        chain_header=header(uni, ascii_only=False),
    )
    nb = [
        issue("cnb", "alice", "agent-1", ["storage:read"], not_before=NOW + timedelta(seconds=20))
    ]
    c.add("valid-not-before-within-skew", "not_before 20 s ahead, skew 30 s", nb, ok(nb))
    edge = [
        issue(
            "cnb30", "alice", "agent-1", ["storage:read"], not_before=NOW + timedelta(seconds=30)
        )
    ]
    c.add("valid-not-before-at-skew", "now = not_before - skew is accepted", edge, ok(edge))
    c.add(
        "valid-one-second-before-expiry",
        "now = expires - 1 s",
        one,
        ok(one),
        now=T0 + DAY - timedelta(seconds=1),
    )
    bounds = linear(
        "cbound",
        ["alice", "agent-1", "agent-2"],
        [["api:write,max_cost<100"], ["api:write,max_cost<=99.99"]],
        [2, 1],
    )
    c.add("valid-narrower-bound", "'<=99.99' lies within '<100'", bounds, ok(bounds))
    star = linear("cstar", ["alice", "agent-1", "agent-2"], [["*"], ["github:*"]], [2, 1])
    c.add("valid-star-root", "'*' narrowed to 'github:*'", star, ok(star))
    c.add(
        "valid-revoked-by-non-issuer",
        "link 1 'revoked' by its own delegate and by a "
        "stranger: only issuers at or above a link may revoke it",
        two,
        ok(two),
        revoked={two[1]["id"]: [IDS["agent-2"].id, IDS["mallory"].id]},
    )
    c.add(
        "valid-root-revoked-by-delegate",
        "the root link 'revoked' by its delegate does not count",
        two,
        ok(two),
        revoked={two[0]["id"]: [IDS["agent-1"].id]},
    )
    c.add(
        "valid-unrelated-revocation",
        "a revocation of another delegation",
        one,
        ok(one),
        revoked={did("unrelated"): [IDS["alice"].id]},
    )
    extreme = unsigned("cextreme", "alice", "agent-1", ["storage:read"])
    extreme["constraints"].update(
        expires="9999-12-31T23:59:59Z", not_before="0001-01-01T00:00:00Z"
    )
    extreme["issued_at"] = "0001-01-01T00:00:00Z"
    extreme = sign(extreme, "alice")
    c.add(
        "valid-extreme-times",
        "not_before in year 1, expires at the end of 9999: the "
        "skew is added to the clock, never subtracted from a wire time",
        [extreme],
        ok([extreme]),
    )
    c.add(
        "valid-several-trusted-roots",
        "the root is one of several trusted",
        one,
        ok(one),
        trusted=["bob", "alice"],
    )

    # pact-auth semantics: not_before set on every link, sub-links bounded by the root's
    # depth minus the links before (its sub_delegate), signed by pact-auth itself.
    pa = []
    for i, (frm, to, caps, depth) in enumerate(
        [
            ("alice", "agent-1", ["storage:*"], 3),
            ("agent-1", "agent-2", ["storage:read"], 2),
            ("agent-2", "agent-3", ["storage:read"], 1),
        ]
    ):
        start = T0 + timedelta(minutes=i)
        pa.append(
            pact_sign(
                unsigned(
                    f"cpact-{i}",
                    frm,
                    to,
                    caps,
                    depth=depth,
                    issued=start,
                    not_before=start,
                    expires=T0 + DAY,
                ),
                frm,
            )
        )
    c.add("valid-pact-auth-depth-3", "three links produced by pact-auth", pa, ok(pa))

    # --- chain_empty, chain_broken, chain_too_large
    c.add("chain-empty", "an empty JSON array", raw_header("[]"), fail("chain_empty"))
    broken = [two[0], issue("cbroken", "mallory", "agent-2", ["github:pr:create,repo=myorg/api"])]
    c.add(
        "chain-broken",
        "link 1 is issued by mallory, not by link 0's delegate",
        broken,
        fail("chain_broken", 1),
    )
    nine = linear(
        "c9",
        ["alice", *[f"agent-{n}" for n in range(1, 10)]],
        [["storage:read"]] * 9,
        list(range(9, 0, -1)),
    )
    c.add(
        "chain-too-large-links", "9 links, one more than the limit", nine, fail("chain_too_large")
    )
    c.add(
        "chain-too-large-links-lowered",
        "3 links with max_links lowered to 2",
        three,
        fail("chain_too_large"),
        limits={"max_links": 2},
    )
    too_many = [issue("c65", "alice", "agent-1", [f"svc:op{n:02d}" for n in range(65)])]
    c.add(
        "chain-too-large-capabilities",
        "65 capabilities in one link",
        too_many,
        fail("chain_too_large"),
    )
    too_long = [issue("c513", "alice", "agent-1", [LONG_BAD])]
    c.add(
        "chain-too-large-capability-length",
        "a 513-character capability",
        too_long,
        fail("chain_too_large"),
    )
    c.add(
        "chain-too-large-header",
        "a valid chain with max_header_bytes lowered to 512",
        one,
        fail("chain_too_large"),
        limits={"max_header_bytes": 512},
    )

    # --- delegation_signature_invalid
    tampered = copy.deepcopy(one)
    tampered[0]["constraints"]["expires"] = ts(T0 + 365 * DAY)
    c.add(
        "signature-tampered-expiry",
        "expires extended after signing",
        tampered,
        fail("delegation_signature_invalid", 0),
    )
    narrowed = copy.deepcopy(two)
    narrowed[1]["capabilities"] = ["github:pr:create,repo=myorg/web"]
    c.add(
        "signature-tampered-inner-capability",
        "link 1's capability swapped for another the root allows",
        narrowed,
        fail("delegation_signature_invalid", 1),
    )
    wrong = [sign(unsigned("cwrong", "alice", "agent-1", ["storage:read"]), "mallory")]
    c.add(
        "signature-wrong-key",
        "from is alice, signed by mallory",
        wrong,
        fail("delegation_signature_invalid", 0),
    )
    by_delegate = [sign(unsigned("cdeleg", "alice", "agent-1", ["storage:read"]), "agent-1")]
    c.add(
        "signature-by-delegate",
        "signed by the delegate instead of the issuer",
        by_delegate,
        fail("delegation_signature_invalid", 0),
    )
    loose = unsigned("cloose", "alice", "agent-1", ["storage:read"])
    loose["signature"] = b64url_encode(
        IDS["alice"].sign(json.dumps(loose, sort_keys=True).encode())
    )
    c.add(
        "signature-over-non-canonical-json",
        "signed over sorted JSON with spaces, not RFC 8785",
        [loose],
        fail("delegation_signature_invalid", 0),
    )
    without = unsigned("cwithout", "alice", "agent-1", ["storage:read"])
    payload = canonical({k: v for k, v in without.items() if k != "signature"})
    without["signature"] = b64url_encode(IDS["alice"].sign(payload))
    c.add(
        "signature-without-signature-member",
        'signed with the signature member removed instead of set to ""',
        [without],
        fail("delegation_signature_invalid", 0),
    )
    forged = copy.deepcopy(one)
    forged[0]["signature"] = b64url_encode(bytes(64))
    c.add("signature-zero-bytes", "64 zero bytes", forged, fail("delegation_signature_invalid", 0))

    # --- delegation_expired, delegation_not_yet_valid
    c.add(
        "expired-at-expiry",
        "now = expires: no skew on expiry",
        one,
        fail("delegation_expired", 0),
        now=T0 + DAY,
    )
    short = [
        two[0],
        issue(
            "cshort",
            "agent-1",
            "agent-2",
            ["github:pr:create,repo=myorg/api"],
            expires=T0 + timedelta(minutes=30),
        ),
    ]
    c.add(
        "expired-inner-link", "link 1 expired 30 minutes ago", short, fail("delegation_expired", 1)
    )
    late = [
        issue(
            "clate", "alice", "agent-1", ["storage:read"], not_before=NOW + timedelta(seconds=31)
        )
    ]
    c.add(
        "not-yet-valid-beyond-skew",
        "not_before 31 s ahead, skew 30 s",
        late,
        fail("delegation_not_yet_valid", 0),
    )
    later = [
        two[0],
        issue(
            "clater",
            "agent-1",
            "agent-2",
            ["github:pr:create,repo=myorg/api"],
            not_before=NOW + timedelta(hours=2),
        ),
    ]
    c.add(
        "not-yet-valid-inner-link",
        "link 1 starts in two hours",
        later,
        fail("delegation_not_yet_valid", 1),
    )
    c.add(
        "not-yet-valid-zero-skew",
        "not_before 20 s ahead with skew 0",
        nb,
        fail("delegation_not_yet_valid", 0),
        skew=0,
    )

    # --- chain_too_deep
    shallow = linear(
        "cdeep1", ["alice", "agent-1", "agent-2"], [["storage:read"], ["storage:read"]], [1, 1]
    )
    c.add(
        "too-deep-root-bound",
        "the root allows 1 link, the chain has 2",
        shallow,
        fail("chain_too_deep", 0),
    )
    inner = linear(
        "cdeep2",
        ["alice", "agent-1", "agent-2", "agent-3"],
        [["storage:*"], ["storage:read"], ["storage:read"]],
        [3, 1, 1],
    )
    c.add(
        "too-deep-inner-bound",
        "the root allows 3 links but link 1 allows only itself (pact-auth checks the root only)",
        inner,
        fail("chain_too_deep", 1),
    )

    # --- capability_escalation
    for name, parent, child, why in [
        ("escalation-other-action", "storage:read", "storage:write", "read to write"),
        (
            "escalation-scope-hierarchy",
            "github:read",
            "github:pr:read",
            "a shorter scope is no prefix (pact-auth accepts)",
        ),
        (
            "escalation-glob-slash",
            "storage:read,path=/data/*",
            "storage:read,path=/data/a/b",
            "'*' does not cross '/' (pact-auth accepts)",
        ),
        (
            "escalation-bound",
            "api:write,max_cost<100",
            "api:write,max_cost<=100",
            "'<=100' admits 100",
        ),
        (
            "escalation-dropped-constraint",
            "github:pr:create,repo=myorg/*",
            "github:pr:create",
            "the child drops the repo constraint",
        ),
        ("escalation-to-star", "github:*", "*", "'*' is wider than any scope"),
    ]:
        chain = linear(f"c{name}", ["alice", "agent-1", "agent-2"], [[parent], [child]], [2, 1])
        c.add(name, f"{parent!r} then {child!r}: {why}", chain, fail("capability_escalation", 1))

    # --- untrusted_root
    bobs = [issue("cbob", "bob", "agent-1", ["storage:read"])]
    c.add(
        "untrusted-root",
        "a valid chain from bob; only alice is trusted",
        bobs,
        fail("untrusted_root"),
    )
    c.add(
        "untrusted-root-self-issued",
        "agent-1 authorises itself",
        [issue("cself", "agent-1", "agent-1", ["*"])],
        fail("untrusted_root"),
    )

    # --- delegation_revoked (SPEC §7)
    c.add(
        "revoked-by-own-issuer",
        "link 1 revoked by agent-1, who issued it",
        two,
        fail("delegation_revoked", 1),
        revoked={two[1]["id"]: [IDS["agent-1"].id]},
    )
    c.add(
        "revoked-by-earlier-issuer",
        "link 1 revoked by alice, issuer of link 0",
        two,
        fail("delegation_revoked", 1),
        revoked={two[1]["id"]: [IDS["alice"].id]},
    )
    c.add(
        "revoked-root",
        "link 0 revoked by alice",
        two,
        fail("delegation_revoked", 0),
        revoked={two[0]["id"]: [IDS["alice"].id]},
    )
    c.add(
        "revoked-one-of-several-revokers",
        "a stranger and the root revoke link 2",
        three,
        fail("delegation_revoked", 2),
        revoked={three[2]["id"]: [IDS["mallory"].id, IDS["alice"].id]},
    )

    # --- identity_mismatch, invalid_public_key
    for side in ("from", "to"):
        doc = unsigned(f"cmismatch-{side}", "alice", "agent-1", ["storage:read"])
        doc[side]["id"] = IDS["bob"].id
        c.add(
            f"identity-mismatch-{side}",
            f"{side}.id is bob's id, the key is not bob's",
            [sign(doc, "alice")],
            fail("identity_mismatch"),
            trusted=["alice", "bob"],
        )
    for label, raw in SMALL_ORDER.items():
        doc = unsigned(f"csmall-{label}", "alice", "agent-1", ["storage:read"])
        doc["to"] = raw_entity(raw)
        c.add(
            f"invalid-key-small-order-{label}",
            f"the agent's key is the small-order point ({label})",
            [sign(doc, "alice")],
            fail("invalid_public_key"),
        )
    universal = unsigned("cuniversal", "alice", "agent-1", ["*"])
    universal["from"] = raw_entity(SMALL_ORDER["order-1"], "human")
    # R = the neutral element, S = 0: "verifies" under the neutral key for any message.
    universal["signature"] = b64url_encode(SMALL_ORDER["order-1"] + bytes(32))
    c.add(
        "invalid-key-small-order-root",
        "a root key of order 1 with a signature that verifies for every message",
        [universal],
        fail("invalid_public_key"),
        trusted=[derive_id(SMALL_ORDER["order-1"])],
    )
    short_key = unsigned("cshortkey", "alice", "agent-1", ["storage:read"])
    short_key["to"] = raw_entity(IDS["agent-1"].entity.key.public_bytes_raw()[:31])
    c.add(
        "invalid-key-31-bytes",
        "a 31-byte public key",
        [sign(short_key, "alice")],
        fail("invalid_public_key"),
    )

    # --- malformed_encoding
    c.add(
        "malformed-encoding-header",
        "the header is not base64url",
        "eyJ!!",
        fail("malformed_encoding"),
    )
    # The first of these chains whose base64url uses '-' or '_' (so standard differs).
    candidates = [*map(header, (one, two, three, eight, pa)), header(uni, ascii_only=False)]
    plain = next(h for h in candidates if "-" in h or "_" in h)
    standard = plain.replace("-", "+").replace("_", "/")
    c.add(
        "malformed-encoding-standard-base64",
        "a valid chain in standard base64 ('+', '/'), not base64url",
        standard,
        fail("malformed_encoding"),
    )
    bad_sig = copy.deepcopy(one)
    bad_sig[0]["signature"] = bad_sig[0]["signature"][:-2] + "+/"
    c.add(
        "malformed-encoding-signature",
        "the signature is not base64url",
        bad_sig,
        fail("malformed_encoding"),
    )
    short_sig = copy.deepcopy(one)
    short_sig[0]["signature"] = b64url_encode(bytes(63))
    c.add(
        "malformed-encoding-signature-length",
        "a 63-byte signature",
        short_sig,
        fail("malformed_encoding"),
    )

    # --- malformed_json (the JSON text itself is hostile)
    text = to_json(one)
    c.add(
        "malformed-json-not-json",
        "base64url of text that is not JSON",
        raw_header("[{not json}]"),
        fail("malformed_json"),
    )
    c.add(
        "malformed-json-not-utf8",
        "bytes that are not UTF-8",
        raw_header(b"[\xff\xfe]"),
        fail("malformed_json"),
    )
    dup = replace_once(text, '"max_chain_depth":1', '"max_chain_depth":1,"max_chain_depth":5')
    c.add(
        "malformed-json-duplicate-key",
        "max_chain_depth given twice (1, then 5)",
        raw_header(dup),
        fail("malformed_json"),
    )
    surrogate = replace_once(text, '"name":"research bot"', '"name":"\\ud800"')
    c.add(
        "malformed-json-lone-surrogate",
        "a lone surrogate escape in a name",
        raw_header(surrogate),
        fail("malformed_json"),
    )
    c.add(
        "malformed-json-deep-nesting",
        "100 nested arrays",
        raw_header("[" * 100 + "]" * 100),
        fail("malformed_json"),
    )
    nan = replace_once(text, '"max_chain_depth":1', '"max_chain_depth":NaN')
    c.add("malformed-json-nan", "NaN is not JSON", raw_header(nan), fail("malformed_json"))
    c.add(
        "malformed-json-trailing-data",
        "a second value after the array",
        raw_header(text + "[]"),
        fail("malformed_json"),
    )

    # --- malformed_document (each document is signed after the change)
    def mutated(
        name: str,
        description: str,
        change: Any,
        code: str = "malformed_document",
        *,
        after_signing: bool = False,
    ) -> None:
        # Signed after the change where JSON allows it: the refusal must not rest on
        # the signature, so a verifier that skipped the check would accept the document.
        doc = unsigned(f"cmal-{name}", "alice", "agent-1", ["storage:read"])
        if after_signing:
            doc = sign(doc, "alice")
            change(doc)
        else:
            change(doc)
            doc = sign(doc, "alice")
        c.add(f"malformed-{name}", description, [doc], fail(code))

    c.add(
        "malformed-document-not-an-array",
        "one object, not an array",
        raw_header(to_json(one[0])),
        fail("malformed_document"),
    )
    c.add(
        "malformed-document-array-of-strings",
        "an array of strings",
        raw_header('["delegation"]'),
        fail("malformed_document"),
    )
    mutated(
        "document-unknown-member", "an extra member 'comment'", lambda d: d.update(comment="x")
    )
    mutated("document-missing-member", "issued_at missing", lambda d: d.pop("issued_at"))
    mutated("document-wrong-type", "type 'Delegation'", lambda d: d.update(type="Delegation"))
    mutated("document-wrong-version", "version '2.0'", lambda d: d.update(version="2.0"))
    mutated("document-version-number", "version as the number 1", lambda d: d.update(version=1))
    mutated("document-bad-id", "id with upper-case hex", lambda d: d.update(id=d["id"].upper()))
    mutated(
        "document-depth-zero",
        "max_chain_depth 0",
        lambda d: d["constraints"].update(max_chain_depth=0),
    )
    mutated(
        "document-depth-bool",
        "max_chain_depth true",
        lambda d: d["constraints"].update(max_chain_depth=True),
    )
    mutated(
        "document-depth-string",
        "max_chain_depth '1'",
        lambda d: d["constraints"].update(max_chain_depth="1"),
    )
    mutated(
        "document-depth-too-big",
        "max_chain_depth 2^53, beyond exact JSON integers (RFC 8785 cannot sign it)",
        lambda d: d["constraints"].update(max_chain_depth=2**53),
        after_signing=True,
    )
    mutated(
        "document-unknown-constraint",
        "a constraint 'max_uses' this verifier cannot enforce",
        lambda d: d["constraints"].update(max_uses=1),
    )
    mutated(
        "document-no-expiry",
        "constraints without expires",
        lambda d: d["constraints"].pop("expires"),
    )
    mutated(
        "document-empty-capabilities",
        "an empty capability list",
        lambda d: d.update(capabilities=[]),
    )
    mutated(
        "document-capability-not-string",
        "a capability that is a number",
        lambda d: d.update(capabilities=[7]),
    )
    mutated("document-entity-type", "entity type 'robot'", lambda d: d["to"].update(type="robot"))
    mutated(
        "document-entity-empty-name",
        "an empty name member (it is omitted instead)",
        lambda d: d["to"].update(name=""),
    )
    mutated(
        "document-entity-extra",
        "an entity member 'email'",
        lambda d: d["from"].update(email="a@example.com"),
    )
    mutated(
        "document-signature-not-string",
        "signature null",
        lambda d: d.update(signature=None),
        after_signing=True,
    )

    # --- malformed_time, malformed_capability
    mutated(
        "time-without-zone",
        "expires without a zone",
        lambda d: d["constraints"].update(expires="2026-03-02T12:00:00"),
        "malformed_time",
    )
    mutated(
        "time-invalid-date",
        "expires on February 30",
        lambda d: d["constraints"].update(expires="2026-02-30T12:00:00Z"),
        "malformed_time",
    )
    mutated(
        "time-date-only",
        "issued_at is a date only",
        lambda d: d.update(issued_at="2026-03-01"),
        "malformed_time",
    )
    mutated(
        "time-not-before-number",
        "not_before as a Unix time",
        lambda d: d["constraints"].update(not_before=1772366400),
        "malformed_time",
    )
    mutated(
        "capability-grammar",
        "capability 'github::read'",
        lambda d: d.update(capabilities=["github::read"]),
        "malformed_capability",
    )
    mutated(
        "capability-pact-auth-shorthand",
        "pact-auth's 'flights:book<500USD'",
        lambda d: d.update(capabilities=["flights:book<500USD"]),
        "malformed_capability",
    )
    return c.vectors


# ---------------------------------------------------------------- revocations.json


def revocation(
    delegation_id: str, revoker: str, reason: str = "", at: datetime = NOW - timedelta(minutes=10)
) -> Json:
    """A revocation signed like a delegation (SPEC §7)."""
    document: Json = {
        "type": "revocation",
        "delegation_id": delegation_id,
        "revoked_by": IDS[revoker].id,
        "revoked_at": ts(at),
    }
    if reason:
        document["reason"] = reason
    document["signature"] = ""
    document["signature"] = b64url_encode(IDS[revoker].sign(canonical(document)))
    return document


def revocation_vectors() -> list[Json]:
    """Revocation documents: parsing, signatures, and who may revoke which link."""
    two = linear(
        "c2",
        ["alice", "agent-1", "agent-2"],
        [["github:pr:create,repo=myorg/*", "storage:read"], ["github:pr:create,repo=myorg/api"]],
        [2, 1],
    )
    chain = header(two)
    out: list[Json] = []

    def add(
        name: str,
        description: str,
        expected: Json,
        *,
        document: Json | None = None,
        document_json: str | None = None,
        revoker: str | None = None,
        with_chain: bool = False,
    ) -> None:
        vector: Json = {"name": name, "description": description}
        if document is not None:
            vector["document"] = document
            vector["signing_payload_hex"] = canonical({**document, "signature": ""}).hex()
        else:
            vector["document_json"] = document_json
        if revoker is not None:
            vector["revoker"] = entity(revoker)
        if with_chain:
            vector["chain_header"] = chain
        vector["expected"] = expected
        out.append(vector)

    by_alice = revocation(two[0]["id"], "alice")
    add(
        "valid-root-by-issuer",
        "alice revokes the link she issued",
        {"valid": True},
        document=by_alice,
        revoker="alice",
    )
    reasoned = revocation(two[1]["id"], "agent-1", reason="key lost — rotated")
    add(
        "valid-with-reason",
        "a non-ASCII reason is signed as UTF-8",
        {"valid": True},
        document=reasoned,
        revoker="agent-1",
    )
    theirs = pact.Revocation(
        type="revocation",
        delegation_id=two[1]["id"],
        revoked_by=PACT_IDS["alice"].id,
        revoked_at=ts(NOW - timedelta(minutes=10)),
        reason="",
        signature="",
    )
    theirs.signature = b64url_encode(PACT_IDS["alice"].sign(theirs.signing_payload()))
    pact_document: Json = theirs.to_dict()
    if pact_document != revocation(two[1]["id"], "alice"):
        raise SystemExit("pact-auth and pact_asgi sign the same revocation differently")
    add(
        "valid-pact-auth",
        "produced and signed by pact-auth",
        {"valid": True},
        document=pact_document,
        revoker="alice",
    )
    add(
        "invalid-other-revoker",
        "checked against bob, but revoked_by names alice",
        {"valid": False, "error": "revocation_invalid"},
        document=by_alice,
        revoker="bob",
    )
    tampered = {**reasoned, "reason": "changed"}
    add(
        "invalid-tampered-reason",
        "reason changed after signing",
        {"valid": False, "error": "revocation_invalid"},
        document=tampered,
        revoker="agent-1",
    )
    forged = {**revocation(two[1]["id"], "mallory"), "revoked_by": IDS["alice"].id}
    add(
        "invalid-forged-revoker",
        "signed by mallory, naming alice as revoker",
        {"valid": False, "error": "revocation_invalid"},
        document=forged,
        revoker="alice",
    )

    add(
        "chain-root-by-issuer",
        "alice revokes link 0 of a chain",
        {"valid": True, "revoker_id": IDS["alice"].id},
        document=by_alice,
        with_chain=True,
    )
    add(
        "chain-inner-by-earlier-issuer",
        "alice revokes link 1, issued by agent-1",
        {"valid": True, "revoker_id": IDS["alice"].id},
        document=revocation(two[1]["id"], "alice"),
        with_chain=True,
    )
    add(
        "chain-inner-by-own-issuer",
        "agent-1 revokes link 1, which it issued",
        {"valid": True, "revoker_id": IDS["agent-1"].id},
        document=reasoned,
        with_chain=True,
    )
    add(
        "chain-by-delegate",
        "agent-2, the delegate of link 1, cannot revoke it",
        {"valid": False, "error": "revocation_unauthorized"},
        document=revocation(two[1]["id"], "agent-2"),
        with_chain=True,
    )
    add(
        "chain-root-by-delegate",
        "agent-1 cannot revoke link 0, issued by alice",
        {"valid": False, "error": "revocation_unauthorized"},
        document=revocation(two[0]["id"], "agent-1"),
        with_chain=True,
    )
    add(
        "chain-stranger",
        "mallory is not in the chain",
        {"valid": False, "error": "revocation_unauthorized"},
        document=revocation(two[1]["id"], "mallory"),
        with_chain=True,
    )
    add(
        "chain-unknown-delegation",
        "the revoked delegation is not in the chain",
        {"valid": False, "error": "revocation_unauthorized"},
        document=revocation(did("elsewhere"), "alice"),
        with_chain=True,
    )
    add(
        "chain-bad-signature",
        "the revoker is entitled but the signature is forged",
        {"valid": False, "error": "revocation_invalid"},
        document=forged,
        with_chain=True,
    )

    good = to_json(by_alice)
    for name, description, text, code in [
        (
            "malformed-missing-member",
            "revoked_at missing",
            to_json({k: v for k, v in by_alice.items() if k != "revoked_at"}),
            "malformed_document",
        ),
        (
            "malformed-unknown-member",
            "an extra member 'scope'",
            to_json({**by_alice, "scope": "all"}),
            "malformed_document",
        ),
        (
            "malformed-wrong-type",
            "type 'delegation'",
            to_json({**by_alice, "type": "delegation"}),
            "malformed_document",
        ),
        (
            "malformed-empty-reason",
            "reason present but empty (it is omitted instead)",
            to_json({**by_alice, "reason": ""}),
            "malformed_document",
        ),
        (
            "malformed-id-not-string",
            "delegation_id is a number",
            to_json({**by_alice, "delegation_id": 7}),
            "malformed_document",
        ),
        (
            "malformed-time-without-zone",
            "revoked_at without a zone",
            to_json({**by_alice, "revoked_at": "2026-03-01T12:50:00"}),
            "malformed_time",
        ),
        (
            "malformed-signature-encoding",
            "signature in standard base64 with '+'",
            to_json({**by_alice, "signature": "+" * 86}),
            "malformed_encoding",
        ),
        (
            "malformed-duplicate-key",
            "revoked_by given twice",
            good.replace('"revoked_by":', '"revoked_by":"x","revoked_by":'),
            "malformed_json",
        ),
        ("malformed-not-json", "not JSON", "{revocation}", "malformed_json"),
        ("malformed-array", "an array, not an object", "[]", "malformed_document"),
    ]:
        add(name, description, {"valid": False, "error": code}, document_json=text)
    return out


# ---------------------------------------------------------------- output


def render(value: Any) -> str:
    """The file text: two-space indented UTF-8 JSON with a final newline."""
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def build() -> dict[str, str]:
    """Every vector file this script owns, by file name."""
    files: dict[str, Any] = {
        "identities.json": identity_vectors(),
        "jcs.json": jcs_vectors(),
        "capabilities.json": capability_vectors(),
        "delegations.json": delegation_vectors(),
        "chains.json": chain_vectors(),
        "revocations.json": revocation_vectors(),
    }
    return {
        name: render({"description": DESCRIPTIONS[name], "vectors": value})
        for name, value in files.items()
    }


DESCRIPTIONS = {
    "identities.json": "Deterministic test identities (SPEC section 1).",
    "jcs.json": "RFC 8785 canonicalization examples from the RFC itself.",
    "capabilities.json": "Capability grammar, covering and route templates (SPEC 5, 6).",
    "delegations.json": "Delegation documents and their exact signing payloads (SPEC 2).",
    "chains.json": "Pact-Chain header values and their verdicts at a fixed time (SPEC 3, 7, 8). "
    "Each refused chain has one defect; 'link' is the failing link when the walk names one.",
    "revocations.json": "Revocation documents: parsing, signatures, authority (SPEC 7).",
}


def main(argv: Sequence[str]) -> int:
    """Write the files, or with ``--check`` report whether they are up to date."""
    check = "--check" in argv
    stale = []
    for name, text in build().items():
        path = VECTOR_DIR / name
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    if stale:
        print("stale vector files: " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
