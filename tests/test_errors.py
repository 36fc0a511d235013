from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pact_asgi import (
    AuthorizationError,
    BodyTooLargeError,
    ChainLimits,
    Entity,
    ErrorCode,
    PactError,
    Revocation,
    StoreUnavailableError,
    TrustedRoots,
    decode_chain,
    verify_chain,
)
from pact_asgi import errors as errors_module
from pact_asgi._encoding import parse_time

VECTORS = Path(__file__).parent / "vectors"


def subclasses(cls: type[PactError]) -> list[type[PactError]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(subclasses(sub))
    return found


ERRORS = subclasses(PactError)
STATUS = {AuthorizationError: 403, BodyTooLargeError: 413, StoreUnavailableError: 503}


def test_the_tree_is_public():
    names = set(errors_module.__all__)
    assert {cls.__name__ for cls in ERRORS} <= names
    assert all(getattr(errors_module, cls.__name__) is cls for cls in ERRORS)


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda c: c.value)
def test_each_code_belongs_to_exactly_one_class(code):
    owners = [cls.__name__ for cls in ERRORS if code in cls.codes]
    assert len(owners) == 1, owners


def test_codes_are_stable_snake_case():
    values = [code.value for code in ErrorCode]
    assert len(values) == len(set(values))
    for code in ErrorCode:
        assert code.value == code.name.lower()
        assert re.fullmatch(r"[a-z]+(_[a-z0-9]+)*", code.value)
        assert code == code.value  # a str enum: compares equal to its text


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_status_and_title(cls):
    assert cls.codes, f"{cls.__name__} carries no code"
    assert cls.status == STATUS.get(cls, 401)
    assert (
        cls.title
        == {
            401: "Unauthorized",
            403: "Forbidden",
            413: "Content Too Large",
            503: "Service Unavailable",
        }[cls.status]
    )
    code = sorted(cls.codes, key=lambda c: c.value)[0]
    error = cls(code, "detail for the log")
    assert isinstance(error, PactError)
    assert (error.code, error.error_code) == (code.value, code)
    assert (error.detail, str(error)) == ("detail for the log", "detail for the log")
    assert error.context() == {}


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_a_class_refuses_foreign_codes(cls):
    foreign = next(code for code in ErrorCode if code not in cls.codes)
    with pytest.raises(TypeError, match="cannot carry"):
        cls(foreign, "x")


def test_the_root_takes_any_code():
    assert PactError(ErrorCode.REPLAYED, "x").status == 401


def test_context_holds_only_what_is_set():
    error = PactError(ErrorCode.DELEGATION_EXPIRED, "x", link=0, delegation_id="d-1")
    assert error.context() == {"link": 0, "delegation_id": "d-1"}
    full = PactError(
        ErrorCode.SIGNATURE_INVALID, "x", link=2, key_id="sha256:ab", delegation_id="d"
    )
    assert full.context() == {"link": 2, "key_id": "sha256:ab", "delegation_id": "d"}


def secrets_of(documents: list[dict[str, Any]]) -> set[str]:
    """Key material and signatures a log line must not carry."""
    found = set()
    for document in documents:
        if not isinstance(document, dict):
            continue
        for value in (document.get("signature"), document.get("from"), document.get("to")):
            if isinstance(value, str) and len(value) > 8:
                found.add(value)
            if isinstance(value, dict) and isinstance(value.get("public_key"), str):
                found.add(value["public_key"])
    return found


def refused_chain_vectors() -> list[dict[str, Any]]:
    vectors = json.loads((VECTORS / "chains.json").read_text(encoding="utf-8"))["vectors"]
    return [v for v in vectors if not v["expected"]["valid"]]


def run_chain(vector: dict[str, Any]) -> object:
    limits = ChainLimits(**vector.get("limits", {}))
    return verify_chain(
        decode_chain(vector["header"], limits=limits),
        trust=TrustedRoots(vector["trusted_roots"]),
        now=parse_time(vector["now"], "now"),
        skew=timedelta(seconds=vector["skew_seconds"]),
        revoked={k: frozenset(v) for k, v in vector["revoked"].items()},
        limits=limits,
    )


@pytest.mark.parametrize("vector", refused_chain_vectors(), ids=lambda v: v["name"])
def test_context_and_detail_never_hold_secrets(vector):
    with pytest.raises(PactError) as caught:
        run_chain(vector)
    error = caught.value
    context = error.context()
    assert set(context) <= {"link", "key_id", "delegation_id"}
    if "key_id" in context:
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", str(context["key_id"]))
    logged = " ".join([str(error), error.detail, *map(str, context.values())])
    secrets = secrets_of(vector.get("documents", []))
    secrets.add(vector["header"])
    for secret in secrets:
        assert secret not in logged


def test_revocation_errors_hold_no_signature():
    revocations = json.loads((VECTORS / "revocations.json").read_text(encoding="utf-8"))
    for vector in revocations["vectors"]:
        if vector["expected"]["valid"] or "document" not in vector or "revoker" not in vector:
            continue
        with pytest.raises(PactError) as caught:
            Revocation.from_dict(vector["document"]).verify(Entity.from_dict(vector["revoker"]))
        logged = f"{caught.value} {caught.value.context()}"
        assert vector["document"]["signature"] not in logged
        assert vector["revoker"]["public_key"] not in logged


def test_every_code_is_named_by_some_test():
    # A guard, not a proof: a code that no other test or vector names has no negative test.
    here = Path(__file__).resolve()
    texts = " ".join(
        path.read_text(encoding="utf-8", errors="replace")
        for path in here.parent.rglob("*")
        if path.suffix in (".py", ".json") and path.resolve() != here
    )
    missing = [c.value for c in ErrorCode if c.value not in texts and c.name not in texts]
    assert missing == []
