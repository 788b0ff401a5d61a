"""A Firecracker peer for the test suite: its API over a unix socket and its
hybrid vsock, as Firecracker 1.x answers them, for the driver's client to
talk to where no Firecracker can run.

  fcpeer.py --yaml API_YAML --root DIR --api-sock PATH --log FILE
            [--mode normal|fail-boot-source|garbage|silent]

PATH and every path in a request are inside DIR (the jail's root), as
Firecracker sees them after the jailer's chroot.  Like Firecracker it:
refuses to start when PATH exists; answers exactly "HTTP/1.1 204 " with
no body, or 400 with {"fault_message": ...}; keeps connections alive;
validates every body against the published API description with unknown
fields refused (tests/fcschema.py); takes boot resources only before
InstanceStart and refuses InstanceStart without a kernel, PATCH /vm before
it and a snapshot of a VM that is not paused; checks that the kernel,
initrd and drive files exist in DIR; binds the vsock's uds_path when PUT
/vsock comes; answers "CONNECT <port>" with "OK 1073741824" once the VM
runs and the port is the agent's (1024), closing otherwise; and exits 0
on SendCtrlAltDel (as Firecracker does when its guest reboots).  Behind
the vsock the agent is scripted: it echoes.  With --agent PYRO_AGENT the
guest is real instead: at InstanceStart the drive is mounted (a loop
device, in its own mount and pid namespaces) and the real pyro-agent runs
there as PID 1 (its --host-compat mode: the channel on fd 3), so pyrod's
whole protocol runs end to end; when that agent powers off, the peer exits
0, as Firecracker does when its guest reboots with reboot=k.  Modes for
the driver's failure paths: no-socket never makes the API socket,
vsock-garbage answers CONNECT with bytes that are not "OK <n>", no-boot
never starts the guest.

Every request goes to FILE as a JSON line {method, path, body, status,
fault}; the peer exits 1 after any request Firecracker would have refused
for its form (a wrong body, path or order) so a test cannot miss it.
Modes make it misbehave: fail-boot-source answers that PUT with a 400,
garbage answers with bytes no Firecracker sends, silent never answers.
"""
import argparse
import ctypes
import json
import os
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fcschema  # noqa: E402

import yaml  # noqa: E402

OK204 = b"HTTP/1.1 204 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n\r\n"
PRE_BOOT = ("/machine-config", "/boot-source", "/drives/", "/network-interfaces/",
            "/vsock")
AGENT_PORT = 1024


class Peer:
    def __init__(self, a):
        with open(a.yaml) as f:
            self.spec = yaml.safe_load(f)
        self.defs = self.spec["definitions"]
        self.root = a.root
        self.mode = a.mode
        self.log = open(a.log, "a", buffering=1)
        self.lock = threading.Lock()
        self.state = "Not started"
        self.conf = {}
        self.bad = False
        self.vsock = None
        self.agent = a.agent
        self.guest = None
        self.gsock = None
        self.bridged = False

    def jail(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def reply(self, status, fault=None):
        if status == 204:
            return OK204
        body = json.dumps({"fault_message": fault}).encode()
        return (b"HTTP/1.1 %d \r\nServer: Firecracker API\r\nConnection: "
                b"keep-alive\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % (status, len(body))) + body

    def handle(self, method, path, body):
        """(status, fault, form_error): form_error marks a driver bug."""
        why = fcschema.validate(self.spec, self.defs, method, path, body)
        if why:
            return 400, why, True
        started = self.state != "Not started"
        if method == "PUT" and path.startswith(PRE_BOOT):
            if started:
                return 400, ("The requested operation is not supported "
                             "after starting the microVM."), True
            if path == "/boot-source":
                if self.mode == "fail-boot-source":
                    return 400, "Kernel file cannot be opened: No such file", False
                for k in ("kernel_image_path", "initrd_path"):
                    if k in body and not os.path.isfile(self.jail(body[k])):
                        return 400, ("Kernel file cannot be opened: %s"
                                     % body[k]), False
            if path.startswith("/drives/") and not os.path.isfile(
                    self.jail(body.get("path_on_host", ""))):
                return 400, "Unable to open the drive file", False
            if path.startswith("/network-interfaces/") and self.agent:
                # Firecracker opens the TAP by name as the jail's uid: it
                # must exist, be persistent and belong to that uid.
                tap = body["host_dev_name"]
                sysd = "/sys/class/net/%s" % tap
                try:
                    owner = int(open(sysd + "/owner").read())
                    flags = int(open(sysd + "/tun_flags").read(), 16)
                except (OSError, ValueError):
                    return 400, "Open tap device failed: No such device", False
                if owner != os.stat(self.root).st_uid or not flags & 0x0800:
                    return 400, ("Open tap device failed: %s is not the "
                                 "jail's (owner %d, flags %#x)" % (tap, owner, flags)), False
                self.log.write(json.dumps({"tap": tap, "owner": owner}) + "\n")
            if path == "/vsock":
                self.bind_vsock(body["uds_path"])
            self.conf[path] = body
            return 204, None, False
        if path == "/actions":
            t = body["action_type"]
            if t == "InstanceStart":
                if started:
                    return 400, "The requested operation is not supported after starting the microVM.", True
                if "/boot-source" not in self.conf:
                    return 400, "Cannot start microvm without kernel configuration.", True
                args = self.conf["/boot-source"].get("boot_args", "")
                if self.agent and ("pyro.channel=vsock" not in args or
                                   "reboot=k" not in args):
                    return 400, "boot_args without pyro.channel=vsock reboot=k", True
                self.state = "Running"
                if self.agent and self.mode != "no-boot":
                    self.start_guest()
                return 204, None, False
            if not started:
                return 400, ("The requested operation is not supported "
                             "before starting the microVM."), True
            if t == "SendCtrlAltDel":
                self.state = "Exiting"
                if self.guest is not None:
                    self.guest.kill()
            return 204, None, False
        if method == "PATCH" and path == "/vm":
            if not started:
                return 400, ("The requested operation is not supported "
                             "before starting the microVM."), True
            self.state = "Paused" if body["state"] == "Paused" else "Running"
            return 204, None, False
        if path == "/snapshot/create":
            if self.state != "Paused":
                return 400, ("Cannot create a snapshot: the microVM is not "
                             "paused."), True
            for k in ("snapshot_path", "mem_file_path"):
                with open(self.jail(body[k]), "wb") as f:
                    f.write(b"peer-" + k.encode())
            return 204, None, False
        if path == "/snapshot/load":
            if self.conf or started:
                return 400, ("Loading a microVM snapshot not allowed after "
                             "configuring boot-specific resources."), True
            self.state = "Running" if body.get("resume_vm") else "Paused"
            return 204, None, False
        return 400, "Invalid request method and/or path: %s %s." % (method, path), True

    def start_guest(self):
        """The guest: the drive mounted, the real pyro-agent as PID 1."""
        disk = self.jail(self.conf["/drives/rootfs"]["path_on_host"])
        a, b = socket.socketpair()
        script = (
            'set -e; m=$(mktemp -d); '
            'mount -o loop,nosuid,nodev "$1" "$m"; '
            'mount -t proc proc "$m/proc"; '
            'mount -t tmpfs tmpfs "$m/run"; '
            'mount -t tmpfs -o mode=1777 tmpfs "$m/tmp"; '
            'mount --rbind /dev "$m/dev"; '
            'cp "$2" "$m/run/pyro-agent"; '
            'exec chroot "$m" /run/pyro-agent --host-compat')
        libc = ctypes.CDLL(None, use_errno=True)

        def child():
            libc.prctl(1, 9)        # PR_SET_PDEATHSIG, SIGKILL
            os.dup2(b.fileno(), 3)  # the agent's channel (inheritable)
        # Our other fds are close-on-exec: the guest gets 0-3 only.
        self.guest = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount", "--kill-child", "sh",
             "-c", script, "sh", disk, self.agent],
            close_fds=False, preexec_fn=child, stdin=subprocess.DEVNULL)
        b.close()
        self.gsock = a

        def watch():
            self.guest.wait()
            os._exit(0)             # the guest rebooted: Firecracker exits
        threading.Thread(target=watch, daemon=True).start()

    def bridge(self, c):
        def pump(src, dst):
            while True:
                try:
                    b = src.recv(65536)
                except OSError:
                    b = b""
                if not b:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                dst.sendall(b)
        threading.Thread(target=pump, args=(self.gsock, c), daemon=True).start()
        pump(c, self.gsock)

    def bind_vsock(self, uds):
        path = self.jail(uds)
        if self.vsock is not None:
            self.vsock.close()
        if os.path.exists(path):
            os.unlink(path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(8)
        self.vsock = s
        threading.Thread(target=self.vsock_loop, args=(s,), daemon=True).start()

    def vsock_loop(self, s):
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            threading.Thread(target=self.vsock_conn, args=(c,), daemon=True).start()

    def vsock_conn(self, c):
        line = b""
        while not line.endswith(b"\n") and len(line) < 32:
            b = c.recv(1)
            if not b:
                c.close()
                return
            line += b
        parts = line.decode(errors="replace").split()
        if (len(parts) != 2 or parts[0].upper() != "CONNECT" or
                parts[1] != str(AGENT_PORT) or self.state not in ("Running",)
                or (self.agent and self.gsock is None)):
            c.close()          # as Firecracker does: no answer, a close
            return
        if self.mode == "vsock-garbage":
            c.sendall(b"\x1b[2JOK maybe\n")
            c.close()
            return
        c.sendall(b"OK 1073741824\n")
        if self.agent:
            with self.lock:
                taken, self.bridged = self.bridged, True
            if taken:           # one host connection per boot
                c.close()
                return
            self.bridge(c)
            return
        while True:            # the scripted agent: an echo
            b = c.recv(4096)
            if not b:
                break
            c.sendall(b)
        c.close()

    def serve(self, c):
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                b = c.recv(65536)
                if not b:
                    c.close()
                    return
                buf += b
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            hdr = {}
            for h in lines[1:]:
                k, _, v = h.partition(":")
                hdr[k.strip().lower()] = v.strip()
            if "chunked" in hdr.get("transfer-encoding", ""):
                self.bad = True   # Firecracker would read no body
            n = int(hdr.get("content-length", "0"))
            while len(buf) < n:
                b = c.recv(65536)
                if not b:
                    c.close()
                    return
                buf += b
            raw, buf = buf[:n], buf[n:]
            body = json.loads(raw) if n else None
            if self.mode == "silent":
                continue
            if self.mode == "garbage":
                c.sendall(b"HTTP/1.1 200 \r\nX: \x1b[2J\r\n\r\n")
                continue
            with self.lock:
                status, fault, form = self.handle(method, path, body)
                if form:
                    self.bad = True
                self.log.write(json.dumps({"method": method, "path": path,
                                           "body": body, "status": status,
                                           "fault": fault}) + "\n")
                c.sendall(self.reply(status, fault))
                if self.state == "Exiting":
                    os._exit(1 if self.bad else 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--yaml", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--api-sock", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--mode", default="normal")
    ap.add_argument("--agent", default=None)
    a = ap.parse_args()
    if a.mode == "no-socket":
        threading.Event().wait()
    peer = Peer(a)
    path = peer.jail(a.api_sock)
    if os.path.exists(path):
        print("Failed to open the API socket at: %s. Check that it is not "
              "already used." % a.api_sock, file=sys.stderr)
        sys.exit(1)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(10)
    while True:
        c, _ = s.accept()
        threading.Thread(target=peer.serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
