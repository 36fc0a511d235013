"""Refusals as RFC 9457 problem details (protocol §9)."""

from __future__ import annotations

import json

import http_sf
import pytest

from pact_asgi import errors
from pact_asgi.errors import ErrorCode, PactError
from pact_asgi.problem import ACCEPT_SIGNATURE, problem_for, problem_type
from pact_asgi.signature import REQUIRED_COMPONENTS


def error_for(code: ErrorCode) -> PactError:
    """An instance of the one error class that may carry ``code``."""
    for name in errors.__all__:
        kind = getattr(errors, name)
        if isinstance(kind, type) and issubclass(kind, PactError) and code in kind.codes:
            return kind(code, "operator detail: key sha256:abc, header value xyz")
    raise AssertionError(f"no error class carries {code}")


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_code_renders_a_generic_document(code):
    error = error_for(code)
    problem = problem_for(error)
    document = json.loads(problem.body)
    assert document == {
        "type": problem_type(code),
        "title": error.title,
        "status": error.status,
        "detail": document["detail"],
        "code": code.value,
    }
    assert document["detail"] != "The request was refused."  # each code has its sentence
    assert "operator detail" not in problem.body.decode()  # exception text never leaves
    headers = dict(problem.headers)
    assert headers[b"content-type"] == b"application/problem+json"
    assert headers[b"content-length"] == str(len(problem.body)).encode()
    assert headers[b"cache-control"] == b"no-store"
    assert (b"www-authenticate" in headers) == (error.status == 401)
    assert (b"accept-signature" in headers) == (error.status == 401)
    assert problem.content() == document


def test_problems_are_built_once_per_code():
    first = problem_for(error_for(ErrorCode.REPLAYED))
    assert problem_for(error_for(ErrorCode.REPLAYED)) is first


def test_statuses_follow_the_protocol():
    assert problem_for(error_for(ErrorCode.SIGNATURE_INVALID)).status == 401
    assert problem_for(error_for(ErrorCode.CAPABILITY_DENIED)).status == 403
    assert problem_for(error_for(ErrorCode.ROUTE_UNDECLARED)).status == 403
    assert problem_for(error_for(ErrorCode.BODY_TOO_LARGE)).status == 413
    assert problem_for(error_for(ErrorCode.REPLAY_STORE_UNAVAILABLE)).status == 503


def test_accept_signature_is_an_rfc_9421_request():
    """RFC 9421 §5.1: a Dictionary; each member an inner list of components and parameters."""
    parsed = http_sf.parse(ACCEPT_SIGNATURE.encode(), tltype="dictionary")
    components, parameters = parsed["pact"]
    assert [name for name, _ in components] == list(REQUIRED_COMPONENTS)
    assert parameters == {"created": True, "alg": "ed25519", "tag": "pact"}


def test_challenge_names_the_scheme_and_code():
    headers = dict(problem_for(error_for(ErrorCode.NONCE_INVALID)).headers)
    assert headers[b"www-authenticate"] == b'Pact error="nonce_invalid"'
