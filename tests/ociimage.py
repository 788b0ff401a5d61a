#!/usr/bin/python3
"""Build a container image and push it to a registry, for tests/oci.sh.

usage: ociimage.py REGISTRY_PORT REPO:TAG KIND

KIND:
  tree     two layers over a shell made of the host's dash, find, cat,
           mkdir, chmod and tar (with their libraries; what workspace
           create needs): a whiteout, an opaque directory, a
           symlink, a hard link, a setuid file, a file with a user xattr,
           a file of uid 1234 gid 5678
  noshell  one layer, no /bin/sh
  dotdot   a layer with an entry named ../escape
  absolute a layer with an entry named /abs
  hardout  a layer with a hard link to ../../etc/passwd
  whdots   a layer with a whiteout named .wh... (the parent directory)
  negsize  a layer with a pax realsize of -1 MiB

Only the standard library: tarfile, hashlib, urllib (as a CI machine
without docker would build one).
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import urllib.request

PORT, REF, KIND = sys.argv[1:4]
REPO, TAG = REF.rsplit(":", 1)
BASE = "http://127.0.0.1:%s" % PORT


def add_file(t, name, data, mode=0o644, uid=0, gid=0, xattrs=None):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    ti.uid, ti.gid = uid, gid
    ti.mtime = 1700000000
    if xattrs:
        ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
    t.addfile(ti, io.BytesIO(data))


def add_dir(t, name, mode=0o755):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = mode
    ti.mtime = 1700000000
    t.addfile(ti)


def add_link(t, name, target, hard=False):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    ti.linkname = target
    ti.mtime = 1700000000
    t.addfile(ti)


def layer(build):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        build(t)
    return buf.getvalue()


def shell_layer(t):
    seen = set()
    tools = ["/usr/bin/dash", "/usr/bin/find", "/usr/bin/cat",
             "/usr/bin/mkdir", "/usr/bin/chmod", "/usr/bin/tar"]
    libs = subprocess.run(["ldd"] + tools, capture_output=True, text=True,
                          check=True).stdout.split()
    paths = tools + \
        [p for p in libs if p.startswith("/") and not p.endswith(":")]
    for p in paths:
        real = os.path.realpath(p)
        name = p.lstrip("/")
        parts = name.split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in seen:
                seen.add(d)
                add_dir(t, d)
        if name in seen:
            continue
        seen.add(name)
        with open(real, "rb") as f:
            add_file(t, name, f.read(), mode=0o755)
    add_link(t, "bin/sh", "/usr/bin/dash")


def tree1(t):
    shell_layer(t)
    add_dir(t, "data")
    add_file(t, "data/keep.txt", b"keep\n")
    add_file(t, "data/gone.txt", b"gone\n")
    add_dir(t, "data/opq")
    add_file(t, "data/opq/old.txt", b"old\n")
    add_file(t, "data/setuid", b"#!/bin/sh\n", mode=0o4755)
    add_file(t, "data/xattr.txt", b"x\n", xattrs={"user.pyro": "hello",
                                                 "trusted.evil": "no"})
    add_dir(t, "data/sub")
    add_dir(t, "data/sub/partial")
    add_file(t, "data/sub/partial/f", b"f\n")
    add_link(t, "data/link", "keep.txt")
    add_link(t, "data/hard", "data/keep.txt", hard=True)


def tree2(t):
    add_dir(t, "data")
    add_file(t, "data/.wh.gone.txt", b"")
    add_dir(t, "data/opq")
    add_file(t, "data/opq/.wh..wh..opq", b"")
    add_file(t, "data/opq/new.txt", b"new\n")
    add_file(t, "data/added.txt", b"added\n", uid=1234, gid=5678)
    # After removing a directory, names still resolve from the root.
    add_file(t, "data/sub/.wh.partial", b"")
    add_file(t, "data/zz-after.txt", b"after\n")


def req(method, url, data=None, headers=None):
    r = urllib.request.Request(url, data=data, method=method,
                               headers=headers or {})
    with urllib.request.urlopen(r) as resp:
        return resp.status, resp.headers, resp.read()


def push_blob(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _, h, _ = req("POST", "%s/v2/%s/blobs/uploads/" % (BASE, REPO))
    loc = h["Location"]
    if loc.startswith("/"):
        loc = BASE + loc
    sep = "&" if "?" in loc else "?"
    req("PUT", "%s%sdigest=%s" % (loc, sep, digest), data=data,
        headers={"Content-Type": "application/octet-stream"})
    return digest


def main():
    if KIND == "tree":
        raws = [layer(tree1), layer(tree2)]
    elif KIND == "noshell":
        raws = [layer(lambda t: (add_dir(t, "data"),
                                 add_file(t, "data/f", b"f\n")))]
    elif KIND == "dotdot":
        raws = [layer(lambda t: (shell_layer(t),
                                 add_file(t, "../escape", b"x\n")))]
    elif KIND == "absolute":
        raws = [layer(lambda t: (shell_layer(t),
                                 add_file(t, "/abs", b"x\n")))]
    elif KIND == "hardout":
        raws = [layer(lambda t: (shell_layer(t),
                                 add_link(t, "hl", "../../etc/passwd",
                                          hard=True)))]
    elif KIND == "whdots":
        raws = [layer(shell_layer), layer(lambda t: add_file(
            t, "usr/.wh...", b""))]
    elif KIND == "negsize":
        def neg(t):
            shell_layer(t)
            ti = tarfile.TarInfo("big")
            ti.size = 0
            ti.pax_headers = {"SCHILY.realsize": "-1048576"}
            t.addfile(ti, io.BytesIO(b""))
        raws = [layer(neg)]
    else:
        sys.exit("unknown kind " + KIND)
    layers, diff_ids = [], []
    for i, raw in enumerate(raws):
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        if i == 0:	# the first gzip'd, the next plain
            blob = gzip.compress(raw, mtime=0)
            mt = "application/vnd.oci.image.layer.v1.tar+gzip"
        else:
            blob = raw
            mt = "application/vnd.oci.image.layer.v1.tar"
        layers.append({"mediaType": mt, "digest": push_blob(blob),
                       "size": len(blob)})
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": push_blob(config), "size": len(config)},
        "layers": layers}).encode()
    req("PUT", "%s/v2/%s/manifests/%s" % (BASE, REPO, TAG), data=manifest,
        headers={"Content-Type":
                 "application/vnd.oci.image.manifest.v1+json"})
    print("sha256:" + hashlib.sha256(manifest).hexdigest())


main()
