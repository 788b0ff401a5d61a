#!/bin/sh
# The CLI as a user meets it: help, usage errors, exit codes, no daemon,
# and doctor end to end through libpyro and pyrod.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for pyrod"; exit 77; }
command -v jq >/dev/null || fail "jq is missing (apt-get install jq)"
n=0

"$PYRO" --help >"$TMP/out" || fail "--help exit $?"
grep -q '^  doctor ' "$TMP/out" || fail "--help does not list doctor"
grep -q 'workspace status' "$TMP/out" || fail "--help misses workspace status"
n=$((n+1)); pass "pyro --help lists the commands"

"$PYRO" doctor --help | grep -q '^usage: pyro doctor' || fail "doctor --help"
"$PYRO" workspace --help | grep -q 'pyro workspace list' || fail "group help"
n=$((n+1)); pass "per-command help"

# A listener that only records connections: commands pointed at it must
# never connect for --help or for a usage error.
cat >"$TMP/listen.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(64)
while True:
    c, _ = s.accept()
    with open(sys.argv[2], "a") as f:
        f.write("connection\n")
    c.close()
PY
timeout 600 python3 "$TMP/listen.py" "$TMP/fake.sock" "$TMP/conns" &
for _ in $(seq 100); do [ -S "$TMP/fake.sock" ] && break; sleep 0.05; done
[ -S "$TMP/fake.sock" ] || fail "the fake listener did not start"
: >"$TMP/conns"
fake() { PYRO_SOCKET="$TMP/fake.sock" "$PYRO" "$@"; }
no_connection() {
	[ ! -s "$TMP/conns" ] || fail "$1: it contacted pyrod"
}

# Every command: --help (alone, after operands, after other options)
# prints its usage on stdout and exits 0, without a pyrod.
"$PYRO" help --commands >"$TMP/cmds"
[ "$(wc -l <"$TMP/cmds")" -ge 47 ] || fail "help --commands: $(cat "$TMP/cmds")"
while IFS= read -r cmd; do
	# shellcheck disable=SC2086
	for extra in "" "ID" "ID NAME --json"; do
		set +e
		fake $cmd $extra --help >"$TMP/out" 2>"$TMP/err"; rc=$?
		set -e
		[ $rc = 0 ] || fail "pyro $cmd $extra --help: exit $rc: $(cat "$TMP/err")"
		head -n 1 "$TMP/out" | grep -q "^usage: pyro $cmd" ||
		    fail "pyro $cmd $extra --help: $(head -n 2 "$TMP/out")"
		[ ! -s "$TMP/err" ] || fail "pyro $cmd --help wrote to stderr"
	done
	fake $cmd -h | grep -q "^usage: pyro $cmd" || fail "pyro $cmd -h"
done <"$TMP/cmds"
no_connection "--help"
n=$((n+1)); pass "--help and -h anywhere, for all $(wc -l <"$TMP/cmds") commands, no pyrod"

# pyro --help: every summary starts in one column.
"$PYRO" --help | sed -n '/^Commands:/,/^$/p' | sed '1d;/^$/d' >"$TMP/list"
col=$(grep '^  workspace snapshot create ' "$TMP/list" |
    awk '{ print index($0, "checkpoint") }')
while IFS= read -r line; do
	c=$(printf '%s\n' "$line" | cut -c"$col"-)
	pre=$(printf '%s\n' "$line" | cut -c1-"$((col - 1))")
	case "$pre" in *"  ") ;; *) fail "--help runs into: $line" ;; esac
	[ -n "$c" ] && [ "${c# }" = "$c" ] || fail "--help column: $line"
done <"$TMP/list"
n=$((n+1)); pass "pyro --help: descriptions in one column"

# Bad input: exit 2, our own words naming the flag, never a call.
: >"$TMP/conns"
bad() {
	want=$1
	shift
	set +e
	fake "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?
	set -e
	[ $rc = 2 ] || fail "pyro $*: exit $rc, want 2: $(cat "$TMP/err")"
	grep -q -- "$want" "$TMP/err" ||
	    fail "pyro $*: wanted '$want' in: $(cat "$TMP/err")"
	if grep -q 'unrecognized option\|invalid option\|requires an argument' \
	    "$TMP/err"; then
		fail "pyro $*: getopt's words: $(cat "$TMP/err")"
	fi
}
bad 'unknown option "--bogus"' run debian:12 --bogus -- true
bad 'unknown option "--bogus"' workspace exec WS --bogus -- true
bad 'unknown option "-x"' vm list -x
bad '--timeout-seconds needs a value' run debian:12 --timeout-seconds
bad '--timeout-seconds needs a value' workspace exec WS --timeout-seconds -- true
bad '--output needs a value' workspace export WS path --output
bad '--timeout-seconds needs a positive integer, not "abc"' run debian:12 --timeout-seconds abc -- true
bad '--cursor needs a non-negative integer' workspace shell read WS SH --cursor -1
bad '--max-bytes needs a positive integer' workspace disk read WS f --max-bytes 0
bad '--signal takes one of' workspace shell signal WS SH --signal BOGUS
bad '--secret takes NAME=VALUE' workspace create debian:12 --secret novalue
bad '--recursive takes no value' workspace disk list WS --recursive=yes
bad 'put "--" before the command' workspace exec WS echo hi
bad 'put "--" before the command' run debian:12 echo hi
bad 'no command: give it after "--"' vm exec VM
bad 'no command after "--"' workspace exec WS --
bad 'the command is empty' run debian:12 -- ''
bad 'the command is empty' workspace service start WS web -- ' '
bad 'WORKSPACE_ID is missing' workspace logs
bad 'VM_ID is missing' vm status
bad 'NAME is missing' workspace snapshot create WS
bad '--output HOST_PATH is required' workspace export WS path
bad '--input TEXT is required' workspace shell write WS SH
bad 'unexpected argument "extra"' vm status ID extra
bad 'unknown option' doctor --bogus
no_connection "usage errors"
# A usage error with --json is one JSON document too.
set +e
fake vm status --json >"$TMP/out" 2>/dev/null; rc=$?
set -e
[ $rc = 2 ] && [ "$(jq -r .error.code "$TMP/out")" = usage_error ] ||
    fail "usage error --json: $rc $(cat "$TMP/out")"
n=$((n+1)); pass "bad input: exit 2, the flag named, pyrod never contacted"

# pyro workspace alone: its usage list, exit 2.
set +e
"$PYRO" workspace >"$TMP/out" 2>"$TMP/err"; rc=$?
set -e
[ $rc = 2 ] || fail "pyro workspace: exit $rc"
grep -q 'unknown' "$TMP/err" && fail "pyro workspace: $(head -n 1 "$TMP/err")"
grep -q '^usage: pyro workspace exec' "$TMP/err" || fail "pyro workspace: no list"
n=$((n+1)); pass "pyro workspace alone lists its commands"

# --json before or after the operands: parsed, then one JSON document
# (here daemon_unavailable: no pyrod listens there).
while IFS='|' read -r cmdline; do
	for form in before after; do
		set +e
		if [ $form = before ]; then
			# shellcheck disable=SC2086
			PYRO_SOCKET="$TMP/nothing.sock" "$PYRO" --json $cmdline \
			    >"$TMP/out" 2>"$TMP/err"
		else
			# shellcheck disable=SC2086
			PYRO_SOCKET="$TMP/nothing.sock" "$PYRO" $cmdline --json \
			    >"$TMP/out" 2>"$TMP/err"
		fi
		rc=$?
		set -e
		[ $rc = 1 ] || fail "$cmdline ($form): exit $rc: $(cat "$TMP/err")"
		python3 -m json.tool "$TMP/out" >/dev/null ||
		    fail "$cmdline --json ($form): not one JSON document: $(cat "$TMP/out")"
		[ "$(jq -r .error.code "$TMP/out")" = daemon_unavailable ] ||
		    fail "$cmdline ($form): $(cat "$TMP/out")"
	done
done <<'EOF2'
vm status ffffffffffffffff
vm start ffffffffffffffff
vm stop ffffffffffffffff
vm delete ffffffffffffffff
vm network-info ffffffffffffffff
vm list
vm create debian:12
workspace status ffffffffffffffff
workspace logs ffffffffffffffff
workspace disk list ffffffffffffffff /etc
EOF2
for cmdline in "env inspect debian:12" "env pull nosuch" "env build nosuch"; do
	for form in before after; do
		set +e
		if [ $form = before ]; then
			# shellcheck disable=SC2086
			PYRO_ENVIRONMENT_CACHE_DIR="$TMP/emptycache" "$PYRO" --json \
			    $cmdline >"$TMP/out" 2>"$TMP/err"
		else
			# shellcheck disable=SC2086
			PYRO_ENVIRONMENT_CACHE_DIR="$TMP/emptycache" "$PYRO" \
			    $cmdline --json >"$TMP/out" 2>"$TMP/err"
		fi
		rc=$?
		set -e
		[ $rc = 1 ] || fail "$cmdline ($form): exit $rc: $(cat "$TMP/err")"
		python3 -m json.tool "$TMP/out" >/dev/null ||
		    fail "$cmdline --json ($form): $(cat "$TMP/out")"
	done
done
n=$((n+1)); pass "--json before and after operands: one JSON document"

# env pull of an installed, up-to-date environment: nothing to do, at
# once.  The libexec dir has a builder that only records that it ran.
mkdir -p "$TMP/libexec" "$TMP/cache/debian:12"
cp "$PYRO_BUILDDIR/pyro-agent" "$TMP/libexec/pyro-agent"
printf '#!/bin/sh\necho "$@" >>"%s/built"\n' "$TMP" >"$TMP/libexec/pyro-env-build"
chmod +x "$TMP/libexec/pyro-env-build"
for p in vmlinux initramfs.cpio rootfs.ext4; do
	head -c 1000 /dev/urandom >"$TMP/cache/debian:12/$p"
done
sha=$(sha256sum "$TMP/libexec/pyro-agent" | cut -d' ' -f1)
manifest() {
	printf '{"name":"debian:12","version":"3.1.0","kernel_version":"6.1","created_at":"2026-01-01T00:00:00Z","source":"local-build","agent_sha256":"%s","parts":{"vmlinux":{"size":1000,"sha256":"x"},"initramfs.cpio":{"size":1000,"sha256":"x"},"rootfs.ext4":{"size":%s,"sha256":"x"}}}\n' \
	    "$1" "$2" >"$TMP/cache/debian:12/manifest.json"
}
manifest "$sha" 1000
envpull() {
	PYRO_LIBEXECDIR="$TMP/libexec" PYRO_ENVIRONMENT_CACHE_DIR="$TMP/cache" \
	    "$PYRO" env pull debian:12 "$@"
}
start=$(date +%s%N)
envpull >"$TMP/out" || fail "env pull (up to date): exit $?"
end=$(date +%s%N)
[ $(( (end - start) / 1000000 )) -lt 1000 ] || fail "env pull took $(( (end - start) / 1000000 )) ms"
grep -q '^Environment debian:12 is installed and up to date (' "$TMP/out" ||
    fail "env pull: $(cat "$TMP/out")"
[ ! -e "$TMP/built" ] || fail "env pull rebuilt an up-to-date environment"
envpull --json | jq -e '.up_to_date == true and .built == false' >/dev/null ||
    fail "env pull --json"
envpull --build >/dev/null || fail "env pull --build"
[ -s "$TMP/built" ] || fail "env pull --build did not build"
rm -f "$TMP/built"
manifest "$sha" 999
envpull >/dev/null || fail "env pull (a part's size differs)"
[ -s "$TMP/built" ] || fail "a part of the wrong size was not rebuilt"
rm -f "$TMP/built"
manifest 0000 1000
envpull >/dev/null || fail "env pull (another agent)"
[ -s "$TMP/built" ] || fail "an environment of another agent was not rebuilt"
n=$((n+1)); pass "env pull: up to date in under a second; --build, stale parts and agents rebuild"

# env inspect renders the manifest for humans.
manifest "$sha" 1000
PYRO_ENVIRONMENT_CACHE_DIR="$TMP/cache" PYRO_SOCKET="$TMP/nothing.sock" \
    "$PYRO" env inspect debian:12 >"$TMP/out" || fail "env inspect"
grep -q '^Environment:  debian:12' "$TMP/out" && ! grep -q '^{' "$TMP/out" ||
    fail "env inspect is not rendered: $(cat "$TMP/out")"
grep -q 'pyrod is not reachable' "$TMP/out" || fail "env inspect: no note"
n=$((n+1)); pass "env inspect: rendered, with the cache note"

set +e
"$PYRO" frobnicate 2>"$TMP/err"; rc=$?
set -e
[ $rc = 2 ] || fail "unknown command exit $rc, want 2"
grep -q 'unknown command' "$TMP/err" || fail "unknown command message"
set +e
"$PYRO" vm status 2>"$TMP/err"; rc=$?
set -e
[ $rc = 2 ] || fail "missing argument exit $rc, want 2"
grep -q 'usage: pyro vm status VM_ID' "$TMP/err" || fail "usage line"
set +e
"$PYRO" doctor --bogus 2>/dev/null; rc=$?
set -e
[ $rc = 2 ] || fail "unknown option exit $rc, want 2"
n=$((n+1)); pass "usage errors exit 2"

# No daemon: a clear message, exit 1, at once.
set +e
start=$(date +%s%N)
PYRO_SOCKET="$TMP/nothing.sock" "$PYRO" doctor 2>"$TMP/err"; rc=$?
end=$(date +%s%N)
set -e
[ $rc = 1 ] || fail "no daemon: exit $rc, want 1"
grep -q 'daemon_unavailable' "$TMP/err" || fail "no daemon: code"
grep -q "start it with 'pyrod'" "$TMP/err" || fail "no daemon: how to start"
[ $(( (end - start) / 1000000 )) -lt 2000 ] || fail "no daemon: too slow"
set +e
PYRO_SOCKET="$TMP/nothing.sock" "$PYRO" --json doctor >"$TMP/out"; rc=$?
set -e
[ $rc = 1 ] || fail "no daemon --json: exit $rc"
[ "$(jq -r .error.code "$TMP/out")" = daemon_unavailable ] ||
    fail "no daemon --json: not one JSON error document"
n=$((n+1)); pass "no daemon: daemon_unavailable, exit 1, no hang"

start_pyrod
export PYRO_SOCKET="$TMP/pyrod.sock"
"$PYRO" --json doctor >"$TMP/doctor.json" || fail "doctor --json exit $?"
for k in .platform.os .platform.arch .runtime.status .kvm.exists \
    .kvm.readable .kvm.writable .kvm.usable .vmm.selected \
    .capabilities.vm_boot .capabilities.guest_exec \
    .capabilities.guest_network .networking.tun.ok \
    .networking.ip_forward .state_dir .environment_cache.path; do
	[ "$(jq "$k" "$TMP/doctor.json")" != null ] || fail "doctor: no $k"
done
if [ "$(jq .kvm.usable "$TMP/doctor.json")" = false ]; then
	[ -n "$(jq -r '.kvm.reason // empty' "$TMP/doctor.json")" ] ||
	    fail "kvm unusable without a reason"
fi
[ "$(jq -r .environment_cache.path "$TMP/doctor.json")" = \
    "$HOME/.cache/pyro/environments" ] || fail "default cache dir"
PYRO_ENVIRONMENT_CACHE_DIR=/srv/envs "$PYRO" --json doctor |
    jq -e '.environment_cache.path == "/srv/envs"' >/dev/null ||
    fail "PYRO_ENVIRONMENT_CACHE_DIR ignored"
"$PYRO" doctor --json | jq -e .kvm >/dev/null || fail "--json after command"
n=$((n+1)); pass "doctor --json has every field"

"$PYRO" doctor >"$TMP/human" || fail "doctor exit $?"
grep -q '^KVM: .*usable=' "$TMP/human" || fail "human doctor: KVM line"
grep -q '^Runtime: ' "$TMP/human" || fail "human doctor: runtime line"
grep -q '^Platform: *linux-x86_64' "$TMP/human" || fail "human doctor: platform"
grep -q "^Kernel: *Linux $(uname -r)" "$TMP/human" || fail "human doctor: kernel"
grep -q '^Catalog version: 3.1.0' "$TMP/human" || fail "human doctor: catalog"
grep -q "^Environment cache: $HOME/.cache/pyro/environments" "$TMP/human" ||
    fail "human doctor: Environment cache"
jq -e '.platform.name == "linux-x86_64" and .catalog_version == "3.1.0"' \
    "$TMP/doctor.json" >/dev/null || fail "doctor --json: platform.name, catalog_version"
n=$((n+1)); pass "doctor human output"

# env list says which cache it read and which one pyrod boots from.
PYRO_ENVIRONMENT_CACHE_DIR="$TMP/othercache" "$PYRO" env list >"$TMP/out" ||
    fail "env list"
grep -q "^Cache: *$TMP/othercache" "$TMP/out" || fail "env list: no Cache line"
grep -Eq "pyrod boots from .*; this list is $TMP/othercache|predates environment.cache" \
    "$TMP/out" || fail "env list: no line about pyrod's cache: $(cat "$TMP/out")"
"$PYRO" env list --json | jq -e 'has("cache_dir") and has("pyrod_cache")' \
    >/dev/null || fail "env list --json: cache_dir, pyrod_cache"
n=$((n+1)); pass "env list: this cache and pyrod's"

set +e
"$PYRO" workspace status ffffffffffffffff 2>"$TMP/err"; rc=$?
set -e
[ $rc = 1 ] || fail "unknown workspace: exit $rc"
grep -q '(not_found)' "$TMP/err" || fail "unknown workspace: code"
"$PYRO" workspace list | grep -q 'No workspaces' || fail "empty list"
n=$((n+1)); pass "registry commands"

echo "$n passed, 0 failed"
