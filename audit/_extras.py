"""Optional parts of the toolkit (extras), imported only when used, with an error that names the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from ._errors import AuditError

__all__ = ["MissingExtra", "require", "check_installed"]


class MissingExtra(AuditError, ImportError):
    """An optional package is not installed: an :class:`ImportError`, and bad input (exit code 2) to the CLI."""


def require(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` of the extra ``extra``, or raise :class:`MissingExtra` saying how to install it.

    Examples
    --------
    >>> require("json", extra="onnx", purpose="Reading JSON").__name__
    'json'
    >>> require("no_such_module_here", extra="onnx", purpose="Reading ONNX models")
    Traceback (most recent call last):
    ...
    audit._extras.MissingExtra: Reading ONNX models needs the `onnx` extra (`no_such_module_here` is not installed); install it with pip install 'rai-audit[onnx]'.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f"{purpose} needs the `{extra}` extra (`{module}` is not installed); install it "
                           f"with pip install 'rai-audit[{extra}]'.") from None


def check_installed(module: str, *, extra: str, purpose: str) -> None:
    """Raise :class:`MissingExtra` unless ``module`` can be imported, without importing it (so that
    ``audit validate`` finds a missing extra before a run, and stays quick).

    Examples
    --------
    >>> check_installed("json", extra="lending", purpose="Reading JSON")
    >>> check_installed("no_such_module_here", extra="lending", purpose="The fair-lending measures")
    Traceback (most recent call last):
    ...
    audit._extras.MissingExtra: The fair-lending measures needs the `lending` extra (`no_such_module_here` is not installed); install it with pip install 'rai-audit[lending]'.
    """
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingExtra(f"{purpose} needs the `{extra}` extra (`{module}` is not installed); install it "
                           f"with pip install 'rai-audit[{extra}]'.")
