"""A jailer peer for the test suite: Firecracker's jailer as its
documentation describes it, for pyro's Firecracker driver to start where no
Firecracker can run.

  fcjailer.py --yaml API_YAML --log FILE --agent PYRO_AGENT [--mode M]
              -- JAILER-ARGV...

(the test writes a wrapper named "jailer" that passes the first options,
since pyro starts the jailer with an empty environment).  Like the jailer
it: takes only its documented options (--id, --exec-file, --uid, --gid,
--chroot-base-dir, --netns, --new-pid-ns, --daemonize, --cgroup-version,
--parent-cgroup, --cgroup, then -- and Firecracker's own arguments) and
refuses anything else with exit 153 (its argument error); needs --id of
[A-Za-z0-9-] (1-64, not "-" first), an absolute --exec-file that exists,
non-zero --uid/--gid, an existing absolute --chroot-base-dir; works in
<base>/<exec-file name>/<id>/root; copies the exec file there and makes
dev/kvm, dev/net/tun and dev/userfaultfd; starts Firecracker (here the
Firecracker peer, fcpeer.py, with --root set to the jail) and writes its
pid to <root>/<exec-file name>.pid (O_EXCL), then exits 0 (--new-pid-ns:
the jailer does not wait for Firecracker).

What it checks for pyro, beyond the argv: --new-pid-ns is given and
--daemonize is not (pyro keeps Firecracker's stdout as the console); the
api socket is /run/firecracker.sock; the files pyro put in the jail
(vmlinux, initramfs.cpio, rootfs.ext4, run/) exist and belong to --uid and
--gid, and nothing in the jail is a symlink.  A warm start's vm.state and
vm.mem come in pairs: a save's empty and the jail's, a restore's root's,
group --gid, mode 0640 (and a restore has no kernel or initramfs).  Every check that fails is
printed to stderr (the console pyro keeps) and the exit is 1.

Unlike the real jailer it does not chroot or make namespaces: the
Firecracker peer resolves every path within the jail.  It does run as
--uid and --gid (it drops after reading its configuration), with a root
"guest service" beside it that mounts the VM's disk to run the real
pyro-agent as the guest (fcpeer.py --agent).
"""
import os
import re
import shutil
import stat
import subprocess
import sys

OPTS_VALUE = {"--id", "--exec-file", "--uid", "--gid", "--chroot-base-dir",
              "--netns", "--cgroup-version", "--parent-cgroup", "--cgroup",
              "--resource-limit"}
OPTS_FLAG = {"--new-pid-ns", "--daemonize"}


def die(msg, code=1):
    print("jailer peer: " + msg, file=sys.stderr, flush=True)
    sys.exit(code)


def main():
    argv = sys.argv[1:]
    conf = {}
    while argv and argv[0] != "--":
        k, v = argv[0], argv[1]
        conf[k.lstrip("-")] = v
        argv = argv[2:]
    argv = argv[1:]
    if conf.get("mode") == "jailer-exits":
        die("exiting at once, as a broken jailer would")
    opts, fc_args, seen = {}, None, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            fc_args = argv[i + 1:]
            break
        if a in OPTS_FLAG:
            opts[a] = True
            i += 1
        elif a in OPTS_VALUE and i + 1 < len(argv):
            opts.setdefault(a, []).append(argv[i + 1])
            i += 2
        else:
            die("unknown or incomplete argument %r" % a, 153)
        seen.append(a)
    for k in ("--id", "--exec-file", "--uid", "--gid", "--chroot-base-dir"):
        if k not in opts or len(opts[k]) != 1:
            die("%s is required, once" % k, 153)
    jid = opts["--id"][0]
    exe = opts["--exec-file"][0]
    base = opts["--chroot-base-dir"][0]
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}", jid):
        die("invalid --id %r" % jid, 153)
    if not os.path.isabs(exe) or not os.path.isfile(exe):
        die("--exec-file %r is not a file" % exe, 153)
    if not os.path.isabs(base) or not os.path.isdir(base):
        die("--chroot-base-dir %r is not a directory" % base, 153)
    uid, gid = int(opts["--uid"][0]), int(opts["--gid"][0])
    if uid == 0 or gid == 0:
        die("pyro asked for Firecracker as root")
    if "--new-pid-ns" not in opts or "--daemonize" in opts:
        die("pyro must use --new-pid-ns and not --daemonize")
    if fc_args != ["--api-sock", "/run/firecracker.sock"]:
        die("Firecracker's arguments: %r" % (fc_args,))
    root = os.path.join(base, os.path.basename(exe), jid, "root")
    if not os.path.isdir(root):
        die("no jail at %s (pyro makes it before the jailer)" % root)
    bad = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            if os.path.islink(os.path.join(dirpath, n)):
                bad.append("symlink " + os.path.join(dirpath, n))
    # A warm start's state and memory: a save's are empty and the jail's
    # (Firecracker writes them), a restore's are root's, group the jail's,
    # 0640 (it reads them); a restore has no kernel to boot.
    snap = [n for n in ("vm.state", "vm.mem")
            if os.path.lexists(os.path.join(root, n))]
    restore = False
    if snap:
        if len(snap) != 2:
            bad.append("only %s of vm.state and vm.mem" % snap)
        sts = [os.lstat(os.path.join(root, n)) for n in snap]
        restore = sts[0].st_uid == 0
        for n, st in zip(snap, sts):
            if restore and ((st.st_uid, st.st_gid) != (0, gid) or
                            stat.S_IMODE(st.st_mode) != 0o640):
                bad.append("%s (a restore's) is %d:%d %o, not 0:%d 640" % (
                    n, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), gid))
            if not restore and ((st.st_uid, st.st_gid) != (uid, gid) or
                                st.st_size != 0):
                bad.append("%s (a save's) is %d:%d, %d bytes" % (
                    n, st.st_uid, st.st_gid, st.st_size))
    want_files = [("rootfs.ext4", None), ("run", 0o700)]
    if not restore:
        want_files += [("vmlinux", 0o400), ("initramfs.cpio", 0o400)]
    for n, want in want_files:
        p = os.path.join(root, n)
        try:
            st = os.lstat(p)
        except OSError:
            bad.append("no " + n)
            continue
        if (st.st_uid, st.st_gid) != (uid, gid):
            bad.append("%s belongs to %d:%d, not %d:%d" % (
                n, st.st_uid, st.st_gid, uid, gid))
        if want is not None and stat.S_IMODE(st.st_mode) != want:
            bad.append("%s has mode %o" % (n, stat.S_IMODE(st.st_mode)))
    if bad:
        die("; ".join(bad))
    # What the jailer itself adds: the exec file and the devices.
    shutil.copy(exe, os.path.join(root, os.path.basename(exe)))
    os.makedirs(os.path.join(root, "dev", "net"), exist_ok=True)
    for n, major, minor in (("kvm", 10, 232), ("net/tun", 10, 200),
                            ("userfaultfd", 10, 126)):
        p = os.path.join(root, "dev", n)
        os.mknod(p, 0o600 | stat.S_IFCHR, os.makedev(major, minor))
        os.chown(p, uid, gid)
    os.chown(root, uid, gid)
    cmd = [sys.executable, os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "fcpeer.py"), "--yaml", conf["yaml"],
        "--root", root, "--log", conf["log"], "--agent", conf["agent"],
        "--mode", conf.get("mode", "normal"), "--uid", str(uid),
        "--gid", str(gid)] + fc_args
    # As with the real jailer, the pid file names a Firecracker that
    # already runs as --uid: the peer says when it has dropped to it.
    r, w = os.pipe()
    child = subprocess.Popen(cmd + ["--ready-fd", str(w)],
                             stdin=subprocess.DEVNULL, pass_fds=[w])
    os.close(w)
    if os.read(r, 1) != b"1":
        die("the Firecracker peer did not start")
    fd = os.open(os.path.join(root, os.path.basename(exe) + ".pid"),
                 os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"%d" % child.pid)
    os.close(fd)
    os._exit(0)     # --new-pid-ns: Firecracker lives on, reparented


if __name__ == "__main__":
    main()
