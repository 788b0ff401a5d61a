#!/bin/sh
# Fairness and admission (docs/reliability.md): one uid holding half-written
# frames on hundreds of connections cannot lock out another uid, and gets
# too_many_clients frames it can read; a frame left unfinished is closed
# after frame_timeout_seconds; limits out of range stop pyrod at start with
# the key named; with guests, requests over a budget get
# resources_exhausted with their numbers before anything boots.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for pyrod"; exit 77; }
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) ||
    { echo "SKIP: needs python3"; exit 77; }
command -v setpriv >/dev/null || { echo "SKIP: needs setpriv"; exit 77; }
n=0
nobody_group=$(getent group 65534 | cut -d: -f1)
[ -n "$nobody_group" ] || { echo "SKIP: no group 65534"; exit 77; }

# A raw client: connect to SOCK, send REQ (a JSON text, framed), print the
# reply frames (events skipped) as JSON lines.
cat >"$TMP/ctl.py" <<'PY'
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
for req in sys.argv[2:]:
    b = req.encode()
    s.sendall(struct.pack(">I", len(b)) + b)
def frame():
    h = b""
    while len(h) < 4:
        c = s.recv(4 - len(h))
        if not c:
            sys.exit("connection closed")
        h += c
    need, d = struct.unpack(">I", h)[0], b""
    while len(d) < need:
        d += s.recv(need - len(d))
    return json.loads(d)
left = len(sys.argv) - 2
while left:
    f = frame()
    if "event" not in f:
        print(json.dumps(f))
        left -= 1
PY

# The hog: N connections from this uid, each with 2 bytes of a 4-byte
# length; it reports how many pyrod kept and what the others were told,
# then holds the kept ones until it is killed.
cat >"$TMP/hog.py" <<'PY'
import json, select, socket, struct, sys, time
path, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks = []
for _ in range(count):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    try:
        s.send(b"\0\0")
    except OSError:
        pass
    socks.append(s)
codes, msgs, kept = {}, set(), []
deadline = time.time() + 5
pending = list(socks)
while pending and time.time() < deadline:
    r, _, _ = select.select(pending, [], [], 1.0)
    if not r:
        break
    for s in r:
        pending.remove(s)
        data = b""
        while True:
            try:
                c = s.recv(4096)
            except OSError:
                break
            if not c:
                break
            data += c
        if len(data) >= 4:
            f = json.loads(data[4:4 + struct.unpack(">I", data[:4])[0]])
            code = f["error"]["code"]
            msgs.add(f["error"]["message"])
        else:
            code = "closed"
        codes[code] = codes.get(code, 0) + 1
kept = len(pending)
with open(out + ".tmp", "w") as f:
    json.dump({"kept": kept, "codes": codes, "messages": sorted(msgs)}, f)
import os
os.rename(out + ".tmp", out)
time.sleep(120)
PY

# A frame left half-written is closed after frame_timeout_seconds with a
# frame that says why; a connection with no partial frame stays open.
cat >"$TMP/stall.py" <<'PY'
import json, socket, struct, sys, time
path = sys.argv[1]
idle = socket.socket(socket.AF_UNIX)
idle.connect(path)
half = socket.socket(socket.AF_UNIX)
half.connect(path)
half.sendall(b"\0\0")
t0 = time.time()
half.settimeout(8)
data = b""
try:
    while True:
        c = half.recv(4096)
        if not c:
            break
        data += c
except socket.timeout:
    sys.exit("the half frame was not closed within 8 s")
took = time.time() - t0
f = json.loads(data[4:])
# The idle connection, silent for longer than the timeout, still works.
req = b'{"id":7,"op":"vm.list"}'
idle.sendall(struct.pack(">I", len(req)) + req)
h = idle.recv(4)
reply = json.loads(idle.recv(struct.unpack(">I", h)[0]))
print(json.dumps({"took": took, "code": f["error"]["code"],
    "message": f["error"]["message"], "idle_ok": reply.get("ok")}))
PY

restart_pyrod() {	# CONF-TEXT, then start_pyrod's flags
	if [ -n "$PYROD_PID" ]; then
		kill "$PYROD_PID"; wait "$PYROD_PID" 2>/dev/null || true
		PYROD_PID=
		rm -f "$TMP/pyrod.sock"
	fi
	printf '%s\n' "$1" >"$TMP/pyrod.conf"
	shift
	start_pyrod -f "$TMP/pyrod.conf" "$@"
}

# --- bad values stop pyrod at start, naming the key -----------------------
mem_mib=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
while IFS='|' read -r line want; do
	printf '%s\n' "$line" >"$TMP/bad.conf"
	set +e
	"$PYRO_BUILDDIR/pyrod" -d -f "$TMP/bad.conf" --socket "$TMP/bad.sock" \
	    --state-dir "$TMP/badstate" 2>"$TMP/bad.log"
	rc=$?
	set -e
	[ $rc = 1 ] || fail "\"$line\": pyrod exit $rc, want 1"
	grep -q -- "$want" "$TMP/bad.log" ||
	    fail "\"$line\": wanted \"$want\" in: $(cat "$TMP/bad.log")"
done <<EOF
max_clients_per_uid = 0|max_clients_per_uid must be a whole number from 1
max_requests_per_uid = -1|max_requests_per_uid must be a whole number
frame_timeout_seconds = 0|frame_timeout_seconds must be
memory_budget_mib = 0|memory_budget_mib must be a whole number from 128
memory_budget_mib = $((mem_mib + 1))|memory_budget_mib must be a whole number from 128 to $mem_mib (the host's memory)
max_running_vms = 0|max_running_vms must be
max_workspaces_per_uid = 0|max_workspaces_per_uid must be
snapshot_budget_kib = 0|snapshot_budget_kib must be
snapshot_budget_kib = 4G|snapshot_budget_kib must be a whole number
vcpu_overcommit = 0|vcpu_overcommit must be a number above 0
vcpu_overcommit = 1000|vcpu_overcommit must be a number above 0 and at most 64
vcpu_overcommit = -2|vcpu_overcommit must be
max_clients = 100000|max_clients must be a whole number from 1 to 4096
max_clients_per_uid = 300|max_clients_per_uid (300) is more than max_clients (256)
vmm_memory_overhead_mib = 0|vmm_memory_overhead_mib must be a whole number from 16
vmm_page_cache_mib = -5|vmm_page_cache_mib is auto or 0 to
network_dns_qps = 0|network_dns_qps must be a whole number from 1
network_pool = 10.0.0.0/30|network_pool must be an IPv4 CIDR from /8 to /29
network_pool = 10.0.0.0|network_pool must be an IPv4 CIDR
network_block = |network_block is "none" or up to 16
network_block = 10.0.0.0/33|network_block is "none"
network_dns = 1.2.3|network_dns is up to 4 IPv4 addresses
network_proxy_mark = 3|network_proxy_mark is one bit
network_ip_forward = yes|network_ip_forward is enable or leave
publish_address = localhost|publish_address is an IPv4 address
cgroups = maybe|cgroups is auto, require or off
EOF
n=$((n+1)); pass "26 out-of-range limits and network or cgroup settings stop pyrod at start, naming the key"

# --- a half frame is closed after frame_timeout_seconds ----------------------
restart_pyrod "frame_timeout_seconds = 1
max_requests_per_uid = 1"
timeout 20 "$PY" "$TMP/stall.py" "$TMP/pyrod.sock" >"$TMP/stall.json" ||
    fail "stall: $(cat "$TMP/stall.json")"
jq -e '.code == "timeout" and .took >= 0.8 and .took < 4 and
    (.message | test("unfinished for 1 s")) and .idle_ok == true' \
    "$TMP/stall.json" >/dev/null || fail "stall: $(cat "$TMP/stall.json")"
n=$((n+1)); pass "a half frame is closed after 1 s ($(jq -r '.took * 1000 | floor' \
    "$TMP/stall.json") ms) with a timeout frame; an idle connection stays"

# Requests in flight per uid: a doctor (it waits for two helpers) and a
# vm.list in one write; the second is over max_requests_per_uid = 1.
timeout 30 "$PY" "$TMP/ctl.py" "$TMP/pyrod.sock" '{"id":1,"op":"doctor"}' \
    '{"id":2,"op":"vm.list"}' >"$TMP/inflight.json" ||
    fail "in flight: $(cat "$TMP/inflight.json")"
jq -se '(.[] | select(.id == 2) | .error.code == "limit_exceeded" and
    (.error.message | test("uid 0 has 1 requests in flight, the limit per uid is 1"))) and
    (.[] | select(.id == 1) | .ok)' "$TMP/inflight.json" >/dev/null ||
    fail "in flight: $(cat "$TMP/inflight.json")"
n=$((n+1)); pass "a uid's requests in flight are capped across the connection"

# --- 300 half frames from root do not lock out uid 65534 ---------------------
# uid 65534 is authorized through its group; the socket and the way to it
# must be open to it.
restart_pyrod "frame_timeout_seconds = 120" --group "$nobody_group" \
    --socket-mode 0666
chmod 0755 "$TMP"
"$PY" "$TMP/hog.py" "$TMP/pyrod.sock" 300 "$TMP/hog.json" &
hog=$!
trap 'kill "$hog" 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 200); do
	[ -f "$TMP/hog.json" ] && break
	kill -0 "$hog" 2>/dev/null || fail "the hog died"
	sleep 0.1
done
[ -f "$TMP/hog.json" ] || fail "the hog did not report"
jq -e '.kept == 128 and .codes.too_many_clients == 172 and
    (.messages | length) == 1 and (.messages[0] == "uid 0 has 128 connections, the limit per uid is 128; close some or raise max_clients_root in pyrod.conf")' \
    "$TMP/hog.json" >/dev/null || fail "hog: $(cat "$TMP/hog.json")"
n=$((n+1)); pass "root's 300 half frames: 128 kept, 172 told too_many_clients"

as_nobody --socket "$TMP/pyrod.sock" --json workspace list \
    >"$TMP/other.json" 2>"$TMP/other.err" ||
    fail "uid 65534 was not served: $(cat "$TMP/other.err" "$TMP/other.json")"
jq -e '.workspaces == []' "$TMP/other.json" >/dev/null ||
    fail "uid 65534: $(cat "$TMP/other.json")"
n=$((n+1)); pass "another uid is served while root holds its 128"

set +e
"$PYRO" --socket "$TMP/pyrod.sock" workspace list >/dev/null 2>"$TMP/root.err"
rc=$?
set -e
[ $rc = 1 ] || fail "root over its cap: exit $rc: $(cat "$TMP/root.err")"
grep -q '^pyro: uid 0 has 128 connections.*max_clients_root in pyrod.conf (too_many_clients)$' \
    "$TMP/root.err" || fail "root over its cap: $(cat "$TMP/root.err")"
n=$((n+1)); pass "the CLI prints the refusal: $(cat "$TMP/root.err")"
[ "$(grep -c 'refused uid 0' "$TMP/pyrod.log")" -le 2 ] ||
    fail "every refusal was logged: $(grep -c 'refused uid 0' "$TMP/pyrod.log")"
kill "$hog"; wait "$hog" 2>/dev/null || true
chmod 0700 "$TMP"

timeout 10 "$PY" "$TMP/ctl.py" "$TMP/pyrod.sock" '{"id":1,"op":"usage"}' \
    >"$TMP/usage.json" || fail "usage: $(cat "$TMP/usage.json")"
jq -e '.ok and .result.memory_mib.used == 0 and .result.memory_mib.limit > 0 and
    .result.vcpus.limit >= 1 and .result.vms_running.limit == 64 and
    .result.workspaces.limit_per_uid == 32 and
    .result.limits.max_clients_root == 128 and
    .result.limits.frame_timeout_seconds == 120' "$TMP/usage.json" \
    >/dev/null || fail "usage: $(cat "$TMP/usage.json")"
n=$((n+1)); pass "usage: $(jq -c '.result | {memory_mib, vcpus, vms_running}' \
    "$TMP/usage.json")"

# --- budgets, with guests ----------------------------------------------------
if [ -z "${PYRO_TEST_ENV_CACHE:-}" ] ||
    [ ! -f "$PYRO_TEST_ENV_CACHE/debian:12/manifest.json" ]; then
	echo "$n passed, 0 failed (budgets skipped: no test environments)"
	exit 0
fi
need_guests
export PYRO_SOCKET="$TMP/pyrod.sock"
restart_pyrod "memory_budget_mib = 2000
max_workspaces_per_uid = 1
snapshot_budget_kib = 20"
expect_error resources_exhausted pyro run debian:12 --mem-mib 4096 -- true
grep -q 'asked 4096 MiB, 0 MiB in use, the budget is 2000 MiB' "$TMP/xe" ||
    fail "run over the memory budget: $(cat "$TMP/xe")"
ncpu=$(nproc)
expect_error resources_exhausted pyro run debian:12 --vcpu-count 32 -- true
grep -q "asked 32, 0 in use, the limit is $((ncpu * 4)) (4 per host CPU, $ncpu CPUs)" \
    "$TMP/xe" || fail "run over the vCPUs: $(cat "$TMP/xe")"
vm=$(pyro vm create debian:12 --mem-mib 4096) || fail "vm create"
expect_error resources_exhausted pyro vm start "$vm"
grep -q 'asked 4096 MiB' "$TMP/xe" || fail "vm start: $(cat "$TMP/xe")"
pyro vm delete "$vm" >/dev/null
[ "$(qemus)" = 0 ] || fail "a refused request started QEMU"
[ -z "$(ls "$TMP/state/vms")" ] || fail "refused runs left VMs: $(ls "$TMP/state/vms")"
n=$((n+1)); pass "run, and start of a created VM, over budget: refused, nothing booted"

ws=$(pyro workspace create debian:12 2>"$TMP/ws.err") ||
    fail "workspace create: $(cat "$TMP/ws.err")"
expect_error resources_exhausted pyro workspace create debian:12
grep -q 'uid 0 has 1 workspaces, the limit per uid is 1' "$TMP/xe" ||
    fail "second workspace: $(cat "$TMP/xe")"
[ "$(ls "$TMP/state/workspaces" | wc -l)" = 1 ] || fail "a refused create left a record"
expect_error resources_exhausted pyro run debian:12 --mem-mib 1024 -- true
grep -q 'asked 1024 MiB, 1024 MiB in use, the budget is 2000 MiB' "$TMP/xe" ||
    fail "run beside the workspace: $(cat "$TMP/xe")"
[ "$(qemus)" = 1 ] || fail "want the workspace's QEMU alone: $(qemus)"
timeout 10 "$PY" "$TMP/ctl.py" "$TMP/pyrod.sock" '{"id":1,"op":"usage"}' \
    >"$TMP/usage.json" || fail "usage: $(cat "$TMP/usage.json")"
jq -e '.result | .memory_mib == {"used": 1024, "limit": 2000} and
    .vcpus.used == 1 and .vms_running.used == 1 and
    .workspaces.by_uid == {"0": 1} and .workspaces.limit_per_uid == 1' \
    "$TMP/usage.json" >/dev/null || fail "usage: $(cat "$TMP/usage.json")"
n=$((n+1)); pass "a second workspace over max_workspaces_per_uid = 1, and memory in use, refused"

# Snapshots (GNU tar writes 10 KiB records: an empty /workspace is 10240
# bytes): the first fits 20 KiB; one of 20480 bytes passes the budget and
# is removed; a second small one fills it; then a snapshot is refused at
# once.
pyro workspace snapshot create "$ws" one >/dev/null || fail "first snapshot"
pyro workspace exec "$ws" -- sh -c 'head -c 12000 /dev/urandom >noise' ||
    fail "exec"
expect_error resources_exhausted pyro workspace snapshot create "$ws" two
grep -q 'it would pass workspace .* snapshot budget of 20480 bytes, so it was not kept' \
    "$TMP/xe" || fail "snapshot over budget: $(cat "$TMP/xe")"
ls "$TMP/state/workspaces/$ws" | grep -q 'snapshot-two\|tmp' &&
    fail "the refused snapshot is still there: $(ls "$TMP/state/workspaces/$ws")"
pyro --json workspace snapshot list "$ws" |
    jq -e '[.snapshots[].name] == ["baseline", "one"]' >/dev/null ||
    fail "snapshot list after the refusal"
pyro workspace exec "$ws" -- rm noise
pyro workspace snapshot create "$ws" two >/dev/null || fail "second snapshot"
expect_error resources_exhausted pyro workspace snapshot create "$ws" three
grep -q 'keeps [0-9]* bytes of snapshots, the budget per workspace is 20480 bytes' \
    "$TMP/xe" || fail "snapshot at budget: $(cat "$TMP/xe")"
n=$((n+1)); pass "snapshots over snapshot_budget_kib = 20: removed after writing, refused before"
pyro workspace delete "$ws" >/dev/null

# --- a VMM over its cgroup's memory is OOM-killed and said so -------------
if ! pyro doctor --json | jq -e .cgroups.ok >/dev/null; then
	echo "$n passed, 0 failed (OOM check skipped: no cgroups here)"
	exit 0
fi
# The limit is the guest's memory plus 16 MiB (and no allowance for the
# disk's page cache): QEMU's own ~250 MB at boot fit (the guest's pages
# are not touched yet); 450 MiB more written by the guest do not.
restart_pyrod "vmm_memory_overhead_mib = 16
vmm_page_cache_mib = 0"
ws=$(pyro workspace create debian:12 2>"$TMP/ws.err") ||
    fail "workspace create: $(cat "$TMP/ws.err")"
vmh=$(pgrep -P "$PYROD_PID" -f pyro-vmhelper | head -n 1)
qpid=$(pgrep -P "$vmh" | head -n 1)
grep -q "memory:/pyro/$ws" "/proc/$qpid/cgroup" ||
    fail "the workspace's QEMU is not in its memory cgroup: $(cat "/proc/$qpid/cgroup")"
[ "$(cat "/sys/fs/cgroup/memory/pyro/$ws/memory.limit_in_bytes")" = \
    $(((1024 + 16) * 1048576)) ] || fail "memory limit"
expect_error vm_oom pyro run debian:12 --mem-mib 512 -- \
    python3 -c 'b = b"x" * (450 << 20); print(len(b))'
grep -q 'went over its memory limit of 528 MiB (512 MiB of guest memory' \
    "$TMP/xe" || fail "vm_oom: $(cat "$TMP/xe")"
pyro workspace exec "$ws" -- true || fail "the other guest suffered"
kill -0 "$PYROD_PID" || fail "pyrod died"
pyro workspace delete "$ws" >/dev/null
for _ in $(seq 50); do
	[ -z "$(ls -d /sys/fs/cgroup/memory/pyro/$ws 2>/dev/null)" ] && break
	sleep 0.1
done
[ ! -d "/sys/fs/cgroup/memory/pyro/$ws" ] || fail "the cgroup stayed"
n=$((n+1)); pass "a VMM past guest memory + overhead is OOM-killed in its cgroup (vm_oom); the other workspace runs on; groups removed"
echo "$n passed, 0 failed"
