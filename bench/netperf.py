"""bench/net's probe, run on the host, in namespaces and in guests.

  sink PORT            accept connections; read each to EOF; answer the
                       byte count
  send HOST PORT MB    send MB MiB, wait for the answer; print MiB/s
  get URL N            N HTTP GETs (a new connection each); print the
                       median and p90 in ms
"""
import socket
import sys
import time
import urllib.request


def sink(port: int) -> None:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(8)
    while True:
        c, _ = s.accept()
        n = 0
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            n += len(b)
        c.sendall(str(n).encode())
        c.close()


def send(host: str, port: int, mib: int) -> None:
    buf = b"x" * (1 << 20)
    c = socket.create_connection((host, port), 10)
    t = time.monotonic()
    for _ in range(mib):
        c.sendall(buf)
    c.shutdown(socket.SHUT_WR)
    got = int(c.recv(64) or b"0")
    dt = time.monotonic() - t
    if got != mib << 20:
        print("FAIL short", got)
        sys.exit(1)
    print("%.1f" % (mib / dt))


def get(url: str, n: int) -> None:
    ms = []
    for _ in range(n):
        t = time.monotonic()
        urllib.request.urlopen(url, timeout=10).read()
        ms.append((time.monotonic() - t) * 1000)
    ms.sort()
    print("%.2f %.2f" % (ms[len(ms) // 2], ms[int(len(ms) * 0.9)]))


if __name__ == "__main__" or True:
    a = sys.argv[1:]
    if a and a[0] == "sink":
        sink(int(a[1]))
    elif a and a[0] == "send":
        send(a[1], int(a[2]), int(a[3]))
    elif a and a[0] == "get":
        get(a[1], int(a[2]))
