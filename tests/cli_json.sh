#!/bin/sh
# --json against real guests: for every command that has a result, --json
# before and after the operands gives exactly one JSON document on stdout
# and nothing else (a command's output is inside it).  One workspace and
# a few VM records are reused across the commands.  Also: the command
# rule (one word is a sh -lc command line), python3 in debian:12, and
# docs/integrations.md's CLI block run verbatim.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
need_guests
command -v jq >/dev/null || fail "jq is missing (apt-get install jq)"
start_pyrod
export PYRO_SOCKET="$TMP/pyrod.sock"
n=0

# One JSON document and nothing else: json.loads refuses "Extra data".
one_doc() {
	python3 -c 'import json, sys; json.loads(sys.stdin.read())' <"$1" ||
	    fail "$2: not exactly one JSON document: $(head -c 400 "$1")"
}
# j FORM CMD...: pyro with --json before the command or after its
# operands (before "--" when there is one); stdout checked, kept in $TMP/j.
j() {
	form=$1
	shift
	if [ "$form" = before ]; then
		set -- --json "$@"
	else
		k=$#
		seen=0
		for a in "$@"; do
			if [ $seen = 0 ] && [ "$a" = -- ]; then
				set -- "$@" --json
				seen=1
			fi
			set -- "$@" "$a"
		done
		shift "$k"
		[ $seen = 1 ] || set -- "$@" --json
	fi
	pyro "$@" >"$TMP/j" 2>>"$TMP/all.err" || fail "pyro $*: exit $?"
	one_doc "$TMP/j" "pyro $*"
}
# Both forms of one command line.
jj() {
	j before "$@"
	j after "$@"
	tested=$((tested + 1))
}
tested=0
skipped=0

mkdir -p "$TMP/src"
echo 'hello' >"$TMP/src/hello.txt"

# --- the VM commands ---
j before vm create debian:12
vm=$(jq -r '.vm_id // .id' "$TMP/j")
j after vm create debian:12 --ttl-seconds 300
vm2=$(jq -r '.vm_id // .id' "$TMP/j")
tested=$((tested + 1))
j before vm start "$vm"
j after vm start "$vm2"
tested=$((tested + 1))
jj vm status "$vm"
jq -e '(.vm_id // .id) != null' "$TMP/j" >/dev/null || fail "vm status: no id"
jj vm network-info "$vm"
jj vm list
jj vm reap-expired
j before vm exec "$vm" -- 'echo one && echo two'
[ "$(jq -r .stdout "$TMP/j")" = "one
two" ] || fail "vm exec, one string: $(cat "$TMP/j")"
j after vm exec "$vm2" -- echo argv words
[ "$(jq -r .stdout "$TMP/j")" = "argv words" ] || fail "vm exec argv"
tested=$((tested + 1))
for form in before after; do
	j before vm create debian:12
	v=$(jq -r '.vm_id // .id' "$TMP/j")
	j before vm start "$v"
	j $form vm stop "$v"
	j $form vm delete "$v"
done
tested=$((tested + 2))
n=$((n+1)); pass "vm commands: one JSON document each, --json before and after"

# --- run, demo, env, doctor ---
jj run debian:12 -- 'echo a && echo b'
[ "$(jq -r .stdout "$TMP/j")" = "a
b" ] || fail "run, one string with &&: $(cat "$TMP/j")"
jq -e '.exit_code == 0 and .stderr == ""' "$TMP/j" >/dev/null || fail "run json"
pyro run debian:12 -- 'echo a && echo b' >"$TMP/out" 2>"$TMP/err" ||
    fail "run one string: $(cat "$TMP/err")"
[ "$(cat "$TMP/out")" = "a
b" ] || fail "run one string: $(cat "$TMP/out")"
pyro run debian:12 -- sh -c 'echo "$0"' 'x && y' >"$TMP/out" ||
    fail "run argv"
[ "$(cat "$TMP/out")" = "x && y" ] || fail "argv not kept: $(cat "$TMP/out")"
jj demo
jq -e '.cleanup.deleted == true and .cleanup.reason == "post_exec_cleanup"
    and (.cleanup.vm_id | length) > 0 and .exit_code == 0' "$TMP/j" \
    >/dev/null || fail "demo cleanup: $(cat "$TMP/j")"
jj doctor
jj status
jq -e '.memory_mib.limit > 0 and (.cgroups | has("ok"))' "$TMP/j" \
    >/dev/null || fail "status: $(cat "$TMP/j")"
jj env list
jj env inspect debian:12
mkdir -p "$TMP/empty"
PYRO_ENVIRONMENT_CACHE_DIR="$TMP/empty" jj env prune
jj env templates
jq -e '.warm_start == "on" and (.templates | type) == "array"' "$TMP/j" \
    >/dev/null || fail "env templates: $(cat "$TMP/j")"
agent=$(sha256sum "$PYRO_BUILDDIR/pyro-agent" | cut -d' ' -f1)
if grep -q "\"agent_sha256\":\"$agent\"" \
    "$PYRO_TEST_ENV_CACHE/debian:12/manifest.json"; then
	PYRO_LIBEXECDIR="$PYRO_BUILDDIR" jj env pull debian:12
	jq -e '.up_to_date == true and .built == false' "$TMP/j" >/dev/null ||
	    fail "env pull of the test environment: $(cat "$TMP/j")"
else
	# A rebuild is minutes of debootstrap: tests/cli.sh covers pull.
	echo "note: the test cache predates this pyro-agent; env pull skipped"
	skipped=1
fi
n=$((n+1)); pass "run, demo, doctor, status, env: one JSON document each; run's one-string command"

# --- python3 in debian:12, as agents use it ---
[ "$(pyro run debian:12 -- python3 -c 'print(6 * 7)' 2>/dev/null)" = 42 ] ||
    fail "debian:12 has no python3 (rebuild the test environments: scripts/test-envs.sh)"
pyro run debian:12-base -- sh -c 'command -v python3' >/dev/null 2>&1 &&
    fail "debian:12-base should stay minimal"
n=$((n+1)); pass "python3 in debian:12, not in debian:12-base"

# --- the workspace commands, on one workspace ---
j before workspace create debian:12 --seed-path "$TMP/src"
ws=$(jq -r .workspace_id "$TMP/j")
j after workspace create debian:12
ws2=$(jq -r .workspace_id "$TMP/j")
tested=$((tested + 1))
jj workspace list
jj workspace status "$ws"
jj workspace exec "$ws" -- 'cat hello.txt && echo done'
[ "$(jq -r .stdout "$TMP/j")" = "hello
done" ] || fail "workspace exec --json: $(cat "$TMP/j")"
jj workspace sync push "$ws" "$TMP/src" --dest /workspace/sub
jj workspace diff "$ws"
j before workspace export "$ws" hello.txt --output "$TMP/e1"
j after workspace export "$ws" hello.txt --output "$TMP/e2"
tested=$((tested + 1))
j before workspace snapshot create "$ws" s1
j after workspace snapshot create "$ws" s2
tested=$((tested + 1))
jj workspace snapshot list "$ws"
j before workspace snapshot delete "$ws" s1
j after workspace snapshot delete "$ws" s2
tested=$((tested + 1))
j before workspace shell open "$ws"
sh1=$(jq -r .shell_id "$TMP/j")
j after workspace shell open "$ws" --cols 80
sh2=$(jq -r .shell_id "$TMP/j")
tested=$((tested + 1))
jj workspace shell write "$ws" "$sh1" --input 'echo hi'
jj workspace shell read "$ws" "$sh1"
jj workspace shell signal "$ws" "$sh1" --signal INT
j before workspace shell close "$ws" "$sh1"
j after workspace shell close "$ws" "$sh2"
tested=$((tested + 1))
j before workspace service start "$ws" web --ready-file /tmp/r -- \
    'touch /tmp/r && exec sleep 600'
j after workspace service start "$ws" web2 -- sleep 600
tested=$((tested + 1))
jj workspace service list "$ws"
jj workspace service status "$ws" web
jj workspace service logs "$ws" web
j before workspace service stop "$ws" web
j after workspace service stop "$ws" web2
tested=$((tested + 1))
jj workspace logs "$ws"
# History keeps the argv; people see it quoted as a shell would read it.
pyro workspace exec "$ws" -- sh -c 'echo "quoted words"' >/dev/null
pyro --json workspace logs "$ws" >"$TMP/logs.json"
if jq -e '.history[-1].argv' "$TMP/logs.json" >/dev/null; then
	pyro workspace logs "$ws" | grep -qF "sh -c 'echo \"quoted words\"'" ||
	    fail "history without its quoting: $(pyro workspace logs "$ws")"
fi
j before workspace reset "$ws"
j after workspace reset "$ws2"
tested=$((tested + 1))
j before workspace stop "$ws"
j after workspace stop "$ws2"
tested=$((tested + 1))
jj workspace disk list "$ws"
jj workspace disk read "$ws" hello.txt
jq -e '.content == "hello\n" and .encoding == "utf-8"' "$TMP/j" >/dev/null ||
    fail "disk read --json: $(cat "$TMP/j")"
j before workspace disk export "$ws" --output "$TMP/d1.ext4"
j after workspace disk export "$ws" --output "$TMP/d2.ext4"
tested=$((tested + 1))
j before workspace start "$ws"
j after workspace start "$ws2"
tested=$((tested + 1))
j before workspace fork "$ws"
jq -e --arg s "$ws" '.forked_from == $s and .state == "running"' "$TMP/j" \
    >/dev/null || fail "workspace fork --json: $(cat "$TMP/j")"
pyro workspace delete "$(jq -r .workspace_id "$TMP/j")" >/dev/null
j after workspace fork "$ws2"
pyro workspace delete "$(jq -r .workspace_id "$TMP/j")" >/dev/null
tested=$((tested + 1))
# Progress of long work: plain phase lines with the totals when stderr
# is not a terminal; one updating line on a terminal (script(1) gives the
# command a PTY); nothing on stderr with --json.
pyro workspace sync push "$ws" "$TMP/src" --dest /workspace/p1 \
    >/dev/null 2>"$TMP/perr" || fail "push: $(cat "$TMP/perr")"
grep -Eq '^\[push\] phase=send bytes=[0-9]+ files=[0-9]+$' "$TMP/perr" ||
    fail "plain progress lines: $(cat "$TMP/perr")"
script -qec "pyro workspace sync push $ws $TMP/src --dest /workspace/p2" \
    /dev/null >"$TMP/ptty" 2>&1 || fail "push on a terminal: $(cat "$TMP/ptty")"
grep -Eq '\[push\] send: .* of .*, [0-9]+ of [0-9]+ files' "$TMP/ptty" ||
    fail "terminal progress line: $(cat -v "$TMP/ptty")"
pyro --json workspace sync push "$ws" "$TMP/src" --dest /workspace/p3 \
    >"$TMP/j" 2>"$TMP/perr" || fail "push --json"
[ ! -s "$TMP/perr" ] || fail "--json push wrote to stderr: $(cat "$TMP/perr")"
n=$((n+1)); pass "progress: phase lines, a terminal line, nothing with --json"
j before workspace delete "$ws2"
j after workspace delete "$ws"
tested=$((tested + 1))
n=$((n+1)); pass "workspace commands: one JSON document each"

# --- the integrations block, verbatim ---
mkdir -p "$TMP/int/src"
cat >"$TMP/int/src/test.py" <<'PY'
print("ran the tests")
PY
sed -n '/^<!-- integrations-cli -->$/,/^<!-- \/integrations-cli -->$/p' \
    "$PYRO_SRCDIR/docs/integrations.md" | sed '1,2d;$d' | sed '$d' \
    >"$TMP/int/block.sh"
[ "$(wc -l <"$TMP/int/block.sh")" -ge 3 ] || fail "no integrations block"
(cd "$TMP/int" && sh -eu block.sh) >"$TMP/int/out" 2>>"$TMP/all.err" ||
    fail "docs/integrations.md block: $(cat "$TMP/int/out")"
[ "$(sed -n 1p "$TMP/int/out")" = 0 ] &&
    [ "$(sed -n 2p "$TMP/int/out")" = "ran the tests" ] ||
    fail "docs/integrations.md block printed: $(cat "$TMP/int/out")"
n=$((n+1)); pass "docs/integrations.md's CLI block runs verbatim"

# Every command of pyro help --commands that has a result was covered.
total=$(pyro help --commands | grep -cv '^mcp serve$\|^demo ollama$\|^env build$\|^env push$\|^env import$\|^env warm$')
# env build and env pull's rebuild are minutes of debootstrap: left to
# scripts/test-envs.sh; env pull is covered when the test cache is current;
# env push and env import need a registry: tests/oci.sh runs them; env
# warm boots and saves a template: tests/warm.sh runs it.
[ $tested -eq $((total - skipped)) ] ||
    fail "$tested of $total commands tested ($skipped skipped)"
echo "$n passed, 0 failed ($tested commands, --json before and after)"
