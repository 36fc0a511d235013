"""What PactMiddleware adds to a request, as a multiple of one raw Ed25519 verification.

Run from the repository root:

    python benchmarks/bench_middleware.py                 # a table
    python benchmarks/bench_middleware.py --json          # the same numbers as JSON
    python benchmarks/bench_middleware.py --agents 0      # skip the memory run

The ASGI apps are driven in-process (a scope, a ``receive`` and a ``send``; no sockets):
a Starlette app with one ``POST /v1/repos/{owner}/{repo}/pulls`` route, once bare and
once behind the middleware, on requests with a 1 KiB body signed under a depth-3 chain
whose verified links are in the chain cache. Every request has its own nonce and is
signed before the clock starts. Rounds interleave the cases; the best round of each
counts. The cost of the middleware is (with - without) / one raw verification.

The memory run then sends one request from each of ``--agents`` distinct agents (the
first two links shared, the third per agent) and reports what the chain cache and the
replay cache hold afterwards, measured with ``tracemalloc``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import platform
import secrets
import statistics
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cryptography
import starlette
from bench_verify import raw_case
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pact_asgi.chain import encode_chain
from pact_asgi.delegation import Delegation
from pact_asgi.digest import content_digest
from pact_asgi.identity import Identity, test_seed
from pact_asgi.middleware import PactMiddleware
from pact_asgi.routes import requires_capability
from pact_asgi.signature import REQUIRED_COMPONENTS, sign_request, signature_base
from pact_asgi.stores import MemoryReplayCache
from pact_asgi.trust import TrustedRoots

HOST = "api.example.com"
ROUTE = "/v1/repos/{owner}/{repo}/pulls"
PATH = "/v1/repos/acme/widgets/pulls"
QUERY = "draft=false"
URL = f"https://{HOST}{PATH}?{QUERY}"
BODY = bytes(range(256)) * 4  # 1 KiB
TEMPLATE = "github:pr:create,repo={owner}/{repo}"
LIMIT = 2.0

Scope = dict[str, Any]


class Chains:
    """A human and two agents that delegate down to any number of leaf agents."""

    def __init__(self, now: datetime) -> None:
        self.human = Identity.from_seed(test_seed("bench-mw-human"), type="human")
        first = Identity.from_seed(test_seed("bench-mw-agent-0"))
        second = Identity.from_seed(test_seed("bench-mw-agent-1"))
        ttl = timedelta(hours=1)
        root = Delegation.issue(
            self.human, first, ["github:*"], ttl=ttl, max_chain_depth=3, now=now
        )
        middle = Delegation.issue(
            first, second, ["github:pr:*"], ttl=ttl, max_chain_depth=2, parent=root, now=now
        )
        self.second = second
        self.prefix = [root, middle]
        self.now = now

    def leaf(self, agent: Identity) -> list[Delegation]:
        """The depth-3 chain ending at ``agent``."""
        last = Delegation.issue(
            self.second,
            agent,
            ["github:pr:create,repo=acme/*"],
            ttl=timedelta(hours=1),
            parent=self.prefix,
            now=self.now,
        )
        return [*self.prefix, last]


def asgi_scope(headers: dict[str, str] | None) -> Scope:
    """The scope an ASGI server would hand over for the benchmark request."""
    fields = [(b"host", HOST.encode())]
    if headers:
        fields += [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    fields += [
        (b"content-type", b"application/octet-stream"),
        (b"content-length", str(len(BODY)).encode()),
        (b"user-agent", b"bench/1.0"),
        (b"accept", b"*/*"),
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": QUERY.encode(),
        "root_path": "",
        "headers": fields,
        "server": (HOST, 443),
        "client": ("127.0.0.1", 50000),
    }


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": BODY, "more_body": False}


class Sink:
    """A ``send`` that keeps the last status."""

    status = 0

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]


def apps(chains: Chains) -> dict[str, Callable[..., Awaitable[None]]]:
    """The bare app and the same app behind the middleware, declared two ways."""

    async def create(request: Request) -> Response:
        await request.body()
        return Response(b"created", status_code=201)

    def starlette_app(endpoint: Callable[..., Any]) -> Starlette:
        return Starlette(routes=[Route(ROUTE, endpoint, methods=["POST"])])

    trust = TrustedRoots([chains.human])
    return {
        "without middleware": starlette_app(create),
        "with middleware, routes map": PactMiddleware(
            starlette_app(create),
            trust=trust,
            authorities=[HOST],
            routes={f"POST {ROUTE}": TEMPLATE},
        ),
        "with middleware, @requires_capability": PactMiddleware(
            starlette_app(requires_capability(TEMPLATE)(create)),
            trust=trust,
            authorities=[HOST],
        ),
    }


def timed_rounds(
    cases: dict[str, Callable[..., Awaitable[None]]],
    signed: Callable[[], dict[str, str]],
    *,
    per_round: int,
    repeat: int,
) -> dict[str, list[float]]:
    """µs per request of each app, one list entry per round; the raw unit alongside."""
    raw = raw_case()
    runs: dict[str, list[float]] = {name: [] for name in cases}
    runs["raw Ed25519 verify (cryptography)"] = []
    loop = asyncio.new_event_loop()
    sink = Sink()

    async def batch(app: Callable[..., Awaitable[None]], scopes: list[Scope]) -> float:
        start = time.perf_counter()
        for scope in scopes:
            await app(scope, receive, sink)
        elapsed = time.perf_counter() - start
        if sink.status != 201:
            raise RuntimeError(f"the benchmark request was answered {sink.status}")
        return elapsed / len(scopes) * 1e6

    for app in cases.values():  # warm up: lazy imports, route review, chain cache
        loop.run_until_complete(batch(app, [asgi_scope(signed())]))

    try:
        for _ in range(repeat):
            for name, app in cases.items():
                # Fresh dicts (apps write into the scope) and fresh nonces, made untimed.
                scopes = [asgi_scope(signed()) for _ in range(per_round)]
                gc.collect()
                gc.disable()
                try:
                    runs[name].append(loop.run_until_complete(batch(app, scopes)))
                finally:
                    gc.enable()
            number = per_round * 20
            gc.disable()
            try:
                start = time.perf_counter()
                for _ in range(number):
                    raw()
                runs["raw Ed25519 verify (cryptography)"].append(
                    (time.perf_counter() - start) / number * 1e6
                )
            finally:
                gc.enable()
    finally:
        loop.close()
    return runs


def cache_memory(agents: int) -> dict[str, float]:
    """Bytes the chain cache and the replay cache hold after ``agents`` distinct agents."""
    moment = datetime.now(timezone.utc).replace(microsecond=0)
    chains = Chains(moment - timedelta(minutes=1))

    def clock() -> datetime:
        return moment  # frozen: no nonce expires, however long the run takes

    app = PactMiddleware(
        Starlette(routes=[Route(ROUTE, _created, methods=["POST"])]),
        trust=TrustedRoots([chains.human]),
        authorities=[HOST],
        routes={f"POST {ROUTE}": TEMPLATE},
        replay=MemoryReplayCache(clock=clock),
        clock=clock,
    )
    sink = Sink()

    async def run() -> None:
        for _ in range(agents):
            agent = Identity.generate()
            headers = quick_sign(agent, chains.leaf(agent), moment)
            await app(asgi_scope(headers), receive, sink)
            if sink.status != 201:
                raise RuntimeError(f"an agent's request was answered {sink.status}")

    loop = asyncio.new_event_loop()
    loop.run_until_complete(app(asgi_scope(None), receive, sink))  # route review, imports
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    loop.run_until_complete(run())
    seconds = time.perf_counter() - started
    loop.close()
    gc.collect()
    held, _ = tracemalloc.get_traced_memory()

    chain_entries = app.verifier.cached_chains
    app.verifier.clear_cache()
    gc.collect()
    without_chains, _ = tracemalloc.get_traced_memory()
    replay_entries = len(app.replay)  # type: ignore[arg-type]
    app.replay = MemoryReplayCache(clock=clock)
    gc.collect()
    without_replay, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "agents": agents,
        "seconds": round(seconds, 1),
        "chain_cache_entries": chain_entries,
        "chain_cache_bytes": held - without_chains,
        "replay_cache_entries": replay_entries,
        "replay_cache_bytes": without_chains - without_replay,
        "total_bytes": held - without_replay,
    }


def quick_sign(agent: Identity, chain: list[Delegation], created: datetime) -> dict[str, str]:
    """The same four headers as ``sign_request``, without ``http-message-signatures``.

    The memory run signs 100,000 requests; ``sign_request`` would spend most of the run
    in the library's pure-Python signer. The base comes from ``signature_base``, the
    verifier's own RFC 9421 §2.5 construction, and every request must still be
    accepted by the middleware, so a wrong header would stop the run.
    """
    inner = "(" + " ".join(f'"{c}"' for c in REQUIRED_COMPONENTS) + ")"
    inner += f';created={int(created.timestamp())};keyid="{agent.id}"'
    inner += f';nonce="{secrets.token_urlsafe(16)}";alg="ed25519";tag="pact"'
    headers = {
        "Pact-Chain": encode_chain(chain),
        "Content-Digest": content_digest(BODY),
        "Signature-Input": f"pact={inner}",
    }
    base = signature_base(
        label="pact", method="POST", authority=HOST, path=PATH, query=QUERY, headers=headers
    )
    headers["Signature"] = "pact=:" + base64.b64encode(agent.sign(base)).decode() + ":"
    return headers


async def _created(request: Request) -> Response:
    await request.body()
    return Response(b"created", status_code=201)


def main() -> int:
    """Measure, print, and fail when the middleware costs more than 2.0x."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--repeat", type=int, default=9, help="rounds (best is kept)")
    parser.add_argument("--requests", type=int, default=300, help="requests per app a round")
    parser.add_argument("--agents", type=int, default=100_000, help="memory run; 0 skips it")
    args = parser.parse_args()

    chains = Chains(datetime.now(timezone.utc) - timedelta(minutes=1))
    agent = Identity.from_seed(test_seed("bench-mw-leaf"))
    chain = chains.leaf(agent)

    def signed() -> dict[str, str]:
        return sign_request(agent, chain, method="POST", url=URL, body=BODY)

    cases = apps(chains)
    runs = timed_rounds(cases, signed, per_round=args.requests, repeat=args.repeat)
    best = {name: min(times) for name, times in runs.items()}
    median = {name: statistics.median(times) for name, times in runs.items()}
    unit = best["raw Ed25519 verify (cryptography)"]
    base = best["without middleware"]
    added = {
        name: (best[name] - base, (best[name] - base) / unit)
        for name in cases
        if name != "without middleware"
    }
    memory = cache_memory(args.agents) if args.agents > 0 else None
    versions = {
        "python": platform.python_version(),
        "cryptography": cryptography.__version__,
        "starlette": starlette.__version__,
    }

    if args.json:
        report = {
            "versions": versions,
            "best_us": best,
            "median_us": median,
            "added": {
                name: {"us": round(us, 1), "x_raw": round(x, 2)} for name, (us, x) in added.items()
            },
            "memory": memory,
        }
        print(json.dumps(report, indent=2))
    else:
        width = max(len(name) for name in best)
        header = f"{'best µs':>8}  {'median µs':>9}  {'added µs':>8}  {'x raw':>6}"
        print(f"{'case':<{width}}  {header}")
        for name in best:
            extra = added.get(name)
            tail = f"  {extra[0]:8.1f}  {extra[1]:6.2f}" if extra else ""
            print(f"{name:<{width}}  {best[name]:8.1f}  {median[name]:9.1f}{tail}")
        if memory is not None:
            mib = 1024 * 1024
            print(
                f"after {memory['agents']:,} agents ({memory['seconds']} s): chain cache "
                f"{memory['chain_cache_entries']:,} chains, "
                f"{memory['chain_cache_bytes'] / mib:.1f} MiB; replay cache "
                f"{memory['replay_cache_entries']:,} nonces, "
                f"{memory['replay_cache_bytes'] / mib:.1f} MiB; "
                f"total {memory['total_bytes'] / mib:.1f} MiB"
            )
        print(", ".join(f"{k} {v}" for k, v in versions.items()))
    worst = max(x for _, x in added.values())
    if worst > LIMIT:
        print(f"the middleware adds {worst:.2f}x raw Ed25519: over the {LIMIT}x bar")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
