"""Hold the Firecracker driver's requests and jailer command lines against
Firecracker's published API description and the jailer's documented options.

  fcschema.py API_YAML DUMP

API_YAML is Firecracker's swagger file (read where it lies, never copied
into pyro); DUMP is what `tests/check_fc --dump` wrote: one JSON object a
line, either {"kind": "request", "shape", "method", "path", "body"} or
{"kind": "jailer", "argv"}.  Each request must name a path and method the
API has, and its body must validate against that operation's schema with
unknown fields refused (Firecracker's server denies them although the
description does not say so), ids in the path equal to the ids in the body
and made of letters, digits and "_".  A cold boot must go machine-config,
boot-source, drives, network interfaces, vsock, then InstanceStart last.
Each jailer argv must use only the jailer's documented options (docs/
jailer.md of Firecracker: --id, --exec-file, --uid, --gid,
--chroot-base-dir, --netns, --daemonize, --new-pid-ns, --cgroup,
--cgroup-version, --parent-cgroup, --resource-limit), each value as its
own argument, the single-valued ones once, the required ones present, an
id of [A-Za-z0-9-]{1,64}, and Firecracker's own arguments after "--".
Prints one line per check; exits 1 on the first failure.
"""
import copy
import json
import re
import sys

import jsonschema
import yaml


PASSED = [0]


def ok(msg):
    PASSED[0] += 1
    print("ok - " + msg)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def strict(schema):
    """Every object schema refuses unknown properties."""
    if isinstance(schema, dict):
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        for v in schema.values():
            strict(v)
    elif isinstance(schema, list):
        for v in schema:
            strict(v)
    return schema


def operation(spec, method, path):
    """The spec's operation for a concrete path, and the path's params."""
    for templ, ops in spec["paths"].items():
        names = re.findall(r"{([^}]+)}", templ)
        rx = "^" + re.sub(r"{[^}]+}", "([^/]+)", templ) + "$"
        m = re.match(rx, path)
        if m and method.lower() in ops:
            return ops[method.lower()], dict(zip(names, m.groups()))
    return None, None


def validate(spec, defs, method, path, body):
    """None when Firecracker would take the request, else why not."""
    op, params = operation(spec, method, path)
    if op is None:
        return "Invalid request method and/or path: %s %s." % (method, path)
    param = [p for p in op.get("parameters", []) if p.get("in") == "body"]
    if not param:
        return None if body is None else "%s request cannot have a body." % method
    if body is None:
        return "Empty %s request." % method
    schema = {"definitions": defs}
    schema.update(copy.deepcopy(param[0]["schema"]))
    try:
        jsonschema.Draft4Validator(strict(schema)).validate(body)
    except jsonschema.ValidationError as e:
        return ("An error occurred when deserializing the json body of a "
                "request: %s." % e.message)
    for name, value in params.items():
        if not re.match(r"^[A-Za-z0-9_]+$", value):
            return ("API Resource IDs can only contain alphanumeric "
                    "characters and underscores.")
        if body.get(name) != value:
            return "The id from the path does not match the id from the body!"
    return None


def schema_name(spec, method, path):
    op, _ = operation(spec, method, path)
    param = [p for p in (op or {}).get("parameters", []) if p.get("in") == "body"]
    return param[0]["schema"].get("$ref", "its schema").split("/")[-1] \
        if param else "no body"


def check_request(spec, defs, r):
    why = validate(spec, defs, r["method"], r["path"], r["body"])
    if why:
        fail("%s %s: %s" % (r["method"], r["path"], why))
    ok("%s %s (%s) is valid against %s" %
       (r["method"], r["path"], r["shape"],
        schema_name(spec, r["method"], r["path"])))


BOOT_ORDER = ["/machine-config", "/boot-source", "/drives/",
              "/network-interfaces/", "/vsock", "/actions"]


def check_order(reqs):
    for shape in sorted({r["shape"] for r in reqs} - {"snapshot"}):
        paths = [r["path"] for r in reqs if r["shape"] == shape]
        need = ["/machine-config", "/boot-source", "/drives/rootfs", "/vsock",
                "/actions"] + (["/network-interfaces/eth0"]
                               if shape == "network" else [])
        if sorted(need) != sorted(paths):
            fail("%s: the cold boot sends %s, not %s" % (shape, paths, need))
        rank = [next(i for i, p in enumerate(BOOT_ORDER) if path.startswith(p))
                for path in paths]
        if rank != sorted(rank) or paths[-1] != "/actions":
            fail("%s: the cold boot's order is %s" % (shape, paths))
        last = [r for r in reqs if r["shape"] == shape][-1]["body"]
        if last != {"action_type": "InstanceStart"}:
            fail("%s: the boot does not end with InstanceStart" % shape)
        ok("the %s boot is in Firecracker's order, InstanceStart last"
              % shape)


# The jailer's options (Firecracker docs/jailer.md): name -> takes a value.
JAILER_OPTS = {"--id": 1, "--exec-file": 1, "--uid": 1, "--gid": 1,
               "--chroot-base-dir": 1, "--netns": 1, "--daemonize": 0,
               "--new-pid-ns": 0, "--cgroup": 1, "--cgroup-version": 1,
               "--parent-cgroup": 1, "--resource-limit": 1}
REPEATABLE = {"--cgroup", "--resource-limit"}
REQUIRED = {"--id", "--exec-file", "--uid", "--gid"}
CGROUP_FILES = {"1": {"memory.limit_in_bytes", "pids.max", "cpu.shares"},
                "2": {"memory.max", "pids.max", "cpu.weight"}}


def check_jailer(argv):
    seen = {}
    i = 1
    while i < len(argv) and argv[i] != "--":
        opt = argv[i]
        if opt not in JAILER_OPTS:
            fail("jailer: unknown option %r" % opt)
        if opt in seen and opt not in REPEATABLE:
            fail("jailer: %s given twice" % opt)
        if JAILER_OPTS[opt]:
            if i + 1 >= len(argv) or argv[i + 1].startswith("--"):
                fail("jailer: %s without its value" % opt)
            seen.setdefault(opt, []).append(argv[i + 1])
            i += 2
        else:
            seen.setdefault(opt, []).append(None)
            i += 1
    if i >= len(argv):
        fail("jailer: no \"--\" before Firecracker's arguments")
    missing = REQUIRED - set(seen)
    if missing:
        fail("jailer: missing %s" % sorted(missing))
    if not re.match(r"^[A-Za-z0-9-]{1,64}$", seen["--id"][0]):
        fail("jailer: a bad --id %r" % seen["--id"][0])
    for o in ("--uid", "--gid"):
        if not re.match(r"^[0-9]+$", seen[o][0]) or int(seen[o][0]) >= 2**32:
            fail("jailer: %s is not a u32" % o)
    for o in ("--exec-file", "--chroot-base-dir", "--netns"):
        if o in seen and not seen[o][0].startswith("/"):
            fail("jailer: %s is not an absolute path" % o)
    ver = seen.get("--cgroup-version", ["1"])[0]
    if ver not in ("1", "2"):
        fail("jailer: --cgroup-version %s" % ver)
    for c in seen.get("--cgroup", []):
        key, eq, val = c.partition("=")
        if not eq or not val or "=" in val or key not in CGROUP_FILES[ver]:
            fail("jailer: --cgroup %r for cgroup v%s" % (c, ver))
    pc = seen.get("--parent-cgroup", [None])[0]
    if pc is not None and (pc.startswith("/") or
                           any(p in ("", ".", "..") for p in pc.split("/"))):
        fail("jailer: --parent-cgroup %r is not a relative path" % pc)
    fc = argv[i + 1:]
    if "--id" in fc:
        fail("jailer: --id again after \"--\" (the jailer passes it)")
    if fc[:1] != ["--api-sock"] or len(fc) != 2 or not fc[1].startswith("/"):
        fail("jailer: Firecracker's arguments %s" % fc)
    ok("jailer argv (%s%s) uses documented options only" %
          ("cgroup v" + ver if "--cgroup-version" in seen else "no cgroup",
           ", netns" if "--netns" in seen else ""))


def main():
    with open(sys.argv[1]) as f:
        spec = yaml.safe_load(f)
    ok("Firecracker API %s read from %s" %
          (spec["info"]["version"], sys.argv[1]))
    defs = spec["definitions"]
    reqs, jails = [], []
    with open(sys.argv[2]) as f:
        for line in f:
            o = json.loads(line)
            (reqs if o["kind"] == "request" else jails).append(o)
    if not reqs or not jails:
        fail("nothing to check in %s" % sys.argv[2])
    for r in reqs:
        check_request(spec, defs, r)
    check_order(reqs)
    for j in jails:
        check_jailer(j["argv"])
    # The checker itself: what Firecracker refuses, it must refuse.
    bad = [{"kind": "request", "shape": "bad", "method": "PUT",
            "path": "/machine-config",
            "body": {"vcpu_count": 1, "mem_size_mib": 128, "cpus": 1}},
           {"kind": "request", "shape": "bad", "method": "PUT",
            "path": "/vsock", "body": {"guest_cid": 2, "uds_path": "/v"}},
           {"kind": "request", "shape": "bad", "method": "PUT",
            "path": "/drives/root-fs",
            "body": {"drive_id": "root-fs", "is_root_device": False}}]
    for b in bad:
        try:
            import io
            import contextlib
            with contextlib.redirect_stdout(io.StringIO()):
                check_request(spec, defs, b)
        except SystemExit:
            continue
        fail("the checker let %s %s through" % (b["path"], b["body"]))
    ok("the checker refuses an unknown field, guest_cid 2 and an id "
          "with \"-\"")
    print("%d passed, 0 failed" % PASSED[0])


if __name__ == "__main__":
    main()
