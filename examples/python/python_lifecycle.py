#!/usr/bin/env python3
"""The lower-level VM lifecycle: create, start, exec (which deletes the VM
after its command, as in the seed), and status afterwards."""

from pyro_mcp import NotFoundError, Pyro


def main() -> None:
    pyro = Pyro()
    created = pyro.create_vm(
        environment="debian:12",
        vcpu_count=1,
        mem_mib=1024,
        ttl_seconds=600,
        network=False,
    )
    vm_id = created["vm_id"]
    print(f"created {vm_id} state={created['state']}")
    started = pyro.start_vm(vm_id)
    print(f"started {vm_id} state={started['state']}")
    result = pyro.exec_vm(vm_id, command="git --version", timeout_seconds=30)
    print(result["stdout"], end="")
    try:
        pyro.status_vm(vm_id)
    except NotFoundError:
        print(f"{vm_id} was deleted after exec_vm")


if __name__ == "__main__":
    main()
