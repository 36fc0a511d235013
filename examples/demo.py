"""The whole Pact flow against a real server, in a few seconds.

    pip install 'pact-asgi[demo]'
    python examples/demo.py

A provider (a Starlette app behind ``PactMiddleware``, served by uvicorn on
127.0.0.1) trusts its human, alice. An agent gets an identity and a delegation from
alice, then reads, writes, is refused what it was not granted, works through a
short-lived session key and a sub-agent, and finally meets the provider's defences: a
replayed request and a revoked delegation. One line per step; the exit code is
non-zero when any step does not behave as it should.

Everything runs in memory (replay cache, revocations): no Redis, no files kept.
"""

from __future__ import annotations

import json
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pact_asgi import (
    Delegation,
    Entity,
    Identity,
    MemoryRevocationStore,
    PactError,
    Revocation,
    TrustedRoots,
    verify_chain,
)
from pact_asgi.client import PactAuth
from pact_asgi.middleware import PactMiddleware
from pact_asgi.principal import get_principal
from pact_asgi.session import Session
from pact_asgi.signature import sign_request

TIMEOUT = 5.0  # seconds, for every request and for the server to start and stop
MAX_REVOCATION_BYTES = 16 * 1024


# -- the provider ---------------------------------------------------------------------


def build_provider(human: Entity, authority: str) -> PactMiddleware:
    """A small API that trusts ``human`` and needs a capability on every route."""
    revocations = MemoryRevocationStore()

    async def read_item(request: Request) -> JSONResponse:
        principal = get_principal(request)
        item = request.path_params["item_id"]
        return JSONResponse({"item": item, "agent": principal.agent_id})

    async def create_item(request: Request) -> JSONResponse:
        principal = get_principal(request)
        return JSONResponse({"created": await request.json(), "agent": principal.agent_id}, 201)

    async def deploy(request: Request) -> JSONResponse:
        return JSONResponse({"deployed": True}, 202)

    async def revoke(request: Request) -> Response:
        # Public: a revocation proves itself by its signature. This provider accepts
        # those signed by a root it trusts (§7 also allows issuers lower in a chain).
        body = await request.body()
        if len(body) > MAX_REVOCATION_BYTES:
            return JSONResponse({"error": "too large"}, 413)
        try:
            revocation = Revocation.from_json(body)
            if revocation.revoked_by != human.id:
                return JSONResponse({"error": "unknown revoker"}, 403)
            await revocations.add(revocation, human)
        except PactError as exc:
            return JSONResponse({"error": exc.code}, 400)
        return Response(status_code=204)

    app = Starlette(
        routes=[
            Route("/items/{item_id}", read_item, methods=["GET"]),
            Route("/items", create_item, methods=["POST"]),
            Route("/deploys", deploy, methods=["POST"]),
            Route("/revocations", revoke, methods=["POST"]),
        ]
    )
    return PactMiddleware(
        app,
        trust=TrustedRoots([human]),
        authorities=[authority],
        routes={
            "GET /items/{item_id}": "api:read",
            "POST /items": "api:write",
            "POST /deploys": "deploy:create",
        },
        public=["/revocations"],
        revocations=revocations,
    )


class LocalServer:
    """uvicorn on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port: int = self.socket.getsockname()[1]
        self.authority = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.authority}"
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    def start(self, app: PactMiddleware) -> None:
        """Serve ``app``; return once the server accepts connections."""
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + TIMEOUT
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the demo server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Ask the server to finish and wait for it (bounded)."""
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(TIMEOUT)
        self.socket.close()


# -- the steps --------------------------------------------------------------------------


class Unexpected(Exception):
    """A step did not behave as the protocol says it must."""


def expect(response: httpx.Response, status: int, code: str | None = None) -> None:
    """Check a response's status and, for a refusal, its problem ``code``."""
    found = response.json().get("code") if code else None
    if response.status_code != status or found != code:
        got = f"{response.status_code} {response.text[:120]}"
        raise Unexpected(f"expected {status} {code or ''}".rstrip() + f", got {got}")


def short(identity_id: str) -> str:
    """``sha256:`` and the first 8 hex digits, for display."""
    return identity_id[:15] + "…"


class Demo:
    """The actors and what they hold, built up step by step."""

    def __init__(self, server: LocalServer, alice: Identity, workdir: Path) -> None:
        self.server = server
        self.alice = alice
        self.workdir = workdir
        self.agent: Identity
        self.chain: list[Delegation]

    def client(self, auth: httpx.Auth | None = None) -> httpx.Client:
        """A client for the provider with bounded timeouts."""
        return httpx.Client(base_url=self.server.url, auth=auth, timeout=TIMEOUT)

    def step1_identity(self) -> str:
        """The agent creates an identity and stores it (key file mode 0600)."""
        key_file = self.workdir / "agent.key"
        Identity.generate(type="agent", name="demo-agent").save(key_file)
        self.agent = Identity.load(key_file)
        mode = key_file.stat().st_mode & 0o777
        if mode != 0o600:
            raise Unexpected(f"key file has mode {mode:o}")
        return short(self.agent.id)

    def step2_delegation(self) -> str:
        """alice, the provider's human, delegates api:read and api:write for an hour."""
        link = Delegation.issue(
            self.alice,
            self.agent.entity,
            ["api:read", "api:write"],
            ttl=timedelta(hours=1),
            max_chain_depth=2,  # room for one more link: a session or a sub-agent
        )
        self.chain = [link]
        (self.workdir / "chain.json").write_text(json.dumps([link.to_dict()]))
        verify_chain(self.chain, trust=TrustedRoots([self.alice]))
        return f"{link.id[:10]}… api:read, api:write"

    def step3_read(self) -> str:
        """An authenticated read: GET needs api:read."""
        with self.client(PactAuth(self.agent, self.chain)) as client:
            response = client.get("/items/42")
        expect(response, 200)
        if response.json()["agent"] != self.agent.id:
            raise Unexpected("the provider saw another agent")
        return "200"

    def step4_write(self) -> str:
        """An authenticated write: POST needs api:write."""
        with self.client(PactAuth(self.agent, self.chain)) as client:
            response = client.post("/items", json={"name": "widget"})
        expect(response, 201)
        return "201"

    def step5_denied(self) -> str:
        """Deploying needs deploy:create, which alice did not grant."""
        with self.client(PactAuth(self.agent, self.chain)) as client:
            response = client.post("/deploys", json={"service": "web"})
        expect(response, 403, "capability_denied")
        return "403 capability_denied"

    def step6_session(self) -> str:
        """A short-lived session key, delegated by the agent's stored identity."""
        with Session.open(self.agent, self.chain, ttl=timedelta(minutes=5)) as session:
            with self.client(session.auth()) as client:
                response = client.get("/items/7")
            expect(response, 200)
            if response.json()["agent"] != session.identity.id:
                raise Unexpected("the request was not signed by the session key")
            signer = session.identity.id
        return f"200 as {short(signer)}"

    def step7_sub_agent(self) -> str:
        """The agent hands a sub-agent api:read only; the sub-agent reads, cannot write."""
        sub = Identity.generate(type="agent", name="demo-sub-agent")
        link = Delegation.issue(
            self.agent, sub.entity, ["api:read"], ttl=timedelta(minutes=10), parent=self.chain
        )
        with self.client(PactAuth(sub, [*self.chain, link])) as client:
            read = client.get("/items/7")
            write = client.post("/items", json={"name": "not allowed"})
        expect(read, 200)
        expect(write, 403, "capability_denied")
        return "read 200, write 403"

    def step8_replay(self) -> str:
        """The same signed request sent twice: the second is a replay."""
        headers = sign_request(
            self.agent, self.chain, method="GET", url=f"{self.server.url}/items/42"
        )
        with self.client() as client:
            first = client.get("/items/42", headers=headers)
            again = client.get("/items/42", headers=headers)
        expect(first, 200)
        expect(again, 401, "replayed")
        return "401 replayed"

    def step9_revoked(self) -> str:
        """alice revokes the delegation; the provider refuses the agent from then on."""
        revocation = Revocation.issue(self.alice, self.chain[0].id, "demo finished")
        with self.client() as client:
            sent = client.post(
                "/revocations",
                content=revocation.to_json(),
                headers={"Content-Type": "application/json"},
            )
        if sent.status_code != 204:
            raise Unexpected(f"the provider did not take the revocation: {sent.status_code}")
        with self.client(PactAuth(self.agent, self.chain)) as client:
            response = client.get("/items/42")
        expect(response, 401, "delegation_revoked")
        return "401 delegation_revoked"


STEPS: list[tuple[str, Callable[[Demo], str]]] = [
    ("agent creates its identity", Demo.step1_identity),
    ("alice delegates to the agent", Demo.step2_delegation),
    ("authenticated read (api:read)", Demo.step3_read),
    ("authenticated write (api:write)", Demo.step4_write),
    ("deploy denied (no deploy:create)", Demo.step5_denied),
    ("ephemeral session identity", Demo.step6_session),
    ("sub-delegation to a sub-agent", Demo.step7_sub_agent),
    ("replayed request refused", Demo.step8_replay),
    ("revoked delegation refused", Demo.step9_revoked),
]


def run() -> int:
    """Run every step against a fresh server; 0 when all behaved as expected."""
    alice = Identity.generate(type="human", name="alice")
    server = LocalServer()
    server.start(build_provider(alice.entity, server.authority))
    print(f"pact demo: provider at {server.url}, trusting alice ({short(alice.id)})")
    failures = 0
    try:
        with tempfile.TemporaryDirectory(prefix="pact-demo-") as workdir:
            demo = Demo(server, alice, Path(workdir))
            for number, (title, action) in enumerate(STEPS, start=1):
                label = f"[{number}] {title} ".ljust(44, ".")
                if failures:
                    print(f"{label} skipped")
                    continue
                try:
                    detail = action(demo)
                except Exception as exc:  # report any failure as this step's outcome
                    failures += 1
                    print(f"{label} FAILED ({type(exc).__name__}: {exc})")
                else:
                    print(f"{label} ok ({detail})")
    finally:
        server.stop()
    print("all steps behaved as expected" if not failures else "the demo FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(run())
