"""Optional parts of the toolkit (extras), imported only when used, with an error that names the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from ._errors import AuditError

__all__ = ["MissingExtra", "require"]


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
