#!/usr/bin/env python3
"""A complete tool-calling loop: a model behind an OpenAI-compatible chat
completions endpoint is offered one tool, ``vm_run``, which runs a shell
command in a fresh pyro microVM; its calls are executed and the results
sent back until the model answers in text.  urllib only.

Environment:
  PYRO_CHAT_URL    base URL of the endpoint (default: Ollama's
                   http://127.0.0.1:11434/v1); POSTs go to URL/chat/completions
  PYRO_CHAT_MODEL  the model name (default: llama3.2)
  OPENAI_API_KEY   sent as a bearer token when set
  PYRO_SOCKET      pyrod's control socket, as for every pyro client

Usage: agent_vm_run.py [PROMPT]
"""

import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any, Dict, List

from pyro_mcp import Pyro, PyroError

MAX_TURNS = 8
VM_RUN = {
    "type": "function",
    "function": {
        "name": "vm_run",
        "description": "Run one shell command in a fresh, isolated Linux "
                       "microVM (Debian 12 with git) and return its exit "
                       "code, stdout and stderr.",
        "parameters": {
            "type": "object",
            "properties": {
                "command": {"type": "string",
                            "description": "A shell command (sh -lc)."},
                "environment": {"type": "string",
                                "enum": ["debian:12", "debian:12-base",
                                         "debian:12-build"],
                                "default": "debian:12"},
                "timeout_seconds": {"type": "integer", "minimum": 1,
                                    "maximum": 600, "default": 30},
            },
            "required": ["command"],
        },
    },
}


def chat(url: str, model: str, messages: List[Dict[str, Any]]
         ) -> Dict[str, Any]:
    body = json.dumps({"model": model, "messages": messages,
                       "tools": [VM_RUN], "tool_choice": "auto",
                       "stream": False}).encode()
    headers = {"Content-Type": "application/json"}
    if os.environ.get("OPENAI_API_KEY"):
        headers["Authorization"] = "Bearer " + os.environ["OPENAI_API_KEY"]
    req = urllib.request.Request(url.rstrip("/") + "/chat/completions",
                                 data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=300) as resp:
        answer: Dict[str, Any] = json.load(resp)
    return dict(answer["choices"][0]["message"])


def vm_run(pyro: Pyro, args: Dict[str, Any]) -> Dict[str, Any]:
    try:
        r = pyro.run_in_vm(args.get("environment", "debian:12"),
                           str(args["command"]),
                           timeout_seconds=int(args.get("timeout_seconds",
                                                        30)))
    except (PyroError, KeyError, TypeError, ValueError) as e:
        code = e.code if isinstance(e, PyroError) else "invalid_argument"
        return {"error_code": code, "message": str(e)}
    return {"exit_code": r["exit_code"], "stdout": r["stdout"],
            "stderr": r["stderr"]}


def main() -> int:
    url = os.environ.get("PYRO_CHAT_URL", "http://127.0.0.1:11434/v1")
    model = os.environ.get("PYRO_CHAT_MODEL", "llama3.2")
    prompt = (" ".join(sys.argv[1:]) or
              "Which Linux kernel does the sandbox run? Use vm_run.")
    messages: List[Dict[str, Any]] = [
        {"role": "system", "content": "You can run shell commands in an "
         "isolated microVM with the vm_run tool."},
        {"role": "user", "content": prompt}]
    pyro = Pyro()
    for turn in range(1, MAX_TURNS + 1):
        try:
            msg = chat(url, model, messages)
        except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
            print(f"agent_vm_run: no usable chat endpoint at {url}: {e}",
                  file=sys.stderr)
            return 1
        messages.append(msg)
        calls = msg.get("tool_calls") or []
        if not calls:
            print(f"[assistant] {msg.get('content') or ''}")
            print(f"[done] {turn} turn(s)")
            return 0
        for call in calls:
            fn = call.get("function", {})
            raw = fn.get("arguments") or "{}"
            args = json.loads(raw) if isinstance(raw, str) else dict(raw)
            if fn.get("name") != "vm_run":
                result: Dict[str, Any] = {"error_code": "unknown_tool",
                                          "message": "only vm_run exists"}
            else:
                print(f"[tool] vm_run: {args.get('command')}")
                result = vm_run(pyro, args)
                print(f"[tool] exit_code={result.get('exit_code')} output:")
                print(result.get("stdout", result.get("message", "")),
                      end="")
            messages.append({"role": "tool",
                             "tool_call_id": call.get("id", ""),
                             "name": fn.get("name", ""),
                             "content": json.dumps(result)})
    print(f"agent_vm_run: no answer after {MAX_TURNS} turns", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
