#!/usr/bin/python3
"""A front for a real docker-registry, for tests/oci.sh.

It forwards every request to the registry (UPSTREAM) and logs one line per
request ("METHOD PATH range=R auth=KIND") to LOG.  What it does on top is
read from the file MODE before each request, a comma-separated list:

  pass            forward only
  token           a bearer-token front as public registries have: /v2/...
                  without a valid token gets 401 and a challenge naming
                  /token here; /token wants basic auth USER:PASS when
                  CREDS is set, and gives a token for the asked scope
  redirect        blob GETs answer 307 to http://localhost:PORT/_blob/...
                  (another host name: blob storage); those requests must
                  carry no Authorization header (logged)
  loop            blob GETs redirect to themselves
  cut:N           a blob GET without Range sends N bytes, then the
                  connection is closed (a registry dying mid-download)
  stall           a blob GET sends its headers and 1 KiB, then nothing
  slow:N          blob GETs are sent at about N bytes per second
  500 / 404       every /v2/ request after the ping gets that status
  manifest:FILE   manifest GETs answer FILE (OCI content type)

usage: ociproxy.py PORT_FILE UPSTREAM_PORT MODE_FILE LOG [USER:PASS]
"""
import base64
import http.client
import http.server
import os
import secrets
import socketserver
import sys
import time

PORT_FILE, UPSTREAM, MODE_FILE, LOG = sys.argv[1:5]
CREDS = sys.argv[5] if len(sys.argv) > 5 else ""
TOKENS = set()
HOP = {"connection", "keep-alive", "transfer-encoding", "host",
       "proxy-connection", "te", "upgrade"}


def mode():
    try:
        with open(MODE_FILE) as f:
            return [m for m in f.read().strip().split(",") if m]
    except OSError:
        return ["pass"]


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def log(self, note=""):
        auth = self.headers.get("Authorization", "")
        kind = auth.split(" ")[0] if auth else "none"
        with open(LOG, "a") as f:
            f.write("%s %s range=%s auth=%s %s\n" % (
                self.command, self.path,
                self.headers.get("Range", "-"), kind, note))

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length", "0") or "0")
        return self.rfile.read(n) if n else b""

    def token_ok(self):
        auth = self.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and auth[7:] in TOKENS

    def do_token(self):
        if CREDS:
            want = "Basic " + base64.b64encode(CREDS.encode()).decode()
            if self.headers.get("Authorization", "") != want:
                self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                           [("WWW-Authenticate", 'Basic realm="test"')])
                return
        tok = secrets.token_hex(16)
        TOKENS.add(tok)
        self.reply(200, ('{"token":"%s","expires_in":300}' % tok).encode(),
                   [("Content-Type", "application/json")])

    def handle_any(self):
        m = mode()
        path = self.path
        self.log()
        if path.startswith("/token"):
            return self.do_token()
        if path.startswith("/_blob/"):
            if self.headers.get("Authorization"):
                self.log("LEAKED-AUTH")
            path = "/v2/" + path[len("/_blob/"):]
        elif "token" in m and not self.token_ok():
            port = self.server.server_address[1]
            scope = ""
            parts = path.split("/")
            if len(parts) > 4:
                scope = ',scope="repository:%s:pull"' % "/".join(parts[2:-2])
            self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', [
                ("Content-Type", "application/json"),
                ("WWW-Authenticate",
                 'Bearer realm="http://127.0.0.1:%d/token",'
                 'service="pyro-test"%s' % (port, scope))])
            return
        if path != "/v2/":
            for code in ("500", "404"):
                if code in m:
                    self.reply(int(code), b'{"errors":[{"code":"TEST"}]}',
                               [("Content-Type", "application/json")])
                    return
        is_blob_get = self.command == "GET" and "/blobs/sha256:" in path
        if is_blob_get and not self.path.startswith("/_blob/"):
            port = self.server.server_address[1]
            if "redirect" in m:
                self.reply(307, b"", [(
                    "Location", "http://localhost:%d/_blob/%s" % (
                        port, path[len("/v2/"):]))])
                return
            if "loop" in m:
                self.reply(302, b"", [("Location", path)])
                return
        for x in m:
            if x.startswith("manifest:") and "/manifests/" in path and \
                    self.command in ("GET", "HEAD"):
                with open(x[len("manifest:"):], "rb") as f:
                    data = f.read()
                self.reply(200, data, [(
                    "Content-Type",
                    "application/vnd.oci.image.manifest.v1+json")])
                return
        self.forward(path, m, is_blob_get)

    def forward(self, path, m, is_blob_get):
        c = http.client.HTTPConnection("127.0.0.1", int(UPSTREAM),
                                       timeout=60)
        hdrs = {k: v for k, v in self.headers.items()
                if k.lower() not in HOP and k.lower() != "authorization"}
        data = self.body() if self.command in ("PUT", "POST", "PATCH") \
            else None
        c.request(self.command, path, body=data, headers=hdrs)
        r = c.getresponse()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() in HOP:
                continue
            if k.lower() == "location" and v.startswith("http://"):
                # The registry's own absolute URLs: through us.
                v = "/" + v.split("/", 3)[3]
            self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD":
            return
        cut = None
        for x in m:
            if x.startswith("cut:") and is_blob_get and \
                    "Range" not in self.headers:
                cut = int(x[4:])
        rate = None
        for x in m:
            if x.startswith("slow:") and is_blob_get:
                rate = int(x[5:])
        sent = 0
        t0 = time.monotonic()
        while True:
            try:
                chunk = r.read(65536)
            except (OSError, http.client.HTTPException):
                # The registry died mid-body: so does this answer.
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if not chunk:
                if r.length:	# upstream ended short: it died
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                break
            if rate:
                ahead = sent / rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
            if cut is not None and sent + len(chunk) >= cut:
                self.wfile.write(chunk[:cut - sent])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if "stall" in m and is_blob_get and sent >= 1024:
                self.wfile.flush()
                time.sleep(120)
                return
            self.wfile.write(chunk)
            sent += len(chunk)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = S(("127.0.0.1", 0), H)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
srv.serve_forever()
