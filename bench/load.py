"""bench/load's driver: many clients against one pyrod, then a soak.

  load WS_IDS CLIENTS SECONDS   CLIENTS threads, each with its own
                                connection, loop over status, list and
                                exec (true) on the workspaces for SECONDS
  soak CYCLES                   CYCLES of vm create, start, exec, delete
                                (one-shot runs), one at a time; with
                                PYROD_PID set, pyrod's RSS and fds every
                                tenth of the way
Both print JSON: throughput, latency percentiles, errors by code.
"""
import json
import os
import sys
import threading
import time

from pyro_mcp import Pyro, PyroError


def pct(xs, p):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def load(ws_ids, clients, seconds):
    lat = {"status": [], "list": [], "exec": []}
    errors = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(k):
        p = Pyro()
        i = 0
        while time.monotonic() < stop:
            ws = ws_ids[(k + i) % len(ws_ids)]
            op = ("status", "list", "exec")[i % 3]
            t = time.monotonic()
            try:
                if op == "status":
                    p.status_workspace(ws)
                elif op == "list":
                    p.list_workspaces()
                else:
                    r = p.exec_workspace(ws, ["true"], timeout_seconds=60)
                    if r.get("exit_code") != 0:
                        raise PyroError("exit", "exit %s" % r.get("exit_code"))
                ms = (time.monotonic() - t) * 1000
                with lock:
                    lat[op].append(ms)
            except PyroError as e:
                with lock:
                    errors[e.code] = errors.get(e.code, 0) + 1
            i += 1
        p.close()

    threads = [threading.Thread(target=worker, args=(k,))
               for k in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.monotonic() - t0
    n = sum(len(v) for v in lat.values())
    print(json.dumps({
        "clients": clients, "workspaces": len(ws_ids), "seconds": round(dt, 1),
        "requests": n, "per_second": round(n / dt, 1),
        "latency_ms": {op: {"n": len(v), "p50": round(pct(v, .5), 1),
                            "p99": round(pct(v, .99), 1)}
                       for op, v in lat.items()},
        "errors": errors}))


def figures(pid):
    """pyrod's RSS (KiB) and open fds, or None without PYROD_PID."""
    if not pid:
        return None
    with open("/proc/%s/status" % pid) as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
    return rss, len(os.listdir("/proc/%s/fd" % pid))


def soak(cycles):
    p = Pyro()
    ms, errors = [], {}
    pid = os.environ.get("PYROD_PID")
    every = max(1, cycles // 10)
    for n in range(cycles):
        if n % every == 0 and pid:
            rss, fds = figures(pid)
            print(json.dumps({"cycle": n, "pyrod_rss_kib": rss,
                              "pyrod_fds": fds}), flush=True)
        t = time.monotonic()
        try:
            r = p.run_in_vm("debian:12", ["true"], timeout_seconds=60)
            if r.get("exit_code") != 0:
                raise PyroError("exit", "exit")
            ms.append((time.monotonic() - t) * 1000)
        except PyroError as e:
            errors[e.code] = errors.get(e.code, 0) + 1
    print(json.dumps({"cycles": cycles, "ok": len(ms),
                      "p50_ms": round(pct(ms, .5)), "p99_ms": round(pct(ms, .99)),
                      "errors": errors}))


if __name__ == "__main__":
    if sys.argv[1] == "load":
        load(sys.argv[2].split(","), int(sys.argv[3]), float(sys.argv[4]))
    else:
        soak(int(sys.argv[2]))
