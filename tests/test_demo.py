"""examples/demo.py: the nine steps against a real uvicorn server, as a newcomer runs it."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest

from pact_asgi.stores.base import ReplayCache

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.py"
STEP = re.compile(r"\[(\d)\] (.+?) \.+ (ok|FAILED|skipped)\b")


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pact_demo", DEMO)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_runs_green_as_a_script(tmp_path: Path) -> None:
    # From another directory, as after "pip install": nothing relies on the checkout's cwd.
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(DEMO)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    steps = STEP.findall(result.stdout)
    assert [int(number) for number, _, _ in steps] == list(range(1, 10))
    assert all(outcome == "ok" for _, _, outcome in steps), result.stdout
    assert "Traceback" not in result.stderr
    assert result.stdout.rstrip().endswith("all steps behaved as expected")


class ForgetfulReplayCache(ReplayCache):
    """A broken store that accepts every nonce: the demo must notice."""

    async def claim(self, key_id: str, nonce: str, until: datetime) -> bool:
        return True


def test_demo_fails_when_the_provider_misbehaves(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = load_demo()
    honest = demo.build_provider

    def without_replay_protection(human: object, authority: str) -> object:
        provider = honest(human, authority)
        provider.replay = ForgetfulReplayCache()
        return provider

    monkeypatch.setattr(demo, "build_provider", without_replay_protection)

    assert demo.run() == 1
    outcomes = {int(n): outcome for n, _, outcome in STEP.findall(capsys.readouterr().out)}
    assert outcomes == {**dict.fromkeys(range(1, 8), "ok"), 8: "FAILED", 9: "skipped"}
