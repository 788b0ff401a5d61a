#!/bin/sh
# Warm start against real guests: pyro env warm makes a template (a
# debian:12 guest booted once under QEMU and saved with QMP migrate), and
# runs and workspaces of its shape restore from it instead of booting.
# What a user sees is checked: boot=restored|cold in results and progress
# lines, two restored guests that share no randomness, a clock within a
# second of the host's, a workspace that behaves as a cold one, a template
# of another environment digest never used (cold, then a new one made by
# warm_start = lazy), and bad templates (a byte flipped, a truncated state
# whose digest was forged so QEMU itself fails, a missing disk): a cold
# boot, the template removed, nothing left behind; and the README's
# workspace sequence, verbatim, on restored workspaces.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
need_guests
export PYRO_SOCKET="$TMP/pyrod.sock"
n=0
T="$TMP/state/templates"
py=/usr/bin/python3
[ -x "$py" ] || py=python3

restart_pyrod() {
	kill "$PYROD_PID"
	wait "$PYROD_PID" 2>/dev/null || true
	PYROD_PID=
	rm -f "$TMP/pyrod.sock"
	start_pyrod "$@"
}
tkeys() { ls "$T" 2>/dev/null | grep -v '^\.' || true; }
boot_of() { jq -r '.boot // "none"' "$1"; }
start_pyrod

# ---- a template, and one-shot runs restored from it ----
"$PYRO" --json env warm debian:12 --mem-mib 512 >"$TMP/w1" 2>>"$TMP/all.err" ||
    fail "env warm: $(cat "$TMP/w1")"
jq -e '.status == "made" and .environment == "debian:12" and
    .mem_mib == 512 and .vcpu_count == 1 and .state_bytes > 1000000 and
    (.state_sha256 | length) == 64 and (.disk_sha256 | length) == 64' \
    "$TMP/w1" >/dev/null || fail "env warm result: $(cat "$TMP/w1")"
key=$(jq -r .key "$TMP/w1")
[ "$(tkeys)" = "$key" ] || fail "templates dir: $(ls -a "$T")"
for f in state rootfs.ext4 template.json; do
	[ -f "$T/$key/$f" ] || fail "template lacks $f"
done
[ "$(stat -c %a "$T")" = 700 ] || fail "templates dir mode $(stat -c %a "$T")"
"$PYRO" --json env warm debian:12 --mem-mib 512 | jq -e '.status == "exists"' \
    >/dev/null || fail "second env warm did not find it"
"$PYRO" --json env templates | jq -e --arg k "$key" '.warm_start == "on" and
    (.templates | length) == 1 and .templates[0].key == $k and
    .templates[0].current == true' >/dev/null || fail "env templates"
"$PYRO" env templates | grep -q "debian:12.*512.*yes" || fail "templates table"
[ "$(qemus)" = 0 ] || fail "the template's QEMU is still running"
n=$((n+1)); pass "env warm makes a template (state, disk, digests), once"

"$PYRO" run debian:12 --mem-mib 512 -- sh -c 'echo hi; hostname' \
    >"$TMP/r1" 2>"$TMP/r1.err" || fail "restored run: $(cat "$TMP/r1.err")"
[ "$(cat "$TMP/r1")" = "hi
pyro" ] || fail "restored run output: $(cat "$TMP/r1")"
grep -q '^\[run\] phase=boot vm_id=[0-9a-f]* boot=restored$' "$TMP/r1.err" ||
    fail "no restored progress line: $(cat "$TMP/r1.err")"
"$PYRO" --json run debian:12 --mem-mib 512 -- sh -c 'exit 3' >"$TMP/r2" || true
jq -e '.boot == "restored" and .exit_code == 3' "$TMP/r2" >/dev/null ||
    fail "restored run json: $(cat "$TMP/r2")"
# Another shape has no template: a cold boot that says why.
"$PYRO" --json run debian:12 -- true >"$TMP/r3" 2>"$TMP/r3.err" ||
    fail "cold run"
[ "$(boot_of "$TMP/r3")" = cold ] || fail "1024 MiB run: $(cat "$TMP/r3")"
"$PYRO" run debian:12 -- true 2>"$TMP/r4.err" >/dev/null || fail "cold run"
grep -q 'phase=boot .*boot=cold reason="no template for this environment and shape"' \
    "$TMP/r4.err" || fail "no cold progress line: $(cat "$TMP/r4.err")"
[ "$(qemus)" = 0 ] || fail "QEMU left after runs"
n=$((n+1)); pass "runs of the template's shape restore (boot=restored); others boot cold and say why"

# ---- two restored guests share no randomness; the clock is the host's ----
probe='cat /proc/sys/kernel/random/uuid; head -c16 /dev/urandom | od -An -tx1 | tr -d " \n"; echo; date +%s.%N'
for i in 1 2; do
	date +%s.%N >"$TMP/before$i"
	"$PYRO" run debian:12 --mem-mib 512 -- sh -c "$probe" >"$TMP/p$i" ||
	    fail "probe run $i"
	date +%s.%N >"$TMP/after$i"
done
[ "$(sed -n 1p "$TMP/p1")" != "$(sed -n 1p "$TMP/p2")" ] ||
    fail "two restored guests read the same uuid: $(sed -n 1p "$TMP/p1")"
[ "$(sed -n 2p "$TMP/p1")" != "$(sed -n 2p "$TMP/p2")" ] ||
    fail "two restored guests read the same urandom bytes"
for i in 1 2; do
	$py - "$(cat "$TMP/before$i")" "$(sed -n 3p "$TMP/p$i")" \
	    "$(cat "$TMP/after$i")" <<'EOF' || fail "guest clock off: $(cat "$TMP/p$i")"
import sys
before, guest, after = map(float, sys.argv[1:])
sys.exit(0 if before - 1.0 <= guest <= after + 1.0 else 1)
EOF
done
n=$((n+1)); pass "restored guests: different uuid and urandom, clock within 1 s of the host"

# ---- a workspace: created restored, then the README's sequence ----
ws=$("$PYRO" workspace create debian:12 --mem-mib 512 2>"$TMP/wc.err") ||
    fail "workspace create: $(cat "$TMP/wc.err")"
grep -q 'phase=boot boot=restored' "$TMP/wc.err" ||
    fail "create progress: $(cat "$TMP/wc.err")"
"$PYRO" --json workspace status "$ws" | jq -e '.boot == "restored" and
    .state == "running"' >/dev/null || fail "status after a restored create"
"$PYRO" workspace exec "$ws" -- sh -c 'echo before > note.txt; sync' >/dev/null ||
    fail "exec in a restored workspace"
[ "$("$PYRO" workspace exec "$ws" -- cat note.txt)" = before ] ||
    fail "read back"
"$PYRO" workspace stop "$ws" >/dev/null || fail "stop"
e2fsck -fn "$TMP/state/workspaces/$ws/rootfs.ext4" >"$TMP/fsck" 2>&1 ||
    fail "e2fsck after a restored run: $(tail -n 5 "$TMP/fsck")"
"$PYRO" workspace start "$ws" 2>"$TMP/ws.err" >/dev/null || fail "start"
grep -q 'boot=cold reason="the disk has booted before"' "$TMP/ws.err" ||
    fail "start of a used disk: $(cat "$TMP/ws.err")"
[ "$("$PYRO" workspace exec "$ws" -- cat note.txt)" = before ] ||
    fail "the file did not survive stop and start"
"$PYRO" workspace reset "$ws" 2>"$TMP/wr.err" >/dev/null || fail "reset"
grep -q 'boot=restored' "$TMP/wr.err" || fail "reset: $(cat "$TMP/wr.err")"
"$PYRO" workspace exec "$ws" -- sh -c 'test ! -e note.txt' ||
    fail "reset kept the old disk's file"
"$PYRO" workspace delete "$ws" >/dev/null || fail "delete"
[ "$(qemus)" = 0 ] || fail "QEMU left after the workspace"
n=$((n+1)); pass "workspace create and reset restore; stop, e2fsck, start (cold), files as expected"

# ---- workspace fork ----
src=$("$PYRO" workspace create debian:12 --mem-mib 512 2>/dev/null) ||
    fail "create the fork's source"
"$PYRO" workspace exec "$src" -- sh -c 'echo a > before.txt' >/dev/null
"$PYRO" workspace exec "$src" -- sleep 4 >/dev/null &
bg=$!
sleep 1
expect_error busy "$PYRO" workspace fork "$src"
wait "$bg"
fk=$("$PYRO" workspace fork "$src" 2>"$TMP/fk.err") ||
    fail "fork: $(cat "$TMP/fk.err")"
[ -n "$fk" ] && [ "$fk" != "$src" ] || fail "fork id: $fk"
grep -q "phase=fork" "$TMP/fk.err" && grep -q "boot=restored" "$TMP/fk.err" ||
    fail "fork progress: $(cat "$TMP/fk.err")"
"$PYRO" --json workspace status "$fk" | jq -e --arg s "$src" '.state ==
    "running" and .forked_from == $s and .boot == "restored"' >/dev/null ||
    fail "fork status: $("$PYRO" --json workspace status "$fk")"
"$PYRO" --json workspace status "$src" | jq -e '.state == "running"' \
    >/dev/null || fail "the source is not running after the fork"
[ "$("$PYRO" workspace exec "$fk" -- cat before.txt)" = a ] ||
    fail "a file written before the fork is not in the fork"
"$PYRO" workspace exec "$src" -- sh -c 'echo b > src-after.txt' >/dev/null
"$PYRO" workspace exec "$fk" -- sh -c 'echo c > fork-after.txt' >/dev/null
"$PYRO" workspace exec "$fk" -- test ! -e src-after.txt ||
    fail "the source's later file is in the fork"
"$PYRO" workspace exec "$src" -- test ! -e fork-after.txt ||
    fail "the fork's later file is in the source"
u1=$("$PYRO" workspace exec "$src" -- head -c16 /dev/urandom | od -An -tx1)
u2=$("$PYRO" workspace exec "$fk" -- head -c16 /dev/urandom | od -An -tx1)
[ "$u1" != "$u2" ] || fail "source and fork read the same urandom bytes"
"$PYRO" --json workspace logs "$fk" | jq -e '(.history | length) == 4 and
    ([.history[] | tostring | select(test("echo a"))] | length) == 0' \
    >/dev/null || fail "the fork's history does not start at the fork: $("$PYRO" --json workspace logs "$fk")"
for w in "$src" "$fk"; do
	"$PYRO" workspace stop "$w" >/dev/null || fail "stop $w"
	e2fsck -fn "$TMP/state/workspaces/$w/rootfs.ext4" >"$TMP/fsck" 2>&1 ||
	    fail "e2fsck of $w: $(tail -n 5 "$TMP/fsck")"
	"$PYRO" workspace start "$w" >/dev/null 2>&1 || fail "start $w"
done
[ "$("$PYRO" workspace exec "$fk" -- cat fork-after.txt)" = c ] &&
    [ "$("$PYRO" workspace exec "$src" -- cat src-after.txt)" = b ] ||
    fail "files lost over stop and start"
[ ! -e "$TMP/state/workspaces/$fk/fork.state" ] || fail "fork.state kept"
"$PYRO" workspace stop "$fk" >/dev/null
expect_error workspace_not_running "$PYRO" workspace fork "$fk"
"$PYRO" workspace delete "$fk" >/dev/null
"$PYRO" workspace delete "$src" >/dev/null
[ "$(qemus)" = 0 ] || fail "QEMU left after the forks"
[ -z "$(ls "$TMP/state/workspaces")" ] || fail "records left: $(ls "$TMP/state/workspaces")"
n=$((n+1)); pass "workspace fork: before-files shared, after-files not, own entropy and history; busy and stopped refused; both e2fsck clean"

# ---- bad templates: a cold boot, the template removed ----
# A byte flipped in the state: its digest does not match.
"$py" - "$T/$key/state" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
b = os.pread(fd, 1, 4096)
os.pwrite(fd, bytes([b[0] ^ 0xff]), 4096)
os.close(fd)
EOF
"$PYRO" run debian:12 --mem-mib 512 -- echo ok >"$TMP/b1" 2>"$TMP/b1.err" ||
    fail "run over a tampered template: $(cat "$TMP/b1.err")"
[ "$(cat "$TMP/b1")" = ok ] || fail "tampered: output $(cat "$TMP/b1")"
grep -q 'boot=restored' "$TMP/b1.err" &&
    grep -q 'boot=cold reason="restoring failed: .*digest' "$TMP/b1.err" ||
    fail "tampered state: $(cat "$TMP/b1.err")"
[ -z "$(tkeys)" ] || fail "the tampered template was kept"
grep -q "template $(echo "$key" | cut -c1-16).*removed" "$TMP/pyrod.log" ||
    fail "not logged"
n=$((n+1)); pass "a tampered state file: digest refused, cold boot, template removed, logged"

# A truncated state whose template.json was made to match it: QEMU fails.
"$PYRO" env warm debian:12 --mem-mib 512 >/dev/null || fail "warm again"
key=$(tkeys)
truncate -s 20000000 "$T/$key/state"
sum=$(sha256sum "$T/$key/state" | cut -d' ' -f1)
jq --arg s "$sum" '.state_sha256 = $s | .state_bytes = 20000000' \
    "$T/$key/template.json" >"$TMP/tj" && cp "$TMP/tj" "$T/$key/template.json"
"$PYRO" --json run debian:12 --mem-mib 512 -- echo ok >"$TMP/b2" \
    2>"$TMP/b2.err" || fail "run over a truncated state: $(cat "$TMP/b2")"
jq -e '.boot == "cold" and .stdout == "ok\n"' "$TMP/b2" >/dev/null ||
    fail "truncated state: $(cat "$TMP/b2")"
[ -z "$(tkeys)" ] || fail "the truncated template was kept"
grep -q 'restoring failed' "$TMP/pyrod.log" || fail "restore failure not logged"
n=$((n+1)); pass "a state QEMU cannot load: the restore fails, a cold boot, template removed"

# A missing disk: unusable, cold, removed.
"$PYRO" env warm debian:12 --mem-mib 512 >/dev/null || fail "warm a third time"
key=$(tkeys)
rm "$T/$key/rootfs.ext4"
"$PYRO" run debian:12 --mem-mib 512 -- true 2>"$TMP/b3.err" >/dev/null ||
    fail "run over a template without its disk"
grep -q 'boot=cold reason="template unusable: its rootfs.ext4 is missing"' \
    "$TMP/b3.err" || fail "a template without its disk: $(cat "$TMP/b3.err")"
[ -z "$(tkeys)" ] || fail "a template without its disk was kept"
[ "$(qemus)" = 0 ] || fail "QEMU left after the bad templates"
ls "$TMP/state/vms" | grep -q . && fail "a VM record left: $(ls "$TMP/state/vms")"
n=$((n+1)); pass "a template whose disk is missing: cold boot, removed; nothing left"

# ---- another environment digest: never the old template ----
# The same debian:12, one file different in its rootfs: another digest.
"$PYRO" env warm debian:12 --mem-mib 512 >/dev/null || fail "warm old env"
old=$(tkeys)
E2="$TMP/envs2"
mkdir -p "$E2/debian:12"
for f in vmlinux initramfs.cpio; do
	ln "$PYRO_TEST_ENV_CACHE/debian:12/$f" "$E2/debian:12/$f" 2>/dev/null ||
	    cp "$PYRO_TEST_ENV_CACHE/debian:12/$f" "$E2/debian:12/$f"
done
cp --sparse=always "$PYRO_TEST_ENV_CACHE/debian:12/rootfs.ext4" "$E2/debian:12/"
echo flipped >"$TMP/flip"
debugfs -w -R "write $TMP/flip /etc/pyro-flip" "$E2/debian:12/rootfs.ext4" \
    >/dev/null 2>&1 || fail "debugfs write"
sum=$(sha256sum "$E2/debian:12/rootfs.ext4" | cut -d' ' -f1)
jq --arg s "$sum" '.parts["rootfs.ext4"].sha256 = $s' \
    "$PYRO_TEST_ENV_CACHE/debian:12/manifest.json" >"$E2/debian:12/manifest.json"
printf 'warm_start = lazy\n' >"$TMP/pyrod.conf"
PYRO_ENVIRONMENT_CACHE_DIR="$E2" restart_pyrod -f "$TMP/pyrod.conf"
"$PYRO" --json env templates | jq -e '.warm_start == "lazy" and
    .templates[0].current == false' >/dev/null ||
    fail "the old template is not marked out of date"
"$PYRO" --json run debian:12 --mem-mib 512 -- cat /etc/pyro-flip >"$TMP/k1" ||
    fail "run of the new env"
jq -e '.boot == "cold" and .stdout == "flipped\n"' "$TMP/k1" >/dev/null ||
    fail "new digest used the old template: $(cat "$TMP/k1")"
# lazy: that cold boot made the new template in the background.
for _ in $(seq 300); do
	[ "$(tkeys | grep -cv "^$old$")" = 1 ] && break
	sleep 0.2
done
new=$(tkeys | grep -v "^$old$") || fail "lazy made no template"
for _ in $(seq 100); do
	"$PYRO" --json env templates | jq -e '.templates | length == 2' \
	    >/dev/null && [ "$(qemus)" = 0 ] && break
	sleep 0.2
done
"$PYRO" --json run debian:12 --mem-mib 512 -- cat /etc/pyro-flip >"$TMP/k2" ||
    fail "run after lazy"
jq -e '.boot == "restored" and .stdout == "flipped\n"' "$TMP/k2" >/dev/null ||
    fail "the rebuilt template was not used: $(cat "$TMP/k2")"
# prune (root) removes the old one; the caller's own cache is an empty one.
mkdir -p "$TMP/emptycache"
PYRO_ENVIRONMENT_CACHE_DIR="$TMP/emptycache" "$PYRO" --json env prune \
    >"$TMP/pr" || fail "env prune"
jq -e '.templates_removed == 1' "$TMP/pr" >/dev/null || fail "prune: $(cat "$TMP/pr")"
[ "$(tkeys)" = "$new" ] || fail "prune kept: $(tkeys)"
n=$((n+1)); pass "another env digest: cold, lazy makes its template, then restored; prune drops the old one"

# ---- warm_start = off, and what only root may do ----
printf 'warm_start = off\n' >"$TMP/pyrod.conf"
PYRO_ENVIRONMENT_CACHE_DIR="$E2" restart_pyrod -f "$TMP/pyrod.conf"
"$PYRO" run debian:12 --mem-mib 512 -- true 2>"$TMP/off.err" >/dev/null ||
    fail "run with warm_start = off"
grep -q 'boot=cold reason="warm_start = off"' "$TMP/off.err" ||
    fail "warm_start = off: $(cat "$TMP/off.err")"
expect_error unsupported "$PYRO" env warm debian:12
restart_pyrod
chmod 0755 "$TMP"
chmod 0666 "$TMP/pyrod.sock" 2>/dev/null || true
as_nobody env warm debian:12 >/dev/null 2>"$TMP/nb.err" &&
    fail "nobody made a template"
grep -Eq '\((permission_denied|unauthorized)\)$' "$TMP/nb.err" ||
    fail "nobody: $(cat "$TMP/nb.err")"
printf 'warm_start = maybe\n' >"$TMP/bad.conf"
timeout 20 "$PYRO_BUILDDIR/pyrod" -d -f "$TMP/bad.conf" --state-dir \
    "$TMP/s2" --socket "$TMP/s2.sock" 2>"$TMP/bad.err" &&
    fail "bad warm_start accepted"
grep -q 'warm_start must be on, lazy or off' "$TMP/bad.err" ||
    fail "bad warm_start: $(cat "$TMP/bad.err")"
n=$((n+1)); pass "warm_start = off boots cold; env warm is root's; a bad value is refused"

# ---- the README's workspace sequence, verbatim, on restored workspaces ----
# Its create (1024 MiB, seeded, a secret) and its reset --snapshot restore
# from the template of that shape; every line's output is what a cold one
# prints (tests/workspace.sh checks the same lines on cold workspaces).
"$PYRO" env warm debian:12 >/dev/null || fail "env warm (1024 MiB)"
sed -n '/^<!-- workspace-sequence -->$/,/^<!-- \/workspace-sequence -->$/p' \
    "$PYRO_SRCDIR/README.md" | sed '1,2d' | sed '$d' | sed '$d' \
    >"$TMP/sequence"
[ "$(wc -l <"$TMP/sequence")" -ge 10 ] || fail "README sequence not found"
pyro() { "$PYRO" "$@"; }
mkdir "$TMP/readme"
cd "$TMP/readme"
i=0
while IFS= read -r line; do
	i=$((i+1))
	echo "$line" >"$TMP/step$i.line"
	eval "$line" </dev/null >"$TMP/step$i.out" 2>"$TMP/step$i.err" ||
	    fail "README line $i ($line): $(cat "$TMP/step$i.err")"
done <"$TMP/sequence"
cd "$TMP"
step() {	# the file ($2: out or err) of the README line that starts with $1
	for f in "$TMP"/step*.line; do
		case "$(cat "$f")" in "$1"*) cat "${f%.line}.$2"; return;; esac
	done
	fail "no README line starts with: $1"
}
step 'WS=$(pyro workspace create' err | grep -q 'phase=boot boot=restored$' ||
    fail "README create did not restore: $(step 'WS=$(pyro workspace create' err)"
step 'pyro workspace reset' err | grep -q 'boot=restored' ||
    fail "README reset did not restore: $(step 'pyro workspace reset' err)"
[ "$(step 'pyro workspace exec "$WS" -- cat' out)" = "hello from the host
pushed later" ] || fail "README exec cat: $(step 'pyro workspace exec "$WS" -- cat' out)"
step 'pyro workspace diff' out | grep -q '^1 added, 0 modified, 1 deleted$' ||
    fail "README diff: $(step 'pyro workspace diff' out)"
step 'pyro workspace reset' out | grep -q '^Services: *web(stopped) *$' ||
    fail "README reset: $(step 'pyro workspace reset' out)"
[ "$(step 'pyro workspace exec "$WS" --secret-env' out)" = \
    "token is [REDACTED]" ] || fail "README secret-env"
[ "$(cat "$TMP/readme/demo-out/hello.txt")" = "hello from the host" ] &&
    [ "$(cat "$TMP/readme/demo-out/later.txt")" = "pushed later" ] ||
    fail "README export content"
step 'pyro workspace delete' out | grep -q "^Deleted workspace $WS" ||
    fail "README delete"
grep -rq 'tok-123-abc' "$TMP"/step*.out "$TMP"/step*.err "$TMP/pyrod.log" &&
    fail "the README's secret leaked"
n=$((n+1)); pass "the README's workspace sequence verbatim on restored workspaces (create and reset --snapshot restored)"

[ "$(qemus)" = 0 ] || fail "QEMU left at the end"
echo "$n passed, 0 failed"
