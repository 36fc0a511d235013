"""Pytest plugin: a real Redis for the tests marked ``redis``.

``redis_url`` is ``$REDIS_URL`` when set; otherwise a private ``redis-server`` is
started on a free loopback port for the session (no persistence) and stopped at the
end. When no server can be had, the Redis tests fail: they are never skipped silently.
``redis_client`` gives each test its own client and key prefix and cleans up after it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio

INSTALL_HINT = (
    "the Redis tests need a real redis-server: install it (apt-get install redis-server) "
    "or set REDIS_URL to a running server"
)
START_TIMEOUT = 10.0


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers_ping(port: int) -> bool:
    """True when a Redis on the loopback port answers PING with PONG."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_server(binary: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``redis-server`` on a free port; return the process once it answers PING."""
    log_path = workdir / "redis.log"
    for _ in range(3):  # another process may take the free port before Redis binds it
        port = free_port()
        command = [
            binary,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(workdir),
            "--logfile", str(log_path),
        ]  # fmt: skip
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL)  # noqa: S603
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            if answers_ping(port):
                return process, port
            time.sleep(0.02)
        stop_server(process)
    log = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
    pytest.fail(f"redis-server did not start; {INSTALL_HINT}\n{log}", pytrace=False)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop a server started by :func:`start_server` and reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real Redis: ``$REDIS_URL``, or a private server for this session."""
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield configured
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(f"redis-server not found on PATH; {INSTALL_HINT}", pytrace=False)
    process, port = start_server(binary, tmp_path_factory.mktemp("redis"))
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_server(process)


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test uses."""
    return f"pact-test:{uuid.uuid4().hex}:"


@pytest.fixture
async def redis_client(redis_url: str, redis_prefix: str) -> AsyncIterator[redis.asyncio.Redis]:
    """A client of the test Redis; keys under ``redis_prefix`` are deleted afterwards."""
    client = redis.asyncio.Redis.from_url(redis_url, socket_timeout=5)
    try:
        await client.ping()
    except redis.RedisError as exc:
        await client.aclose()
        pytest.fail(f"cannot reach Redis at {redis_url}: {exc}; {INSTALL_HINT}", pytrace=False)
    try:
        yield client
    finally:
        stale = [key async for key in client.scan_iter(match=redis_prefix + "*", count=1000)]
        if stale:
            await client.delete(*stale)
        await client.aclose()
