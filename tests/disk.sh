#!/bin/sh
# Release 3.1.0 in real guests: workspace stop/start and the offline disk
# tools, cross-checked against e2fsprogs (debugfs, e2fsck) on the same
# stopped disk.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
need_guests
for t in debugfs e2fsck strings; do
	command -v $t >/dev/null || fail "$t is needed (e2fsprogs, binutils)"
done
start_pyrod
export PYRO_SOCKET="$TMP/pyrod.sock"
n=0
SECRET='disk-s3cret-Qw93mz'

state() { pyro --json workspace status "$1" | jq -r .state; }
disk() { echo "$TMP/state/workspaces/$1/rootfs.ext4"; }
fsck_clean() {
	e2fsck -fn "$1" >"$TMP/fsck" 2>&1 || fail "e2fsck -fn $1: $(cat "$TMP/fsck")"
}

# ---- 1. the milestone's sequence ----
mkdir "$TMP/seed" && echo seeded >"$TMP/seed/s.txt"
id=$(pyro workspace create debian:12 --seed-path "$TMP/seed" \
    --secret "TOKEN=$SECRET" 2>"$TMP/err") || fail "create: $(cat "$TMP/err")"
sh1=$(pyro workspace shell open "$id" --secret-env TOKEN) || fail "shell"
pyro workspace shell write "$id" "$sh1" --input 'echo "t=$TOKEN" >/dev/null; cd /workspace; history -w' >/dev/null
pyro workspace service start "$id" svc --secret-env TOKEN -- sh -c \
    'echo "svc $TOKEN"; exec sleep 600' >/dev/null || fail "service"
# Written without a sync: the stop's flush must carry it to the disk.
pyro workspace exec "$id" -- sh -c 'head -c 1000000 /dev/urandom >unsynced.bin &&
    sha256sum unsynced.bin | cut -d" " -f1 >/run/h' || fail "write"
want=$(pyro workspace exec "$id" -- cat /run/h)
# Runtime files that reached the disk under the tmpfs mounts (a bind
# mount of / sees the disk's own /run), and a shell history.
pyro workspace exec "$id" -- sh -c 'mkdir -p /mnt/root &&
    mount --bind / /mnt/root && mkdir -p /mnt/root/run/pyro &&
    echo 123 >/mnt/root/run/agent.pid && echo x >/mnt/root/run/pyro/state &&
    echo x >/mnt/root/tmp/stale && umount /mnt/root &&
    echo "echo hi" >/root/.bash_history' || fail "runtime files"
expect_error workspace_running pyro workspace disk list "$id"
pyro workspace stop "$id" >"$TMP/o" 2>&1 || fail "stop: $(cat "$TMP/o")"
[ "$(state "$id")" = stopped ] || fail "state after stop"
pyro workspace status "$id" | grep -q 'scrubbed from the disk' ||
    fail "no scrub in status"
fsck_clean "$(disk "$id")"
dumpe2fs -h "$(disk "$id")" 2>/dev/null | grep -q needs_recovery &&
    fail "needs_recovery after a stop"
pyro --json workspace disk list "$id" >"$TMP/l.json" || fail "disk list"
jq -e '.entries[] | select(.name == "unsynced.bin" and .type == "file"
    and .size == 1000000)' "$TMP/l.json" >/dev/null || fail "list: $(cat "$TMP/l.json")"
got=$(pyro workspace disk read "$id" unsynced.bin | sha256sum | cut -d" " -f1)
[ "$got" = \
    "$want" ] || fail "disk read hash: got $got want $want"
pyro workspace disk export "$id" --output "$TMP/d.ext4" >/dev/null ||
    fail "disk export"
fsck_clean "$TMP/d.ext4"
debugfs -R 'dump /workspace/unsynced.bin '"$TMP/dumped" "$TMP/d.ext4" \
    >/dev/null 2>&1
[ "$(sha256sum <"$TMP/dumped" | cut -d' ' -f1)" = "$want" ] ||
    fail "the export lacks the unsynced file"
[ "$(stat -c %s "$TMP/d.ext4")" = "$(stat -c %s "$(disk "$id")")" ] ||
    fail "export size"
[ $(( $(stat -c %b "$TMP/d.ext4") * 512 )) -lt "$(stat -c %s "$TMP/d.ext4")" ] ||
    fail "export is not sparse"
# Scrubbed: nothing in /run, /tmp, no shell history.
[ "$(pyro --json workspace disk list "$id" /run | jq '.entries | length')" = 0 ] ||
    fail "/run not scrubbed"
[ "$(pyro --json workspace disk list "$id" /tmp | jq '.entries | length')" = 0 ] ||
    fail "/tmp not scrubbed"
expect_error not_found pyro workspace disk read "$id" /root/.bash_history
debugfs -R 'ls /run' "$TMP/d.ext4" 2>/dev/null | grep -q agent.pid &&
    fail "debugfs sees /run/agent.pid in the export"
strings "$TMP/d.ext4" | grep -q -- "$SECRET" && fail "the secret is in the disk export"
pyro workspace start "$id" >/dev/null 2>&1 || fail "start"
[ "$(pyro workspace exec "$id" -- sh -c 'sha256sum unsynced.bin | cut -d" " -f1')" = \
    "$want" ] || fail "after start"
pyro workspace status "$id" | grep -q 'svc(stopped)' || fail "service state after start"
pyro --json workspace status "$id" | jq -r .services_note | grep -q 'not restart' ||
    fail "services note"
n=$((n+1)); pass "create, shell, service, stop (flush + scrub), disk list/read/export, start, exec"

# ---- 2. cross-check with e2fsprogs on the stopped disk ----
pyro workspace exec "$id" -- sh -c 'mkdir -p big && cd big &&
    perl -e "for (1..10000) { open F, \">f\$_\"; print F \"x\" x (\$_ % 97); close F }" &&
    mkdir -p /workspace/files && cd /workspace/files &&
    for i in $(seq 1 50); do head -c $((i * 937)) /dev/urandom >r$i; done &&
    ln -s r1 link && mknod dev0 c 1 3' || fail "populate"
pyro workspace stop "$id" >/dev/null 2>&1 || fail "stop 2"
img=$(disk "$id")
listing() {	# debugfs DIR -> "name mode size" lines, sorted
	debugfs -R "ls -l $1" "$img" 2>/dev/null | awk '
	    NF >= 9 { name = $9; for (i = 10; i <= NF; i++) name = name " " $i
		if (name != "." && name != "..") print name, $2, $6 }' |
	    LC_ALL=C sort
}
ours() {	# pyro disk list DIR -> the same shape
	pyro --json workspace disk list "$id" "$1" >"$TMP/j" || fail "list $1"
	jq -r '.entries[] | "\(.name) \(.mode) \(.size)"' "$TMP/j" | LC_ALL=C sort
}
# --recursive: every file below, with paths relative to the directory.
pyro --json workspace disk list "$id" /workspace/files --recursive >"$TMP/j" ||
    fail "disk list --recursive"
[ "$(jq '[.entries[] | select(.type == "file")] | length' "$TMP/j")" = 50 ] &&
    jq -e '.entries[] | select(.path == "r50" and .size == 46850)' "$TMP/j" \
    >/dev/null || fail "disk list --recursive: $(head -c 300 "$TMP/j")"
for dir in / /etc /workspace/big; do
	listing "$dir" >"$TMP/a"
	ours "$dir" >"$TMP/b"
	[ "$(wc -l <"$TMP/a")" -gt 2 ] || fail "debugfs listed nothing in $dir"
	cmp -s "$TMP/a" "$TMP/b" || fail "list $dir differs from debugfs: $(diff "$TMP/a" "$TMP/b" | head)"
done
[ "$(wc -l <"$TMP/b")" = 10000 ] || fail "10,000 entries: $(wc -l <"$TMP/b")"
for i in $(seq 1 50); do
	debugfs -R "dump /workspace/files/r$i $TMP/r" "$img" >/dev/null 2>&1
	pyro workspace disk read "$id" "files/r$i" >"$TMP/p" || fail "read r$i"
	cmp -s "$TMP/r" "$TMP/p" || fail "disk read r$i differs from debugfs dump"
done
debugfs -R "cat /workspace/files/r1" "$img" 2>/dev/null >"$TMP/r1"
pyro workspace disk read "$id" files/link | cmp -s - "$TMP/r1" ||
    fail "a symlink read is not its target"
pyro workspace disk read "$id" files/r50 --max-bytes 100 | cmp -s - \
    "$(head -c 100 "$TMP/p" >"$TMP/p100" && echo "$TMP/p100")" ||
    fail "--max-bytes"
n=$((n+1)); pass "disk list of /, /etc and 10,000 entries equals debugfs; 50 reads equal debugfs dump"

# ---- 3. bad input ----
debugfs -R "cat /etc/hostname" "$img" 2>/dev/null >"$TMP/hn"
pyro workspace disk read "$id" ../../../../etc/hostname | cmp -s - "$TMP/hn" ||
    fail "'..' did not stay in the image"
pyro workspace disk read "$id" /../../../etc/passwd | grep -q '^root:' ||
    fail "/.. is the image's root"
expect_error invalid_argument pyro workspace disk read "$id" files
expect_error invalid_argument pyro workspace disk read "$id" files/dev0
expect_error not_found pyro workspace disk read "$id" no/such/file
expect_error invalid_argument pyro workspace disk read "$id" \
    "$(printf 'x%.0s' $(seq 4100))"
set +e
pyro workspace disk read "$id" files/r1 --max-bytes 0 2>"$TMP/e"; rc=$?
pyro workspace disk read "$id" files/r1 --max-bytes -5 2>>"$TMP/e"; rc2=$?
set -e
[ $rc = 2 ] && [ $rc2 = 2 ] && grep -q 'max-bytes needs a positive' "$TMP/e" ||
    fail "--max-bytes 0/-5: $rc $rc2 $(cat "$TMP/e")"
ln -s /etc/shadow "$TMP/trap.ext4"
expect_error invalid_path pyro workspace disk export "$id" --output "$TMP/trap.ext4"
expect_error exists pyro workspace disk export "$id" --output "$TMP/d.ext4"
expect_error not_found pyro workspace disk export "$id" --output "$TMP/no/dir/x.ext4"
pyro workspace disk export "$id" --output "$TMP/d.ext4" --force >/dev/null ||
    fail "export --force"
fsck_clean "$TMP/d.ext4"
n=$((n+1)); pass "disk tools refuse bad paths, directories, devices, bad sizes and outputs"

# ---- 4. stale VMM runtime files are removed before a start ----
for f in firecracker.sock firecracker.vsock qmp.sock vmm.pid; do
	: >"$TMP/state/workspaces/$id/$f"
done
pyro workspace start "$id" >/dev/null 2>&1 || fail "start with stale files"
for f in firecracker.sock firecracker.vsock qmp.sock vmm.pid; do
	[ ! -e "$TMP/state/workspaces/$id/$f" ] || fail "stale $f left"
done
pyro workspace logs "$id" | grep -q 'stale_removed' || fail "no stale_removed event"
n=$((n+1)); pass "start removes stale VMM sockets and pid files"

# ---- 5. 20 stop/start cycles with writes between them ----
: >"$TMP/sums"
for i in $(seq 1 20); do
	pyro workspace exec "$id" -- sh -c "head -c $((i * 4099)) /dev/urandom >cyc$i &&
	    sha256sum cyc$i" >>"$TMP/sums" || fail "cycle $i write"
	pyro workspace stop "$id" >/dev/null 2>&1 || fail "cycle $i stop"
	fsck_clean "$(disk "$id")"
	pyro workspace start "$id" >/dev/null 2>&1 || fail "cycle $i start"
done
mkdir "$TMP/sumsdir" && cp "$TMP/sums" "$TMP/sumsdir/sums"
pyro workspace sync push "$id" "$TMP/sumsdir" >/dev/null || fail "push sums"
pyro workspace exec "$id" -- sha256sum -c sums >"$TMP/o" 2>&1 ||
    fail "a file written during the cycles changed: $(cat "$TMP/o")"
[ "$(grep -c ': OK$' "$TMP/o")" = 20 ] || fail "20 sums: $(cat "$TMP/o")"
n=$((n+1)); pass "20 stop/start cycles: every file intact, e2fsck clean after each stop"

# ---- 6. a guest killed under the disk: the journal is replayed first ----
pyro workspace exec "$id" -- sh -c 'echo late >late.txt' || fail "late write"
pkill -KILL -f "qemu-system-x86_64 .*$TMP/state/" || fail "no QEMU to kill"
for _ in $(seq 50); do [ "$(state "$id")" = failed ] && break; sleep 0.2; done
[ "$(state "$id")" = failed ] || fail "state after the kill: $(state "$id")"
pyro workspace disk list "$id" >/dev/null 2>&1 || fail "disk list after a kill"
pyro workspace logs "$id" | grep -qE 'recovery_boot|scrub' || fail "no cleanup"
[ "$(state "$id")" = stopped ] || fail "not stopped after cleanup"
fsck_clean "$(disk "$id")"
n=$((n+1)); pass "after a killed guest, disk tools clean up first (recovery boot if needed)"

# ---- 7. a damaged disk: a clear error, pyrod stays up ----
printf '\0\0' | dd of="$(disk "$id")" bs=1 seek=1080 conv=notrunc 2>/dev/null
expect_error disk_corrupt pyro workspace disk list "$id"
expect_error disk_corrupt pyro workspace disk read "$id" s.txt
kill -0 "$PYROD_PID" || fail "pyrod died"
pyro workspace delete "$id" >/dev/null
[ "$(qemus)" = 0 ] || fail "QEMU left"
n=$((n+1)); pass "a damaged disk: disk_corrupt, pyrod up"

# ---- 8. secrets never shown: disk read and export masked, a value split
# between stdout and stderr, and fds of the wrong kind refused ----
id=$(pyro workspace create debian:12 --secret "TOKEN=$SECRET" 2>"$TMP/err") ||
    fail "create: $(cat "$TMP/err")"
pyro workspace exec "$id" -- sh -c 'v=$(cat /run/pyro-secrets/TOKEN);
    printf "%s" "${v%"${v#?????}"}"; sleep 1; printf "%s" "${v#?????}" >&2' \
    >"$TMP/so" 2>"$TMP/se" || fail "split exec"
cat "$TMP/so" "$TMP/se" | grep -qF -- "$SECRET" &&
    fail "the secret shows whole across stdout and stderr: $(cat "$TMP/so" "$TMP/se")"
grep -qF '[REDACTED]' "$TMP/so" || fail "no [REDACTED]: $(cat "$TMP/so" "$TMP/se")"
n=$((n+1)); pass "a secret split between stdout and stderr is redacted"

# fds a sync push must refuse, at once, with invalid_argument.
cat >"$TMP/fdpush.py" <<'PY'
import json, os, socket, struct, sys
sock_path, ws, kind = sys.argv[1:4]
if kind == "opath":
    fd = os.open("/etc/hostname", os.O_PATH)
elif kind == "dir":
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
elif kind == "urandom":
    fd = os.open("/dev/urandom", os.O_RDONLY)
else:
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(os.path.join(os.path.dirname(sock_path), "listen.sock"))
    ls.listen(1)
    fd = ls.fileno()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sock_path)
body = json.dumps({"id": 1, "op": "workspace.sync_push",
    "args": {"workspace_id": ws}, "fd": True}).encode()
socket.send_fds(s, [struct.pack(">I", len(body)) + body], [fd])
hdr = b""
while len(hdr) < 4:
    hdr += s.recv(4 - len(hdr))
(n,) = struct.unpack(">I", hdr)
buf = b""
while len(buf) < n:
    buf += s.recv(n - len(buf))
r = json.loads(buf)
print(r.get("error", {}).get("code", "ok"), r.get("error", {}).get("message", ""))
PY
for kind in opath dir urandom listen; do
	rm -f "$TMP/listen.sock"
	t0=$(date +%s)
	out=$(timeout 30 python3 "$TMP/fdpush.py" "$TMP/pyrod.sock" "$id" $kind) ||
	    fail "sync push with a $kind fd: no answer"
	[ $(($(date +%s) - t0)) -le 10 ] || fail "sync push with a $kind fd: slow"
	case "$out" in
	invalid_argument*) ;;
	*) fail "sync push with a $kind fd: $out" ;;
	esac
done
kill -0 "$PYROD_PID" || fail "pyrod died"
n=$((n+1)); pass "sync push refuses O_PATH, directory, /dev/urandom and listening-socket fds"

pyro workspace exec "$id" -- sh -c 'cat /run/pyro-secrets/TOKEN >/workspace/leak.txt &&
    printf "\nafter\n" >>/workspace/leak.txt && sync' || fail "leak write"
pyro workspace stop "$id" >/dev/null 2>&1 || fail "stop for the secret checks"
pyro workspace disk read "$id" leak.txt >"$TMP/leak" || fail "disk read leak.txt"
grep -qF -- "$SECRET" "$TMP/leak" && fail "disk read shows the secret"
stars=$(printf '%s' "$SECRET" | sed 's/./*/g')
[ "$(head -n 1 "$TMP/leak")" = "$stars" ] ||
    fail "disk read: not masked byte for byte: $(cat "$TMP/leak")"
[ "$(sed -n 2p "$TMP/leak")" = after ] || fail "disk read: the rest changed"
pyro --json workspace disk read "$id" leak.txt >"$TMP/leak.json" 2>&1 || true
grep -qF -- "$SECRET" "$TMP/leak.json" && fail "disk read --json shows the secret"
pyro workspace disk export "$id" --output "$TMP/s.ext4" >/dev/null ||
    fail "disk export"
strings "$TMP/s.ext4" | grep -qF -- "$SECRET" &&
    fail "the secret is in the disk export's blocks"
fsck_clean "$TMP/s.ext4"
pyro workspace delete "$id" >/dev/null
n=$((n+1)); pass "disk read and disk export mask a secret a guest wrote to a file"

echo "$n passed, 0 failed"
