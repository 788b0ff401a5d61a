"""The :class:`Pyro` client: one method per pyro operation, over libpyro.

Each method validates its arguments in Python (``TypeError`` for a wrong
type, ``ValueError`` for a bad value, before anything is sent), calls the
libpyro function of the same operation through ctypes, and returns the
result object of the JSON contract (docs/public-contract.md) as a ``dict``.
Failures raise :class:`~pyro_mcp.PyroError` or one of its subclasses.

Thread safety: a :class:`Pyro` holds one connection to pyrod and an
internal lock; calls from several threads on one client are serialized
(one runs at a time).  For calls that run in parallel, give each thread a
client of its own.  A callback must not call the client it was given to
(that raises ``RuntimeError``); it may use another client.
"""

from __future__ import annotations

import ctypes
import json
import os
import threading
from types import TracebackType
from typing import (Any, Callable, Dict, List, Mapping, Optional, Sequence,
                    Type, Union)

from ._lib import EVENT_FN, ONE_ARG_IS_SHELL, OUTPUT_FN, PyroErrorStruct, lib
from .errors import PyroError, error_for

__all__ = ["Pyro", "Workspace", "Command", "OutputHandler", "EventHandler",
           "Result"]

#: A command: a string (run with ``/bin/sh -lc``) or a list of arguments.
Command = Union[str, Sequence[str]]
#: ``on_output(fd, data)``: fd 1 for stdout, 2 for stderr; data is bytes.
OutputHandler = Callable[[int, bytes], None]
#: ``on_event(kind, event)``: kind such as ``"progress"``; event the object.
EventHandler = Callable[[str, Dict[str, Any]], None]
#: A result object of the JSON contract.
Result = Dict[str, Any]
PathArg = Union[str, "os.PathLike[str]"]

_SIGNALS = ("INT", "TERM", "KILL", "HUP", "QUIT")
_READINESS = ("file", "tcp", "http", "command")
_POLICIES = ("off", "egress", "egress+published-ports")
_NO_OUTPUT = OUTPUT_FN(0)
_NO_EVENT = EVENT_FN(0)


# ---- argument checks: refuse before anything is sent ----------------------

def _text(name: str, value: object, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not empty and value == "":
        raise ValueError(f"{name} must not be empty")
    if "\0" in value:
        raise ValueError(f"{name} must not contain NUL characters")
    return value


def _c(name: str, value: object, *, empty: bool = False) -> bytes:
    s = _text(name, value, empty=empty)
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"{name} is not valid Unicode text: {e}") from None


def _path(name: str, value: object) -> bytes:
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, not "
                        f"{type(value).__name__}")
    raw = os.fsencode(os.fspath(value))
    if raw == b"":
        raise ValueError(f"{name} must not be empty")
    if b"\0" in raw:
        raise ValueError(f"{name} must not contain NUL characters")
    return raw


def _int(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}, not {value}")
    return value


def _bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
    return value


def _strings(name: str, value: object) -> Optional[List[str]]:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a list of str, not "
                        f"{type(value).__name__}")
    return [_text(f"{name}[{i}]", v) for i, v in enumerate(value)]


def _argv(command: object) -> "ctypes.Array[ctypes.c_char_p]":
    """A command as libpyro's NULL-terminated argv: a string is one
    element (libpyro runs exactly one element with ``sh -lc``), a list is
    the argv itself."""
    if isinstance(command, str):
        items = [_c("command", command)]
        if not ONE_ARG_IS_SHELL:
            items = [b"/bin/sh", b"-lc"] + items
    elif isinstance(command, (list, tuple)):
        if not command:
            raise ValueError("command must not be an empty list")
        items = [_c(f"command[{i}]", a, empty=i > 0)
                 for i, a in enumerate(command)]
    else:
        raise TypeError("command must be a str or a list of str, not "
                        f"{type(command).__name__}")
    return (ctypes.c_char_p * (len(items) + 1))(*items, None)


def _mapping(name: str, value: object, *, paths: bool = False
             ) -> Optional[Dict[str, str]]:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict, not {type(value).__name__}")
    out: Dict[str, str] = {}
    for k, v in value.items():
        _text(f"{name} key", k)
        out[k] = (os.fsdecode(_path(f"{name}[{k!r}]", v)) if paths
                  else _text(f"{name}[{k!r}]", v))
    return out


def _opts(**kw: Any) -> bytes:
    return json.dumps({k: v for k, v in kw.items() if v is not None}
                      ).encode("utf-8")


def _fd(name: str, value: object) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a file or an fd")
    if isinstance(value, int):
        fd = value
    elif hasattr(value, "fileno"):
        fd = value.fileno()
        if hasattr(value, "flush"):
            value.flush()
    else:
        raise TypeError(f"{name} must be a file or an fd, not "
                        f"{type(value).__name__}")
    if fd < 0:
        raise ValueError(f"{name} must be a valid fd, not {fd}")
    return int(fd)


class _Call:
    """The callbacks of one call.  An exception raised by the caller's
    callback is kept (ctypes cannot unwind through C) and the callback is
    not called again; libpyro still reads the call to its end, so the
    connection stays in step, and the exception is raised afterwards."""

    def __init__(self, owner: "Pyro", on_output: Optional[OutputHandler],
                 on_event: Optional[EventHandler], collect: bool) -> None:
        self.owner = owner
        self.on_output = on_output
        self.on_event = on_event
        self.collect = collect
        self.chunks: Dict[int, List[bytes]] = {1: [], 2: []}
        self.error: Optional[BaseException] = None
        self.output_fn = (OUTPUT_FN(self._output)
                          if collect or on_output is not None else _NO_OUTPUT)
        self.event_fn = (EVENT_FN(self._event) if on_event is not None
                         else _NO_EVENT)

    def _guard(self, fn: Callable[[], None]) -> None:
        if self.error is not None:
            return
        tls = self.owner._tls
        tls.in_callback = True
        try:
            fn()
        except BaseException as e:  # noqa: B902 - re-raised after the call
            self.error = e
        finally:
            tls.in_callback = False

    def _output(self, arg: Optional[int], fd: int, data: Optional[int],
                size: int) -> None:
        chunk = ctypes.string_at(data, size) if data and size else b""
        if self.on_output is None:
            if fd in self.chunks:
                self.chunks[fd].append(chunk)
            return
        cb = self.on_output
        self._guard(lambda: cb(fd, chunk))

    def _event(self, arg: Optional[int], kind: Optional[bytes],
               text: Optional[bytes]) -> None:
        if self.on_event is None:
            return
        cb: EventHandler = self.on_event

        def deliver() -> None:
            ev = json.loads(text.decode("utf-8", "replace")) if text else {}
            cb(kind.decode("utf-8", "replace") if kind else "", ev)
        self._guard(deliver)

    def output(self, fd: int) -> bytes:
        return b"".join(self.chunks[fd])


class Pyro:
    """A client of pyrod, the pyro supervisor.

    ``Pyro(socket_path=None)`` talks to the control socket at
    ``socket_path``, else ``$PYRO_SOCKET``, else ``/run/pyro/pyrod.sock``.
    The connection is opened at the first call that needs pyrod (the
    environment calls do not) and again after pyrod went away; ``close()``
    (or ``with Pyro() as pyro:``) ends it.

    Results are the dicts of the JSON contract; exec-style calls add
    ``stdout``/``stderr`` (str, UTF-8 decoded with ``errors="replace"``)
    and ``stdout_bytes``/``stderr_bytes`` unless an ``on_output`` callback
    takes the output as it comes.
    """

    def __init__(self, socket_path: Optional[PathArg] = None) -> None:
        self._path: Optional[bytes] = (None if socket_path is None else
                                       _path("socket_path", socket_path))
        self._handle: Optional[int] = None
        self._lock = threading.Lock()
        self._tls = threading.local()

    # ---- plumbing ------------------------------------------------------

    @property
    def socket_path(self) -> str:
        """The control socket this client uses."""
        if self._path is not None:
            return os.fsdecode(self._path)
        return Pyro.default_socket_path()

    def __enter__(self) -> "Pyro":
        return self

    def __exit__(self, et: Optional[Type[BaseException]],
                 ev: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None and lib is not None:
            lib.pyro_disconnect(handle)
            self._handle = None

    def close(self) -> None:
        """Close the connection to pyrod (``pyro_disconnect``).  The client
        may be used again: the next call connects anew."""
        with self._lock:
            if self._handle is not None:
                lib.pyro_disconnect(self._handle)
                self._handle = None

    def _enter(self) -> None:
        if getattr(self._tls, "in_callback", False):
            raise RuntimeError("a Pyro client cannot be called from one of "
                               "its own callbacks; use another Pyro")

    def _connected(self) -> int:
        if self._handle is None:
            out = ctypes.c_void_p()
            err = PyroErrorStruct()
            if lib.pyro_connect(self._path, ctypes.byref(out),
                                ctypes.byref(err)) < 0:
                raise _error(err)
            self._handle = out.value
        assert self._handle is not None
        return self._handle

    def _after(self, handle: int, err: PyroErrorStruct) -> None:
        """After these codes the connection is not usable any more: the
        next call connects again."""
        if err.code in (b"daemon_unavailable", b"protocol_error"):
            lib.pyro_disconnect(handle)
            self._handle = None

    def _invoke(self, fname: str, *args: Any,
                on_output: Optional[OutputHandler] = None,
                on_event: Optional[EventHandler] = None,
                collect: bool = False, client: bool = True) -> Result:
        """Call libpyro's ``fname`` with ``args`` (after the client when
        ``client``), then result and error pointers; the parsed result."""
        if on_output is not None and not callable(on_output):
            raise TypeError("on_output must be callable")
        if on_event is not None and not callable(on_event):
            raise TypeError("on_event must be callable")
        self._enter()
        fn = getattr(lib, fname)
        res = ctypes.c_void_p()
        err = PyroErrorStruct()
        call = (_Call(self, on_output, on_event, collect)
                if collect or on_output or on_event else None)
        rc = -1
        with self._lock:
            if not client:
                rc = fn(*args, ctypes.byref(res), ctypes.byref(err))
            elif call is None:
                # Handlers are NULL between calls: nothing to set.
                handle = self._connected()
                rc = fn(handle, *args, ctypes.byref(res), ctypes.byref(err))
                self._after(handle, err)
            else:
                handle = self._connected()
                lib.pyro_set_output_handler(handle, call.output_fn, None)
                lib.pyro_set_event_handler(handle, call.event_fn, None)
                try:
                    rc = fn(handle, *args, ctypes.byref(res),
                            ctypes.byref(err))
                finally:
                    lib.pyro_set_output_handler(handle, _NO_OUTPUT, None)
                    lib.pyro_set_event_handler(handle, _NO_EVENT, None)
                    self._after(handle, err)
        text = b""
        if res.value:
            text = ctypes.string_at(res.value)
            lib.pyro_free(res)
        if call is not None and call.error is not None:
            raise call.error
        if rc < 0:
            raise _error(err)
        result: Result = json.loads(text.decode("utf-8", "replace")) \
            if text else {}
        if call is not None and collect and on_output is None:
            for fd, key in ((1, "stdout"), (2, "stderr")):
                raw = call.output(fd)
                result[key] = raw.decode("utf-8", "replace")
                result[key + "_bytes"] = raw
        return result

    # ---- library and generic calls ---------------------------------------

    @staticmethod
    def version() -> str:
        """The version of the loaded libpyro (``pyro_version``)."""
        raw = lib.pyro_version()
        return str(raw.decode("utf-8", "replace")) if raw else ""

    @staticmethod
    def default_socket_path() -> str:
        """``$PYRO_SOCKET``, else ``/run/pyro/pyrod.sock``
        (``pyro_default_socket_path``)."""
        raw = lib.pyro_default_socket_path()
        return os.fsdecode(raw) if raw else ""

    @staticmethod
    def environment_cache_dir() -> Optional[str]:
        """The caller's environment cache: ``$PYRO_ENVIRONMENT_CACHE_DIR``,
        else ``~/.cache/pyro/environments``; None when no home is known
        (``pyro_environment_cache_dir``)."""
        buf = ctypes.create_string_buffer(4096)
        if lib.pyro_environment_cache_dir(buf, len(buf)) < 0:
            return None
        return os.fsdecode(buf.value)

    def call(self, op: str, args: Optional[Mapping[str, Any]] = None, *,
             on_event: Optional[EventHandler] = None) -> Result:
        """Send control operation ``op`` (e.g. ``"workspace.status"``) with
        the JSON object ``args`` and return its result (``pyro_call``).
        The typed methods are preferred; this reaches every op."""
        opb = _c("op", op)
        if args is not None and not isinstance(args, Mapping):
            raise TypeError("args must be a dict")
        text = None if args is None else json.dumps(dict(args)).encode()
        return self._invoke("pyro_call", opb, text, on_event=on_event)

    def doctor(self) -> Result:
        """Host diagnostics, as ``pyro doctor --json`` (``pyro_doctor``)."""
        return self._invoke("pyro_doctor")

    def usage(self) -> Result:
        """pyrod's budgets and what is in use, as ``pyro status --json``
        (``pyro_usage``)."""
        return self._invoke("pyro_usage")

    # ---- one-shot runs and the VM lifecycle -------------------------------

    def run_in_vm(self, environment: str, command: Command,
                  vcpu_count: int = 1, mem_mib: int = 1024,
                  timeout_seconds: int = 30, ttl_seconds: int = 600,
                  network: bool = False, allow_host_compat: bool = False, *,
                  allow_egress: Optional[Sequence[str]] = None,
                  on_output: Optional[OutputHandler] = None,
                  on_event: Optional[EventHandler] = None) -> Result:
        """Boot a fresh VM from ``environment``, run ``command`` in its
        ``/workspace``, delete the VM (``pyro_run_in_vm``).

        ``command`` is a string (run with ``/bin/sh -lc``) or a list (an
        argv).  Result: ``{environment, execution_mode, exit_code,
        signal?, duration_ms, boot_ms, cleanup, stdout, stderr, ...}``.
        Raises PyroTimeoutError when the command outlives
        ``timeout_seconds``.  ``on_event`` gets the ``progress`` events
        (phases ``create``, ``start``, ``execute``).  ``network`` gives the
        guest outbound networking; ``allow_egress`` (CIDR[:PORT] or host
        name rules) then allows only what they name."""
        env = _c("environment", environment)
        argv = _argv(command)
        opts = _opts(vcpu_count=_int("vcpu_count", vcpu_count, 1, 32),
                     mem_mib=_int("mem_mib", mem_mib, 128, 65536),
                     timeout_seconds=_int("timeout_seconds", timeout_seconds,
                                          1, 86400),
                     ttl_seconds=_int("ttl_seconds", ttl_seconds, 1, 2592000),
                     network=_bool("network", network),
                     allow_egress=_strings("allow_egress", allow_egress),
                     allow_host_compat=_bool("allow_host_compat",
                                             allow_host_compat))
        return self._invoke("pyro_run_in_vm", env, argv, opts,
                            on_output=on_output, on_event=on_event,
                            collect=True)

    def create_vm(self, environment: str, vcpu_count: int = 1,
                  mem_mib: int = 1024, ttl_seconds: int = 600,
                  network: bool = False,
                  allow_host_compat: bool = False, *,
                  allow_egress: Optional[Sequence[str]] = None) -> Result:
        """Create a VM record (nothing boots yet; ``pyro_vm_create``).
        Result: the record, with ``vm_id``."""
        env = _c("environment", environment)
        opts = _opts(vcpu_count=_int("vcpu_count", vcpu_count, 1, 32),
                     mem_mib=_int("mem_mib", mem_mib, 128, 65536),
                     ttl_seconds=_int("ttl_seconds", ttl_seconds, 1, 2592000),
                     network=_bool("network", network),
                     allow_egress=_strings("allow_egress", allow_egress),
                     allow_host_compat=_bool("allow_host_compat",
                                             allow_host_compat))
        return self._invoke("pyro_vm_create", env, opts)

    def start_vm(self, vm_id: str) -> Result:
        """Boot a created or stopped VM (``pyro_vm_start``)."""
        return self._invoke("pyro_vm_start", _c("vm_id", vm_id))

    def exec_vm(self, vm_id: str, command: Command, timeout_seconds: int = 30,
                *, on_output: Optional[OutputHandler] = None,
                on_event: Optional[EventHandler] = None) -> Result:
        """Run ``command`` in the running VM, then delete the VM, as the
        seed's ``exec_vm`` did (``pyro_vm_exec``).  Result as
        :meth:`run_in_vm`."""
        vid = _c("vm_id", vm_id)
        argv = _argv(command)
        opts = _opts(timeout_seconds=_int("timeout_seconds", timeout_seconds,
                                          1, 86400))
        return self._invoke("pyro_vm_exec", vid, argv, opts,
                            on_output=on_output, on_event=on_event,
                            collect=True)

    def stop_vm(self, vm_id: str) -> Result:
        """Power the VM off, keeping its disk (``pyro_vm_stop``)."""
        return self._invoke("pyro_vm_stop", _c("vm_id", vm_id))

    def delete_vm(self, vm_id: str) -> Result:
        """Stop the VM if needed and remove it (``pyro_vm_delete``)."""
        return self._invoke("pyro_vm_delete", _c("vm_id", vm_id))

    def status_vm(self, vm_id: str) -> Result:
        """The VM's record: state, environment, events
        (``pyro_vm_status``)."""
        return self._invoke("pyro_vm_status", _c("vm_id", vm_id))

    def network_info_vm(self, vm_id: str) -> Result:
        """The VM's network devices (``pyro_vm_network_info``)."""
        return self._invoke("pyro_vm_network_info", _c("vm_id", vm_id))

    def reap_expired(self) -> Result:
        """Delete the caller's VMs past their TTL now: ``{"deleted":
        [ids]}`` (``pyro_vm_reap_expired``)."""
        return self._invoke("pyro_vm_reap_expired")

    def list_vms(self) -> Result:
        """The caller's VMs: ``{"vms": [...]}`` (``pyro_vm_list``)."""
        return self._invoke("pyro_vm_list")

    # ---- environments (no pyrod needed) ----------------------------------

    def list_environments(self) -> Result:
        """The catalog and what the caller's cache holds: ``{catalog_version,
        cache_dir, environments: [{name, installed, description}]}``
        (``pyro_env_list``)."""
        return self._invoke("pyro_env_list", client=False)

    def inspect_environment(self, environment: str) -> Result:
        """An installed environment's manifest, path and description
        (``pyro_env_inspect``); NotFoundError when it is not installed."""
        return self._invoke("pyro_env_inspect", _c("environment", environment),
                            client=False)

    def pull_environment(self, environment: str, *,
                         registry: Optional[str] = None,
                         force: bool = False,
                         progress: Any = None) -> Result:
        """Install ``environment`` into the cache unless it is up to date:
        from ``registry`` (else ``PYRO_ENVIRONMENT_REGISTRY``, else
        pyrod.conf's ``environment_registry``) when there is one, else
        built here (root).  ``force`` downloads or builds it again
        (``pyro_env_pull_from``; ``pyro_env_pull`` without options).
        Progress lines go to ``progress`` (a file or an fd; default: this
        process's stderr).  Errors: ``registry_unauthorized``,
        ``not_found``, ``registry_unavailable``, ``digest_mismatch``,
        ``invalid_manifest``, ``timeout``."""
        env = _c("environment", environment)
        reg = None if registry is None else _c("registry", registry)
        fd = 2 if progress is None else _fd("progress", progress)
        if not isinstance(force, bool):
            raise TypeError("force must be a bool")
        return self._invoke("pyro_env_pull_from", env, reg,
                            1 if force else 0, fd, client=False)

    def push_environment(self, environment: str, *,
                         registry: Optional[str] = None,
                         progress: Any = None) -> Result:
        """Publish an installed environment to ``registry`` (else the
        configured one) as one OCI artifact: ``{environment, registry,
        repository, tag, manifest_digest, compression, blobs_sent,
        blobs_present, bytes_sent}`` (``pyro_env_push``)."""
        env = _c("environment", environment)
        reg = None if registry is None else _c("registry", registry)
        fd = 2 if progress is None else _fd("progress", progress)
        return self._invoke("pyro_env_push", env, reg, fd, client=False)

    def build_environment(self, environment: str, *,
                          progress: Any = None) -> Result:
        """Build ``environment`` into the cache from the host's Debian
        mirror, even when it is installed and up to date (root;
        ``pyro_env_build``).  Progress lines go to ``progress``."""
        env = _c("environment", environment)
        fd = 2 if progress is None else _fd("progress", progress)
        return self._invoke("pyro_env_build", env, fd, client=False)

    def import_environment(self, environment: str, image: str, *,
                           base: Optional[str] = None,
                           progress: Any = None) -> Result:
        """Make the custom environment ``environment`` (``NAME[:TAG]``) of
        the container image ``image`` (``[http://]HOST[:PORT]/REPO[:TAG]``;
        root): its layers as an ext4 root, the kernel and initramfs of
        ``base`` (default ``debian:12``).  ``{environment, source, image,
        image_digest, base, layers, bytes_downloaded, rootfs_bytes, custom,
        missing_tools}`` (``pyro_env_import``)."""
        env = _c("environment", environment)
        img = _c("image", image)
        b = None if base is None else _c("base", base)
        fd = 2 if progress is None else _fd("progress", progress)
        return self._invoke("pyro_env_import", env, img, b, fd,
                            client=False)

    def environment_cache(self) -> Result:
        """The cache pyrod boots from and which catalog environments it
        holds: ``{cache_dir, environments: [{name, installed}]}``
        (``pyro_env_cache``)."""
        return self._invoke("pyro_env_cache")

    def warm_environment(self, environment: str, vcpu_count: int = 1,
                         mem_mib: int = 1024, *,
                         network: bool = False) -> Result:
        """Make (or find) the warm-start template of ``environment`` for
        this shape (root): one guest booted once and saved, which one-shot
        runs, first starts and resets of that shape then restore instead
        of booting; ``network`` makes the one for VMs with a network (they
        take their address when restored).  ``{status: "made"|"exists",
        key, environment, mem_mib, vcpu_count, network, state_bytes,
        disk_bytes, disk_allocated_bytes, boot_ms, save_ms, created_at}``
        (``pyro_env_warm``)."""
        env = _c("environment", environment)
        opts = _opts(vcpu_count=_int("vcpu_count", vcpu_count, 1, 32),
                     mem_mib=_int("mem_mib", mem_mib, 128, 65536),
                     network=_bool("network", network))
        return self._invoke("pyro_env_warm", env, opts)

    def list_templates(self, *, prune: bool = False) -> Result:
        """pyrod's warm-start templates: ``{warm_start, templates: [{key,
        environment, mem_mib, vcpu_count, state_bytes, current, ...}]}``;
        ``prune`` (root) first removes those out of date and adds
        ``removed`` (``pyro_env_templates``)."""
        return self._invoke("pyro_env_templates",
                            1 if _bool("prune", prune) else 0)

    def prune_environments(self) -> Result:
        """Remove partial builds, replaced versions and unknown names from
        the cache: ``{cache_dir, removed}`` (``pyro_env_prune``)."""
        return self._invoke("pyro_env_prune", client=False)

    # ---- workspaces ------------------------------------------------------

    def create_workspace(self, environment: str, vcpu_count: int = 1,
                         mem_mib: int = 1024, ttl_seconds: int = 600,
                         network_policy: str = "off",
                         allow_host_compat: bool = False,
                         seed_path: Optional[PathArg] = None,
                         secrets: Optional[Mapping[str, str]] = None, *,
                         secret_files: Optional[Mapping[str, PathArg]] = None,
                         allow_egress: Optional[Sequence[str]] = None,
                         on_event: Optional[EventHandler] = None) -> Result:
        """Create and boot a workspace (``pyro_workspace_create``).

        ``seed_path`` (a host directory or ``.tar``/``.tar.gz``/``.tgz``)
        seeds ``/workspace``, read here with the caller's rights; that tree
        is the baseline.  ``secrets`` maps names to values,
        ``secret_files`` names to host files.  Result: the workspace's
        status (``workspace_id``, ``state``, ...), plus ``transfer`` when
        seeded.  ``on_event`` gets ``progress`` events."""
        env = _c("environment", environment)
        policy = _text("network_policy", network_policy)
        if policy not in _POLICIES:
            raise ValueError("network_policy must be one of " +
                             ", ".join(_POLICIES))
        opts = _opts(
            vcpu_count=_int("vcpu_count", vcpu_count, 1, 32),
            mem_mib=_int("mem_mib", mem_mib, 128, 65536),
            ttl_seconds=_int("ttl_seconds", ttl_seconds, 1, 2592000),
            network_policy=policy,
            allow_egress=_strings("allow_egress", allow_egress),
            allow_host_compat=_bool("allow_host_compat", allow_host_compat),
            seed_path=(None if seed_path is None else
                       os.fsdecode(_path("seed_path", seed_path))),
            secrets=_mapping("secrets", secrets),
            secret_files=_mapping("secret_files", secret_files, paths=True))
        return self._invoke("pyro_workspace_create", env, opts,
                            on_event=on_event)

    def list_workspaces(self) -> Result:
        """The caller's workspaces: ``{"workspaces": [...]}``
        (``pyro_workspace_list``)."""
        return self._invoke("pyro_workspace_list")

    def status_workspace(self, workspace_id: str) -> Result:
        """A workspace's status (``pyro_workspace_status``)."""
        return self._invoke("pyro_workspace_status",
                            _c("workspace_id", workspace_id))

    def logs_workspace(self, workspace_id: str) -> Result:
        """Command history and lifecycle events: ``{history, events}``,
        secrets redacted (``pyro_workspace_logs``)."""
        return self._invoke("pyro_workspace_logs",
                            _c("workspace_id", workspace_id))

    def delete_workspace(self, workspace_id: str) -> Result:
        """Stop the workspace's VM and remove it with all its files
        (``pyro_workspace_delete``)."""
        return self._invoke("pyro_workspace_delete",
                            _c("workspace_id", workspace_id))

    def stop_workspace(self, workspace_id: str) -> Result:
        """Flush the guest's filesystems and power it off; the disk stays
        (``pyro_workspace_stop``)."""
        return self._invoke("pyro_workspace_stop",
                            _c("workspace_id", workspace_id))

    def fork_workspace(self, workspace_id: str, *,
                       on_event: Optional[EventHandler] = None) -> Result:
        """A new running workspace from a running one: its memory and disk
        as they are now; the source goes on.  Result: the fork's status
        with ``forked_from`` (``pyro_workspace_fork``)."""
        return self._invoke("pyro_workspace_fork",
                            _c("workspace_id", workspace_id),
                            on_event=on_event)

    def start_workspace(self, workspace_id: str, *,
                        on_event: Optional[EventHandler] = None) -> Result:
        """Boot a stopped workspace's same disk again
        (``pyro_workspace_start``)."""
        return self._invoke("pyro_workspace_start",
                            _c("workspace_id", workspace_id),
                            on_event=on_event)

    def reset_workspace(self, workspace_id: str, snapshot: str = "baseline",
                        *, on_event: Optional[EventHandler] = None) -> Result:
        """Rebuild the disk from the environment and restore the baseline
        or the named snapshot (``pyro_workspace_reset``)."""
        return self._invoke("pyro_workspace_reset",
                            _c("workspace_id", workspace_id),
                            _c("snapshot", snapshot), on_event=on_event)

    def exec_workspace(self, workspace_id: str, command: Command,
                       timeout_seconds: int = 30,
                       secret_env: Optional[Sequence[str]] = None, *,
                       on_output: Optional[OutputHandler] = None,
                       on_event: Optional[EventHandler] = None) -> Result:
        """Run ``command`` in ``/workspace`` (``pyro_workspace_exec``).
        ``secret_env``: ``["NAME", "NAME=ENV_VAR"]``.  Result:
        ``{exit_code, signal?, duration_ms, stdout, stderr, ...}``."""
        wid = _c("workspace_id", workspace_id)
        argv = _argv(command)
        opts = _opts(timeout_seconds=_int("timeout_seconds", timeout_seconds,
                                          1, 86400),
                     secret_env=_strings("secret_env", secret_env))
        return self._invoke("pyro_workspace_exec", wid, argv, opts,
                            on_output=on_output, on_event=on_event,
                            collect=True)

    def push_workspace_sync(self, workspace_id: str, source_path: PathArg,
                            dest: str = "/workspace", *,
                            on_event: Optional[EventHandler] = None
                            ) -> Result:
        """Copy a host directory or archive into the guest under ``dest``;
        not atomic (``pyro_workspace_sync_push``).  Result adds
        ``transfer``."""
        return self._invoke("pyro_workspace_sync_push",
                            _c("workspace_id", workspace_id),
                            _path("source_path", source_path),
                            _c("dest", dest), on_event=on_event)

    def export_workspace(self, workspace_id: str, path: str,
                         output_path: PathArg, force: bool = False
                         ) -> Result:
        """Copy one file or directory of ``/workspace`` to ``output_path``
        on the host (``pyro_workspace_export``)."""
        return self._invoke("pyro_workspace_export",
                            _c("workspace_id", workspace_id), _c("path", path),
                            _path("output_path", output_path),
                            int(_bool("force", force)))

    def diff_workspace(self, workspace_id: str) -> Result:
        """``/workspace`` against its baseline: ``{files, summary,
        truncated}`` (``pyro_workspace_diff``)."""
        return self._invoke("pyro_workspace_diff",
                            _c("workspace_id", workspace_id))

    # ---- snapshots -------------------------------------------------------

    def create_snapshot(self, workspace_id: str, snapshot_name: str) -> Result:
        """Checkpoint ``/workspace`` as ``snapshot_name``
        (``pyro_snapshot_create``)."""
        return self._invoke("pyro_snapshot_create",
                            _c("workspace_id", workspace_id),
                            _c("snapshot_name", snapshot_name))

    def list_snapshots(self, workspace_id: str) -> Result:
        """The baseline and the named snapshots (``pyro_snapshot_list``)."""
        return self._invoke("pyro_snapshot_list",
                            _c("workspace_id", workspace_id))

    def delete_snapshot(self, workspace_id: str, snapshot_name: str) -> Result:
        """Delete a named snapshot (``pyro_snapshot_delete``)."""
        return self._invoke("pyro_snapshot_delete",
                            _c("workspace_id", workspace_id),
                            _c("snapshot_name", snapshot_name))

    # ---- shells ----------------------------------------------------------

    def open_shell(self, workspace_id: str, cwd: str = "/workspace",
                   cols: int = 120, rows: int = 30,
                   secret_env: Optional[Sequence[str]] = None) -> Result:
        """Open a persistent PTY shell: ``{shell_id, state, cwd, cols, rows,
        cursor}`` (``pyro_shell_open``)."""
        wid = _c("workspace_id", workspace_id)
        opts = _opts(cwd=_text("cwd", cwd), cols=_int("cols", cols, 1, 1000),
                     rows=_int("rows", rows, 1, 1000),
                     secret_env=_strings("secret_env", secret_env))
        return self._invoke("pyro_shell_open", wid, opts)

    def read_shell(self, workspace_id: str, shell_id: str, cursor: int = 0,
                   max_chars: int = 65536) -> Result:
        """Shell output from ``cursor``: ``{output, cursor, next_cursor,
        more, truncated_before, state}`` (``pyro_shell_read``)."""
        return self._invoke("pyro_shell_read",
                            _c("workspace_id", workspace_id),
                            _c("shell_id", shell_id),
                            _int("cursor", cursor, 0, 2 ** 62),
                            _int("max_chars", max_chars, 1, 1 << 20))

    def write_shell(self, workspace_id: str, shell_id: str, input: str,
                    append_newline: bool = True) -> Result:
        """Type ``input`` into the shell, plus a newline when
        ``append_newline`` (``pyro_shell_write``)."""
        return self._invoke("pyro_shell_write",
                            _c("workspace_id", workspace_id),
                            _c("shell_id", shell_id),
                            _c("input", input, empty=True),
                            int(_bool("append_newline", append_newline)))

    def signal_shell(self, workspace_id: str, shell_id: str,
                     signal_name: str = "INT") -> Result:
        """Send INT, TERM, KILL, HUP or QUIT to the shell's foreground job
        (``pyro_shell_signal``)."""
        if _text("signal_name", signal_name) not in _SIGNALS:
            raise ValueError("signal_name must be one of " + ", ".join(_SIGNALS))
        return self._invoke("pyro_shell_signal",
                            _c("workspace_id", workspace_id),
                            _c("shell_id", shell_id), signal_name.encode())

    def close_shell(self, workspace_id: str, shell_id: str) -> Result:
        """End the shell (``pyro_shell_close``)."""
        return self._invoke("pyro_shell_close",
                            _c("workspace_id", workspace_id),
                            _c("shell_id", shell_id))

    # ---- services --------------------------------------------------------

    def start_service(self, workspace_id: str, service_name: str,
                      command: Command, cwd: str = "/workspace",
                      readiness: Optional[Mapping[str, str]] = None,
                      ready_timeout_seconds: int = 30,
                      ready_interval_ms: int = 500,
                      secret_env: Optional[Sequence[str]] = None,
                      published_ports: Optional[Sequence[str]] = None
                      ) -> Result:
        """Start a named background command (``pyro_service_start``).

        ``readiness`` is at most one check, as in the MCP tool:
        ``{"file": PATH}``, ``{"tcp": "HOST:PORT"}``, ``{"http": URL}`` or
        ``{"command": CMD}``; the call returns when it passes (else
        PyroTimeoutError; the service keeps running, state ``failed``)."""
        wid = _c("workspace_id", workspace_id)
        name = _c("service_name", service_name)
        argv = _argv(command)
        ready: Dict[str, str] = {}
        if readiness is not None:
            if not isinstance(readiness, Mapping):
                raise TypeError("readiness must be a dict such as "
                                '{"file": PATH}')
            if len(readiness) != 1 or next(iter(readiness)) not in _READINESS:
                raise ValueError('readiness is one of {"file": PATH}, {"tcp": '
                                 '"HOST:PORT"}, {"http": URL}, {"command": CMD}')
            kind, value = next(iter(readiness.items()))
            ready["ready_" + kind] = _text(f"readiness[{kind!r}]", value)
        opts = _opts(cwd=_text("cwd", cwd),
                     ready_timeout_seconds=_int("ready_timeout_seconds",
                                                ready_timeout_seconds, 1, 86400),
                     ready_interval_ms=_int("ready_interval_ms",
                                            ready_interval_ms, 1, 600000),
                     secret_env=_strings("secret_env", secret_env),
                     published_ports=_strings("published_ports",
                                              published_ports),
                     **ready)
        return self._invoke("pyro_service_start", wid, name, argv, opts)

    def list_services(self, workspace_id: str) -> Result:
        """The workspace's services (``pyro_service_list``)."""
        return self._invoke("pyro_service_list",
                            _c("workspace_id", workspace_id))

    def status_service(self, workspace_id: str, service_name: str) -> Result:
        """One service: state, pid, exit code (``pyro_service_status``)."""
        return self._invoke("pyro_service_status",
                            _c("workspace_id", workspace_id),
                            _c("service_name", service_name))

    def logs_service(self, workspace_id: str, service_name: str,
                     tail_lines: int = 200) -> Result:
        """The last ``tail_lines`` lines of a service's output
        (``pyro_service_logs``)."""
        return self._invoke("pyro_service_logs",
                            _c("workspace_id", workspace_id),
                            _c("service_name", service_name),
                            _int("tail_lines", tail_lines, 1, 1 << 30))

    def stop_service(self, workspace_id: str, service_name: str) -> Result:
        """Stop a service: TERM, KILL after 5 s (``pyro_service_stop``)."""
        return self._invoke("pyro_service_stop",
                            _c("workspace_id", workspace_id),
                            _c("service_name", service_name))

    # ---- disk tools (stopped workspaces) ---------------------------------

    def list_workspace_disk(self, workspace_id: str, path: str = "/workspace",
                            recursive: bool = False) -> Result:
        """Entries of a stopped workspace's disk: ``{count, entries}``
        (``pyro_workspace_disk_list``)."""
        return self._invoke("pyro_workspace_disk_list",
                            _c("workspace_id", workspace_id), _c("path", path),
                            int(_bool("recursive", recursive)))

    def read_workspace_disk(self, workspace_id: str, path: str,
                            max_bytes: Optional[int] = 65536, *,
                            out: Any = None,
                            on_output: Optional[OutputHandler] = None
                            ) -> Result:
        """Read a file from a stopped workspace's disk
        (``pyro_workspace_disk_read``): at most ``max_bytes`` (None: all).
        Result ``{bytes, truncated, content, content_bytes}``, ``content``
        the text (None unless valid UTF-8).  With ``out`` (a file or fd)
        the bytes are written there (``pyro_workspace_disk_read_fd``);
        with ``on_output`` they go to the callback (fd 1)."""
        wid = _c("workspace_id", workspace_id)
        p = _c("path", path)
        mb = 0 if max_bytes is None else _int("max_bytes", max_bytes, 1,
                                               2 ** 62)
        if out is not None:
            if on_output is not None:
                raise ValueError("give out or on_output, not both")
            return self._invoke("pyro_workspace_disk_read_fd", wid, p, mb,
                                _fd("out", out))
        result = self._invoke("pyro_workspace_disk_read", wid, p, mb,
                              on_output=on_output, collect=True)
        if on_output is None:
            raw = result.pop("stdout_bytes")
            result.pop("stdout", None)
            result.pop("stderr", None)
            result.pop("stderr_bytes", None)
            try:
                result["content"] = raw.decode("utf-8")
            except UnicodeDecodeError:
                result["content"] = None
            result["content_bytes"] = raw
        return result

    def export_workspace_disk(self, workspace_id: str, output_path: PathArg,
                              force: bool = False) -> Result:
        """Write a stopped workspace's disk as one sparse raw ext4 image
        (``pyro_workspace_disk_export``)."""
        return self._invoke("pyro_workspace_disk_export",
                            _c("workspace_id", workspace_id),
                            _path("output_path", output_path),
                            int(_bool("force", force)))

    # ---- the Pythonic extra ----------------------------------------------

    def workspace(self, environment: str, **create: Any) -> "Workspace":
        """A workspace for a ``with`` block: created on entry with
        :meth:`create_workspace` (``create`` are its keyword arguments),
        deleted on exit::

            with pyro.workspace("debian:12", seed_path="./repo") as ws:
                print(ws.exec("git status")["stdout"])
        """
        _text("environment", environment)
        return Workspace(self, environment, create)


def _error(err: PyroErrorStruct) -> PyroError:
    code = err.code.decode("utf-8", "replace") or "internal"
    return error_for(code, err.message.decode("utf-8", "replace"))


class Workspace:
    """One workspace bound to its client: ``ws.exec(...)``, ``ws.diff()``,
    ... call the :class:`Pyro` method of the same operation with this
    workspace's id.  As a context manager it is created on entry and
    deleted on exit (also when the block raises)."""

    def __init__(self, pyro: Pyro, environment: str,
                 create: Mapping[str, Any]) -> None:
        self.pyro = pyro
        self.environment = environment
        self._create = dict(create)
        #: The result of create_workspace (None before entry).
        self.info: Optional[Result] = None
        self._id: Optional[str] = None

    @property
    def id(self) -> str:
        """The workspace id (``workspace_id``)."""
        if self._id is None:
            raise RuntimeError("the workspace is not created yet; use it in "
                               "a with block")
        return self._id

    def __enter__(self) -> "Workspace":
        self.info = self.pyro.create_workspace(self.environment,
                                               **self._create)
        self._id = str(self.info["workspace_id"])
        return self

    def __exit__(self, et: Optional[Type[BaseException]],
                 ev: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if self._id is not None:
            wid, self._id = self._id, None
            self.pyro.delete_workspace(wid)

    def exec(self, command: Command, timeout_seconds: int = 30,
             secret_env: Optional[Sequence[str]] = None,
             **kw: Any) -> Result:
        """:meth:`Pyro.exec_workspace` on this workspace."""
        return self.pyro.exec_workspace(self.id, command, timeout_seconds,
                                        secret_env, **kw)

    def push_sync(self, source_path: PathArg, dest: str = "/workspace",
                  **kw: Any) -> Result:
        """:meth:`Pyro.push_workspace_sync` on this workspace."""
        return self.pyro.push_workspace_sync(self.id, source_path, dest, **kw)

    def diff(self) -> Result:
        """:meth:`Pyro.diff_workspace` on this workspace."""
        return self.pyro.diff_workspace(self.id)

    def export(self, path: str, output_path: PathArg,
               force: bool = False) -> Result:
        """:meth:`Pyro.export_workspace` on this workspace."""
        return self.pyro.export_workspace(self.id, path, output_path, force)

    def status(self) -> Result:
        """:meth:`Pyro.status_workspace` on this workspace."""
        return self.pyro.status_workspace(self.id)

    def logs(self) -> Result:
        """:meth:`Pyro.logs_workspace` on this workspace."""
        return self.pyro.logs_workspace(self.id)

    def create_snapshot(self, snapshot_name: str) -> Result:
        """:meth:`Pyro.create_snapshot` on this workspace."""
        return self.pyro.create_snapshot(self.id, snapshot_name)

    def list_snapshots(self) -> Result:
        """:meth:`Pyro.list_snapshots` on this workspace."""
        return self.pyro.list_snapshots(self.id)

    def delete_snapshot(self, snapshot_name: str) -> Result:
        """:meth:`Pyro.delete_snapshot` on this workspace."""
        return self.pyro.delete_snapshot(self.id, snapshot_name)

    def reset(self, snapshot: str = "baseline", **kw: Any) -> Result:
        """:meth:`Pyro.reset_workspace` on this workspace."""
        return self.pyro.reset_workspace(self.id, snapshot, **kw)

    def stop(self) -> Result:
        """:meth:`Pyro.stop_workspace` on this workspace."""
        return self.pyro.stop_workspace(self.id)

    def start(self, **kw: Any) -> Result:
        """:meth:`Pyro.start_workspace` on this workspace."""
        return self.pyro.start_workspace(self.id, **kw)

    def fork(self, **kw: Any) -> Result:
        """:meth:`Pyro.fork_workspace` on this workspace (the result is the
        fork's status; ``Pyro.workspace(result["workspace_id"])`` wraps
        it)."""
        return self.pyro.fork_workspace(self.id, **kw)

    def open_shell(self, *args: Any, **kw: Any) -> Result:
        """:meth:`Pyro.open_shell` on this workspace."""
        return self.pyro.open_shell(self.id, *args, **kw)

    def read_shell(self, shell_id: str, *args: Any, **kw: Any) -> Result:
        """:meth:`Pyro.read_shell` on this workspace."""
        return self.pyro.read_shell(self.id, shell_id, *args, **kw)

    def write_shell(self, shell_id: str, input: str,
                    append_newline: bool = True) -> Result:
        """:meth:`Pyro.write_shell` on this workspace."""
        return self.pyro.write_shell(self.id, shell_id, input, append_newline)

    def signal_shell(self, shell_id: str, signal_name: str = "INT") -> Result:
        """:meth:`Pyro.signal_shell` on this workspace."""
        return self.pyro.signal_shell(self.id, shell_id, signal_name)

    def close_shell(self, shell_id: str) -> Result:
        """:meth:`Pyro.close_shell` on this workspace."""
        return self.pyro.close_shell(self.id, shell_id)

    def start_service(self, service_name: str, command: Command,
                      *args: Any, **kw: Any) -> Result:
        """:meth:`Pyro.start_service` on this workspace."""
        return self.pyro.start_service(self.id, service_name, command,
                                       *args, **kw)

    def list_services(self) -> Result:
        """:meth:`Pyro.list_services` on this workspace."""
        return self.pyro.list_services(self.id)

    def status_service(self, service_name: str) -> Result:
        """:meth:`Pyro.status_service` on this workspace."""
        return self.pyro.status_service(self.id, service_name)

    def logs_service(self, service_name: str, tail_lines: int = 200) -> Result:
        """:meth:`Pyro.logs_service` on this workspace."""
        return self.pyro.logs_service(self.id, service_name, tail_lines)

    def stop_service(self, service_name: str) -> Result:
        """:meth:`Pyro.stop_service` on this workspace."""
        return self.pyro.stop_service(self.id, service_name)

    def list_disk(self, path: str = "/workspace",
                  recursive: bool = False) -> Result:
        """:meth:`Pyro.list_workspace_disk` on this workspace."""
        return self.pyro.list_workspace_disk(self.id, path, recursive)

    def read_disk(self, path: str, max_bytes: Optional[int] = 65536,
                  **kw: Any) -> Result:
        """:meth:`Pyro.read_workspace_disk` on this workspace."""
        return self.pyro.read_workspace_disk(self.id, path, max_bytes, **kw)

    def export_disk(self, output_path: PathArg, force: bool = False) -> Result:
        """:meth:`Pyro.export_workspace_disk` on this workspace."""
        return self.pyro.export_workspace_disk(self.id, output_path, force)

    def delete(self) -> Result:
        """:meth:`Pyro.delete_workspace` now (the with block then has
        nothing left to delete)."""
        wid, self._id = self.id, None
        return self.pyro.delete_workspace(wid)
