#!/bin/sh
# PTY shells, services with each readiness kind, and secrets across every
# surface, in a real guest.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
need_guests
start_pyrod
export PYRO_SOCKET="$TMP/pyrod.sock"
n=0
SECRET='pyro-s3cret-Zq81xv'
FILESECRET='file-s3cret-Kt52nw'
printf '%s' "$FILESECRET" >"$TMP/secret.txt"
mkdir "$TMP/seed" && echo seed >"$TMP/seed/s.txt"

# Everything pyro prints in this test goes through out(), so the secret
# check at the end sees all of it.
out() {
	"$@" >"$TMP/out1" 2>>"$TMP/all.err" || { cat "$TMP/out1" >>"$TMP/all.out"; return 1; }
	cat "$TMP/out1" >>"$TMP/all.out"
	cat "$TMP/out1"
}

id=$(out pyro workspace create debian:12 --seed-path "$TMP/seed" \
    --secret "API_KEY=$SECRET" --secret-file "DB_PASS=$TMP/secret.txt") ||
    fail "create: $(cat "$TMP/all.err")"

# Wait until a shell's output (from cursor 0) matches a pattern.
shell_wait() {	# SHELL PATTERN
	for _ in $(seq 100); do
		pyro --json workspace shell read "$id" "$1" --max-chars 1000000 \
		    >"$TMP/sr.json" 2>>"$TMP/all.err" || fail "shell read"
		cat "$TMP/sr.json" >>"$TMP/all.out"
		jq -r .output "$TMP/sr.json" | grep -q "$2" && return 0
		sleep 0.2
	done
	fail "shell $1 never printed $2: $(jq -r .output "$TMP/sr.json")"
}

# ---- shells ----
s1=$(out pyro workspace shell open "$id") || fail "shell open"
s2=$(out pyro workspace shell open "$id" --cwd /etc --cols 80 --rows 24) ||
    fail "second shell"
[ "$s1" != "$s2" ] || fail "two shells, one id"
out pyro workspace shell write "$id" "$s1" --input 'cd /tmp; export X=1' >/dev/null
out pyro workspace shell write "$id" "$s1" --input 'pwd; echo "X is $X"' >/dev/null
shell_wait "$s1" '^X is 1'
clean() { jq -r .output "$TMP/sr.json" | tr -d '\r' |
    sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g'; }
clean | grep -qx '/tmp' || fail "cd /tmp kept: $(clean)"
out pyro workspace shell write "$id" "$s2" --input 'pwd; echo "X2 is [$X]"' >/dev/null
shell_wait "$s2" 'X2 is \[\]'
clean | grep -qx '/etc' || fail "shell 2 cwd: $(clean)"
n=$((n+1)); pass "a shell keeps cwd and variables; two shells are independent"

out pyro workspace shell write "$id" "$s1" --input 'sleep 100' >/dev/null
sleep 1
t0=$(date +%s)
out pyro workspace shell signal "$id" "$s1" --signal INT >/dev/null
# $? of a foreground job killed by SIGINT is 130.
out pyro workspace shell write "$id" "$s1" --input 'echo "sleep ended $?"' >/dev/null
shell_wait "$s1" '^sleep ended 130'
[ $(( $(date +%s) - t0 )) -lt 20 ] || fail "SIGINT took too long"
out pyro workspace shell write "$id" "$s1" --input 'echo "still $X"' >/dev/null
shell_wait "$s1" '^still 1'
cur=$(jq -r .next_cursor "$TMP/sr.json")
out pyro workspace shell write "$id" "$s1" --no-newline --input 'echo par' >/dev/null
out pyro workspace shell write "$id" "$s1" --input 'tial' >/dev/null
sleep 1
pyro --json workspace shell read "$id" "$s1" --cursor "$cur" >"$TMP/sr.json" ||
    fail "cursor read"
cat "$TMP/sr.json" >>"$TMP/all.out"
jq -r .output "$TMP/sr.json" | grep -q '^partial' || fail "--no-newline"
jq -r .output "$TMP/sr.json" | grep -q 'still 1' && fail "cursor ignored"
pyro --json workspace shell read "$id" "$s1" --cursor 0 --max-chars 5 \
    >"$TMP/sr.json" || fail "max-chars"
[ "$(jq -r '.output | length' "$TMP/sr.json")" -le 5 ] &&
    [ "$(jq -r .next_cursor "$TMP/sr.json")" -le 5 ] &&
    [ "$(jq -r .more "$TMP/sr.json")" = true ] || fail "max-chars bound"
n=$((n+1)); pass "SIGINT stops sleep 100 in a shell, which lives on; cursors, --no-newline, --max-chars"

# ---- services ----
out pyro workspace service start "$id" file --ready-file /tmp/f.ready \
    -- sh -c 'sleep 1; touch /tmp/f.ready; exec sleep 600' >/dev/null ||
    fail "ready-file"
cat >"$TMP/seed/srv.pl" <<'EOF'
use IO::Socket::INET;
$| = 1;
my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $ARGV[0],
    Listen => 5, ReuseAddr => 1) or die "listen: $!";
while (my $c = $s->accept) {
	my $line = <$c>;
	next unless defined $line;
	print STDOUT "request: $line";
	# The whole request first: closing with unread bytes sends a reset
	# that can overtake the answer.
	while (my $h = <$c>) { last if $h =~ /^\r?\n$/; }
	print $c "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
	close $c;
}
EOF
out pyro workspace sync push "$id" "$TMP/seed" >/dev/null || fail "push server"
out pyro workspace service start "$id" tcp --ready-tcp 127.0.0.1:8081 \
    -- sh -c 'sleep 1; exec perl srv.pl 8081' >/dev/null || fail "ready-tcp"
out pyro workspace service start "$id" http \
    --ready-http http://127.0.0.1:8082/health --ready-interval-ms 200 \
    -- perl srv.pl 8082 >/dev/null || fail "ready-http"
out pyro workspace service start "$id" incwd --cwd /etc -- sh -c \
    'pwd; exec sleep 600' >/dev/null || fail "service --cwd"
out pyro workspace service start "$id" cmd --ready-command 'test -e /tmp/c.ok' \
    -- sh -c 'sleep 1; touch /tmp/c.ok; exec sleep 600' >/dev/null ||
    fail "ready-command"
for s in file tcp http cmd; do
	[ "$(pyro --json workspace service status "$id" $s | jq -r .state)" = \
	    ready ] || fail "service $s not ready"
done
pyro workspace service logs "$id" incwd | grep -qx /etc || fail "service --cwd"
pyro workspace service logs "$id" http | grep -q 'request: GET /health' ||
    fail "the HTTP check did not reach the service"
set +e
out pyro workspace service start "$id" never --ready-file /never \
    --ready-timeout-seconds 2 -- sleep 600 >/dev/null 2>"$TMP/e"
rc=$?
set -e
[ $rc = 1 ] || fail "never-ready service: exit $rc"
st=$(pyro --json workspace service status "$id" never)
[ "$(echo "$st" | jq -r .state)" = failed ] || fail "never: $st"
echo "$st" | jq -r .reason | grep -q 'did not pass within' || fail "reason"
out pyro workspace service start "$id" crash -- sh -c 'echo dying; exit 7' \
    >/dev/null || fail "crash start"
for _ in $(seq 50); do
	st=$(pyro --json workspace service status "$id" crash)
	[ "$(echo "$st" | jq -r .state)" = exited ] && break
	sleep 0.2
done
[ "$(echo "$st" | jq -r .exit_code)" = 7 ] || fail "crash exit code: $st"
out pyro workspace service start "$id" chatty -- sh -c \
    'for i in $(seq 1 20); do echo "line $i"; done; exec sleep 600' >/dev/null
sleep 1
pyro workspace service logs "$id" chatty --tail-lines 5 >"$TMP/logs"
[ "$(cat "$TMP/logs")" = "$(seq 16 20 | sed 's/^/line /')" ] ||
    fail "tail-lines 5: $(cat "$TMP/logs")"
pyro --json workspace service list "$id" | jq -r '.services[].service_name' |
    sort | tr '\n' ' ' | grep -q '^chatty cmd crash file http incwd never tcp $' ||
    fail "service list"
out pyro workspace service stop "$id" chatty | grep -q 'stopped' ||
    fail "service stop"
pyro workspace exec "$id" -- sh -c 'ls /run/pyro/services/chatty.log &&
    ! ls /workspace | grep -q log' >/dev/null || fail "service logs location"
n=$((n+1)); pass "services: file, tcp, http, command readiness; failed readiness; exit code; tail; stop"

# ---- secrets through every surface ----
[ "$(pyro workspace exec "$id" -- stat -c '%a %U' /run/pyro-secrets/API_KEY)" = \
    '400 root' ] || fail "secret file mode"
pyro workspace exec "$id" -- sh -c '[ "$(cat /run/pyro-secrets/API_KEY)" = "$1" ] &&
    [ "$(cat /run/pyro-secrets/DB_PASS)" = "$2" ]' sh "$SECRET" "$FILESECRET" ||
    fail "the guest does not see the secrets"
[ "$(out pyro workspace exec "$id" --secret-env API_KEY=K -- sh -c 'echo "k=$K"')" = \
    "k=[REDACTED]" ] || fail "exec secret-env"
pyro workspace exec "$id" --secret-env API_KEY=K -- sh -c '[ "$K" = "$1" ]' sh \
    "$SECRET" || fail "exec secret-env value"
out pyro workspace exec "$id" -- sh -c 'cat /run/pyro-secrets/API_KEY >leak.txt;
    cat /run/pyro-secrets/DB_PASS; echo; echo "split ${1}"' sh "$SECRET" >/dev/null
s3=$(out pyro workspace shell open "$id" --secret-env DB_PASS) || fail "shell secret"
out pyro workspace shell write "$id" "$s3" --input 'echo "db=$DB_PASS"' >/dev/null
shell_wait "$s3" 'db=\[REDACTED\]'
out pyro workspace service start "$id" leaky --secret-env API_KEY -- sh -c \
    'echo "svc $API_KEY"; exec sleep 600' >/dev/null
sleep 1
out pyro workspace service logs "$id" leaky | grep -q 'svc \[REDACTED\]' ||
    fail "service log redaction"
out pyro --json workspace diff "$id" >/dev/null
out pyro workspace diff "$id" | grep -q '^+\[REDACTED\]' || fail "diff redaction"
out pyro workspace export "$id" . --output "$TMP/export" >/dev/null
out pyro workspace snapshot create "$id" withsecret >/dev/null
out pyro --json workspace status "$id" >/dev/null
out pyro --json workspace logs "$id" >/dev/null
out pyro workspace logs "$id" >/dev/null
[ -f "$TMP/export/leak.txt" ] || fail "export lacks leak.txt"
for s in "$SECRET" "$FILESECRET"; do
	grep -rqa -- "$s" "$TMP/all.out" "$TMP/all.err" && fail "secret in output"
	grep -rqa -- "$s" "$TMP/export" && fail "secret in the export"
	grep -qa -- "$s" "$TMP/pyrod.log" && fail "secret in pyrod's log"
	# The disk holds what the guest itself wrote (leak.txt); everything
	# pyro writes is checked (the disk's scrub is the 3.1.0 disk tools').
	grep -rla -- "$s" "$TMP/state" | grep -v '/secret-[A-Z_]*$' |
	    grep -v '/rootfs.ext4$' && fail "secret in a state file"
	grep -rla -- "$s" "$TMP/state" | grep -q '/secret-' ||
	    fail "the secret is not in the secrets file"
done
[ "$(stat -c %a "$TMP/state/workspaces/$id/secret-API_KEY")" = 600 ] ||
    fail "secret file mode on the host"
n=$((n+1)); pass "secrets: in the guest and via --secret-env; never in output, logs, state, diff, export"

out pyro workspace delete "$id" >/dev/null
[ "$(qemus)" = 0 ] || fail "QEMU left"
echo "$n passed, 0 failed"
