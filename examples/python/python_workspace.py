#!/usr/bin/env python3
"""A stable workspace: seed it from a host directory, push a later change,
run commands, checkpoint, diff, reset, export, and delete it on exit."""

import pathlib
import sys
import tempfile

from pyro_mcp import Pyro


def main() -> None:
    pyro = Pyro()
    with tempfile.TemporaryDirectory() as tmp:
        repo = pathlib.Path(tmp, "repo")
        repo.mkdir()
        (repo / "hello.txt").write_text("hello from the host\n")
        changes = pathlib.Path(tmp, "changes")
        changes.mkdir()
        (changes / "note.txt").write_text("pushed later\n")

        with pyro.workspace("debian:12", seed_path=repo,
                            secrets={"API_TOKEN": "tok-123-abc"}) as ws:
            print(f"workspace {ws.id}")
            ws.push_sync(changes)
            print(ws.exec("cat hello.txt note.txt")["stdout"], end="")
            ws.create_snapshot("checkpoint")
            ws.exec("rm hello.txt")
            for f in ws.diff()["files"]:
                print(f"{f['status']} {f['path']}")
            ws.reset("checkpoint")
            print(ws.exec('echo "token is $API_TOKEN"',
                          secret_env=["API_TOKEN"])["stdout"], end="")
            ws.export(".", pathlib.Path(tmp, "out"))
            print("exported:", sorted(p.name for p in
                                      pathlib.Path(tmp, "out").iterdir()))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
