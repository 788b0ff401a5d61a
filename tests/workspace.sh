#!/bin/sh
# Stable workspaces in real guests: the README's sequence verbatim, seeding
# from a directory and each archive type, diff, export, snapshots and
# reset (hashes of every file), and bad input.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
need_guests
command -v python3 >/dev/null || fail "python3 is needed to craft archives"
start_pyrod
export PYRO_SOCKET="$TMP/pyrod.sock"
n=0

# sha256 of every file under a directory, as "hash  ./path" lines.
tree_hashes() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z |
    xargs -0r sha256sum); }
guest_hashes() {
	pyro workspace exec "$1" -- sh -c 'cd "$1" && find . -type f -print0 |
	    LC_ALL=C sort -z | xargs -0r sha256sum' sh "${2:-/workspace}"
}
no_leftovers() {
	[ "$(ls "$TMP/state/workspaces" | wc -l)" = 0 ] ||
	    fail "$1: workspace directories left: $(ls "$TMP/state/workspaces")"
	[ "$(qemus)" = 0 ] || fail "$1: QEMU processes left"
}

# ---- 1. The README's stable-workspace sequence, line by line ----
mkdir "$TMP/readme"
sed -n '/^<!-- workspace-sequence -->$/,/^<!-- \/workspace-sequence -->$/p' \
    "$PYRO_SRCDIR/README.md" | sed '1,2d' | sed '$d' | sed '$d' \
    >"$TMP/sequence"
[ "$(wc -l <"$TMP/sequence")" -ge 10 ] || fail "README sequence not found"
# Each line runs in this shell (so WS carries over), in the demo directory.
cd "$TMP/readme"
i=0
while IFS= read -r line; do
	i=$((i+1))
	echo "$line" >"$TMP/step$i.line"
	if ! eval "$line" </dev/null >"$TMP/step$i.out" 2>"$TMP/step$i.err"; then
		fail "README line $i ($line): $(cat "$TMP/step$i.err")"
	fi
done <"$TMP/sequence"
cd "$TMP"
step() {	# the output of the README line that starts with $1
	for f in "$TMP"/step*.line; do
		case "$(cat "$f")" in "$1"*) cat "${f%.line}.out"; return;; esac
	done
	fail "no README line starts with: $1"
}
echo "$WS" | grep -Eq '^[0-9a-f]{16}$' || fail "create printed: $WS"
step 'pyro workspace sync push' | grep -q '^Pushed 2 files' ||
    fail "sync push: $(step 'pyro workspace sync push')"
[ "$(step 'pyro workspace exec "$WS" -- cat')" = "hello from the host
pushed later" ] || fail "exec cat: $(step 'pyro workspace exec "$WS" -- cat')"
step 'pyro workspace snapshot create' | grep -q '^Snapshot checkpoint created' ||
    fail "snapshot create"
step 'pyro workspace service start' | grep -Eq '^web +ready +pid=[0-9]+' ||
    fail "service start: $(step 'pyro workspace service start')"
step 'pyro workspace diff' | grep -q '^A later.txt$' || fail "diff: no A"
step 'pyro workspace diff' | grep -q '^D hello.txt$' || fail "diff: no D"
step 'pyro workspace diff' | grep -q '^1 added, 0 modified, 1 deleted$' ||
    fail "diff summary: $(step 'pyro workspace diff')"
step 'pyro workspace reset' | grep -q '^State: *running$' || fail "reset"
step 'pyro workspace reset' | grep -q '^Services: *web(stopped) *$' ||
    fail "the service after the reset: $(step 'pyro workspace reset')"
[ "$(step 'pyro workspace exec "$WS" --secret-env')" = \
    "token is [REDACTED]" ] || fail "secret-env: $(step \
    'pyro workspace exec "$WS" --secret-env')"
step 'pyro workspace export' | grep -q '^Exported 2 files' ||
    fail "export: $(step 'pyro workspace export')"
[ "$(cat "$TMP/readme/demo-out/hello.txt")" = "hello from the host" ] &&
    [ "$(cat "$TMP/readme/demo-out/later.txt")" = "pushed later" ] ||
    fail "export content"
step 'pyro workspace delete' | grep -q "^Deleted workspace $WS" ||
    fail "delete"
grep -rq 'tok-123-abc' "$TMP"/step*.out "$TMP"/step*.err "$TMP/pyrod.log" &&
    fail "the README's secret leaked"
no_leftovers "README sequence"
n=$((n+1)); pass "README stable-workspace sequence, each line checked"

# ---- 2. Seeding: a directory and each archive type, byte for byte ----
seed="$TMP/seed"
mkdir -p "$seed/src/deep/er" "$seed/empty"
printf 'line one\nline two\n' >"$seed/a.txt"
printf 'bee\n' >"$seed/b.txt"
head -c 200000 /dev/urandom >"$seed/c.bin"
printf 'x' >"$seed/src/deep/er/x y.txt"
ln -s ../a.txt "$seed/src/link-to-a"
chmod 0750 "$seed/src"
tree_hashes "$seed" >"$TMP/seed.h"
tar -C "$seed" -cf "$TMP/seed.tar" .
tar -C "$seed" -czf "$TMP/seed.tar.gz" .
cp "$TMP/seed.tar.gz" "$TMP/seed.tgz"
for src in "$seed" "$TMP/seed.tar" "$TMP/seed.tar.gz" "$TMP/seed.tgz"; do
	id=$(pyro workspace create debian:12 --seed-path "$src" \
	    2>"$TMP/err") || fail "create from $src: $(cat "$TMP/err")"
	guest_hashes "$id" >"$TMP/g.h" || fail "hashes in the guest"
	cmp -s "$TMP/seed.h" "$TMP/g.h" ||
	    fail "seed from $src differs: $(diff "$TMP/seed.h" "$TMP/g.h")"
	[ "$(pyro workspace exec "$id" -- readlink src/link-to-a)" = \
	    ../a.txt ] || fail "symlink from $src"
	[ "$(pyro workspace exec "$id" -- stat -c %a src)" = 750 ] ||
	    fail "mode from $src"
	kind=$(pyro --json workspace status "$id" | jq -r .seed)
	case "$src" in
	*.tar) [ "$kind" = tar ];;
	*.tar.gz|*.tgz) [ "$kind" = tar.gz ];;
	*) [ "$kind" = directory ];;
	esac || fail "seed kind $kind for $src"
	[ "$src" = "$TMP/seed.tgz" ] || pyro workspace delete "$id" >/dev/null
done
n=$((n+1)); pass "seeding from a directory, .tar, .tar.gz, .tgz: same hashes"

# ---- 3. diff: one added, one modified, one deleted ----
pyro workspace exec "$id" -- sh -c 'echo new >added.txt &&
    printf "line one\nline 2\n" >a.txt && rm b.txt' ||
    fail "diff scenario"
pyro --json workspace diff "$id" >"$TMP/diff.json" || fail "diff"
[ "$(jq -c .summary "$TMP/diff.json")" = \
    '{"added":1,"modified":1,"deleted":1}' ] ||
    fail "diff summary: $(jq -c .summary "$TMP/diff.json")"
[ "$(jq -r '.files[] | select(.path=="added.txt") | .status' \
    "$TMP/diff.json")" = added ] || fail "added.txt"
[ "$(jq -r '.files[] | select(.path=="b.txt") | .status' \
    "$TMP/diff.json")" = deleted ] || fail "b.txt"
jq -r '.files[] | select(.path=="a.txt") | .diff' "$TMP/diff.json" \
    >"$TMP/a.diff"
grep -q '^-line two$' "$TMP/a.diff" && grep -q '^+line 2$' "$TMP/a.diff" &&
    grep -q '^--- a/a.txt$' "$TMP/a.diff" || fail "unified diff: $(cat "$TMP/a.diff")"
pyro workspace exec "$id" -- sh -c 'head -c 100 /dev/urandom >>c.bin' ||
    fail "binary change"
pyro --json workspace diff "$id" >"$TMP/diff.json" || fail "diff 2"
[ "$(jq -r '.files[] | select(.path=="c.bin") | .binary' \
    "$TMP/diff.json")" = true ] || fail "c.bin not marked binary"
pyro workspace diff "$id" | grep -q '^M c.bin (binary)$' || fail "human diff"
n=$((n+1)); pass "diff: exactly 1 added, 1 modified, 1 deleted; text and binary"

# ---- 4. export: a directory byte for byte, a file, refusals ----
pyro workspace export "$id" src --output "$TMP/exp-src" >/dev/null ||
    fail "export src"
guest_hashes "$id" /workspace/src >"$TMP/g.h"
tree_hashes "$TMP/exp-src" >"$TMP/h.h"
cmp -s "$TMP/g.h" "$TMP/h.h" || fail "export differs: $(diff "$TMP/g.h" "$TMP/h.h")"
[ "$(readlink "$TMP/exp-src/link-to-a")" = ../a.txt ] || fail "export link"
[ "$(stat -c %a "$TMP/exp-src")" = 750 ] || fail "export dir mode"
pyro workspace export "$id" /workspace/c.bin --output "$TMP/c.bin" \
    >/dev/null || fail "export file"
[ "$(pyro workspace exec "$id" -- sha256sum c.bin | cut -d' ' -f1)" = \
    "$(sha256sum <"$TMP/c.bin" | cut -d' ' -f1)" ] || fail "file export hash"
expect_error exists pyro workspace export "$id" c.bin --output "$TMP/c.bin"
pyro workspace export "$id" a.txt --output "$TMP/c.bin" --force >/dev/null ||
    fail "export --force"
[ "$(cat "$TMP/c.bin")" = "line one
line 2" ] || fail "export --force content"
ln -s /etc/passwd "$TMP/trap"
expect_error invalid_path pyro workspace export "$id" a.txt --output "$TMP/trap"
cmp -s /etc/passwd "$TMP/trap" || fail "wrote through a symlink"
expect_error invalid_path pyro workspace export "$id" ../etc/passwd \
    --output "$TMP/x"
pyro workspace exec "$id" -- ln -s /etc out-link
expect_error invalid_path pyro workspace export "$id" out-link/passwd \
    --output "$TMP/x"
expect_error not_found pyro workspace export "$id" nothing-here --output "$TMP/x"
[ ! -e "$TMP/x" ] || fail "a failed export left a file"
ls -a "$TMP" | grep -q pyro-export && fail "export temp dir left behind"
n=$((n+1)); pass "export: directory and file byte for byte; overwrite, symlink and escapes refused"

# ---- 5. snapshots and reset: exact trees ----
pyro workspace exec "$id" -- sh -c 'rm -f out-link; echo snap >s.txt' ||
    fail "pre-snapshot"
guest_hashes "$id" >"$TMP/snap.h"
pyro workspace snapshot create "$id" s1 >/dev/null || fail "snapshot"
expect_error exists pyro workspace snapshot create "$id" s1
pyro workspace exec "$id" -- sh -c 'rm -rf src s.txt; echo junk >j' ||
    fail "mess up"
pyro workspace reset "$id" --snapshot s1 >/dev/null 2>&1 || fail "reset s1"
guest_hashes "$id" >"$TMP/g.h"
cmp -s "$TMP/snap.h" "$TMP/g.h" || fail "reset to s1: $(diff "$TMP/snap.h" "$TMP/g.h")"
pyro workspace reset "$id" >/dev/null 2>&1 || fail "reset baseline"
guest_hashes "$id" >"$TMP/g.h"
cmp -s "$TMP/seed.h" "$TMP/g.h" || fail "reset to baseline: $(diff "$TMP/seed.h" "$TMP/g.h")"
pyro workspace snapshot list "$id" | grep -q '^baseline ' || fail "list baseline"
pyro workspace snapshot list "$id" | grep -q '^s1 ' || fail "list s1"
pyro workspace snapshot delete "$id" s1 >/dev/null || fail "snapshot delete"
expect_error not_found pyro workspace reset "$id" --snapshot s1
[ "$(pyro --json workspace status "$id" | jq -r .state)" = running ] ||
    fail "state after refused reset"
pyro workspace logs "$id" | grep -q 'exec .*rm -rf src' || fail "history"
n=$((n+1)); pass "snapshot and reset restore the exact trees; history kept"

# ---- 6. bad input ----
python3 - "$TMP" <<'EOF'
import io, sys, tarfile
d = sys.argv[1]
def mk(name, members):
    with tarfile.open(f"{d}/{name}", "w") as t:
        for m in members:
            data = m.pop("data", b"")
            ti = tarfile.TarInfo(m.pop("name"))
            for k, v in m.items():
                setattr(ti, k, v)
            ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data) if data else None)
mk("dotdot.tar", [{"name": "ok.txt", "data": b"x"}, {"name": "../evil.txt", "data": b"x"}])
mk("abs.tar", [{"name": "/etc/evil", "data": b"x"}])
mk("symout.tar", [{"name": "l", "type": tarfile.SYMTYPE, "linkname": "../../etc"}])
mk("symabs.tar", [{"name": "l", "type": tarfile.SYMTYPE, "linkname": "/etc/shadow"}])
mk("hardout.tar", [{"name": "h", "type": tarfile.LNKTYPE, "linkname": "../etc/passwd"}])
mk("dev.tar", [{"name": "null", "type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 3}])
with tarfile.open(f"{d}/huge.tar", "w", format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo("f")
    ti.pax_headers = {"comment": "A" * (40 * 1024 * 1024)}
    t.addfile(ti)
open(f"{d}/garbage.tar", "wb").write(b"\x01" * 4096)
EOF
for a in dotdot abs symout symabs hardout dev huge garbage; do
	expect_error invalid_archive pyro workspace create debian:12 \
	    --seed-path "$TMP/$a.tar"
	expect_error invalid_archive pyro workspace sync push "$id" "$TMP/$a.tar"
done
[ "$(ls "$TMP/state/workspaces" | wc -l)" = 1 ] ||
    fail "a refused create left a workspace"
pyro workspace exec "$id" -- sh -c 'test ! -e /evil.txt && test ! -e /etc/evil' ||
    fail "a refused archive reached the guest"
mkfifo "$seed/fifo"
expect_error invalid_archive pyro workspace sync push "$id" "$seed"
rm "$seed/fifo"
expect_error invalid_path pyro workspace sync push "$id" "$seed" --dest ../etc
expect_error invalid_path pyro workspace sync push "$id" "$seed" --dest /etc
pyro workspace exec "$id" -- ln -s /etc escape
expect_error invalid_path pyro workspace sync push "$id" "$seed" --dest escape
pyro workspace exec "$id" -- test ! -e /etc/a.txt || fail "pushed through a symlink"
for bad in ../x a/b .hidden "$(printf 'x%.0s' $(seq 65))" baseline; do
	expect_error invalid_name pyro workspace snapshot create "$id" "$bad"
done
expect_error invalid_name pyro workspace create debian:12 --secret 'a/b=1'
expect_error invalid_name pyro workspace create debian:12 --secret '..=1'
expect_error not_found pyro workspace exec ffffffffffffffff -- true
expect_error not_found pyro workspace status 'nope'
expect_error not_found pyro workspace shell read "$id" ffffffffffffffff
expect_error not_found pyro workspace service status "$id" nope
expect_error not_found pyro workspace exec "$id" --secret-env NOPE -- true
expect_error invalid_argument pyro workspace create debian:12 --network-policy everything
expect_error invalid_argument pyro workspace service start "$id" web --publish 18080:80 -- true
expect_error unknown_environment pyro workspace create nosuch:1
expect_error timeout pyro workspace exec "$id" --timeout-seconds 1 -- sleep 30
pyro workspace exec "$id" -- true || fail "workspace unusable after errors"
kill -0 "$PYROD_PID" || fail "pyrod died"
pyro workspace delete "$id" >/dev/null
no_leftovers "bad input"
n=$((n+1)); pass "bad archives, paths, names and ids: stable codes, nothing left"

# ---- 7. the C SDK example, as a user would run it ----
(cd "$TMP" && "$PYRO_BUILDDIR/examples/workspace" debian:12 "$seed") \
    >"$TMP/o" 2>"$TMP/e" || fail "examples/workspace: $(cat "$TMP/e")"
grep -q '^diff: "summary":{"added":1,"modified":0,"deleted":0}' "$TMP/o" &&
    grep -q '^exported note.txt$' "$TMP/o" && grep -q '^deleted ' "$TMP/o" &&
    grep -q '^from the stopped disk: written in the guest$' "$TMP/o" &&
    grep -q '^started again$' "$TMP/o" ||
    fail "examples/workspace output: $(cat "$TMP/o")"
[ "$(cat "$TMP/note.txt")" = "written in the guest" ] || fail "example export"
no_leftovers "example"
n=$((n+1)); pass "examples/workspace (C SDK) runs end to end"

echo "$n passed, 0 failed"
