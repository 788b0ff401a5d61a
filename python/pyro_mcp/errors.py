"""The exceptions of pyro_mcp.

Every failure reported by libpyro or pyrod becomes a :class:`PyroError`
carrying the contract's stable ``code`` (``"not_found"``,
``"daemon_unavailable"``, ...) and its one-sentence ``message``.  A few
families of codes get their own subclass, so callers can tell them apart
with ``except`` instead of comparing strings:

=========================  ===================================================
class                      codes
=========================  ===================================================
:class:`NotFoundError`     ``not_found``, ``unknown_environment``,
                           ``environment_not_installed``
:class:`InvalidArgumentError`  ``invalid_argument``, ``invalid_name``,
                           ``invalid_path``, ``usage``
:class:`DaemonUnavailableError`  ``daemon_unavailable``
:class:`PyroTimeoutError`  ``timeout``
=========================  ===================================================

Any other code raises :class:`PyroError` itself.  Arguments of the wrong
Python type or out of range are refused before anything is sent, with the
built-in ``TypeError`` or ``ValueError``.
"""

from __future__ import annotations

from typing import Dict, Type

__all__ = [
    "PyroError",
    "NotFoundError",
    "InvalidArgumentError",
    "DaemonUnavailableError",
    "PyroTimeoutError",
    "error_for",
]


class PyroError(Exception):
    """A failed pyro operation: a stable ``code`` and a human ``message``."""

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} ({self.code})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class NotFoundError(PyroError):
    """The VM, workspace, snapshot, shell, service or environment is not
    there (or is not the caller's)."""


class InvalidArgumentError(PyroError):
    """pyrod or libpyro refused an argument: a bad value, name or path."""


class DaemonUnavailableError(PyroError):
    """No pyrod answers on the control socket (start it: ``pyrod -d``)."""


class PyroTimeoutError(PyroError):
    """The operation or the command ran out of time."""


_CLASSES: Dict[str, Type[PyroError]] = {
    "not_found": NotFoundError,
    "unknown_environment": NotFoundError,
    "environment_not_installed": NotFoundError,
    "invalid_argument": InvalidArgumentError,
    "invalid_name": InvalidArgumentError,
    "invalid_path": InvalidArgumentError,
    "usage": InvalidArgumentError,
    "daemon_unavailable": DaemonUnavailableError,
    "timeout": PyroTimeoutError,
}


def error_for(code: str, message: str) -> PyroError:
    """The exception for a stable error ``code``: the most specific
    subclass of :class:`PyroError` that covers it."""
    return _CLASSES.get(code, PyroError)(code, message)
