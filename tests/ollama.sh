#!/bin/sh
# pyro demo ollama against a scripted chat server on 127.0.0.1 that speaks
# Ollama's /api/chat (no model can run here): its first answer is a
# recorded vm_run tool call, its second reads the tool result back.  The
# tool call runs in a real guest.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
need_guests
command -v python3 >/dev/null || fail "python3 plays the chat server"
n=0

# No server at all: a clear error, exit 1, and no pyrod needed for it.
set +e
"$PYRO" demo ollama --url http://127.0.0.1:9 >"$TMP/o" 2>"$TMP/e"
rc=$?
set -e
[ $rc = 1 ] && grep -q 'no Ollama server answers at http://127.0.0.1:9' "$TMP/e" ||
    fail "no server: exit $rc: $(cat "$TMP/e")"
n=$((n+1)); pass "no Ollama server: a clear error"

start_pyrod
export PYRO_SOCKET="$TMP/pyrod.sock"
cat >"$TMP/chat.py" <<'PY'
import http.server, json, sys
log = open(sys.argv[2], "a")
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        log.write(json.dumps(req) + "\n"); log.flush()
        tool = [m for m in req["messages"] if m["role"] == "tool"]
        if not tool:
            msg = {"role": "assistant", "content": "",
                   "tool_calls": [{"function": {"name": "vm_run",
                       "arguments": {"command": "uname -r"}}}]}
        else:
            out = json.loads(tool[-1]["content"])["output"].strip()
            msg = {"role": "assistant",
                   "content": "The sandbox runs kernel " + out + "."}
        body = json.dumps({"model": req["model"], "message": msg,
                           "done": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
python3 "$TMP/chat.py" "$TMP/port" "$TMP/requests" &
chat=$!
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
port=$(cat "$TMP/port")
"$PYRO" demo ollama --url "http://127.0.0.1:$port" --model test-model \
    >"$TMP/o" 2>"$TMP/e" || { kill $chat; fail "demo: $(cat "$TMP/e")"; }
kill $chat
cat "$TMP/o"
grep -q '^\[tool\] vm_run: uname -r$' "$TMP/o" || fail "no tool call"
grep -q '^\[tool\] exit_code=0 output:$' "$TMP/o" || fail "no tool result"
kernel=$(sed -n '/^\[tool\] exit_code=0 output:$/{n;p}' "$TMP/o")
echo "$kernel" | grep -Eq '^[0-9]+\.[0-9]+' || fail "kernel: $kernel"
grep -q "^\[assistant\] The sandbox runs kernel $kernel\.$" "$TMP/o" ||
    fail "the answer does not carry the guest's output"
grep -q '^\[done\] 2 turn(s)$' "$TMP/o" || fail "turns"
head -n 1 "$TMP/requests" | jq -e '.model == "test-model" and
    .tools[0].function.name == "vm_run" and .stream == false' >/dev/null ||
    fail "the request: $(head -n 1 "$TMP/requests")"
[ "$(ls "$TMP/state/vms" | wc -l)" = 0 ] && [ "$(qemus)" = 0 ] ||
    fail "a VM was left"
n=$((n+1)); pass "a scripted model's vm_run call runs in a guest; its output goes back"
echo "$n passed, 0 failed"
