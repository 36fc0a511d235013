"""Shared test configuration."""

from __future__ import annotations

# tests/ has no __init__.py, so pytest puts it on sys.path and the plugin imports by name.
pytest_plugins = ["redis_server", "middleware_kit"]
