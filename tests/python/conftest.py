"""Fixtures of the Python SDK tests.  tests/python.sh runs them against a
private pyrod with real guests: PYRO_SOCKET names its socket, PYRO_LIBPYRO
the built libpyro.so.1, PYTHONPATH the source tree's python/."""

from __future__ import annotations

import os
import pathlib
import re
import time
from typing import Any, Callable, Dict, Iterator, List

import pytest

from pyro_mcp import Pyro, Workspace

SRC = pathlib.Path(__file__).resolve().parents[2]
SECRET = "py-s3cret-Hq27vd"
ENV = "debian:12"


def pytest_configure(config: Any) -> None:
    if not os.environ.get("PYRO_SOCKET"):
        raise pytest.UsageError("run these through tests/python.sh (it "
                                "starts pyrod and sets PYRO_SOCKET)")


@pytest.fixture(scope="session")
def pyro() -> Iterator[Pyro]:
    with Pyro() as p:
        yield p


@pytest.fixture(scope="session")
def seed(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    d = tmp_path_factory.mktemp("seed")
    (d / "hello.txt").write_text("hello from the host\n")
    (d / "sub").mkdir()
    (d / "sub" / "data.bin").write_bytes(bytes(range(256)))
    return d


@pytest.fixture(scope="session")
def ws(pyro: Pyro, seed: pathlib.Path) -> Iterator[Dict[str, Any]]:
    """One workspace shared by most tests (guests boot slowly under TCG):
    seeded, with a secret."""
    info = pyro.create_workspace(ENV, seed_path=seed,
                                 secrets={"API_TOKEN": SECRET})
    try:
        yield info
    finally:
        pyro.delete_workspace(info["workspace_id"])


def wait_for(fn: Callable[[], bool], what: str, tries: int = 100) -> None:
    for _ in range(tries):
        if fn():
            return
        time.sleep(0.2)
    raise AssertionError(f"never: {what}")


def clean(text: str) -> str:
    """Shell output without CRs and terminal escapes."""
    return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", text).replace("\r", "")


def python_blocks(markdown: str) -> List[str]:
    return re.findall(r"```python\n(.*?)```", markdown, re.S)


__all__ = ["SRC", "SECRET", "ENV", "wait_for", "clean", "python_blocks",
           "Workspace"]
