"""Loading libpyro.so.1 and declaring its functions for ctypes.

The library is found, in order, at ``$PYRO_LIBPYRO`` (an explicit path),
through ``ctypes.util.find_library("pyro")`` and as ``libpyro.so.1`` on the
dynamic linker's search path.  A missing library, or one that lacks a
function this package calls, raises ImportError naming what to install.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Any, List, Optional, Tuple

__all__ = ["lib", "PyroErrorStruct", "EVENT_FN", "OUTPUT_FN", "MIN_VERSION",
           "library_path", "library_version", "ONE_ARG_IS_SHELL"]

#: The oldest libpyro whose calls this package uses (the 3.1.0 disk tools).
MIN_VERSION: Tuple[int, int, int] = (3, 1, 0)


class PyroErrorStruct(ctypes.Structure):
    """``pyro_error``: a stable code and a message, NUL-terminated."""

    _fields_ = [("code", ctypes.c_char * 64), ("message", ctypes.c_char * 512)]


#: ``void (*)(void *arg, const char *kind, const char *event_json)``
EVENT_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p,
                            ctypes.c_char_p)
#: ``void (*)(void *arg, int fd, const void *data, size_t len)``
OUTPUT_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int,
                             ctypes.c_void_p, ctypes.c_size_t)

_P = ctypes.c_void_p          # pyro_client *
_S = ctypes.c_char_p          # const char *
_R = ctypes.POINTER(ctypes.c_void_p)   # char **result_json
_E = ctypes.POINTER(PyroErrorStruct)   # pyro_error *
_V = ctypes.POINTER(ctypes.c_char_p)   # const char *const *argv
_I = ctypes.c_int
_LL = ctypes.c_longlong

# name, return type, argument types: exactly pyro.h.
_PROTOTYPES: List[Tuple[str, Any, List[Any]]] = [
    ("pyro_version", _S, []),
    ("pyro_default_socket_path", _S, []),
    ("pyro_environment_cache_dir", _I, [ctypes.c_char_p, ctypes.c_size_t]),
    ("pyro_connect", _I, [_S, ctypes.POINTER(_P), _E]),
    ("pyro_disconnect", None, [_P]),
    ("pyro_set_event_handler", None, [_P, EVENT_FN, _P]),
    ("pyro_set_output_handler", None, [_P, OUTPUT_FN, _P]),
    ("pyro_call", _I, [_P, _S, _S, _R, _E]),
    ("pyro_free", None, [_P]),
    ("pyro_doctor", _I, [_P, _R, _E]),
    ("pyro_usage", _I, [_P, _R, _E]),
    ("pyro_run_in_vm", _I, [_P, _S, _V, _S, _R, _E]),
    ("pyro_vm_create", _I, [_P, _S, _S, _R, _E]),
    ("pyro_vm_start", _I, [_P, _S, _R, _E]),
    ("pyro_vm_exec", _I, [_P, _S, _V, _S, _R, _E]),
    ("pyro_vm_stop", _I, [_P, _S, _R, _E]),
    ("pyro_vm_delete", _I, [_P, _S, _R, _E]),
    ("pyro_vm_network_info", _I, [_P, _S, _R, _E]),
    ("pyro_vm_reap_expired", _I, [_P, _R, _E]),
    ("pyro_vm_list", _I, [_P, _R, _E]),
    ("pyro_vm_status", _I, [_P, _S, _R, _E]),
    ("pyro_workspace_list", _I, [_P, _R, _E]),
    ("pyro_workspace_status", _I, [_P, _S, _R, _E]),
    ("pyro_workspace_create", _I, [_P, _S, _S, _R, _E]),
    ("pyro_workspace_delete", _I, [_P, _S, _R, _E]),
    ("pyro_workspace_logs", _I, [_P, _S, _R, _E]),
    ("pyro_workspace_start", _I, [_P, _S, _R, _E]),
    ("pyro_workspace_stop", _I, [_P, _S, _R, _E]),
    ("pyro_workspace_fork", _I, [_P, _S, _R, _E]),
    ("pyro_workspace_reset", _I, [_P, _S, _S, _R, _E]),
    ("pyro_workspace_exec", _I, [_P, _S, _V, _S, _R, _E]),
    ("pyro_workspace_sync_push", _I, [_P, _S, _S, _S, _R, _E]),
    ("pyro_workspace_export", _I, [_P, _S, _S, _S, _I, _R, _E]),
    ("pyro_workspace_diff", _I, [_P, _S, _R, _E]),
    ("pyro_snapshot_create", _I, [_P, _S, _S, _R, _E]),
    ("pyro_snapshot_list", _I, [_P, _S, _R, _E]),
    ("pyro_snapshot_delete", _I, [_P, _S, _S, _R, _E]),
    ("pyro_shell_open", _I, [_P, _S, _S, _R, _E]),
    ("pyro_shell_read", _I, [_P, _S, _S, _LL, _LL, _R, _E]),
    ("pyro_shell_write", _I, [_P, _S, _S, _S, _I, _R, _E]),
    ("pyro_shell_signal", _I, [_P, _S, _S, _S, _R, _E]),
    ("pyro_shell_close", _I, [_P, _S, _S, _R, _E]),
    ("pyro_service_start", _I, [_P, _S, _S, _V, _S, _R, _E]),
    ("pyro_service_list", _I, [_P, _S, _R, _E]),
    ("pyro_service_status", _I, [_P, _S, _S, _R, _E]),
    ("pyro_service_logs", _I, [_P, _S, _S, _LL, _R, _E]),
    ("pyro_service_stop", _I, [_P, _S, _S, _R, _E]),
    ("pyro_env_list", _I, [_R, _E]),
    ("pyro_env_inspect", _I, [_S, _R, _E]),
    ("pyro_env_pull", _I, [_S, _I, _R, _E]),
    ("pyro_env_build", _I, [_S, _I, _R, _E]),
    ("pyro_env_cache", _I, [_P, _R, _E]),
    ("pyro_env_pull_from", _I, [_S, _S, _I, _I, _R, _E]),
    ("pyro_env_push", _I, [_S, _S, _I, _R, _E]),
    ("pyro_env_import", _I, [_S, _S, _S, _I, _R, _E]),
    ("pyro_env_warm", _I, [_P, _S, _S, _R, _E]),
    ("pyro_env_templates", _I, [_P, _I, _R, _E]),
    ("pyro_env_prune", _I, [_R, _E]),
    ("pyro_workspace_disk_list", _I, [_P, _S, _S, _I, _R, _E]),
    ("pyro_workspace_disk_read", _I, [_P, _S, _S, _LL, _R, _E]),
    ("pyro_workspace_disk_read_fd", _I, [_P, _S, _S, _LL, _I, _R, _E]),
    ("pyro_workspace_disk_export", _I, [_P, _S, _S, _I, _R, _E]),
]

_INSTALL = ("install pyro's C library (make install from a pyro source tree, "
            "or your distribution's libpyro1 package), run ldconfig, or set "
            "PYRO_LIBPYRO=/path/to/libpyro.so.1")


def _candidates() -> List[str]:
    explicit = os.environ.get("PYRO_LIBPYRO")
    if explicit:
        return [explicit]
    names = []
    found = ctypes.util.find_library("pyro")
    if found:
        names.append(found)
    names.append("libpyro.so.1")
    return names


def _version_tuple(text: str) -> Tuple[int, ...]:
    parts = []
    for p in text.split("."):
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _load() -> Tuple[ctypes.CDLL, str, str]:
    errors = []
    handle: Optional[ctypes.CDLL] = None
    path = ""
    for name in _candidates():
        try:
            handle = ctypes.CDLL(name)
            path = name
            break
        except OSError as e:
            errors.append(str(e))
    if handle is None:
        raise ImportError("pyro_mcp needs libpyro.so.1, which was not "
                          "found (" + "; ".join(errors) + "): " + _INSTALL)
    missing = []
    for fname, restype, argtypes in _PROTOTYPES:
        try:
            fn = getattr(handle, fname)
        except AttributeError:
            missing.append(fname)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    version = "unknown"
    if "pyro_version" not in missing:
        raw = handle.pyro_version()
        version = raw.decode("utf-8", "replace") if raw else "unknown"
    if missing or _version_tuple(version) < MIN_VERSION:
        want = ".".join(str(n) for n in MIN_VERSION)
        raise ImportError(
            f"the libpyro at {path} (version {version}) is too old for "
            f"pyro_mcp: it needs libpyro {want} or later"
            + (f" and lacks {', '.join(missing)}" if missing else "")
            + ": " + _INSTALL)
    return handle, path, version


lib, library_path, library_version = _load()

#: From libpyro 3.2.0 on, an argv of exactly one element is run with
#: ``/bin/sh -lc`` (several elements are an argv).  Older libraries run
#: it as a program, so a string command is given to them as
#: ``["/bin/sh", "-lc", command]``, which means the same.
ONE_ARG_IS_SHELL: bool = _version_tuple(library_version) >= (3, 2, 0)
