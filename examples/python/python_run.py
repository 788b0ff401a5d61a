#!/usr/bin/env python3
"""One-shot run: boot a fresh debian:12 microVM, run one command, delete
the VM.  Needs a running pyrod (PYRO_SOCKET) and libpyro.so.1."""

from pyro_mcp import Pyro


def main() -> None:
    pyro = Pyro()
    result = pyro.run_in_vm(
        environment="debian:12",
        command="git --version",
        vcpu_count=1,
        mem_mib=1024,
        timeout_seconds=30,
        network=False,
    )
    print(result["stdout"], end="")
    print(f"exit_code={result['exit_code']} "
          f"execution_mode={result['execution_mode']} "
          f"duration_ms={result['duration_ms']}")


if __name__ == "__main__":
    main()
