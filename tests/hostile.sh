#!/bin/sh
# A hostile guest, for real: a guest that replaced its own tar sends an
# export that links out of the output directory; file names and file text
# that would forge lines or drive the terminal; JSON-looking text that
# once stopped diff and disk list; a full disk under diff.  Nothing outside
# the output may change, and human output must be escaped.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
need_guests
start_pyrod
export PYRO_SOCKET="$TMP/pyrod.sock"
n=0
ESC=$(printf '\033')

# A file the export must not touch, with a fixed mode and mtime.
victim="$TMP/victim"
echo 'host secret' >"$victim"
chmod 0600 "$victim"
touch -d '2001-02-03 04:05:06' "$victim"
look() { stat -c '%a %u %g %Y %s %h' "$victim"; sha256sum <"$victim"; }
before=$(look)

# Hostile export streams, made on the host: top/evil as a symlink to the
# victim (absolute, then relative), then top/evil again as a directory
# (mode 0777) or a file; a linked directory with a file beneath it.
mkdir "$TMP/seed"
python3 - "$TMP/seed" "$victim" <<'PY'
import io, os, sys, tarfile
seed, victim = sys.argv[1], sys.argv[2]
def tar(name, members):
    with tarfile.open(os.path.join(seed, name), "w", format=tarfile.GNU_FORMAT) as t:
        for kind, path, arg, mode in members:
            i = tarfile.TarInfo(path)
            i.mode = mode
            if kind == "d":
                i.type = tarfile.DIRTYPE
                t.addfile(i)
            elif kind == "l":
                i.type = tarfile.SYMTYPE
                i.linkname = arg
                t.addfile(i)
            elif kind == "h":
                i.type = tarfile.LNKTYPE
                i.linkname = arg
                t.addfile(i)
            else:
                data = arg.encode()
                i.size = len(data)
                t.addfile(i, io.BytesIO(data))
rel = "../../" + "../" * victim.count("/") + victim.lstrip("/")
for n, target in (("abs", victim), ("rel", rel)):
    tar(n + "-dir.tar", [("d", "top", None, 0o755), ("l", "top/evil", target, 0o777),
                         ("d", "top/evil", None, 0o777)])
    tar(n + "-file.tar", [("d", "top", None, 0o755), ("l", "top/evil", target, 0o777),
                          ("f", "top/evil", "pwned\n", 0o777)])
    tar(n + "-beneath.tar", [("d", "top", None, 0o755),
                             ("l", "top/d", os.path.dirname(target) or ".", 0o777),
                             ("f", "top/d/victim", "pwned\n", 0o666)])
    tar(n + "-hardlink.tar", [("d", "top", None, 0o755), ("l", "top/l", target, 0o777),
                              ("h", "top/h", "top/l", 0o644)])
PY
id=$(pyro workspace create debian:12 --seed-path "$TMP/seed" 2>"$TMP/err") ||
    fail "create: $(cat "$TMP/err")"

# The guest replaces its tar: every export now sends one crafted archive.
pyro workspace exec "$id" -- sh -c 'cp /usr/bin/tar /usr/bin/tar.real' ||
    fail "save tar"
for t in abs-dir abs-file abs-beneath abs-hardlink rel-dir rel-file \
    rel-beneath rel-hardlink; do
	pyro workspace exec "$id" -- sh -c "cp /workspace/$t.tar /tmp/evil.tar &&
	    printf '#!/bin/sh\\ncat /tmp/evil.tar\\n' >/usr/bin/tar &&
	    chmod 755 /usr/bin/tar" || fail "$t: set up"
	expect_error invalid_archive pyro workspace export "$id" . \
	    --output "$TMP/out-$t"
	[ "$(look)" = "$before" ] || fail "$t: the victim changed: $(look)"
	[ ! -e "$TMP/out-$t" ] || fail "$t: an output was left"
	ls -a "$TMP" | grep -q '^\.pyro-export-' && fail "$t: temp dir left"
	n=$((n + 1))
done
pass "8 hostile export streams refused; the host file kept mode, owner, times, content"
pyro workspace exec "$id" -- sh -c 'mv /usr/bin/tar.real /usr/bin/tar' ||
    fail "restore tar"

# Names and text that would forge lines or drive the terminal; text that
# looks like a JSON escape for NUL.
pyro workspace exec "$id" -- sh -c '
	printf "x" >"$(printf "a\n9 added, 9 modified, 9 deleted")"
	printf "x" >"$(printf "t\033]0;pwned\007")"
	printf "\033[2J\033]0;title\007clear\n" >escapes.txt
	printf "{\"a\": \"\\\\u0000\"}\n" >nul.json
	printf "x" >"x\\u0000y"
	rm -f *.tar' || fail "write names"
pyro workspace diff "$id" >"$TMP/diff" 2>"$TMP/err" ||
    fail "diff: $(cat "$TMP/err")"
grep -q "$ESC" "$TMP/diff" && fail "diff printed a raw ESC"
[ "$(grep -c '^[0-9]* added, ' "$TMP/diff")" = 1 ] ||
    fail "diff: a forged summary line: $(cat "$TMP/diff")"
grep -q '^5 added, 0 modified, 8 deleted$' "$TMP/diff" ||
    fail "diff summary: $(tail -n 3 "$TMP/diff")"
grep -Fq 'A a\n9 added' "$TMP/diff" || fail "newline not escaped: $(cat "$TMP/diff")"
grep -Fq '\x1b]0;pwned\x07' "$TMP/diff" || fail "ESC not escaped"
grep -Fq 'x\\u0000y' "$TMP/diff" || fail "backslash name: $(cat "$TMP/diff")"
pyro --json workspace diff "$id" >"$TMP/diff.json" || fail "diff --json"
jq -e '.files[] | select(.path == "x\\u0000y")' "$TMP/diff.json" >/dev/null ||
    fail "diff --json lost the name x\\u0000y"
jq -e '.files[] | select(.path == "nul.json") | .diff | contains("\\u0000")' \
    "$TMP/diff.json" >/dev/null || fail "diff --json lost the text"
n=$((n + 1))
pass "diff: guest names and text escaped on the terminal, exact in JSON"

# A literal backslash-u0000 is six characters, not a NUL.
out=$(pyro workspace exec "$id" -- echo 'C:\u0000dir') ||
    fail "exec with a literal \\u0000"
[ "$out" = 'C:\u0000dir' ] || fail "exec printed $out"
n=$((n + 1))
pass "exec of 'C:\\u0000dir' runs and prints it"

# A full disk: diff still reports what filled it.
pyro workspace exec "$id" --timeout-seconds 300 -- sh -c \
    'dd if=/dev/zero of=/workspace/fill bs=1M 2>/dev/null; sync; df -k / | tail -n 1' \
    >"$TMP/df" 2>&1 || true
pyro workspace diff "$id" >"$TMP/diff" 2>"$TMP/err" ||
    fail "diff on a full disk: $(cat "$TMP/err"; cat "$TMP/df"; pyro workspace status "$id" --json | jq -c .last_event)"
grep -q '^A fill' "$TMP/diff" || fail "diff on a full disk: $(cat "$TMP/diff")"
pyro workspace exec "$id" -- rm -f /workspace/fill
n=$((n + 1))
pass "diff works on a full guest disk (scratch on tmpfs)"

# A refusal worded by a guest-side check reads as one message.
pyro workspace exec "$id" -- ln -s /etc /workspace/ln || fail "ln"
expect_error invalid_path pyro workspace export "$id" ln/passwd \
    --output "$TMP/o"
grep -q 'pyro: pyro:' "$TMP/xe" && fail "doubled prefix: $(cat "$TMP/xe")"
grep -q '^pyro: /workspace/ln/passwd leads outside /workspace' "$TMP/xe" ||
    fail "export through a link: $(cat "$TMP/xe")"
n=$((n + 1))
pass "a guest-side refusal reads 'pyro: PATH leads outside /workspace'"

# disk list of the stopped disk: the same names, escaped.
pyro workspace stop "$id" >/dev/null 2>&1 || fail "stop"
pyro workspace disk list "$id" >"$TMP/ls" 2>"$TMP/err" ||
    fail "disk list: $(cat "$TMP/err")"
grep -q "$ESC" "$TMP/ls" && fail "disk list printed a raw ESC"
grep -q '^9 added' "$TMP/ls" && fail "disk list: a forged line"
grep -Fq 'a\n9 added' "$TMP/ls" || fail "disk list: $(cat "$TMP/ls")"
pyro --json workspace disk list "$id" >"$TMP/ls.json" || fail "disk list --json"
jq -e '.entries[] | select(.path == "x\\u0000y")' "$TMP/ls.json" >/dev/null ||
    fail "disk list --json lost x\\u0000y"
n=$((n + 1))
pass "disk list: guest names escaped on the terminal, exact in JSON"
pyro workspace delete "$id" >/dev/null || fail "delete"
echo "$n passed, 0 failed"
