"""The layers of architecture.md: documents and verification import no web framework."""

from __future__ import annotations

import subprocess
import sys

import pytest

LOWER_LAYERS = [
    "pact_asgi.identity",
    "pact_asgi.capability",
    "pact_asgi.delegation",
    "pact_asgi.revocation",
    "pact_asgi.chain",
    "pact_asgi.digest",
    "pact_asgi.signature",
    "pact_asgi.trust",
    "pact_asgi.stores",
    "pact_asgi.session",
]
FRAMEWORKS = ("starlette", "fastapi", "httpx", "click")


@pytest.mark.parametrize("module", LOWER_LAYERS)
def test_lower_layers_import_no_framework(module):
    # A fresh interpreter, bypassing the package __init__ (which loads the middleware),
    # so that only what the module itself needs is imported.
    probe = (
        "import importlib.util, sys, types\n"
        "package = types.ModuleType('pact_asgi')\n"
        "spec = importlib.util.find_spec('pact_asgi')\n"
        "package.__path__ = list(spec.submodule_search_locations)\n"
        "sys.modules['pact_asgi'] = package\n"
        f"importlib.import_module({module!r})\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FRAMEWORKS!r}))\n"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
