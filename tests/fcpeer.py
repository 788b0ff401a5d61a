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

Snapshots (warm start): PUT /snapshot/create of a paused VM writes its
state (here the configuration, as JSON) and a memory file of mem_size_mib
into the jail as the jail's uid, so files pyro did not give it to write
fail as they would; it resets the host's vsock connection, as Firecracker
does.  PUT /snapshot/load, only before any configuration, reads both as
the jail's uid (root's files it may not read fail), checks the memory's
size, reopens the drive, binds the vsock again, and with resume_vm runs
the saved guest: the real agent started from the restored disk with its
hello taken off the channel (the saved one had said it to another host),
so the first frame the driver gets is the answer to its GP_RESUME.  The
guest's memory is not the saved one (a peer cannot restore a process);
what the peer proves is the driver's side: the files, their owners and
modes in the jail, the requests and their order, and pyro's protocol
after a restore.

Every request goes to FILE as a JSON line {method, path, body, status,
fault}; the peer exits 1 after any request Firecracker would have refused
for its form (a wrong body, path or order) so a test cannot miss it.
Modes make it misbehave: fail-boot-source answers that PUT with a 400,
garbage answers with bytes no Firecracker sends, silent never answers.
"""
import argparse
import array  # noqa: F401 (socket.recv_fds needs it after the chroot)
import ctypes
import json
import os
import socket
import struct
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
GP_HELLO = 1            # guestproto.h: the agent's first frame
MEM_MAGIC = b"fcpeer guest memory\n"


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
        self.gsvc = None
        self.gsock = None
        self.bridged = False
        self.host = None        # the host's vsock connection to the agent
        self.restored = False
        self.saved = None       # set once a snapshot's guest has ended
        # The validator reads its own files once: before any chroot.
        fcschema.validate(self.spec, self.defs, "PUT", "/machine-config",
                          {"vcpu_count": 1, "mem_size_mib": 128})
        fcschema.validate(self.spec, self.defs, "PUT", "/actions",
                          {"action_type": "InstanceStart"})

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
                self.gsvc.send(b"tap " + tap.encode())
                info = json.loads(self.gsvc.recv(4096) or b"{}")
                if not info:
                    return 400, "Open tap device failed: No such device", False
                owner = info.get("user")
                if owner != os.geteuid() or not info.get("persist"):
                    return 400, ("Open tap device failed: %s is not the "
                                 "jail's (%r)" % (tap, info)), False
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
                self.state = "Exiting"  # the guest service ends the guest
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
            # As Firecracker: both files opened for writing (created or
            # truncated) as the jail's uid; the state holds the devices
            # (here: the configuration), the memory is mem_size_mib.
            mib = self.conf["/machine-config"]["mem_size_mib"]
            try:
                with open(self.jail(body["snapshot_path"]), "wb") as f:
                    f.write(json.dumps({"fcpeer_vmstate": 1,
                                        "conf": self.conf}).encode())
                with open(self.jail(body["mem_file_path"]), "wb") as f:
                    f.write(MEM_MAGIC)
                    f.truncate(mib << 20)
            except OSError as e:
                return 400, "Failed to create snapshot: %s" % e, False
            # Firecracker resets every vsock connection at a snapshot.
            self.vsock_reset()
            # A paused guest writes nothing more, but the peer's guest is
            # a mounted disk: end it (unmounted, its loop device gone)
            # before answering, so the disk is final when pyro hashes it.
            if self.gsock is not None:
                self.saved = threading.Event()
                self.gsvc.send(b"end")
                if not self.saved.wait(20):
                    return 400, "the guest did not end", False
            return 204, None, False
        if path == "/snapshot/load":
            if self.conf or started:
                return 400, ("Loading a microVM snapshot not allowed after "
                             "configuring boot-specific resources."), True
            return self.load(body)
        return 400, "Invalid request method and/or path: %s %s." % (method, path), True

    def load(self, body):
        """PUT /snapshot/load: the state and memory read as the jail's
        uid (so a file it may not read fails as in Firecracker), the
        configuration and devices from the state, the drive reopened by
        its path, the vsock bound again (empty: no connection survives a
        snapshot).  Resumed, the guest is the one that was saved: an agent
        that said hello and flushed; the peer starts the real agent from
        the restored disk and takes its hello off the channel first."""
        try:
            with open(self.jail(body["snapshot_path"]), "rb") as f:
                vmstate = json.loads(f.read(1 << 20))
            conf = vmstate["conf"]
            mib = conf["/machine-config"]["mem_size_mib"]
            if vmstate.get("fcpeer_vmstate") != 1:
                raise ValueError("not a snapshot state file")
        except (OSError, ValueError, KeyError, TypeError) as e:
            return 400, "Failed to load snapshot state: %s" % e, False
        mem = self.jail(body["mem_backend"]["backend_path"])
        try:
            with open(mem, "rb") as f:
                if f.read(len(MEM_MAGIC)) != MEM_MAGIC or \
                        os.fstat(f.fileno()).st_size != mib << 20:
                    raise ValueError("not this snapshot's memory")
        except (OSError, ValueError) as e:
            return 400, "Failed to load guest memory: %s" % e, False
        drive = conf.get("/drives/rootfs", {}).get("path_on_host", "")
        try:
            os.close(os.open(self.jail(drive), os.O_RDWR))
        except OSError as e:
            return 400, "Failed to restore the block device: %s" % e, False
        self.conf = conf
        self.restored = True
        if "/vsock" in conf:
            self.bind_vsock(conf["/vsock"]["uds_path"])
        if body.get("resume_vm"):
            self.state = "Running"
            if self.agent and self.mode != "no-boot":
                self.start_guest()
        else:
            self.state = "Paused"
        return 204, None, False

    def vsock_reset(self):
        c, self.host = self.host, None
        if c is not None:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def start_guest(self):
        """The guest, by the root guest service (we run as the jail's uid,
        as Firecracker does): the drive mounted, the real pyro-agent as
        PID 1, its channel passed back to us."""
        disk = self.jail(self.conf["/drives/rootfs"]["path_on_host"])
        self.gsvc.send(b"disk " + disk.encode())
        _, fds, _, _ = socket.recv_fds(self.gsvc, 16, 1)
        if not fds:
            return
        self.gsock = socket.socket(fileno=fds[0])
        if self.restored:
            # The saved guest had said hello: that frame went to the host
            # of the save, not to the one that restores it.
            head = self.gsock.recv(12, socket.MSG_WAITALL)
            n, _, kind, _ = struct.unpack("<IIHH", head) if len(head) == 12 \
                else (0, 0, 0, 0)
            if kind != GP_HELLO or len(self.gsock.recv(n, socket.MSG_WAITALL)) != n:
                self.gsock.close()
                self.gsock = None
                return

        def watch():
            self.gsvc.recv(16)      # "exit", or the service is gone
            if self.saved is not None:
                self.saved.set()    # ended for a snapshot: we stay
                return
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
            self.host = c
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


def guest_service(sock, agent, root):
    """Root's half of the peer: Firecracker's KVM, so to speak.  On one
    request (the drive's path) it mounts the drive in new mount and pid
    namespaces and runs the real pyro-agent there as PID 1 (--host-compat:
    its channel on fd 3), passes the channel's other end back, and says
    "exit" when that guest ends; when the peer goes, the guest goes."""
    while True:
        msg = sock.recv(4096)
        if not msg:
            os._exit(0)
        what, _, arg = msg.decode().partition(" ")
        if what == "disk":
            break
        # "tap NAME": the TAP as Firecracker's TUNSETIFF would find it,
        # over netlink (our network namespace, whatever /sys shows).
        try:
            out = subprocess.run(["ip", "-j", "-d", "link", "show", "dev",
                                  arg], capture_output=True, check=True).stdout
            data = json.loads(out)[0]["linkinfo"]["info_data"]
            if isinstance(data.get("user"), str):   # ip names the uid
                import pwd
                u = data["user"]
                data["user"] = int(u) if u.isdigit() else pwd.getpwnam(u).pw_uid
        except (subprocess.CalledProcessError, KeyError, IndexError,
                ValueError):
            data = {}
        sock.send(json.dumps(data).encode())
    disk = os.path.join(root, arg.lstrip("/"))
    a, b = socket.socketpair()
    script = (
            'set -e; m=$(mktemp -d); '
            'mount -o loop,nosuid,nodev,noatime,noinit_itable "$1" "$m"; '
            'mount -t proc proc "$m/proc"; '
            'mount -t tmpfs tmpfs "$m/run"; '
            'mount -t tmpfs -o mode=1777 tmpfs "$m/tmp"; '
            'mount --rbind /dev "$m/dev"; '
            'cp "$2" "$m/run/pyro-agent"; '
            'exec chroot "$m" /run/pyro-agent --host-compat')
    libc = ctypes.CDLL(None, use_errno=True)

    def child():
        libc.prctl(1, 9)            # PR_SET_PDEATHSIG, SIGKILL
        os.dup2(b.fileno(), 3)      # the agent's channel (inheritable)
    # Our other fds are close-on-exec: the guest gets 0-3 only.
    guest = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--mount", "--uts", "--kill-child", "sh",
         "-c", script, "sh", disk, agent],
        close_fds=False, preexec_fn=child, stdin=subprocess.DEVNULL)
    b.close()
    socket.send_fds(sock, [b"ok"], [a.fileno()])
    a.close()

    def peer_gone():
        sock.recv(16)
        guest.kill()
    threading.Thread(target=peer_gone, daemon=True).start()
    guest.wait()
    # Its mount namespace is gone; the disk is final once its loop device
    # is detached (the unmount's writes are in the file then).
    for _ in range(400):
        if not subprocess.run(["losetup", "-j", disk], capture_output=True,
                              text=True).stdout.strip():
            break
        threading.Event().wait(0.05)
    try:
        sock.send(b"exit")
    except OSError:
        pass
    os._exit(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--yaml", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--api-sock", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--mode", default="normal")
    ap.add_argument("--agent", default=None)
    ap.add_argument("--uid", type=int, default=None)
    ap.add_argument("--gid", type=int, default=None)
    ap.add_argument("--ready-fd", type=int, default=None)
    a = ap.parse_args()
    peer = Peer(a)             # the spec and the log, read as root
    if a.agent:
        s1, s2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        if os.fork() == 0:
            s1.close()
            ctypes.CDLL(None).prctl(1, 9)
            guest_service(s2, a.agent, a.root)
        s2.close()
        peer.gsvc = s1
    if a.uid is not None:
        # As the jailer leaves Firecracker: chrooted in the jail, as its
        # uid and gid (the spec, the log and /sys/class/net opened before).
        os.chroot(a.root)
        os.chdir("/")
        peer.root = "/"
        os.setgroups([])
        os.setresgid(a.gid, a.gid, a.gid)
        os.setresuid(a.uid, a.uid, a.uid)
    if a.ready_fd is not None:  # the jailer writes the pid file now
        os.write(a.ready_fd, b"1")
        os.close(a.ready_fd)
    if a.mode == "no-socket":
        threading.Event().wait()
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
