"""pyro_mcp: the Python SDK of pyro, over the C library libpyro.so.1.

pyro runs commands in microVMs; ``pyrod``, a root daemon, serves clients
over a unix socket.  This package is pure Python: it calls libpyro through
ctypes, so it needs no compiler and follows the installed C library::

    from pyro_mcp import Pyro

    pyro = Pyro()
    result = pyro.run_in_vm("debian:12", "git --version")
    print(result["stdout"])

:class:`Pyro` has one method per operation of the contract
(docs/public-contract.md, docs/python.md); errors raise :class:`PyroError`
and its subclasses.  ``PYRO_LIBPYRO`` names the library file to load when
it is not on the linker's path; ``PYRO_SOCKET`` the control socket.
"""

from ._lib import library_path
from .client import (Command, EventHandler, OutputHandler, Pyro, Result,
                     Workspace)
from .errors import (DaemonUnavailableError, InvalidArgumentError,
                     NotFoundError, PyroError, PyroTimeoutError, error_for)

__version__ = "3.2.0"

__all__ = [
    "Pyro",
    "Workspace",
    "PyroError",
    "NotFoundError",
    "InvalidArgumentError",
    "DaemonUnavailableError",
    "PyroTimeoutError",
    "error_for",
    "Command",
    "OutputHandler",
    "EventHandler",
    "Result",
    "library_path",
    "__version__",
]
