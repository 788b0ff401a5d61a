"""Streaming callbacks, and callbacks that raise: the call finishes, the
connection stays usable, the exception comes out afterwards."""

from __future__ import annotations

import pathlib
import threading
from typing import Any, Dict, List, Tuple

import pytest

from conftest import ENV
from pyro_mcp import Pyro


def test_run_streams(pyro: Pyro) -> None:
    chunks: List[Tuple[int, bytes]] = []
    events: List[Tuple[str, Dict[str, Any]]] = []
    r = pyro.run_in_vm(ENV, "git --version; echo oops >&2",
                       on_output=lambda fd, b: chunks.append((fd, b)),
                       on_event=lambda k, e: events.append((k, e)))
    assert r["exit_code"] == 0 and r["cleanup"]["deleted"] is True
    assert "stdout" not in r         # the callback took the output
    out = b"".join(b for fd, b in chunks if fd == 1)
    err = b"".join(b for fd, b in chunks if fd == 2)
    assert out.startswith(b"git version ") and err == b"oops\n"
    phases = [e["phase"] for k, e in events if k == "progress"]
    assert phases == ["create", "boot", "start", "execute"]
    boot = [e for k, e in events if k == "progress" and e["phase"] == "boot"]
    # No template of this shape in the test's pyrod: a cold boot, and why.
    assert boot[0]["boot"] == "cold" and boot[0]["reason"]
    assert r["boot"] == "cold"


def test_exec_streams_in_order(pyro: Pyro, ws: Dict[str, Any]) -> None:
    got: List[bytes] = []
    r = pyro.exec_workspace(ws["workspace_id"],
                            "for i in $(seq 1 300); do echo line $i; done",
                            on_output=lambda fd, b: got.append(b))
    assert r["exit_code"] == 0
    lines = b"".join(got).decode().splitlines()
    assert lines == [f"line {i}" for i in range(1, 301)]


def test_output_callback_raises(pyro: Pyro, ws: Dict[str, Any]) -> None:
    wid = ws["workspace_id"]
    calls = []

    def boom(fd: int, data: bytes) -> None:
        calls.append(data)
        raise ValueError("from the callback")
    with pytest.raises(ValueError, match="from the callback"):
        pyro.exec_workspace(wid, "echo one; sleep 1; echo two; echo three",
                            on_output=boom)
    assert len(calls) == 1           # not called again after it raised
    # The same connection goes on: the call was read to its end.
    r = pyro.exec_workspace(wid, "echo after")
    assert r["stdout"] == "after\n"
    assert pyro.status_workspace(wid)["state"] == "running"


def test_event_callback_raises(pyro: Pyro) -> None:
    def boom(kind: str, ev: Dict[str, Any]) -> None:
        raise KeyError("event")
    with pytest.raises(KeyError):
        pyro.run_in_vm(ENV, "true", on_event=boom)
    # The run completed and cleaned up after itself.
    assert pyro.list_vms()["vms"] == []
    assert pyro.list_environments()["environments"]


def test_callback_cannot_reenter(pyro: Pyro, ws: Dict[str, Any]) -> None:
    def reenter(fd: int, data: bytes) -> None:
        pyro.status_workspace(ws["workspace_id"])
    with pytest.raises(RuntimeError, match="own callbacks"):
        pyro.exec_workspace(ws["workspace_id"], "echo x", on_output=reenter)
    other = Pyro()
    seen: List[str] = []
    pyro.exec_workspace(ws["workspace_id"], "echo x", on_output=lambda fd, b:
                        seen.append(other.status_workspace(
                            ws["workspace_id"])["state"]))
    assert seen == ["running"]
    other.close()


def test_two_threads_own_clients() -> None:
    results: Dict[int, Dict[str, Any]] = {}
    errors: List[BaseException] = []

    def work(n: int) -> None:
        try:
            with Pyro() as mine:
                results[n] = mine.run_in_vm(ENV, f"echo thread {n}")
        except BaseException as e:
            errors.append(e)
    threads = [threading.Thread(target=work, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results[1]["stdout"] == "thread 1\n"
    assert results[2]["stdout"] == "thread 2\n"
    assert results[1]["vm_id"] != results[2]["vm_id"]


def test_one_client_shared_by_threads(pyro: Pyro, ws: Dict[str, Any]) -> None:
    """The internal lock serializes the calls of threads on one client."""
    wid = ws["workspace_id"]
    states: List[str] = []
    errors: List[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                states.append(pyro.status_workspace(wid)["state"])
            states.append(pyro.exec_workspace(wid, "echo ok")["stdout"])
        except BaseException as e:
            errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert states.count("running") == 60 and states.count("ok\n") == 3


def test_context_manager(pyro: Pyro, tmp_path: pathlib.Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "a.txt").write_text("a\n")
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "b.txt").write_text("b\n")
    wid = None
    with pytest.raises(RuntimeError, match="leave the block"):
        with pyro.workspace(ENV, seed_path=tmp_path / "repo") as w:
            wid = w.id
            assert w.info is not None and w.info["workspace_id"] == wid
            assert w.exec("cat a.txt")["stdout"] == "a\n"
            w.push_sync(tmp_path / "later")
            assert [f["path"] for f in w.diff()["files"]] == ["b.txt"]
            assert w.status()["state"] == "running"
            raise RuntimeError("leave the block")
    assert wid is not None
    ids = [x["id"] for x in pyro.list_workspaces()["workspaces"]]
    assert wid not in ids
