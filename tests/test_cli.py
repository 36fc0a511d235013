"""The pact command, through click's runner and as the installed entry point."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner, Result
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pact_asgi import Delegation, Entity, Identity, Revocation, TrustedRoots, encode_chain
from pact_asgi.cli import cli, parse_ttl, split_capabilities
from pact_asgi.middleware import PactMiddleware
from pact_asgi.principal import get_principal


def pact(*args: str | Path, home: Path | None = None) -> Result:
    argv = [str(arg) for arg in args]
    if home is not None:
        argv = ["--home", str(home), *argv]
    return CliRunner().invoke(cli, argv)


def refused(result: Result, *fragments: str, code: int = 2) -> str:
    """Assert one clear error line and the exit code; return the line."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def homes(tmp_path: Path) -> dict[str, Path]:
    """A human, an agent and a sub-agent, each with its own home."""
    found = {}
    for name, kind in (("alice", "human"), ("agent", "agent"), ("sub", "agent")):
        home = tmp_path / name
        result = pact("init", "--name", name, "--type", kind, home=home)
        assert result.exit_code == 0, result.output
        found[name] = home
    return found


def load(path: Path) -> list[Delegation]:
    return [Delegation.from_dict(doc) for doc in json.loads(path.read_text())]


def issue_chain(homes: dict[str, Path], tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "chain.json"
    result = pact(
        "delegate",
        "--to",
        homes["agent"] / "identity.pub",
        "--capabilities",
        "api:read,api:write",
        "--ttl",
        "1h",
        "--out",
        out,
        *extra,
        home=homes["alice"],
    )
    assert result.exit_code == 0, result.output
    return out


# -- init and show ------------------------------------------------------------------------


def test_init_writes_a_private_key_and_a_public_file(tmp_path: Path) -> None:
    result = pact("init", "--name", "alice", "--type", "human", home=tmp_path)

    assert result.exit_code == 0, result.output
    key, pub = tmp_path / "identity.key", tmp_path / "identity.pub"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    entity = Entity.load(pub)
    assert (entity.type, entity.name) == ("human", "alice")
    assert Identity.load(key).id == entity.id
    assert entity.id in result.stdout


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    pact("init", "--name", "alice", home=tmp_path)
    first = Entity.load(tmp_path / "identity.pub").id

    refused(pact("init", "--name", "bob", home=tmp_path), "exists", "--force")
    assert Entity.load(tmp_path / "identity.pub").id == first

    assert pact("init", "--name", "bob", "--force", home=tmp_path).exit_code == 0
    assert Entity.load(tmp_path / "identity.pub").id != first


def test_init_and_show_take_explicit_paths(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "bot.key"
    assert pact("init", "--name", "bot", "--key", key).exit_code == 0
    assert (tmp_path / "keys" / "bot.pub").is_file()

    shown = pact("show", "--key", key)
    assert shown.exit_code == 0
    assert Entity.load(tmp_path / "keys" / "bot.pub").public_key in shown.stdout


def test_init_refuses_bad_arguments(tmp_path: Path) -> None:
    refused(pact("init", "--name", "x", "--type", "robot", home=tmp_path), "robot")
    refused(pact("init", "--name", " ", home=tmp_path), "--name")
    refused(pact("init", home=tmp_path), "--name")


def test_home_comes_from_the_environment(tmp_path: Path) -> None:
    runner = CliRunner(env={"PACT_HOME": str(tmp_path / "envhome")})
    assert runner.invoke(cli, ["init", "--name", "env"]).exit_code == 0
    assert (tmp_path / "envhome" / "identity.key").is_file()


def test_show_prints_id_type_name_and_public_key(homes: dict[str, Path]) -> None:
    entity = Entity.load(homes["alice"] / "identity.pub")
    result = pact("show", home=homes["alice"])

    assert result.exit_code == 0
    for value in (entity.id, "human", "alice", entity.public_key):
        assert value in result.stdout

    other = pact("show", homes["agent"] / "identity.pub", home=homes["alice"])
    assert Entity.load(homes["agent"] / "identity.pub").id in other.stdout


def test_missing_identity_is_refused(tmp_path: Path) -> None:
    refused(pact("show", home=tmp_path), "no identity", "pact init")
    refused(
        pact("delegate", "--to", tmp_path / "x.pub", "-c", "api:read", home=tmp_path),
        "no identity",
    )


def test_key_readable_by_others_is_refused(homes: dict[str, Path]) -> None:
    os.chmod(homes["alice"] / "identity.key", 0o644)
    refused(pact("show", home=homes["alice"]), "group or others", "chmod 600")


def test_malformed_key_and_public_files_are_refused(homes: dict[str, Path]) -> None:
    key = homes["agent"] / "identity.key"
    key.write_text("not a key\n")
    refused(pact("show", home=homes["agent"]), "not a PEM private key")

    bad = homes["alice"] / "bad.pub"
    for content in ("{", '{"type": "agent"}', "[]", "\xff"):
        bad.write_text(content, encoding="latin-1")
        refused(pact("show", bad, home=homes["alice"]), "not a public identity file")
    refused(pact("show", homes["alice"], home=homes["alice"]), "directory")


# -- delegate -----------------------------------------------------------------------------


def test_delegate_writes_a_chain_file(homes: dict[str, Path], tmp_path: Path) -> None:
    out = issue_chain(homes, tmp_path, "--max-depth", "2")

    (link,) = load(out)
    assert link.from_entity.id == Entity.load(homes["alice"] / "identity.pub").id
    assert link.to_entity.id == Entity.load(homes["agent"] / "identity.pub").id
    assert link.capabilities == ("api:read", "api:write")
    assert link.max_chain_depth == 2
    assert link.expires - link.issued_at == timedelta(hours=1)
    assert link.verify_signature()


def test_delegate_defaults_to_the_issued_folder_and_can_print(homes: dict[str, Path]) -> None:
    pub = homes["agent"] / "identity.pub"
    result = pact("delegate", "--to", pub, "-c", "api:read", home=homes["alice"])
    assert result.exit_code == 0, result.output
    (written,) = (homes["alice"] / "issued").iterdir()
    assert load(written)[0].id in result.stdout
    assert written.name == load(written)[0].id + ".json"

    printed = pact("delegate", "--to", pub, "-c", "api:read", "--out", "-", home=homes["alice"])
    assert printed.exit_code == 0
    (link,) = [Delegation.from_dict(doc) for doc in json.loads(printed.stdout)]
    assert link.id in printed.stderr


def test_delegate_keeps_constraints_with_their_capability(
    homes: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "c.json"
    result = pact(
        "delegate",
        "--to",
        homes["agent"] / "identity.pub",
        "-c",
        "api:read, api:write,max_cost<100",
        "-c",
        "repo:push,repo=myorg/*",
        "--out",
        out,
        home=homes["alice"],
    )
    assert result.exit_code == 0, result.output
    assert load(out)[0].capabilities == (
        "api:read",
        "api:write,max_cost<100",
        "repo:push,repo=myorg/*",
    )


def test_delegate_refuses_to_overwrite_an_out_file(homes: dict[str, Path], tmp_path: Path) -> None:
    out = issue_chain(homes, tmp_path)
    before = out.read_text()
    result = pact(
        "delegate",
        "--to",
        homes["agent"] / "identity.pub",
        "-c",
        "api:read",
        "--out",
        out,
        home=homes["alice"],
    )
    refused(result, "exists", "--force")
    assert out.read_text() == before


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--ttl", "soon"), "is not a duration"),
        (("--ttl", "0s"), "more than 0s"),
        (("--ttl", "400d"), "at most 366d"),
        (("--max-depth", "0"), "--max-depth"),
        (("--max-depth", "nine"), "nine"),
        (("-c", ",api:read"), "empty item"),
        (("-c", "max_cost<1,api:read"), "before any capability"),
        (("-c", "api::read"), "cannot delegate"),
        (("-c", "api:read,max_cost<lots"), "cannot delegate"),
    ],
)
def test_delegate_refuses_bad_arguments(
    homes: dict[str, Path], args: tuple[str, ...], fragment: str
) -> None:
    base = ["delegate", "--to", homes["agent"] / "identity.pub"]
    if "-c" not in args:
        base += ["-c", "api:read"]
    refused(pact(*base, *args, home=homes["alice"]), fragment)


def test_delegate_refuses_a_bad_delegate_file(homes: dict[str, Path], tmp_path: Path) -> None:
    for target, fragment in (
        (tmp_path / "missing.pub", "no such public identity file"),
        (homes["agent"] / "identity.key", "not a public identity file"),
    ):
        result = pact("delegate", "--to", target, "-c", "api:read", home=homes["alice"])
        refused(result, fragment)


def test_sub_delegation_narrows(homes: dict[str, Path], tmp_path: Path) -> None:
    parent = issue_chain(homes, tmp_path, "--max-depth", "2")
    out = tmp_path / "sub.json"
    result = pact(
        "delegate",
        "--to",
        homes["sub"] / "identity.pub",
        "-c",
        "api:read",
        "--ttl",
        "7d",
        "--chain",
        parent,
        "--out",
        out,
        home=homes["agent"],
    )

    assert result.exit_code == 0, result.output
    chain = load(out)
    assert [link.id for link in chain[:1]] == [load(parent)[0].id]
    assert chain[1].capabilities == ("api:read",)
    assert chain[1].expires == chain[0].expires  # cut to the parent's, and said so
    assert "expiry cut" in result.stdout
    assert pact("inspect", out).exit_code == 0


def test_sub_delegation_refuses_escalation(homes: dict[str, Path], tmp_path: Path) -> None:
    parent = issue_chain(homes, tmp_path, "--max-depth", "2")
    result = pact(
        "delegate",
        "--to",
        homes["sub"] / "identity.pub",
        "-c",
        "api:read,deploy:create",
        "--chain",
        parent,
        home=homes["agent"],
    )
    refused(result, "cannot grant deploy:create", "grants only api:read, api:write")


def test_sub_delegation_refuses_beyond_the_depth(homes: dict[str, Path], tmp_path: Path) -> None:
    parent = issue_chain(homes, tmp_path)  # max depth 1: no further link
    result = pact(
        "delegate",
        "--to",
        homes["sub"] / "identity.pub",
        "-c",
        "api:read",
        "--chain",
        parent,
        home=homes["agent"],
    )
    refused(result, "max_chain_depth allows no further link")


def test_sub_delegation_refuses_an_expired_parent(homes: dict[str, Path], tmp_path: Path) -> None:
    alice = Identity.load(homes["alice"] / "identity.key")
    agent = Entity.load(homes["agent"] / "identity.pub")
    past = datetime.now(timezone.utc) - timedelta(hours=2)
    old = Delegation.issue(
        alice, agent, ["api:read"], ttl=timedelta(hours=1), max_chain_depth=2, now=past
    )
    parent = tmp_path / "old.json"
    parent.write_text(json.dumps([old.to_dict()]))
    result = pact(
        "delegate",
        "--to",
        homes["sub"] / "identity.pub",
        "-c",
        "api:read",
        "--chain",
        parent,
        home=homes["agent"],
    )
    refused(result, "parent delegation has expired")


def test_sub_delegation_refuses_a_chain_not_delegated_to_you(
    homes: dict[str, Path], tmp_path: Path
) -> None:
    parent = issue_chain(homes, tmp_path, "--max-depth", "2")
    result = pact(
        "delegate",
        "--to",
        homes["sub"] / "identity.pub",
        "-c",
        "api:read",
        "--chain",
        parent,
        home=homes["sub"],
    )
    refused(result, "not to you", "only its delegate")


def test_sub_delegation_refuses_a_forged_parent(homes: dict[str, Path], tmp_path: Path) -> None:
    parent = issue_chain(homes, tmp_path, "--max-depth", "2")
    documents = json.loads(parent.read_text())
    documents[0]["capabilities"] = ["*"]
    parent.write_text(json.dumps(documents))
    result = pact(
        "delegate",
        "--to",
        homes["sub"] / "identity.pub",
        "-c",
        "deploy:create",
        "--chain",
        parent,
        home=homes["agent"],
    )
    refused(result, "does not verify", "delegation_signature_invalid")


# -- inspect ------------------------------------------------------------------------------


def test_inspect_shows_each_link(homes: dict[str, Path], tmp_path: Path) -> None:
    parent = issue_chain(homes, tmp_path, "--max-depth", "2")
    out = tmp_path / "sub.json"
    pact(
        "delegate",
        "--to",
        homes["sub"] / "identity.pub",
        "-c",
        "api:read",
        "--chain",
        parent,
        "--out",
        out,
        home=homes["agent"],
    )
    chain = load(out)

    result = pact("inspect", out)

    assert result.exit_code == 0, result.output
    text = result.stdout
    for link in chain:
        assert link.id in text
        assert link.from_entity.id in text
        assert link.to_entity.id in text
    assert "grants     api:read; api:write" in text
    assert text.count("signature  ok") == 2
    assert "narrowing  ok" in text
    assert "verdict    ok" in text


def test_inspect_reads_a_pact_chain_header_value(homes: dict[str, Path], tmp_path: Path) -> None:
    chain = load(issue_chain(homes, tmp_path))
    header = tmp_path / "header.txt"
    header.write_text(encode_chain(chain) + "\n")
    result = pact("inspect", header)
    assert result.exit_code == 0, result.output
    assert chain[0].id in result.stdout


def test_inspect_marks_a_forged_link(homes: dict[str, Path], tmp_path: Path) -> None:
    out = issue_chain(homes, tmp_path)
    documents = json.loads(out.read_text())
    documents[0]["capabilities"] = ["api:read", "api:write", "deploy:create"]
    out.write_text(json.dumps(documents))

    result = pact("inspect", out)

    assert "signature  DOES NOT VERIFY" in result.stdout
    refused(result, "does not verify", "delegation_signature_invalid", code=1)


def test_inspect_marks_an_escalating_link(homes: dict[str, Path], tmp_path: Path) -> None:
    alice = Identity.load(homes["alice"] / "identity.key")
    agent = Identity.load(homes["agent"] / "identity.key")
    sub = Entity.load(homes["sub"] / "identity.pub")
    top = Delegation.issue(alice, agent, ["api:read"], ttl=timedelta(hours=1), max_chain_depth=2)
    # Issued without a parent, so nothing stopped the widening; the walk must catch it.
    wide = Delegation.issue(agent, sub, ["api:write"], ttl=timedelta(hours=1))
    out = tmp_path / "wide.json"
    out.write_text(json.dumps([top.to_dict(), wide.to_dict()]))

    result = pact("inspect", out)

    assert "ESCALATES: [0] does not grant api:write" in result.stdout
    refused(result, "capability_escalation", code=1)


def test_inspect_judges_time(homes: dict[str, Path], tmp_path: Path) -> None:
    out = issue_chain(homes, tmp_path)
    later = (datetime.now(timezone.utc) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = pact("inspect", out, "--at", later)
    assert "time       EXPIRED" in result.stdout
    refused(result, "delegation_expired", code=1)
    refused(pact("inspect", out, "--at", "tomorrow"), "RFC 3339")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("", "is empty"),
        ("  \n", "is empty"),
        ("[]", "expected a JSON array of delegations"),
        ("[1]", "delegation must be an object"),
        ('[{"type": "delegation"}]', "missing or unknown fields"),
        ('{"a": 1, "a": 2}', "duplicate key"),
        ("[" + "[" * 40 + "]" * 41, "nested too deeply"),
        ("[{}" + ",{}" * 8 + "]", "at most 8"),
        ("not a chain at all!", "nor a Pact-Chain header value"),
        ("W10", "chain has no delegations"),
        ("\udcff", "not UTF-8"),
    ],
)
def test_inspect_refuses_malformed_chain_files(
    tmp_path: Path, content: str, fragment: str
) -> None:
    path = tmp_path / "chain.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    refused(pact("inspect", path), fragment)


def test_inspect_refuses_missing_and_oversized_files(tmp_path: Path) -> None:
    refused(pact("inspect", tmp_path / "none.json"), "no such chain file")
    refused(pact("inspect", tmp_path), "is a directory")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (1024 * 1024 + 1))
    refused(pact("inspect", big), "larger than")


def test_unreadable_chain_file_is_refused(homes: dict[str, Path], tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    out = issue_chain(homes, tmp_path)
    os.chmod(out, 0)
    refused(pact("inspect", out), "permission denied")


# -- verify -------------------------------------------------------------------------------


def test_verify_accepts_a_chain_from_a_trusted_root(
    homes: dict[str, Path], tmp_path: Path
) -> None:
    out = issue_chain(homes, tmp_path)
    alice = Entity.load(homes["alice"] / "identity.pub")
    for trust in (str(homes["alice"] / "identity.pub"), alice.id, alice.public_key):
        result = pact("verify", out, "--trust", trust, home=homes["agent"])
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"ok: {out} verifies")
        assert "api:read; api:write" in result.stdout


def test_verify_refuses_an_untrusted_root(homes: dict[str, Path], tmp_path: Path) -> None:
    out = issue_chain(homes, tmp_path)
    result = pact("verify", out, "--trust", homes["sub"] / "identity.pub", home=homes["agent"])
    refused(result, "untrusted_root", code=1)


def test_verify_refuses_an_expired_chain(homes: dict[str, Path], tmp_path: Path) -> None:
    out = issue_chain(homes, tmp_path)
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = pact("verify", out, "--trust", homes["alice"] / "identity.pub", "--at", later)
    refused(result, "delegation_expired", code=1)


def test_verify_refuses_bad_trust_values(homes: dict[str, Path], tmp_path: Path) -> None:
    out = issue_chain(homes, tmp_path)
    refused(pact("verify", out, "--trust", "sha256:abc"), "--trust", "not an identity id")
    refused(pact("verify", out, "--trust", "nobody"), "--trust")
    refused(pact("verify", out, "--trust", "bob.pub"), "bob.pub: no such public identity file")
    refused(pact("verify", out), "--trust")


# -- revoke -------------------------------------------------------------------------------


def test_revoke_signs_records_and_verify_honours_it(
    homes: dict[str, Path], tmp_path: Path
) -> None:
    out = issue_chain(homes, tmp_path)
    (link,) = load(out)
    alice = Entity.load(homes["alice"] / "identity.pub")

    result = pact(
        "revoke", link.id, "--reason", "agent retired", "--chain", out, home=homes["alice"]
    )

    assert result.exit_code == 0, result.output
    revocation = Revocation.from_json(result.stdout)
    revocation.verify(alice)
    assert (revocation.delegation_id, revocation.reason) == (link.id, "agent retired")
    (recorded,) = json.loads((homes["alice"] / "revocations.json").read_text())
    assert recorded == revocation.to_dict()

    again = pact("revoke", link.id, home=homes["alice"])
    assert again.exit_code == 0
    assert "already holds" in again.stderr
    assert len(json.loads((homes["alice"] / "revocations.json").read_text())) == 1

    trust = ("--trust", homes["alice"] / "identity.pub")
    refused(pact("verify", out, *trust, home=homes["alice"]), "delegation_revoked", code=1)
    revocations = ("--revocations", homes["alice"] / "revocations.json")
    refused(pact("verify", out, *trust, *revocations), "delegation_revoked", code=1)
    assert pact("verify", out, *trust, home=homes["agent"]).exit_code == 0


def test_revoke_writes_to_a_file(homes: dict[str, Path], tmp_path: Path) -> None:
    (link,) = load(issue_chain(homes, tmp_path))
    target = tmp_path / "revocation.json"
    result = pact("revoke", link.id, "--out", target, home=homes["alice"])
    assert result.exit_code == 0
    assert Revocation.from_json(target.read_text()).delegation_id == link.id


def test_verify_ignores_a_revocation_by_someone_not_entitled(
    homes: dict[str, Path], tmp_path: Path
) -> None:
    out = issue_chain(homes, tmp_path)
    (link,) = load(out)
    # The delegate cannot revoke its own grant (§7): verify notes it and goes on.
    assert pact("revoke", link.id, home=homes["agent"]).exit_code == 0
    result = pact("verify", out, "--trust", homes["alice"] / "identity.pub", home=homes["agent"])
    assert result.exit_code == 0, result.output
    assert "ignoring a revocation" in result.stderr


def test_revoke_refuses_bad_input(homes: dict[str, Path], tmp_path: Path) -> None:
    out = issue_chain(homes, tmp_path)
    (link,) = load(out)
    refused(pact("revoke", "d-123", home=homes["alice"]), "is not a delegation id")
    refused(pact("revoke", link.id, "--reason", "x\ny", home=homes["alice"]), "--reason")
    refused(pact("revoke", link.id, "--chain", out, home=homes["agent"]), "you cannot revoke")
    refused(pact("revoke", link.id, home=tmp_path / "nobody"), "no identity")
    (homes["alice"] / "revocations.json").write_text('{"type": "revocation"}')
    refused(pact("revoke", link.id, home=homes["alice"]), "not a valid revocations file")


# -- request (the network part lives in test_demo.py and below) ---------------------------


def test_request_refuses_bad_input(homes: dict[str, Path], tmp_path: Path) -> None:
    out = issue_chain(homes, tmp_path)
    agent = homes["agent"]
    url = "http://127.0.0.1:9/items"
    refused(pact("request", "GET", url, home=agent), "no chain at", "--chain")
    refused(pact("request", "G ET", url, "--chain", out, home=agent), "not an HTTP method")
    refused(pact("request", "GET", "ftp://x/", "--chain", out, home=agent), "http://")
    refused(pact("request", "GET", url, "--chain", out, "-H", "nocolon", home=agent), "Name:")
    refused(
        pact("request", "GET", url, "--chain", out, "-H", "Signature: x", home=agent),
        "set by the signature",
    )
    refused(pact("request", "GET", url, "--chain", out, home=homes["sub"]), "not to this identity")
    refused(
        pact("request", "POST", url, "--chain", out, "-d", "@" + str(tmp_path / "no"), home=agent),
        "no such body file",
    )
    refused(pact("request", "GET", url, "--chain", out, "--timeout", "0", home=agent), "--timeout")


def test_request_reports_an_unreachable_server(homes: dict[str, Path], tmp_path: Path) -> None:
    out = issue_chain(homes, tmp_path)
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    result = pact("request", "GET", "http://127.0.0.1:9/x", "--chain", out, home=homes["agent"])
    refused(result, "request to http://127.0.0.1:9/x failed", code=1)


@pytest.fixture
def provider(homes: dict[str, Path]) -> Iterator[str]:
    """A real uvicorn server on 127.0.0.1 whose middleware trusts alice; yields its URL."""
    alice = Entity.load(homes["alice"] / "identity.pub")

    async def echo(request: Request) -> JSONResponse:
        principal = get_principal(request)
        body = (await request.body()).decode()
        return JSONResponse(
            {"agent": principal.agent_id, "body": body, "tag": request.headers.get("x-tag")}
        )

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    authority = f"127.0.0.1:{sock.getsockname()[1]}"
    app = PactMiddleware(
        Starlette(
            routes=[
                Route("/items", echo, methods=["GET", "POST"]),
                Route("/deploys", echo, methods=["POST"]),
            ]
        ),
        trust=TrustedRoots([alice]),
        authorities=[authority],
        routes={
            "GET /items": "api:read",
            "POST /items": "api:write",
            "POST /deploys": "deploy:create",
        },
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    yield f"http://{authority}"
    server.should_exit = True
    thread.join(10)
    sock.close()


def test_request_sends_a_signed_request(
    homes: dict[str, Path], tmp_path: Path, provider: str
) -> None:
    chain = issue_chain(homes, tmp_path)
    agent = Entity.load(homes["agent"] / "identity.pub")

    result = pact("request", "GET", f"{provider}/items", "--chain", chain, home=homes["agent"])

    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == "HTTP 200 OK"
    assert json.loads(result.stdout)["agent"] == agent.id


def test_request_sends_data_headers_and_the_home_chain(
    homes: dict[str, Path], tmp_path: Path, provider: str
) -> None:
    shutil.copy(issue_chain(homes, tmp_path), homes["agent"] / "chain.json")
    body = tmp_path / "body.json"
    body.write_bytes(b'{"from": "file"}')

    inline = pact(
        "request",
        "POST",
        f"{provider}/items",
        "-d",
        '{"n": 1}',
        "-H",
        "X-Tag: t1",
        home=homes["agent"],
    )
    from_file = pact(
        "request", "post", f"{provider}/items", "--data", f"@{body}", home=homes["agent"]
    )

    assert inline.exit_code == 0, inline.output
    assert json.loads(inline.stdout)["body"] == '{"n": 1}'
    assert json.loads(inline.stdout)["tag"] == "t1"
    assert from_file.exit_code == 0, from_file.output
    assert json.loads(from_file.stdout)["body"] == '{"from": "file"}'


def test_request_exits_1_on_a_refusal(
    homes: dict[str, Path], tmp_path: Path, provider: str
) -> None:
    chain = issue_chain(homes, tmp_path)
    result = pact("request", "POST", f"{provider}/deploys", "--chain", chain, home=homes["agent"])

    assert result.exit_code == 1
    assert result.stderr.strip() == "HTTP 403 Forbidden"
    assert json.loads(result.stdout)["code"] == "capability_denied"


def test_request_under_a_revoked_or_foreign_chain_is_refused(
    homes: dict[str, Path], tmp_path: Path, provider: str
) -> None:
    # A chain whose root the provider does not trust: the agent delegates to itself.
    selfmade = tmp_path / "self.json"
    pact(
        "delegate",
        "--to",
        homes["agent"] / "identity.pub",
        "-c",
        "api:read",
        "--out",
        selfmade,
        home=homes["agent"],
    )
    result = pact("request", "GET", f"{provider}/items", "--chain", selfmade, home=homes["agent"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["code"] == "untrusted_root"


# -- usage errors and parsing helpers -----------------------------------------------------


def test_help_lists_every_command() -> None:
    result = pact("--help")
    assert result.exit_code == 0
    for command in ("init", "show", "delegate", "inspect", "verify", "revoke", "request"):
        assert f"  {command} " in result.stdout


def test_usage_errors_are_one_line() -> None:
    refused(pact("frobnicate"), "No such command", "pact --help")
    refused(pact("verify"), "Missing argument")


def test_parse_ttl() -> None:
    assert parse_ttl("90s") == timedelta(seconds=90)
    assert parse_ttl("1h30m") == timedelta(minutes=90)
    assert parse_ttl("2w") == timedelta(days=14)
    for bad in ("", "1", "h", "1x", "1m1h", "-1h"):
        with pytest.raises(ValueError, match="ttl"):
            parse_ttl(bad)


def test_split_capabilities() -> None:
    assert split_capabilities(["a:b, c,x=1,y<2", "d"]) == ["a:b", "c,x=1,y<2", "d"]
    assert split_capabilities(["p,path=/data/**"]) == ["p,path=/data/**"]
    with pytest.raises(ValueError, match="empty"):
        split_capabilities(["a,,b"])


# -- the installed command ----------------------------------------------------------------


def installed_pact() -> str:
    found = shutil.which("pact", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("the pact entry point is not installed (pip install -e .)")
    return found


def test_installed_entry_point_runs(tmp_path: Path) -> None:
    command = installed_pact()
    env = {**os.environ, "PACT_HOME": str(tmp_path)}

    made = subprocess.run(  # noqa: S603
        [command, "init", "--name", "alice", "--type", "human"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    shown = subprocess.run(  # noqa: S603
        [command, "show"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    again = subprocess.run(  # noqa: S603
        [command, "init", "--name", "alice"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

    assert made.returncode == 0, made.stderr
    assert Entity.load(tmp_path / "identity.pub").id in shown.stdout
    assert again.returncode == 2
    assert again.stderr.startswith("error: ")
    assert again.stderr.count("\n") == 1


def test_module_without_click_names_the_extra() -> None:
    code = "import sys; sys.modules['click'] = None; import pact_asgi.cli"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "pip install 'pact-asgi[cli]'" in result.stderr


def test_inspect_escapes_control_characters_in_names(tmp_path: Path) -> None:
    # A chain file is written by others: a name must not drive the terminal.
    human = Identity.generate(type="human", name="evil\x1b[2J\x07")
    agent = Identity.generate(name="bot")
    chain = [Delegation.issue(human, agent, ["api:read"], ttl=timedelta(hours=1))]
    path = tmp_path / "chain.json"
    path.write_text(json.dumps([link.to_dict() for link in chain]))
    result = pact("inspect", path)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    assert "\x07" not in result.stdout
    assert "evil\\x1b[2J\\x07" in result.stdout
