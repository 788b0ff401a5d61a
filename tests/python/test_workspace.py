"""One workspace through every workspace method, in order: exec, sync,
diff, export, snapshots, shells, services, reset, stop, the disk tools,
start, logs.  Secrets must come back redacted everywhere."""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any, Dict

import pytest

from conftest import SECRET, clean, wait_for
from pyro_mcp import (InvalidArgumentError, NotFoundError, Pyro, PyroError,
                      PyroTimeoutError)

Ws = Dict[str, Any]


def test_created(pyro: Pyro, ws: Ws) -> None:
    assert ws["state"] == "running"
    assert ws["transfer"]["files"] == 2
    wid = ws["workspace_id"]
    st = pyro.status_workspace(wid)
    assert st["workspace_id"] == wid and st["state"] == "running"
    assert st["secrets"] == ["API_TOKEN"]
    ids = [w["id"] for w in pyro.list_workspaces()["workspaces"]]
    assert wid in ids


def test_exec(pyro: Pyro, ws: Ws) -> None:
    wid = ws["workspace_id"]
    r = pyro.exec_workspace(wid, "cat hello.txt; pwd; echo err >&2")
    assert r["exit_code"] == 0
    assert r["stdout"] == "hello from the host\n/workspace\n"
    assert r["stderr"] == "err\n" and r["stderr_bytes"] == b"err\n"
    r = pyro.exec_workspace(wid, ["sh", "-c", 'echo "$1"; exit 3', "sh",
                                  "an argv; not a shell line"])
    assert r["exit_code"] == 3
    assert r["stdout"] == "an argv; not a shell line\n"
    r = pyro.exec_workspace(wid, "head -c 4 sub/data.bin")
    assert r["stdout_bytes"] == bytes(range(4))


def test_exec_timeout(pyro: Pyro, ws: Ws) -> None:
    with pytest.raises(PyroTimeoutError) as e:
        pyro.exec_workspace(ws["workspace_id"], "sleep 20", timeout_seconds=1)
    assert e.value.code == "timeout"


def test_secret_redacted(pyro: Pyro, ws: Ws) -> None:
    r = pyro.exec_workspace(ws["workspace_id"], 'echo "token is $API_TOKEN"',
                            secret_env=["API_TOKEN"])
    assert r["stdout"] == "token is [REDACTED]\n"
    r = pyro.exec_workspace(ws["workspace_id"], 'echo "t=$T"',
                            secret_env=["API_TOKEN=T"])
    assert r["stdout"] == "t=[REDACTED]\n"


def test_sync_and_diff(pyro: Pyro, ws: Ws, tmp_path: pathlib.Path) -> None:
    wid = ws["workspace_id"]
    (tmp_path / "later.txt").write_text("pushed later\n")
    r = pyro.push_workspace_sync(wid, tmp_path)
    assert r["transfer"]["files"] == 1
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "x.txt").write_text("x\n")
    pyro.push_workspace_sync(wid, tmp_path / "more", dest="/workspace/more")
    pyro.exec_workspace(wid, "rm hello.txt")
    assert pyro.exec_workspace(wid, "cat later.txt more/x.txt")["stdout"] == \
        "pushed later\nx\n"
    d = pyro.diff_workspace(wid)
    status = {f["path"]: f["status"] for f in d["files"]}
    assert status == {"later.txt": "added", "more/x.txt": "added",
                      "hello.txt": "deleted"}
    assert d["summary"] == {"added": 2, "modified": 0, "deleted": 1}


def test_export(pyro: Pyro, ws: Ws, tmp_path: pathlib.Path) -> None:
    wid = ws["workspace_id"]
    out = tmp_path / "later.txt"
    pyro.export_workspace(wid, "later.txt", out)
    assert out.read_text() == "pushed later\n"
    with pytest.raises(PyroError) as e:
        pyro.export_workspace(wid, "later.txt", out)
    assert e.value.code == "exists"
    pyro.export_workspace(wid, ".", tmp_path / "tree")
    assert (tmp_path / "tree" / "sub" / "data.bin").read_bytes() == \
        bytes(range(256))
    pyro.export_workspace(wid, "more", out, force=True)
    assert (out / "x.txt").read_text() == "x\n"


def test_snapshots(pyro: Pyro, ws: Ws) -> None:
    wid = ws["workspace_id"]
    pyro.create_snapshot(wid, "checkpoint")
    pyro.create_snapshot(wid, "scratch")
    names = [s["name"] for s in pyro.list_snapshots(wid)["snapshots"]]
    assert names[0] == "baseline"
    assert {"checkpoint", "scratch"} <= set(names)
    pyro.delete_snapshot(wid, "scratch")
    names = [s["name"] for s in pyro.list_snapshots(wid)["snapshots"]]
    assert "scratch" not in names
    with pytest.raises(NotFoundError):
        pyro.delete_snapshot(wid, "scratch")
    with pytest.raises(InvalidArgumentError):
        pyro.create_snapshot(wid, "../bad")


def test_shells(pyro: Pyro, ws: Ws) -> None:
    wid = ws["workspace_id"]
    sh = pyro.open_shell(wid)
    sid = sh["shell_id"]
    assert sh["cwd"] == "/workspace"
    other = pyro.open_shell(wid, cwd="/etc", cols=80, rows=24)["shell_id"]
    assert other != sid
    pyro.write_shell(wid, sid, "cd /tmp; export X=1")
    pyro.write_shell(wid, sid, 'pwd; echo "X is $X"')
    last: Dict[str, Any] = {}

    def shows(shell: str, text: str, cursor: int = 0) -> bool:
        last.update(pyro.read_shell(wid, shell, cursor=cursor))
        return text in clean(last["output"])
    wait_for(lambda: shows(sid, "X is 1"), "the shell keeps X")
    assert "\n/tmp\n" in clean(last["output"])
    pyro.write_shell(wid, other, 'pwd; echo "X2 is [$X]"')
    wait_for(lambda: shows(other, "X2 is []"), "shells are independent")
    assert "/etc" in clean(last["output"])
    # Cursors: a read from next_cursor sees only what came later.
    wait_for(lambda: shows(sid, "X is 1"), "again")
    cursor = last["next_cursor"]
    pyro.write_shell(wid, sid, "echo par", append_newline=False)
    pyro.write_shell(wid, sid, "tial")
    wait_for(lambda: shows(sid, "partial", cursor), "a cursor read")
    assert "X is 1" not in clean(last["output"])
    small = pyro.read_shell(wid, sid, cursor=0, max_chars=5)
    assert len(small["output"]) <= 5 and small["more"] is True
    # A signal stops the foreground job; the shell lives on.
    pyro.write_shell(wid, sid, "sleep 100")
    cursor = last["next_cursor"]
    import time
    time.sleep(1)
    pyro.signal_shell(wid, sid, "INT")
    pyro.write_shell(wid, sid, 'echo "sleep ended $?"')
    wait_for(lambda: shows(sid, "sleep ended 130", cursor), "SIGINT")
    pyro.write_shell(wid, sid, 'echo "$API_TOKEN" /run/pyro-secrets/*')
    pyro.close_shell(wid, sid)
    pyro.close_shell(wid, other)
    with pytest.raises(NotFoundError):
        pyro.read_shell(wid, sid)


def test_services(pyro: Pyro, ws: Ws) -> None:
    wid = ws["workspace_id"]
    r = pyro.start_service(
        wid, "web", "echo up; touch /tmp/web.ready; exec sleep 600",
        readiness={"file": "/tmp/web.ready"})
    assert r["state"] == "ready"
    r = pyro.start_service(wid, "cmd", ["sh", "-c", "sleep 1; exec sleep 600"],
                           readiness={"command": "true"}, cwd="/etc",
                           ready_interval_ms=200)
    assert pyro.status_service(wid, "cmd")["state"] == "ready"
    pyro.start_service(wid, "leak", 'echo "secret=$API_TOKEN"; exec sleep 600',
                       secret_env=["API_TOKEN"])
    names = sorted(s["service_name"] for s in
                   pyro.list_services(wid)["services"])
    assert names == ["cmd", "leak", "web"]
    wait_for(lambda: "up" in pyro.logs_service(wid, "web")["logs"], "logs")
    wait_for(lambda: "secret=[REDACTED]" in
             pyro.logs_service(wid, "leak", tail_lines=5)["logs"],
             "a redacted service log")
    with pytest.raises(PyroTimeoutError):
        pyro.start_service(wid, "never", "exec sleep 600",
                           readiness={"file": "/never"},
                           ready_timeout_seconds=2)
    assert pyro.status_service(wid, "never")["state"] == "failed"
    r = pyro.stop_service(wid, "web")
    assert r["state"] == "stopped"
    for name in ("cmd", "leak", "never"):
        pyro.stop_service(wid, name)
    with pytest.raises(NotFoundError):
        pyro.status_service(wid, "nosuch")


def test_reset(pyro: Pyro, ws: Ws) -> None:
    wid = ws["workspace_id"]
    pyro.exec_workspace(wid, "echo after > after.txt")
    events = []
    r = pyro.reset_workspace(wid, "checkpoint",
                             on_event=lambda k, e: events.append(k))
    assert r["state"] == "running"
    out = pyro.exec_workspace(wid, "ls")["stdout"].split()
    assert "later.txt" in out and "after.txt" not in out
    assert "hello.txt" not in out


def test_stop_disk_start(pyro: Pyro, ws: Ws, tmp_path: pathlib.Path) -> None:
    wid = ws["workspace_id"]
    pyro.exec_workspace(wid, "printf 'on disk\\n' > notes.txt; sync")
    pyro.stop_workspace(wid)
    assert pyro.status_workspace(wid)["state"] == "stopped"
    with pytest.raises(PyroError) as e:
        pyro.exec_workspace(wid, "true")
    assert e.value.code == "workspace_not_running"
    listing = pyro.list_workspace_disk(wid)
    names = {x["name"] for x in listing["entries"]}
    assert {"notes.txt", "later.txt", "sub"} <= names
    assert listing["count"] == len(listing["entries"])
    deep = pyro.list_workspace_disk(wid, "/workspace", recursive=True)
    assert any(x["path"].endswith("sub/data.bin") for x in deep["entries"])
    etc = pyro.list_workspace_disk(wid, "/etc")
    assert "hostname" in {x["name"] for x in etc["entries"]} or etc["count"]
    r = pyro.read_workspace_disk(wid, "notes.txt")
    assert r["content"] == "on disk\n" and r["content_bytes"] == b"on disk\n"
    r = pyro.read_workspace_disk(wid, "sub/data.bin", max_bytes=None)
    assert r["content_bytes"] == bytes(range(256)) and r["content"] is None
    r = pyro.read_workspace_disk(wid, "sub/data.bin", max_bytes=10)
    assert r["content_bytes"] == bytes(range(10)) and r["truncated"] is True
    chunks = []
    pyro.read_workspace_disk(wid, "notes.txt",
                             on_output=lambda fd, b: chunks.append((fd, b)))
    assert b"".join(b for _, b in chunks) == b"on disk\n"
    with open(tmp_path / "copy", "wb") as f:
        pyro.read_workspace_disk(wid, "sub/data.bin", out=f)
    assert (tmp_path / "copy").read_bytes() == bytes(range(256))
    img = tmp_path / "ws.ext4"
    r = pyro.export_workspace_disk(wid, img)
    assert r["bytes"] > 0 and img.stat().st_size > 0
    with pytest.raises(PyroError) as e:
        pyro.export_workspace_disk(wid, img)
    assert e.value.code == "exists"
    pyro.export_workspace_disk(wid, img, force=True)
    with open(img, "rb") as f:
        f.seek(1024 + 0x38)
        assert f.read(2) == b"\x53\xef"       # the ext4 superblock magic
    pyro.start_workspace(wid)
    assert pyro.status_workspace(wid)["state"] == "running"
    with pytest.raises(PyroError) as e:
        pyro.list_workspace_disk(wid)
    assert e.value.code == "workspace_running"
    assert pyro.exec_workspace(wid, "cat notes.txt")["stdout"] == "on disk\n"


def test_logs_and_no_secret(pyro: Pyro, ws: Ws) -> None:
    wid = ws["workspace_id"]
    logs = pyro.logs_workspace(wid)
    kinds = {h["kind"] for h in logs["history"]}
    assert {"exec", "sync_push"} <= kinds
    events = {e["event"] for e in logs["events"]}
    assert {"created", "reset", "stopped", "started"} <= events
    everything = json.dumps([logs, pyro.status_workspace(wid),
                             pyro.diff_workspace(wid)])
    assert SECRET not in everything
    assert os.environ["PYRO_SOCKET"]
