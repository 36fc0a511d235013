"""The public API is explicit: ``__all__`` everywhere, and ``pact_asgi`` re-exports."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from types import ModuleType

import pytest

import pact_asgi


def public_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(pact_asgi.__path__, prefix="pact_asgi."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def import_or_skip(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and not exc.name.startswith("pact_asgi"):
            pytest.skip(f"{name} needs the optional dependency {exc.name}")
        raise


def test_all_matches_what_the_package_exports():
    exported = set(pact_asgi.__all__)
    assert len(exported) == len(pact_asgi.__all__), "a name is listed twice"
    namespace = {
        name
        for name, value in vars(pact_asgi).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType)
        and name != "annotations"  # from __future__
    }
    lazy = pact_asgi._CLIENT_NAMES  # the httpx extra, imported on first access
    assert exported - {"__version__"} - lazy == namespace
    for name in lazy:
        assert getattr(pact_asgi, name) is getattr(
            importlib.import_module("pact_asgi.client"), name
        )


def test_every_exported_name_resolves():
    for name in pact_asgi.__all__:
        assert getattr(pact_asgi, name) is not None, name
    assert isinstance(pact_asgi.__version__, str)


def test_star_import_gives_exactly_all():
    namespace: dict[str, object] = {}
    exec("from pact_asgi import *", namespace)  # noqa: S102 - the behaviour under test
    assert set(namespace) - {"__builtins__"} == set(pact_asgi.__all__)


def test_exports_are_public_in_their_home_module():
    for name in pact_asgi.__all__:
        value = getattr(pact_asgi, name)
        home = getattr(value, "__module__", None)
        if not (inspect.isclass(value) or inspect.isfunction(value)) or home is None:
            continue
        assert home.startswith("pact_asgi."), (name, home)
        assert name in getattr(sys.modules[home], "__all__", ()), f"{home} hides {name}"


def test_exported_callables_are_documented():
    for name in pact_asgi.__all__:
        value = getattr(pact_asgi, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert (value.__doc__ or "").strip(), f"{name} has no docstring"


@pytest.mark.parametrize("name", public_modules())
def test_module_all_names_exist(name):
    module = import_or_skip(name)
    names = getattr(module, "__all__", None)
    assert names is not None, f"{name} has no __all__"
    assert len(set(names)) == len(names), f"{name}.__all__ lists a name twice"
    for exported in names:
        assert hasattr(module, exported), f"{name}.__all__ names missing {exported!r}"


def test_public_modules_found():
    assert {"pact_asgi.chain", "pact_asgi.delegation", "pact_asgi.errors"} <= set(public_modules())
