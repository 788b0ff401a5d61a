"""Errors: the classes callers catch, Python-side refusals before anything
is sent, a missing or too old libpyro, no pyrod."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from typing import Any, Callable, Dict

import pytest

from conftest import ENV
from pyro_mcp import (DaemonUnavailableError, InvalidArgumentError,
                      NotFoundError, Pyro, PyroError, PyroTimeoutError,
                      error_for)


def test_error_for() -> None:
    assert type(error_for("not_found", "m")) is NotFoundError
    assert type(error_for("environment_not_installed", "m")) is NotFoundError
    for code in ("invalid_argument", "invalid_name", "invalid_path", "usage"):
        assert type(error_for(code, "m")) is InvalidArgumentError
    assert type(error_for("daemon_unavailable", "m")) is \
        DaemonUnavailableError
    assert type(error_for("timeout", "m")) is PyroTimeoutError
    e = error_for("busy", "try later")
    assert type(e) is PyroError and e.code == "busy"
    assert e.message == "try later" and str(e) == "try later (busy)"
    for cls in (NotFoundError, InvalidArgumentError, DaemonUnavailableError,
                PyroTimeoutError):
        assert issubclass(cls, PyroError)


def test_no_daemon(tmp_path: pathlib.Path) -> None:
    p = Pyro(tmp_path / "nobody.sock")
    with pytest.raises(DaemonUnavailableError) as e:
        p.status_workspace("0123456789abcdef")
    assert e.value.code == "daemon_unavailable"
    assert "pyrod" in e.value.message
    # The environment calls need no pyrod.
    assert p.list_environments()["environments"]


def test_not_found(pyro: Pyro) -> None:
    for call in (lambda: pyro.status_workspace("0123456789abcdef"),
                 lambda: pyro.status_vm("0123456789abcdef"),
                 lambda: pyro.delete_workspace("0123456789abcdef")):
        with pytest.raises(NotFoundError) as e:
            call()
        assert e.value.code == "not_found"
    with pytest.raises(NotFoundError):
        pyro.inspect_environment("nosuch:1")
    with pytest.raises(NotFoundError):
        pyro.run_in_vm("nosuch:1", "true")


def test_invalid_argument_from_pyrod(pyro: Pyro) -> None:
    with pytest.raises(InvalidArgumentError) as e:
        pyro.call("vm.create", {"environment": ENV, "vcpu_count": 99})
    assert e.value.code == "invalid_argument"
    # Egress rules: checked by pyrod, nothing is created.
    for kw in ({"network": True, "allow_egress": ["10.0.0.0/33"]},
               {"network": True, "allow_egress": ["bad_name!"]},
               {"allow_egress": ["example.com"]}):
        with pytest.raises(InvalidArgumentError) as e:
            pyro.create_vm(ENV, **kw)  # type: ignore[arg-type]
        assert e.value.code == "invalid_argument"
    with pytest.raises(PyroError) as e:
        pyro.create_vm(ENV, network=True,
                       allow_egress=[f"10.0.{i}.0/24" for i in range(33)])
    assert e.value.code == "limit_exceeded"
    vm = pyro.create_vm(ENV, network=True, allow_egress=["10.1.2.3/8",
                                                         "*.Example.com"])
    try:
        assert vm["networking"]["allow_egress"] == ["10.0.0.0/8",
                                                    "*.example.com"]
        assert vm["networking"]["tap"] is None
    finally:
        pyro.delete_vm(vm["vm_id"])


BAD: Dict[str, Callable[[Pyro], Any]] = {
    "env int": lambda p: p.run_in_vm(12, "true"),                # type: ignore
    "env empty": lambda p: p.run_in_vm("", "true"),
    "cmd int": lambda p: p.run_in_vm(ENV, 5),                    # type: ignore
    "cmd empty": lambda p: p.run_in_vm(ENV, ""),
    "cmd []": lambda p: p.run_in_vm(ENV, []),
    "cmd NUL": lambda p: p.run_in_vm(ENV, "echo a\0b"),
    "argv int": lambda p: p.run_in_vm(ENV, ["echo", 1]),         # type: ignore
    "vcpu 0": lambda p: p.run_in_vm(ENV, "true", vcpu_count=0),
    "vcpu bool": lambda p: p.run_in_vm(ENV, "true", vcpu_count=True),
    "mem str": lambda p: p.create_vm(ENV, mem_mib="1024"),       # type: ignore
    "mem low": lambda p: p.create_vm(ENV, mem_mib=16),
    "ttl 0": lambda p: p.create_vm(ENV, ttl_seconds=0),
    "timeout float": lambda p: p.exec_vm("0123456789abcdef", "true",
                                         timeout_seconds=1.5),   # type: ignore
    "network str": lambda p: p.run_in_vm(ENV, "true",
                                         network="no"),          # type: ignore
    "policy": lambda p: p.create_workspace(ENV, network_policy="all"),
    "allow_egress str": lambda p: p.create_vm(
        ENV, network=True, allow_egress="10.0.0.0/8"),           # type: ignore
    "seed int": lambda p: p.create_workspace(ENV, seed_path=3),  # type: ignore
    "secrets list": lambda p: p.create_workspace(
        ENV, secrets=["A=b"]),                                   # type: ignore
    "secret value": lambda p: p.create_workspace(
        ENV, secrets={"A": 1}),                                  # type: ignore
    "secret_env str": lambda p: p.exec_workspace(
        "0123456789abcdef", "true", secret_env="API"),           # type: ignore
    "id None": lambda p: p.status_workspace(None),               # type: ignore
    "signal": lambda p: p.signal_shell("0123456789abcdef", "1", "STOP"),
    "readiness kind": lambda p: p.start_service(
        "0123456789abcdef", "s", "true", readiness={"port": "80"}),
    "readiness two": lambda p: p.start_service(
        "0123456789abcdef", "s", "true",
        readiness={"file": "/a", "tcp": "127.0.0.1:1"}),
    "max_bytes 0": lambda p: p.read_workspace_disk("0123456789abcdef", "a",
                                                   max_bytes=0),
    "cursor -1": lambda p: p.read_shell("0123456789abcdef", "1", cursor=-1),
    "force int": lambda p: p.export_workspace_disk("0123456789abcdef", "/x",
                                                   force=1),     # type: ignore
    "call args": lambda p: p.call("workspace.list", ["x"]),      # type: ignore
    "on_output": lambda p: p.exec_workspace(
        "0123456789abcdef", "true", on_output=5),                # type: ignore
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_refused_before_sending(name: str, tmp_path: pathlib.Path) -> None:
    """A client whose socket has no pyrod: an argument check that ran
    after connecting would raise DaemonUnavailableError instead."""
    p = Pyro(tmp_path / "nobody.sock")
    with pytest.raises((TypeError, ValueError)) as e:
        BAD[name](p)
    assert not isinstance(e.value, PyroError)


def run_import(env_value: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYRO_LIBPYRO=env_value)
    return subprocess.run([sys.executable, "-c", "import pyro_mcp"], env=env,
                          capture_output=True, text=True)


def test_import_without_libpyro() -> None:
    r = run_import("/nonexistent/libpyro.so.1")
    assert r.returncode == 1
    assert "ImportError: pyro_mcp needs libpyro.so.1" in r.stderr
    assert "make install" in r.stderr and "PYRO_LIBPYRO" in r.stderr


def test_import_with_a_library_too_old() -> None:
    # libc has none of libpyro's calls: as a library from before them.
    r = run_import("libc.so.6")
    assert r.returncode == 1
    assert "is too old for pyro_mcp" in r.stderr
    assert "lacks pyro_version" in r.stderr and "make install" in r.stderr


def test_generic_call(pyro: Pyro) -> None:
    assert "workspaces" in pyro.call("workspace.list")
    with pytest.raises(PyroError) as e:
        pyro.call("no.such_op", {})
    assert e.value.code == "unknown_op"


def test_statics() -> None:
    assert Pyro.version().count(".") == 2
    assert Pyro.default_socket_path() == os.environ["PYRO_SOCKET"]
    assert Pyro.environment_cache_dir() == \
        os.environ["PYRO_ENVIRONMENT_CACHE_DIR"]
    assert Pyro().socket_path == os.environ["PYRO_SOCKET"]


def test_usage(pyro: Pyro) -> None:
    u = pyro.usage()
    assert u["memory_mib"]["limit"] > 0
    assert u["vms_running"]["used"] >= 0
    assert u["network_pool"]["limit"] > 0
    assert isinstance(u["cgroups"]["ok"], bool)
    assert u["cgroups"]["mode"] in ("auto", "require", "off")
