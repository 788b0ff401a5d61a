"""The README's Python snippets, verbatim, and examples/python/*, each
against real guests; agent_vm_run.py against a scripted chat server on
127.0.0.1 that speaks OpenAI's chat completions."""

from __future__ import annotations

import http.server
import json
import os
import pathlib
import subprocess
import sys
import threading
from typing import Any, Dict, Iterator, List

import pytest

from conftest import SRC, python_blocks
from pyro_mcp import Pyro

EXAMPLES = SRC / "examples" / "python"


def readme_snippets() -> List[str]:
    text = (SRC / "README.md").read_text()
    section = text.split("\n## SDKs\n", 1)[1].split("\n### C\n", 1)[0]
    return python_blocks(section)


def test_readme_has_the_four_snippets() -> None:
    blocks = readme_snippets()
    assert len(blocks) == 4
    assert "run_in_vm(" in blocks[0] and "exec_vm(" in blocks[1]
    assert "inspect_environment(" in blocks[2]
    assert "push_workspace_sync(" in blocks[3]


@pytest.mark.parametrize("n", range(4))
def test_readme_snippet(n: int, tmp_path: pathlib.Path,
                        monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "README").write_text("a repo\n")
    (tmp_path / "changes").mkdir()
    (tmp_path / "changes" / "note.txt").write_text("a note pushed later\n")
    monkeypatch.chdir(tmp_path)
    exec(compile(readme_snippets()[n], f"README.md snippet {n + 1}", "exec"),
         {"__name__": "__readme__"})
    out = capsys.readouterr().out
    if n in (0, 1):
        assert out.startswith("git version 2.")
    elif n == 2:
        envs, inspected = out.splitlines()
        assert "'catalog_version'" in envs and "'installed': True" in envs
        assert "'kernel_version'" in inspected and "debian:12" in inspected
    else:
        assert out == "a note pushed later\n\n"
    assert Pyro().list_vms()["vms"] == []


def run_example(name: str, *args: str,
                env: Dict[str, str] | None = None
                ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLES / name), *args],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, **(env or {})))


def test_example_run() -> None:
    r = run_example("python_run.py")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("git version 2.")
    assert "exit_code=0 execution_mode=guest_" in r.stdout


def test_example_lifecycle() -> None:
    r = run_example("python_lifecycle.py")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("created ") and "state=created" in lines[0]
    assert "state=running" in lines[1]
    assert lines[2].startswith("git version 2.")
    assert lines[3].endswith("was deleted after exec_vm")


def test_example_workspace() -> None:
    r = run_example("python_workspace.py")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("workspace ")
    assert lines[1:3] == ["hello from the host", "pushed later"]
    assert "added note.txt" in lines and "deleted hello.txt" in lines
    assert "token is [REDACTED]" in lines
    assert lines[-1] == "exported: ['hello.txt', 'note.txt']"
    assert "tok-123-abc" not in r.stdout


class ScriptedChat(http.server.BaseHTTPRequestHandler):
    """First answer: a vm_run tool call; then: the tool's output, read
    back into a sentence."""
    requests: List[Dict[str, Any]] = []

    def log_message(self, *a: Any) -> None:
        pass

    def do_POST(self) -> None:
        assert self.path == "/v1/chat/completions"
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ScriptedChat.requests.append(req)
        tools = [m for m in req["messages"] if m["role"] == "tool"]
        if not tools:
            msg: Dict[str, Any] = {
                "role": "assistant", "content": None,
                "tool_calls": [{"id": "call_1", "type": "function",
                                "function": {"name": "vm_run", "arguments":
                                             json.dumps({"command":
                                                         "uname -r"})}}]}
            finish = "tool_calls"
        else:
            out = json.loads(tools[-1]["content"])["stdout"].strip()
            msg = {"role": "assistant",
                   "content": f"The sandbox runs kernel {out}."}
            finish = "stop"
        body = json.dumps({"id": "x", "object": "chat.completion",
                           "model": req["model"],
                           "choices": [{"index": 0, "message": msg,
                                        "finish_reason": finish}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def chat_server() -> Iterator[str]:
    s = http.server.HTTPServer(("127.0.0.1", 0), ScriptedChat)
    t = threading.Thread(target=s.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{s.server_address[1]}/v1"
    finally:
        s.shutdown()
        s.server_close()


def test_agent_vm_run(chat_server: str) -> None:
    ScriptedChat.requests = []
    r = run_example("agent_vm_run.py", env={"PYRO_CHAT_URL": chat_server,
                                            "PYRO_CHAT_MODEL": "test-model"})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "[tool] vm_run: uname -r"
    assert lines[1] == "[tool] exit_code=0 output:"
    kernel = lines[2]
    # The guest's kernel, not the host's: the tool ran in a real guest.
    assert kernel[0].isdigit() and kernel != os.uname().release
    assert lines[3] == f"[assistant] The sandbox runs kernel {kernel}."
    assert lines[4] == "[done] 2 turn(s)"
    first = ScriptedChat.requests[0]
    assert first["model"] == "test-model"
    assert first["tools"][0]["function"]["name"] == "vm_run"
    second = ScriptedChat.requests[1]["messages"]
    assert second[-1]["role"] == "tool" and second[-1]["tool_call_id"] == \
        "call_1"
    assert Pyro().list_vms()["vms"] == []


def test_agent_without_server() -> None:
    r = run_example("agent_vm_run.py",
                    env={"PYRO_CHAT_URL": "http://127.0.0.1:9/v1"})
    assert r.returncode == 1
    assert "no usable chat endpoint at http://127.0.0.1:9/v1" in r.stderr
