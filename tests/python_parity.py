#!/usr/bin/env python3
"""Parity of the Python SDK with the other surfaces: every MCP tool
(mcp/tools.c) and every exported libpyro call (nm -D libpyro.so) has its
Python method, and every public method of Pyro and Workspace comes from a
tool or a call.  The tables below are the mapping; anything missing on
either side fails.  Usage: python_parity.py TOOLS_C LIBPYRO_SO"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from typing import Dict, List, Set

from pyro_mcp import Pyro, Workspace

# MCP tool -> Pyro method.
TOOLS: Dict[str, str] = {
    "vm_run": "run_in_vm", "vm_list_environments": "list_environments",
    "vm_create": "create_vm", "vm_start": "start_vm", "vm_exec": "exec_vm",
    "vm_stop": "stop_vm", "vm_delete": "delete_vm", "vm_status": "status_vm",
    "vm_list": "list_vms", "vm_network_info": "network_info_vm",
    "vm_reap_expired": "reap_expired", "workspace_create": "create_workspace",
    "workspace_sync_push": "push_workspace_sync",
    "workspace_exec": "exec_workspace", "workspace_export": "export_workspace",
    "workspace_diff": "diff_workspace", "snapshot_create": "create_snapshot",
    "snapshot_list": "list_snapshots", "snapshot_delete": "delete_snapshot",
    "workspace_reset": "reset_workspace", "service_start": "start_service",
    "service_list": "list_services", "service_status": "status_service",
    "service_logs": "logs_service", "service_stop": "stop_service",
    "shell_open": "open_shell", "shell_read": "read_shell",
    "shell_write": "write_shell", "shell_signal": "signal_shell",
    "shell_close": "close_shell", "workspace_status": "status_workspace",
    "workspace_list": "list_workspaces", "workspace_logs": "logs_workspace",
    "workspace_delete": "delete_workspace", "workspace_stop": "stop_workspace",
    "workspace_start": "start_workspace",
    "workspace_fork": "fork_workspace",
    "workspace_disk_list": "list_workspace_disk",
    "workspace_disk_read": "read_workspace_disk",
    "workspace_disk_export": "export_workspace_disk",
}

# libpyro call -> Pyro method, or "param:NAME" (a keyword argument of the
# streaming methods), or "internal:WHY".
CALLS: Dict[str, str] = {
    "pyro_version": "version",
    "pyro_default_socket_path": "default_socket_path",
    "pyro_environment_cache_dir": "environment_cache_dir",
    "pyro_connect": "__init__", "pyro_disconnect": "close",
    "pyro_set_event_handler": "param:on_event",
    "pyro_set_output_handler": "param:on_output",
    "pyro_call": "call",
    "pyro_free": "internal:every result is copied into Python and freed",
    "pyro_doctor": "doctor", "pyro_usage": "usage",
    "pyro_run_in_vm": "run_in_vm",
    "pyro_vm_create": "create_vm", "pyro_vm_start": "start_vm",
    "pyro_vm_exec": "exec_vm", "pyro_vm_stop": "stop_vm",
    "pyro_vm_delete": "delete_vm", "pyro_vm_network_info": "network_info_vm",
    "pyro_vm_reap_expired": "reap_expired", "pyro_vm_list": "list_vms",
    "pyro_vm_status": "status_vm", "pyro_workspace_list": "list_workspaces",
    "pyro_workspace_status": "status_workspace",
    "pyro_workspace_create": "create_workspace",
    "pyro_workspace_delete": "delete_workspace",
    "pyro_workspace_logs": "logs_workspace",
    "pyro_workspace_start": "start_workspace",
    "pyro_workspace_stop": "stop_workspace",
    "pyro_workspace_fork": "fork_workspace",
    "pyro_workspace_reset": "reset_workspace",
    "pyro_workspace_exec": "exec_workspace",
    "pyro_workspace_sync_push": "push_workspace_sync",
    "pyro_workspace_export": "export_workspace",
    "pyro_workspace_diff": "diff_workspace",
    "pyro_snapshot_create": "create_snapshot",
    "pyro_snapshot_list": "list_snapshots",
    "pyro_snapshot_delete": "delete_snapshot",
    "pyro_shell_open": "open_shell", "pyro_shell_read": "read_shell",
    "pyro_shell_write": "write_shell", "pyro_shell_signal": "signal_shell",
    "pyro_shell_close": "close_shell", "pyro_service_start": "start_service",
    "pyro_service_list": "list_services",
    "pyro_service_status": "status_service",
    "pyro_service_logs": "logs_service", "pyro_service_stop": "stop_service",
    "pyro_env_list": "list_environments",
    "pyro_env_inspect": "inspect_environment",
    "pyro_env_pull": "pull_environment", "pyro_env_prune": "prune_environments",
    "pyro_env_build": "build_environment",
    "pyro_env_cache": "environment_cache",
    "pyro_env_pull_from": "pull_environment",
    "pyro_env_push": "push_environment",
    "pyro_env_import": "import_environment",
    "pyro_env_warm": "warm_environment",
    "pyro_env_templates": "list_templates",
    "pyro_set_progress_handler": "internal:byte counts of long transfers "
    "for the CLI's progress line; Python gets pyrod's phases through "
    "on_event",
    "pyro_workspace_disk_list": "list_workspace_disk",
    "pyro_workspace_disk_read": "read_workspace_disk",
    "pyro_workspace_disk_read_fd": "read_workspace_disk",
    "pyro_workspace_disk_export": "export_workspace_disk",
}

# Pyro methods that are neither a tool nor a call: the Pythonic extras.
EXTRAS = {"workspace"}

# Workspace method -> the Pyro method it binds to the workspace's id.
BOUND: Dict[str, str] = {
    "exec": "exec_workspace", "push_sync": "push_workspace_sync",
    "diff": "diff_workspace", "export": "export_workspace",
    "status": "status_workspace", "logs": "logs_workspace",
    "create_snapshot": "create_snapshot", "list_snapshots": "list_snapshots",
    "delete_snapshot": "delete_snapshot", "reset": "reset_workspace",
    "stop": "stop_workspace", "start": "start_workspace",
    "fork": "fork_workspace",
    "open_shell": "open_shell", "read_shell": "read_shell",
    "write_shell": "write_shell", "signal_shell": "signal_shell",
    "close_shell": "close_shell", "start_service": "start_service",
    "list_services": "list_services", "status_service": "status_service",
    "logs_service": "logs_service", "stop_service": "stop_service",
    "list_disk": "list_workspace_disk", "read_disk": "read_workspace_disk",
    "export_disk": "export_workspace_disk", "delete": "delete_workspace",
}

STREAMING = ("run_in_vm", "exec_vm", "exec_workspace")


def public(cls: type) -> Set[str]:
    return {n for n, v in vars(cls).items()
            if not n.startswith("_") and callable(getattr(cls, n))}


def main(tools_c: str, so: str) -> int:
    bad: List[str] = []
    text = open(tools_c).read()
    tools = set(re.findall(r'^\t\{ "([a-z_]+)", "', text, re.M))
    if len(tools) < 30:
        bad.append(f"only {len(tools)} tools found in {tools_c}")
    nm = subprocess.run(["nm", "-D", "--defined-only", so], check=True,
                        capture_output=True, text=True).stdout
    calls = {f[2].split("@")[0] for f in (ln.split() for ln in nm.splitlines())
             if len(f) == 3 and f[1] == "T" and f[2].startswith("pyro_")}
    methods = public(Pyro)
    for t in sorted(tools - TOOLS.keys()):
        bad.append(f"MCP tool {t} has no Python method in the map")
    for t in sorted(TOOLS.keys() - tools):
        bad.append(f"the map names MCP tool {t}, which mcp/tools.c lacks")
    for c in sorted(calls - CALLS.keys()):
        bad.append(f"libpyro call {c} has no Python method in the map")
    for c in sorted(CALLS.keys() - calls):
        bad.append(f"the map names {c}, which libpyro does not export")
    for src, m in list(TOOLS.items()) + list(CALLS.items()):
        if m.startswith("internal:") or m == "__init__":
            continue
        if m.startswith("param:"):
            for s in STREAMING:
                if m[6:] not in inspect.signature(getattr(Pyro, s)).parameters:
                    bad.append(f"{src}: Pyro.{s} lacks {m[6:]}=")
            continue
        if m not in methods:
            bad.append(f"{src}: Pyro.{m} does not exist")
    mapped = set(TOOLS.values()) | set(CALLS.values()) | EXTRAS
    for m in sorted(methods - mapped):
        bad.append(f"Pyro.{m} is neither an MCP tool nor a libpyro call")
    for w in sorted(public(Workspace) - BOUND.keys()):
        bad.append(f"Workspace.{w} is not in the map")
    for w, m in BOUND.items():
        if w not in public(Workspace) or m not in methods:
            bad.append(f"Workspace.{w} -> Pyro.{m}: missing")
    for b in bad:
        print("parity: " + b, file=sys.stderr)
    print(f"parity: {len(tools)} MCP tools, {len(calls)} libpyro calls, "
          f"{len(methods)} Pyro methods, {len(BOUND)} Workspace methods: "
          + ("ok" if not bad else f"{len(bad)} problem(s)"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
